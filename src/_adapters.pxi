# The middleware's per-request work, compiled. Included into _engine_c.pyx
# so it reaches the engine at C level. Its readable twin, with the same
# names and behaviour, is corsfast/_adapters_py.py; read that first.

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_Copy
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE, PyList_New, PyList_SET_ITEM
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE
from libc.string cimport memcmp

from corsfast._adapters_py import merge_raw as _merge_raw_py
from corsfast._adapters_py import merge_text as _merge_text_py
from corsfast._headers import CORS_RESPONSE_HEADERS as _CORS_TEXT_PY
from corsfast._headers import CORS_RESPONSE_HEADERS_RAW as _CORS_RAW_PY

cdef frozenset TOUCHED_RAW = frozenset(_CORS_RAW_PY | {b"vary"})
cdef frozenset TOUCHED_TEXT = frozenset(_CORS_TEXT_PY | {"vary"})
cdef bint TOUCHED_LENGTH[64]   # lengths of vary and the CORS response names
cdef str START = "http.response.start"
cdef str TYPE = "type"
cdef str HEADERS = "headers"
cdef str METHOD = "method"
cdef str GET = "GET"
cdef tuple EMPTY = ()
cdef bytes COMMA_SP_B = b", "


cdef void _init_lengths():
    cdef int i
    for i in range(64):
        TOUCHED_LENGTH[i] = False
    for name in TOUCHED_TEXT:
        TOUCHED_LENGTH[len(name)] = True


_init_lengths()


# -- request side -------------------------------------------------------------------


cdef inline bint _is(object name, const char* literal, Py_ssize_t size):
    """name == literal, for a bytes name (subclasses included)."""
    return (PyBytes_GET_SIZE(name) == size
            and memcmp(PyBytes_AS_STRING(name), literal, size) == 0)


cdef object _join(object first, object second):
    try:
        return first + COMMA_SP_B + second
    except TypeError:
        return first


def asgi_decide(policy, scope):
    """The engine's decision for an ASGI HTTP request (raw byte headers)."""
    return _asgi_decide(_core(policy), scope)


cdef enum:
    OTHER = 0
    ORIGIN = 1
    ACRM = 2
    ACRH = 3
    ACRPN = 4


cdef inline int _which(object name):
    """Which CORS request header ``name`` (raw bytes) is, if any."""
    if not isinstance(name, bytes):
        return OTHER
    if _is(name, b"origin", 6):
        return ORIGIN
    if PyBytes_GET_SIZE(name) < 29:
        return OTHER
    if _is(name, b"access-control-request-method", 29):
        return ACRM
    if _is(name, b"access-control-request-headers", 30):
        return ACRH
    if _is(name, b"access-control-request-private-network", 38):
        return ACRPN
    return OTHER


cdef inline object _pair_item(object item, Py_ssize_t index):
    """item[index] of a header pair: a 2-tuple read directly, else by
    indexing (ASGI allows any two-item iterable)."""
    if type(item) is tuple and PyTuple_GET_SIZE(item) == 2:
        return <object>PyTuple_GET_ITEM(item, index)
    return item[index]


cdef Decision _asgi_decide(Core core, object scope):
    cdef object origin = None, acrm = None, acrh = None, acrpn = None
    cdef Py_ssize_t i, n
    cdef int which
    cdef bint options
    method = scope[METHOD]
    headers = scope[HEADERS]
    options = method == OPTIONS
    if type(headers) is not list:
        headers = list(headers)
    n = PyList_GET_SIZE(headers)
    for i in range(n):
        item = <object>PyList_GET_ITEM(headers, i)
        which = _which(_pair_item(item, 0))
        if which == OTHER:
            continue
        value = _pair_item(item, 1)
        if which == ORIGIN:
            origin = value if origin is None else b""  # repeated: malformed
        elif not options:
            continue  # Access-Control-Request-* only matter to a preflight
        elif which == ACRM:
            acrm = value if acrm is None else b""  # repeated: malformed
        elif which == ACRH:
            acrh = value if acrh is None else _join(acrh, value)
        else:
            acrpn = value if acrpn is None else _join(acrpn, value)
    return _check(core, method, origin, acrm, acrh, acrpn)


cdef str H_ORIGIN = "HTTP_ORIGIN"
cdef str H_METHOD = "REQUEST_METHOD"
cdef str H_ACRM = "HTTP_ACCESS_CONTROL_REQUEST_METHOD"
cdef str H_ACRH = "HTTP_ACCESS_CONTROL_REQUEST_HEADERS"
cdef str H_ACRPN = "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK"


cdef Decision _wsgi_decide(Core core, object environ):
    cdef object origin, method
    if type(environ) is dict:
        origin = (<dict>environ).get(H_ORIGIN)
        method = (<dict>environ).get(H_METHOD, GET)
        if origin is not None and method == OPTIONS:
            return _check(core, method, origin, (<dict>environ).get(H_ACRM),
                          (<dict>environ).get(H_ACRH), (<dict>environ).get(H_ACRPN))
        return _check(core, method, origin, None, None, None)
    get = environ.get
    origin = get(H_ORIGIN)
    method = get(H_METHOD, GET)
    if origin is not None and method == OPTIONS:
        return _check(core, method, origin, get(H_ACRM), get(H_ACRH), get(H_ACRPN))
    return _check(core, method, origin, None, None, None)


def wsgi_decide(policy, environ):
    """The engine's decision for a WSGI request."""
    return _wsgi_decide(_core(policy), environ)


# -- response side ------------------------------------------------------------------


cdef list _apply_raw(object app_headers, tuple ours):
    cdef Py_ssize_t n, i, size
    if type(app_headers) is not list and type(app_headers) is not tuple:
        app_headers = list(app_headers)  # an iterator is read once
    n = len(app_headers)
    for i in range(n):
        name = _pair_item(app_headers[i], 0)
        if type(name) is bytes:
            size = PyBytes_GET_SIZE(name)
            if size < 64 and TOUCHED_LENGTH[size] and name.lower() in TOUCHED_RAW:
                return _merge_raw_py(app_headers, ours)
        elif name in TOUCHED_RAW or (len(name) < 64 and TOUCHED_LENGTH[len(name)]
                                     and name.lower() in TOUCHED_RAW):
            return _merge_raw_py(app_headers, ours)
    return _concat(app_headers, ours)


cdef list _concat(object first, tuple second):
    """list(first) + list(second), in one allocation; ``first`` is a list
    or a tuple."""
    cdef Py_ssize_t n = len(first), m = len(second), i
    cdef list out = PyList_New(n + m)
    for i in range(n):
        item = first[i]
        Py_INCREF(item)
        PyList_SET_ITEM(out, i, item)
    for i in range(m):
        item = second[i]
        Py_INCREF(item)
        PyList_SET_ITEM(out, n + i, item)
    return out


cdef list _apply_text(object app_headers, tuple ours):
    cdef Py_ssize_t n
    cdef list out
    if type(app_headers) is not list and type(app_headers) is not tuple:
        app_headers = list(app_headers)
    for name, _ in app_headers:
        n = len(name)
        if n < 64 and TOUCHED_LENGTH[n] and name.lower() in TOUCHED_TEXT:
            return _merge_text_py(app_headers, ours)
    return _concat(app_headers, ours)


cdef class AsgiSend:
    """Wraps ASGI ``send``: adds ``ours`` to ``http.response.start``."""

    cdef readonly object send
    cdef readonly tuple ours
    cdef public bint started
    # Set by asgi_prepare: the decision, and what the middleware must do.
    cdef public object decision
    cdef public int action

    def __init__(self, send, tuple ours):
        self.send = send
        self.ours = ours
        self.started = False
        self.action = PROCEED

    def __call__(self, message):
        return self.forward(message)

    def forward(self, message):
        """The same as calling the hook; as a bound method it is called
        without building an argument tuple (the middleware passes this)."""
        if type(message) is dict:
            if (<dict>message).get(TYPE) == START:
                self.started = True
                copy = PyDict_Copy(message)
                copy[HEADERS] = _apply_raw((<dict>message).get(HEADERS, EMPTY), self.ours)
                message = copy
        elif message[TYPE] == START:
            self.started = True
            copy = dict(message)
            copy[HEADERS] = _apply_raw(message.get(HEADERS, EMPTY), self.ours)
            message = copy
        return self.send(message)


# What the ASGI middleware does with a request (AsgiSend.action).
cdef int PROCEED = 0            # call the application through the hook
cdef int ANSWER_PREFLIGHT = 1   # answer the preflight here
cdef int REFUSE = 2             # block_refused: answer 403 here
ACTION_PROCEED = PROCEED
ACTION_ANSWER_PREFLIGHT = ANSWER_PREFLIGHT
ACTION_REFUSE = REFUSE


def asgi_prepare(policy, scope, send, bint passthrough, bint block):
    """Decide an ASGI HTTP request and wrap ``send`` for it: the hook, with
    ``decision`` and ``action`` set."""
    cdef Decision decision = _asgi_decide(_core(policy), scope)
    cdef AsgiSend hook = AsgiSend.__new__(AsgiSend)
    hook.send = send
    hook.ours = _raw_headers(decision)
    hook.decision = decision
    if decision.preflight:
        hook.action = PROCEED if passthrough else ANSWER_PREFLIGHT
    elif block and not decision.allowed:
        hook.action = REFUSE
    else:
        hook.action = PROCEED
    return hook


cdef str HTTP = "http"
cdef str PATH = "path"


cdef class AsgiCore:
    """State of corsfast.asgi.CORSMiddleware, as C fields (see the twin)."""

    # Public so that the twin's asgi_call can run on this class in tests.
    cdef public object app, _policy, _router
    cdef public bint _passthrough, _block_refused, _check_websocket, _log_refusals

    def _core_init(self, app, policy, router, bint passthrough, bint block_refused,
                   bint check_websocket, bint log_refusals=False):
        self.app = app
        self._policy = policy
        self._router = router
        self._passthrough = passthrough
        self._block_refused = block_refused
        self._check_websocket = check_websocket
        self._log_refusals = log_refusals


@cython.binding(True)
async def asgi_call(AsgiCore self, scope, receive, send):
    """``__call__`` of corsfast.asgi.CORSMiddleware (see the twin)."""
    cdef AsgiSend hook
    if scope[TYPE] != HTTP:
        await self._not_http(scope, receive, send)
        return
    policy = self._policy
    if policy is None:
        policy = self._router.lookup(scope[PATH])
        if policy is None:  # no policy for this path: not ours
            await self.app(scope, receive, send)
            return
    hook = asgi_prepare(policy, scope, send, self._passthrough, self._block_refused)
    if self._log_refusals and not (<Decision>hook.decision).allowed:
        self._log_refusal(hook.decision, scope)
    if hook.action != PROCEED:
        await self._act(hook, send, scope)
        return
    try:
        await self.app(scope, receive, hook.forward)
    except Exception:
        if not hook.started:
            await self._send_error(send, hook.ours)
        raise


cdef class WsgiStartResponse:
    """Wraps WSGI ``start_response``: adds ``ours`` to the response headers."""

    cdef readonly object start_response
    cdef readonly tuple ours

    def __init__(self, start_response, tuple ours):
        self.start_response = start_response
        self.ours = ours

    def __call__(self, status, headers, exc_info=None):
        return self.start_response(status, _apply_text(headers, self.ours), exc_info)


cdef str PATH_INFO = "PATH_INFO"
cdef str EMPTY_STR = ""
cdef str FILE_WRAPPER = "wsgi.file_wrapper"


cdef class WsgiCore:
    """``__call__`` of corsfast.wsgi.CORSMiddleware (see the twin)."""

    # Public so that the twin's __call__ can run on this class in tests.
    cdef public object app, _policy, _router, _answer, _send_error, _guard, _log
    cdef public bint _passthrough, _block

    def _core_init(self, app, policy, router, bint passthrough, bint block,
                   answer, send_error, guard, log=None):
        self.app = app
        self._policy = policy
        self._router = router
        self._passthrough = passthrough
        self._block = block
        self._answer = answer
        self._send_error = send_error
        self._guard = guard
        self._log = log

    def __call__(self, environ, start_response):
        cdef Decision decision
        cdef tuple ours
        policy = self._policy
        if policy is None:
            # Route on PATH_INFO exactly as the server gives it (SPEC 5).
            policy = self._router.lookup(environ.get(PATH_INFO, EMPTY_STR))
            if policy is None:
                return self.app(environ, start_response)
        decision = _wsgi_decide(_core(policy), environ)
        ours = decision.headers
        if self._log is not None and not decision.allowed:
            self._log(decision, environ)
        if decision.preflight:
            if not self._passthrough:
                return self._answer(start_response, decision.status, ours)
        elif self._block and not decision.allowed:
            return self._answer(start_response, 403, ours)
        hook = WsgiStartResponse.__new__(WsgiStartResponse)
        (<WsgiStartResponse>hook).start_response = start_response
        (<WsgiStartResponse>hook).ours = ours
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
        return self._guard(result, start_response, ours)
