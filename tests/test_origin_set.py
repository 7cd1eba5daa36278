"""Origin sets: members added, removed and replaced while requests run
(docs/spec.md "Origin sets"; docs/origin-sets.md), on both engines.

The oracle throughout: a policy holding a set decides every request exactly
as a freshly built static Policy whose ``allow_origins`` are the set's
members at that moment would. Caches must never make the two differ.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import inspect
import io
import pickle
import random
import sys
import threading
import warnings
from types import ModuleType
from typing import Any, Iterator, Optional

import pytest
from conftest import ENGINES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import corsfast
import corsfast.asgi
import corsfast.wsgi
from corsfast import ConfigError, OriginSet, Policy, Reason, Router
from corsfast._audit import audit
from corsfast.contrib.starlette import STARLETTE

TENANT = "https://tenant.example.com"
OTHER = "https://other.example.net"


def _signature(d: Any) -> tuple[Any, ...]:
    return (d.allowed, d.preflight, d.reason, d.status, tuple(d.headers), d.reasons)


def _errors(excinfo: pytest.ExceptionInfo[ConfigError]) -> list[str]:
    return excinfo.value.errors


# -- validation ---------------------------------------------------------------------


@pytest.mark.parametrize(("entry", "words"), [
    ("https://app.example.com/", ["'https://app.example.com/'", "drop the trailing slash",
                                  "write 'https://app.example.com'"]),
    ("HTTPS://App.Example.com", ["lowercase", "'https://app.example.com'"]),
    ("https://app.example.com/path", ["drop the path"]),
    ("https://app.example.com:443", ["drop the default port 443"]),
    ("app.example.com", ["missing the scheme", "'https://app.example.com'"]),
    ("https://*.com", ["a subdomain pattern needs a base of at least two labels"]),
    ("https://a.*.example.com", ["'*' may only stand as the whole first label"]),
    ("https://[fe80::1%eth0]", ["zone id"]),
    ("*", ["'*'", "allow_origins='*'"]),
    ("null", ["'null'", "allow_origins"]),
    ("http://app.example.com", ["plain-http", "use 'https://app.example.com'",
                                "allow_insecure_origins=True"]),
    ("http://*.example.com:*", ["plain-http", "allow_insecure_origins=True"]),
    ("https://*.github.io", ["public suffix", "allow_public_suffix_patterns=True",
                             "'https://yourapp.github.io'"]),
    ("https://*.co.uk", ["public suffix"]),
    (42, ["must be a string"]),
])
def test_a_bad_entry_is_refused_everywhere_with_its_fix(entry: Any,
                                                        words: list[str]) -> None:
    origins = OriginSet([TENANT])
    for attempt, label in ((lambda: OriginSet([TENANT, entry]), "entries[1]"),
                           (lambda: origins.add(entry), "entry"),
                           (lambda: origins.replace([OTHER, entry]), "entries[1]")):
        with pytest.raises(ConfigError) as info:
            attempt()
        (message,) = _errors(info)
        assert message.startswith(f"{label} {entry!r}: "), message
        for word in words:
            assert word in message, (word, message)
    assert list(origins) == [TENANT]  # nothing was half-applied


def test_every_bad_entry_is_named_at_once_and_replace_changes_nothing() -> None:
    origins = OriginSet([TENANT])
    with pytest.raises(ConfigError) as info:
        origins.replace([OTHER, "https://a.com/", "http://b.com", "https://ok.example.org",
                         "*"])
    assert [e.split(" ", 1)[0] for e in _errors(info)] == [
        "entries[1]", "entries[2]", "entries[4]"]
    assert str(info.value).startswith("invalid origin set entries (3 problems):")
    assert list(origins) == [TENANT]


def test_opt_ins_by_name_accept_what_they_say_and_nothing_more() -> None:
    loose = OriginSet(["http://app.example.com", "https://*.github.io"],
                      allow_insecure_origins=True, allow_public_suffix_patterns=True)
    assert sorted(loose) == ["http://app.example.com", "https://*.github.io"]
    assert loose.allow_insecure_origins and loose.allow_public_suffix_patterns
    with pytest.raises(ConfigError, match="public suffix"):
        OriginSet(["https://*.github.io"], allow_insecure_origins=True)
    with pytest.raises(ConfigError, match="allow_insecure_origins: expected True or False"):
        OriginSet(allow_insecure_origins=1)  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        loose.allow_insecure_origins = False  # type: ignore[misc]


def test_loopback_over_http_needs_no_opt_in() -> None:
    origins = OriginSet(["http://localhost:*", "http://127.0.0.1:8000", "http://[::1]",
                         "http://*.app.localhost"])
    assert len(origins) == 4


@pytest.mark.parametrize("entries", ["https://a.example.com", b"https://a.example.com", 5])
def test_entries_must_be_an_iterable_of_origins(entries: Any) -> None:
    with pytest.raises(ConfigError, match="entries: expected an iterable of origins"):
        OriginSet(entries)


def test_discard_is_quiet_when_absent_and_loud_when_the_entry_is_not_valid() -> None:
    origins = OriginSet([TENANT])
    origins.discard(OTHER)  # absent: nothing to do
    origins.discard("http://insecure.example.com")  # valid, absent: no risk check
    with pytest.raises(ConfigError, match="drop the trailing slash"):
        origins.discard(TENANT + "/")  # a typo must never leave a tenant in silently
    assert list(origins) == [TENANT]
    origins.discard(TENANT)
    assert len(origins) == 0 and list(origins) == []


def test_a_unicode_host_is_stored_as_punycode_and_removed_either_way() -> None:
    origins = OriginSet(["https://bücher.example"])
    assert list(origins) == ["https://xn--bcher-kva.example"]
    assert "https://xn--bcher-kva.example" in origins
    origins.discard("https://bücher.example")
    assert len(origins) == 0


def test_policy_takes_only_an_origin_set_and_only_by_keyword() -> None:
    parameter = inspect.signature(Policy).parameters["allow_origin_set"]
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
    with pytest.raises(ConfigError) as info:
        Policy(allow_origin_set=[TENANT])  # type: ignore[arg-type]
    (message,) = _errors(info)
    assert message.startswith("allow_origin_set: expected a corsfast.OriginSet, got list")
    assert "corsfast.OriginSet(" in message
    assert "OriginSet" in corsfast.__all__ and corsfast.OriginSet is OriginSet


# -- membership, iteration, repr ----------------------------------------------------


def test_membership_follows_the_entry_rules() -> None:
    origins = OriginSet([TENANT, "https://*.shop.example.org", "https://*.eu.example.org:*",
                         "http://localhost:*", "https://api.example.org:8443"])
    yes = [TENANT, "https://a.shop.example.org", "https://a.b.shop.example.org",
           "https://x.eu.example.org:9000", "http://localhost:3000",
           "https://api.example.org:8443", "https://a-b.shop.example.org"]
    no = ["https://shop.example.org", "https://a_b.shop.example.org",
          "https://a.shop.example.org:8443", "https://x.eu.example.org",
          "http://localhost", "https://api.example.org", TENANT + "/", TENANT.upper(),
          TENANT + ".evil.com", "https://eviltenant.example.com", "", "null", None,
          TENANT.encode(), "https://x.eu.example.org:443", "https://x.eu.example.org:080"]
    assert [o for o in yes if o not in origins] == []
    assert [o for o in no if o in origins] == []
    assert len(origins) == 5
    assert sorted(origins) == sorted(["https://api.example.org:8443", TENANT,
                                      "https://*.shop.example.org",
                                      "https://*.eu.example.org:*", "http://localhost:*"])


class _Str(str):
    pass


def test_membership_of_a_str_subclass_is_that_of_its_text() -> None:
    assert _Str(TENANT) in OriginSet([TENANT])


def test_repr_lists_a_small_set_sorted_and_counts_a_large_one() -> None:
    assert repr(OriginSet([OTHER, TENANT])) == f"OriginSet([{OTHER!r}, {TENANT!r}])"
    assert repr(OriginSet(["http://a.example.com"], allow_insecure_origins=True)) == (
        "OriginSet(['http://a.example.com'], allow_insecure_origins=True)")
    big = OriginSet([f"https://t{i}.example.com" for i in range(100)])
    assert repr(big) == "OriginSet(<100 entries>)"


def test_copies_of_a_set_are_independent_and_pickles_are_snapshots() -> None:
    origins = OriginSet([TENANT, "https://*.example.org"], allow_insecure_origins=True)
    for other in (copy.copy(origins), copy.deepcopy(origins), origins.copy(),
                  pickle.loads(pickle.dumps(origins))):
        assert other is not origins
        assert sorted(other) == sorted(origins)
        assert other.allow_insecure_origins
        other.add(OTHER)
        assert OTHER not in origins


# -- decisions on both engines ---------------------------------------------------------


def test_add_discard_replace_decide_actual_requests_and_preflights(
        engine: ModuleType) -> None:
    origins = OriginSet()
    policy = Policy(allow_origin_set=origins, allow_methods=["PUT"],
                    allow_headers=["x-token"], allow_credentials=True, max_age=60)
    check = engine.check_request

    def actual(origin: Any) -> Any:
        return check(policy, "GET", origin)

    def flight(origin: Any) -> Any:
        return check(policy, "OPTIONS", origin, "PUT", "x-token")

    assert actual(TENANT).reason is Reason.ORIGIN_NOT_ALLOWED
    assert flight(TENANT).reason is Reason.ORIGIN_NOT_ALLOWED
    origins.add(TENANT)
    d = actual(TENANT)
    assert d.allowed and d.headers == (
        ("access-control-allow-origin", TENANT),
        ("access-control-allow-credentials", "true"), ("vary", "origin"))
    assert actual(TENANT.encode()).headers == d.headers
    p = flight(TENANT)
    assert p.allowed and p.status == 204
    assert ("access-control-allow-origin", TENANT) in p.headers
    assert ("access-control-max-age", "60") in p.headers
    assert check(policy, "OPTIONS", TENANT, "DELETE").reason is Reason.METHOD_NOT_ALLOWED

    origins.replace(["https://*.example.net"])
    assert not actual(TENANT).allowed and not flight(TENANT).allowed
    assert actual(OTHER).allowed and flight(OTHER.encode()).allowed
    assert not actual("https://example.net").allowed
    origins.discard("https://*.example.net")
    assert not actual(OTHER).allowed and not flight(OTHER).allowed
    assert actual(None).reason is Reason.NOT_CORS


def test_the_policy_tables_come_first_and_the_predicate_last(engine: ModuleType) -> None:
    asked: list[str] = []

    def predicate(origin: str) -> bool:
        asked.append(origin)
        return origin == "https://pred.example.org"

    origins = OriginSet([TENANT, "https://*.example.net"])
    policy = Policy(allow_origins=["https://own.example.com"], allow_origin_set=origins,
                    allow_origin_predicate=predicate)
    for origin in ("https://own.example.com", TENANT, OTHER):
        assert engine.check_request(policy, "GET", origin).allowed
    assert asked == []  # decided by the tables or the set: the predicate never ran
    assert engine.check_request(policy, "GET", "https://pred.example.org").allowed
    assert not engine.check_request(policy, "GET", "https://nobody.example.org").allowed
    assert asked == ["https://pred.example.org", "https://nobody.example.org"]
    # The policy's own entry stays when the set drops everything.
    origins.replace([])
    assert engine.check_request(policy, "GET", "https://own.example.com").allowed
    assert not engine.check_request(policy, "GET", TENANT).allowed


def test_malformed_origins_never_reach_the_set(engine: ModuleType) -> None:
    origins = OriginSet(["https://*.example.com"])
    policy = Policy(allow_origin_set=origins)
    for origin in ("https://evil.com/.example.com", "https://a.example.com\r\n",
                   "https://A.example.com", "", "\xff", "https://a..example.com"):
        d = engine.check_request(policy, "GET", origin)
        assert not d.allowed, origin


# The cache regression: an answer the set took part in is never served again
# after the set changed, on any cached path (str and bytes origins, repeated
# preflights, refusals seen before), for a plain policy, one with credentials
# and private network, a few exact origins of its own (compared one by one),
# and a drop-in dialect.
CACHE_POLICIES = [
    dict(),
    dict(allow_credentials=True, allow_private_network=True, allow_methods="*",
         allow_headers="*"),
    dict(allow_origins=["https://own.example.com", "https://own2.example.com"]),
    dict(allow_origins=["https://own.example.com"], dialect=STARLETTE,
         allow_headers=["x-token"]),
    dict(allow_origin_regex=r"https://[a-z]+\.regex\.test"),
]


@pytest.mark.parametrize("kwargs", CACHE_POLICIES, ids=range(len(CACHE_POLICIES)))
def test_a_discard_is_seen_by_the_very_next_request(engine: ModuleType,
                                                    kwargs: dict[str, Any]) -> None:
    origins = OriginSet([TENANT, "https://*.example.net"])
    policy = Policy(allow_origin_set=origins, **kwargs)
    check = engine.check_request
    requests: list[tuple[Any, ...]] = []
    for origin in (TENANT, TENANT.encode(), OTHER, OTHER.encode()):
        requests += [("GET", origin), ("POST", origin, None, None, "true"),
                     ("OPTIONS", origin, "GET"), ("OPTIONS", origin, "GET", "x-token"),
                     ("OPTIONS", origin.decode() if isinstance(origin, bytes) else origin,
                      "PUT", None, "true")]
    for request in requests:
        for _ in range(50):  # warm every cache there is
            assert check(policy, *request).allowed or request[0] == "OPTIONS"
    allowed = {r: check(policy, *r).allowed for r in requests}
    assert allowed[("GET", TENANT)] and allowed[("GET", OTHER.encode())]

    origins.discard(TENANT)
    origins.discard("https://*.example.net")
    for request in requests:
        d = check(policy, *request)
        assert not d.allowed and d.reason in (Reason.ORIGIN_NOT_ALLOWED,), (request, d)
        assert not any(name == "access-control-allow-origin" for name, _ in d.headers)

    # And back: a refusal seen many times is not served after an add either.
    for request in requests:
        for _ in range(50):
            check(policy, *request)
    origins.replace([TENANT, "https://*.example.net"])
    assert {r: check(policy, *r).allowed for r in requests} == allowed


def test_own_exact_origins_stay_cached_and_allowed(engine: ModuleType) -> None:
    origins = OriginSet(["https://own.example.com"])
    policy = Policy(allow_origins=["https://own.example.com"], allow_origin_set=origins)
    first = engine.check_request(policy, "GET", "https://own.example.com")
    origins.discard("https://own.example.com")
    assert engine.check_request(policy, "GET", "https://own.example.com") == first
    assert first.allowed


def test_a_loose_dialect_hands_the_set_serialized_origins_only(engine: ModuleType) -> None:
    loose = dataclasses.replace(corsfast._dialect.CORSFAST, name="loose",
                                loose_origin_syntax=True)
    origins = OriginSet(["https://*.example.com"])
    policy = Policy(allow_origin_set=origins, dialect=loose)
    assert engine.check_request(policy, "GET", "https://a.example.com").allowed
    assert not engine.check_request(policy, "GET", "https://a.example.com/x").allowed
    assert engine.check_request(policy, "GET", "not an origin").reason in (
        Reason.MALFORMED_REQUEST, Reason.ORIGIN_NOT_ALLOWED)


# -- a Policy holding a set: value semantics --------------------------------------------


def test_policy_repr_equality_hash_copy_and_pickle_with_a_set() -> None:
    origins = OriginSet([TENANT])
    policy = Policy(allow_origins=["https://own.example.com"], allow_origin_set=origins)
    assert repr(policy).startswith(
        f"Policy(allow_origins=('https://own.example.com',), "
        f"allow_origin_set=OriginSet([{TENANT!r}]), allow_methods=")
    # Identity, like the predicate: the same set is equal, a twin set is not.
    same = Policy(allow_origins=["https://own.example.com"], allow_origin_set=origins)
    twin = Policy(allow_origins=["https://own.example.com"],
                  allow_origin_set=OriginSet([TENANT]))
    assert policy == same and hash(policy) == hash(same)
    assert policy != twin
    assert policy != Policy(allow_origins=["https://own.example.com"])
    assert policy.arguments()["allow_origin_set"] is origins
    # A copy is the policy itself: the set is shared by reference.
    for other in (copy.copy(policy), copy.deepcopy(policy)):
        assert other is policy and other.allow_origin_set is origins
    with pytest.raises(AttributeError):
        policy.allow_origin_set = None  # type: ignore[misc]
    # A pickle carries a snapshot: a new set of its own, detached.
    thawed = pickle.loads(pickle.dumps(policy))
    assert thawed.allow_origin_set is not origins
    assert list(thawed.allow_origin_set) == [TENANT]
    assert thawed != policy  # another set, so another policy
    assert repr(thawed) == repr(policy)
    origins.discard(TENANT)
    assert thawed.check("GET", TENANT).allowed and not policy.check("GET", TENANT).allowed
    # One pickle of a policy and its set keeps them together.
    p2, s2 = pickle.loads(pickle.dumps((policy, origins)))
    assert p2.allow_origin_set is s2


def test_a_policy_with_only_a_set_does_not_warn_about_allowing_nothing() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        corsfast.asgi.CORSMiddleware(_asgi_app, policy=Policy(allow_origin_set=OriginSet()))
        corsfast.wsgi.CORSMiddleware(_wsgi_app, allow_origin_set=OriginSet())
        corsfast.asgi.CORSMiddleware(_asgi_app, policy=Router(
            {"/": Policy(allow_origin_set=OriginSet())}))
    with pytest.warns(corsfast.PolicyWarning, match="allows no origin"):
        corsfast.asgi.CORSMiddleware(_asgi_app, policy=Policy())


def test_the_audit_reports_the_set_and_rates_its_opt_ins() -> None:
    plain = audit(Policy(allow_origin_set=OriginSet([TENANT, "https://*.example.org"]),
                         allow_credentials=True))
    assert [(f.code, f.severity) for f in plain] == [("origin-set", "low")]
    assert "1 exact, 1 pattern now" in plain[0].message
    risky = OriginSet(["http://app.example.com", "https://*.github.io", TENANT],
                      allow_insecure_origins=True, allow_public_suffix_patterns=True)
    found = {f.code: f for f in audit(Policy(allow_origin_set=risky,
                                             allow_credentials=True))}
    assert found["http-with-credentials"].severity == "high"
    assert found["http-with-credentials"].examples == ("http://app.example.com",)
    assert found["shared-hosting"].severity == "high"
    assert found["shared-hosting"].examples == ("https://*.github.io",)
    without = {f.code: f.severity for f in audit(Policy(allow_origin_set=risky))}
    assert without == {"origin-set": "low", "shared-hosting": "medium"}


# -- the real middleware, end to end ----------------------------------------------------


async def _asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def _asgi(app: Any, method: str, origin: Optional[str],
          acrm: Optional[str] = None) -> tuple[int, dict[str, str]]:
    headers = [(b"host", b"api.example.com")]
    if origin is not None:
        headers.append((b"origin", origin.encode("latin-1")))
    if acrm is not None:
        headers.append((b"access-control-request-method", acrm.encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "https", "path": "/", "raw_path": b"/",
             "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000)}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = sent[0]
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}


def _wsgi(app: Any, method: str, origin: Optional[str],
          acrm: Optional[str] = None) -> tuple[int, dict[str, str]]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method, "PATH_INFO": "/", "SCRIPT_NAME": "",
        "QUERY_STRING": "", "SERVER_NAME": "api.example.com", "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.version": (1, 0), "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(), "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False}
    if origin is not None:
        environ["HTTP_ORIGIN"] = origin
    if acrm is not None:
        environ["HTTP_ACCESS_CONTROL_REQUEST_METHOD"] = acrm
    got: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None
                       ) -> Any:
        got["status"], got["headers"] = int(status.split()[0]), dict(headers)
        return lambda data: None

    body = app(environ, start_response)
    b"".join(body)
    getattr(body, "close", lambda: None)()
    return got["status"], {k.lower(): v for k, v in got["headers"].items()}


@pytest.mark.parametrize("serve", [_asgi, _wsgi], ids=["asgi", "wsgi"])
def test_the_middleware_follows_the_set_request_by_request(serve: Any) -> None:
    origins = OriginSet()
    policy = Policy(allow_origin_set=origins, allow_methods=["PUT"], allow_credentials=True)
    module = corsfast.asgi if serve is _asgi else corsfast.wsgi
    app = module.CORSMiddleware(_asgi_app if serve is _asgi else _wsgi_app, policy=policy)
    acao = "access-control-allow-origin"

    status, headers = serve(app, "GET", TENANT)
    assert status == 200 and acao not in headers and headers["vary"] == "origin"
    assert serve(app, "OPTIONS", TENANT, "PUT")[0] == 403

    origins.add("https://*.example.com")
    for _ in range(3):
        status, headers = serve(app, "GET", TENANT)
        assert status == 200 and headers[acao] == TENANT
        assert headers["access-control-allow-credentials"] == "true"
        status, headers = serve(app, "OPTIONS", TENANT, "PUT")
        assert status == 204 and headers[acao] == TENANT
        assert headers["access-control-allow-methods"] == "PUT"

    origins.discard("https://*.example.com")
    status, headers = serve(app, "GET", TENANT)
    assert status == 200 and acao not in headers
    status, headers = serve(app, "OPTIONS", TENANT, "PUT")
    assert status == 403 and acao not in headers

    origins.replace([TENANT])
    assert serve(app, "GET", TENANT)[1][acao] == TENANT
    assert acao not in serve(app, "GET", "https://a.example.com")[1]


@pytest.mark.parametrize("serve", [_asgi, _wsgi], ids=["asgi", "wsgi"])
def test_a_set_survives_reconfigure_and_its_answers_are_counted(serve: Any) -> None:
    origins = OriginSet([TENANT])
    module = corsfast.asgi if serve is _asgi else corsfast.wsgi
    app = module.CORSMiddleware(_asgi_app if serve is _asgi else _wsgi_app,
                                policy=Policy(allow_origins=["https://own.example.com"]))
    assert "access-control-allow-origin" not in serve(app, "GET", TENANT)[1]
    app.reconfigure(Policy(allow_origin_set=origins))
    assert serve(app, "GET", TENANT)[1]["access-control-allow-origin"] == TENANT
    origins.discard(TENANT)
    assert "access-control-allow-origin" not in serve(app, "GET", TENANT)[1]
    assert app.stats()["actual"] == {"ORIGIN_NOT_ALLOWED": 2, "ALLOWED": 1}


# -- both engines agree, and agree with a static policy, while the set changes ---------

COMPILED = ENGINES.get("cython")
TWIN = ENGINES["python"]

ENTRIES = ["https://a.example.com", "https://*.example.com", "https://*.b.example.com:*",
           "http://localhost:*", "https://c.example.org:8443", "https://*.example.org",
           "https://d.example.net", "https://[2001:db8::1]", "https://e.example.com."]
FRAGMENTS = ["https://", "http://", "a", "b", "c", "d", "e", "x", ".example.com",
             ".example.org", ".example.net", ".b", ":", "8443", "0", "443", "3000",
             "localhost", "[2001:db8::1]", ".", "-", "_", "/", "\r\n", "é", "*", "A"]
origin_text = st.one_of(
    st.sampled_from(ENTRIES).map(lambda e: e.replace(":*", ":3000").replace("*", "x")),
    st.lists(st.sampled_from(FRAGMENTS), max_size=8).map("".join),
    st.text(max_size=24))
origin_value = st.one_of(origin_text, origin_text.map(
    lambda s: s.encode("utf-8")), st.none())
step = st.one_of(
    st.tuples(st.just("add"), st.sampled_from(ENTRIES)),
    st.tuples(st.just("discard"), st.sampled_from(ENTRIES)),
    st.tuples(st.just("replace"), st.lists(st.sampled_from(ENTRIES), max_size=4)),
    st.tuples(st.just("check"), origin_value, st.sampled_from(
        [("GET",), ("OPTIONS", "GET"), ("OPTIONS", "PUT", "x-token"),
         ("OPTIONS", "DELETE", None, "true"), ("POST", None, None, "true")])))
POLICY_KWARGS = st.sampled_from([
    dict(),
    dict(allow_origins=["https://own.example.com", "https://*.own.example.org"],
         allow_credentials=True, allow_methods=["PUT"], allow_headers=["x-token"]),
    dict(allow_origin_regex=r"https://[a-z]+\.example\.net", allow_private_network=True),
    dict(allow_origins=["https://own.example.com"], dialect=STARLETTE,
         allow_methods=["PUT"]),
])


@pytest.mark.skipif(COMPILED is None, reason="no compiled engine in this installation")
@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(kwargs=POLICY_KWARGS, steps=st.lists(step, max_size=30))
def test_compiled_and_twin_agree_with_a_static_policy_as_the_set_changes(
        kwargs: dict[str, Any], steps: list[tuple[Any, ...]]) -> None:
    assert COMPILED is not None
    origins = OriginSet(["https://a.example.com"])
    policy = Policy(allow_origin_set=origins, **kwargs)
    for s in steps:
        if s[0] == "add":
            origins.add(s[1])
        elif s[0] == "discard":
            origins.discard(s[1])
        elif s[0] == "replace":
            origins.replace(s[1])
        else:
            request = (s[2][0], s[1], *s[2][1:])
            # The same members, compiled into a static policy of their own.
            own = list(kwargs.get("allow_origins", ()))
            static = Policy(**{**kwargs, "allow_origins": own + sorted(origins)})
            expected = _signature(TWIN.check_request(static, *request))
            for _ in range(2):  # the second answer may come from a cache
                assert _signature(COMPILED.check_request(policy, *request)) == expected
                assert _signature(TWIN.check_request(policy, *request)) == expected
            text = s[1].decode("latin-1") if isinstance(s[1], bytes) else s[1]
            if not own and "allow_origin_regex" not in kwargs and text is not None:
                assert (text in origins) == TWIN.check_request(static, "GET", text).allowed


# -- threads: readers never see anything but the old state or the new ------------------

STATES = [
    frozenset({TENANT}),
    frozenset({TENANT, "https://*.example.net"}),
    frozenset({"https://*.example.net"}),
    frozenset({"https://*.example.net", "https://late.example.org"}),
    frozenset({TENANT, "https://late.example.org"}),
]
POOL = [TENANT, OTHER, "https://a.b.example.net", "https://late.example.org",
        "https://never.example.org", "https://example.net", TENANT.encode()]


@pytest.fixture
def busy_switching() -> Iterator[None]:
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def test_threads_read_while_another_adds_discards_and_replaces(
        engine: ModuleType, busy_switching: None) -> None:
    origins = OriginSet(STATES[0])
    policy = Policy(allow_origin_set=origins, allow_methods=["PUT"], allow_credentials=True)
    requests = [(m, o, *rest) for o in POOL
                for m, *rest in (("GET",), ("OPTIONS", "PUT"))]
    # What each state answers, from static policies built once per state.
    expected = [{r: _signature(engine.check_request(Policy(
        allow_origins=sorted(state), allow_methods=["PUT"], allow_credentials=True), *r))
        for r in requests} for state in STATES]
    # A seqlock: odd while the writer changes the set, 2 * state index after.
    seq = [0]
    stop = threading.Event()
    errors: list[BaseException] = []
    checked = [0, 0]  # answers checked against one state, against either of two

    def writer() -> None:
        try:
            rng = random.Random(7)
            now = 0
            for _ in range(3000):
                new = rng.randrange(len(STATES))
                seq[0] += 1
                gone, came = STATES[now] - STATES[new], STATES[new] - STATES[now]
                if len(gone) + len(came) == 1:
                    (origins.discard if gone else origins.add)(next(iter(gone or came)))
                else:
                    origins.replace(STATES[new])
                now = new
                seq[0] = 2 * new + 2 * len(STATES) * (seq[0] // (2 * len(STATES)) + 1)
        except BaseException as exc:
            errors.append(exc)
        finally:
            stop.set()

    def reader(seed: int) -> None:
        try:
            rng = random.Random(seed)
            while not stop.is_set():
                request = rng.choice(requests)
                before = seq[0]
                got = _signature(engine.check_request(policy, *request))
                after = seq[0]
                answers = {e[request] for e in expected}
                assert got in answers, (request, got)  # never anything else
                if before == after and before % 2 == 0:
                    state = (before % (2 * len(STATES))) // 2
                    assert got == expected[state][request], (request, state, got)
                    checked[0] += 1
                else:
                    checked[1] += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(4)]
    threads.append(threading.Thread(target=writer))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert checked[0] > 100  # enough answers fell in a quiet window to mean something
    assert sorted(origins) == sorted(STATES[(seq[0] % (2 * len(STATES))) // 2])
