"""The per-request work of the Django and Falcon drop-ins, in pure Python.

``src/_contrib.pxi`` (compiled into ``corsfast._engine_c``) is its twin with
the same names and behaviour; ``corsfast._engine`` picks one. The drop-in
modules (corsfast/contrib/django.py and falcon.py) keep settings,
construction, the ASGI hooks and the answers they build with their
framework; what runs on every request lives here:

- ``DjangoState``: the live policy of the Django drop-in, shared by its
  instances, plus the module's callables for the other paths;
- ``DjangoCore``: the Django middleware's ``__call__``;
- ``FalconCore``: the Falcon middleware's ``process_request`` and
  ``process_response`` (WSGI);
- ``django_write`` / ``falcon_write``: write a decision's headers over the
  response's.

Nothing here decides anything: the engine does (``wsgi_decide``). Headers
written straight into a framework's header dict are the decision's own
pairs: lowercase names, and values that are constants validated when the
Policy was built or request values the engine validated before echoing them.
"""

from __future__ import annotations

from typing import Any

from ._adapters_py import wsgi_decide
from ._headers import CORS_RESPONSE_HEADERS, merge_vary

__all__ = [
    "DjangoCore",
    "DjangoState",
    "FALCON_KEY",
    "FalconCore",
    "django_merge",
    "django_write",
    "falcon_answer",
    "falcon_merge",
    "falcon_write",
]

Header = tuple[str, str]

# Where the Falcon middleware keeps the decision between its two hooks.
FALCON_KEY = "corsfast.decision"
_TOUCHED = CORS_RESPONSE_HEADERS | {"vary"}


# -- Django -----------------------------------------------------------------------


class DjangoState:
    """What every Django drop-in instance reads on each request.

    ``policy`` is the Policy when it covers every path (the settings are
    loaded and CORS_URLS_REGEX is the default), else None; then
    ``lookup(request)`` gives the Policy for the request or None (it loads
    the settings when they changed). ``answer(decision)`` builds the
    preflight response.
    """

    __slots__ = ("policy", "lookup", "answer")

    def __init__(self, lookup: Any, answer: Any) -> None:
        self.policy: Any = None
        self.lookup = lookup
        self.answer = answer


class DjangoCore:
    """``__call__`` of corsfast.contrib.django.CorsMiddleware (sync mode;
    in async mode it hands over to the subclass's ``__acall__``)."""

    __slots__ = ("get_response", "async_mode", "_state")

    def _core_init(self, get_response: Any, async_mode: bool, state: Any) -> None:
        self.get_response = get_response
        self.async_mode = async_mode
        self._state = state

    def __call__(self, request: Any) -> Any:
        if self.async_mode:
            return self.__acall__(request)  # type: ignore[attr-defined]
        state = self._state
        policy = state.policy
        if policy is None:
            policy = state.lookup(request)
            if policy is None:
                return self.get_response(request)
        decision = wsgi_decide(policy, request.META)
        if decision.preflight:
            return state.answer(decision)
        response = self.get_response(request)
        django_write(response, decision.headers)
        return response


def django_write(response: Any, ours: tuple[Header, ...]) -> None:
    """Replace the response's CORS headers with ours; merge ``vary``.

    The usual case (the view set no CORS header and no ``Vary``) writes
    straight into the header store, under lowercase keys as
    ``ResponseHeaders.__setitem__`` would. That skips Django's charset and
    newline checks, which the engine's values need no longer.
    """
    headers = response.headers
    store = getattr(headers, "_store", None)
    if type(store) is dict and _TOUCHED.isdisjoint(store):
        for pair in ours:
            store[pair[0]] = pair
        return
    django_merge(headers, ours)


def django_merge(headers: Any, ours: tuple[Header, ...]) -> None:
    """The slow path of django_write, through Django's public header API."""
    if any(key.lower() in CORS_RESPONSE_HEADERS for key in headers):
        for name in CORS_RESPONSE_HEADERS:
            if name in headers:
                del headers[name]
    for name, value in ours:
        if name == "vary":
            value = merge_vary(headers.get("vary"), value)
        headers[name] = value


# -- Falcon -----------------------------------------------------------------------


class FalconCore:
    """``process_request`` and ``process_response`` of
    corsfast.contrib.falcon.CORSMiddleware on ``falcon.App`` (WSGI).

    The decision is asked for once, before routing, and waits in the
    environ under ``FALCON_KEY`` for ``process_response``, which Falcon also
    runs for error responses. A preflight (unless passed through) and, with
    ``block``, a refused request are answered in ``process_request``.
    """

    __slots__ = ("_policy", "_router", "_passthrough", "_block")

    def _core_init(self, policy: Any, router: Any, passthrough: bool,
                   block: bool) -> None:
        self._policy = policy
        self._router = router
        self._passthrough = passthrough
        self._block = block

    def process_request(self, req: Any, resp: Any) -> None:
        env = req.env
        policy = self._policy
        if policy is None:
            policy = self._router.lookup(env.get("PATH_INFO", ""))
            if policy is None:
                return
        decision = env[FALCON_KEY] = wsgi_decide(policy, env)
        if decision.preflight:
            if not self._passthrough:
                falcon_answer(resp, decision.status)
        elif self._block and not decision.allowed:
            falcon_answer(resp, 403)

    def process_response(self, req: Any, resp: Any, resource: Any,
                         req_succeeded: bool) -> None:
        decision = req.env.get(FALCON_KEY)
        if decision is not None:
            falcon_write(resp, decision.headers)


def falcon_answer(resp: Any, status: Any) -> None:
    """Answer in process_request: an empty body, and Falcon skips routing
    and the responder."""
    resp.status = status
    resp.text = None
    resp.data = b""
    resp.complete = True


def falcon_write(resp: Any, ours: tuple[Header, ...]) -> None:
    """Replace the response's CORS headers with ours; merge ``vary``.

    When the resource set neither, the decision's headers go straight into
    Falcon's header dict: the names are already lowercase and the values
    are str, which is all ``set_header`` would ensure.
    """
    store = getattr(resp, "_headers", None)
    if type(store) is dict and _TOUCHED.isdisjoint(store):
        for name, value in ours:
            store[name] = value
        return
    falcon_merge(resp, ours)


def falcon_merge(resp: Any, ours: tuple[Header, ...]) -> None:
    """The slow path of falcon_write, through Falcon's public header API."""
    existing = resp.headers  # a copy, keys lowercase
    if not CORS_RESPONSE_HEADERS.isdisjoint(existing):
        for name in CORS_RESPONSE_HEADERS:
            resp.delete_header(name)
    for name, value in ours:
        if name == "vary":
            value = merge_vary(existing.get("vary"), value)
        resp.set_header(name, value)
