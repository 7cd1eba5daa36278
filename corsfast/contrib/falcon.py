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

from typing import Any, Optional, Union

from .._engine import check_request, wsgi_decide
from .._headers import CORS_RESPONSE_HEADERS, merge_vary
from .._policy import Policy
from .._router import Router

__all__ = ["CORSMiddleware"]

_KEY = "corsfast.decision"  # where the decision waits between the two hooks
_TOUCHED = CORS_RESPONSE_HEADERS | {"vary"}


class CORSMiddleware:
    """CORS for Falcon apps, decided by the corsfast engine."""

    __slots__ = ("policy", "preflight_passthrough", "block_refused",
                 "_policy", "_router")

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
        self._policy: Optional[Policy] = policy if isinstance(policy, Policy) else None
        self._router: Optional[Router] = policy if isinstance(policy, Router) else None

    # -- WSGI (falcon.App) --------------------------------------------------------

    def process_request(self, req: Any, resp: Any) -> None:
        env = req.env
        policy = self._policy or self._router.lookup(env.get("PATH_INFO", ""))  # type: ignore[union-attr]
        if policy is None:
            return
        decision = env[_KEY] = wsgi_decide(policy, env)
        if decision.preflight or self.block_refused:
            self._short_circuit(decision, resp)

    def process_response(self, req: Any, resp: Any, resource: Any,
                         req_succeeded: bool) -> None:
        decision = req.env.get(_KEY)
        if decision is not None:
            _write(resp, decision.headers)

    # -- ASGI (falcon.asgi.App) -------------------------------------------------------

    async def process_request_async(self, req: Any, resp: Any) -> None:
        scope = req.scope
        policy = self._policy or self._router.lookup(scope.get("path", ""))  # type: ignore[union-attr]
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
        if decision.preflight or self.block_refused:
            self._short_circuit(decision, resp)

    async def process_response_async(self, req: Any, resp: Any, resource: Any,
                                     req_succeeded: bool) -> None:
        decision = req.scope.get(_KEY)
        if decision is not None:
            _write(resp, decision.headers)

    # -- shared -----------------------------------------------------------------------

    def _short_circuit(self, decision: Any, resp: Any) -> None:
        """Answer here: a preflight, or (opt-in) a refused actual request."""
        if decision.preflight:
            if self.preflight_passthrough:
                return
            resp.status = decision.status
        elif self.block_refused and not decision.allowed:
            resp.status = 403
        else:
            return
        resp.text = None
        resp.data = b""
        resp.complete = True  # skip routing and the responder


def _write(resp: Any, ours: tuple[tuple[str, str], ...]) -> None:
    """Replace the response's CORS headers with ours; merge ``vary``.

    When the resource set neither, the decision's headers go into Falcon's
    header dict in one update: the names are already lowercase and the
    values are str, which is all ``set_headers`` would ensure.
    """
    store = getattr(resp, "_headers", None)
    if type(store) is dict and _TOUCHED.isdisjoint(store):
        store.update(ours)
        return
    existing = resp.headers  # a copy, keys lowercase
    if not CORS_RESPONSE_HEADERS.isdisjoint(existing):
        for name in CORS_RESPONSE_HEADERS:
            resp.delete_header(name)
    for name, value in ours:
        if name == "vary":
            value = merge_vary(existing.get("vary"), value)
        resp.set_header(name, value)
