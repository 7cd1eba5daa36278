"""The pure-Python engine: the readable reference and the test oracle.

``src/_engine_c.pyx`` is its compiled twin; both give identical decisions
for every input (tests and the fuzz target check it). Read this file to
learn what corsfast decides; read the .pyx to see how it does so cheaply.
Headings in quotes cite docs/spec.md; URLs cite the WHATWG Fetch Standard.

(About 500 lines: the whole of the request rules, in the order of the
compiled module, so the two read side by side.)
"""

from __future__ import annotations

import re
import weakref
from typing import TYPE_CHECKING, AbstractSet, Any, Optional

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
from ._tables import Tables

if TYPE_CHECKING:
    from ._origin_set import Members

__all__ = ["ENGINE_NAME", "Decision", "Matcher", "check_request", "is_options"]

ENGINE_NAME = "python"

Header = tuple[str, str]
RawHeader = tuple[bytes, bytes]
_ACAO = "access-control-allow-origin"
_ACAM = "access-control-allow-methods"
_ACAH = "access-control-allow-headers"
_ACAPN = "access-control-allow-private-network"
_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
_OWS = " \t"

ALLOWED = Reason.ALLOWED
NOT_CORS = Reason.NOT_CORS
ORIGIN_NOT_ALLOWED = Reason.ORIGIN_NOT_ALLOWED
METHOD_NOT_ALLOWED = Reason.METHOD_NOT_ALLOWED
HEADERS_NOT_ALLOWED = Reason.HEADERS_NOT_ALLOWED
PRIVATE_NETWORK_NOT_ALLOWED = Reason.PRIVATE_NETWORK_NOT_ALLOWED
MALFORMED_REQUEST = Reason.MALFORMED_REQUEST


SEEN_ALLOWED_SIZE = 1024  # Matcher.allowed_cache's bound

# -- Decision -----------------------------------------------------------------


class Decision:
    """What to do with one request. Immutable; may be shared.

    ``reasons`` lists every check the request failed (empty when allowed):
    the first is ``reason``; more are listed only for a refused preflight
    under a dialect that asks for every refusal reason.
    """

    __slots__ = ("allowed", "preflight", "reason", "status", "headers",
                 "raw_headers", "reasons")

    allowed: bool
    preflight: bool
    reason: Reason
    status: Optional[int]
    headers: tuple[Header, ...]
    raw_headers: tuple[RawHeader, ...]
    reasons: tuple[Reason, ...]

    def __init__(self, allowed: bool, preflight: bool, reason: Reason,
                 status: Optional[int], headers: tuple[Header, ...],
                 reasons: Optional[tuple[Reason, ...]] = None) -> None:
        headers = tuple(headers)
        set_ = object.__setattr__
        set_(self, "allowed", allowed)
        set_(self, "preflight", preflight)
        set_(self, "reason", reason)
        set_(self, "status", status)
        set_(self, "headers", headers)
        # ``headers`` encoded for ASGI, once, when the Decision is made.
        set_(self, "raw_headers", tuple(
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in headers))
        set_(self, "reasons", (() if allowed else (reason,))
             if reasons is None else tuple(reasons))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a Decision is immutable")

    def __eq__(self, other: object) -> bool:
        if not hasattr(other, "reasons") or not hasattr(other, "headers"):
            return NotImplemented
        return _fields(self) == _fields(other)

    def __hash__(self) -> int:
        return hash(_fields(self))

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (Decision, _fields(self))

    def __repr__(self) -> str:
        return (f"Decision(allowed={self.allowed!r}, preflight={self.preflight!r}, "
                f"reason={self.reason!r}, status={self.status!r}, "
                f"headers={self.headers!r}, reasons={self.reasons!r})")


def _fields(d: Any) -> tuple[Any, ...]:
    return (d.allowed, d.preflight, d.reason, d.status, d.headers, d.reasons)


# -- Matcher: a policy's tables plus this engine's precomputed decisions ------


class Matcher:
    """What this engine keeps for one policy: its tables, the decisions
    that never change, and a cache of allowed decisions for exact origins
    (bounded by the number of exact origins in the policy)."""

    __slots__ = ("t", "not_cors", "star_actual", "refused_actual",
                 "malformed_actual", "refused_preflight", "actual_cache",
                 "allowed_cache")

    def __init__(self, t: Tables) -> None:
        if not isinstance(t, Tables):
            raise TypeError(f"Matcher: expected Tables, got {type(t).__name__}")
        self.t = t
        self.not_cors = Decision(True, False, NOT_CORS, None, t.not_cors_headers)
        self.star_actual = Decision(True, False, ALLOWED, None,
                                    t.star_actual_headers)
        self.refused_actual = Decision(False, False, ORIGIN_NOT_ALLOWED, None,
                                       t.refused_actual_headers)
        self.malformed_actual = Decision(False, False, MALFORMED_REQUEST, None,
                                         t.refused_actual_headers)
        self.refused_preflight: dict[tuple[Reason, ...], Decision] = {}
        self.actual_cache: dict[str, Decision] = {}
        # Allowed decisions for origins a pattern, the origin set, the regex,
        # the predicate or a resolver took in: read only after the origin
        # was found allowed again, so they save building the answer, never
        # a check; at most SEEN_ALLOWED_SIZE, cleared when full.
        self.allowed_cache: dict[str, Decision] = {}

    def refusal(self, reasons: tuple[Reason, ...]) -> Decision:
        """The refused-preflight Decision for ``reasons`` (first one first)."""
        decision = self.refused_preflight.get(reasons)
        if decision is None:
            decision = Decision(False, True, reasons[0], self.t.refused_status,
                                self.t.refused_preflight_headers, reasons)
            self.refused_preflight[reasons] = decision
        return decision


# Matchers of this engine for policies that hold another engine's (tests and
# the fuzz target run both engines on one Policy): built once per policy.
_foreign: weakref.WeakKeyDictionary[Any, Matcher] = weakref.WeakKeyDictionary()


def _matcher(policy: Any) -> Matcher:
    """The Matcher this engine uses for ``policy`` (or the matcher itself:
    a middleware may hold its policy's)."""
    if type(policy) is Matcher:
        return policy
    matcher = getattr(policy, "_matcher", None)
    if type(matcher) is Matcher:
        return matcher
    tables = getattr(policy, "_tables", None)
    if isinstance(tables, Tables):
        found = _foreign.get(policy)
        if found is None:
            found = _foreign[policy] = Matcher(tables)
        return found
    raise TypeError(_not_a_policy(policy))


def _not_a_policy(policy: Any) -> str:
    name = type(policy).__name__
    if callable(getattr(policy, "lookup", None)):
        return (f"expected a corsfast.Policy, got {name}: pick the policy for "
                f"the request first, with policy = router.lookup(path)")
    return f"expected a corsfast.Policy, got {name}"


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


# "The Origin header": null, or scheme "://" host [":" port], with a
# lowercase scheme, a host of [a-z0-9_-] labels joined by dots (one trailing
# dot allowed) or a bracketed IPv6 address, and a port of digits
# [https://html.spec.whatwg.org/multipage/browsers.html#ascii-serialisation-of-an-origin].
_SERIALIZED_ORIGIN = re.compile(
    r"null|"
    r"[a-z][a-z0-9+.-]*://"                       # scheme
    r"(?:\[[0-9a-f:.]+\]"                         # [IPv6]
    r"|(?:[a-z0-9_-]+\.)*[a-z0-9_-]+\.?)"          # labels, one trailing dot
    r"(?::[0-9]+)?")                              # port


def _origin_syntax_ok(origin: str) -> bool:
    """"The Origin header": at most 1024 bytes, and a serialized origin.
    Anything else is malformed before any table, regex or predicate sees it."""
    return len(origin) <= MAX_ORIGIN_LENGTH and _SERIALIZED_ORIGIN.fullmatch(origin) is not None


def _loose_syntax_ok(origin: str) -> bool:
    """A dialect's loose origin syntax: 1-1024 printable ASCII bytes, no
    space or comma, and not ``*``."""
    return (0 < len(origin) <= MAX_ORIGIN_LENGTH and origin.isascii()
            and origin.isprintable() and " " not in origin and "," not in origin
            and origin != "*")


def _port_ok(port: str, scheme: str) -> bool:
    """An explicit port as browsers serialize it: 1-65535, no leading zero,
    never the scheme's default."""
    if not 0 < len(port) <= 5 or port[0] == "0":
        return False
    if not all("0" <= ch <= "9" for ch in port):
        return False
    number = int(port)
    return number <= 65535 and DEFAULT_PORTS.get(scheme) != number


# -- origin matching ("Origin entries", "The Origin header") ------------------


def _origin_allowed(t: Tables, origin: str) -> bool:
    # The policy's own tables, then its origin set, then regex and predicate
    # ("Origin sets"): the set is consulted only for what the tables refuse,
    # and the regex and predicate (user code, behind a cache) only for what
    # the set refuses too.
    if t.every_origin or origin in t.exact:
        return True
    if t.loose_origins and not _origin_syntax_ok(origin):
        return False  # patterns, sets, regexes and predicates see serialized origins only
    if t.has_patterns and _pattern_allowed(origin, t.any_port, t.subdomains,
                                           t.sub_any_port):
        return True
    if t.origin_set is not None and origin_in_members(t.origin_set._members, origin):
        return True
    return t.dynamic is not None and t.dynamic(origin)


def origin_in_members(members: Members, origin: str) -> bool:
    """Whether a serialized origin matches a member of an OriginSet, given
    the set's containers as read once (corsfast/_origin_set.py): one
    membership test for an exact origin, one per label for patterns."""
    exact, any_port, subdomains, sub_any_port = members
    if origin in exact:
        return True
    return bool(any_port or subdomains or sub_any_port) and _pattern_allowed(
        origin, any_port, subdomains, sub_any_port)


def _pattern_allowed(origin: str, any_port: AbstractSet[str],
                     subdomains: AbstractSet[str], sub_any_port: AbstractSet[str]) -> bool:
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
    if port_valid and scheme_part + host in any_port:
        return True

    # scheme://*.base[:port|:*]: one or more [a-z0-9-] labels before base.
    port_suffix = "" if port is None else ":" + port
    previous = "."
    for index, ch in enumerate(host):
        if ch == ".":
            if previous == ".":
                return False  # an empty label
            base = host[index + 1:]
            if scheme_part + base + port_suffix in subdomains:
                return True
            if port_valid and scheme_part + base in sub_any_port:
                return True
        elif ch not in _LABEL_CHARS:
            return False
        previous = ch
    return False


# -- Access-Control-Request-* ("Preflight") -----------------------------------


def _method_allowed(t: Tables, method: str) -> bool:
    # always_allowed_methods is GET, HEAD and POST unless a dialect says
    # otherwise (corsfast/_dialect.py).
    if method in t.always_allowed_methods or method in t.methods:
        return True
    return t.methods_any and method.upper() not in FORBIDDEN_METHODS


def _header_allowed(t: Tables, name: str) -> bool:
    if name in t.headers:
        return True
    if is_forbidden_request_header(name):
        return False
    if t.headers_any and name != "authorization":
        return True
    return t.header_regex is not None and t.header_regex(name) is not None


def _parse_request_headers(t: Tables, value: str) -> tuple[str, ...] | Reason:
    """The names asked for, or the Reason to refuse ("Access-Control-
    Request-Headers"). Names are lowercase, or as sent when the policy
    echoes them as sent (each one a validated token either way); under
    ``allowed_headers_only`` names the policy does not allow are left out
    and the rest sorted."""
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
    if t.allowed_headers_only:
        kept = sorted(s for s, n in zip(sent, names) if _header_allowed(t, n))
        return tuple(kept)
    for name in names:
        if not _header_allowed(t, name):
            return HEADERS_NOT_ALLOWED
    return tuple(sent) if t.echo_as_sent else tuple(names)


# -- check_request --------------------------------------------------------------


def is_options(method: Any) -> bool:
    """Whether a request method (str, or bytes as ASGI gives it) is OPTIONS."""
    return _text(method) == "OPTIONS"


def check_request(
    policy: Any,
    method: Any,
    origin: Any,
    request_method: Any = None,
    request_headers: Any = None,
    request_private_network: Any = None,
) -> Decision:
    """Decide one request against ``policy`` (docs/spec.md "Public API",
    "Request rules"). Never raises on request data."""
    m = _matcher(policy)
    if origin is None:
        return m.not_cors  # no Origin: not a CORS request
    # A preflight is OPTIONS + Origin + Access-Control-Request-Method
    # [https://fetch.spec.whatwg.org/#cors-preflight-request].
    preflight = request_method is not None and is_options(method)
    text = _text(origin)
    if text is not None and not preflight:
        cached = m.actual_cache.get(text)  # entries are well-formed origins
        if cached is not None and not (m.t.pna_answer and request_private_network is not None):
            return cached
        # Taken in before by a pattern, set, regex, predicate or resolver:
        # well-formed, but asked again, as it may be refused now.
        cached = m.allowed_cache.get(text)
        if cached is not None and not (m.t.pna_answer and request_private_network
                                       is not None) and _origin_allowed(m.t, text):
            return cached
    if text is None or not (_origin_syntax_ok(text)
                            or (m.t.loose_origins and _loose_syntax_ok(text))):
        # "The Origin header": not a serialized origin (nor, under a dialect
        # with loose origin syntax, a printable value)
        return m.refusal((MALFORMED_REQUEST,)) if preflight else m.malformed_actual
    if preflight:
        return _preflight(m, text, request_method, request_headers,
                          request_private_network)
    decision = _actual(m, text)
    if m.t.pna_answer and decision.allowed and _text(request_private_network) == "true":
        return _with_private_network(m, decision)
    return decision


def _with_private_network(m: Matcher, decision: Decision) -> Decision:
    """An allowed actual request that asked for private network access,
    under a dialect that answers it on every request."""
    value = "true" if m.t.private_network else "false"
    return Decision(True, False, ALLOWED, None, decision.headers + ((_ACAPN, value),))


def _actual(m: Matcher, origin: str) -> Decision:
    """"Actual requests": an actual request with a well-formed Origin."""
    t = m.t
    if t.any_origin:
        return m.star_actual
    cached = m.actual_cache.get(origin)
    if cached is not None:
        return cached
    if not _origin_allowed(t, origin):
        return m.refused_actual
    if origin in t.exact:
        decision = Decision(True, False, ALLOWED, None,
                            ((_ACAO, origin),) + t.actual_tail)
        m.actual_cache[origin] = decision
        return decision
    found = m.allowed_cache.get(origin)
    if found is not None:
        return found
    decision = Decision(True, False, ALLOWED, None, ((_ACAO, origin),) + t.actual_tail)
    if len(m.allowed_cache) >= SEEN_ALLOWED_SIZE:
        m.allowed_cache.clear()
    m.allowed_cache[origin] = decision
    return decision


def _preflight(m: Matcher, origin: str, request_method: Any,
               request_headers: Any, request_private_network: Any) -> Decision:
    """"Preflight": answer one. Checks run in a fixed order (origin,
    method, headers, private network); the first failure is the reason,
    and only a dialect that asks for every reason runs the rest."""
    t = m.t
    failed: list[Reason] = []

    def refuse(reason: Reason) -> bool:
        failed.append(reason)
        return not t.every_reason  # True: stop here

    if not t.any_origin and not _origin_allowed(t, origin):
        if refuse(ORIGIN_NOT_ALLOWED):
            return m.refusal(tuple(failed))

    method = _text(request_method)
    if method is None or len(method) > MAX_ACRM_LENGTH or not is_token(method):
        if refuse(MALFORMED_REQUEST):
            return m.refusal(tuple(failed))
        method = None
    elif not _method_allowed(t, method):
        if refuse(METHOD_NOT_ALLOWED):
            return m.refusal(tuple(failed))

    names: tuple[str, ...] = ()
    if request_headers is not None:
        value = _text(request_headers)
        parsed = MALFORMED_REQUEST if value is None else _parse_request_headers(t, value)
        if isinstance(parsed, Reason):
            if refuse(parsed):
                return m.refusal(tuple(failed))
        else:
            names = parsed

    pna = _text(request_private_network) == "true"
    pna_refused = pna and not t.private_network
    if pna_refused and not t.pna_answer:
        refuse(PRIVATE_NETWORK_NOT_ALLOWED)
    if failed:
        return m.refusal(tuple(dict.fromkeys(failed)))

    headers: tuple[Header, ...] = (
        t.acao_star if t.any_origin else (_ACAO, origin),)
    if pna_refused:  # a dialect that answers instead of refusing
        headers += ((_ACAPN, "false"),)
        pna = False
    if t.echo_method and method is not None:  # (a failed method never gets here)
        headers += ((_ACAM, method),)
    if names and t.echo_headers:
        headers += ((_ACAH, ", ".join(names)),)
    headers += t.preflight_tails[2 * bool(names) + pna]
    return Decision(True, True, ALLOWED, t.preflight_status, headers)
