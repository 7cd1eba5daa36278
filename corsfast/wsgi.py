"""WSGI middleware: read the CORS request headers, ask the engine, write
the answer (SPEC 5).

>>> from corsfast.wsgi import CORSMiddleware
>>> app = CORSMiddleware(app, allow_origins=["https://app.example.com"])

The middleware decides nothing itself. Per request it reads ``Origin`` and,
for ``OPTIONS``, the three ``Access-Control-Request-*`` headers from the
environ, calls :func:`corsfast.check_request` once, and then either answers a
preflight directly or adds the decision's headers to the application's
response: CORS headers the application set are replaced, ``vary`` is merged
token by token.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Iterable, Iterator, Optional, Union

from ._engine import check_request
from ._headers import CORS_RESPONSE_HEADERS, merge_vary
from ._policy import Policy
from ._router import Router

__all__ = ["CORSMiddleware"]

Header = tuple[str, str]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_STATUS_LINES = {
    200: "200 OK",
    204: "204 No Content",
    403: "403 Forbidden",
    500: "500 Internal Server Error",
}
# Names whose application values the middleware rewrites: the CORS response
# headers (replaced) and vary (merged).
_TOUCHED = CORS_RESPONSE_HEADERS | {"vary"}
_ERROR_BODY = b"Internal Server Error"
_ERROR_TAIL: tuple[Header, ...] = (
    ("content-type", "text/plain; charset=utf-8"),
    ("content-length", str(len(_ERROR_BODY))),
)
_EMPTY_LENGTH: Header = ("content-length", "0")


# -- header merging --------------------------------------------------------------

# Header names, exactly as applications spell them, known to be neither a
# CORS response header nor vary: the common case skips lowercasing. Filled
# as names are seen, up to a bound (names come from the application, not the
# client, but the bound keeps even an odd application from growing it).
_PLAIN: set[str] = set()
_PLAIN_MAX = 1024


def apply_headers(app_headers: list[Header], ours: tuple[Header, ...]) -> list[Header]:
    """The application's headers with a decision's written over them.

    CORS headers the application set are dropped in favour of ours; its
    ``vary`` lines are merged with ours token by token (SPEC 5). Returns a new
    list: the application may reuse its own.
    """
    for name, _ in app_headers:
        if name not in _PLAIN:
            return _merge(app_headers, ours)
    return [*app_headers, *ours]


def _merge(app_headers: list[Header], ours: tuple[Header, ...]) -> list[Header]:
    out = []
    app_vary: Optional[str] = None
    for item in app_headers:
        name = item[0]
        key = name.lower()
        if key == "vary":
            app_vary = item[1] if app_vary is None else f"{app_vary}, {item[1]}"
        elif key in CORS_RESPONSE_HEADERS:
            continue
        else:
            if len(_PLAIN) < _PLAIN_MAX and type(name) is str:
                _PLAIN.add(name)
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


# -- the middleware ---------------------------------------------------------------


class CORSMiddleware:
    """Wrap a WSGI application with a CORS policy.

    ``policy`` is a :class:`corsfast.Policy` or a :class:`corsfast.Router`;
    without one, the keyword arguments build a ``Policy``. With a router,
    requests whose ``PATH_INFO`` matches no prefix pass through untouched.

    ``preflight_passthrough=True`` hands preflights to the application and
    adds the decision's headers to its answer instead of answering them here.
    ``block_refused=True`` answers actual requests from refused (or
    malformed) origins with 403 without calling the application: CORS alone
    only stops the browser from reading the response, never the request's
    side effects.
    """

    __slots__ = ("app", "policy", "preflight_passthrough", "block_refused",
                 "_policy", "_router")

    def __init__(
        self,
        app: WSGIApp,
        policy: Union[Policy, Router, None] = None,
        *,
        preflight_passthrough: bool = False,
        block_refused: bool = False,
        **policy_kwargs: Any,
    ) -> None:
        if policy is not None and policy_kwargs:
            raise TypeError(
                "CORSMiddleware: pass either a policy object or Policy keyword "
                f"arguments, not both (got policy and {sorted(policy_kwargs)}); "
                "put those settings into the Policy instead"
            )
        if policy is None:
            policy = Policy(**policy_kwargs)
        elif not isinstance(policy, (Policy, Router)):
            raise TypeError(
                "CORSMiddleware: policy must be a corsfast.Policy or "
                f"corsfast.Router, got {type(policy).__name__}"
            )
        self.app = app
        self.policy = policy
        self.preflight_passthrough = bool(preflight_passthrough)
        self.block_refused = bool(block_refused)
        self._policy: Optional[Policy] = policy if isinstance(policy, Policy) else None
        self._router: Optional[Router] = policy if isinstance(policy, Router) else None

    def __call__(self, environ: dict[str, Any],
                 start_response: StartResponse) -> Iterable[bytes]:
        policy = self._policy
        if policy is None:
            # Route on PATH_INFO exactly as the server gives it (SPEC 5).
            policy = self._router.lookup(environ.get("PATH_INFO", ""))  # type: ignore[union-attr]
            if policy is None:
                return self.app(environ, start_response)

        get = environ.get
        origin = get("HTTP_ORIGIN")
        method = get("REQUEST_METHOD", "GET")
        if origin is not None and method == "OPTIONS":
            decision = check_request(
                policy, method, origin,
                get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"),
                get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"),
                get("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK"),
            )
            if decision.preflight and not self.preflight_passthrough:
                return _answer(start_response, decision.status, decision.headers)
        else:
            # The Access-Control-Request-* headers only matter to a preflight.
            decision = check_request(policy, method, origin)

        ours = decision.headers
        if self.block_refused and not decision.allowed and not decision.preflight:
            return _answer(start_response, 403, ours)

        def cors_start_response(status: str, headers: list[Header],
                                exc_info: Any = None) -> Any:
            # apply_headers, inlined: this runs on every response.
            for name, _ in headers:
                if name not in _PLAIN:
                    return start_response(status, _merge(headers, ours), exc_info)
            return start_response(status, [*headers, *ours], exc_info)

        try:
            result = self.app(environ, cors_start_response)
        except Exception:
            _send_error(start_response, ours)
            raise
        kind = type(result)
        if kind is list or kind is tuple:
            return result  # nothing can fail while the server iterates it
        wrapper = get("wsgi.file_wrapper")
        if isinstance(wrapper, type) and kind is wrapper:
            return result  # keep the server's sendfile path
        return _GuardedBody(result, start_response, ours)


def _answer(start_response: StartResponse, status: Optional[int],
            headers: tuple[Header, ...]) -> list[bytes]:
    """Answer here with an empty body: a preflight, or a blocked request."""
    out = list(headers)
    if status != 204:  # RFC 9110 8.6: no Content-Length on a 204
        out.append(_EMPTY_LENGTH)
    start_response(_STATUS_LINES.get(status, f"{status} CORS"), out)  # type: ignore[arg-type]
    return []


def _send_error(start_response: StartResponse, ours: tuple[Header, ...]) -> None:
    """Send a 500 carrying the CORS headers, before the caller re-raises.

    Called from an ``except`` block. ``exc_info`` lets this replace a status
    the application already set; when its headers are already on the wire
    the server re-raises the exception instead, so nothing is sent twice. The
    body goes out through ``write`` so the response is complete on the wire
    even though the server then sees the exception (and logs it).
    """
    headers = list(ours)
    headers.extend(_ERROR_TAIL)
    try:
        write = start_response(_STATUS_LINES[500], headers, sys.exc_info())
        write(_ERROR_BODY)
    except Exception:
        # Headers already sent (the server re-raised), or the client went
        # away: the caller re-raises the application's own exception.
        pass


class _GuardedBody:
    """The application's iterable, watched until its first body chunk.

    An exception before any body was produced still gets a CORS-carrying 500
    (see :func:`_send_error`); after that, it propagates untouched. ``close``
    is always passed on (PEP 3333).
    """

    __slots__ = ("_result", "_iter", "_start_response", "_ours", "_started")

    def __init__(self, result: Iterable[bytes], start_response: StartResponse,
                 ours: tuple[Header, ...]) -> None:
        self._result = result
        self._iter: Optional[Iterator[bytes]] = None
        self._start_response = start_response
        self._ours = ours
        self._started = False

    def __iter__(self) -> "_GuardedBody":
        return self

    def __next__(self) -> bytes:
        it = self._iter
        try:
            if it is None:
                it = self._iter = iter(self._result)
            chunk = next(it)
        except StopIteration:
            raise
        except Exception:
            if not self._started:
                self._started = True
                _send_error(self._start_response, self._ours)
            raise
        if chunk and not self._started:
            self._started = True
        return chunk

    def close(self) -> None:
        close = getattr(self._result, "close", None)
        if close is not None:
            close()
