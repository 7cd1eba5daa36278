"""ASGI 3 middleware: read the CORS request headers, ask the engine, write
the answer (docs/spec.md "Adapters").

>>> from corsfast.asgi import CORSMiddleware
>>> app = CORSMiddleware(app, allow_origins=["https://app.example.com"])

The middleware decides nothing itself. Per HTTP request it scans ASGI's raw
``scope["headers"]`` once for ``origin`` (and, for ``OPTIONS``, the three
``access-control-request-*`` headers), passes the bytes to
:func:`corsfast.check_request`, and then either answers a preflight directly
or adds the decision's pre-encoded headers to the application's
``http.response.start``: CORS headers the application set are replaced,
``vary`` is merged token by token.

Request headers that appear more than once: a repeated ``origin`` or
``access-control-request-method`` is malformed (a browser sends each once),
so the request is treated as carrying a malformed value; repeated
``access-control-request-headers`` or ``-private-network`` lines are joined
with ", " as HTTP list headers are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Callable, MutableMapping, Optional, Union

from ._engine import adapters
from ._live import KEEP, Controls, OnRefusal, OnShadow, Reporter, Shadow
from ._policy import Policy, PolicyOptions, policy_from_arguments
from ._reason import Reason
from ._resolver import OriginResolver
from ._router import Router

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["CORSMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
RawHeader = tuple[bytes, bytes]
Answer = tuple[int, list[RawHeader], bytes]

_EMPTY_LENGTH: RawHeader = (b"content-length", b"0")
_ERROR_BODY = b"Internal Server Error"
_ERROR_TAIL: tuple[RawHeader, ...] = (
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"content-length", str(len(_ERROR_BODY)).encode("ascii")),
)
_asgi_decide = adapters.asgi_decide
_DEBUG_TYPE: tuple[RawHeader, ...] = ((b"content-type", b"text/plain; charset=utf-8"),)
_ANSWER = adapters.ANSWER
_REPORT = adapters.REPORT
_ORIGIN_NOT_ALLOWED = Reason.ORIGIN_NOT_ALLOWED


# -- the middleware -------------------------------------------------------------


class CORSMiddleware(adapters.AsgiCore):
    """CORS for any ASGI 3 application (docs/spec.md "Adapters").

    ``policy`` is a :class:`corsfast.Policy` or a :class:`corsfast.Router`;
    without one, ``policy_kwargs`` are :class:`~corsfast.Policy`'s arguments
    (typed by ``PolicyOptions``, so a type checker reports a misspelt one).

    - ``preflight_passthrough``: hand preflights to the application (it
      answers them; the middleware still adds the decision's headers).
    - ``block_refused``: answer actual requests whose origin is refused (or
      malformed) with 403 without calling the application.
    - ``check_websocket``: refuse a websocket handshake whose Origin the
      policy does not allow (the server answers it with 403). A handshake
      without Origin (not from a browser) is let through.
    - ``log_refusals``: log each refused request at INFO on the ``corsfast``
      logger, with the fix in words and request values escaped (see
      corsfast/_logging.py); ``on_refusal(decision, info)`` is called for
      each refused request with ``info`` a dict of escaped values
      (``kind``, ``reason``, ``origin``, ``method``, ``path``, ``fix``).
    - ``debug``: a refused preflight's answer carries a short text body
      naming what to change. For development only: it tells any page how
      the policy is built.
    - ``shadow``: a second policy or router evaluated beside the enforced
      one on every request; each request on which they disagree is logged
      and handed to ``on_shadow(info)`` (docs/spec.md "Live policies").
    - ``allow_origin_resolver``: ``async def fn(origin) -> bool`` (or a
      :class:`corsfast.OriginResolver` with its options), asked about an
      origin the policy refuses: its cached verdicts are read by the
      engine itself, and only an origin the cache does not know is awaited
      (docs/resolvers.md). Malformed origins never reach it.

    :meth:`reconfigure` swaps the policy while requests run;
    :meth:`stats` reads the decision counters (docs/spec.md
    "Observability").

    Subclasses may override :meth:`preflight_response` and
    :meth:`refused_response` to change the status and body of the answers
    the middleware sends itself; that changes nothing that is decided.

    ``__call__`` is an ordinary coroutine function: nothing runs until the
    server awaits it. Per request it reads the live configuration once,
    asks the engine once (the header scan is the compiled ``asgi_prepare``,
    or its twin), then answers a preflight itself or runs the application
    with ``send`` wrapped in a ``SendHook``.
    """

    app: ASGIApp

    def __init__(
        self,
        app: ASGIApp,
        policy: Union[Policy, Router, None] = None,
        *,
        preflight_passthrough: bool = False,
        block_refused: bool = False,
        check_websocket: bool = False,
        log_refusals: bool = False,
        on_refusal: Optional[OnRefusal] = None,
        debug: bool = False,
        shadow: Union[Policy, Router, None] = None,
        on_shadow: Optional[OnShadow] = None,
        allow_origin_resolver: Union[OriginResolver, Callable[[str], Awaitable[object]],
                                     None] = None,
        **policy_kwargs: Unpack[PolicyOptions],
    ) -> None:
        policy = policy_from_arguments("CORSMiddleware", policy, policy_kwargs)
        resolver = allow_origin_resolver
        if resolver is not None and not isinstance(resolver, OriginResolver):
            resolver = OriginResolver(resolver)
        self.resolver: Optional[OriginResolver] = resolver
        self._controls = Controls("CORSMiddleware", any_lookup=False,
                                  verdict=None if resolver is None else resolver.lookup)
        self.app = app
        self._check_websocket = bool(check_websocket)
        reporter = Reporter(log_refusals, on_refusal, debug)
        self._reporter = reporter if reporter.active else None
        super().__init__(
            self._controls.build(policy, shadow),
            preflight_passthrough,
            block_refused,
            ((adapters.WATCH_REFUSALS if self._reporter is not None else 0)
             | (adapters.WATCH_RESOLVER if resolver is not None else 0)),
        )
        self.debug = bool(debug)
        self._shadow = Shadow(on_shadow)

    @property
    def policy(self) -> Union[Policy, Router]:
        """The policy or router in force."""
        return self._live.policy  # type: ignore[no-any-return]

    def reconfigure(self, policy: Union[Policy, Router], *, shadow: Any = KEEP) -> None:
        """Serve every later request with ``policy`` (a Policy or Router):
        one reference swap, so each request sees the old policy or the new
        one, never a mix. ``shadow`` replaces the shadow policy (None drops
        it); left out, the shadow in force stays."""
        if shadow is KEEP:
            old = self._live.shadow
            shadow = None if old is None else old.policy
        self.configure(self._controls.build(policy, shadow))

    def stats(self) -> dict[str, Any]:
        """Decisions counted by kind (``preflight``, ``actual``,
        ``websocket``) and Reason name since the middleware was built; with
        a router, ``routes`` holds the same per route prefix."""
        return self._controls.stats(self._live)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # One compiled call reads the live configuration once, routes,
        # decides, counts, and wraps send.
        hook = self._prepare(scope, send)
        if hook is None:  # not HTTP, or no policy for this path
            await self._not_decided(scope, receive, send)
            return
        action = hook.action
        if action:  # answered here, or more to do
            body = None
            if action & _REPORT:  # a shadow, a refusal to report, an origin to resolve
                if self.resolver is not None and hook.decision.reason is _ORIGIN_NOT_ALLOWED:
                    hook = await self._resolved(hook, scope, send)
                    action = hook.action
                if action & _REPORT:
                    body = self._report(hook, scope)
                action &= ~_REPORT
            if action:  # answered here
                decision = hook.decision
                if body:
                    answer: Answer = (decision.status, [*_DEBUG_TYPE, (
                        b"content-length", str(len(body)).encode("ascii"))], body)
                else:
                    answer = (self.preflight_response(decision) if action == _ANSWER
                              else self.refused_response(decision))
                await self._answer(send, decision, answer)
                return
        try:
            await self.app(scope, receive, hook.deliver)
        except Exception:
            # An error response keeps its CORS headers, so the page sees the
            # 500 instead of an opaque network error. After the response
            # started nothing more can be sent.
            if not hook.started:
                await self._send_error(send, hook.ours)
            raise

    async def _resolved(self, hook: Any, scope: Scope, send: Send) -> Any:
        """An origin the policy refused, put to the resolver (awaited only
        when its cache does not know the origin), then decided again: a
        True verdict is in the cache by then, and the policy's resolving
        copy reads it. The decision that stands is the one counted."""
        resolver = self.resolver
        headers = scope.get("headers", ())
        origin = adapters.asgi_request_values(headers, hook.decision.preflight)[0]
        if isinstance(origin, bytes) and type(headers) in (list, tuple):
            text = origin.decode("latin-1")  # the engine checked: printable ASCII
            if resolver.lookup(text) is None:  # type: ignore[union-attr]
                await resolver.resolve(text)  # type: ignore[union-attr]
        # A header iterable that cannot be read twice decides as it did.
        again = self._prepare_resolved(hook.live, scope, send)
        return hook if again is None else again

    def _report(self, hook: Any, scope: Scope) -> Optional[bytes]:
        """Evaluate the shadow, and report a refusal; the debug body or None."""
        live, decision = hook.live, hook.decision
        if live.shadow is not None:
            self._shadow.asgi(decision, scope, live.shadow)
        if self._reporter is None or decision.allowed:
            return None
        policy = live.policy if live.router is None else live.router.lookup(scope["path"])
        return self._reporter.asgi(decision, scope, policy)

    # -- hooks ------------------------------------------------------------------

    def preflight_response(self, decision: Any) -> Answer:
        """Status, extra headers and body of a preflight answer; the
        decision's own headers are added to it. Default: the decision's
        status and an empty body."""
        status = decision.status
        return status, [] if status == 204 else [_EMPTY_LENGTH], b""

    def refused_response(self, decision: Any) -> Answer:
        """Status, extra headers and body for an actual request refused
        under ``block_refused``."""
        return 403, [_EMPTY_LENGTH], b""

    # -- not HTTP, refusals, errors -------------------------------------------

    async def _not_decided(self, scope: Scope, receive: Receive, send: Send) -> None:
        """An HTTP request on a path no route covers, lifespan and other
        scopes pass through; websockets are checked when
        ``check_websocket`` is on."""
        if scope["type"] == "websocket" and self._check_websocket:
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _send_error(self, send: Send, ours: tuple[RawHeader, ...]) -> None:
        """The 500 sent when the application fails before its response
        started: it keeps the CORS headers."""
        try:
            await send({"type": "http.response.start", "status": 500,
                        "headers": [*ours, *_ERROR_TAIL]})
            await send({"type": "http.response.body", "body": _ERROR_BODY})
        except Exception:
            pass  # the client is gone; the original error is what matters

    # -- answers the middleware sends itself ------------------------------------

    async def _answer(self, send: Send, decision: Any, answer: Answer) -> None:
        status, extra, body = answer
        ours = decision.raw_headers
        await send({"type": "http.response.start", "status": status,
                    "headers": [*ours, *extra]})
        await send({"type": "http.response.body", "body": body})

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        live = self._live
        policy = live.matcher
        tally = live.tally
        if policy is None:
            policy = live.router.lookup(scope["path"])
            if policy is not None and live.routes:
                tally = live.routes.get(policy._matcher, tally)
        if policy is not None:
            handshake = {"method": "GET", "headers": scope["headers"]}
            decision = _asgi_decide(policy, handshake)
            tally.add_websocket(decision)
            if not decision.allowed:
                if self._reporter is not None:
                    self._reporter.asgi(decision, scope, live.policy if live.router is None
                                        else policy, "websocket")
                # Refuse before accepting: ASGI servers turn a close sent in
                # answer to websocket.connect into an HTTP 403.
                message = await receive()
                if message["type"] == "websocket.connect":
                    await send({"type": "websocket.close", "code": 1008})
                return
        await self.app(scope, receive, send)
