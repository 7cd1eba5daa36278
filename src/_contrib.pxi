# The per-request work of the Django and Falcon drop-ins, compiled. Included
# into _engine_c.pyx after _adapters.pxi, so it reaches the engine
# (_core, _wsgi_decide, Decision) at C level. Its readable twin, with the
# same names and behaviour, is corsfast/_contrib_py.py; read that first.
# Nothing here decides anything, and no request value reaches a response
# header except through a Decision.

from cpython.dict cimport PyDict_Next, PyDict_SetItem

from corsfast._contrib_py import django_merge as _django_merge_py
from corsfast._contrib_py import falcon_merge as _falcon_merge_py

cdef frozenset CONTRIB_TOUCHED = frozenset(_CORS_TEXT_PY | {"vary"})
cdef bint CONTRIB_TOUCHED_LENGTH[64]  # lengths of the names in CONTRIB_TOUCHED
cdef str CONTRIB_STORE = "_store"
cdef str CONTRIB_HEADERS = "_headers"
cdef str CONTRIB_PATH_INFO = "PATH_INFO"
cdef str CONTRIB_EMPTY = ""
cdef str CONTRIB_FALCON_KEY = "corsfast.decision"
cdef bytes CONTRIB_NO_BODY = b""


cdef void _init_contrib_lengths():
    cdef int i
    for i in range(64):
        CONTRIB_TOUCHED_LENGTH[i] = False
    for name in CONTRIB_TOUCHED:
        CONTRIB_TOUCHED_LENGTH[len(name)] = True


_init_contrib_lengths()


cdef bint _untouched(dict store) except -1:
    """No key of ``store`` is a CORS response header or ``vary``: the
    decision's headers can go straight in. Keys that are not exact str send
    the caller to the public API (comparing them could run their code)."""
    cdef Py_ssize_t pos = 0, n
    cdef PyObject* key
    cdef PyObject* value
    while PyDict_Next(store, &pos, &key, &value):
        if type(<object>key) is not str:
            return False
        n = PyUnicode_GET_LENGTH(<object>key)
        if n < 64 and CONTRIB_TOUCHED_LENGTH[n] and \
                PySet_Contains(CONTRIB_TOUCHED, <object>key) == 1:
            return False
    return True


# -- Django -----------------------------------------------------------------------


cdef class DjangoState:
    """What every Django drop-in instance reads on each request (see the twin)."""

    cdef public object policy, lookup, answer

    def __init__(self, lookup, answer):
        self.policy = None
        self.lookup = lookup
        self.answer = answer


cdef class DjangoCore:
    """``__call__`` of corsfast.contrib.django.CorsMiddleware (see the twin)."""

    # Public so that the twin's __call__ can run on this class in tests.
    cdef public object get_response
    cdef public bint async_mode
    cdef public DjangoState _state

    def _core_init(self, get_response, bint async_mode, DjangoState state not None):
        self.get_response = get_response
        self.async_mode = async_mode
        self._state = state

    def __call__(self, request):
        cdef Decision decision
        cdef DjangoState state = self._state
        if self.async_mode:
            return self.__acall__(request)
        if state is None:
            raise TypeError("DjangoCore: _core_init was not called")
        policy = state.policy
        if policy is None:
            policy = state.lookup(request)
            if policy is None:
                return self.get_response(request)
        decision = _wsgi_decide(_core(policy), request.META)
        if decision.preflight:
            return state.answer(decision)
        response = self.get_response(request)
        _django_write(response, decision.headers)
        return response


def django_write(response, ours):
    """Replace the response's CORS headers with ours; merge ``vary``."""
    _django_write(response, ours)


cdef int _django_write(object response, object ours) except -1:
    cdef Py_ssize_t i
    headers = response.headers
    store = getattr(headers, CONTRIB_STORE, None)
    if type(store) is dict and type(ours) is tuple and _untouched(<dict>store):
        for i in range(PyTuple_GET_SIZE(ours)):
            pair = <object>PyTuple_GET_ITEM(ours, i)
            if type(pair) is tuple and PyTuple_GET_SIZE(pair) == 2:
                # Django keeps (name, value) under the lowercase name: the
                # decision's own pair is exactly that.
                PyDict_SetItem(store, <object>PyTuple_GET_ITEM(pair, 0), pair)
            else:
                name, value = pair
                PyDict_SetItem(store, name, (name, value))
        return 0
    _django_merge_py(headers, ours)
    return 0


# -- Falcon -----------------------------------------------------------------------


cdef class FalconCore:
    """``process_request`` / ``process_response`` of
    corsfast.contrib.falcon.CORSMiddleware on falcon.App (see the twin)."""

    # Public so that the twin's methods can run on this class in tests.
    cdef public object _policy, _router
    cdef public bint _passthrough, _block

    def _core_init(self, policy, router, bint passthrough, bint block):
        self._policy = policy
        self._router = router
        self._passthrough = passthrough
        self._block = block

    # Plain method descriptors (not cyfunctions): Falcon calls the bound
    # methods it looked up once, and these are the cheapest to call.
    @cython.binding(False)
    def process_request(self, req, resp):
        cdef Decision decision
        env = req.env
        policy = self._policy
        if policy is None:
            policy = self._router.lookup(env.get(CONTRIB_PATH_INFO, CONTRIB_EMPTY))
            if policy is None:
                return
        decision = _wsgi_decide(_core(policy), env)
        env[CONTRIB_FALCON_KEY] = decision
        if decision.preflight:
            if not self._passthrough:
                _falcon_answer(resp, decision.status)
        elif self._block and not decision.allowed:
            _falcon_answer(resp, 403)

    @cython.binding(False)
    def process_response(self, req, resp, resource, req_succeeded):
        cdef PyObject* hit
        env = req.env
        if type(env) is dict:
            hit = PyDict_GetItemWithError(env, CONTRIB_FALCON_KEY)
            if hit is NULL:
                return
            decision = <object>hit
        else:
            decision = env.get(CONTRIB_FALCON_KEY)
        if decision is None:
            return
        if type(decision) is Decision:
            _falcon_write(resp, (<Decision>decision).headers)
        else:
            _falcon_write(resp, decision.headers)


def falcon_answer(resp, status):
    """Answer in process_request: an empty body, and Falcon skips routing
    and the responder."""
    _falcon_answer(resp, status)


cdef int _falcon_answer(object resp, object status) except -1:
    resp.status = status
    resp.text = None
    resp.data = CONTRIB_NO_BODY
    resp.complete = True
    return 0


def falcon_write(resp, ours):
    """Replace the response's CORS headers with ours; merge ``vary``."""
    _falcon_write(resp, ours)


cdef int _falcon_write(object resp, object ours) except -1:
    cdef Py_ssize_t i
    store = getattr(resp, CONTRIB_HEADERS, None)
    if type(store) is dict and type(ours) is tuple and _untouched(<dict>store):
        for i in range(PyTuple_GET_SIZE(ours)):
            pair = <object>PyTuple_GET_ITEM(ours, i)
            if type(pair) is tuple and PyTuple_GET_SIZE(pair) == 2:
                PyDict_SetItem(store, <object>PyTuple_GET_ITEM(pair, 0),
                               <object>PyTuple_GET_ITEM(pair, 1))
            else:
                name, value = pair
                PyDict_SetItem(store, name, value)
        return 0
    _falcon_merge_py(resp, ours)
    return 0
