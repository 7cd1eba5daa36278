"""The middleware's per-request pieces, in pure Python.

``src/corsfast/_adapters_c.pyx`` is the compiled twin, with the same names
and behaviour (a differential test and the fuzz target feed both the same
odd inputs); ``corsfast._engine`` picks one. The middleware modules
(corsfast/asgi.py, corsfast/wsgi.py) and the drop-ins call these; none of
them decides anything: the engine does.

- ``asgi_request_values`` / ``asgi_decide``: find Origin and the
  Access-Control-Request-* headers in ASGI's raw header pairs and ask the
  engine; ``wsgi_decide`` does the same from a WSGI environ;
- ``apply_raw`` / ``apply_text``: a new header list, the application's
  with a decision's written over it (docs/spec.md "Adapters");
- ``SendHook`` / ``StartResponseHook``: wrap ASGI ``send`` and WSGI
  ``start_response`` so the response that starts gets those headers;
- ``Tally`` / ``Live``: the decision counters of one route, and what a
  middleware reads once per request (its policy, router, counters and
  shadow), replaced as a whole by ``reconfigure`` (corsfast/_live.py);
- ``WsgiCore``: the WSGI middleware's ``__call__`` (compiled, it is what
  keeps the WSGI middleware's cost down: see src/corsfast/_adapters_c.pyx).

Everything handed over by a server or an application is read, never
changed: a start message is copied before its headers are replaced, and a
header list is only ever read. Sequences are read once, in order, so a
sequence that changes while it is read gives the same answer in both
twins, and an item that is not a (name, value) pair is passed over.

(About 510 lines, past the usual 400: this is the readable twin of
src/corsfast/_adapters_c.pyx, section by section in the same order, and a
twin split differently from its compiled side would be harder to hold
against it.)

Request headers that appear more than once: a repeated ``Origin`` or
``Access-Control-Request-Method`` makes the value malformed (a browser
sends each once); repeated ``Access-Control-Request-Headers`` or
``-Private-Network`` lines are joined with ", " as HTTP list headers are.
"""

from __future__ import annotations

from typing import Any, Optional

from ._engine_py import check_request, is_options
from ._headers import merge_raw, merge_text, raw_key, text_key, touched_raw, touched_text
from ._reason import Reason

__all__ = [
    "ANSWER",
    "PROCEED",
    "REFUSE",
    "REPORT",
    "WATCH_REFUSALS",
    "WATCH_RESOLVER",
    "AsgiCore",
    "GuardedBody",
    "Live",
    "SendHook",
    "StartResponseHook",
    "Tally",
    "WsgiCore",
    "answer",
    "answer_with_body",
    "apply_raw",
    "apply_text",
    "asgi_decide",
    "asgi_prepare",
    "asgi_request_values",
    "wsgi_decide",
]

RawHeader = tuple[bytes, bytes]
Header = tuple[str, str]
_START = "http.response.start"

ORIGIN_NOT_ALLOWED = Reason.ORIGIN_NOT_ALLOWED

# What the ASGI middleware does with a request (SendHook.action).
PROCEED = 0  # run the application, its response carrying the decision's headers
ANSWER = 1  # answer the preflight here
REFUSE = 2  # block_refused: answer 403 here
REPORT = 4  # a flag on the action: a shadow, a refusal to report, an origin to resolve

# What asgi_prepare is asked to flag (its ``watch`` argument).
WATCH_REFUSALS = 1  # refusals are reported
WATCH_RESOLVER = 2  # an origin the policy refuses goes to a resolver (not counted yet)


# -- request side -------------------------------------------------------------


def _pair(item: Any) -> Optional[tuple[Any, Any]]:
    """A header item as (name, value), or None when it is not a pair."""
    try:
        name, value = item
    except Exception:
        return None
    return name, value


def _join(first: Any, second: Any) -> Any:
    """Two lines of one list header as one value; with odd types the first
    line is kept for the engine to judge."""
    try:
        return first + b", " + second
    except Exception:
        return first


def _is(name: Any, literal: bytes) -> bool:
    """``name == literal``, False when comparing fails."""
    try:
        return bool(name == literal)
    except Exception:
        return False


def asgi_request_values(headers: Any, options: bool) -> tuple[Any, Any, Any, Any]:
    """Origin and Access-Control-Request-{Method,Headers,Private-Network}
    from ASGI's raw header pairs (None when absent). Without ``options``
    the method and headers ones are not looked for: they only matter to a
    preflight (a dialect may answer private network requests on any)."""
    origin = acrm = acrh = acrpn = None
    if type(headers) is not list and type(headers) is not tuple:
        headers = list(headers)  # any iterable, read once
    for item in headers:
        pair = _pair(item)
        if pair is None:
            continue
        name, value = pair
        if _is(name, b"origin"):
            origin = value if origin is None else b""  # repeated: malformed
        elif options and _is(name, b"access-control-request-method"):
            acrm = value if acrm is None else b""  # repeated: malformed
        elif options and _is(name, b"access-control-request-headers"):
            acrh = value if acrh is None else _join(acrh, value)
        elif _is(name, b"access-control-request-private-network"):
            acrpn = value if acrpn is None else _join(acrpn, value)
    return origin, acrm, acrh, acrpn


def asgi_decide(policy: Any, scope: Any) -> Any:
    """The engine's decision for an ASGI HTTP request (raw byte headers)."""
    method = scope.get("method")
    origin, acrm, acrh, acrpn = asgi_request_values(
        scope.get("headers", ()), is_options(method))
    return check_request(policy, method, origin, acrm, acrh, acrpn)


def wsgi_decide(policy: Any, environ: Any) -> Any:
    """The engine's decision for a WSGI request."""
    get = environ.get
    origin = get("HTTP_ORIGIN")
    method = get("REQUEST_METHOD", "GET")
    if origin is not None and is_options(method):
        return check_request(
            policy, method, origin,
            get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"),
            get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"),
            get("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK"),
        )
    return check_request(policy, method, origin, None, None,
                         get("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK"))


# -- response side ----------------------------------------------------------------


def apply_raw(app_headers: Any, ours: tuple[RawHeader, ...]) -> list[Any]:
    """ASGI: a new list, the application's headers with ours written over
    them (its CORS headers replaced, ``vary`` merged)."""
    if type(app_headers) is not list and type(app_headers) is not tuple:
        app_headers = list(app_headers)  # any iterable, read once
    for item in app_headers:
        pair = _pair(item)
        if pair is not None and touched_raw(raw_key(pair[0])):
            return merge_raw(app_headers, ours)
    return [*app_headers, *ours]


def apply_text(app_headers: Any, ours: tuple[Header, ...]) -> list[Any]:
    """WSGI: as :func:`apply_raw`, for str headers."""
    if type(app_headers) is not list and type(app_headers) is not tuple:
        app_headers = list(app_headers)
    for item in app_headers:
        pair = _pair(item)
        if pair is not None and touched_text(text_key(pair[0])):
            return merge_text(app_headers, ours)
    return [*app_headers, *ours]


class SendHook:
    """Wraps ASGI ``send``: the message that starts the response goes out
    as a copy carrying ``ours``; every other message is passed on as it
    is. A plain callable returning ``send``'s awaitable, so no coroutine
    is made per message. ``started`` tells whether the response started;
    ``decision``, ``action`` and ``live`` are set by
    :func:`asgi_prepare`."""

    __slots__ = ("send", "ours", "started", "decision", "action", "live")

    def __init__(self, send: Any, ours: tuple[RawHeader, ...]) -> None:
        self.send = send
        self.ours = ours
        self.started = False
        self.decision: Any = None
        self.action = PROCEED
        self.live: Any = None

    def __call__(self, message: Any) -> Any:
        return self.deliver(message)

    def deliver(self, message: Any) -> Any:
        """What the application is handed as ``send``: the same as calling
        the hook, as a bound method (the compiled one is then called
        without its argument packed in a tuple)."""
        if self.started:
            return self.send(message)  # only the first message starts
        if message.get("type") == _START:
            self.started = True
            copy = dict(message)
            copy["headers"] = apply_raw(message.get("headers", ()), self.ours)
            return self.send(copy)
        return self.send(message)


def asgi_prepare(live: Any, scope: Any, send: Any, passthrough: bool, block: bool,
                 watch: int) -> Optional[SendHook]:
    """Decide an ASGI HTTP request under ``live`` (a Live) and wrap ``send``
    for it: the hook, with its ``decision`` and what to do (``action``:
    PROCEED, ANSWER, REFUSE, with the REPORT flag when the middleware has
    more to do: a shadow to evaluate, or, as ``watch`` asks, a refusal to
    report (WATCH_REFUSALS) or an origin to resolve (WATCH_RESOLVER)).
    None when a router has no policy for the path. The decision is
    counted in the route's Tally, except an origin left to the resolver:
    the middleware counts what it decides."""
    if not isinstance(live, Live):
        raise TypeError(f"asgi_prepare: expected a Live, got {type(live).__name__}")
    tally = live.tally
    policy = live.matcher
    if policy is None:
        # Route on the path exactly as the server gives it.
        policy = live.router.lookup(scope["path"])
        if policy is None:
            return None
        routes = live.routes
        if routes:
            tally = routes.get(policy._matcher, tally)
    decision = asgi_decide(policy, scope)
    resolving = bool(watch & WATCH_RESOLVER) and decision.reason is ORIGIN_NOT_ALLOWED
    if not resolving:
        tally.add(decision)
    hook = SendHook(send, decision.raw_headers)
    hook.decision = decision
    hook.live = live
    if decision.preflight:
        hook.action = PROCEED if passthrough else ANSWER
    elif block and not decision.allowed:
        hook.action = REFUSE
    if resolving or live.shadow is not None or (
            watch & WATCH_REFUSALS and not decision.allowed):
        hook.action |= REPORT
    return hook


# -- what a middleware reads per request ----------------------------------------------


class Tally:
    """Decisions of one route counted by kind and Reason (docs/spec.md
    "Observability"): memory is bounded by the number of Reasons, never by
    the origins seen. There is no lock: under threads two increments can
    race and one be lost, so the counts are a close lower bound rather than
    exact. ``actual``, ``preflight`` and ``websocket`` read the counts out
    as new dicts from Reason to count."""

    __slots__ = ("_actual", "_preflight", "_websocket")

    def __init__(self) -> None:
        self._actual: dict[Any, int] = {}
        self._preflight: dict[Any, int] = {}
        self._websocket: dict[Any, int] = {}

    def add(self, decision: Any) -> None:
        """Count an HTTP request's decision (a preflight, or an actual request)."""
        counts = self._preflight if decision.preflight else self._actual
        reason = decision.reason
        counts[reason] = counts.get(reason, 0) + 1

    def add_websocket(self, decision: Any) -> None:
        """Count a websocket handshake's decision."""
        counts = self._websocket
        reason = decision.reason
        counts[reason] = counts.get(reason, 0) + 1

    @property
    def actual(self) -> dict[Any, int]:
        return self._actual.copy()

    @property
    def preflight(self) -> dict[Any, int]:
        return self._preflight.copy()

    @property
    def websocket(self) -> dict[Any, int]:
        return self._websocket.copy()


class Live:
    """What a middleware reads once per request, as one immutable value:
    ``policy`` (the Policy or router it was given), ``matcher`` (the
    Policy's compiled matcher, or None for a router), ``router`` (or None),
    ``tally`` (the counters of the policy, or of policies no route lists),
    ``routes`` (Policy to Tally, per route of a router) and ``shadow``
    (another Live evaluated beside this one, or None). Replacing it is
    one reference swap, so a request sees one configuration whole."""

    __slots__ = ("policy", "matcher", "router", "tally", "routes", "shadow")

    policy: Any
    matcher: Any
    router: Any
    tally: Tally
    routes: Any
    shadow: Any

    def __init__(self, policy: Any, matcher: Any, router: Any, tally: Tally,
                 routes: Any, shadow: Any) -> None:
        if not isinstance(tally, Tally):
            raise TypeError(f"Live: tally must be a Tally, got {type(tally).__name__}")
        set_ = object.__setattr__
        set_(self, "policy", policy)
        set_(self, "matcher", matcher)
        set_(self, "router", router)
        set_(self, "tally", tally)
        set_(self, "routes", routes)
        set_(self, "shadow", shadow)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Live is immutable; build a new one")


class AsgiCore:
    """What corsfast.asgi.CORSMiddleware reads per request: the Live in
    force and the middleware's flags (``passthrough``, ``block``, and
    ``watch`` as asgi_prepare takes it). ``_prepare(scope, send)`` is
    asgi_prepare under the live configuration, read once, for an HTTP
    scope, and None for any other scope or a path no route covers."""

    __slots__ = ("_live", "_passthrough", "_block", "_watch")

    def __init__(self, live: Live, passthrough: bool, block: bool, watch: int) -> None:
        if not isinstance(live, Live):
            raise TypeError(f"AsgiCore: expected a Live, got {type(live).__name__}")
        self._live = live
        self._passthrough = bool(passthrough)
        self._block = bool(block)
        self._watch = int(watch)

    def configure(self, live: Live) -> None:
        """Serve every later request with ``live``: one reference swap."""
        if not isinstance(live, Live):
            raise TypeError(f"configure: expected a Live, got {type(live).__name__}")
        self._live = live

    def _prepare(self, scope: Any, send: Any) -> Optional[SendHook]:
        if not scope["type"] == "http":  # noqa: SIM201 (the compiled side compares with ==)
            return None
        return asgi_prepare(self._live, scope, send, self._passthrough, self._block,
                            self._watch)

    def _prepare_resolved(self, live: Live, scope: Any, send: Any) -> Optional[SendHook]:
        """asgi_prepare again under ``live`` once the resolver has answered
        (no origin is left to it this time)."""
        return asgi_prepare(live, scope, send, self._passthrough, self._block,
                            self._watch & ~WATCH_RESOLVER)


class StartResponseHook:
    """Wraps WSGI ``start_response``: the response's headers are sent as a
    new list carrying ``ours``."""

    __slots__ = ("start_response", "ours")

    def __init__(self, start_response: Any, ours: tuple[Header, ...]) -> None:
        self.start_response = start_response
        self.ours = ours

    def __call__(self, status: Any, headers: Any, exc_info: Any = None) -> Any:
        if exc_info is None:
            return self.start_response(status, apply_text(headers, self.ours))
        return self.start_response(status, apply_text(headers, self.ours), exc_info)


# -- the WSGI middleware's request path -----------------------------------------------

_STATUS_LINES = {200: "200 OK", 204: "204 No Content", 403: "403 Forbidden"}
_EMPTY_LENGTH: Header = ("content-length", "0")


def answer(start_response: Any, status: Any, headers: Any) -> list[bytes]:
    """Answer a WSGI request here with an empty body (a preflight, or a
    refused request under block_refused): ``status`` and ``headers`` are
    the decision's, plus ``Content-Length: 0`` unless the status is 204."""
    out = list(headers)
    if status != 204:  # RFC 9110 section 8.6: no Content-Length on a 204
        out.append(_EMPTY_LENGTH)
    start_response(_status_line(status), out)
    return []


def _status_line(status: Any) -> str:
    line = _STATUS_LINES.get(status)
    return f"{status} CORS" if line is None else line


def answer_with_body(start_response: Any, status: Any, headers: Any,
                     body: bytes) -> list[bytes]:
    """Answer a refused preflight here with a short text body (the
    middleware's ``debug`` mode)."""
    out = list(headers)
    out.append(("content-type", "text/plain; charset=utf-8"))
    out.append(("content-length", str(len(body))))
    start_response(_status_line(status), out)
    return [body]


_END = object()  # GuardedBody: what next() gives at the end of the body


class GuardedBody:
    """The application's iterable, watched until its first body chunk.

    An exception before any body was produced still gets a CORS-carrying
    500: ``send_error(start_response, ours)`` is called inside the
    ``except`` block, then the exception goes on to the server. After the
    first non-empty chunk, exceptions pass untouched. ``close`` is always
    passed on (PEP 3333).
    """

    __slots__ = ("_result", "_iter", "_start_response", "_ours", "_send_error",
                 "_started")

    def __init__(self, result: Any, start_response: Any, ours: Any,
                 send_error: Any) -> None:
        self._result = result
        self._iter: Any = None
        self._start_response = start_response
        self._ours = ours
        self._send_error = send_error
        self._started = False

    def __iter__(self) -> GuardedBody:
        return self

    def __next__(self) -> Any:
        it = self._iter
        try:
            if it is None:
                it = self._iter = iter(self._result)
            chunk = next(it, _END)  # the end is not an error: no raise to catch
        except Exception:
            if not self._started:
                self._started = True
                self._send_error(self._start_response, self._ours)
            raise
        if chunk is _END:
            raise StopIteration
        if not self._started and chunk:
            self._started = True
        return chunk

    def close(self) -> None:
        close = getattr(self._result, "close", None)
        if close is not None:
            close()


class WsgiCore:
    """``__call__`` of corsfast.wsgi.CORSMiddleware.

    Built with the application, the ``Live`` configuration (replaced with
    ``configure``), the two switches, and three callables from
    corsfast/wsgi.py for what is not the hot path: ``refused(decision,
    environ, policy)`` (None when nothing watches refusals; it returns the
    body of a refused preflight's answer, or None for an empty one),
    ``shadowed(decision, environ, shadow)`` (called when the configuration
    has a shadow), ``resolve(origin)`` (an origin resolver's, or None: asked
    about an origin the policy refuses; True decides the request again)
    and ``send_error(start_response, headers)`` (called
    inside ``except``, here or by the ``GuardedBody`` that watches a lazy
    body until its first chunk).
    """

    __slots__ = ("app", "_live", "_passthrough", "_block", "_refused", "_shadowed",
                 "_send_error", "_resolve")

    def __init__(self, app: Any, live: Live, passthrough: bool, block: bool,
                 refused: Any, shadowed: Any, send_error: Any, resolve: Any = None) -> None:
        self.app = app
        self._live = live
        self._resolve = resolve
        self._passthrough = bool(passthrough)
        self._block = bool(block)
        self._refused = refused
        self._shadowed = shadowed
        self._send_error = send_error

    def configure(self, live: Live) -> None:
        """Serve every later request with ``live``: one reference swap."""
        if not isinstance(live, Live):
            raise TypeError(f"configure: expected a Live, got {type(live).__name__}")
        self._live = live

    def __call__(self, environ: Any, start_response: Any) -> Any:
        live = self._live  # read once: this request sees one configuration
        target = live.matcher
        tally = live.tally
        if target is None:
            # Route on PATH_INFO exactly as the server gives it.
            target = policy = live.router.lookup(environ.get("PATH_INFO", ""))
            if policy is None:
                return self.app(environ, start_response)
            routes = live.routes
            if routes:
                tally = routes.get(policy._matcher, tally)
        else:
            policy = live.policy
        decision = wsgi_decide(target, environ)
        if self._resolve is not None and decision.reason is ORIGIN_NOT_ALLOWED:
            # Refused by the policy: the resolver's verdict (a cache hit
            # already decided above) may take the origin in.
            if self._resolve(environ.get("HTTP_ORIGIN")):
                decision = wsgi_decide(target, environ)
        tally.add(decision)
        if live.shadow is not None:
            self._shadowed(decision, environ, live.shadow)
        ours = decision.headers
        if not decision.allowed:
            body = None
            if self._refused is not None:
                body = self._refused(decision, environ, policy)
            if decision.preflight:
                if not self._passthrough:
                    if body:
                        return answer_with_body(start_response, decision.status, ours, body)
                    return answer(start_response, decision.status, ours)
            elif self._block:
                return answer(start_response, 403, ours)
        elif decision.preflight and not self._passthrough:
            return answer(start_response, decision.status, ours)
        try:
            result = self.app(environ, StartResponseHook(start_response, ours))
        except Exception:
            self._send_error(start_response, ours)
            raise
        kind = type(result)
        if kind is list or kind is tuple:
            return result  # nothing can fail while the server iterates it
        wrapper = environ.get("wsgi.file_wrapper")
        if isinstance(wrapper, type) and kind is wrapper:
            return result  # keep the server's sendfile path
        return GuardedBody(result, start_response, ours, self._send_error)
