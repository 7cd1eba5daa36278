# cython: language_level=3
"""The compiled engine: the same decisions as corsfast/_engine_py.py, cheaply.

Every rule here has its readable twin in _engine_py.py; the two agree on
every input (tests and the fuzz target check it). Headings in quotes cite
docs/spec.md; URLs cite the WHATWG Fetch Standard. This module only
matches requests against a policy's tables; the adapters' compiled pieces
live in _adapters_c.pyx and reach it through _engine_c.pxd.

What keeps the per-request path cheap:
- a Policy's tables and constant headers are built once (corsfast/_tables.py);
- each Matcher keeps the decisions that never change (refusals, "no
  Origin") and the decisions for origins seen before, in bounded caches;
- character classes are 128-entry tables, scanned over the str's own
  one-byte buffer: no regex, no per-character Python objects.

Shared state: a Matcher's tables are never changed once built. Its caches
are dicts, replaced entry by entry with whole values, so a reader sees an
old entry or a new one. A policy's OriginSet is the one part that changes:
its members are read afresh on every request and no answer they took part
in is cached (see _in_origin_set and _actual).

(About 900 lines, past the usual 400: one matcher, whose rules call each
other at C level; each section has its twin, in the same order, in
_engine_py.py.)
"""

import weakref

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.string cimport memcmp
from cpython.set cimport PySet_Contains
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from cpython.unicode cimport PyUnicode_AsLatin1String, PyUnicode_DecodeLatin1

from corsfast._reason import Reason
from corsfast._rules import (
    DEFAULT_PORTS as _DEFAULT_PORTS_PY,
    FORBIDDEN_METHODS as _FORBIDDEN_METHODS_PY,
    FORBIDDEN_REQUEST_HEADERS as _FORBIDDEN_HEADERS_PY,
    MAX_ACRH_ELEMENTS as _MAX_ACRH_ELEMENTS_PY,
    MAX_ACRH_LENGTH as _MAX_ACRH_LENGTH_PY,
    MAX_ACRM_LENGTH as _MAX_ACRM_LENGTH_PY,
    MAX_ORIGIN_LENGTH as _MAX_ORIGIN_LENGTH_PY,
    TCHARS as _TCHARS_PY,
)
from corsfast._tables import Tables

cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object o)
    const unsigned char* PyUnicode_1BYTE_DATA(object o)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)

__all__ = ["ENGINE_NAME", "Decision", "Matcher", "check_request", "is_options"]

ENGINE_NAME = "cython"

# -- module constants, cached as C-level references (set once, at import) -------

cdef object ALLOWED = Reason.ALLOWED
cdef object NOT_CORS = Reason.NOT_CORS
cdef object ORIGIN_NOT_ALLOWED = Reason.ORIGIN_NOT_ALLOWED
cdef object METHOD_NOT_ALLOWED = Reason.METHOD_NOT_ALLOWED
cdef object HEADERS_NOT_ALLOWED = Reason.HEADERS_NOT_ALLOWED
cdef object PRIVATE_NETWORK_NOT_ALLOWED = Reason.PRIVATE_NETWORK_NOT_ALLOWED
cdef object MALFORMED_REQUEST = Reason.MALFORMED_REQUEST

cdef str ACAO = "access-control-allow-origin"
cdef str ACAM = "access-control-allow-methods"
cdef str ACAH = "access-control-allow-headers"
cdef str ACAPN = "access-control-allow-private-network"
cdef str FALSE = "false"
cdef str OPTIONS = "OPTIONS"
cdef bytes OPTIONS_B = b"OPTIONS"
cdef str TRUE = "true"
cdef str AUTHORIZATION = "authorization"
cdef str COMMA_SP = ", "
cdef str MATCHER_FIELD = "_matcher"
cdef str TABLES_FIELD = "_tables"
cdef str MEMBERS_FIELD = "_members"
cdef tuple NO_REASONS = ()
cdef frozenset FORBIDDEN_METHODS = frozenset(_FORBIDDEN_METHODS_PY)
cdef frozenset FORBIDDEN_HEADERS = frozenset(_FORBIDDEN_HEADERS_PY)
cdef tuple FORBIDDEN_PREFIXES = ("proxy-", "sec-")
cdef dict DEFAULT_PORTS = dict(_DEFAULT_PORTS_PY)
cdef Py_ssize_t MAX_ORIGIN_LENGTH = _MAX_ORIGIN_LENGTH_PY
cdef Py_ssize_t MAX_ACRH_LENGTH = _MAX_ACRH_LENGTH_PY
cdef Py_ssize_t MAX_ACRH_ELEMENTS = _MAX_ACRH_ELEMENTS_PY
cdef Py_ssize_t MAX_ACRM_LENGTH = _MAX_ACRM_LENGTH_PY
cdef Py_ssize_t ACRH_CACHE_SIZE = 256
cdef Py_ssize_t ACRH_CACHE_MAX_VALUE = 512
cdef Py_ssize_t SEEN_REFUSED_SIZE = 1024
cdef Py_ssize_t SEEN_ALLOWED_SIZE = 1024
cdef Py_ssize_t SMALL_EXACT = 8  # exact origins compared one by one, not hashed

# Character classes over ASCII (index < 128), filled once at import.
cdef bint TOKEN_CHAR[128]    # RFC 9110 section 5.6.2 tchar
cdef bint LABEL_CHAR[128]    # "Subdomain patterns": [a-z0-9-] in labels
# These three are read over bytes too: 256 entries, none set above 127.
cdef bint HOST_CHAR[256]     # "The Origin header": [a-z0-9_-] in a host's labels
cdef bint SCHEME_CHAR[256]   # [a-z0-9+.-] after a scheme's first letter
cdef bint IPV6_CHAR[256]     # [0-9a-f:.] inside brackets


cdef void _init_tables():
    cdef int i
    for i in range(128, 256):
        HOST_CHAR[i] = SCHEME_CHAR[i] = IPV6_CHAR[i] = False
    for i in range(128):
        TOKEN_CHAR[i] = chr(i) in _TCHARS_PY
        LABEL_CHAR[i] = (0x61 <= i <= 0x7a) or (0x30 <= i <= 0x39) or i == 0x2d
        HOST_CHAR[i] = LABEL_CHAR[i] or i == 0x5f
        SCHEME_CHAR[i] = LABEL_CHAR[i] or i == 0x2b or i == 0x2e
        IPV6_CHAR[i] = (0x30 <= i <= 0x39) or (0x61 <= i <= 0x66) or i == 0x3a or i == 0x2e


_init_tables()


# -- Decision ---------------------------------------------------------------------


cdef class Decision:
    """What to do with one request. Immutable; may be shared.

    ``reasons`` lists every check the request failed (empty when allowed):
    the first is ``reason``; more are listed only for a refused preflight
    under a dialect that asks for every refusal reason."""

    def __init__(self, allowed, preflight, reason, status, headers, reasons=None):
        headers = tuple(headers)
        self.allowed = allowed
        self.preflight = preflight
        self.reason = reason
        self.status = status
        self.headers = headers
        self.raw_headers = _encoded(headers)
        if reasons is None:
            self.reasons = NO_REASONS if self.allowed else (reason,)
        else:
            self.reasons = tuple(reasons)

    def __eq__(self, other):
        if not hasattr(other, "reasons") or not hasattr(other, "headers"):
            return NotImplemented
        return _fields(self) == _fields(other)

    def __ne__(self, other):
        result = self.__eq__(other)
        if result is NotImplemented:
            return result
        return not result

    def __hash__(self):
        return hash(_fields(self))

    def __repr__(self):
        return (f"Decision(allowed={self.allowed!r}, preflight={self.preflight!r}, "
                f"reason={self.reason!r}, status={self.status!r}, "
                f"headers={self.headers!r}, reasons={self.reasons!r})")

    def __reduce__(self):
        return (Decision, _fields(self))


cdef tuple _encoded(tuple headers):
    """``headers`` encoded for ASGI (latin-1 bytes pairs)."""
    return tuple([(PyUnicode_AsLatin1String(name), PyUnicode_AsLatin1String(value))
                  for name, value in headers])


def _fields(d):
    return (d.allowed, d.preflight, d.reason, d.status, d.headers, d.reasons)


cdef inline Decision _decision(bint allowed, bint preflight, object reason,
                               object status, tuple headers):
    cdef Decision d = Decision.__new__(Decision)
    d.allowed = allowed
    d.preflight = preflight
    d.reason = reason
    d.status = status
    d.headers = headers
    d.raw_headers = _encoded(headers)
    d.reasons = NO_REASONS if allowed else (reason,)
    return d


# -- Matcher: a policy's tables plus this engine's precomputed decisions ---------


cdef class Matcher:
    """What this engine keeps for one policy: its tables as C fields, the
    decisions that never change, and bounded caches of decisions seen."""

    def __init__(self, t):
        if not isinstance(t, Tables):
            raise TypeError(f"Matcher: expected Tables, got {type(t).__name__}")
        self.tables = t
        self.any_origin = t.any_origin
        self.every_origin = t.every_origin
        self.has_patterns = t.has_patterns
        self.methods_any = t.methods_any
        self.headers_any = t.headers_any
        self.private_network = t.private_network
        self.echo_method = t.echo_method
        self.echo_headers = t.echo_headers
        self.echo_as_sent = t.echo_as_sent
        self.allowed_headers_only = t.allowed_headers_only
        self.every_reason = t.every_reason
        self.pna_answer = t.pna_answer
        self.header_regex = t.header_regex
        self.always_allowed_methods = frozenset(t.always_allowed_methods)
        self.exact = frozenset(t.exact)
        self.loose_origins = t.loose_origins
        self.any_port = frozenset(t.any_port)
        self.subdomains = frozenset(t.subdomains)
        self.sub_any_port = frozenset(t.sub_any_port)
        self.methods = frozenset(t.methods)
        self.headers = frozenset(t.headers)
        self.dynamic = t.dynamic
        self.origin_set = t.origin_set
        self.origins_change = t.origins_change
        self.preflight_status = t.preflight_status
        self.refused_status = t.refused_status
        self.acao_star = tuple(t.acao_star)
        self.actual_tail = tuple(t.actual_tail)
        self.preflight_tails = tuple(t.preflight_tails)
        self.refused_preflight_headers = tuple(t.refused_preflight_headers)

        self.not_cors = _decision(True, False, NOT_CORS, None, t.not_cors_headers)
        self.star_actual = _decision(True, False, ALLOWED, None,
                                     t.star_actual_headers)
        self.refused_actual = _decision(False, False, ORIGIN_NOT_ALLOWED, None,
                                        t.refused_actual_headers)
        self.malformed_actual = _decision(False, False, MALFORMED_REQUEST, None,
                                          t.refused_actual_headers)
        # A policy with a few exact origins: each one's allowed decision,
        # found by comparing the request's origin with each (no hashing of
        # a new str or bytes per request). With only exact entries, an
        # origin none of them is equal to is refused outright.
        self.small_exact = self.small_exact_raw = self.small_actual = None
        if not self.any_origin and len(self.exact) <= SMALL_EXACT:
            names = tuple(sorted(self.exact))
            self.small_exact = names
            self.small_exact_raw = tuple([PyUnicode_AsLatin1String(o) for o in names])
            self.small_actual = tuple([
                _decision(True, False, ALLOWED, None, _prepend((ACAO, o), self.actual_tail))
                for o in names])
        self.exact_only = not (self.any_origin or self.every_origin or self.has_patterns
                               or self.loose_origins or self.dynamic is not None
                               or self.origin_set is not None)
        self.refusals = {}
        self.pf_origin = _refusal(self, (ORIGIN_NOT_ALLOWED,))
        self.pf_method = _refusal(self, (METHOD_NOT_ALLOWED,))
        self.pf_headers = _refusal(self, (HEADERS_NOT_ALLOWED,))
        self.pf_pna = _refusal(self, (PRIVATE_NETWORK_NOT_ALLOWED,))
        self.pf_malformed = _refusal(self, (MALFORMED_REQUEST,))
        # Actual-request decisions for origins seen before: allowed ones for
        # exact origins (bounded by the policy's exact origins), keyed by
        # the origin as str and as bytes (ASGI); and refusals of well-formed
        # origins, at most SEEN_REFUSED_SIZE of them: when that many have
        # been stored the table is cleared (allowed entries come back on
        # use), so attacker-chosen origins never grow it without bound.
        # With an origin set, refusals are not stored (the set may take the
        # origin in at any time), and neither is anything the set allowed
        # ("Origin sets"): only the policy's own exact origins are cached.
        self.actual_cache = {}
        self.refused_stored = 0
        # Allowed actual-request decisions for origins a pattern, the origin
        # set, the regex, the predicate or a resolver took in, keyed by the
        # origin. Read only after the origin was found allowed again on
        # this request, so it saves building the answer, never a check (a
        # member discarded from the set is refused at once); at most
        # SEEN_ALLOWED_SIZE entries, cleared when full.
        self.allowed_cache = {}
        # For each exact origin, its last allowed preflight:
        # (request_method, request_headers, request_private_network, Decision),
        # the request values exactly as given, replaced as one tuple.
        self.preflight_cache = {}
        # Verdicts for Access-Control-Request-Headers values seen before: at
        # most ACRH_CACHE_SIZE entries of at most ACRH_CACHE_MAX_VALUE characters.
        self.acrh_cache = {}

    def refusal(self, reasons):
        """The refused-preflight Decision for ``reasons`` (first one first)."""
        return _refusal(self, tuple(reasons))

    def cache_sizes(self):
        """Entries in each of this matcher's caches (for monitoring)."""
        return {"actual": len(self.actual_cache),
                "preflight": len(self.preflight_cache),
                "request_headers": len(self.acrh_cache)}


cdef Decision _refusal(Matcher m, tuple reasons):
    cached = m.refusals.get(reasons)
    if cached is not None:
        return <Decision>cached
    cdef Decision d = Decision.__new__(Decision)
    d.allowed = False
    d.preflight = True
    d.reason = reasons[0]
    d.status = m.refused_status
    d.headers = m.refused_preflight_headers
    d.raw_headers = _encoded(d.headers)
    d.reasons = reasons
    m.refusals[reasons] = d
    return d


# Matchers of this engine for policies that hold another engine's (tests and
# the fuzz target run both engines on one Policy): built once per policy.
_foreign = weakref.WeakKeyDictionary()


cdef Matcher matcher_of(object policy):
    if type(policy) is Matcher:
        return <Matcher>policy  # a middleware may hold its policy's matcher
    matcher = getattr(policy, MATCHER_FIELD, None)
    if type(matcher) is Matcher:
        return <Matcher>matcher
    tables = getattr(policy, TABLES_FIELD, None)
    if isinstance(tables, Tables):
        found = _foreign.get(policy)
        if found is None:
            found = _foreign[policy] = Matcher(tables)
        return <Matcher>found
    raise TypeError(_not_a_policy(policy))


def _not_a_policy(policy):
    name = type(policy).__name__
    if callable(getattr(policy, "lookup", None)):
        return (f"expected a corsfast.Policy, got {name}: pick the policy for "
                f"the request first, with policy = router.lookup(path)")
    return f"expected a corsfast.Policy, got {name}"


# -- request values ----------------------------------------------------------------


cdef inline object _text(object value):
    """A request value as an exact str; None when it cannot be text."""
    if type(value) is str:
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bytes):
        return PyUnicode_DecodeLatin1(<bytes>value, len(<bytes>value), NULL)
    if isinstance(value, bytearray):
        return bytes(value).decode("latin-1")
    return None


cdef inline bint _str_is(object value, str literal):
    """value == literal for a str literal; unequal lengths answer at once."""
    return value is literal or (
        type(value) is str
        and PyUnicode_GET_LENGTH(value) == PyUnicode_GET_LENGTH(literal)
        and <str>value == literal)


cdef inline bint _is_options(object method):
    if type(method) is str:
        return _str_is(method, OPTIONS)
    if type(method) is bytes:
        return <bytes>method == OPTIONS_B
    return _text(method) == OPTIONS


cdef bint _origin_syntax_ok(str origin):
    """"The Origin header": at most 1024 bytes, and a serialized origin (see
    the twin's _origin_syntax_ok for the grammar)."""
    if not PyUnicode_IS_ASCII(origin):
        return False
    return _serialized(PyUnicode_1BYTE_DATA(origin), PyUnicode_GET_LENGTH(origin))


cdef bint _serialized(const unsigned char* data, Py_ssize_t n):
    """The grammar of _origin_syntax_ok over ``n`` bytes (a byte at 128 or
    above is in no class, so it fails as a non-ASCII str does)."""
    cdef Py_ssize_t i, mark, start
    if n == 0 or n > MAX_ORIGIN_LENGTH:
        return False
    if n == 4 and data[0] == 0x6e and data[1] == 0x75 and data[2] == 0x6c \
            and data[3] == 0x6c:
        return True  # "null"
    # scheme: a lowercase letter, then [a-z0-9+.-], up to "://"
    if not (0x61 <= data[0] <= 0x7a):
        return False
    i = 1
    while i < n and SCHEME_CHAR[data[i]]:
        i += 1
    if i + 3 > n or data[i] != 0x3a or data[i + 1] != 0x2f or data[i + 2] != 0x2f:
        return False
    mark = i + 3
    i = mark
    if i < n and data[i] == 0x5b:  # "[": a bracketed IPv6 address
        i += 1
        while i < n and IPV6_CHAR[data[i]]:
            i += 1
        if i >= n or data[i] != 0x5d or i == mark + 1:
            return False
        i += 1
    else:
        # labels of [a-z0-9_-] joined by single dots; one trailing dot
        while True:
            start = i
            while i < n and HOST_CHAR[data[i]]:
                i += 1
            if i == start:
                return False  # an empty label
            if i < n and data[i] == 0x2e:  # "."
                i += 1
                if i == n or data[i] == 0x3a:
                    break  # the trailing dot
                continue
            break
    if i == n:
        return True
    if data[i] != 0x3a or i + 1 == n:
        return False
    for i in range(i + 1, n):
        if not 0x30 <= data[i] <= 0x39:
            return False
    return True


cdef bint _loose_syntax_ok(str origin):
    """A dialect's loose origin syntax: 1-1024 printable ASCII bytes, no
    space or comma, and not ``*``."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(origin), i
    cdef const unsigned char* data
    if n == 0 or n > MAX_ORIGIN_LENGTH or not PyUnicode_IS_ASCII(origin):
        return False
    data = PyUnicode_1BYTE_DATA(origin)
    if n == 1 and data[0] == 0x2a:
        return False  # "*"
    for i in range(n):
        if not (0x21 <= data[i] <= 0x7e) or data[i] == 0x2c:
            return False
    return True


cdef bint _is_token(str value):
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(value), i
    cdef const unsigned char* data
    if n == 0 or not PyUnicode_IS_ASCII(value):
        return False
    data = PyUnicode_1BYTE_DATA(value)
    for i in range(n):
        if not TOKEN_CHAR[data[i]]:
            return False
    return True


cdef bint _port_ok(str port, str scheme):
    """An explicit port as browsers serialize it: 1-65535, no leading zero,
    never the scheme's default. ``port`` is ASCII (the origin was checked)."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(port), i
    cdef const unsigned char* data = PyUnicode_1BYTE_DATA(port)
    cdef long number = 0
    if n == 0 or n > 5 or data[0] == 0x30:
        return False
    for i in range(n):
        if not 0x30 <= data[i] <= 0x39:
            return False
        number = number * 10 + (data[i] - 0x30)
    if number > 65535:
        return False
    default = DEFAULT_PORTS.get(scheme)
    return default is None or <long>default != number


# -- origin matching ("Origin entries", "The Origin header") ------------------------


cdef bint _origin_allowed(Matcher m, str origin) except -1:
    # The policy's own tables, then its origin set, then regex and predicate
    # ("Origin sets").
    if m.every_origin or PySet_Contains(m.exact, origin) == 1:
        return True
    if m.loose_origins and not _origin_syntax_ok(origin):
        return False  # patterns, sets, regexes and predicates see serialized origins only
    if m.has_patterns and _pattern_allowed(origin, m.any_port, m.subdomains,
                                           m.sub_any_port):
        return True
    if m.origin_set is not None and _in_origin_set(m.origin_set, origin):
        return True
    if m.dynamic is not None:
        return bool(m.dynamic(origin))
    return False


cdef bint _in_origin_set(object origin_set, str origin) except -1:
    """Whether a member of an OriginSet matches (corsfast/_origin_set.py):
    its containers are read once, so a replace is seen whole or not at all;
    then single membership tests, no lock."""
    cdef tuple members = getattr(origin_set, MEMBERS_FIELD)
    if origin in members[0]:
        return True
    any_port, subdomains, sub_any_port = members[1], members[2], members[3]
    if not (any_port or subdomains or sub_any_port):
        return False
    return _pattern_allowed(origin, any_port, subdomains, sub_any_port)


cdef bint _pattern_allowed(str origin, object any_port, object subdomains,
                           object sub_any_port) except -1:
    # The origin passed _origin_syntax_ok, so it is ASCII.
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(origin)
    cdef const unsigned char* data = PyUnicode_1BYTE_DATA(origin)
    cdef Py_ssize_t mark = origin.find("://")
    cdef Py_ssize_t host_start, host_end, i
    cdef unsigned char ch, previous
    cdef bint port_valid = False
    cdef bint some_sub = len(subdomains) > 0, some_sub_any = len(sub_any_port) > 0
    cdef object port = None
    cdef str scheme_part, host
    if mark <= 0:
        return False
    host_start = mark + 3
    if host_start < n and data[host_start] == 0x5b:  # '[': an IPv6 host
        host_end = origin.find("]", host_start)
        if host_end < 0:
            return False
        host_end += 1
        if host_end < n and data[host_end] != 0x3a:
            return False
    else:
        host_end = origin.find(":", host_start)
        if host_end < 0:
            host_end = n
    if host_end == host_start:
        return False
    if host_end < n:
        port = origin[host_end + 1:]
        port_valid = _port_ok(port, origin[:mark])
    scheme_part = origin[:host_start]
    host = origin[host_start:host_end]

    # scheme://host:* (any explicit port)
    if port_valid and len(any_port) > 0 and scheme_part + host in any_port:
        return True

    # scheme://*.base[:port|:*]: one or more [a-z0-9-] labels before base.
    previous = 0x2e
    for i in range(host_start, host_end):
        ch = data[i]
        if ch == 0x2e:  # '.'
            if previous == 0x2e:
                return False  # an empty label
            if some_sub and scheme_part + origin[i + 1:] in subdomains:
                return True
            if port_valid and some_sub_any and (
                    scheme_part + origin[i + 1:host_end] in sub_any_port):
                return True
        elif ch >= 128 or not LABEL_CHAR[ch]:
            return False
        previous = ch
    return False


# -- Access-Control-Request-* ("Preflight") --------------------------------------------


cdef bint _method_allowed(Matcher m, str method) except -1:
    # always_allowed_methods is GET, HEAD and POST unless a drop-in said
    # otherwise (corsfast/_policy.py).
    if (PySet_Contains(m.always_allowed_methods, method) == 1
            or PySet_Contains(m.methods, method) == 1):
        return True
    return m.methods_any and method.upper() not in FORBIDDEN_METHODS


cdef bint _header_allowed(Matcher m, str name) except -1:
    if PySet_Contains(m.headers, name) == 1:
        return True
    if name in FORBIDDEN_HEADERS or name.startswith(FORBIDDEN_PREFIXES):
        return False
    if m.headers_any and name != AUTHORIZATION:
        return True
    return m.header_regex is not None and m.header_regex(name) is not None


cdef str _lower_slice(const unsigned char* data, Py_ssize_t start, Py_ssize_t end):
    """data[start:end] lowercased, as a new ASCII str."""
    cdef bytearray buf = bytearray(end - start)
    cdef unsigned char* out = buf
    cdef Py_ssize_t i
    cdef unsigned char ch
    for i in range(start, end):
        ch = data[i]
        if 0x41 <= ch <= 0x5a:
            ch += 0x20
        out[i - start] = ch
    return PyUnicode_DecodeLatin1(<char*>out, end - start, NULL)


cdef object _request_headers(Matcher m, str value):
    """_parse_request_headers behind the per-matcher verdict cache."""
    cdef dict cache = m.acrh_cache
    if PyUnicode_GET_LENGTH(value) > MAX_ACRH_LENGTH:
        return MALFORMED_REQUEST  # before hashing it for the cache
    hit = cache.get(value)
    if hit is not None:
        return hit
    parsed = _parse_request_headers(m, value)
    if PyUnicode_GET_LENGTH(value) <= ACRH_CACHE_MAX_VALUE:
        if len(cache) >= ACRH_CACHE_SIZE:
            cache.clear()
        cache[value] = parsed
    return parsed


cdef object _parse_request_headers(Matcher m, str value):
    """The names asked for (a tuple), or the Reason to refuse. Names are
    lowercase, or as sent when the policy echoes them as sent (each one a
    validated token either way); under ``allowed_headers_only`` names the
    policy does not allow are left out and the rest sorted."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(value)
    cdef Py_ssize_t i = 0, j, start, end, count = 0
    cdef const unsigned char* data
    cdef list names = []
    cdef list sent = [] if m.echo_as_sent else None
    if n > MAX_ACRH_LENGTH:
        return MALFORMED_REQUEST
    if not PyUnicode_IS_ASCII(value):
        return MALFORMED_REQUEST  # a non-ASCII byte is never OWS, ',' or tchar
    data = PyUnicode_1BYTE_DATA(value)
    while i <= n:
        # one element: from i up to the next ',' (or the end)
        start = i
        while i < n and data[i] != 0x2c:
            i += 1
        end = i
        i += 1
        while start < end and (data[start] == 0x20 or data[start] == 0x09):
            start += 1
        while end > start and (data[end - 1] == 0x20 or data[end - 1] == 0x09):
            end -= 1
        if start == end:
            continue  # empty elements are tolerated
        if count == MAX_ACRH_ELEMENTS:
            return MALFORMED_REQUEST
        for j in range(start, end):
            if not TOKEN_CHAR[data[j]]:
                return MALFORMED_REQUEST
        count += 1
        names.append(_lower_slice(data, start, end))
        if sent is not None:
            sent.append(value[start:end])
    if m.allowed_headers_only:
        kept = [sent[j] for j in range(count) if _header_allowed(m, <str>names[j])]
        kept.sort()
        return tuple(kept)
    for name in names:
        if not _header_allowed(m, <str>name):
            return HEADERS_NOT_ALLOWED
    return tuple(names) if sent is None else tuple(sent)


# -- check_request


def check_request(policy, method, origin, request_method=None,
                  request_headers=None, request_private_network=None):
    """Decide one request against ``policy`` (docs/spec.md "Public API",
    "Request rules"). Never raises on request data."""
    return check(matcher_of(policy), method, origin, request_method,
                 request_headers, request_private_network)


def is_options(method):
    """Whether a request method (str, or bytes as ASGI gives it) is OPTIONS."""
    return options_method(method)


cdef bint options_method(object method) except -1:
    if type(method) is str:
        return _str_is(method, OPTIONS)
    if type(method) is bytes:
        return <bytes>method == OPTIONS_B
    return _text(method) == OPTIONS


cdef Decision check(Matcher m, object method, object origin, object request_method,
                    object request_headers, object request_private_network):
    cdef bint preflight, cached_ok
    cdef str text
    if origin is None:
        return m.not_cors  # no Origin: not a CORS request
    # A preflight is OPTIONS + Origin + Access-Control-Request-Method
    # [https://fetch.spec.whatwg.org/#cors-preflight-request].
    preflight = request_method is not None and options_method(method)
    # Whether a cached actual-request decision answers this request.
    cached_ok = not preflight and not m.any_origin and not (
        m.pna_answer and request_private_network is not None)
    if cached_ok and m.small_exact is not None:
        found = _small_exact(m, origin)
        if found is not None:
            return <Decision>found
    if type(origin) is str:
        text = <str>origin
    elif type(origin) is bytes and cached_ok and PyBytes_GET_SIZE(origin) <= MAX_ORIGIN_LENGTH:
        # ASGI hands over bytes: an allowed exact origin is cached under its
        # bytes too, so a repeat needs no decoding.
        cached = m.actual_cache.get(origin)
        if cached is not None:
            return <Decision>cached
        text = PyUnicode_DecodeLatin1(<bytes>origin, PyBytes_GET_SIZE(origin), NULL)
        cached = m.actual_cache.get(text)
        if cached is None and _origin_syntax_ok(text):
            cached = _actual(m, text)
        if cached is not None and cached is m.refused_actual and not m.origins_change:
            # A refusal seen under its text is kept under its bytes too
            # (it counts against the same bound), so a repeat needs no decoding.
            m.actual_cache[origin] = cached
            m.refused_stored += 1
            return <Decision>cached
        if cached is not None:
            return <Decision>cached
    elif isinstance(origin, (bytes, bytearray)) and len(origin) > MAX_ORIGIN_LENGTH:
        # "The Origin header": too long, refused before any decoding
        return m.pf_malformed if preflight else m.malformed_actual
    else:
        value = _text(origin)
        if value is None:
            return m.pf_malformed if preflight else m.malformed_actual
        text = <str>value
    if cached_ok:
        # An origin seen before. Entries are canonical origins, so a hit has
        # already passed the syntax check.
        cached = m.actual_cache.get(text)
        if cached is not None:
            return <Decision>cached
        # Taken in before by a pattern, set, regex, predicate or resolver:
        # well-formed, but asked again, as it may be refused now.
        cached = m.allowed_cache.get(text)
        if cached is not None and _origin_allowed(m, text):
            return <Decision>cached
    if not _origin_syntax_ok(text) and not (m.loose_origins and _loose_syntax_ok(text)):
        # "The Origin header": not a serialized origin (nor, under a dialect
        # with loose origin syntax, a printable value)
        return m.pf_malformed if preflight else m.malformed_actual
    if preflight:
        return _preflight(m, text, request_method, request_headers,
                          request_private_network)
    if m.pna_answer and request_private_network is not None:
        return _with_private_network(m, _actual(m, text), request_private_network)
    return _actual(m, text)


cdef Decision _with_private_network(Matcher m, Decision decision, object asked):
    """An allowed actual request that asked for private network access,
    under a dialect that answers it on every request."""
    if not decision.allowed or _text(asked) != TRUE:
        return decision
    return _decision(True, False, ALLOWED, None, decision.headers + (
        (ACAPN, TRUE if m.private_network else FALSE),))


cdef object _small_exact(Matcher m, object origin):
    """An actual request's decision from the few exact origins of the
    policy, or None when they do not settle it."""
    cdef Py_ssize_t i, n
    cdef tuple names
    if type(origin) is bytes:
        names = m.small_exact_raw
        n = PyBytes_GET_SIZE(<bytes>origin)
        for i in range(len(names)):
            if PyBytes_GET_SIZE(<bytes>names[i]) == n and memcmp(
                    PyBytes_AS_STRING(<bytes>names[i]), PyBytes_AS_STRING(<bytes>origin),
                    n) == 0:
                return m.small_actual[i]
        if m.exact_only:
            return m.refused_actual if _serialized(
                <const unsigned char*>PyBytes_AS_STRING(<bytes>origin), n) \
                else m.malformed_actual
        return None
    if type(origin) is str:
        names = m.small_exact
        for i in range(len(names)):
            if _str_is(origin, <str>names[i]):
                return m.small_actual[i]
        if m.exact_only:
            return m.refused_actual if _origin_syntax_ok(<str>origin) \
                else m.malformed_actual
    return None


cdef Decision _actual(Matcher m, str origin):
    """"Actual requests": an actual request with a well-formed Origin."""
    cdef Decision decision
    if m.any_origin:
        return m.star_actual
    if not _origin_allowed(m, origin):
        if m.origins_change:
            return m.refused_actual  # never cached: a set or resolver may take it in
        if m.refused_stored >= SEEN_REFUSED_SIZE:
            m.actual_cache.clear()
            m.refused_stored = 0
        m.actual_cache[origin] = m.refused_actual
        m.refused_stored += 1
        return m.refused_actual
    if PySet_Contains(m.exact, origin) == 1:
        decision = _decision(True, False, ALLOWED, None,
                             _prepend((ACAO, origin), m.actual_tail))
        m.actual_cache[origin] = decision
        m.actual_cache[PyUnicode_AsLatin1String(origin)] = decision
        return decision
    found = m.allowed_cache.get(origin)
    if found is not None:
        return <Decision>found
    decision = _decision(True, False, ALLOWED, None,
                         _prepend((ACAO, origin), m.actual_tail))
    if len(m.allowed_cache) >= SEEN_ALLOWED_SIZE:
        m.allowed_cache.clear()
    m.allowed_cache[origin] = decision
    return decision


cdef inline bint _same(object cached, object given):
    """A request value equal to the one cached: both None, or the same type
    (str or bytes) and equal."""
    if cached is given:
        return True
    if cached is None or given is None or type(cached) is not type(given):
        return False
    return cached == given


cdef Decision _preflight(Matcher m, str origin, object request_method,
                         object request_headers, object request_private_network):
    """"Preflight": answer one. Checks run in a fixed order (origin, method,
    headers, private network); the first failure is the reason, and only a
    dialect that asks for every reason runs the rest (_all_reasons)."""
    cdef bint pna
    cdef tuple names = None
    cdef tuple extra = ()
    cdef str method
    cdef Decision decision
    entry = m.preflight_cache.get(origin)
    if entry is not None:
        if (_same((<tuple>entry)[0], request_method)
                and _same((<tuple>entry)[1], request_headers)
                and _same((<tuple>entry)[2], request_private_network)):
            return <Decision>(<tuple>entry)[3]
    if m.every_reason:
        reasons = _all_reasons(m, origin, request_method, request_headers,
                               request_private_network)
        if reasons:
            return _refusal(m, reasons)
    if not m.any_origin and not _origin_allowed(m, origin):
        return m.pf_origin

    value = _method_text(request_method)
    if value is None:
        return m.pf_malformed
    method = <str>value
    if not _method_allowed(m, method):
        return m.pf_method

    if request_headers is not None:
        parsed = _headers_asked(m, request_headers)
        if parsed is MALFORMED_REQUEST:
            return m.pf_malformed
        if parsed is HEADERS_NOT_ALLOWED:
            return m.pf_headers
        names = <tuple>parsed

    pna = _text(request_private_network) == TRUE
    if pna and not m.private_network:
        if not m.pna_answer:
            return m.pf_pna
        extra += ((ACAPN, FALSE),)  # a dialect that answers instead of refusing
        pna = False

    if m.echo_method:
        extra += ((ACAM, method),)
    if names and m.echo_headers:
        extra += ((ACAH, COMMA_SP.join(names)),)
    tail = m.preflight_tails[2 * (1 if names else 0) + (1 if pna else 0)]
    if extra:
        tail = extra + tail
    decision = _decision(True, True, ALLOWED, m.preflight_status,
                         _prepend(m.acao_star if m.any_origin
                                  else (ACAO, origin), <tuple>tail))
    if PySet_Contains(m.exact, origin) == 1 and _cacheable(request_method) \
            and _cacheable(request_headers) and _cacheable(request_private_network):
        m.preflight_cache[origin] = (request_method, request_headers,
                                     request_private_network, decision)
    return decision


cdef object _method_text(object request_method):
    """Access-Control-Request-Method as a str token, or None when malformed."""
    if isinstance(request_method, (bytes, bytearray)) and \
            len(request_method) > MAX_ACRM_LENGTH:
        return None  # before any decoding
    value = _text(request_method)
    if (value is None or PyUnicode_GET_LENGTH(value) > MAX_ACRM_LENGTH
            or not _is_token(<str>value)):
        return None
    return value


cdef object _headers_asked(Matcher m, object request_headers):
    """Access-Control-Request-Headers parsed: a tuple of names, or a Reason."""
    if isinstance(request_headers, (bytes, bytearray)) and \
            len(request_headers) > MAX_ACRH_LENGTH:
        return MALFORMED_REQUEST  # before any decoding
    value = _text(request_headers)
    if value is None:
        return MALFORMED_REQUEST
    return _request_headers(m, <str>value)


cdef tuple _all_reasons(Matcher m, str origin, object request_method,
                        object request_headers, object request_private_network):
    """Every check a preflight fails, in order, without repeats (empty when
    it passes them all)."""
    cdef list failed = []
    if not m.any_origin and not _origin_allowed(m, origin):
        failed.append(ORIGIN_NOT_ALLOWED)
    value = _method_text(request_method)
    if value is None:
        failed.append(MALFORMED_REQUEST)
    elif not _method_allowed(m, <str>value):
        failed.append(METHOD_NOT_ALLOWED)
    if request_headers is not None:
        parsed = _headers_asked(m, request_headers)
        if parsed is MALFORMED_REQUEST or parsed is HEADERS_NOT_ALLOWED:
            if parsed not in failed:
                failed.append(parsed)
    if _text(request_private_network) == TRUE and not m.private_network \
            and not m.pna_answer:
        failed.append(PRIVATE_NETWORK_NOT_ALLOWED)
    return tuple(failed)


cdef inline bint _cacheable(object value):
    """Request values the preflight cache keys on: None, or exact str or
    bytes of bounded size (equality must be cheap and well defined)."""
    if value is None:
        return True
    if type(value) is str:
        return PyUnicode_GET_LENGTH(value) <= ACRH_CACHE_MAX_VALUE
    if type(value) is bytes:
        return PyBytes_GET_SIZE(value) <= ACRH_CACHE_MAX_VALUE
    return False


cdef tuple _prepend(object first, tuple tail):
    """(first,) + tail with one allocation."""
    cdef Py_ssize_t n = len(tail), i
    cdef tuple out = PyTuple_New(n + 1)
    Py_INCREF(first)
    PyTuple_SET_ITEM(out, 0, first)
    for i in range(n):
        item = tail[i]
        Py_INCREF(item)
        PyTuple_SET_ITEM(out, i + 1, item)
    return out
