# cython: language_level=3
"""The middleware's per-request pieces, compiled: the same names and
behaviour as corsfast/_adapters_py.py (read that first). A differential
test and the fuzz target feed both the same odd inputs.

Why these pieces are compiled: they loop over every header of every
request and response, where a Python loop costs a few hundred nanoseconds
a header. The ASGI middleware's ``__call__`` stays a plain coroutine
function in corsfast/asgi.py. The WSGI one, ``WsgiCore.__call__``, is
compiled: in Python it cost about 3,400 instructions more per request
(6,050 against wsgicors' 10,669 under callgrind, a 1.8x margin where the
compiled one keeps more than 3x).

Safety: every object read from a server or an application is held by a
strong reference while it is used; lists are read by index with their
length checked again at every step (so a list changed while it is read
cannot be read past its end); only exact tuples and exact bytes or str are
read without calling their methods, and everything else goes through the
same Python protocol the twin uses, in the same order. Nothing handed over
is changed: a start message is copied, a header list only read.

(About 680 lines: the ASGI and WSGI pieces share the header code and the
per-request configuration (Live, Tally), and each section has its twin,
in the same order, in _adapters_py.py.)
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_Copy
from cpython.list cimport PyList_GetSlice
from cpython.tuple cimport PyTuple_GET_SIZE
from libc.string cimport memcmp

from corsfast._engine_c cimport Decision, Matcher, check, matcher_of, options_method

from corsfast._headers import TOUCHED as _TOUCHED_PY
from corsfast._reason import Reason as _ReasonForFlags
from corsfast._headers import merge_raw as _merge_raw
from corsfast._headers import merge_text as _merge_text

cdef extern from "Python.h":
    Py_ssize_t PyUnicode_GET_LENGTH(object o)
    Py_ssize_t PY_SSIZE_T_MAX

__all__ = ["ANSWER", "PROCEED", "REFUSE", "REPORT", "WATCH_REFUSALS", "WATCH_RESOLVER",
           "AsgiCore", "GuardedBody", "Live", "SendHook",
           "StartResponseHook", "Tally", "WsgiCore", "answer", "answer_with_body",
           "apply_raw", "apply_text", "asgi_decide", "asgi_prepare",
           "asgi_request_values", "wsgi_decide"]

# What the ASGI middleware does with a request (SendHook.action).
PROCEED = 0   # run the application, its response carrying the decision's headers
ANSWER = 1    # answer the preflight here
REFUSE = 2    # block_refused: answer 403 here
REPORT = 4    # a flag on the action: a shadow, a refusal to report, an origin to resolve
cdef int C_PROCEED = PROCEED, C_ANSWER = ANSWER, C_REFUSE = REFUSE, C_REPORT = REPORT

# What asgi_prepare is asked to flag (its ``watch`` argument).
WATCH_REFUSALS = 1  # refusals are reported
WATCH_RESOLVER = 2  # an origin the policy refuses goes to a resolver (not counted yet)
cdef int C_WATCH_REFUSALS = WATCH_REFUSALS, C_WATCH_RESOLVER = WATCH_RESOLVER
cdef object ORIGIN_NOT_ALLOWED = _ReasonForFlags.ORIGIN_NOT_ALLOWED

cdef frozenset TOUCHED_TEXT = frozenset(_TOUCHED_PY)
cdef frozenset TOUCHED_RAW = frozenset([name.encode("ascii") for name in _TOUCHED_PY])
cdef bint TOUCHED_LENGTH[64]   # lengths of vary and the CORS response names
cdef str START = "http.response.start"
cdef str TYPE = "type"
cdef str HEADERS = "headers"
cdef str METHOD = "method"
cdef str GET = "GET"
cdef tuple EMPTY = ()
cdef bytes COMMA_SP_B = b", "
cdef bytes B_ORIGIN = b"origin"
cdef bytes B_ACRM = b"access-control-request-method"
cdef bytes B_ACRH = b"access-control-request-headers"
cdef bytes B_ACRPN = b"access-control-request-private-network"
cdef str H_ORIGIN = "HTTP_ORIGIN"
cdef str H_METHOD = "REQUEST_METHOD"
cdef str H_ACRM = "HTTP_ACCESS_CONTROL_REQUEST_METHOD"
cdef str H_ACRH = "HTTP_ACCESS_CONTROL_REQUEST_HEADERS"
cdef str H_ACRPN = "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK"


cdef void _init_lengths():
    cdef int i
    for i in range(64):
        TOUCHED_LENGTH[i] = False
    for name in TOUCHED_TEXT:
        TOUCHED_LENGTH[len(name)] = True


_init_lengths()


# -- request side -------------------------------------------------------------------


cdef enum:
    OTHER = 0
    ORIGIN = 1
    ACRM = 2
    ACRH = 3
    ACRPN = 4


cdef inline bint _bytes_is(bytes name, bytes literal):
    return (PyBytes_GET_SIZE(name) == PyBytes_GET_SIZE(literal)
            and memcmp(PyBytes_AS_STRING(name), PyBytes_AS_STRING(literal),
                       PyBytes_GET_SIZE(literal)) == 0)


cdef inline bint _is(object name, bytes literal):
    """``name == literal``, False when comparing fails (the twin's _is)."""
    if type(name) is bytes:
        return _bytes_is(<bytes>name, literal)
    try:
        return bool(name == literal)
    except Exception:
        return False


cdef inline int _which(object name, bint options):
    """Which CORS request header ``name`` is, comparing in the twin's order:
    origin, then (for OPTIONS only) the method and headers ones, then the
    private network one."""
    cdef Py_ssize_t size
    if type(name) is bytes:
        # No code of the name's runs: its length rules out most names.
        size = PyBytes_GET_SIZE(<bytes>name)
        if size == 6:
            return ORIGIN if _bytes_is(<bytes>name, B_ORIGIN) else OTHER
        if size == 38:
            return ACRPN if _bytes_is(<bytes>name, B_ACRPN) else OTHER
        if not options or (size != 29 and size != 30):
            return OTHER
    if _is(name, B_ORIGIN):
        return ORIGIN
    if options and _is(name, B_ACRM):
        return ACRM
    if options and _is(name, B_ACRH):
        return ACRH
    if _is(name, B_ACRPN):
        return ACRPN
    return OTHER


cdef object _join(object first, object second):
    try:
        return first + COMMA_SP_B + second
    except Exception:
        return first


cdef object _request_values(object headers, bint options, Matcher m, object method):
    """One scan of ASGI's header pairs for the CORS request headers; with
    a matcher ``m``, the engine's decision on them for ``method``, else
    the four values as asgi_request_values gives them."""
    cdef object origin = None, acrm = None, acrh = None, acrpn = None
    cdef int which
    if type(headers) is not list and type(headers) is not tuple:
        headers = list(headers)  # any iterable, read once
    for item in headers:
        if type(item) is tuple and PyTuple_GET_SIZE(item) == 2:
            # A pair that is a tuple: its value is read only for a CORS name.
            which = _which((<tuple>item)[0], options)
            if which == OTHER:
                continue
            value = (<tuple>item)[1]
        else:
            try:
                name, value = item
            except Exception:
                continue
            which = _which(name, options)
            if which == OTHER:
                continue
        if which == ORIGIN:
            origin = value if origin is None else b""  # repeated: malformed
        elif which == ACRM:
            acrm = value if acrm is None else b""  # repeated: malformed
        elif which == ACRH:
            acrh = value if acrh is None else _join(acrh, value)
        else:
            acrpn = value if acrpn is None else _join(acrpn, value)
    if m is None:
        return (origin, acrm, acrh, acrpn)
    return check(m, method, origin, acrm, acrh, acrpn)


def asgi_request_values(headers, options):
    """Origin and Access-Control-Request-{Method,Headers,Private-Network}
    from ASGI's raw header pairs (None when absent)."""
    return _request_values(headers, bool(options), None, None)


def asgi_decide(policy, scope):
    """The engine's decision for an ASGI HTTP request (raw byte headers)."""
    return _asgi_decide(policy, scope)


cdef Decision _asgi_decide(object policy, object scope):
    cdef Matcher m = matcher_of(policy)
    if type(scope) is dict:
        method = (<dict>scope).get(METHOD)
        headers = (<dict>scope).get(HEADERS, EMPTY)
    else:
        method = scope.get(METHOD)
        headers = scope.get(HEADERS, EMPTY)
    return <Decision>_request_values(headers, options_method(method), m, method)


def wsgi_decide(policy, environ):
    """The engine's decision for a WSGI request."""
    return _wsgi_decide(policy, environ)


cdef Decision _wsgi_decide(object policy, object environ):
    cdef Matcher m = matcher_of(policy)
    cdef dict env
    if type(environ) is dict:  # what servers hand over: read without method calls
        env = <dict>environ
        origin = env.get(H_ORIGIN)
        method = env.get(H_METHOD, GET)
        if origin is not None and options_method(method):
            return check(m, method, origin, env.get(H_ACRM), env.get(H_ACRH),
                         env.get(H_ACRPN))
        # Only a dialect that answers private network requests on any
        # request reads that header here (the twin reads it always; the
        # engine ignores it otherwise).
        return check(m, method, origin, None, None,
                     env.get(H_ACRPN) if m.pna_answer else None)
    get = environ.get
    origin = get(H_ORIGIN)
    method = get(H_METHOD, GET)
    if origin is not None and options_method(method):
        return check(m, method, origin, get(H_ACRM), get(H_ACRH), get(H_ACRPN))
    return check(m, method, origin, None, None, get(H_ACRPN))


# -- response side ------------------------------------------------------------------


cdef inline bint _touched_raw(object name) except -1:
    """The twin's touched_raw(raw_key(name))."""
    cdef Py_ssize_t size
    if isinstance(name, bytes):
        size = PyBytes_GET_SIZE(name)
        return size < 64 and TOUCHED_LENGTH[size] and bytes.lower(name) in TOUCHED_RAW
    if isinstance(name, bytearray):
        return bytes(bytearray.lower(name)) in TOUCHED_RAW
    return False


cdef inline bint _touched_text(object name) except -1:
    """The twin's touched_text(text_key(name))."""
    cdef Py_ssize_t size
    if isinstance(name, str):
        size = PyUnicode_GET_LENGTH(name)
        return size < 64 and TOUCHED_LENGTH[size] and str.lower(name) in TOUCHED_TEXT
    return False


cdef object NOT_A_PAIR = object()  # what _first gives for an item that is no pair


cdef object _first(object item):
    """The name of a header pair; NOT_A_PAIR when it is not a pair."""
    if type(item) is tuple and PyTuple_GET_SIZE(item) == 2:
        return (<tuple>item)[0]
    try:
        name, _ = item
    except Exception:
        return NOT_A_PAIR
    return name


cdef list _apply(object app_headers, object ours, bint raw):
    if type(app_headers) is not list and type(app_headers) is not tuple:
        app_headers = list(app_headers)  # any iterable, read once
    for item in app_headers:
        name = _first(item)
        if name is NOT_A_PAIR:
            continue
        if _touched_raw(name) if raw else _touched_text(name):
            return (_merge_raw if raw else _merge_text)(app_headers, ours)
    return _concat(app_headers, ours)


cdef list _concat(object first, object second):
    """list(first) + list(second); ``first`` is a list or a tuple. The copy
    is CPython's own (a slice of a list, safe however the list is shared)."""
    cdef list out
    if type(first) is list:
        out = PyList_GetSlice(first, 0, PY_SSIZE_T_MAX)
    else:
        out = list(first)
    out.extend(second)
    return out


def apply_raw(app_headers, ours):
    """ASGI: a new list, the application's headers with ours written over
    them (its CORS headers replaced, ``vary`` merged)."""
    return _apply(app_headers, ours, True)


def apply_text(app_headers, ours):
    """WSGI: as apply_raw, for str headers."""
    return _apply(app_headers, ours, False)


cdef class SendHook:
    """Wraps ASGI ``send``: the message that starts the response goes out
    as a copy carrying ``ours``; every other message is passed on as it is.
    ``decision`` and ``action`` are set by asgi_prepare."""

    cdef readonly object send
    cdef readonly object ours
    cdef readonly bint started
    cdef readonly object decision
    cdef readonly int action
    cdef readonly object live

    def __init__(self, send, ours):
        self.send = send
        self.ours = ours
        self.started = False
        self.decision = None
        self.action = C_PROCEED
        self.live = None

    def __call__(self, message):
        return self._deliver(message)

    def deliver(self, message):
        """What the application is handed as ``send``: the same as calling
        the hook, as a bound method, which the interpreter calls without
        packing its argument in a tuple."""
        return self._deliver(message)

    cdef object _deliver(self, object message):
        if self.started:
            return self.send(message)  # only the first message starts
        exact = type(message) is dict
        kind = (<dict>message).get(TYPE) if exact else message.get(TYPE)
        if kind is START or kind == START:
            self.started = True
            copy = PyDict_Copy(message) if exact else dict(message)
            copy[HEADERS] = _apply((<dict>message).get(HEADERS, EMPTY) if exact
                                   else message.get(HEADERS, EMPTY), self.ours, True)
            return self.send(copy)
        return self.send(message)


def asgi_prepare(live, scope, send, bint passthrough, bint block, int watch):
    """Decide an ASGI HTTP request under ``live`` (a Live) and wrap ``send``
    for it: the hook, with its ``decision`` and what to do (``action``:
    PROCEED, ANSWER, REFUSE, with the REPORT flag when the middleware has
    more to do: a shadow to evaluate, or, as ``watch`` asks, a refusal to
    report (WATCH_REFUSALS) or an origin to resolve (WATCH_RESOLVER)).
    None when a router has no policy for the path. The decision is
    counted in the route's Tally, except an origin left to the resolver:
    the middleware counts what it decides."""
    return _prepare(<Live?>live, scope, send, passthrough, block, watch)


cdef SendHook _prepare(Live lv, object scope, object send, bint passthrough, bint block,
                       int watch):
    cdef Tally tally = lv.tally
    cdef Decision decision
    cdef SendHook hook
    policy = lv.matcher
    if policy is None:
        # Route on the path exactly as the server gives it.
        policy = lv.router.lookup(scope["path"])
        if policy is None:
            return None
        routes = lv.routes
        if routes:
            tally = routes.get(policy._matcher, tally)
    decision = _asgi_decide(policy, scope)
    cdef bint resolving = (watch & C_WATCH_RESOLVER) and decision.reason is ORIGIN_NOT_ALLOWED
    if not resolving:
        tally._add(decision)
    hook = SendHook.__new__(SendHook)
    hook.send = send
    hook.ours = decision.raw_headers
    hook.decision = decision
    hook.live = lv
    if decision.preflight:
        hook.action = C_PROCEED if passthrough else C_ANSWER
    elif block and not decision.allowed:
        hook.action = C_REFUSE
    else:
        hook.action = C_PROCEED
    if resolving or lv.shadow is not None or (
            (watch & C_WATCH_REFUSALS) and not decision.allowed):
        hook.action |= C_REPORT
    return hook


# -- what a middleware reads per request ------------------------------------------------


cdef extern from *:
    """
    /* A counter bump that is a plain load and store, made with relaxed
       atomics so that threads racing on it (a free-threaded build) are not
       undefined behaviour: an increment can be lost, never torn. */
    static inline void corsfast_bump(Py_ssize_t *counter) {
        __atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + 1,
                         __ATOMIC_RELAXED);
    }
    static inline Py_ssize_t corsfast_read(Py_ssize_t *counter) {
        return __atomic_load_n(counter, __ATOMIC_RELAXED);
    }
    """
    void corsfast_bump(Py_ssize_t *counter) nogil
    Py_ssize_t corsfast_read(Py_ssize_t *counter) nogil


from corsfast._reason import Reason as _Reason

cdef tuple REASONS = tuple(_Reason)
cdef enum:
    N_REASONS = 8   # room for every Reason member (checked at import)
    K_ACTUAL = 0
    K_PREFLIGHT = 1
    K_WEBSOCKET = 2

if len(REASONS) > N_REASONS:
    raise ImportError("corsfast._adapters_c: more Reason members than counters")


cdef inline Py_ssize_t _reason_index(object reason):
    """The position of ``reason`` in Reason, or -1 for anything else."""
    cdef Py_ssize_t i
    for i in range(PyTuple_GET_SIZE(REASONS)):
        if (<tuple>REASONS)[i] is reason:
            return i
    return -1


cdef class Tally:
    """Decisions of one route counted by kind and Reason (see the twin).
    Compiled, the counts are a small array of machine words, one per kind
    and Reason, read out as the twin's dicts."""

    cdef Py_ssize_t counts[3][N_REASONS]
    cdef dict _odd  # (kind, reason) -> count, for a reason that is no Reason member

    def __cinit__(self):
        cdef int k, i
        for k in range(3):
            for i in range(N_REASONS):
                self.counts[k][i] = 0
        self._odd = {}

    cdef inline void _bump(self, int kind, object reason) except *:
        cdef Py_ssize_t i = _reason_index(reason)
        if i >= 0:
            corsfast_bump(&self.counts[kind][i])
        else:  # only a hand-made decision: the engine gives Reason members
            key = (kind, reason)
            self._odd[key] = self._odd.get(key, 0) + 1

    cdef void _add(self, Decision decision) except *:
        self._bump(K_PREFLIGHT if decision.preflight else K_ACTUAL, decision.reason)

    def add(self, decision):
        """Count an HTTP request's decision (a preflight, or an actual request)."""
        self._bump(K_PREFLIGHT if decision.preflight else K_ACTUAL, decision.reason)

    def add_websocket(self, decision):
        """Count a websocket handshake's decision."""
        self._bump(K_WEBSOCKET, decision.reason)

    cdef dict _counts(self, int kind):
        cdef dict out = {}
        cdef Py_ssize_t i, n
        for i in range(PyTuple_GET_SIZE(REASONS)):
            n = corsfast_read(&self.counts[kind][i])
            if n:
                out[(<tuple>REASONS)[i]] = n
        for key, n in self._odd.copy().items():
            if key[0] == kind:
                out[key[1]] = n
        return out

    @property
    def actual(self):
        """Reason -> count of actual requests (a new dict)."""
        return self._counts(K_ACTUAL)

    @property
    def preflight(self):
        """Reason -> count of preflights (a new dict)."""
        return self._counts(K_PREFLIGHT)

    @property
    def websocket(self):
        """Reason -> count of websocket handshakes (a new dict)."""
        return self._counts(K_WEBSOCKET)


cdef class Live:
    """What a middleware reads once per request, as one immutable value
    (see the twin)."""

    cdef readonly object policy, matcher, router
    cdef readonly Tally tally
    cdef readonly object routes, shadow

    def __init__(self, policy, matcher, router, Tally tally not None, routes, shadow):
        self.policy = policy
        self.matcher = matcher
        self.router = router
        self.tally = tally
        self.routes = routes
        self.shadow = shadow


cdef str HTTP = "http"


cdef class AsgiCore:
    """What corsfast.asgi.CORSMiddleware reads per request (see the twin)."""

    cdef readonly Live _live  # read by the middleware's policy and stats
    cdef bint _passthrough, _block
    cdef int _watch

    def __init__(self, Live live not None, passthrough, block, int watch):
        self._live = live
        self._passthrough = bool(passthrough)
        self._block = bool(block)
        self._watch = watch

    def configure(self, live):
        """Serve every later request with ``live``: one reference swap."""
        if not isinstance(live, Live):
            raise TypeError(f"configure: expected a Live, got {type(live).__name__}")
        self._live = live

    def _prepare(self, scope, send):
        """asgi_prepare under the live configuration, read once, for an HTTP
        scope; None for any other scope, or a path no route covers."""
        kind = (<dict>scope)[TYPE] if type(scope) is dict else scope[TYPE]
        if not (kind is HTTP or kind == HTTP):
            return None
        return _prepare(self._live, scope, send, self._passthrough, self._block, self._watch)

    def _prepare_resolved(self, live, scope, send):
        """asgi_prepare again under ``live`` once the resolver has answered
        (no origin is left to it this time)."""
        return _prepare(<Live?>live, scope, send, self._passthrough, self._block,
                        self._watch & ~C_WATCH_RESOLVER)


cdef class StartResponseHook:
    """Wraps WSGI ``start_response``: the response's headers are sent as a
    new list carrying ``ours``."""

    cdef readonly object start_response
    cdef readonly object ours

    def __init__(self, start_response, ours):
        self.start_response = start_response
        self.ours = ours

    def __call__(self, status, headers, exc_info=None):
        if exc_info is None:
            return self.start_response(status, _apply(headers, self.ours, False))
        return self.start_response(status, _apply(headers, self.ours, False), exc_info)


# -- the WSGI middleware's request path -----------------------------------------------


cdef dict STATUS_LINES = {200: "200 OK", 204: "204 No Content", 403: "403 Forbidden"}
cdef tuple EMPTY_LENGTH = ("content-length", "0")
cdef str PATH_INFO = "PATH_INFO"
cdef str EMPTY_STR = ""
cdef str FILE_WRAPPER = "wsgi.file_wrapper"


def answer(start_response, status, headers):
    """Answer a WSGI request here with an empty body (a preflight, or a
    refused request under block_refused): ``status`` and ``headers`` are
    the decision's, plus ``Content-Length: 0`` unless the status is 204."""
    return _answer(start_response, status, headers)


cdef list _answer(object start_response, object status, object headers):
    cdef list out = list(headers)
    if status != 204:  # RFC 9110 section 8.6: no Content-Length on a 204
        out.append(EMPTY_LENGTH)
    start_response(_status_line(status), out)
    return []


cdef str _status_line(object status):
    line = STATUS_LINES.get(status)
    return f"{status} CORS" if line is None else <str>line


def answer_with_body(start_response, status, headers, body):
    """Answer a refused preflight here with a short text body (the
    middleware's ``debug`` mode)."""
    cdef list out = list(headers)
    out.append(("content-type", "text/plain; charset=utf-8"))
    out.append(("content-length", str(len(body))))
    start_response(_status_line(status), out)
    return [body]


cdef object _END = object()  # GuardedBody: what next() gives at the end of the body


cdef class GuardedBody:
    """A lazy body watched until its first chunk (see the twin)."""

    cdef object _result, _iter, _start_response, _ours, _send_error
    cdef bint _started

    def __init__(self, result, start_response, ours, send_error):
        self._result = result
        self._iter = None
        self._start_response = start_response
        self._ours = ours
        self._send_error = send_error
        self._started = False

    def __iter__(self):
        return self

    def __next__(self):
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

    def close(self):
        close = getattr(self._result, "close", None)
        if close is not None:
            close()


cdef class WsgiCore:
    """``__call__`` of corsfast.wsgi.CORSMiddleware (see the twin)."""

    cdef readonly object app
    cdef readonly Live _live  # read by the middleware's policy and stats
    cdef object _refused, _shadowed, _send_error, _resolve
    cdef bint _passthrough, _block

    def __init__(self, app, Live live not None, passthrough, block, refused, shadowed,
                 send_error, resolve=None):
        self.app = app
        self._live = live
        self._resolve = resolve
        self._passthrough = bool(passthrough)
        self._block = bool(block)
        self._refused = refused
        self._shadowed = shadowed
        self._send_error = send_error

    def configure(self, live):
        """Serve every later request with ``live``: one reference swap."""
        if not isinstance(live, Live):
            raise TypeError(f"configure: expected a Live, got {type(live).__name__}")
        self._live = live

    def __call__(self, environ, start_response):
        cdef Decision decision
        cdef StartResponseHook hook
        cdef GuardedBody guard
        cdef Live live = self._live  # read once: this request sees one configuration
        cdef Tally tally = live.tally
        target = live.matcher
        if target is None:
            # Route on PATH_INFO exactly as the server gives it.
            target = policy = live.router.lookup(environ.get(PATH_INFO, EMPTY_STR))
            if policy is None:
                return self.app(environ, start_response)
            routes = live.routes
            if routes:
                tally = routes.get(policy._matcher, tally)
        else:
            policy = live.policy
        decision = _wsgi_decide(target, environ)
        if self._resolve is not None and decision.reason is ORIGIN_NOT_ALLOWED:
            # Refused by the policy: the resolver's verdict (a cache hit
            # already decided above) may take the origin in.
            if self._resolve(environ.get(H_ORIGIN)):
                decision = _wsgi_decide(target, environ)
        tally._add(decision)
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
                    return _answer(start_response, decision.status, ours)
            elif self._block:
                return _answer(start_response, 403, ours)
        elif decision.preflight and not self._passthrough:
            return _answer(start_response, decision.status, ours)
        hook = StartResponseHook.__new__(StartResponseHook)
        hook.start_response = start_response
        hook.ours = ours
        try:
            result = self.app(environ, hook)
        except Exception:
            self._send_error(start_response, ours)
            raise
        kind = type(result)
        if kind is list or kind is tuple:
            return result  # nothing can fail while the server iterates it
        wrapper = environ.get(FILE_WRAPPER)
        if isinstance(wrapper, type) and kind is wrapper:
            return result  # keep the server's sendfile path
        guard = GuardedBody.__new__(GuardedBody)
        guard._result = result
        guard._start_response = start_response
        guard._ours = ours
        guard._send_error = self._send_error
        return guard
