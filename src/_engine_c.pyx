# cython: language_level=3
"""The compiled engine: the same decisions as corsfast/_engine_py.py, cheaply.

Every rule here has its readable twin in _engine_py.py; the two must agree
on every input (tests and the fuzz target check it). Section numbers cite
SPEC.md (and, where named, the WHATWG Fetch Standard).

What keeps the per-request path cheap:
- a Policy's tables and constant headers are built once (corsfast/_policy.py);
- each Core keeps the decisions that never change (refusals, "no Origin")
  and the allowed decision for each exact origin once it has been seen;
- character classes are 128-entry tables, scanned over the str's own
  one-byte buffer: no regex, no per-character Python objects.
"""

from cpython.bytes cimport PyBytes_GET_SIZE
from cpython.dict cimport PyDict_GetItemWithError
from cpython.object cimport PyObject
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

cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object o)
    const unsigned char* PyUnicode_1BYTE_DATA(object o)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)

__all__ = ["ENGINE_NAME", "Core", "Decision", "check_request"]

ENGINE_NAME = "cython"

# -- module constants, cached as C-level references -----------------------------

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
cdef str OPTIONS = "OPTIONS"
cdef bytes OPTIONS_B = b"OPTIONS"
cdef str TRUE = "true"
cdef str AUTHORIZATION = "authorization"
cdef str COMMA_SP = ", "
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
cdef type POLICY_TYPE = None  # corsfast.Policy, registered at its import


def _register_policy_type(cls):
    """corsfast._policy registers Policy so check_request can test a
    policy's type with one pointer comparison."""
    global POLICY_TYPE
    POLICY_TYPE = cls


# Character classes over ASCII (index < 128).
cdef bint ORIGIN_CHAR[128]   # 4.3: printable, no space, no comma
cdef bint TOKEN_CHAR[128]    # RFC 9110 5.6.2 tchar
cdef bint LABEL_CHAR[128]    # 3.4: [a-z0-9-] in subdomain labels


cdef void _init_tables():
    cdef int i
    for i in range(128):
        ORIGIN_CHAR[i] = 0x21 <= i <= 0x7e and i != 0x2c
        TOKEN_CHAR[i] = chr(i) in _TCHARS_PY
        LABEL_CHAR[i] = (0x61 <= i <= 0x7a) or (0x30 <= i <= 0x39) or i == 0x2d


_init_tables()


# -- Decision ---------------------------------------------------------------------


cdef class Decision:
    """What to do with one request. Immutable; may be shared."""

    cdef readonly bint allowed
    cdef readonly bint preflight
    cdef readonly object reason
    cdef readonly object status
    cdef readonly tuple headers
    cdef tuple _raw

    def __init__(self, allowed, preflight, reason, status, headers):
        self.allowed = allowed
        self.preflight = preflight
        self.reason = reason
        self.status = status
        self.headers = tuple(headers)

    @property
    def raw_headers(self):
        """``headers`` encoded for ASGI, built once per Decision."""
        return _raw_headers(self)

    def __eq__(self, other):
        if not hasattr(other, "reason") or not hasattr(other, "headers"):
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
                f"headers={self.headers!r})")

    def __reduce__(self):
        return (Decision, _fields(self))


cdef tuple _raw_headers(Decision d):
    cdef tuple raw = d._raw
    if raw is None:
        raw = tuple([(PyUnicode_AsLatin1String(name), PyUnicode_AsLatin1String(value))
                     for name, value in d.headers])
        d._raw = raw
    return raw


def _fields(d):
    return (d.allowed, d.preflight, d.reason, d.status, d.headers)


cdef inline Decision _decision(bint allowed, bint preflight, object reason,
                               object status, tuple headers):
    cdef Decision d = Decision.__new__(Decision)
    d.allowed = allowed
    d.preflight = preflight
    d.reason = reason
    d.status = status
    d.headers = headers
    return d


# -- Core: a policy's tables plus this engine's precomputed decisions ------------


cdef class Core:
    """A policy's tables as C fields, plus this engine's precomputed
    decisions. corsfast.Policy subclasses Core when this engine is loaded,
    so check_request reaches the tables without an attribute lookup."""

    cdef bint ready
    cdef object t
    cdef bint any_origin, has_patterns, methods_any, headers_any
    cdef bint private_network, echo_method, echo_headers, echo_as_sent
    cdef frozenset exact, any_port, subdomains, sub_any_port, methods, headers
    cdef frozenset always_allowed_methods
    cdef object dynamic
    cdef object preflight_status
    cdef tuple acao_star, actual_tail, preflight_tails
    cdef Decision not_cors, star_actual, refused_actual, malformed_actual
    cdef Decision pf_origin, pf_method, pf_headers, pf_pna, pf_malformed
    cdef dict refused_preflight
    # Actual-request decisions for origins seen before. Allowed decisions
    # for exact origins (bounded by the policy's exact origins), keyed by
    # the origin as str and as bytes (ASGI); and refusals of well-formed
    # origins, at most SEEN_REFUSED_SIZE of them: when that many have been
    # stored the table is cleared (allowed entries are rebuilt on use), so
    # attacker-chosen origins never grow it without bound.
    cdef dict actual_cache, actual_cache_b
    cdef Py_ssize_t refused_stored
    # The last hit in actual_cache_b, as (origin bytes, Decision): a server
    # hands over a new bytes object per request, and most requests come
    # from the origin before them, so comparing bytes beats hashing them.
    # One tuple, replaced whole, so it is never seen half-written.
    cdef tuple last_actual_b
    cdef tuple last_actual_s      # the same for actual_cache (Origin as str); see _cached
    # For each exact origin, its last allowed preflight:
    # (request_method, request_headers, request_private_network, Decision),
    # the request values exactly as given. Browsers repeat the same
    # preflight, so the answer is reused when the values are equal.
    cdef dict preflight_cache
    # Verdicts for Access-Control-Request-Headers values seen before: at
    # most ACRH_CACHE_SIZE entries of at most ACRH_CACHE_MAX_VALUE characters.
    cdef dict acrh_cache

    def _engine_init(self, t):
        """Copy the compiled tables ``t`` in; called once by Policy."""
        self.t = t
        self.any_origin = t.any_origin
        self.has_patterns = t.has_patterns
        self.methods_any = t.methods_any
        self.headers_any = t.headers_any
        self.private_network = t.private_network
        self.echo_method = t.echo_method
        self.echo_headers = t.echo_headers
        self.echo_as_sent = t.echo_as_sent
        self.always_allowed_methods = frozenset(t.always_allowed_methods)
        self.exact = frozenset(t.exact)
        self.any_port = frozenset(t.any_port)
        self.subdomains = frozenset(t.subdomains)
        self.sub_any_port = frozenset(t.sub_any_port)
        self.methods = frozenset(t.methods)
        self.headers = frozenset(t.headers)
        self.dynamic = t.dynamic
        self.preflight_status = t.preflight_status
        self.acao_star = tuple(t.acao_star)
        self.actual_tail = tuple(t.actual_tail)
        self.preflight_tails = tuple(t.preflight_tails)

        self.not_cors = _decision(True, False, NOT_CORS, None, t.not_cors_headers)
        self.star_actual = _decision(True, False, ALLOWED, None,
                                     t.star_actual_headers)
        self.refused_actual = _decision(False, False, ORIGIN_NOT_ALLOWED, None,
                                        t.refused_actual_headers)
        self.malformed_actual = _decision(False, False, MALFORMED_REQUEST, None,
                                          t.refused_actual_headers)
        self.refused_preflight = {
            reason: _decision(False, True, reason, 403, t.refused_preflight_headers)
            for reason in Reason
            if reason is not ALLOWED and reason is not NOT_CORS
        }
        self.pf_origin = self.refused_preflight[ORIGIN_NOT_ALLOWED]
        self.pf_method = self.refused_preflight[METHOD_NOT_ALLOWED]
        self.pf_headers = self.refused_preflight[HEADERS_NOT_ALLOWED]
        self.pf_pna = self.refused_preflight[PRIVATE_NETWORK_NOT_ALLOWED]
        self.pf_malformed = self.refused_preflight[MALFORMED_REQUEST]
        self.actual_cache = {}
        self.actual_cache_b = {}
        self.last_actual_b = (None, None)
        self.last_actual_s = (None, None)
        self.refused_stored = 0
        self.preflight_cache = {}
        self.acrh_cache = {}
        self.ready = True

    def _cache_sizes(self):
        """Entries in each per-policy cache (for tests and monitoring)."""
        return {"actual": len(self.actual_cache) + len(self.actual_cache_b),
                "preflight": len(self.preflight_cache),
                "request_headers": len(self.acrh_cache)}


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
    """4.3: 1-1024 printable ASCII bytes, no space or comma."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(origin), i
    cdef const unsigned char* data
    if n == 0 or n > MAX_ORIGIN_LENGTH or not PyUnicode_IS_ASCII(origin):
        return False
    data = PyUnicode_1BYTE_DATA(origin)
    for i in range(n):
        if not ORIGIN_CHAR[data[i]]:
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


# -- origin matching (SPEC 3.1-3.5, 4.3) ---------------------------------------------


cdef bint _origin_allowed(Core core, str origin) except -1:
    if PySet_Contains(core.exact, origin) == 1:
        return True
    if core.has_patterns and _pattern_allowed(core, origin):
        return True
    if core.dynamic is not None:
        return bool(core.dynamic(origin))
    return False


cdef bint _pattern_allowed(Core core, str origin) except -1:
    # The origin passed _origin_syntax_ok, so it is ASCII.
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(origin)
    cdef const unsigned char* data = PyUnicode_1BYTE_DATA(origin)
    cdef Py_ssize_t mark = origin.find("://")
    cdef Py_ssize_t host_start, host_end, i
    cdef unsigned char ch, previous
    cdef bint port_valid = False
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
    if port_valid and core.any_port and scheme_part + host in core.any_port:
        return True

    # scheme://*.base[:port|:*]: one or more [a-z0-9-] labels before base.
    previous = 0x2e
    for i in range(host_start, host_end):
        ch = data[i]
        if ch == 0x2e:  # '.'
            if previous == 0x2e:
                return False  # an empty label
            if core.subdomains and (
                    scheme_part + origin[i + 1:] in core.subdomains):
                return True
            if port_valid and core.sub_any_port and (
                    scheme_part + origin[i + 1:host_end] in core.sub_any_port):
                return True
        elif ch >= 128 or not LABEL_CHAR[ch]:
            return False
        previous = ch
    return False


# -- Access-Control-Request-* (SPEC 4.4-4.6) --------------------------------------------


cdef bint _method_allowed(Core core, str method) except -1:
    # always_allowed_methods is GET, HEAD and POST unless a drop-in said
    # otherwise (corsfast/_policy.py).
    if (PySet_Contains(core.always_allowed_methods, method) == 1
            or PySet_Contains(core.methods, method) == 1):
        return True
    return core.methods_any and method.upper() not in FORBIDDEN_METHODS


cdef bint _header_allowed(Core core, str name) except -1:
    if PySet_Contains(core.headers, name) == 1:
        return True
    return (core.headers_any and name != AUTHORIZATION
            and name not in FORBIDDEN_HEADERS
            and not name.startswith(FORBIDDEN_PREFIXES))


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


cdef object _request_headers(Core core, str value):
    """_parse_request_headers behind the per-core verdict cache."""
    cdef dict cache = core.acrh_cache
    cdef PyObject* hit = PyDict_GetItemWithError(cache, value)
    if hit is not NULL:
        return <object>hit
    parsed = _parse_request_headers(core, value)
    if PyUnicode_GET_LENGTH(value) <= ACRH_CACHE_MAX_VALUE:
        if len(cache) >= ACRH_CACHE_SIZE:
            cache.clear()
        cache[value] = parsed
    return parsed


cdef object _parse_request_headers(Core core, str value):
    """The names asked for (a tuple), or the Reason to refuse. Names are
    lowercase, or as sent when the policy echoes them as sent (each one a
    validated token either way)."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(value)
    cdef Py_ssize_t i = 0, j, start, end, count = 0
    cdef const unsigned char* data
    cdef list names = []
    cdef list sent = [] if core.echo_as_sent else None
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
    for name in names:
        if not _header_allowed(core, <str>name):
            return HEADERS_NOT_ALLOWED
    return tuple(names) if sent is None else tuple(sent)


# -- check_request ----------------------------------------------------------------


def check_request(policy, method, origin, request_method=None,
                  request_headers=None, request_private_network=None):
    """Decide one request against ``policy`` (SPEC 2 and 4). Never raises on
    request data."""
    return _check(_core(policy), method, origin, request_method,
                  request_headers, request_private_network)


cdef inline Core _core(object policy):
    if type(policy) is POLICY_TYPE or isinstance(policy, Core):
        if (<Core>policy).ready:
            return <Core>policy
    raise TypeError(f"expected a corsfast.Policy, got {type(policy).__name__}")


cdef inline Decision _check(Core core, object method, object origin,
                            object request_method, object request_headers,
                            object request_private_network):
    cdef bint preflight
    cdef PyObject* cached = NULL
    cdef str text
    if origin is None:
        return core.not_cors  # 4.1
    # 4.2: a preflight is OPTIONS + Origin + Access-Control-Request-Method.
    preflight = request_method is not None and _is_options(method)
    if type(origin) is str:
        if not preflight and not core.any_origin:
            # Fast path: an exact origin seen before. Entries are canonical
            # origins, so a hit has already passed the syntax check.
            if PyUnicode_GET_LENGTH(origin) <= MAX_ORIGIN_LENGTH:
                cached = _cached(core, origin, False)
                if cached is not NULL:
                    return <Decision>cached
        text = <str>origin
    else:
        if isinstance(origin, (bytes, bytearray)):
            if len(origin) > MAX_ORIGIN_LENGTH:  # 4.3, before any decoding
                return core.pf_malformed if preflight else core.malformed_actual
            if type(origin) is bytes and not preflight and not core.any_origin:
                cached = _cached(core, origin, True)
                if cached is not NULL:
                    return <Decision>cached
        value = _text(origin)
        if value is None:
            return core.pf_malformed if preflight else core.malformed_actual
        text = <str>value
        if not preflight and not core.any_origin:
            cached = PyDict_GetItemWithError(core.actual_cache, text)
            if cached is not NULL:
                return <Decision>cached
    if not _origin_syntax_ok(text):  # 4.3
        return core.pf_malformed if preflight else core.malformed_actual
    if preflight:
        return _preflight(core, text, request_method, request_headers,
                          request_private_network)
    return _actual(core, text)


cdef inline bint _same_bytes(object known, bytes value):
    return known is value or (
        type(known) is bytes
        and PyBytes_GET_SIZE(known) == PyBytes_GET_SIZE(value)
        and memcmp(PyBytes_AS_STRING(known), PyBytes_AS_STRING(value),
                   PyBytes_GET_SIZE(value)) == 0)


cdef PyObject* _cached(Core core, object origin, bint raw) except? NULL:
    """A cached actual-request decision (borrowed) for an Origin given as
    bytes (``raw``) or str, or NULL; the last hit of that kind first."""
    cdef tuple last = core.last_actual_b if raw else core.last_actual_s
    cdef PyObject* cached
    known = <object>PyTuple_GET_ITEM(last, 0)
    if known is not None and (_same_bytes(known, <bytes>origin) if raw
                              else _str_is(origin, <str>known)):
        return PyTuple_GET_ITEM(last, 1)
    cached = PyDict_GetItemWithError(
        core.actual_cache_b if raw else core.actual_cache, origin)
    if cached is not NULL:
        if raw:
            core.last_actual_b = (origin, <object>cached)
        else:
            core.last_actual_s = (origin, <object>cached)
    return cached


cdef Decision _actual(Core core, str origin):
    """4.9: an actual request with a well-formed Origin."""
    cdef Decision decision
    if core.any_origin:
        return core.star_actual
    if not _origin_allowed(core, origin):
        if core.refused_stored >= SEEN_REFUSED_SIZE:
            core.actual_cache.clear()
            core.actual_cache_b.clear()
            core.refused_stored = 0
        core.actual_cache[origin] = core.refused_actual
        core.refused_stored += 1
        return core.refused_actual
    decision = _decision(True, False, ALLOWED, None,
                         _prepend((ACAO, origin), core.actual_tail))
    if PySet_Contains(core.exact, origin) == 1:
        core.actual_cache[origin] = decision
        core.actual_cache_b[PyUnicode_AsLatin1String(origin)] = decision
    return decision


cdef inline bint _same(object cached, object given):
    """A request value equal to the one cached: both None, or the same type
    (str or bytes) and equal."""
    if cached is given:
        return True
    if cached is None or given is None or type(cached) is not type(given):
        return False
    return cached == given


cdef Decision _preflight(Core core, str origin, object request_method,
                         object request_headers, object request_private_network):
    """4.4-4.8: answer a preflight."""
    cdef bint pna
    cdef tuple names = None
    cdef tuple extra = ()
    cdef str method
    cdef Decision decision
    cdef PyObject* hit = PyDict_GetItemWithError(core.preflight_cache, origin)
    if hit is not NULL:
        entry = <tuple>hit
        if (_same(entry[0], request_method) and _same(entry[1], request_headers)
                and _same(entry[2], request_private_network)):
            return <Decision>entry[3]
    if not core.any_origin and not _origin_allowed(core, origin):
        return core.pf_origin

    if isinstance(request_method, (bytes, bytearray)) and \
            len(request_method) > MAX_ACRM_LENGTH:
        return core.pf_malformed  # 4.4, before any decoding
    value = _text(request_method)
    if (value is None or PyUnicode_GET_LENGTH(value) > MAX_ACRM_LENGTH
            or not _is_token(<str>value)):
        return core.pf_malformed
    method = <str>value
    if not _method_allowed(core, method):
        return core.pf_method

    if request_headers is not None:
        if isinstance(request_headers, (bytes, bytearray)) and \
                len(request_headers) > MAX_ACRH_LENGTH:
            return core.pf_malformed  # 4.5, before any decoding
        value = _text(request_headers)
        if value is None:
            return core.pf_malformed
        parsed = _request_headers(core, <str>value)
        if parsed is MALFORMED_REQUEST:
            return core.pf_malformed
        if parsed is HEADERS_NOT_ALLOWED:
            return core.pf_headers
        names = <tuple>parsed

    pna = _text(request_private_network) == TRUE
    if pna and not core.private_network:
        return core.pf_pna

    if core.echo_method:
        extra += ((ACAM, method),)
    if names and core.echo_headers:
        extra += ((ACAH, COMMA_SP.join(names)),)
    tail = core.preflight_tails[2 * (1 if names else 0) + (1 if pna else 0)]
    if extra:
        tail = extra + tail
    decision = _decision(True, True, ALLOWED, core.preflight_status,
                         _prepend(core.acao_star if core.any_origin
                                  else (ACAO, origin), <tuple>tail))
    if PySet_Contains(core.exact, origin) == 1 and _cacheable(request_method) \
            and _cacheable(request_headers) and _cacheable(request_private_network):
        core.preflight_cache[origin] = (request_method, request_headers,
                                        request_private_network, decision)
    return decision


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


def _noop_check(policy, method, origin, request_method=None,
                request_headers=None, request_private_network=None):
    """Does nothing, with check_request's signature: the benchmark floor."""
    return None


include "_adapters.pxi"
include "_contrib.pxi"
