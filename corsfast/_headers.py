"""Writing a decision's headers over an application's (docs/spec.md
"Adapters"): the one implementation every adapter and drop-in uses.

CORS response headers the application set are replaced by the decision's;
``vary`` is merged token by token, the application's tokens first. Header
names are compared without running code of the objects that carry them:
``bytes.lower`` and ``str.lower`` are called unbound, so a subclass's
overrides never run. Both engines' adapter pieces call these functions for
the slow path (the application touched a CORS header or ``vary``), so the
answers cannot differ between them.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

from ._rules import is_token

__all__ = [
    "CORS_RESPONSE_HEADERS",
    "CORS_RESPONSE_HEADERS_RAW",
    "exposed_names",
    "merge_raw",
    "merge_text",
    "merge_vary",
    "raw_key",
    "text_key",
    "touched_raw",
    "touched_text",
    "write_over",
]

# Response headers corsfast owns: an application's own values are replaced.
CORS_RESPONSE_HEADERS = frozenset(
    {
        "access-control-allow-origin",
        "access-control-allow-credentials",
        "access-control-allow-methods",
        "access-control-allow-headers",
        "access-control-expose-headers",
        "access-control-max-age",
        "access-control-allow-private-network",
    }
)
CORS_RESPONSE_HEADERS_RAW = frozenset(h.encode("ascii") for h in CORS_RESPONSE_HEADERS)
TOUCHED = CORS_RESPONSE_HEADERS | {"vary"}
ACAO = "access-control-allow-origin"
# What an application keeps when it set its own allow-origin (write_over).
_APP_ORIGIN = frozenset((ACAO, "access-control-allow-credentials"))
TOUCHED_RAW = CORS_RESPONSE_HEADERS_RAW | {b"vary"}


# Readable without being exposed
# [https://fetch.spec.whatwg.org/#cors-safelisted-response-header-name], or
# never exposable [https://fetch.spec.whatwg.org/#forbidden-response-header-name]:
# left out of exposed_names.
_NOT_EXPOSED = CORS_RESPONSE_HEADERS | {
    "cache-control", "content-language", "content-length", "content-type",
    "expires", "last-modified", "pragma", "set-cookie", "set-cookie2",
}


def exposed_names(names: Iterable[Any]) -> str:
    """The ``access-control-expose-headers`` value that exposes a
    response's own headers (a dialect's ``expose_response_headers``):
    ``names`` as the response spells them, once each (case-insensitively),
    in order, less the safelisted, CORS and cookie headers and anything that
    is not a header name. Empty when nothing is left."""
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        key = text_key(name)
        if key is None or key in _NOT_EXPOSED or key in seen or not is_token(key):
            continue
        seen.add(key)
        out.append(str.__str__(name))
    return ", ".join(out)


def raw_key(name: Any) -> Optional[bytes]:
    """A raw (ASGI) header name, lowercased, as exact bytes; None when it
    is not bytes-like."""
    if isinstance(name, bytes):
        return bytes.lower(name)
    if isinstance(name, bytearray):
        return bytes(bytearray.lower(name))
    return None


def text_key(name: Any) -> Optional[str]:
    """A WSGI header name, lowercased, as an exact str; None when it is
    not a str."""
    if isinstance(name, str):
        return str.lower(name)
    return None


def touched_raw(key: Optional[bytes]) -> bool:
    return key is not None and key in TOUCHED_RAW


def touched_text(key: Optional[str]) -> bool:
    return key is not None and key in TOUCHED


def merge_vary(existing: Optional[str], ours: str) -> str:
    """Merge two ``vary`` values token by token, case-insensitively.

    The application's tokens come first and keep their spelling; ``*``
    anywhere makes the result ``*`` (RFC 9110 section 12.5.5).
    """
    if not existing:
        return ours
    tokens: list[str] = []
    seen: set[str] = set()
    for value in (existing, ours):
        for token in value.split(","):
            token = token.strip(" \t")
            if not token:
                continue
            if token == "*":
                return "*"
            key = token.lower()
            if key not in seen:
                seen.add(key)
                tokens.append(token)
    return ", ".join(tokens)


def _pairs(items: Iterable[Any]) -> list[tuple[Any, Any, Any]]:
    """(item, name, value) for every item; name and value are None for an
    item that is not a (name, value) pair."""
    out = []
    for item in items:
        try:
            name, value = item
        except Exception:
            name = value = None
        out.append((item, name, value))
    return out


def _raw_text(value: Any) -> Optional[str]:
    if isinstance(value, bytes):
        return bytes.decode(value, "latin-1")
    if isinstance(value, bytearray):
        return bytearray.decode(value, "latin-1")
    return None


def merge_raw(app_headers: Iterable[Any], ours: tuple[tuple[bytes, bytes], ...]) -> list[Any]:
    """ASGI's slow path: the application set a CORS header (dropped: ours
    replace it) or ``vary`` (merged token by token)."""
    out: list[Any] = []
    app_vary: list[Any] = []
    vary_text: list[str] = []
    for item, name, value in _pairs(app_headers):
        key = raw_key(name)
        if key == b"vary":
            app_vary.append(item)
            text = _raw_text(value)
            if text is not None:
                vary_text.append(text)
        elif key not in CORS_RESPONSE_HEADERS_RAW:
            out.append(item)
    our_vary: Optional[bytes] = None
    for item in ours:
        if item[0] == b"vary":
            our_vary = item[1]
        else:
            out.append(item)
    if our_vary is None:
        out.extend(app_vary)  # nothing of ours to merge: theirs stay as sent
    elif not app_vary:
        out.append((b"vary", our_vary))
    elif len(vary_text) == len(app_vary):
        merged = merge_vary(", ".join(vary_text), our_vary.decode("latin-1"))
        out.append((b"vary", merged.encode("latin-1")))
    else:
        # A vary value that is not bytes: keep the application's lines and
        # add ours beside them rather than fail the response.
        out.extend(app_vary)
        out.append((b"vary", our_vary))
    return out


def merge_text(app_headers: Iterable[Any], ours: tuple[tuple[str, str], ...]) -> list[Any]:
    """WSGI's slow path, as :func:`merge_raw` for str headers."""
    out: list[Any] = []
    app_vary: list[Any] = []
    vary_text: list[str] = []
    for item, name, value in _pairs(app_headers):
        key = text_key(name)
        if key == "vary":
            app_vary.append(item)
            if isinstance(value, str):
                vary_text.append(value)
        elif key not in CORS_RESPONSE_HEADERS:
            out.append(item)
    our_vary: Optional[str] = None
    for item in ours:
        if item[0] == "vary":
            our_vary = item[1]
        else:
            out.append(item)
    if our_vary is None:
        out.extend(app_vary)
    elif not app_vary:
        out.append(("vary", our_vary))
    elif len(vary_text) == len(app_vary):
        out.append(("vary", merge_vary(", ".join(vary_text), our_vary)))
    else:
        out.extend(app_vary)
        out.append(("vary", our_vary))
    return out


def write_over(
    names: Iterable[str],
    get_vary: Callable[[], Optional[str]],
    put: Callable[[str, str], Any],
    drop: Callable[[str], Any],
    ours: tuple[tuple[str, str], ...],
    add: Optional[Callable[[str, str], Any]] = None,
    keep_app_origin: bool = False,
) -> None:
    """Write a decision's headers onto a framework's response object,
    through that framework's own header API: ``names`` are the response's
    header names now, ``get_vary()`` its vary value (lines joined),
    ``put(name, value)`` sets one header (replacing it) and ``drop(name)``
    removes one. CORS headers the response set are removed first.

    With ``add(name, value)`` (a header API that keeps repeated lines), our
    vary tokens that the response's vary lacks go on a line of their own
    instead of being merged into one value (flask-cors does so).

    With ``keep_app_origin``, a response that set its own
    ``access-control-allow-origin`` keeps it and its own
    ``access-control-allow-credentials`` (or none), and ours are not
    written: what the application chose for that response stands (Falcon
    does so)."""
    touched = [name for name in names if str.lower(name) in TOUCHED]
    if keep_app_origin and any(str.lower(n) == ACAO for n in touched):
        touched = [n for n in touched if str.lower(n) not in _APP_ORIGIN]
        ours = tuple(pair for pair in ours if pair[0] not in _APP_ORIGIN)
    vary = get_vary() if touched else None
    for name in touched:
        if str.lower(name) != "vary":
            drop(name)
    for name, value in ours:
        if name != "vary":
            put(name, value)
        elif add is None or not vary:
            put(name, merge_vary(vary, value))
        else:
            have = {t.strip(" \t").lower() for t in vary.split(",")}
            extra = [t.strip(" \t") for t in value.split(",")
                     if t.strip(" \t") and t.strip(" \t").lower() not in have]
            if extra and "*" not in have:
                add(name, ", ".join(extra))  # what ours adds, as its own line
