"""Both engines give identical decisions for random and hostile input, and
neither ever raises on request data (docs/spec.md "Public API")."""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any

import pytest
from conftest import ENGINES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corsfast import Policy, _engine, _engine_py
from corsfast._dialect import Dialect
from corsfast.contrib.starlette import STARLETTE

COMPILED: ModuleType | None = ENGINES.get("cython")
if COMPILED is None:
    # Only a pure installation (CORSFAST_NO_EXTENSIONS=1 and no extension
    # built) gets here; conftest fails the run when the extension should be.
    pytest.skip("no compiled engine in this installation", allow_module_level=True)

FLASKISH = Dialect("flaskish", always_allowed_methods=(), echo_request_headers=True,
                   allowed_request_headers_only=True, names_as_given=True,
                   vary_actual="Origin", vary_preflight="Origin",
                   expose_on_preflight=True, refused_preflight_status=200)

POLICIES = [
    Policy(allow_origins=["https://app.example.com", "https://*.example.org",
                          "http://localhost:*", "https://*.example.net:*", "null"],
           allow_methods=["GET", "PUT", "PROPFIND"],
           allow_headers=["content-type", "x-token"],
           expose_headers=["x-total"], max_age=60),
    Policy(allow_origins=["https://app.example.com"], allow_methods="*",
           allow_headers="*", allow_credentials=True, allow_private_network=True),
    # Only exact entries, a few (compared one by one) and many (hashed).
    Policy(allow_origins=["https://app.example.com", "null", "http://[::1]:8080",
                          "https://a.example.org"], expose_headers=["x-total"]),
    Policy(allow_origins=[f"https://t{i}.example.org" for i in range(20)]
           + ["https://app.example.com"]),
    Policy(allow_origins="*", allow_methods="*", allow_headers=["*", "authorization"],
           expose_headers="*", preflight_status=200),
    Policy(allow_origin_regex=r"https://[a-z0-9-]+\.regex\.test(:[0-9]+)?",
           allow_origin_predicate=lambda o: o.endswith(".pred.test"),
           allow_credentials=True),
    # Drop-in dialects: Starlette's (every refusal reason, spellings,
    # vary with "*", echoed headers) on a wildcard and on a list with
    # credentials, "*" with credentials reflecting, and a flask-cors-like one.
    Policy(allow_origins="*", allow_methods=["GET", "PUT", "PROPFIND"],
           allow_headers=["*", "authorization"], expose_headers=["X-Total"],
           dialect=dataclasses.replace(STARLETTE, echo_request_headers=True)),
    Policy(allow_origins=["https://app.example.com", "https://*.example.org", "null"],
           allow_methods=["PUT"], allow_headers=["Content-Type", "x-token"],
           allow_credentials=True, allow_private_network=True, dialect=STARLETTE),
    Policy(allow_origins="*", allow_credentials=True, allow_methods=["PUT"],
           dialect=STARLETTE),
    Policy(allow_origins=["https://app.example.com", "https://*.example.org"],
           allow_methods=["GET", "PUT"], allow_headers=["X-Token", "content-type"],
           expose_headers=["X-Total"], allow_credentials=True, max_age=5,
           dialect=FLASKISH),
]

HOSTILE = ["", "\r\n", "\x00", "\x0b", " ", ",", "\u2028", "\xff", "é", "*",
           "null", "https://app.example.com", "https://a.example.org",
           "OPTIONS", "true", "x-token", "X-Token, content-type, x-other",
           "a" * 100_000, "x-token," * 12_000]
FRAGMENTS = ["https://", "http://", "app", ".example.org", ".example.com",
             ".example.net", ":", "8080", "0", "443", "[", "]", "::1", "localhost",
             ".", "-", "_", "%60", "/", ".regex.test", ".pred.test", "\r\n", "\x00",
             "X", "é", ","]


class _Str(str):
    """A str subclass, as an application or server might hand over."""


texts = st.one_of(
    st.text(max_size=64),
    st.sampled_from(HOSTILE),
    st.lists(st.sampled_from(FRAGMENTS), max_size=8).map("".join),
    st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
)
values = st.one_of(st.none(), texts, texts.map(lambda s: s.encode("utf-8")),
                   texts.map(_Str), texts.map(lambda s: bytearray(s, "utf-8")),
                   st.binary(max_size=48), st.sampled_from([0, 1.5, object()]))
methods = st.one_of(st.sampled_from(["OPTIONS", "GET", "POST", "options", b"OPTIONS",
                                     _Str("OPTIONS"), bytearray(b"OPTIONS")]), texts)


def _assert_invariants(decision: Any) -> None:
    acao = [v for n, v in decision.headers if n == "access-control-allow-origin"]
    acac = [v for n, v in decision.headers if n == "access-control-allow-credentials"]
    assert len(acao) <= 1 and acac in ([], ["true"])
    assert not (acao == ["*"] and acac)
    for name, value in decision.headers:
        assert value.isascii() and value.isprintable(), (name, value)
    if not decision.allowed:
        assert not any(n.startswith("access-control-") for n, _ in decision.headers)
    assert decision.raw_headers == tuple(
        (n.encode("latin-1"), v.encode("latin-1")) for n, v in decision.headers)


def _same(compiled: Any, twin: Any) -> None:
    assert type(compiled).__module__ == "corsfast._engine_c"
    assert type(twin).__module__ == "corsfast._engine_py"
    assert compiled == twin
    fields = ("allowed", "preflight", "reason", "status", "headers", "raw_headers",
              "reasons")
    assert [getattr(compiled, f) for f in fields] == [getattr(twin, f) for f in fields]


def test_both_engines_are_under_test() -> None:
    assert COMPILED is not None and COMPILED is not _engine_py
    assert COMPILED.__file__.endswith((".so", ".pyd"))
    if not _engine.NO_EXTENSIONS:
        assert _engine.engine is COMPILED


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(POLICIES))), methods, values, values, values, values)
def test_engines_agree(index: int, method: Any, origin: Any, acrm: Any, acrh: Any,
                       acrpn: Any) -> None:
    policy = POLICIES[index]
    args = (method, origin, acrm, acrh, acrpn)
    compiled = COMPILED.check_request(policy, *args)  # type: ignore[union-attr]
    twin = _engine_py.check_request(policy, *args)
    _same(compiled, twin)
    _assert_invariants(compiled)
    # Asked again (the compiled engine's caches now hold it): the same.
    _same(COMPILED.check_request(policy, *args), twin)  # type: ignore[union-attr]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(range(len(POLICIES))),
       st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=10).map("".join))
def test_engines_agree_on_origin_shapes(index: int, origin: str) -> None:
    policy = POLICIES[index]
    for args in (("GET", origin), ("OPTIONS", origin, "PUT", "x-token", "true"),
                 ("GET", origin.encode("latin-1", "replace"))):
        compiled = COMPILED.check_request(policy, *args)  # type: ignore[union-attr]
        _same(compiled, _engine_py.check_request(policy, *args))
        _assert_invariants(compiled)
        for name, value in compiled.headers:
            if name == "access-control-allow-origin" and value != "*":
                assert value == origin  # echoed only because it matched


@pytest.mark.parametrize("policy", POLICIES, ids=range(len(POLICIES)))
def test_each_engine_checks_a_policy_built_for_the_other(policy: Policy) -> None:
    # A Policy holds the live engine's matcher; the other engine builds its
    # own from the same tables, once.
    for module in ENGINES.values():
        first = module.check_request(policy, "GET", "https://app.example.com")
        assert module.check_request(policy, "GET", "https://app.example.com") == first
