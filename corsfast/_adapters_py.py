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
  ``start_response`` so the response that starts gets those headers.

Everything handed over by a server or an application is read, never
changed: a start message is copied before its headers are replaced, and a
header list is only ever read. Sequences are read once, in order, so a
sequence that changes while it is read gives the same answer in both
twins, and an item that is not a (name, value) pair is passed over.

Request headers that appear more than once: a repeated ``Origin`` or
``Access-Control-Request-Method`` makes the value malformed (a browser
sends each once); repeated ``Access-Control-Request-Headers`` or
``-Private-Network`` lines are joined with ", " as HTTP list headers are.
"""

from __future__ import annotations

from typing import Any, Optional

from ._engine_py import check_request, is_options
from ._headers import merge_raw, merge_text, raw_key, text_key, touched_raw, touched_text

__all__ = [
    "ANSWER",
    "PROCEED",
    "REFUSE",
    "SendHook",
    "StartResponseHook",
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

# What the ASGI middleware does with a request (SendHook.action).
PROCEED = 0  # run the application, its response carrying the decision's headers
ANSWER = 1  # answer the preflight here
REFUSE = 2  # block_refused: answer 403 here


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
    ``decision`` and ``action`` are set by :func:`asgi_prepare`."""

    __slots__ = ("send", "ours", "started", "decision", "action")

    def __init__(self, send: Any, ours: tuple[RawHeader, ...]) -> None:
        self.send = send
        self.ours = ours
        self.started = False
        self.decision: Any = None
        self.action = PROCEED

    def __call__(self, message: Any) -> Any:
        if self.started:
            return self.send(message)  # only the first message starts
        if message.get("type") == _START:
            self.started = True
            copy = dict(message)
            copy["headers"] = apply_raw(message.get("headers", ()), self.ours)
            return self.send(copy)
        return self.send(message)


def asgi_prepare(policy: Any, scope: Any, send: Any, passthrough: bool,
                 block: bool) -> SendHook:
    """Decide an ASGI HTTP request and wrap ``send`` for it: the hook, with
    its ``decision`` and what to do (``action``: PROCEED, ANSWER, REFUSE)."""
    decision = asgi_decide(policy, scope)
    hook = SendHook(send, decision.raw_headers)
    hook.decision = decision
    if decision.preflight:
        hook.action = PROCEED if passthrough else ANSWER
    elif block and not decision.allowed:
        hook.action = REFUSE
    return hook


class StartResponseHook:
    """Wraps WSGI ``start_response``: the response's headers are sent as a
    new list carrying ``ours``."""

    __slots__ = ("start_response", "ours")

    def __init__(self, start_response: Any, ours: tuple[Header, ...]) -> None:
        self.start_response = start_response
        self.ours = ours

    def __call__(self, status: Any, headers: Any, exc_info: Any = None) -> Any:
        return self.start_response(status, apply_text(headers, self.ours), exc_info)
