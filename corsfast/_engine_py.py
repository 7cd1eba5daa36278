"""The pure-Python engine: the readable reference and the test oracle.

``src/_engine_c.pyx`` is its compiled twin; both must give identical
decisions for every input. Read this file to learn what corsfast decides;
read the .pyx to see how it does so cheaply. Section numbers cite SPEC.md
(and, where named, the WHATWG Fetch Standard).
"""

from __future__ import annotations

from typing import Any, Optional

from ._reason import Reason
from ._rules import (
    DEFAULT_PORTS,
    FORBIDDEN_METHODS,
    MAX_ACRH_ELEMENTS,
    MAX_ACRH_LENGTH,
    MAX_ACRM_LENGTH,
    MAX_ORIGIN_LENGTH,
    is_forbidden_request_header,
    is_token,
)

__all__ = ["ENGINE_NAME", "Core", "Decision", "check_request"]

ENGINE_NAME = "python"

Header = tuple[str, str]
_ACAO = "access-control-allow-origin"
_ACAM = "access-control-allow-methods"
_ACAH = "access-control-allow-headers"
_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
_OWS = " \t"

ALLOWED = Reason.ALLOWED
NOT_CORS = Reason.NOT_CORS
ORIGIN_NOT_ALLOWED = Reason.ORIGIN_NOT_ALLOWED
METHOD_NOT_ALLOWED = Reason.METHOD_NOT_ALLOWED
HEADERS_NOT_ALLOWED = Reason.HEADERS_NOT_ALLOWED
PRIVATE_NETWORK_NOT_ALLOWED = Reason.PRIVATE_NETWORK_NOT_ALLOWED
MALFORMED_REQUEST = Reason.MALFORMED_REQUEST


# -- Decision -----------------------------------------------------------------


class Decision:
    """What to do with one request. Immutable; may be shared."""

    __slots__ = ("allowed", "preflight", "reason", "status", "headers", "_raw")

    allowed: bool
    preflight: bool
    reason: Reason
    status: Optional[int]
    headers: tuple[Header, ...]
    _raw: Optional[tuple[tuple[bytes, bytes], ...]]

    def __init__(self, allowed: bool, preflight: bool, reason: Reason,
                 status: Optional[int], headers: tuple[Header, ...]) -> None:
        set_ = object.__setattr__
        set_(self, "allowed", allowed)
        set_(self, "preflight", preflight)
        set_(self, "reason", reason)
        set_(self, "status", status)
        set_(self, "headers", headers)
        set_(self, "_raw", None)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a Decision is immutable")

    @property
    def raw_headers(self) -> tuple[tuple[bytes, bytes], ...]:
        """``headers`` encoded for ASGI, built once per Decision."""
        raw = self._raw
        if raw is None:
            raw = tuple((name.encode("latin-1"), value.encode("latin-1"))
                        for name, value in self.headers)
            object.__setattr__(self, "_raw", raw)
        return raw

    def __eq__(self, other: object) -> bool:
        if not hasattr(other, "reason") or not hasattr(other, "headers"):
            return NotImplemented
        return _fields(self) == _fields(other)

    def __hash__(self) -> int:
        return hash(_fields(self))

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (Decision, _fields(self))

    def __repr__(self) -> str:
        return (f"Decision(allowed={self.allowed!r}, preflight={self.preflight!r}, "
                f"reason={self.reason!r}, status={self.status!r}, "
                f"headers={self.headers!r})")


def _fields(d: Any) -> tuple[Any, ...]:
    return (d.allowed, d.preflight, d.reason, d.status, d.headers)


# -- Core: a policy's tables plus this engine's precomputed decisions ---------


class Core:
    __slots__ = (
        "t", "not_cors", "star_actual", "refused_actual", "malformed_actual",
        "refused_preflight", "actual_cache",
    )

    def __init__(self, t: Any) -> None:
        self.t = t
        self.not_cors = Decision(True, False, NOT_CORS, None, t.not_cors_headers)
        self.star_actual = Decision(True, False, ALLOWED, None,
                                    t.star_actual_headers)
        self.refused_actual = Decision(False, False, ORIGIN_NOT_ALLOWED, None,
                                       t.refused_actual_headers)
        self.malformed_actual = Decision(False, False, MALFORMED_REQUEST, None,
                                         t.refused_actual_headers)
        self.refused_preflight = {
            reason: Decision(False, True, reason, 403, t.refused_preflight_headers)
            for reason in Reason
            if reason is not ALLOWED and reason is not NOT_CORS
        }
        # Allowed actual-request decisions for exact origins, built on first
        # use. Bounded by the number of exact origins in the policy.
        self.actual_cache: dict[str, Decision] = {}


# -- request values -----------------------------------------------------------


def _text(value: Any) -> Optional[str]:
    """A request value as an exact str; None when it cannot be text.

    WSGI gives latin-1 decoded str, ASGI gives bytes: both are accepted.
    """
    if type(value) is str:
        return value
    if isinstance(value, str):
        return str.__str__(value)  # an exact str copy of a subclass
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    return None


def _origin_syntax_ok(origin: str) -> bool:
    """SPEC 4.3: 1-1024 printable ASCII bytes, no space or comma."""
    return (
        0 < len(origin) <= MAX_ORIGIN_LENGTH
        and origin.isascii()
        and origin.isprintable()  # for ASCII: no control character
        and " " not in origin
        and "," not in origin
    )


def _port_ok(port: str, scheme: str) -> bool:
    """An explicit port as browsers serialize it: 1-65535, no leading zero,
    never the scheme's default."""
    if not 0 < len(port) <= 5 or port[0] == "0":
        return False
    if not all("0" <= ch <= "9" for ch in port):
        return False
    number = int(port)
    return number <= 65535 and DEFAULT_PORTS.get(scheme) != number


# -- origin matching (SPEC 3.1-3.5, 4.3) ---------------------------------------


def _origin_allowed(t: Any, origin: str) -> bool:
    if origin in t.exact:
        return True
    if t.has_patterns and _pattern_allowed(t, origin):
        return True
    return t.dynamic is not None and t.dynamic(origin)


def _pattern_allowed(t: Any, origin: str) -> bool:
    mark = origin.find("://")
    if mark <= 0:
        return False
    scheme_end = mark + 3
    scheme_part = origin[:scheme_end]
    rest = origin[scheme_end:]
    if rest.startswith("["):
        close = rest.find("]")
        if close < 0:
            return False
        host, after = rest[: close + 1], rest[close + 1:]
        if after and after[0] != ":":
            return False
        port: Optional[str] = after[1:] if after else None
    else:
        host, sep, port_text = rest.partition(":")
        port = port_text if sep else None
    if not host:
        return False
    port_valid = port is not None and _port_ok(port, origin[:mark])

    # scheme://host:* (any explicit port)
    if port_valid and scheme_part + host in t.any_port:
        return True

    # scheme://*.base[:port|:*]: one or more [a-z0-9-] labels before base.
    port_suffix = "" if port is None else ":" + port
    previous = "."
    for index, ch in enumerate(host):
        if ch == ".":
            if previous == ".":
                return False  # an empty label
            base = host[index + 1:]
            if scheme_part + base + port_suffix in t.subdomains:
                return True
            if port_valid and scheme_part + base in t.sub_any_port:
                return True
        elif ch not in _LABEL_CHARS:
            return False
        previous = ch
    return False


# -- Access-Control-Request-* (SPEC 4.4-4.6) ---------------------------------------


def _method_allowed(t: Any, method: str) -> bool:
    # always_allowed_methods is GET, HEAD and POST unless a drop-in said
    # otherwise (corsfast/_policy.py).
    if method in t.always_allowed_methods or method in t.methods:
        return True
    return t.methods_any and method.upper() not in FORBIDDEN_METHODS


def _header_allowed(t: Any, name: str) -> bool:
    if name in t.headers:
        return True
    return (t.headers_any and name != "authorization"
            and not is_forbidden_request_header(name))


def _parse_request_headers(t: Any, value: str) -> list[str] | Reason:
    """The names asked for, or the Reason to refuse. Names are lowercase,
    or as sent when the policy echoes them as sent (each one a validated
    token either way)."""
    if len(value) > MAX_ACRH_LENGTH:
        return MALFORMED_REQUEST
    sent: list[str] = []
    for element in value.split(","):
        element = element.strip(_OWS)
        if not element:
            continue  # empty elements are tolerated
        if not is_token(element) or len(sent) == MAX_ACRH_ELEMENTS:
            return MALFORMED_REQUEST
        sent.append(element)
    names = [element.lower() for element in sent]
    for name in names:
        if not _header_allowed(t, name):
            return HEADERS_NOT_ALLOWED
    return sent if t.echo_as_sent else names


# -- check_request --------------------------------------------------------------


def check_request(
    policy: Any,
    method: Any,
    origin: Any,
    request_method: Any = None,
    request_headers: Any = None,
    request_private_network: Any = None,
) -> Decision:
    """Decide one request against ``policy`` (SPEC 2 and 4). Never raises on
    request data."""
    core: Core = policy._core_py
    if origin is None:
        return core.not_cors  # 4.1
    # 4.2: a preflight is OPTIONS + Origin + Access-Control-Request-Method.
    preflight = request_method is not None and _text(method) == "OPTIONS"
    text = _text(origin)
    if text is None or not _origin_syntax_ok(text):  # 4.3
        if preflight:
            return core.refused_preflight[MALFORMED_REQUEST]
        return core.malformed_actual
    if preflight:
        return _preflight(core, text, request_method, request_headers,
                          request_private_network)
    return _actual(core, text)


def _actual(core: Core, origin: str) -> Decision:
    """4.9: an actual request with a well-formed Origin."""
    t = core.t
    if t.any_origin:
        return core.star_actual
    cached = core.actual_cache.get(origin)
    if cached is not None:
        return cached
    if not _origin_allowed(t, origin):
        return core.refused_actual
    decision = Decision(True, False, ALLOWED, None,
                        ((_ACAO, origin),) + t.actual_tail)
    if origin in t.exact:
        core.actual_cache[origin] = decision
    return decision


def _preflight(core: Core, origin: str, request_method: Any,
               request_headers: Any, request_private_network: Any) -> Decision:
    """4.4-4.8: answer a preflight."""
    t = core.t
    refuse = core.refused_preflight
    if not t.any_origin and not _origin_allowed(t, origin):
        return refuse[ORIGIN_NOT_ALLOWED]

    method = _text(request_method)
    if method is None or len(method) > MAX_ACRM_LENGTH or not is_token(method):
        return refuse[MALFORMED_REQUEST]
    if not _method_allowed(t, method):
        return refuse[METHOD_NOT_ALLOWED]

    names: list[str] = []
    if request_headers is not None:
        value = _text(request_headers)
        if value is None:
            return refuse[MALFORMED_REQUEST]
        parsed = _parse_request_headers(t, value)
        if isinstance(parsed, Reason):
            return refuse[parsed]
        names = parsed

    pna = _text(request_private_network) == "true"
    if pna and not t.private_network:
        return refuse[PRIVATE_NETWORK_NOT_ALLOWED]

    headers: tuple[Header, ...] = (
        t.acao_star if t.any_origin else (_ACAO, origin),)
    if t.echo_method:
        headers += ((_ACAM, method),)
    if names and t.echo_headers:
        headers += ((_ACAH, ", ".join(names)),)
    headers += t.preflight_tails[2 * bool(names) + pna]
    return Decision(True, True, ALLOWED, t.preflight_status, headers)
