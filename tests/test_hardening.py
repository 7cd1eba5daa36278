"""Credentialed policies that trust strangers, the Public Suffix List, and
policies that can allow nothing (docs/spec.md "Origin entries", rules 10
and 12), on both engines through the public API."""

from __future__ import annotations

import importlib.util
import ipaddress
import pickle
import re
import warnings
from importlib import resources
from pathlib import Path
from types import ModuleType

import pytest
from conftest import ENGINES
from hypothesis import given, settings
from hypothesis import strategies as st

from corsfast import ConfigError, Policy, PolicyWarning, Reason, Router
from corsfast._audit import audit
from corsfast._suffixes import is_public_suffix, is_shared_suffix, registrable_domain

ROOT = Path(__file__).resolve().parent.parent


# -- plain-http origins with credentials -------------------------------------------

@pytest.mark.parametrize("entry", [
    "http://app.example.com", "http://app.example.com:8080", "http://app.example.com:*",
    "http://*.example.com", "http://*.example.com:*", "http://10.0.0.1",
    "http://[2001:db8::1]", "http://localhost.",
    "http://example.com.",
])
def test_a_plain_http_origin_with_credentials_needs_the_opt_in(entry: str) -> None:
    with pytest.raises(ConfigError) as info:
        Policy(allow_origins=[entry], allow_credentials=True)
    (message,) = info.value.errors
    assert message.startswith(f"allow_origins[0] {entry!r}: a plain-http origin")
    # The fix is named: the https spelling, and the opt-in.
    assert f"use '{entry.replace('http://', 'https://')}'" in message
    assert "allow_insecure_origins=True" in message
    # Without credentials, and with https, nothing to object to.
    Policy(allow_origins=[entry])
    Policy(allow_origins=[entry.replace("http://", "https://")], allow_credentials=True)


@pytest.mark.parametrize("entry", [
    "http://localhost", "http://localhost:3000", "http://localhost:*",
    "http://app.localhost", "http://app.localhost:8000", "http://*.app.localhost",
    "http://127.0.0.1", "http://127.0.0.1:8000", "http://127.255.0.9:*", "http://[::1]",
    "http://[::1]:8080",
])
def test_loopback_is_a_secure_context_even_over_http(engine: ModuleType,
                                                     entry: str) -> None:
    policy = Policy(allow_origins=[entry], allow_credentials=True)
    origin = entry.replace(":*", ":9999").replace("*", "x")
    decision = engine.check_request(policy, "GET", origin)
    assert decision.allowed, (origin, decision)
    assert audit(policy)[0].severity == "low"


def test_the_insecure_opt_in_allows_and_the_audit_rates_it_high(
        engine: ModuleType) -> None:
    policy = Policy(allow_origins=["http://app.example.com"], allow_credentials=True,
                    allow_insecure_origins=True)
    decision = engine.check_request(policy, "GET", "http://app.example.com")
    assert decision.allowed and decision.reason is Reason.ALLOWED
    assert ("access-control-allow-credentials", "true") in decision.headers
    (finding,) = audit(policy)
    assert (finding.code, finding.severity) == ("http-with-credentials", "high")
    assert "allow_insecure_origins=True" in finding.message


# -- public-suffix patterns with credentials ---------------------------------------

@pytest.mark.parametrize("entry", [
    "https://*.github.io", "https://*.co.uk", "https://*.herokuapp.com",
    "https://*.s3.amazonaws.com", "https://*.pages.dev", "https://*.foo.ck",
    "https://*.com.ru", "https://*.github.io:*", "https://*.co.uk:8443",
])
def test_a_public_suffix_pattern_with_credentials_needs_the_opt_in(entry: str) -> None:
    with pytest.raises(ConfigError) as info:
        Policy(allow_origins=[entry], allow_credentials=True)
    (message,) = info.value.errors
    base = entry.split("*.", 1)[1].split(":", 1)[0]
    assert f"'{base}' is a public suffix" in message
    assert f"'https://yourapp.{base}'" in message
    assert "allow_public_suffix_patterns=True" in message
    Policy(allow_origins=[entry])  # legal without credentials (the audit warns)
    opted = Policy(allow_origins=[entry], allow_credentials=True,
                   allow_public_suffix_patterns=True)
    assert {(f.code, f.severity) for f in audit(opted)} == {("shared-hosting", "high")}


@pytest.mark.parametrize("entry", [
    "https://*.example.com", "https://*.example.co.uk", "https://*.me.github.io",
    "https://*.www.ck", "https://*.example.com:*",
])
def test_a_pattern_under_a_registrable_domain_is_fine(engine: ModuleType,
                                                      entry: str) -> None:
    policy = Policy(allow_origins=[entry], allow_credentials=True)
    origin = entry.replace("*", "a").replace(":a", ":8443")
    assert engine.check_request(policy, "GET", origin).allowed


def test_both_problems_are_reported_in_one_error() -> None:
    with pytest.raises(ConfigError) as info:
        Policy(allow_origins=["http://a.example.com", "https://*.github.io",
                              "https://ok.example.com", "https://x.com/"],
               allow_credentials=True)
    assert [e.split(":", 1)[0] for e in info.value.errors] == [
        "allow_origins[0] 'http", "allow_origins[1] 'https", "allow_origins[3] 'https"]


def test_the_opt_ins_are_arguments_like_any_other() -> None:
    policy = Policy(allow_origins=["http://a.example.com", "https://*.github.io"],
                    allow_credentials=True, allow_insecure_origins=True,
                    allow_public_suffix_patterns=True)
    assert pickle.loads(pickle.dumps(policy)) == policy
    assert policy != Policy(allow_origins=["http://a.example.com", "https://*.github.io"],
                            allow_credentials=True, allow_insecure_origins=True,
                            allow_public_suffix_patterns=True, max_age=1)
    assert "allow_insecure_origins=True" in repr(policy)
    assert "allow_insecure_origins" not in repr(Policy(allow_origins=["https://a.com"]))
    mapping = {"allow_origins": ["http://a.example.com"], "allow_credentials": True,
               "allow_insecure_origins": True}
    assert Policy.from_mapping(mapping) == Policy(**mapping)
    with pytest.raises(ConfigError, match="allow_insecure_origins: expected True or False"):
        Policy(allow_origins=["https://a.com"], allow_insecure_origins="yes")  # type: ignore[arg-type]


def test_drop_ins_keep_accepting_what_their_peer_accepts_with_a_warning() -> None:
    from corsfast.contrib.starlette import STARLETTE

    with pytest.warns(PolicyWarning, match="starlette accepts it, and so does this drop-in"):
        policy = Policy(allow_origins=["http://app.example.com"], allow_credentials=True,
                        dialect=STARLETTE)
    assert policy.check("GET", "http://app.example.com").allowed
    # The dialect covers plain http only: a public-suffix pattern is still refused.
    with pytest.raises(ConfigError, match="public suffix"):
        Policy(allow_origins=["https://*.github.io"], allow_credentials=True,
               dialect=STARLETTE)


# -- the Public Suffix List as package data ----------------------------------------

def test_the_suffix_list_follows_its_rules() -> None:
    # Plain rules, both sections; a wildcard rule and its exception.
    for suffix in ("com", "co.uk", "github.io", "s3.amazonaws.com", "foo.ck",
                   "xn--p1ai", "localhost"):
        assert is_public_suffix(suffix), suffix
    for name in ("example.com", "example.co.uk", "me.github.io", "www.ck"):
        assert not is_public_suffix(name), name
    assert registrable_domain("a.b.example.co.uk") == "example.co.uk"
    assert registrable_domain("x.me.github.io") == "me.github.io"
    assert registrable_domain("github.io") == "github.io"
    assert registrable_domain("a.www.ck") == "www.ck"
    assert is_shared_suffix("GitHub.IO.") and not is_shared_suffix("127.0.0.1")
    assert not is_shared_suffix("[::1]")


def test_the_suffix_list_ships_with_the_package() -> None:
    # Read from the package as imported (installed, or the checkout).
    text = resources.files("corsfast").joinpath("public_suffixes.txt").read_text(
        encoding="utf-8")
    rules = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert len(rules) > 5000 and rules == sorted(rules)
    assert all(rule.isascii() and rule == rule.lower() for rule in rules)
    assert "Mozilla Public" in text
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"public_suffixes.txt"' in pyproject


def _refresh_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "refresh_public_suffixes", ROOT / "scripts" / "refresh_public_suffixes.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_refresh_script_writes_the_compact_form() -> None:
    script = _refresh_script()
    sample = ("// comment\n// VERSION: 2026-01-01\n\ncom\n*.ck\n!www.ck\n"
              "\u0440\u0444\nm\u00f8re-og-romsdal.no\n  co.uk   trailing words\ncom\n")
    assert script.rules(sample) == ["!www.ck", "*.ck", "co.uk", "com",
                                    "xn--mre-og-romsdal-qqb.no", "xn--p1ai"]
    assert script.version(sample) == "2026-01-01"


# -- a policy that can allow no origin ---------------------------------------------

def _no_app(*args: object) -> None:
    raise AssertionError("not called")


def test_middleware_warns_once_about_a_policy_that_allows_nothing() -> None:
    from corsfast.asgi import CORSMiddleware as ASGIMiddleware
    from corsfast.wsgi import CORSMiddleware as WSGIMiddleware

    for build in (lambda **kw: ASGIMiddleware(_no_app, **kw),
                  lambda **kw: WSGIMiddleware(_no_app, **kw)):
        with pytest.warns(PolicyWarning, match="allows no origin at all") as caught:
            build(allow_methods=["GET"])
        assert len(caught) == 1
        # The warning points at the caller's line, not corsfast's.
        assert Path(caught[0].filename).name == "test_hardening.py"
        with warnings.catch_warnings():
            warnings.simplefilter("error", PolicyWarning)
            build(allow_origins=["https://a.example.com"])
            build(allow_origin_regex=r"https://a\.example\.com")
            build(allow_origin_predicate=lambda origin: True)
            build(policy=Router({"/a": Policy(), "/b": Policy(allow_origins="*")}))
        with pytest.warns(PolicyWarning, match="allows no origin"):
            build(policy=Router({"/a": Policy(), "/b": Policy()}))


def test_a_policy_alone_that_allows_nothing_is_legal(engine: ModuleType) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", PolicyWarning)
        policy = Policy()
    decision = engine.check_request(policy, "GET", "https://a.example.com")
    assert decision.reason is Reason.ORIGIN_NOT_ALLOWED


def test_drop_ins_warn_about_a_policy_that_allows_nothing() -> None:
    from corsfast.contrib.falcon import CORSMiddleware as FalconMiddleware
    from corsfast.contrib.starlette import CORSMiddleware as StarletteMiddleware

    with pytest.warns(PolicyWarning, match="allows no origin"):
        StarletteMiddleware(_no_app)
    with pytest.warns(PolicyWarning, match="allows no origin"):
        FalconMiddleware(allow_origins=[])  # Falcon's default is "*"
    import flask

    from corsfast.contrib.flask import CORS

    with pytest.warns(PolicyWarning, match="allows no origin") as caught:
        CORS(flask.Flask(__name__), origins=[])
    assert len(caught) == 1
    with pytest.warns(PolicyWarning, match="contrib.flask: the policy allows no origin"):
        CORS(flask.Blueprint("bp", __name__), origins=[])
    with pytest.warns(PolicyWarning, match="contrib.flask: the policy allows no origin") as caught:
        CORS(flask.Flask(__name__), resources={r"/api/.*": {"origins": []},
                                               r"/b/.*": {"origins": []}})
    assert len(caught) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", PolicyWarning)
        CORS(flask.Flask(__name__), resources={r"/api/.*": {"origins": []},
                                               r"/b/.*": {"origins": "https://a.com"}})


def test_a_policy_listing_no_methods_sends_no_allow_methods(engine: ModuleType) -> None:
    policy = Policy(allow_origins=["https://a.example.com"], allow_methods=())
    for method in ("GET", "HEAD", "POST"):
        decision = engine.check_request(policy, "OPTIONS", "https://a.example.com",
                                        request_method=method)
        assert decision.allowed, method
        assert "access-control-allow-methods" not in dict(decision.headers)
    refused = engine.check_request(policy, "OPTIONS", "https://a.example.com",
                                   request_method="PUT")
    assert refused.reason is Reason.METHOD_NOT_ALLOWED


# -- every origin a valid entry can match passes the request grammar --------------
# (docs/spec.md "The Origin header": the grammar runs before any table, regex
# or predicate, and must never turn away an origin an entry was written for.)

_DEFAULT_PORT = {"http": 80, "https": 443}
_label = st.from_regex(r"[a-z0-9_](?:[a-z0-9_-]{0,20}[a-z0-9_])?", fullmatch=True).filter(
    lambda label: not label.startswith("xn--"))
_sub_label = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True).filter(
    lambda label: not label.startswith("xn--"))
_tld = st.from_regex(r"[a-z][a-z0-9-]{0,8}[a-z]", fullmatch=True).filter(
    lambda label: not label.startswith("xn--"))
_name = st.builds(lambda labels, tld, dot: ".".join([*labels, tld]) + dot,
                  st.lists(_label, min_size=1, max_size=3), _tld, st.sampled_from(["", "."]))
_ipv4 = st.integers(0, 2**32 - 1).map(lambda n: str(ipaddress.IPv4Address(n)))
_ipv6 = st.integers(0, 2**128 - 1).map(lambda n: f"[{ipaddress.IPv6Address(n).compressed}]")
_punycode = st.sampled_from(["xn--bcher-kva.example", "xn--mnchen-3ya.de",
                             "app.xn--p1ai", "xn--80ak6aa92e.com"])


@st.composite
def entry_and_origin(draw: st.DrawFn) -> tuple[str, str]:
    scheme = draw(st.sampled_from(["https", "http", "app", "chrome-extension"]))
    kind = draw(st.sampled_from(["exact", "pattern", "any-port", "pattern-any-port"]))
    pattern = kind.startswith("pattern")
    host = draw(_name | _punycode if pattern else _name | _ipv4 | _ipv6 | _punycode)
    if pattern and host.rstrip(".").count(".") < 1:
        host = "base." + host
    default = _DEFAULT_PORT.get(scheme)
    port = draw(st.integers(1, 65535).filter(lambda p: p != default))
    explicit = draw(st.booleans())
    sub = ".".join(draw(st.lists(_sub_label, min_size=1, max_size=2)))
    shown = ("*." if pattern else "") + host
    sent = (f"{sub}." if pattern else "") + host
    if kind.endswith("any-port"):
        return f"{scheme}://{shown}:*", f"{scheme}://{sent}:{port}"
    suffix = f":{port}" if explicit else ""
    return f"{scheme}://{shown}{suffix}", f"{scheme}://{sent}{suffix}"


@settings(max_examples=300, deadline=None)
@given(entry_and_origin())
def test_every_origin_a_valid_entry_matches_is_allowed(pair: tuple[str, str]) -> None:
    entry, origin = pair
    policies = [Policy(allow_origins=[entry]),
                Policy(allow_origin_regex=re.escape(origin)),
                Policy(allow_origin_predicate=lambda value: value == origin)]
    for engine in ENGINES.values():
        for policy in policies:
            for sent in (origin, origin.encode("ascii")):
                decision = engine.check_request(policy, "GET", sent)
                assert decision.reason is Reason.ALLOWED, (entry, origin, decision)
                assert ("access-control-allow-origin", origin) in decision.headers
