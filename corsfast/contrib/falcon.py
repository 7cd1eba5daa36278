"""Falcon middleware for WSGI (``falcon.App``) and ASGI (``falcon.asgi.App``).

>>> import falcon
>>> from corsfast.contrib.falcon import CORSMiddleware
>>> app = falcon.App(middleware=[CORSMiddleware(allow_origins=["https://app.example.com"])])

Takes what :class:`corsfast.wsgi.CORSMiddleware` takes: a
:class:`corsfast.Policy` or :class:`corsfast.Router`, or ``Policy`` keyword
arguments, plus ``preflight_passthrough`` and ``block_refused``. It asks the
engine once per request in ``process_request`` (answering preflights there,
before routing) and writes the decision's headers in ``process_response``,
which Falcon also runs for error responses. docs/wsgi.md maps Falcon's own
``CORSMiddleware`` options onto these.
"""

from __future__ import annotations

from typing import Any, Union

from .._engine import FalconCore, check_request, falcon_answer, falcon_write
from .._policy import Policy
from .._router import Router

__all__ = ["CORSMiddleware"]

_KEY = "corsfast.decision"  # where the decision waits between the ASGI hooks


class CORSMiddleware(FalconCore):
    """CORS for Falcon apps, decided by the corsfast engine.

    On ``falcon.App`` (WSGI), ``process_request`` and ``process_response``
    are ``FalconCore``'s (compiled with the engine, or their pure-Python
    twins in corsfast/_contrib_py.py); on ``falcon.asgi.App`` Falcon calls
    the ``*_async`` hooks below.
    """

    __slots__ = ("policy", "preflight_passthrough", "block_refused")

    def __init__(
        self,
        policy: Union[Policy, Router, None] = None,
        *,
        preflight_passthrough: bool = False,
        block_refused: bool = False,
        **policy_kwargs: Any,
    ) -> None:
        if policy is not None and policy_kwargs:
            raise TypeError(
                "CORSMiddleware: pass either a policy object or Policy keyword "
                f"arguments, not both (got policy and {sorted(policy_kwargs)})")
        if policy is None:
            policy = Policy(**policy_kwargs)
        elif not isinstance(policy, (Policy, Router)):
            raise TypeError("CORSMiddleware: policy must be a corsfast.Policy or "
                            f"corsfast.Router, got {type(policy).__name__}")
        self.policy = policy
        self.preflight_passthrough = bool(preflight_passthrough)
        self.block_refused = bool(block_refused)
        is_policy = isinstance(policy, Policy)
        self._core_init(policy if is_policy else None, None if is_policy else policy,
                        self.preflight_passthrough, self.block_refused)

    # -- ASGI (falcon.asgi.App) -------------------------------------------------------

    async def process_request_async(self, req: Any, resp: Any) -> None:
        scope = req.scope
        policy = self._policy
        if policy is None:
            policy = self._router.lookup(scope.get("path", ""))
            if policy is None:
                return
        # Falcon has already read the scope's headers (an ASGI server may
        # give them as a one-shot iterable): ask its request for them.
        get = req.get_header
        origin = get("Origin")
        method = req.method
        if origin is not None and method == "OPTIONS":
            decision = check_request(
                policy, method, origin, get("Access-Control-Request-Method"),
                get("Access-Control-Request-Headers"),
                get("Access-Control-Request-Private-Network"))
        else:
            decision = check_request(policy, method, origin)
        scope[_KEY] = decision
        if decision.preflight:
            if not self.preflight_passthrough:
                falcon_answer(resp, decision.status)
        elif self.block_refused and not decision.allowed:
            falcon_answer(resp, 403)

    async def process_response_async(self, req: Any, resp: Any, resource: Any,
                                     req_succeeded: bool) -> None:
        decision = req.scope.get(_KEY)
        if decision is not None:
            falcon_write(resp, decision.headers)
