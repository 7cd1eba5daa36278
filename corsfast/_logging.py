"""Log refused CORS requests without letting a client forge log lines.

Everything a refusal log line shows about the request (Origin, method,
path, Access-Control-Request-*) was chosen by the client. ``escape_for_log``
turns such a value into printable ASCII: control characters, DEL and
non-ASCII characters become ``\\xNN`` / ``\\uNNNN`` / ``\\UNNNNNNNN``
escapes and a backslash becomes ``\\\\``, so a CR/LF in an Origin cannot
start a fake log line and an escape sequence in the input cannot pass for
one the escaper wrote. The result is also bounded in length, so a 100 KB
header costs a few hundred bytes of log, not 100 KB.

Adapters call :func:`log_refusal` when the user asked for refusal logs
(``log_refusals=True``). It logs at INFO on the ``corsfast`` logger, and
does no work at all unless that logger is enabled for INFO. Given the
policy that refused, the line ends with the fix in words, the same hints
``corsfast check`` prints (``fix: not allowed: x-token; add them to
allow_headers``).

The ``corsfast`` logger has no handler of its own; a server that leaves
logging unconfigured shows nothing below WARNING. Two lines turn it on::

    import logging
    logging.basicConfig(level=logging.INFO)

or, where the server already installs a handler,
``logging.getLogger("corsfast").setLevel(logging.INFO)``.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Optional

__all__ = ["MAX_LOG_VALUE", "environ_values", "escape_for_log", "log_environ_refusal",
           "log_refusal", "logger", "refusal_fix"]

logger = logging.getLogger("corsfast")
logger.addHandler(logging.NullHandler())

# Most characters of the fix a log line shows.
MAX_LOG_FIX = 400

# Most characters of one value that a log line shows (escapes count by
# their escaped length); the rest is replaced by a marker saying how much
# was left out.
MAX_LOG_VALUE = 200

_ABSENT = "-"


def _escape_char(code: int) -> str:
    if 0x20 <= code <= 0x7E:
        return "\\\\" if code == 0x5C else chr(code)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def escape_for_log(value: Any, limit: int = MAX_LOG_VALUE) -> str:
    """``value`` as printable ASCII, at most about ``limit`` characters.

    ``str`` is escaped character by character, ``bytes`` byte by byte;
    ``None`` (a header that was absent) shows as ``-``; anything else is
    escaped from its ``repr``. When the escaped form is longer than
    ``limit``, it is cut at an escape boundary and ``...[+N]`` is appended,
    N being how many input characters (or bytes) were left out.
    """
    if value is None:
        return _ABSENT
    if isinstance(value, (bytes, bytearray, memoryview)):
        codes: Any = bytes(value)
    elif isinstance(value, str):
        codes = value
    else:
        try:
            codes = repr(value)
        except Exception:
            codes = f"<unprintable {type(value).__name__}>"
    limit = max(int(limit), 1)
    total = len(codes)
    # Every character escapes to at least one, so looking at more than
    # ``limit`` of them is wasted work: a 100 KB value is never copied.
    head = codes[: limit + 1]
    parts: list[str] = []
    used = 0
    shown = 0
    for item in head:
        piece = _escape_char(item if isinstance(item, int) else ord(item))
        if used + len(piece) > limit:
            break
        parts.append(piece)
        used += len(piece)
        shown += 1
    text = "".join(parts)
    if shown < total:
        text += f"...[+{total - shown}]"
    return text


def log_refusal(
    decision: Any,
    method: Any,
    origin: Any,
    path: Any = None,
    request_method: Any = None,
    request_headers: Any = None,
    request_private_network: Any = None,
    *,
    policy: Any = None,
    fix_words: Optional[Callable[[str], str]] = None,
    log: Optional[logging.Logger] = None,
    fix: Optional[str] = None,
) -> bool:
    """Log one refused request at INFO; return whether a line was written.

    Allowed decisions (including requests without Origin) are not logged.
    Every request value is passed through :func:`escape_for_log`. The
    record carries ``cors_reason`` (the Reason's name),
    ``cors_preflight`` and, given ``policy`` (the :class:`corsfast.Policy`
    that refused), ``cors_fix`` as extra attributes for structured
    handlers; the fix also ends the message. ``fix_words`` rewrites the fix
    before it is escaped (a drop-in names its own settings); a caller that
    already has the escaped fix passes it as ``fix``.
    """
    target = logger if log is None else log
    if decision.allowed or not target.isEnabledFor(logging.INFO):
        return False
    reason = decision.reason
    name = getattr(reason, "name", str(reason))
    kind = "preflight" if decision.preflight else "request"
    fmt = "CORS %s refused (%s): origin=%s method=%s path=%s"
    args: list[str] = [
        kind,
        name,
        escape_for_log(origin),
        escape_for_log(method),
        escape_for_log(path),
    ]
    if decision.preflight:
        fmt += (" access-control-request-method=%s"
                " access-control-request-headers=%s"
                " access-control-request-private-network=%s")
        args += [
            escape_for_log(request_method),
            escape_for_log(request_headers),
            escape_for_log(request_private_network),
        ]
    extra: dict[str, Any] = {"cors_reason": name, "cors_preflight": decision.preflight}
    if fix is None:
        fix = refusal_fix(policy, decision, origin, request_method, request_headers,
                          fix_words)
    if fix:
        fmt += " fix: %s"
        args.append(fix)
        extra["cors_fix"] = fix
    target.info(fmt, *args, extra=extra)
    return True


def environ_values(environ: Any) -> tuple[Any, Any, Any, Any, Any, Any]:
    """A WSGI environ's (or a Django ``request.META``'s) request values, in
    :func:`log_refusal`'s order: method, origin, path, then the three
    Access-Control-Request-* headers."""
    get = environ.get
    return (get("REQUEST_METHOD"), get("HTTP_ORIGIN"), get("PATH_INFO"),
            get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"),
            get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"),
            get("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK"))


def log_environ_refusal(decision: Any, environ: Any, policy: Any = None,
                        fix_words: Optional[Callable[[str], str]] = None) -> bool:
    """:func:`log_refusal` with the request's values read from a WSGI
    environ (or a Django ``request.META``)."""
    return log_refusal(decision, *environ_values(environ), policy=policy,
                       fix_words=fix_words)


def _text(value: Any) -> Optional[str]:
    """A header value as the str the hints read (bytes are latin-1)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    return None


def refusal_fix(policy: Any, decision: Any, origin: Any, request_method: Any,
                request_headers: Any,
                fix_words: Optional[Callable[[str], str]] = None) -> str:
    """The fix for a refusal in words, escaped and bounded; empty without
    a policy or when no hint applies."""
    if policy is None:
        return ""
    from ._hints import hints  # the hints reach the audit; load them on first use

    request = {"origin": _text(origin), "request_method": _text(request_method),
               "request_headers": _text(request_headers)}
    try:
        found = "; ".join(hints(policy, decision, request))
        if found and fix_words is not None:
            found = fix_words(found)
    except Exception:  # a hint must never turn a refusal into an error
        return ""
    return escape_for_log(found, MAX_LOG_FIX) if found else ""
