"""The middleware's per-request pieces, compiled and twin, fed the same odd
inputs (docs/spec.md "Adapters").

corsfast._adapters_c and corsfast._adapters_py must give the same answer
for anything a server or an application can hand them, and never crash
the process: header names as bytearray, bytes subclasses, str or other
objects; str subclasses and enums; bytes methods; held and reused message
dicts; one-shot generators; lists that change while they are read;
repeated and oversized headers. Each input is built twice, once per side,
so a one-shot or self-changing input reaches both in the same state.
"""

from __future__ import annotations

import enum
from typing import Any, Callable

import pytest
from conftest import ADAPTERS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corsfast import Policy, Router
from corsfast._dialect import Dialect

COMPILED = ADAPTERS.get("cython")
TWIN = ADAPTERS["python"]
if COMPILED is None:
    pytest.skip("no compiled adapters in this installation", allow_module_level=True)

APP = "https://app.example.com"
POLICIES = [
    Policy(allow_origins=[APP, "https://*.example.org"], allow_methods=["PUT"],
           allow_headers=["x-token"], expose_headers=["x-total"], allow_credentials=True),
    Policy(allow_origins="*", allow_headers="*", allow_private_network=True),
    Policy(allow_origins=[APP], dialect=Dialect("pna", private_network_answer=True,
                                                loose_origin_syntax=True)),
]


class Kind(str, enum.Enum):
    """An ASGI message type given as an enum, as some frameworks do."""

    START = "http.response.start"
    BODY = "http.response.body"


class Method(str, enum.Enum):
    OPTIONS = "OPTIONS"
    GET = "GET"


class Name(bytes):
    """A bytes subclass whose own methods must never decide anything."""

    def lower(self) -> bytes:  # type: ignore[override]
        return b"overridden"

    def __eq__(self, other: object) -> bool:
        return bytes(self) == other

    __hash__ = bytes.__hash__


class Text(str):
    def lower(self) -> str:
        return "overridden"


# -- building the same input twice -------------------------------------------------

NAMES = [b"origin", b"Origin", b"access-control-request-method",
         b"access-control-request-headers", b"access-control-request-private-network",
         b"vary", b"Vary", b"access-control-allow-origin", b"ACCESS-CONTROL-MAX-AGE",
         b"content-type", b"x" * 6, b"x" * 38, b"", b"\xff" * 30]
VALUES = [APP.encode(), b"https://a.example.org", b"PUT", b"put", b"x-token",
          b"x-token, X-Other", b"true", b"", b"\r\n", b"accept-encoding", b"*",
          b"x-a," * 1100, b"https://evil.example"]

name_spec = st.tuples(st.sampled_from(["bytes", "bytearray", "subclass", "str", "text",
                                       "int", "none"]),
                      st.sampled_from(NAMES))
value_spec = st.tuples(st.sampled_from(["bytes", "bytearray", "str", "int"]),
                       st.sampled_from(VALUES))
item_spec = st.tuples(st.sampled_from(["tuple", "list", "triple", "single", "scalar",
                                       "shrinking"]), name_spec, value_spec)
container_spec = st.tuples(st.sampled_from(["list", "tuple", "generator", "listsub"]),
                           st.lists(item_spec, max_size=12))


class ListSub(list):  # type: ignore[type-arg]
    pass


class Shrinking:
    """A header pair that, when unpacked, takes the last item off the list
    holding it: the list changes while it is read."""

    def __init__(self, holder: list[Any], name: Any, value: Any) -> None:
        self.holder, self.name, self.value = holder, name, value

    def __iter__(self) -> Any:
        if self.holder:
            self.holder.pop()
        return iter((self.name, self.value))

    def __getitem__(self, index: int) -> Any:
        self.holder.clear()
        return (self.name, self.value)[index]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Shrinking) and (self.name, self.value) == (
            other.name, other.value)

    __hash__ = None  # type: ignore[assignment]


def _name(spec: tuple[str, bytes]) -> Any:
    kind, raw = spec
    return {"bytes": lambda: bytes(raw), "bytearray": lambda: bytearray(raw),
            "subclass": lambda: Name(raw), "str": lambda: raw.decode("latin-1"),
            "text": lambda: Text(raw.decode("latin-1")), "int": lambda: 7,
            "none": lambda: None}[kind]()


def _value(spec: tuple[str, bytes]) -> Any:
    kind, raw = spec
    return {"bytes": lambda: bytes(raw), "bytearray": lambda: bytearray(raw),
            "str": lambda: raw.decode("latin-1"), "int": lambda: 3}[kind]()


def _item(holder: list[Any], shape: str, name: Any, value: Any) -> Any:
    if shape == "tuple":
        return (name, value)
    if shape == "list":
        return [name, value]
    if shape == "triple":
        return (name, value, value)
    if shape == "single":
        return (name,)
    if shape == "scalar":
        return 5
    return Shrinking(holder, name, value)


def build(spec: tuple[str, list[Any]]) -> Any:
    kind, items = spec
    holder: list[Any] = []
    for shape, name_s, value_s in items:
        holder.append(_item(holder, shape, _name(name_s), _value(value_s)))
    if kind == "tuple":
        return tuple(holder)
    if kind == "generator":
        return (item for item in holder)
    if kind == "listsub":
        return ListSub(holder)
    return holder


def norm(value: Any) -> Any:
    """A value with each one-shot iterator replaced by a marker (two
    generators never compare equal)."""
    if isinstance(value, dict):
        return {k: norm(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(norm(v) for v in value) if type(value) in (list, tuple) \
            else (type(value).__name__, [norm(v) for v in value])
    if hasattr(value, "__next__"):
        return "<iterator>"
    return value


def outcome(call: Callable[[], Any]) -> Any:
    """What a call gives, in a form both sides can be compared by: its
    result, or the type of what it raised."""
    try:
        return ("ok", call())
    except Exception as exc:  # compared, not hidden: both must raise alike
        return ("raised", type(exc).__name__)


def fields(decision: Any) -> tuple[Any, ...]:
    return (decision.allowed, decision.preflight, decision.reason, decision.status,
            decision.headers, decision.raw_headers, decision.reasons)


def same_decision(spec: Any, make_scope: Callable[[Any], Any], policy: Policy) -> None:
    got = [outcome(lambda m=m: fields(m.asgi_decide(policy, make_scope(build(spec)))))
           for m in (COMPILED, TWIN)]
    assert got[0] == got[1]


# -- request side ---------------------------------------------------------------------


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(container_spec, st.sampled_from(["GET", "OPTIONS", b"OPTIONS", Method.OPTIONS,
                                        "options", None]),
       st.sampled_from(range(len(POLICIES))))
def test_asgi_decide_agrees(spec: Any, method: Any, index: int) -> None:
    same_decision(spec, lambda headers: {"type": "http", "method": method,
                                         "headers": headers}, POLICIES[index])


@settings(max_examples=400, deadline=None)
@given(container_spec, st.booleans())
def test_asgi_request_values_agree(spec: Any, options: bool) -> None:
    got = [outcome(lambda m=m: m.asgi_request_values(build(spec), options))
           for m in (COMPILED, TWIN)]
    assert got[0] == got[1]


environ_values = st.one_of(st.none(), st.sampled_from([APP, "https://evil.example", "PUT",
                                                       "x-token", "true", "", "é", "OPTIONS",
                                                       "options", "x" * 5000]),
                           st.text(max_size=20))


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["GET", "OPTIONS", "options", Method.OPTIONS, b"OPTIONS", None]),
       environ_values, environ_values, environ_values, environ_values,
       st.sampled_from(range(len(POLICIES))), st.booleans())
def test_wsgi_decide_agrees(method: Any, origin: Any, acrm: Any, acrh: Any, acrpn: Any,
                            index: int, plain_dict: bool) -> None:
    environ: dict[str, Any] = {"REQUEST_METHOD": method}
    for key, value in (("HTTP_ORIGIN", origin), ("HTTP_ACCESS_CONTROL_REQUEST_METHOD", acrm),
                       ("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", acrh),
                       ("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK", acrpn)):
        if value is not None:
            environ[key] = value
    policy = POLICIES[index]

    class Environ(dict):  # type: ignore[type-arg]
        pass

    got = [outcome(lambda m=m: fields(m.wsgi_decide(
        policy, environ if plain_dict else Environ(environ)))) for m in (COMPILED, TWIN)]
    assert got[0] == got[1]


# -- response side --------------------------------------------------------------------

OURS_RAW = ((b"access-control-allow-origin", APP.encode()), (b"vary", b"origin"))
OURS_TEXT = (("access-control-allow-origin", APP), ("vary", "origin"))


@settings(max_examples=600, deadline=None)
@given(container_spec)
def test_apply_agrees(spec: Any) -> None:
    for name, ours in (("apply_raw", OURS_RAW), ("apply_text", OURS_TEXT)):
        got = [outcome(lambda m=m, name=name, ours=ours: getattr(m, name)(build(spec), ours))
               for m in (COMPILED, TWIN)]
        assert got[0] == got[1], name


@settings(max_examples=300, deadline=None)
@given(container_spec, st.sampled_from(["http.response.start", Kind.START, Kind.BODY,
                                        b"http.response.start", None, "http.response.body"]),
       st.booleans(), st.booleans())
def test_send_hook_agrees_and_never_changes_the_message(spec: Any, kind: Any,
                                                        reuse: bool, bound: bool) -> None:
    """Called as the hook or through ``deliver`` (the bound method the
    middleware hands the application), on both sides."""
    results = []
    for module in (COMPILED, TWIN):
        sent: list[Any] = []
        hook = module.SendHook(sent.append, OURS_RAW)
        send = hook.deliver if bound else hook
        headers = build(spec)
        message = {"type": kind, "status": 200, "headers": headers}
        before = dict(message)
        first = outcome(lambda h=send, msg=message: h(msg))
        # The same dict again (an application reusing it): it passes on.
        second = outcome(lambda h=send, msg=message: h(msg)) if reuse else None
        assert message == before  # the application's dict is never changed
        assert message["headers"] is headers
        results.append(norm((first, second, hook.started, sent)))
    assert results[0] == results[1]


@settings(max_examples=300, deadline=None)
@given(container_spec, st.booleans())
def test_start_response_hook_agrees(spec: Any, with_exc_info: bool) -> None:
    results = []
    for module in (COMPILED, TWIN):
        calls: list[Any] = []
        hook = module.StartResponseHook(lambda *a, c=calls: c.append(a), OURS_TEXT)
        args = ("200 OK", build(spec)) + ((None,) if with_exc_info else ())
        results.append((outcome(lambda h=hook, a=args: h(*a)), calls))
    assert results[0] == results[1]


# -- the cases that once crashed the process, or lost the headers -----------------------


def _shrinking_request(module: Any) -> Any:
    holder: list[Any] = []
    holder.extend([(b"origin", APP.encode()), *[(b"x-filler", b"v")] * 50])
    holder.insert(1, Shrinking(holder, b"x-a", b"v"))
    # __getitem__ clears the list: a reader that indexed past a length it
    # read once would touch freed items.
    holder.insert(2, _Clearing(holder))
    return module.asgi_decide(POLICIES[0], {"type": "http", "method": "GET",
                                            "headers": holder})


class _Clearing:
    def __init__(self, holder: list[Any]) -> None:
        self.holder = holder

    def __getitem__(self, index: int) -> Any:
        self.holder.clear()
        return b"x"

    def __iter__(self) -> Any:
        self.holder.clear()
        return iter((b"x", b"y"))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Clearing)

    __hash__ = None  # type: ignore[assignment]


@pytest.mark.parametrize("module", [COMPILED, TWIN], ids=["cython", "python"])
def test_a_request_header_list_cleared_while_read(module: Any) -> None:
    d = _shrinking_request(module)
    assert d.allowed and dict(d.headers)["access-control-allow-origin"] == APP


@pytest.mark.parametrize("module", [COMPILED, TWIN], ids=["cython", "python"])
def test_a_response_header_list_cleared_while_read(module: Any) -> None:
    app_headers: list[Any] = [(b"content-type", b"text/plain")] * 20
    app_headers.insert(3, _Clearing(app_headers))
    app_headers.append((b"vary", b"accept"))
    out = module.apply_raw(app_headers, OURS_RAW)
    assert out[-2:] == list(OURS_RAW)
    assert app_headers == []  # what the item did to its own list, nothing of ours
    text_headers: list[Any] = [("Content-Type", "text/plain")] * 20
    text_headers.insert(3, _Clearing(text_headers))
    assert module.apply_text(text_headers, OURS_TEXT)[-2:] == list(OURS_TEXT)


@pytest.mark.parametrize("module", [COMPILED, TWIN], ids=["cython", "python"])
def test_an_enum_message_type_still_starts_the_response(module: Any) -> None:
    sent: list[Any] = []
    hook = module.SendHook(sent.append, OURS_RAW)
    hook({"type": Kind.START, "status": 200, "headers": [(b"content-type", b"x")]})
    assert hook.started
    assert sent[0]["headers"] == [(b"content-type", b"x"), *OURS_RAW]
    hook({"type": Kind.BODY, "body": b""})
    assert len(sent) == 2 and "headers" not in sent[1]


@pytest.mark.parametrize("module", [COMPILED, TWIN], ids=["cython", "python"])
def test_odd_names_answer_as_their_bytes_do(module: Any) -> None:
    for name in (bytearray(b"origin"), Name(b"origin")):
        d = module.asgi_decide(POLICIES[0], {"method": "GET",
                                             "headers": [(name, APP.encode())]})
        assert d.allowed and d.reason.name == "ALLOWED", name
    d = module.asgi_decide(POLICIES[0], {"method": b"OPTIONS", "headers": [
        (b"origin", APP.encode()), (bytearray(b"access-control-request-method"), b"PUT")]})
    assert d.preflight and d.allowed
    # A subclass's own lower() never decides what is a CORS header.
    out = module.apply_raw([(Name(b"Vary"), b"accept")], OURS_RAW)
    assert out == [OURS_RAW[0], (b"vary", b"accept, origin")]


# -- the WSGI request path and the ASGI preparation ----------------------------------


def _wsgi_app(environ: Any, start_response: Any) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Vary", "Cookie")])
    return [b"ok"]


def _tallies(tally: Any) -> Any:
    return (tally.actual, tally.preflight, tally.websocket)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["GET", "OPTIONS", "PUT"]), environ_values, environ_values,
       environ_values, st.sampled_from(range(len(POLICIES))), st.booleans(), st.booleans(),
       st.booleans())
def test_wsgi_core_agrees(method: str, origin: Any, acrm: Any, acrh: Any, index: int,
                          passthrough: bool, block: bool, debug: bool) -> None:
    environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": "/"}
    for key, value in (("HTTP_ORIGIN", origin), ("HTTP_ACCESS_CONTROL_REQUEST_METHOD", acrm),
                       ("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", acrh)):
        if value is not None:
            environ[key] = value
    results = []
    for module in (COMPILED, TWIN):
        calls: list[Any] = []
        logged: list[Any] = []
        shadowed: list[Any] = []

        def refused(d: Any, e: Any, p: Any, logged: Any = logged) -> Any:
            logged.append((fields(d), p is POLICIES[index]))
            return b"why\n" if debug else None

        # The shadow is the next policy: both engines report the same requests.
        shadow = module.Live(POLICIES[index - 1], POLICIES[index - 1], None,
                             module.Tally(), None, None)
        live = module.Live(POLICIES[index], POLICIES[index], None, module.Tally(), None,
                           shadow)
        core = module.WsgiCore(_wsgi_app, live, passthrough, block, refused,
                               lambda d, e, s, out=shadowed, mine=shadow: out.append(
                                   (fields(d), s is mine)), None)
        body = outcome(lambda c=core, calls=calls: c(dict(environ),
                                                     lambda *args: calls.append(args)))
        results.append((body, calls, logged, shadowed, _tallies(live.tally)))
    assert results[0] == results[1]
    assert sum(results[0][4][0].values()) + sum(results[0][4][1].values()) == 1


def test_wsgi_core_routes_and_reconfigures(adapters: Any) -> None:
    """A router's request is counted in its route's tally; a Live swapped in
    with ``configure`` serves the next request."""
    first, second = POLICIES[0], POLICIES[1]
    router = Router({"/api": first})
    api_tally, other = adapters.Tally(), adapters.Tally()
    live = adapters.Live(router, None, router, other, {first._matcher: api_tally}, None)
    core = adapters.WsgiCore(_wsgi_app, live, False, False, None, None, None)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/x", "HTTP_ORIGIN": APP}
    core(dict(environ), lambda *args: None)
    assert sum(api_tally.actual.values()) == 1 and not other.actual
    core(dict(environ, PATH_INFO="/elsewhere"), lambda *args: None)
    assert sum(api_tally.actual.values()) == 1 and not other.actual  # not ours
    core.configure(adapters.Live(second, second, None, other, None, None))
    assert core._live.policy is second
    core(dict(environ), lambda *args: None)
    assert sum(other.actual.values()) == 1
    with pytest.raises(TypeError):
        core.configure(second)


@settings(max_examples=300, deadline=None)
@given(container_spec, st.sampled_from(["GET", "OPTIONS", b"OPTIONS"]),
       st.sampled_from(range(len(POLICIES))), st.booleans(), st.booleans(), st.booleans())
def test_asgi_prepare_agrees(spec: Any, method: Any, index: int, passthrough: bool,
                             block: bool, report: bool) -> None:
    results = []
    for module in (COMPILED, TWIN):
        scope = {"type": "http", "method": method, "headers": build(spec)}
        tally = module.Tally()
        shadow = None if block else module.Live(POLICIES[0], POLICIES[0], None, tally,
                                                None, None)
        live = module.Live(POLICIES[index], POLICIES[index], None, tally, None, shadow)
        hook = module.asgi_prepare(live, scope, None, passthrough, block, report)
        results.append((fields(hook.decision), hook.action, hook.ours, hook.started,
                        hook.live is live, _tallies(tally)))
    assert results[0] == results[1]
    assert results[0][1] & ~COMPILED.REPORT in (COMPILED.PROCEED, COMPILED.ANSWER,
                                                COMPILED.REFUSE)
    assert bool(results[0][1] & COMPILED.REPORT) == (
        not block or (report and not results[0][0][0]))


def test_asgi_prepare_routes(adapters: Any) -> None:
    """With a router: the route's tally counts; a path no route matches is
    not the middleware's (None, nothing counted)."""
    router = Router({"/api": POLICIES[0]})
    api, other = adapters.Tally(), adapters.Tally()
    live = adapters.Live(router, None, router, other, {POLICIES[0]._matcher: api}, None)
    scope = {"type": "http", "method": "GET", "path": "/api/v1",
             "headers": [(b"origin", APP.encode())]}
    hook = adapters.asgi_prepare(live, scope, None, False, False, False)
    assert hook.decision.allowed and hook.action == adapters.PROCEED
    assert api.actual == {hook.decision.reason: 1} and other.actual == {}
    assert adapters.asgi_prepare(live, dict(scope, path="/apix"), None, False, False,
                                 False) is None
    assert sum(api.actual.values()) == 1 and other.actual == {}
    with pytest.raises(TypeError):
        adapters.asgi_prepare(POLICIES[0], scope, None, False, False, False)


class _Kind(str, enum.Enum):
    HTTP = "http"
    WEBSOCKET = "websocket"


class _Scope(dict):  # type: ignore[type-arg]
    """A scope that is a dict subclass, read through its own methods."""


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["http", _Kind.HTTP, "websocket", _Kind.WEBSOCKET, "lifespan", b"http",
                        None]),
       st.booleans(), st.booleans(), st.sampled_from([0, 1, 2, 3]), st.booleans())
def test_asgi_core_agrees(kind: Any, passthrough: bool, block: bool, watch: int,
                          subclass: bool) -> None:
    """The middleware's per-request entry: an HTTP scope (its type a str,
    or a str enum) is decided as asgi_prepare decides it under the core's
    flags; any other scope type gives None, on both sides."""
    results = []
    for module in (COMPILED, TWIN):
        tally = module.Tally()
        live = module.Live(POLICIES[1], POLICIES[1], None, tally, None, None)
        core = module.AsgiCore(live, passthrough, block, watch)
        scope = (_Scope if subclass else dict)(
            type=kind, method="OPTIONS",
            headers=[(b"origin", b"https://evil.example.net"),
                     (b"access-control-request-method", b"PUT")])
        hook = core._prepare(scope, None)
        again = core._prepare_resolved(live, scope, None)
        results.append(None if hook is None else (
            fields(hook.decision), hook.action, hook.ours, hook.live is live,
            again.action, _tallies(tally)))
    assert results[0] == results[1]
    assert (results[0] is None) == (kind not in ("http", _Kind.HTTP))


def test_asgi_core_reads_the_live_value_it_was_last_given(adapters: Any) -> None:
    first, second = adapters.Tally(), adapters.Tally()
    core = adapters.AsgiCore(adapters.Live(POLICIES[0], POLICIES[0], None, first, None, None),
                             False, False, 0)
    scope = {"type": "http", "method": "GET", "headers": [(b"origin", APP.encode())]}
    assert core._prepare(dict(scope), None).live is core._live
    live = adapters.Live(POLICIES[1], POLICIES[1], None, second, None, None)
    core.configure(live)
    assert core._live is live and core._prepare(dict(scope), None).live is live
    assert sum(first.actual.values()) == 1 and sum(second.actual.values()) == 1
    with pytest.raises(TypeError):
        core.configure(POLICIES[0])
    with pytest.raises(KeyError):
        core._prepare({"method": "GET"}, None)  # a scope without a type is the server's bug


class _BadBool:
    """A chunk whose truth cannot be told."""

    def __bool__(self) -> bool:
        raise ValueError("no truth")


class _Body:
    """An application's lazy body, played from a script: each step yields a
    chunk or raises; ``close`` is present, absent, raising or not callable;
    ``iter()`` of it may raise at once."""

    def __init__(self, steps: list[Any], close: str, iter_raises: bool) -> None:
        self.steps = list(steps)
        self.iter_raises = iter_raises
        self.closed = 0
        if close == "ok":
            self.close = self._close
        elif close == "raises":
            self.close = self._close_raises
        elif close == "not callable":
            self.close = "close"

    def _close(self) -> None:
        self.closed += 1

    def _close_raises(self) -> None:
        self.closed += 1
        raise OSError("close failed")

    def __iter__(self) -> Any:
        if self.iter_raises:
            raise RuntimeError("no iterator")
        return self

    def __next__(self) -> Any:
        if not self.steps:
            raise StopIteration
        kind, value = self.steps.pop(0)
        if kind == "raise":
            raise value("from the body")
        return value


CHUNKS = [b"", b"ok", "", "text", 0, 1, None, _BadBool()]
body_steps = st.lists(st.one_of(
    st.tuples(st.just("chunk"), st.sampled_from(range(len(CHUNKS)))),
    st.tuples(st.just("raise"), st.sampled_from([ValueError, KeyError, StopIteration,
                                                  KeyboardInterrupt]))), max_size=5)


def _played(module: Any, steps: list[Any], close: str, iter_raises: bool) -> Any:
    """Everything a server sees from a GuardedBody around the scripted body."""
    body = _Body([(k, CHUNKS[v] if k == "chunk" else v) for k, v in steps], close,
                 iter_raises)
    errors: list[Any] = []
    guard = module.GuardedBody(body, "start_response", OURS_TEXT,
                               lambda start, ours: errors.append((start, ours)))
    seen: list[Any] = [iter(guard) is guard]
    for _ in range(len(steps) + 2):  # past the end too, as a careless server might
        try:
            chunk = next(guard)
        except BaseException as exc:  # compared, not hidden
            seen.append(("raised", type(exc).__name__))
        else:
            seen.append(("chunk", type(chunk).__name__, chunk if not isinstance(
                chunk, _BadBool) else "bad"))
    try:
        guard.close()
        seen.append("closed")
    except BaseException as exc:
        seen.append(("close raised", type(exc).__name__))
    return seen, errors, body.closed


@settings(max_examples=400, deadline=None)
@given(body_steps, st.sampled_from(["ok", "raises", "none", "not callable"]), st.booleans())
def test_guarded_body_agrees(steps: Any, close: str, iter_raises: bool) -> None:
    compiled, twin = (_played(m, steps, close, iter_raises) for m in (COMPILED, TWIN))
    assert compiled == twin


@pytest.mark.parametrize("module", [COMPILED, TWIN], ids=["cython", "python"])
def test_guarded_body_sends_the_error_once_and_only_before_the_body(module: Any) -> None:
    early = _played(module, [("chunk", 0), ("raise", ValueError)], "ok", False)
    assert early == ([True, ("chunk", "bytes", b""), ("raised", "ValueError"),
                      ("raised", "StopIteration"), ("raised", "StopIteration"), "closed"],
                     [("start_response", OURS_TEXT)], 1)
    late = _played(module, [("chunk", 1), ("raise", ValueError)], "none", False)
    assert late[1] == [] and late[0][2] == ("raised", "ValueError")
    at_once = _played(module, [], "raises", True)
    assert at_once == ([True, ("raised", "RuntimeError"), ("raised", "RuntimeError"),
                        ("close raised", "OSError")], [("start_response", OURS_TEXT)], 1)
