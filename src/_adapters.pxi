# The middleware's per-request work, compiled. Included into _engine_c.pyx
# so it reaches the engine at C level. Its readable twin, with the same
# names and behaviour, is corsfast/_adapters_py.py; read that first.

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE, PyList_New, PyList_SET_ITEM
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE
from cpython.object cimport PyTypeObject
from cpython.ref cimport Py_DECREF, Py_XDECREF, Py_XINCREF
from cpython.ref cimport _Py_REFCNT as _REFCNT
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


cdef extern from "Python.h":
    # Borrowed-pointer forms for the header scan (no reference counting).
    PyTypeObject* _type_of "Py_TYPE"(PyObject*)
    Py_ssize_t _size_of "Py_SIZE"(PyObject*)
    PyObject* _list_item "PyList_GET_ITEM"(object, Py_ssize_t)
    PyObject* _tuple_item "PyTuple_GET_ITEM"(PyObject*, Py_ssize_t)
    PyTypeObject PyTuple_Type
    PyTypeObject PyBytes_Type


cdef inline bint _surely_other(PyObject* item):
    """True when a header pair is a (bytes, bytes) tuple whose name's length
    is none of the CORS request names' (6, 29, 30, 38): most of a request's
    headers, skipped without touching a reference count."""
    cdef PyObject* name
    cdef Py_ssize_t size
    if _type_of(item) is not &PyTuple_Type or _size_of(item) != 2:
        return False
    name = _tuple_item(item, 0)
    if _type_of(name) is not &PyBytes_Type:
        return False
    size = _size_of(name)
    return size != 6 and size != 29 and size != 30 and size != 38


cdef Decision _asgi_decide(Core core, object scope):
    cdef object origin = None, acrm = None, acrh = None, acrpn = None
    cdef Py_ssize_t i, n
    cdef int which
    cdef bint options
    cdef PyObject* raw
    method = scope[METHOD]
    headers = scope[HEADERS]
    options = _is_options(method)
    if type(headers) is not list:
        headers = list(headers)
    n = PyList_GET_SIZE(headers)
    for i in range(n):
        raw = _list_item(headers, i)
        if _surely_other(raw):
            continue
        item = <object>raw
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


cdef extern from "Python.h":
    PyTypeObject PyUnicode_Type
    Py_ssize_t _text_length "PyUnicode_GET_LENGTH"(PyObject*)


cdef inline bint _touches(object headers, bint raw) except -1:
    """Whether ``headers`` (a list or tuple of pairs; bytes names when
    ``raw``, else str) names vary or a CORS response header, which the
    slow merge must then handle."""
    cdef Py_ssize_t n = len(headers), i, size
    cdef PyObject* item
    cdef PyObject* first
    cdef bint is_list = type(headers) is list
    cdef PyTypeObject* name_type = &PyBytes_Type if raw else &PyUnicode_Type
    cdef frozenset touched = TOUCHED_RAW if raw else TOUCHED_TEXT
    for i in range(n):
        item = _list_item(headers, i) if is_list else PyTuple_GET_ITEM(headers, i)
        if _type_of(item) is &PyTuple_Type and _size_of(item) == 2:
            first = _tuple_item(item, 0)
            if _type_of(first) is name_type:
                # An exact (name, value) pair: only a name of a touched
                # length is read, without touching a reference count.
                size = _size_of(first) if raw else _text_length(first)
                if size < 64 and TOUCHED_LENGTH[size] and \
                        (<object>first).lower() in touched:
                    return True
                continue
        if raw:
            name = _pair_item(<object>item, 0)
            if type(name) is not bytes and name in touched:
                return True
        else:
            name, _ = <object>item
        size = len(name)
        if size < 64 and TOUCHED_LENGTH[size] and name.lower() in touched:
            return True
    return False


cdef list _apply_raw(object app_headers, tuple ours):
    if type(app_headers) is not list and type(app_headers) is not tuple:
        app_headers = list(app_headers)  # an iterator is read once
    if _touches(app_headers, True):
        return _merge_raw_py(app_headers, ours)
    return _concat(app_headers, ours)


cdef list _concat(object first, tuple second):
    """list(first) + list(second), in one allocation; ``first`` is a list
    or a tuple."""
    cdef Py_ssize_t n = len(first), m = PyTuple_GET_SIZE(second), i
    cdef list out = PyList_New(n + m)
    cdef PyObject* item
    cdef bint is_list = type(first) is list
    for i in range(n):
        item = _list_item(first, i) if is_list else PyTuple_GET_ITEM(first, i)
        Py_XINCREF(item)
        PyList_SET_ITEM(out, i, <object>item)
    for i in range(m):
        item = PyTuple_GET_ITEM(second, i)
        Py_XINCREF(item)
        PyList_SET_ITEM(out, n + i, <object>item)
    return out


cdef list _apply_text(object app_headers, tuple ours):
    if type(app_headers) is not list and type(app_headers) is not tuple:
        app_headers = list(app_headers)
    if _touches(app_headers, False):
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
    cdef object middleware    # set by asgi_call: whose _send_error to use

    def __init__(self, send, tuple ours):
        self.send = send
        self.ours = ours
        self.started = False
        self.action = PROCEED

    def __call__(self, message):
        return _forward(self, message)

    def forward(self, message, /):
        """The same as calling the hook; as a bound method it is called
        without building an argument tuple (the middleware passes this)."""
        return _forward(self, message)


cdef object _forward(object hook, object message):
    """AsgiSend.forward; its C signature is a METH_O function's, so the
    middleware binds it to a hook without an attribute lookup
    (corsfast_bind)."""
    cdef AsgiSend self = <AsgiSend>hook
    if self.started:
        return self.send(message)  # only the first message starts
    if type(message) is dict and _REFCNT(<PyObject*>message) == 1:
        # Only the caller's expression holds this dict (``await
        # send({...})``): nothing else can see it change, so its headers
        # entry is replaced instead of copying it. A dict kept anywhere
        # else (reused, recorded) is copied below. The application's header
        # list is never changed.
        kind = (<dict>message).get(TYPE)
        if _str_is(kind, START):
            self.started = True
            (<dict>message)[HEADERS] = _apply_raw(
                (<dict>message).get(HEADERS, EMPTY), self.ours)
    elif message[TYPE] == START:
        self.started = True
        copy = dict(message)
        copy[HEADERS] = _apply_raw(message.get(HEADERS, EMPTY), self.ours)
        return self.send(copy)
    return self.send(message)


# What the ASGI middleware does with a request (AsgiSend.action).
cdef int PROCEED = 0            # call the application through the hook
cdef int ANSWER_PREFLIGHT = 1   # answer the preflight here
cdef int REFUSE = 2             # block_refused: answer 403 here
ACTION_PROCEED = PROCEED
ACTION_ANSWER_PREFLIGHT = ANSWER_PREFLIGHT
ACTION_REFUSE = REFUSE


cdef AsgiSend _asgi_prepare(object policy, object scope, object send,
                            bint passthrough, bint block):
    cdef Decision decision = _asgi_decide(_core(policy), scope)
    # One object per request: the send hook, which is also the awaitable
    # that drives the application (see _AsgiRun).
    cdef AsgiSend hook = _AsgiRun.__new__(_AsgiRun)
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


def asgi_prepare(policy, scope, send, bint passthrough, bint block):
    """Decide an ASGI HTTP request and wrap ``send`` for it: the hook, with
    ``decision`` and ``action`` set."""
    return _asgi_prepare(policy, scope, send, passthrough, block)


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

    def __call__(self, scope, receive, send):
        return _asgi_call(self, scope, receive, send)


cdef extern from "Python.h":
    ctypedef enum PySendResult:
        PYGEN_RETURN
        PYGEN_ERROR
        PYGEN_NEXT
    PySendResult PyIter_Send(object iterator, object value, PyObject** result)
    bint PyCoro_CheckExact(object)
    bint PyGen_CheckExact(object)


cdef object _await_iter(object awaitable):
    """What ``await awaitable`` iterates: a coroutine itself, else the
    iterator its ``__await__`` gives (a generator-based coroutine is its own)."""
    if PyCoro_CheckExact(awaitable):
        return awaitable
    method = getattr(type(awaitable), "__await__", None)
    if method is not None:
        return method(awaitable)
    if PyGen_CheckExact(awaitable):
        return awaitable
    raise TypeError(f"'{type(awaitable).__name__}' object can't be awaited")


cdef inline int _raise_if(PySendResult status) except -1:
    """Turn PyIter_Send's error status back into a raised exception."""
    if status == PYGEN_ERROR:
        return -1
    return 0


cdef extern from *:
    """
    static void corsfast_set_iternext(PyTypeObject *type, iternextfunc next) {
        type->tp_iternext = next;
    }
    """
    ctypedef PyObject* (*iternextfunc)(PyObject*) except? NULL
    void corsfast_set_iternext(PyTypeObject* type, iternextfunc next)


@cython.final
cdef class _AsgiRun(AsgiSend):
    """The send hook of one request, and the awaitable ``asgi_call``
    returns when the application answers it: it drives the application's
    coroutine without a coroutine frame of its own. If the application raises before its response
    started, it goes on to drive the middleware's 500 with CORS headers
    (``_send_error``), then raises the application's error (SPEC 5).

    It speaks the whole coroutine protocol (``__await__``, ``send``,
    ``throw``, ``close``), so event loops and task groups accept it as a
    coroutine. Its ``__next__`` (the slot a server's ``await`` uses) is
    set below to :func:`_run_next`, which ends without raising."""

    cdef object it           # what is being driven: the app's, then the 500's
    cdef object error        # the application's exception, while the 500 goes out

    def __await__(self):
        return self

    def __iter__(self):
        return self

    def send(self, value):
        return _pass_on(self._advance(value))

    def throw(self, typ, val=None, tb=None):
        return _pass_on(self._throw(typ, val, tb))

    def close(self):
        it = self.it
        self._finish()
        if it is not None:
            method = getattr(it, "close", None)
            if method is not None:
                method()

    cdef inline void _finish(self):
        self.it = None
        self.error = None

    # The steps below return a new reference to what the driven coroutine
    # yielded, or NULL: with an exception set if one is raised, without one
    # when the run is over (the iterator protocol's quiet StopIteration).

    cdef PyObject* _advance(self, object value) except? NULL:
        cdef PyObject* result = NULL
        cdef PySendResult status
        if self.it is None:
            raise RuntimeError("cannot reuse already awaited coroutine")
        status = PyIter_Send(self.it, value, &result)
        if status == PYGEN_NEXT:
            return result  # the driven coroutine suspended: pass its value up
        if status == PYGEN_RETURN:
            Py_XDECREF(result)
            return self._over()
        return self._recover()

    cdef PyObject* _over(self) except? NULL:
        """What is driven has returned."""
        error = self.error
        self._finish()
        if error is not None:
            raise error  # the 500 went out: now the application's error
        return NULL

    cdef PyObject* _recover(self) except? NULL:
        """What is driven raised (the exception is set)."""
        try:
            _raise_if(PYGEN_ERROR)
        except Exception as error:
            return self._failed(error)
        except BaseException:
            self._finish()
            raise
        return NULL

    cdef PyObject* _throw(self, typ, val, tb) except? NULL:
        if self.it is None:
            raise RuntimeError("cannot reuse already awaited coroutine")
        method = getattr(self.it, "throw", None)
        if method is None:  # an iterator that cannot take it: raise it here
            self._finish()
            raise typ if val is None else val
        try:
            if val is None and tb is None:
                result = method(typ)
            else:
                result = method(typ, val, tb)
        except StopIteration:
            return self._over()
        except Exception as error:
            return self._failed(error)
        except BaseException:
            self._finish()
            raise
        Py_INCREF(result)
        return <PyObject*>result

    cdef PyObject* _failed(self, error) except? NULL:
        """What is driven raised ``error``."""
        if self.error is not None or self.started:
            self._finish()  # the 500 itself failed, or the response started
            raise error
        # SPEC 5: an error response keeps its CORS headers, so the page sees
        # the 500 instead of an opaque network error.
        self._error_response(error)
        return self._advance(None)

    cdef void _error_response(self, error) except *:
        self.started = True
        self.error = error
        # (<AsgiSend>self).send is the server's send; self.send would be
        # this object's coroutine-protocol method.
        self.it = _await_iter(
            self.middleware._send_error((<AsgiSend>self).send, self.ours))


cdef object _pass_on(PyObject* result):
    """A step's result as ``send``/``throw`` return it."""
    if result == NULL:
        raise StopIteration
    out = <object>result
    Py_DECREF(out)
    return out


cdef PyObject* _run_next(PyObject* run) except? NULL:
    return (<_AsgiRun>run)._advance(None)


corsfast_set_iternext(<PyTypeObject*>_AsgiRun, _run_next)


cdef extern from *:
    """
    static PyObject *corsfast_bind(PyObject *self, PyCFunction impl) {
        static PyMethodDef def = {"forward", NULL, METH_O, NULL};
        def.ml_meth = impl;
        return PyCFunction_NewEx(&def, self, NULL);
    }
    """
    ctypedef PyObject* (*PyCFunction)(PyObject*, PyObject*)
    object corsfast_bind(object self, PyCFunction impl)


cdef object _run(_AsgiRun run, object app, object scope, object receive):
    try:
        # run.forward, bound without looking the name up.
        run.it = _await_iter(app(scope, receive, corsfast_bind(run, <PyCFunction>_forward)))
    except Exception as error:
        run._error_response(error)  # the application failed before it started
    return run


cdef object _asgi_call(AsgiCore self, object scope, object receive, object send):
    cdef AsgiSend hook
    if not _str_is(scope[TYPE], HTTP):
        return self._not_http(scope, receive, send)
    policy = self._policy
    if policy is None:
        policy = self._router.lookup(scope[PATH])
        if policy is None:  # no policy for this path: not ours
            return self.app(scope, receive, send)
    hook = _asgi_prepare(policy, scope, send, self._passthrough, self._block_refused)
    if self._log_refusals and not (<Decision>hook.decision).allowed:
        self._log_refusal(hook.decision, scope)
    if hook.action != PROCEED:
        return self._act(hook, send, scope)
    hook.middleware = self
    return _run(<_AsgiRun>hook, self.app, scope, receive)


@cython.binding(True)
def asgi_call(AsgiCore self, scope, receive, send):
    """``__call__`` of corsfast.asgi.CORSMiddleware (see the twin, a
    coroutine function with the same steps). Returns the awaitable that
    does the request's work: the application's, the middleware's own
    answer, or the request's hook driving the application."""
    return _asgi_call(self, scope, receive, send)


# Servers tell ASGI 3 from ASGI 2 by asking whether __call__ is a coroutine
# function; asgi_call returns a coroutine-like awaitable, so say it is one.
import asyncio.coroutines as _coroutines
import inspect as _inspect

asgi_call._is_coroutine = getattr(_coroutines, "_is_coroutine", None)
if hasattr(_inspect, "markcoroutinefunction"):
    _inspect.markcoroutinefunction(asgi_call)


cdef class WsgiStartResponse:
    """Wraps WSGI ``start_response``: adds ``ours`` to the response headers."""

    cdef readonly object start_response
    cdef readonly tuple ours

    def __init__(self, start_response, tuple ours):
        self.start_response = start_response
        self.ours = ours

    def __call__(self, status, headers, exc_info=None):
        return self.start_response(status, _apply_text(headers, self.ours), exc_info)


cdef object _start_hook(object hook, PyObject** args, Py_ssize_t nargs,
                        PyObject* kwnames):
    """WsgiStartResponse.__call__ as a METH_FASTCALL | METH_KEYWORDS
    function: the middleware hands the application the hook bound to this
    (corsfast_bind_start), so a call builds no argument tuple."""
    cdef WsgiStartResponse self = <WsgiStartResponse>hook
    cdef Py_ssize_t i
    if kwnames == NULL and (nargs == 2 or nargs == 3):
        return self.start_response(
            <object>args[0], _apply_text(<object>args[1], self.ours),
            <object>args[2] if nargs == 3 else None)
    # Keywords or a wrong count: the ordinary call checks them.
    positional = [<object>args[i] for i in range(nargs)]
    keywords = {}
    if kwnames != NULL:
        names = <tuple>kwnames
        for i in range(len(names)):
            keywords[names[i]] = <object>args[nargs + i]
    return self(*positional, **keywords)


cdef extern from *:
    """
    static PyObject *corsfast_bind_start(PyObject *self, void *impl) {
        static PyMethodDef def = {"start_response", NULL,
                                  METH_FASTCALL | METH_KEYWORDS, NULL};
        def.ml_meth = (PyCFunction)(void (*)(void))impl;
        return PyCFunction_NewEx(&def, self, NULL);
    }
    """
    object corsfast_bind_start(object self, void* impl)


cdef dict STATUS_LINES = {200: "200 OK", 204: "204 No Content", 403: "403 Forbidden"}
cdef tuple EMPTY_LENGTH = ("content-length", "0")


cdef object _wsgi_answer(object start_response, object status, tuple headers):
    cdef list out = list(headers)
    if status != 204:  # RFC 9110 8.6: no Content-Length on a 204
        out.append(EMPTY_LENGTH)
    line = STATUS_LINES.get(status)
    start_response(f"{status} CORS" if line is None else line, out)
    return []


def wsgi_answer(start_response, status, headers):
    """Answer a WSGI request here with an empty body (a preflight, or a
    refused request under block_refused): ``status`` and ``headers`` are
    the decision's, plus ``Content-Length: 0`` unless the status is 204."""
    return _wsgi_answer(start_response, status, tuple(headers))


cdef str PATH_INFO = "PATH_INFO"
cdef str EMPTY_STR = ""
cdef str FILE_WRAPPER = "wsgi.file_wrapper"


cdef class WsgiCore:
    """``__call__`` of corsfast.wsgi.CORSMiddleware (see the twin)."""

    # Public so that the twin's __call__ can run on this class in tests.
    cdef public object app, _policy, _router, _send_error, _guard, _log
    cdef public bint _passthrough, _block

    def _core_init(self, app, policy, router, bint passthrough, bint block,
                   send_error, guard, log=None):
        self.app = app
        self._policy = policy
        self._router = router
        self._passthrough = passthrough
        self._block = block
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
                return _wsgi_answer(start_response, decision.status, ours)
        elif self._block and not decision.allowed:
            return _wsgi_answer(start_response, 403, ours)
        hook = WsgiStartResponse.__new__(WsgiStartResponse)
        (<WsgiStartResponse>hook).start_response = start_response
        (<WsgiStartResponse>hook).ours = ours
        try:
            result = self.app(environ, corsfast_bind_start(hook, <void*>_start_hook))
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
