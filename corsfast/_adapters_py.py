"""The per-request work of the ASGI and WSGI middleware, in pure Python.

``src/_adapters.pxi`` (compiled into ``corsfast._engine_c``) is its twin
with the same names and behaviour; ``corsfast._engine`` picks one. The
middleware modules keep construction, routing and error answers; what runs
on every request lives here:

- ``asgi_decide`` / ``wsgi_decide``: find Origin and Access-Control-Request-*
  in the request and ask the engine (the adapters decide nothing);
- ``AsgiSend`` / ``WsgiStartResponse``: write a decision's headers over the
  application's response headers;
- ``WsgiCore``: the WSGI middleware's ``__call__``.

Request headers repeated: a second ``Origin`` or
``Access-Control-Request-Method`` makes the value malformed (a browser sends
each once); repeated ``Access-Control-Request-Headers`` or
``-Private-Network`` lines are joined with ", " as HTTP list headers are.
(WSGI servers join repeated headers themselves.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Optional

from ._engine_py import check_request as _check_py
from ._headers import CORS_RESPONSE_HEADERS, CORS_RESPONSE_HEADERS_RAW, merge_vary

__all__ = [
    "ACTION_ANSWER_PREFLIGHT",
    "AsgiCore",
    "asgi_call",
    "ACTION_PROCEED",
    "ACTION_REFUSE",
    "AsgiSend",
    "WsgiCore",
    "WsgiStartResponse",
    "asgi_decide",
    "asgi_prepare",
    "wsgi_answer",
    "asgi_request_values",
    "merge_raw",
    "merge_text",
    "wsgi_decide",
]

RawHeader = tuple[bytes, bytes]
Header = tuple[str, str]

_VARY_RAW = b"vary"
_TOUCHED_RAW = CORS_RESPONSE_HEADERS_RAW | {_VARY_RAW}
_TOUCHED = CORS_RESPONSE_HEADERS | {"vary"}
_TOUCHED_LENGTHS = frozenset(len(name) for name in _TOUCHED)


# -- request side -------------------------------------------------------------


def _join(first: Any, second: Any) -> Any:
    """Two lines of one list header as one value; with odd types the first
    line is kept for the engine to judge."""
    try:
        return first + b", " + second
    except TypeError:
        return first


def asgi_request_values(headers: Any, options: bool) -> tuple[Any, Any, Any, Any]:
    """Origin and Access-Control-Request-{Method,Headers,Private-Network}
    from ASGI's raw header pairs (None when absent). Without ``options``
    only Origin is looked for: the others only matter to a preflight."""
    origin = acrm = acrh = acrpn = None
    for name, value in headers:
        if name == b"origin":
            origin = value if origin is None else b""  # repeated: malformed
        elif not options:
            continue
        elif name == b"access-control-request-method":
            acrm = value if acrm is None else b""  # repeated: malformed
        elif name == b"access-control-request-headers":
            acrh = value if acrh is None else _join(acrh, value)
        elif name == b"access-control-request-private-network":
            acrpn = value if acrpn is None else _join(acrpn, value)
    return origin, acrm, acrh, acrpn


def asgi_decide(policy: Any, scope: Any) -> Any:
    """The engine's decision for an ASGI HTTP request (raw byte headers)."""
    method = scope["method"]
    origin, acrm, acrh, acrpn = asgi_request_values(scope["headers"],
                                                    method == "OPTIONS")
    return _check_py(policy, method, origin, acrm, acrh, acrpn)


def wsgi_decide(policy: Any, environ: Any) -> Any:
    """The engine's decision for a WSGI request."""
    get = environ.get
    origin = get("HTTP_ORIGIN")
    method = get("REQUEST_METHOD", "GET")
    if origin is not None and method == "OPTIONS":
        return _check_py(
            policy, method, origin,
            get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"),
            get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"),
            get("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK"),
        )
    return _check_py(policy, method, origin)


# -- response side ----------------------------------------------------------------


def _apply_raw(app_headers: Any, ours: tuple[RawHeader, ...]) -> list[Any]:
    """ASGI: the application's headers with a decision's written over them.
    Always a new list: an application may reuse its own."""
    if type(app_headers) is not list and type(app_headers) is not tuple:
        app_headers = list(app_headers)  # an iterator is read once
    for name, _ in app_headers:
        if name in _TOUCHED_RAW or (len(name) in _TOUCHED_LENGTHS
                                    and name.lower() in _TOUCHED_RAW):
            return merge_raw(app_headers, ours)
    return [*app_headers, *ours]


def merge_raw(app_headers: Any, ours: tuple[RawHeader, ...]) -> list[Any]:
    """The slow path of both engines: the application set a CORS header
    (dropped: ours replace it) or ``vary`` (merged token by token, SPEC 5)."""
    out: list[Any] = []
    app_vary: list[Any] = []
    for item in app_headers:
        key = item[0].lower()
        if key == _VARY_RAW:
            app_vary.append(item)
        elif key not in CORS_RESPONSE_HEADERS_RAW:
            out.append(item)
    our_vary: Optional[bytes] = None
    for item in ours:
        if item[0] == _VARY_RAW:
            our_vary = item[1]
        else:
            out.append(item)
    if our_vary is None:
        out.extend(app_vary)  # nothing of ours to merge: theirs stay as sent
    elif not app_vary:
        out.append((_VARY_RAW, our_vary))
    else:
        try:
            existing = ", ".join(bytes(v).decode("latin-1") for _, v in app_vary)
            merged = merge_vary(existing, our_vary.decode("latin-1"))
            out.append((_VARY_RAW, merged.encode("latin-1")))
        except (TypeError, ValueError):
            # A vary value that is not bytes: keep the application's lines
            # and add ours beside them rather than fail the response.
            out.extend(app_vary)
            out.append((_VARY_RAW, our_vary))
    return out


def _apply_text(app_headers: Any, ours: tuple[Header, ...]) -> list[Any]:
    """WSGI: as _apply_raw, for str headers."""
    if type(app_headers) is not list and type(app_headers) is not tuple:
        app_headers = list(app_headers)
    for name, _ in app_headers:
        if len(name) in _TOUCHED_LENGTHS and name.lower() in _TOUCHED:
            return merge_text(app_headers, ours)
    return [*app_headers, *ours]


def merge_text(app_headers: Any, ours: tuple[Header, ...]) -> list[Any]:
    """The WSGI slow path, as merge_raw."""
    out = []
    app_vary: Optional[str] = None
    for item in app_headers:
        key = item[0].lower()
        if key == "vary":
            app_vary = item[1] if app_vary is None else f"{app_vary}, {item[1]}"
        elif key not in CORS_RESPONSE_HEADERS:
            out.append(item)
    for name, value in ours:
        if name == "vary":
            out.append((name, merge_vary(app_vary, value)))
            app_vary = None
        else:
            out.append((name, value))
    if app_vary is not None:
        out.append(("Vary", app_vary))
    return out


# What the ASGI middleware does with a request (AsgiSend.action).
ACTION_PROCEED = 0  # call the application through the hook
ACTION_ANSWER_PREFLIGHT = 1  # answer the preflight here
ACTION_REFUSE = 2  # block_refused: answer 403 here


class AsgiSend:
    """Wraps ASGI ``send``: adds ``ours`` to ``http.response.start``.

    A plain callable returning ``send``'s awaitable, so no coroutine is made
    per message. The start message is copied, its headers list never
    changed. (The compiled hook skips the copy when nothing but the
    caller's expression holds the message dict: see src/_adapters.pxi.)
    ``started`` tells whether the response has started; ``decision`` and
    ``action`` are set by :func:`asgi_prepare`.
    """

    __slots__ = ("send", "ours", "started", "decision", "action")

    def __init__(self, send: Any, ours: tuple[RawHeader, ...]) -> None:
        self.send = send
        self.ours = ours
        self.started = False
        self.decision: Any = None
        self.action = ACTION_PROCEED

    def forward(self, message: Any) -> Any:
        """Send ``message``, with ``ours`` added if it starts the response."""
        if self.started:
            return self.send(message)  # only the first message starts
        if message["type"] == "http.response.start":
            self.started = True
            message = {**message,
                       "headers": _apply_raw(message.get("headers", ()), self.ours)}
        return self.send(message)

    __call__ = forward


def asgi_prepare(policy: Any, scope: Any, send: Any, passthrough: bool,
                 block: bool) -> AsgiSend:
    """Decide an ASGI HTTP request and wrap ``send`` for it: the hook, with
    ``decision`` and ``action`` set."""
    decision = asgi_decide(policy, scope)
    hook = AsgiSend(send, decision.raw_headers)
    hook.decision = decision
    if decision.preflight:
        hook.action = ACTION_PROCEED if passthrough else ACTION_ANSWER_PREFLIGHT
    elif block and not decision.allowed:
        hook.action = ACTION_REFUSE
    return hook


class AsgiCore:
    """State of :class:`corsfast.asgi.CORSMiddleware`; its ``__call__`` is
    :func:`asgi_call`. The subclass provides ``_not_http``, ``_act(hook,
    send, scope)``, ``_send_error`` and ``_log_refusal(decision, scope)`` for
    the paths that are not per-request work."""

    __slots__ = ("app", "_policy", "_router", "_passthrough", "_block_refused",
                 "_check_websocket", "_log_refusals", "__dict__")

    if TYPE_CHECKING:  # __call__ is asgi_call, set below
        def __call__(self, scope: Any, receive: Any, send: Any) -> Awaitable[None]: ...

    def _core_init(self, app: Any, policy: Any, router: Any, passthrough: bool,
                   block_refused: bool, check_websocket: bool,
                   log_refusals: bool = False) -> None:
        self.app = app
        self._policy = policy
        self._router = router
        self._passthrough = passthrough
        self._block_refused = block_refused
        self._check_websocket = check_websocket
        self._log_refusals = log_refusals


async def asgi_call(self: Any, scope: Any, receive: Any, send: Any) -> None:
    """``__call__`` of corsfast.asgi.CORSMiddleware."""
    if scope["type"] != "http":
        await self._not_http(scope, receive, send)
        return
    policy = self._policy
    if policy is None:
        # Route on the path exactly as the server gives it (SPEC 5).
        policy = self._router.lookup(scope["path"])
        if policy is None:  # no policy for this path: not ours
            await self.app(scope, receive, send)
            return
    # Decide, and wrap send so the application's response gets the
    # decision's headers.
    hook = asgi_prepare(policy, scope, send, self._passthrough, self._block_refused)
    if self._log_refusals and not hook.decision.allowed:
        self._log_refusal(hook.decision, scope)
    if hook.action != ACTION_PROCEED:
        await self._act(hook, send, scope)
        return
    try:
        await self.app(scope, receive, hook.forward)
    except Exception:
        # SPEC 5: an error response keeps its CORS headers, so the page sees
        # the 500 instead of an opaque network error. After the response
        # started nothing more can be sent.
        if not hook.started:
            await self._send_error(send, hook.ours)
        raise


AsgiCore.__call__ = asgi_call  # type: ignore[method-assign]


_STATUS_LINES = {200: "200 OK", 204: "204 No Content", 403: "403 Forbidden"}
_EMPTY_LENGTH: Header = ("content-length", "0")


def wsgi_answer(start_response: Any, status: Any, headers: Any) -> list[bytes]:
    """Answer a WSGI request here with an empty body (a preflight, or a
    refused request under block_refused): ``status`` and ``headers`` are
    the decision's, plus ``Content-Length: 0`` unless the status is 204."""
    out = list(headers)
    if status != 204:  # RFC 9110 8.6: no Content-Length on a 204
        out.append(_EMPTY_LENGTH)
    line = _STATUS_LINES.get(status)
    start_response(f"{status} CORS" if line is None else line, out)
    return []


class WsgiStartResponse:
    """Wraps WSGI ``start_response``: adds ``ours`` to the response headers."""

    __slots__ = ("start_response", "ours")

    def __init__(self, start_response: Any, ours: tuple[Header, ...]) -> None:
        self.start_response = start_response
        self.ours = ours

    def __call__(self, status: Any, headers: Any, exc_info: Any = None) -> Any:
        return self.start_response(status, _apply_text(headers, self.ours), exc_info)


# -- the WSGI middleware's per-request path -----------------------------------------


class WsgiCore:
    """``__call__`` of :class:`corsfast.wsgi.CORSMiddleware`.

    ``_core_init`` takes the policy (or router), the switches, and two
    callables from corsfast.wsgi for the answers that are not the hot path:
    ``send_error(start_response, headers)`` (called inside ``except``) and
    ``guard(result, start_response, headers)`` (watches a lazy body until its
    first chunk); and ``log``, None or ``log(decision, environ)`` called for
    each refusal. Answers made here (preflights, block_refused) are
    :func:`wsgi_answer`.
    """

    __slots__ = ("app", "_policy", "_router", "_passthrough", "_block",
                 "_send_error", "_guard", "_log")

    def _core_init(self, app: Any, policy: Any, router: Any, passthrough: bool,
                   block: bool, send_error: Any, guard: Any,
                   log: Any = None) -> None:
        self.app = app
        self._policy = policy
        self._router = router
        self._passthrough = passthrough
        self._block = block
        self._send_error = send_error
        self._guard = guard
        self._log = log

    def __call__(self, environ: Any, start_response: Any) -> Any:
        policy = self._policy
        if policy is None:
            # Route on PATH_INFO exactly as the server gives it (SPEC 5).
            policy = self._router.lookup(environ.get("PATH_INFO", ""))
            if policy is None:
                return self.app(environ, start_response)
        decision = wsgi_decide(policy, environ)
        ours = decision.headers
        if self._log is not None and not decision.allowed:
            self._log(decision, environ)
        if decision.preflight:
            if not self._passthrough:
                return wsgi_answer(start_response, decision.status, ours)
        elif self._block and not decision.allowed:
            return wsgi_answer(start_response, 403, ours)
        try:
            result = self.app(environ, WsgiStartResponse(start_response, ours))
        except Exception:
            self._send_error(start_response, ours)
            raise
        kind = type(result)
        if kind is list or kind is tuple:
            return result  # nothing can fail while the server iterates it
        wrapper = environ.get("wsgi.file_wrapper")
        if isinstance(wrapper, type) and kind is wrapper:
            return result  # keep the server's sendfile path
        return self._guard(result, start_response, ours)
