"""Coverage-guided fuzz target for the compiled engine and adapter pieces
(atheris + libFuzzer).

Every input picks one of several policies and supplies all six arguments of
``check_request`` (method, Origin, Access-Control-Request-Method, -Headers,
-Private-Network), each as None, str, bytes, bytearray, a str subclass, a
non-text object, a long repetition or a mutation of a value the policy
knows. The compiled engine's decision must then

* equal the pure-Python twin's (``corsfast._engine_py.check_request`` on
  the same Policy object): the twin is the reference;
* keep docs/spec.md "Response invariants": never ``*`` with credentials, at most one
  access-control-allow-origin, ``credentials`` only ever ``true``;
* carry no CR, LF or NUL in any header (in fact only printable ASCII);
* echo nothing that was not matched: access-control-allow-origin is ``*``
  (static ``*`` policy only) or the request's own origin, and that origin
  is allowed by an independent restatement of docs/spec.md "Origin entries" (exact entries,
  subdomain patterns, any-port entries, full-match regex, predicate);
* be complete, too: a well-formed origin that the restatement allows is
  allowed on an actual request, and anything else is refused for the
  right reason (MALFORMED_REQUEST or ORIGIN_NOT_ALLOWED);
* list only tokens in access-control-allow-methods / -headers, each one
  either configured or asked for by the request.

When the input's spare byte asks for it, the same arguments also go
through the adapter pieces (fuzz/fuzz_adapters.py): the compiled ones must
give what their twins give. Policies in a drop-in's dialect are checked
against the twin and the response invariants only (the restatement of the
rules below is corsfast's own).

Run it with ``fuzz/run.sh SECONDS``, which builds an instrumented copy of
the extension so libFuzzer sees the compiled engine's branches.
``python fuzz/fuzz_engine.py --make-seeds DIR`` writes the seed inputs;
``python fuzz/fuzz_engine.py FILE...`` replays inputs (libFuzzer's usual
interface).

Input format (tolerant: missing bytes read as zero/empty): one byte picks
the policy, then six fields (method, origin, ACRM, ACRH, ACRPN, and one
spare that picks the ``str`` class for Policy.check), each a kind byte, a
two-byte little-endian length and that many payload bytes.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any, Callable, Optional

import atheris

with atheris.instrument_imports(include=["corsfast"]):
    from fuzz_adapters import c_adapters, check_adapters

    import corsfast
    from corsfast import Policy, Reason
    from corsfast import _engine_py as py_engine
    from corsfast._rules import DEFAULT_PORTS, FORBIDDEN_METHODS, TCHARS
    from corsfast.contrib.django import DJANGO
    from corsfast.contrib.flask import FLASK
    from corsfast.contrib.starlette import STARLETTE

try:
    from corsfast import _engine_c as c_engine
except ImportError:  # reported in main(): this target is for the extension
    c_engine = None  # type: ignore[assignment]

ACAO = "access-control-allow-origin"
ACAC = "access-control-allow-credentials"
ACAM = "access-control-allow-methods"
ACAH = "access-control-allow-headers"
ACAPN = "access-control-allow-private-network"
MAX_VALUE = 200_000


# -- the policies under test -------------------------------------------------------


def _predicate(origin: str) -> bool:
    if "boom" in origin:
        raise ValueError("a predicate that fails on some input")
    return origin.startswith("https://") and origin.endswith(".pred.example")


POLICY_ARGS: list[dict[str, Any]] = [
    dict(allow_origins=["https://app.example.com", "http://localhost:8080", "null",
                        "https://[::1]:8443", "http://10.0.0.1", "https://b\u00fccher.example"],
         allow_credentials=True, allow_insecure_origins=True,
         allow_methods=["PUT", "delete", "Custom"],
         allow_headers=["x-token", "content-type"], expose_headers=["x-total"],
         max_age=600),
    dict(allow_origins=["https://*.example.com", "http://localhost:*",
                        "https://*.dev.example.org:*", "https://*.example.net:8443"],
         allow_methods="*", allow_headers="*", allow_credentials=True,
         allow_private_network=True, expose_headers=["x-total", "x-page"]),
    dict(allow_origins="*", allow_methods="*", allow_headers="*", expose_headers="*",
         preflight_status=200, allow_private_network=True),
    dict(allow_origin_regex=r"https://[a-z0-9-]+\.tenant\.example\.com(:[0-9]+)?",
         allow_methods=["PUT"], allow_headers=["*", "authorization"], max_age=0),
    dict(allow_origin_predicate=_predicate, allow_origins=["https://app.example.com"],
         allow_methods=["PATCH", "PUT"], allow_credentials=True),
    dict(allow_origins=["https://app.example.com", "https://*.example.com:*",
                        "ws://*.chat.example"],
         allow_origin_regex=r"http://[a-z]+\.test",
         allow_origin_predicate=_predicate, allow_methods=["*", "PURGE"],
         allow_headers=["x-a", "*"], allow_credentials=True),
    dict(),  # nothing allowed at all
]
POLICIES = [Policy(**args) for args in POLICY_ARGS]
# Drop-ins' dialects: checked against the twin and the invariants of every
# response, not against the restatement of corsfast's own rules.
DIALECT_POLICIES = [
    Policy(allow_origins="*", allow_credentials=True, allow_methods=["PUT"],
           allow_headers=["X-Token", "Content-Type"], dialect=STARLETTE),
    Policy(allow_origins=["https://app.example.com", "https://*.example.com"],
           allow_methods=["GET", "PUT"], allow_headers=["x-token"],
           allow_header_regex=r"x-company-.*", expose_headers=["X-Total"],
           allow_credentials=True, allow_private_network=False, dialect=FLASK),
    Policy(allow_origins="*", dialect=FLASK),
    Policy(allow_origins=["https://app.example.com", "file://"],
           allow_origin_regex=r"https://[a-z]+\.example\.org", dialect=DJANGO),
]
ALL_POLICIES = POLICIES + DIALECT_POLICIES

# Values the fuzzer can start from (kind 6): known origins, tokens, bounds.
INTERESTING = [
    "https://app.example.com", "http://localhost:8080", "null", "https://[::1]:8443",
    "http://10.0.0.1", "https://xn--bcher-kva.example", "https://a.example.com",
    "http://localhost:", "https://a.dev.example.org:", "https://a.example.net:8443",
    "https://t1.tenant.example.com", "https://x.pred.example", "http://abc.test",
    "ws://a.chat.example", "https://", "http://", "OPTIONS", "GET", "PUT", "DELETE",
    "Custom", "PATCH", "PURGE", "CONNECT", "x-token", "x-token, content-type",
    "authorization", "cookie", "sec-", "proxy-", "true", ",", " ", "\t", "\r\n",
    "\x00", "*", ":443", ":80", ":0", ":65535", ":65536", ".", "..", "xn--",
    "https://app.example.com:8443", "https://a.b.example.com:1",
]


# -- an independent restatement of "Origin entries" and "The Origin header" --------


_SERIALIZED = re.compile(
    r"null|[a-z][a-z0-9+.\-]*://"
    r"(?:\[[0-9a-f:.]+\]|[a-z0-9_\-]+(?:\.[a-z0-9_\-]+)*\.?)(?::[0-9]+)?")


def well_formed(origin: str) -> bool:
    """docs/spec.md "The Origin header": a serialized origin of at most
    1024 bytes."""
    return len(origin) <= 1024 and _SERIALIZED.fullmatch(origin) is not None


def _port_re() -> str:
    return r"[1-9][0-9]{0,4}"


def _port_fine(scheme: str, port: str) -> bool:
    return int(port) <= 65535 and DEFAULT_PORTS.get(scheme) != int(port)


def build_oracle(policy: Policy) -> Callable[[str], bool]:
    """Whether "Origin entries" allow ``origin`` (already well-formed) under ``policy``."""
    exact: set[str] = set()
    patterns: list[tuple[re.Pattern[str], str]] = []
    any_origin = False
    for entry in policy.allow_origins:
        if entry == "*":
            any_origin = True
            continue
        scheme, rest = entry.split("://", 1) if "://" in entry else ("", entry)
        star_port = rest.endswith(":*")
        if star_port:
            rest = rest[:-2]
        sub = rest.startswith("*.")
        if not sub and not star_port:
            exact.add(entry)
            continue
        host = rest[2:] if sub else rest
        if sub and not star_port and ":" in host:
            base, port = host.split(":", 1)
            host_re = r"(?:[a-z0-9-]+\.)+" + re.escape(base) + re.escape(":" + port)
            patterns.append((re.compile(re.escape(scheme + "://") + host_re), ""))
            continue
        host_re = (r"(?:[a-z0-9-]+\.)+" if sub else "") + re.escape(host)
        if star_port:
            host_re += ":(" + _port_re() + ")"
        patterns.append((re.compile(re.escape(scheme + "://") + host_re),
                         scheme if star_port else ""))
    regex = policy.allow_origin_regex
    predicate = policy.allow_origin_predicate

    def allowed(origin: str) -> bool:
        if any_origin or origin in exact:
            return True
        for pattern, scheme in patterns:
            m = pattern.fullmatch(origin)
            if m and (not scheme or _port_fine(scheme, m.group(1))):
                return True
        if regex is not None and regex.fullmatch(origin):
            return True
        if predicate is not None:
            try:
                return bool(predicate(origin))
            except Exception:
                return False
        return False

    return allowed


ORACLES = [build_oracle(p) for p in POLICIES]


# -- decoding an input into arguments -----------------------------------------------


class _Str(str):
    """A str subclass that lies about equality and hashing."""

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return 0


class Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        self.pos += 1
        return self.data[self.pos - 1]

    def chunk(self) -> bytes:
        n = self.byte() | (self.byte() << 8)
        out = self.data[self.pos:self.pos + n]
        self.pos += len(out)
        return out


def decode_value(kind: int, payload: bytes) -> Any:
    kind %= 10
    if kind == 0:
        return None
    if kind == 1:
        return payload.decode("latin-1")
    if kind == 2:
        return payload
    if kind == 3:
        return payload.decode("utf-8", "surrogateescape")
    if kind == 4:
        return bytearray(payload)
    if kind == 5:  # a long value: the payload repeated
        if not payload:
            return ""
        unit = payload[1:] or b"a"
        times = min(payload[0] * 48 + 1, MAX_VALUE // len(unit) + 1)
        return (unit * times).decode("latin-1")
    if kind == 6:  # a known value, then the rest as a suffix
        if not payload:
            return INTERESTING[0]
        return INTERESTING[payload[0] % len(INTERESTING)] + payload[1:].decode("latin-1")
    if kind == 7:  # a prefix, then a known value
        if not payload:
            return INTERESTING[0]
        return payload[1:].decode("latin-1") + INTERESTING[payload[0] % len(INTERESTING)]
    if kind == 8:
        return _Str(payload.decode("latin-1"))
    return (0, 1.5, [payload], memoryview(payload), object())[len(payload) % 5]


def decode(data: bytes) -> tuple[int, list[Any], int]:
    r = Reader(data)
    index = r.byte() % len(ALL_POLICIES)
    values = []
    for _ in range(5):
        kind = r.byte()
        values.append(decode_value(kind, r.chunk()))
    spare = r.byte() | (r.byte() << 8) | (r.byte() << 16)
    return index, values, spare


def encode(index: int, fields: list[tuple[int, bytes]], spare: int = 0) -> bytes:
    """The inverse of ``decode`` (for seeds): fields are (kind, payload)."""
    out = bytearray([index])
    for kind, payload in fields:
        out.append(kind)
        out += len(payload).to_bytes(2, "little")
        out += payload
    out += (spare & 0xFFFFFF).to_bytes(3, "little")
    return bytes(out)


# -- the checks ---------------------------------------------------------------------


def _text(value: Any) -> Optional[str]:
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    return None


def _tokens(value: str) -> list[str]:
    items = [item.strip(" ") for item in value.split(",")]
    assert all(items), f"empty element in {value!r}"
    for item in items:
        assert item == "*" or all(ch in TCHARS for ch in item), f"not a token: {item!r}"
    return items


def _fail(message: str, *context: Any) -> None:
    raise AssertionError(message + "\n" + "\n".join(repr(c) for c in context))


def check_invariants(index: int, args: list[Any], d: Any) -> None:
    policy = POLICIES[index]
    method, origin, acrm, acrh, acrpn = args
    headers = d.headers
    names = [name for name, _ in headers]
    values = dict(headers)
    text = _text(origin)
    preflight = acrm is not None and origin is not None and _text(method) == "OPTIONS"

    assert type(d.allowed) is bool and type(d.preflight) is bool
    assert d.preflight is preflight, (d, args)
    for name, value in headers:
        assert type(name) is str and type(value) is str
        assert name == name.lower()
        if any(ch in value or ch in name for ch in "\r\n\x00"):
            _fail("CR, LF or NUL in a header", d, args)
        if not all(0x20 <= ord(ch) <= 0x7E for ch in name + value):
            _fail("a header value outside printable ASCII", d, args)
    # "Response invariants"
    if names.count(ACAO) > 1:
        _fail("two access-control-allow-origin headers", d, args)
    if values.get(ACAO) == "*" and ACAC in values:
        _fail("'*' with credentials", d, args)
    if ACAC in values and values[ACAC] != "true":
        _fail("credentials header other than 'true'", d, args)

    if origin is None:
        assert d.allowed and d.reason is Reason.NOT_CORS and d.status is None
        assert ACAO not in values or values[ACAO] == "*"
        return
    assert d.reason is not Reason.NOT_CORS
    formed = text is not None and well_formed(text)
    allowed_origin = formed and ORACLES[index](text)  # type: ignore[arg-type]

    # The origin part of the decision, for actual requests and preflights.
    if not formed:
        if d.allowed or d.reason is not Reason.MALFORMED_REQUEST:
            _fail("a malformed origin was not refused as MALFORMED_REQUEST", d, args)
    elif not allowed_origin:
        if d.allowed or d.reason is not Reason.ORIGIN_NOT_ALLOWED:
            _fail("an origin outside the policy was not refused as "
                  "ORIGIN_NOT_ALLOWED", d, args)
    elif not preflight and not d.allowed:
        _fail("an allowed origin was refused on an actual request", d, args)
    elif preflight and not d.allowed and d.reason not in (
            Reason.METHOD_NOT_ALLOWED, Reason.HEADERS_NOT_ALLOWED,
            Reason.PRIVATE_NETWORK_NOT_ALLOWED, Reason.MALFORMED_REQUEST):
        _fail("a preflight from an allowed origin refused for the origin", d, args)

    if not d.allowed:
        if any(name.startswith("access-control-") for name in names):
            _fail("a refusal carries access-control-* headers", d, args)
        assert d.status == (403 if preflight else None), (d, args)
        return

    assert d.reason is Reason.ALLOWED
    assert d.status == (policy.preflight_status if preflight else None)
    acao = values.get(ACAO)
    if acao is None:
        _fail("an allowed CORS request without access-control-allow-origin", d, args)
    elif acao == "*":
        if policy.allow_origins != ("*",) and "*" not in policy.allow_origins:
            _fail("'*' answered for a policy without '*'", d, args)
    elif acao != text:
        _fail("access-control-allow-origin is not the request's origin", d, args)
    if ACAC in values and not policy.allow_credentials:
        _fail("credentials header on a policy without credentials", d, args)
    if ACAPN in values and not (preflight and _text(acrpn) == "true"
                                and policy.allow_private_network):
        _fail("private network access granted without being asked and allowed",
              d, args)

    if ACAM in values:
        configured = policy.allow_methods
        asked = _text(acrm)
        for item in _tokens(values[ACAM]):
            if item.upper() in FORBIDDEN_METHODS:
                _fail("a forbidden method was allowed", d, args)
            if not (item in configured or item == "*" or item == asked):
                _fail("access-control-allow-methods lists an unknown method", d, args)
    if ACAH in values:
        configured = policy.allow_headers
        asked_text = _text(acrh) or ""
        asked_names = {n.strip(" \t").lower() for n in asked_text.split(",")}
        for item in _tokens(values[ACAH]):
            if not (item in configured or item == "*" or item in asked_names):
                _fail("access-control-allow-headers lists an unknown header", d, args)


def _signature(d: Any) -> tuple[Any, ...]:
    return (d.allowed, d.preflight, d.reason, d.status, tuple(d.headers),
            d.raw_headers, d.reasons)


def check_response(args: list[Any], d: Any) -> None:
    """What every answer keeps, whatever the dialect (docs/spec.md
    "Response invariants")."""
    values = dict(d.headers)
    names = [name for name, _ in d.headers]
    for name, value in d.headers:
        if not all(0x20 <= ord(ch) <= 0x7E for ch in name + value):
            _fail("a header outside printable ASCII", d, args)
    if names.count(ACAO) > 1 or (values.get(ACAO) == "*" and ACAC in values):
        _fail("two origins, or '*' with credentials", d, args)
    if ACAO in values and values[ACAO] not in ("*", _text(args[1])):
        _fail("access-control-allow-origin is not the request's origin", d, args)


def test_one_input(data: bytes) -> None:
    index, args, spare = decode(data)
    policy = ALL_POLICIES[index]
    dc = c_engine.check_request(policy, *args)
    dp = py_engine.check_request(policy, *args)
    if _signature(dc) != _signature(dp):
        _fail("the engines disagree", args, dc, dp)
    check_response(args, dc)
    if index < len(POLICIES):
        check_invariants(index, args, dc)
    if spare & 1:
        # The public entry point gives the same answer.
        assert _signature(policy.check(*args)) == _signature(dc)
    if spare & 2:
        check_adapters(policy, args, spare >> 2)


# -- seeds ------------------------------------------------------------------------------


def seeds() -> dict[str, bytes]:
    """A small corpus reaching every policy and every request path."""
    L = lambda s: s.encode("latin-1")  # noqa: E731
    out: dict[str, bytes] = {}

    def add(name: str, index: int, method: Any, origin: Any, acrm: Any = (0, b""),
            acrh: Any = (0, b""), acrpn: Any = (0, b""), spare: int = 1) -> None:
        fields = []
        for value in (method, origin, acrm, acrh, acrpn):
            fields.append(value if isinstance(value, tuple) else (1, L(value)))
        out[name] = encode(index, fields, spare)
        # the same request through the adapter pieces, in a few shapes
        for shape in (0, 0x155, 0x3300, 0x17000, 0x2f0f0):
            out[f"{name}-adapters-{shape:x}"] = encode(index, fields, 3 | (shape << 2))

    origins = {
        0: ["https://app.example.com", "http://localhost:8080", "null",
            "https://[::1]:8443", "https://xn--bcher-kva.example"],
        1: ["https://a.example.com", "http://localhost:3000", "https://x.dev.example.org:9",
            "https://a.example.net:8443"],
        2: ["https://anything.example"],
        3: ["https://t1.tenant.example.com", "https://t1.tenant.example.com:8080"],
        4: ["https://x.pred.example", "https://boom.pred.example", "https://app.example.com"],
        5: ["https://a.example.com:1", "http://abc.test", "ws://a.chat.example"],
        6: ["https://app.example.com"],
        7: ["https://evil.example", "null"],
        8: ["https://a.example.com", "https://app.example.com"],
        9: ["www.example.com", "https://anyone.example"],
        10: ["file://", "https://abc.example.org"],
    }
    hostile = ["https://evil.com", "https://app.example.com.evil.com",
               "https://app.example.com\r\nx: y", "https://app.example.com\x00",
               "HTTPS://APP.EXAMPLE.COM", "https://a_b.example.com", "",
               "https://app.example.com:443", "https://\u00e4.example.com"]
    for index, good in origins.items():
        for n, origin in enumerate(good + hostile):
            add(f"p{index}-actual-{n}", index, "GET", origin)
            add(f"p{index}-preflight-{n}", index, "OPTIONS", origin, "PUT",
                "x-token, content-type", "true")
        add(f"p{index}-noorigin", index, "GET", (0, b""))
        add(f"p{index}-bytes", index, (2, b"OPTIONS"), (2, L(good[0])), (2, b"PATCH"),
            (2, b"x-a"), (2, b"true"))
        add(f"p{index}-long-origin", index, "GET", (5, b"\x30" + L("a")))
        add(f"p{index}-long-acrh", index, "OPTIONS", good[0], "GET", (5, b"\x40x-a,"))
        add(f"p{index}-acrh-65", index, "OPTIONS", good[0], "GET", ",".join(["a"] * 65))
        add(f"p{index}-bad-acrm", index, "OPTIONS", good[0], "PU T", (0, b""))
        add(f"p{index}-connect", index, "OPTIONS", good[0], "connect")
        add(f"p{index}-cookie", index, "OPTIONS", good[0], "GET", "x-token, Cookie")
        add(f"p{index}-auth", index, "OPTIONS", good[0], "GET", "Authorization")
        add(f"p{index}-lying-str", index, "GET", (8, L("https://evil.com")))
        add(f"p{index}-object", index, "GET", (9, b"ab"))
        add(f"p{index}-suffix", index, "GET", (6, bytes([6]) + b".evil.com"))
        add(f"p{index}-prefix", index, "GET", (7, bytes([6]) + b"https://evil."))
    return out


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--make-seeds":
        os.makedirs(sys.argv[2], exist_ok=True)
        for name, data in seeds().items():
            with open(os.path.join(sys.argv[2], name), "wb") as f:
                f.write(data)
            test_one_input(data)  # every seed passes on its own
        print(f"wrote {len(seeds())} seeds to {sys.argv[2]}")
        return
    if c_engine is None or c_adapters is None or corsfast.ENGINE != "cython":
        sys.exit("fuzz_engine: the compiled engine did not load; build it first "
                 "(fuzz/run.sh does)")
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
