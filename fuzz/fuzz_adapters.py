"""The adapter half of the fuzz target (fuzz/fuzz_engine.py calls it).

From the same decoded arguments the engine half uses, it builds what a
server or an application hands the middleware, in shapes chosen by the
input: header names as bytes, bytearray, a bytes subclass or str; pairs as
tuples, lists or odd items; the list as a list, tuple, generator, or a list
that loses items while it is read; repeated CORS headers; method as str,
bytes or an enum; a start message whose type is an enum. Each input is
built twice, one copy per side, and corsfast._adapters_c must give exactly
what corsfast._adapters_py gives (results, or the type of what was raised),
without crashing and without changing what it was handed.
"""

from __future__ import annotations

import enum
from typing import Any, Callable

from corsfast import Policy
from corsfast import _adapters_py as py_adapters

try:
    from corsfast import _adapters_c as c_adapters
except ImportError:  # reported by fuzz_engine.main()
    c_adapters = None  # type: ignore[assignment]

__all__ = ["check_adapters"]

NAMES = (b"origin", b"access-control-request-method", b"access-control-request-headers",
         b"access-control-request-private-network")
APP_HEADERS = ((b"content-type", b"text/plain"), (b"vary", b"Accept-Encoding"),
               (b"Access-Control-Allow-Origin", b"*"), (b"x-a", b"1"))


class Kind(str, enum.Enum):
    START = "http.response.start"


class Scope(str, enum.Enum):
    HTTP = "http"


class Method(str, enum.Enum):
    OPTIONS = "OPTIONS"
    GET = "GET"


class Name(bytes):
    def lower(self) -> bytes:  # type: ignore[override]
        return b"origin"

    def __eq__(self, other: object) -> bool:
        return bytes(self) == other

    __hash__ = bytes.__hash__


class Shrinking:
    """A pair that takes the last item off its own list when unpacked."""

    def __init__(self, holder: list[Any], pair: tuple[Any, Any]) -> None:
        self.holder, self.pair = holder, pair

    def __iter__(self) -> Any:
        if self.holder:
            self.holder.pop()
        return iter(self.pair)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Shrinking) and self.pair == other.pair

    __hash__ = None  # type: ignore[assignment]


def _raw(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("latin-1", "replace")
    return value


def _name(name: bytes, form: int) -> Any:
    return (name, bytearray(name), Name(name), name.decode("latin-1"),
            name.upper())[form % 5]


def _headers(args: list[Any], shape: int, twin_list: bool) -> Any:
    """The request's header pairs, from the decoded arguments."""
    _, origin, acrm, acrh, acrpn = args
    holder: list[Any] = [(b"host", b"example.test")]
    for i, value in enumerate((origin, acrm, acrh, acrpn)):
        if value is None:
            continue
        pair = (_name(NAMES[i], shape >> (2 * i)), _raw(value))
        holder.append([*pair] if shape & 0x100 else pair)
        if shape & 0x200 and i == (shape >> 10) % 4:
            holder.append(pair)  # the same header twice
    if shape & 0x1000:
        holder.insert(1, Shrinking(holder, (b"x-filler", b"v")))
    if shape & 0x2000:
        holder.append((b"x-a", b"b", b"c"))  # not a pair
    kind = (shape >> 14) % 3
    if kind == 1:
        return tuple(holder)
    if kind == 2 and not twin_list:
        return (item for item in holder)
    return holder


def _outcome(call: Callable[[], Any]) -> Any:
    try:
        return ("ok", _norm(call()))
    except Exception as exc:
        return ("raised", type(exc).__name__)


def _norm(value: Any) -> Any:
    if hasattr(value, "reasons") and hasattr(value, "raw_headers"):
        return (value.allowed, value.preflight, value.reason, value.status,
                value.headers, value.raw_headers, value.reasons)
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_norm(v) for v in value)
    if hasattr(value, "__next__"):
        return "<iterator>"
    return value


def _fail(message: str, *context: Any) -> None:
    raise AssertionError(message + "\n" + "\n".join(repr(c) for c in context))


def _prepared(core: Any, scope: Any, tally: Any) -> Any:
    """What AsgiCore._prepare made of ``scope``: None, or its hook's
    decision, action and what was counted."""
    hook = core._prepare(scope, None)
    if hook is None:
        return None
    return (_norm(hook.decision), hook.ours, hook.action,
            sorted(tally.actual.items(), key=repr), sorted(tally.preflight.items(), key=repr))


def check_adapters(policy: Policy, args: list[Any], shape: int) -> None:
    """Compiled and twin adapter pieces agree on what ``args`` become."""
    method = args[0]
    methods = (method, _raw(method), Method.OPTIONS if shape & 1 else Method.GET)
    scope_method = methods[(shape >> 16) % 3]
    results = []
    for module in (c_adapters, py_adapters):
        scope = {"type": "http", "method": scope_method,
                 "headers": _headers(args, shape, False)}
        results.append(_outcome(lambda m=module, s=scope: m.asgi_decide(policy, s)))
    if results[0] != results[1]:
        _fail("asgi_decide: the adapters disagree", args, shape, *results)
    # The middleware's own entry: the live value, its flags, the scope's type.
    prepared = []
    for module in (c_adapters, py_adapters):
        tally = module.Tally()
        core = module.AsgiCore(module.Live(policy, policy, None, tally, None, None),
                               bool(shape & 0x100), bool(shape & 0x200), (shape >> 10) & 3)
        scope = {"type": ("http", Scope.HTTP, "websocket")[(shape >> 18) % 3],
                 "method": scope_method, "headers": _headers(args, shape, False)}
        prepared.append(_outcome(lambda c=core, s=scope, t=tally: _prepared(c, s, t)))
    if prepared[0] != prepared[1]:
        _fail("AsgiCore._prepare: the adapters disagree", args, shape, *prepared)

    environ: dict[str, Any] = {"REQUEST_METHOD": method}
    for key, value in zip(("HTTP_ORIGIN", "HTTP_ACCESS_CONTROL_REQUEST_METHOD",
                           "HTTP_ACCESS_CONTROL_REQUEST_HEADERS",
                           "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK"), args[1:]):
        if value is not None:
            environ[key] = value
    results = [_outcome(lambda m=m: m.wsgi_decide(policy, dict(environ)))
               for m in (c_adapters, py_adapters)]
    if results[0] != results[1]:
        _fail("wsgi_decide: the adapters disagree", args, *results)

    decision = py_adapters.asgi_decide(policy, {"method": "GET", "headers": [
        (b"origin", _raw(args[1]))] if args[1] is not None else []})
    sent_by: list[Any] = []
    for module in (c_adapters, py_adapters):
        app_headers: list[Any] = [APP_HEADERS[i] for i in range(4) if shape & (1 << i)]
        app_headers.append((_name(b"vary", shape >> 4), b"cookie"))
        if shape & 0x1000:
            app_headers.insert(0, Shrinking(app_headers, (b"x-b", b"2")))
        message = {"type": Kind.START if shape & 0x20 else "http.response.start",
                   "status": 200, "headers": app_headers}
        before = dict(message)
        sent: list[Any] = []
        hook = module.SendHook(sent.append, decision.raw_headers)
        send = hook.deliver if shape & 0x40 else hook  # as the middleware hands it on
        first = _outcome(lambda h=send, msg=message: h(msg))
        again = _outcome(lambda h=send, msg=message: h(msg))  # a reused dict
        if message != before or message["headers"] is not before["headers"]:
            _fail("the application's start message was changed", args, shape)
        text = [(bytes(n).decode("latin-1") if isinstance(n, (bytes, bytearray))
                 else str(n), v.decode("latin-1")) for n, v in APP_HEADERS]
        applied = _outcome(lambda m=module, t=text: m.apply_text(list(t), decision.headers))
        sent_by.append((first, again, hook.started, _norm(sent), applied))
    if sent_by[0] != sent_by[1]:
        _fail("the send hooks disagree", args, shape, *sent_by)
