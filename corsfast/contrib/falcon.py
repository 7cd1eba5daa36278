"""Falcon middleware for WSGI (``falcon.App``) and ASGI (``falcon.asgi.App``).

>>> import falcon
>>> from corsfast.contrib.falcon import CORSMiddleware
>>> app = falcon.App(middleware=[CORSMiddleware(allow_origins=["https://app.example.com"])])

Takes what :class:`corsfast.wsgi.CORSMiddleware` takes: a
:class:`corsfast.Policy` or :class:`corsfast.Router`, or ``Policy`` keyword
arguments, plus ``preflight_passthrough``, ``block_refused`` and
``log_refusals``. It asks the
engine once per request in ``process_request`` (answering preflights there,
before routing) and writes the decision's headers in ``process_response``
through Falcon's own header API, which Falcon also runs for error
responses. docs/wsgi.md maps Falcon's own
``CORSMiddleware`` options onto these.
"""

from __future__ import annotations

from typing import Any, Union

from .._engine import adapters, check_request
from .._headers import write_over
from .._logging import log_environ_refusal, log_refusal
from .._policy import Policy, policy_from_arguments
from .._router import Router

__all__ = ["CORSMiddleware"]

_KEY = "corsfast.decision"  # where the decision waits between the two hooks
_wsgi_decide = adapters.wsgi_decide


def _answer(resp: Any, status: Any) -> None:
    """Answer in process_request: an empty body, and Falcon skips routing
    and the responder."""
    resp.status = status
    resp.text = None
    resp.data = b""
    resp.complete = True


def _write(resp: Any, ours: tuple[tuple[str, str], ...]) -> None:
    """The decision's headers over the resource's, through Falcon's API."""
    existing = resp.headers  # a copy, keys lowercase
    write_over(list(existing), lambda: existing.get("vary"), resp.set_header,
               resp.delete_header, ours)


class CORSMiddleware:
    """CORS for Falcon apps, decided by the corsfast engine.

    On ``falcon.App`` (WSGI) Falcon calls ``process_request`` and
    ``process_response``; on ``falcon.asgi.App`` the ``*_async`` hooks.
    """

    __slots__ = ("policy", "preflight_passthrough", "block_refused", "log_refusals",
                 "_policy", "_router")

    def __init__(
        self,
        policy: Union[Policy, Router, None] = None,
        *,
        preflight_passthrough: bool = False,
        block_refused: bool = False,
        log_refusals: bool = False,
        **policy_kwargs: Any,
    ) -> None:
        policy = policy_from_arguments("CORSMiddleware", policy, policy_kwargs)
        if not isinstance(policy, (Policy, Router)):
            raise TypeError("CORSMiddleware: policy must be a corsfast.Policy or "
                            f"corsfast.Router, got {type(policy).__name__}")
        self.policy = policy
        self.preflight_passthrough = bool(preflight_passthrough)
        self.block_refused = bool(block_refused)
        self.log_refusals = bool(log_refusals)
        self._policy = policy if isinstance(policy, Policy) else None
        self._router = policy if isinstance(policy, Router) else None

    def _lookup(self, path: str) -> Any:
        policy = self._policy
        if policy is None:
            policy = self._router.lookup(path)  # type: ignore[union-attr]
        return policy

    def _act(self, resp: Any, decision: Any) -> None:
        if decision.preflight:
            if not self.preflight_passthrough:
                _answer(resp, decision.status)
        elif self.block_refused and not decision.allowed:
            _answer(resp, 403)

    # -- WSGI (falcon.App) ---------------------------------------------------------------

    def process_request(self, req: Any, resp: Any) -> None:
        env = req.env
        policy = self._lookup(env.get("PATH_INFO", ""))
        if policy is not None:
            decision = env[_KEY] = _wsgi_decide(policy, env)
            if self.log_refusals and not decision.allowed:
                log_environ_refusal(decision, env, policy)
            self._act(resp, decision)

    def process_response(self, req: Any, resp: Any, resource: Any,
                         req_succeeded: bool) -> None:
        decision = req.env.get(_KEY)
        if decision is not None:
            _write(resp, decision.headers)

    # -- ASGI (falcon.asgi.App) ----------------------------------------------------------

    async def process_request_async(self, req: Any, resp: Any) -> None:
        scope = req.scope
        policy = self._lookup(scope.get("path", ""))
        if policy is None:
            return
        # Falcon has already read the scope's headers (an ASGI server may
        # give them as a one-shot iterable): ask its request for them.
        get = req.get_header
        origin = get("Origin")
        method = req.method
        asked: tuple[Any, ...] = ()
        if origin is not None and method == "OPTIONS":
            asked = (get("Access-Control-Request-Method"),
                     get("Access-Control-Request-Headers"),
                     get("Access-Control-Request-Private-Network"))
        decision = check_request(policy, method, origin, *asked)
        if self.log_refusals and not decision.allowed:
            log_refusal(decision, method, origin, scope.get("path"), *asked, policy=policy)
        scope[_KEY] = decision
        self._act(resp, decision)

    async def process_response_async(self, req: Any, resp: Any, resource: Any,
                                     req_succeeded: bool) -> None:
        decision = req.scope.get(_KEY)
        if decision is not None:
            _write(resp, decision.headers)
