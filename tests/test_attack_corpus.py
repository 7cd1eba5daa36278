"""Hostile requests: what CORS scanners and attackers send (docs/spec.md
"Origin entries", "Request rules").

The origins below cover the probes of the public CORS misconfiguration
scanners (reflected origin, prefix, suffix, unescaped dot, ``null``,
substring ("include") match, third-party hosting, special characters after
the host, any subdomain, http on an https site) plus header injection,
truncation, oversize values, internationalized hosts and port tricks.

None may be allowed by a policy that does not list it, and each must be
refused for the right reason: ``MALFORMED_REQUEST`` when the Origin is not
a serialized origin (docs/spec.md "The Origin header": a path, uppercase,
bytes outside the grammar, over 1024 bytes), ``ORIGIN_NOT_ALLOWED`` for a
well-formed origin that simply is not listed. Both actual requests and
preflights are checked, and a refusal never carries an ``access-control-*``
header or echoes the request.
"""

from __future__ import annotations

import re
from types import ModuleType
from typing import Any, Callable, Iterable

import pytest
from grammar import well_formed

from corsfast import Policy, Reason

SITE = "https://app.example.com"
HOST = "app.example.com"
MAX_ORIGIN = 1024

MALFORMED = Reason.MALFORMED_REQUEST
NOT_ALLOWED = Reason.ORIGIN_NOT_ALLOWED

# Special characters the scanners put after the host ("%0b" is a vertical tab).
SCANNER_SPECIALS = "_-\"{}+^%!~`;|&'()*,$=\x0b"


def _well_formed(origin: str) -> bool:
    return well_formed(origin)


def _expected(origin: str) -> Reason:
    return NOT_ALLOWED if _well_formed(origin) else MALFORMED


def _punycode(host: str) -> str:
    return host.encode("idna").decode("ascii")


# -- the corpus against an exact policy for https://app.example.com -------------

SCANNER_ORIGINS = [
    # reflected origin: any attacker site
    "https://evil.com", "http://evil.com", "https://attacker.example",
    "https://evil.com:8443", "https://localhost", "http://127.0.0.1",
    "http://[::1]", "https://0.0.0.0",
    # prefix match: the trusted host followed by the attacker's domain
    f"https://{HOST}.evil.com", f"https://{HOST}evil.com",
    f"https://{HOST}-evil.com", f"https://{HOST}.com", f"https://{HOST}x",
    f"https://{HOST}.evil.com:443",
    # suffix match: the attacker's name in front of the trusted one
    f"https://evil{HOST}", f"https://evil-{HOST}", "https://evilexample.com",
    "https://notexample.com", f"https://evil.com.{HOST}.evil.com",
    # unescaped dot (a regex written 'app.example.com')
    "https://appxexample.com", "https://app-example.com",
    "https://app.exampleacom", "https://appaexampleacom",
    # null and its spellings
    "null", "NULL", "Null", "nuLL", "null ", " null", "null\x00",
    "\"null\"", "'null'",
    # include match: pieces of the trusted origin
    "https://pp.example.com", "https://p.example.com", "https://example.com",
    f"https://{HOST[:-1]}", "https://app.example", "https://app",
    "https://", "http://", "https:", "//app.example.com", HOST,
    "app.example.com:443", "https:/app.example.com", "https:app.example.com",
    # third-party hosting the attacker controls
    "https://github.io", "https://attacker.github.io", "https://app.github.io",
    "https://codepen.io", "https://s.codepen.io", "https://cdpn.io",
    "https://jsfiddle.net", "https://fiddle.jshell.net", "https://jsbin.com",
    "https://repl.it", "https://replit.dev", "https://glitch.me",
    "https://herokuapp.com", "https://evil.herokuapp.com",
    "https://s3.amazonaws.com", "https://storage.googleapis.com",
    "https://webcache.googleusercontent.com", "https://web.archive.org",
    "https://pages.dev", "https://vercel.app", "https://netlify.app",
    # any subdomain of the trusted host or its parent
    f"https://evil.{HOST}", f"https://a.b.{HOST}", "https://evil.example.com",
    f"https://{HOST}.{HOST}", f"https://www.{HOST}",
    # http on an https site, and other schemes
    f"http://{HOST}", f"ws://{HOST}", f"wss://{HOST}", f"ftp://{HOST}",
    f"file://{HOST}", f"javascript://{HOST}", f"data://{HOST}",
    f"chrome-extension://{HOST}", f"https+evil://{HOST}",
    # case and serialization differences
    "HTTPS://APP.EXAMPLE.COM", f"HTTPS://{HOST}", "https://APP.EXAMPLE.COM",
    "https://App.example.com", "https://app.example.Com",
    f"{SITE}/", f"{SITE}//", f"{SITE}.", f"{SITE}./", f"{SITE}/path",
    f"{SITE}?", f"{SITE}?x=1", f"{SITE}#", f"{SITE}#frag", f"{SITE}/../",
    f"https://{HOST}..", f"https://.{HOST}", f"https://..{HOST}",
    # user info and parser confusion
    f"https://user@{HOST}", f"https://user:pass@{HOST}", f"https://@{HOST}",
    f"{SITE}@evil.com", f"https://evil.com@{HOST}", f"https://evil.com#@{HOST}",
    f"https://evil.com?@{HOST}", f"https://evil.com\\@{HOST}",
    f"{SITE}\\@evil.com", f"{SITE}\\.evil.com", f"https:\\\\{HOST}",
    f"https://evil.com/{SITE}", f"https://evil.com/?{SITE}",
    f"https://evil.com#{SITE}", f"{SITE}%2f@evil.com", f"{SITE}%40evil.com",
    f"{SITE}%60.evil.com", f"{SITE}%00.evil.com", f"{SITE}%0d%0aX:%20y",
    f"{SITE}&.evil.com", f"{SITE}\t", f"{SITE} ", f" {SITE}", f"{SITE}\t.evil.com",
    f"{SITE} evil.com", f"{SITE}, https://evil.com", f"{SITE},https://evil.com",
    f"https://evil.com,{SITE}", f"{SITE} {SITE}", f"{SITE}{SITE}",
    # ports: default, explicit, odd
    f"{SITE}:443", f"{SITE}:0443", f"{SITE}:00443", f"{SITE}:+443",
    f"{SITE}:443.", f"{SITE}:80", f"{SITE}:8443", f"{SITE}:0", f"{SITE}:00",
    f"{SITE}:1", f"{SITE}:65535", f"{SITE}:65536", f"{SITE}:99999",
    f"{SITE}:4294967739", f"{SITE}:-1", f"{SITE}:-443", f"{SITE}:",
    f"{SITE}::", f"{SITE}:443:443", f"{SITE}:443abc", f"{SITE}:0x1bb",
    f"{SITE}:443/", f"http://{HOST}:80", f"http://{HOST}:443",
    f"https://[{HOST}]", "https://[::ffff:127.0.0.1]", "https://2130706433",
    # CR/LF injection
    f"{SITE}\r\nSet-Cookie: session=evil", f"{SITE}\r\n", f"{SITE}\r", f"{SITE}\n",
    f"{SITE}\n.evil.com", f"\r\n{SITE}", f"{SITE}\r\n\r\n<script>",
    f"{SITE}\u2028", f"{SITE}\u0085", f"{SITE}\u000c", f"https://evil.com\r\n{SITE}",
    # NUL truncation
    f"{SITE}\x00", f"{SITE}\x00.evil.com", f"https://evil.com\x00{SITE}",
    "\x00", f"{SITE[:-3]}\x00com", "https://app.example.com\x00\x00",
    # other control and non-ASCII bytes
    f"{SITE}\x7f", f"{SITE}\x1b[31m", f"{SITE}\xa0", f"{SITE}\xff", f"{SITE}\x80",
    f"{SITE}\u200b", f"{SITE}\ufeff", f"\ufeff{SITE}",
    # oversize values
    "https://" + "a" * 100_000 + ".example.com",
    SITE + "." + "a" * 100_000,
    SITE + "/" * 100_000,
    "https://" + "a" * (MAX_ORIGIN - len("https://")),      # exactly 1024: well-formed
    "https://" + "a" * (MAX_ORIGIN - len("https://") + 1),  # 1025: too long
    SITE + "a" * (MAX_ORIGIN - len(SITE) + 1),
    "",
    # internationalized hosts: Unicode lookalikes and their punycode
    "https://\u0430pp.example.com",                  # Cyrillic a
    "https://app.ex\u0430mple.com",
    "https://app\uff0eexample\uff0ecom",             # fullwidth full stops
    "https://app\u3002example\u3002com",             # ideographic full stops
    "https://\uff41pp.example.com",                  # fullwidth a
    "https://app.example.com\u0338",                 # combining mark
    "https://" + _punycode("\u0430pp") + ".example.com",
    "https://app." + _punycode("ex\u0430mple") + ".com",
    "https://xn--app.example.com", "https://xn--.example.com",
    "https://XN--PP-8CD.example.com",
    # entries no browser sends (docs/spec.md "Origin entries", rule 9): zone
    # ids, a last label that is a number, broken punycode, over-long hosts
    "http://[fe80::1%eth0]", "http://[fe80::1%25eth0]", "http://[fe80::1%]",
    f"https://{HOST}.255", "https://foo.bar.255", "https://foo.0x7f",
    "https://xn--f", "https://xn--f.example.com", "https://xn--a-.example.com",
    "https://" + "a" * 64 + ".example.com", "https://" + ("a" * 63 + ".") * 4 + "com",
    # lookalikes that put the trusted name after a path, query, fragment or
    # user info (docs/spec.md "The Origin header"): never serialized origins
    f"https://evil.com/.{HOST}", f"https://evil.com?.{HOST}",
    f"https://evil.com#.{HOST}", f"https://evil.com\\.{HOST}",
    f"https://evil.com@x.{HOST}", f"https://evil.com%2f.{HOST}",
    f"https://evil.com/x.{HOST}", f"https://evil.com:/.{HOST}",
    # public suffixes under which strangers register names
    "https://attacker.co.uk", "https://example.co.uk", "https://co.uk",
    "https://attacker.githubusercontent.com", "https://x.pages.dev",
    # wildcard characters written literally
    "*", "https://*", "https://*.example.com", f"https://*{HOST}", f"{SITE}*",
    "https://%2a.example.com",
]
SCANNER_ORIGINS += [f"https://{HOST}{ch}.evil.com" for ch in SCANNER_SPECIALS]
SCANNER_ORIGINS += [f"https://{HOST}{ch}" for ch in SCANNER_SPECIALS]
SCANNER_ORIGINS += [f"https://evil{ch}{HOST}" for ch in SCANNER_SPECIALS]
SCANNER_ORIGINS += [f"https://{HOST}{ch}" for ch in map(chr, range(0x20))]
SCANNER_ORIGINS = list(dict.fromkeys(SCANNER_ORIGINS))  # keep order, drop repeats


def _ident(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}...len={len(value)}"


def _policies() -> dict[str, Callable[[], Policy]]:
    everything = dict(allow_methods="*", allow_headers="*",
                      allow_private_network=True, max_age=600)
    return {
        "exact": lambda: Policy(allow_origins=[SITE]),
        "exact-credentials": lambda: Policy(
            allow_origins=[SITE, "https://other.example.net"],
            allow_credentials=True, expose_headers=["x-total"], **everything),
        "exact-open": lambda: Policy(allow_origins=[SITE], **everything),
    }


POLICIES = _policies()


@pytest.fixture(params=sorted(POLICIES), scope="module")
def exact_policy(request: pytest.FixtureRequest) -> Policy:
    return POLICIES[request.param]()


def _variants(origin: str) -> Iterable[Any]:
    """The origin as WSGI (str) and ASGI (bytes) give it."""
    yield origin
    try:
        yield origin.encode("latin-1")
    except UnicodeEncodeError:
        yield origin.encode("utf-8")


def assert_refused_actual(engine: ModuleType, policy: Policy, origin: Any,
                          reason: Reason, method: str = "GET") -> None:
    d = engine.check_request(policy, method, origin)
    assert d.allowed is False, (origin, d)
    assert d.preflight is False
    assert d.reason is reason, (origin, d.reason)
    assert d.status is None
    # "Actual requests": a refused origin gets only "vary: origin", nothing echoed.
    assert tuple(d.headers) == (("vary", "origin"),), (origin, d.headers)


def assert_refused_preflight(engine: ModuleType, policy: Policy, origin: Any,
                             reason: Reason, **asked: Any) -> None:
    asked.setdefault("request_method", "PUT")
    asked.setdefault("request_headers", "x-requested-with")
    asked.setdefault("request_private_network", "true")
    d = engine.check_request(policy, "OPTIONS", origin, **asked)
    assert d.allowed is False, (origin, d)
    assert d.preflight is True
    assert d.reason is reason, (origin, d.reason)
    assert d.status == 403
    # "Preflight": no access-control-* header at all, only vary.
    assert [name for name, _ in d.headers] == ["vary"], (origin, d.headers)
    assert d.headers[0][1].startswith("origin, access-control-request-method")


def test_the_corpus_oracle_sorts_known_cases() -> None:
    # The expected reasons come from a restatement of the origin grammar
    # (tests/grammar.py); pin a few so that restatement cannot drift.
    assert _expected(f"{SITE}\r\nSet-Cookie: a") is MALFORMED
    assert _expected(f"{SITE}\x00") is MALFORMED
    assert _expected(f"https://{HOST}\x0b.evil.com") is MALFORMED
    assert _expected(f"https://{HOST},.evil.com") is MALFORMED
    assert _expected("https://\u0430pp.example.com") is MALFORMED
    assert _expected("https://" + "a" * 100_000) is MALFORMED
    assert _expected("") is MALFORMED
    assert _expected(f"https://{HOST}`.evil.com") is MALFORMED
    assert _expected(f"https://{HOST}%60.evil.com") is MALFORMED
    assert _expected("https://evil.com/.example.com") is MALFORMED
    assert _expected(f"HTTPS://{HOST}") is MALFORMED
    assert _expected(f"{SITE}/") is MALFORMED
    assert _expected(f"{SITE}:") is MALFORMED
    assert _expected("*") is MALFORMED
    assert _expected("https://[fe80::1%25eth0]") is MALFORMED
    assert _expected(f"{SITE}.") is NOT_ALLOWED  # a trailing dot is sent by browsers
    assert _expected(f"https://a_b.{HOST}:8443") is NOT_ALLOWED
    assert _expected("http://[::1]:8080") is NOT_ALLOWED
    assert _expected("chrome-extension://abcdef") is NOT_ALLOWED
    assert _expected("null") is NOT_ALLOWED
    assert _expected("https://" + "a" * (MAX_ORIGIN - 8)) is NOT_ALLOWED
    assert _expected("https://" + "a" * (MAX_ORIGIN - 7)) is MALFORMED
    assert len(SCANNER_ORIGINS) > 250


@pytest.mark.parametrize("policy_name", sorted(POLICIES))
def test_the_trusted_origin_itself_is_allowed(engine: ModuleType,
                                              policy_name: str) -> None:
    policy = POLICIES[policy_name]()
    d = engine.check_request(policy, "GET", SITE)
    assert d.allowed and ("access-control-allow-origin", SITE) in d.headers
    d = engine.check_request(policy, "OPTIONS", SITE, "GET")
    assert d.allowed and d.status == 204
    assert ("access-control-allow-origin", SITE) in d.headers


@pytest.mark.parametrize("origin", SCANNER_ORIGINS, ids=_ident)
def test_scanner_origin_is_refused(engine: ModuleType, exact_policy: Policy,
                                   origin: str) -> None:
    reason = _expected(origin)
    for value in _variants(origin):
        for method in ("GET", "POST", "PUT", "OPTIONS"):
            assert_refused_actual(engine, exact_policy, value, reason, method)
        assert_refused_preflight(engine, exact_policy, value, reason)
        assert_refused_preflight(engine, exact_policy, value, reason,
                                 request_method="GET", request_headers=None,
                                 request_private_network=None)


@pytest.mark.parametrize("origin", [
    f"{SITE}\r\nSet-Cookie: a=b", f"{SITE}\x00", "https://" + "a" * 100_000,
    f"https://{HOST}\x0b.evil.com", f"{SITE},{SITE}", "https://\u0430pp.example.com",
    "",
], ids=_ident)
def test_malformed_origins_are_malformed_even_for_star(engine: ModuleType,
                                                      origin: str) -> None:
    # "The Origin header" runs before any matching: '*' does not make a broken Origin fine.
    policy = Policy(allow_origins="*", allow_methods="*", allow_headers="*")
    assert_refused_actual(engine, policy, origin, MALFORMED)
    assert_refused_preflight(engine, policy, origin, MALFORMED,
                             request_private_network=None)


def test_star_policy_answers_star_never_the_origin(engine: ModuleType) -> None:
    policy = Policy(allow_origins="*")
    for origin in SCANNER_ORIGINS:
        if not _well_formed(origin):
            continue
        d = engine.check_request(policy, "GET", origin)
        assert d.allowed and d.reason is Reason.ALLOWED
        assert dict(d.headers)["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in dict(d.headers)


@pytest.mark.parametrize("value", [
    123, 1.5, None.__class__, ["https://app.example.com"], ("https://app.example.com",),
    {"origin": SITE}, memoryview(SITE.encode()), object(),
], ids=_ident)
def test_non_text_origins_are_malformed(engine: ModuleType, exact_policy: Policy,
                                        value: Any) -> None:
    assert_refused_actual(engine, exact_policy, value, MALFORMED)
    assert_refused_preflight(engine, exact_policy, value, MALFORMED)


class _LyingStr(str):
    """A str that claims to equal, and hash like, the trusted origin."""

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return hash(SITE)


def test_a_str_subclass_cannot_lie_its_way_in(engine: ModuleType,
                                              exact_policy: Policy) -> None:
    evil = _LyingStr("https://evil.com")
    assert_refused_actual(engine, exact_policy, evil, NOT_ALLOWED)
    assert_refused_preflight(engine, exact_policy, evil, NOT_ALLOWED)
    # A subclass holding the trusted text is that text: allowed, and the
    # echoed value is a plain str.
    d = engine.check_request(exact_policy, "GET", _LyingStr(SITE))
    assert d.allowed
    acao = dict(d.headers)["access-control-allow-origin"]
    assert type(acao) is str and acao == SITE


def test_lying_request_values_cannot_reuse_a_cached_preflight(
        engine: ModuleType) -> None:
    # Answers to repeated preflights may be reused; a request value that
    # claims to equal everything must not pick up an earlier allowed answer.
    policy = Policy(allow_origins=[SITE], allow_methods=["PUT"],
                    allow_headers=["x-token"], allow_private_network=False)
    for _ in range(3):
        d = engine.check_request(policy, "OPTIONS", SITE, "PUT", "x-token", None)
        assert d.allowed
    assert_refused_preflight(engine, policy, SITE, Reason.METHOD_NOT_ALLOWED,
                             request_method=_LyingStr("DELETE"),
                             request_headers="x-token", request_private_network=None)
    assert_refused_preflight(engine, policy, SITE, Reason.HEADERS_NOT_ALLOWED,
                             request_method="PUT",
                             request_headers=_LyingStr("x-token, cookie"),
                             request_private_network=None)
    assert_refused_preflight(engine, policy, SITE,
                             Reason.PRIVATE_NETWORK_NOT_ALLOWED,
                             request_method="PUT", request_headers="x-token",
                             request_private_network=_LyingStr("true"))
    assert_refused_preflight(engine, policy, SITE, MALFORMED,
                             request_method=b"PUT\r\n", request_headers="x-token",
                             request_private_network=None)


# -- internationalized entries ---------------------------------------------------


def test_unicode_entry_matches_only_its_punycode(engine: ModuleType) -> None:
    policy = Policy(allow_origins=["https://b\u00fccher.example"])
    good = "https://xn--bcher-kva.example"
    assert policy.allow_origins == (good,)
    for value in (good, good.encode()):
        d = engine.check_request(policy, "GET", value)
        assert d.allowed and dict(d.headers)["access-control-allow-origin"] == good
    # The Unicode form is never on the wire: as text or UTF-8 bytes it is
    # outside printable ASCII.
    for value in ("https://b\u00fccher.example", "https://b\u00fccher.example".encode()):
        assert_refused_actual(engine, policy, value, MALFORMED)
        assert_refused_preflight(engine, policy, value, MALFORMED)
    assert_refused_actual(engine, policy, "https://XN--BCHER-KVA.example", MALFORMED)
    for origin in ("https://xn--bcher-kva.example.",
                   "https://bucher.example", "https://xn--bcher-kva.example.evil.com",
                   "https://evil.xn--bcher-kva.example", "http://xn--bcher-kva.example"):
        assert_refused_actual(engine, policy, origin, NOT_ALLOWED)
        assert_refused_preflight(engine, policy, origin, NOT_ALLOWED)


# -- subdomain patterns ("Subdomain patterns") -----------------------------------

PATTERN = "https://*.example.com"
PATTERN_ALLOWED = [
    "https://a.example.com", "https://app.example.com", "https://a.b.example.com",
    "https://a-b.example.com", "https://0.example.com", "https://x1.y2.z3.example.com",
    "https://xn--bcher-kva.example.com",
]
PATTERN_REFUSED = [
    "https://example.com", "https://evilexample.com", "https://a.example.com.evil.com",
    "https://a_b.example.com", "https://a%60.example.com", "https://a`.example.com",
    "https://A.example.com", "https://a.EXAMPLE.com", "https://A.EXAMPLE.COM",
    "HTTPS://a.example.com", "Https://a.example.com", "http://a.example.com",
    "wss://a.example.com", "https://a.example.com:443", "https://a.example.com:8443",
    "https://a.example.com:", "https://.example.com", "https://a..example.com",
    "https://..example.com", "https://a.example.com.", "https://a.example.com/",
    "https://a.example.comx", "https://a.example.co", "https://aexample.com",
    "https://*.example.com", "https://a*.example.com", "https://%2a.example.com",
    "https://a{.example.com", "https://a}.example.com", "https://a!.example.com",
    "https://a~.example.com", "https://a$.example.com", "https://a'.example.com",
    "https://a+b.example.com", "https://a=b.example.com", "https://a^.example.com",
    "https://a|.example.com", "https://a&.example.com", "https://a(.example.com",
    "https://a;.example.com", "https://a\".example.com", "https://a\\.example.com",
    "https://a@b.example.com", "https://evil.com@a.example.com",
    "https://a.example.com@evil.com", "https://evil.com#.example.com",
    "https://evil.com?.example.com", "https://evil.com/.example.com",
    "https://evil.com\\.example.com", "https://evil.com:.example.com",
    "https://[::1].example.com", "https://a.example.com:443.example.com",
    "//a.example.com", "https:/a.example.com", "a.example.com", ".example.com",
    "https://example.com.a.example", "https://a.example.com.example.com.evil",
    "https://a.example.com\x00", "https://a\x00.example.com",
    "https://a.example.com\r\n", "https://a\x0b.example.com",
    "https://a,.example.com", "https://a .example.com",
    "https://\u0430.example.com", "https://a\uff0eexample.com",
    "https://" + "a." * 600 + "example.com",
]


@pytest.fixture(params=["plain", "credentials"], scope="module")
def pattern_policy(request: pytest.FixtureRequest) -> Policy:
    return Policy(allow_origins=[PATTERN],
                  allow_credentials=request.param == "credentials",
                  allow_methods="*", allow_headers="*", allow_private_network=True)


@pytest.mark.parametrize("origin", PATTERN_ALLOWED)
def test_pattern_matches_subdomains(engine: ModuleType, pattern_policy: Policy,
                                    origin: str) -> None:
    d = engine.check_request(pattern_policy, "GET", origin)
    assert d.allowed, origin
    assert dict(d.headers)["access-control-allow-origin"] == origin
    d = engine.check_request(pattern_policy, "OPTIONS", origin, "PUT", "x-a")
    assert d.allowed and d.status == 204, origin


@pytest.mark.parametrize("origin", PATTERN_REFUSED, ids=_ident)
def test_pattern_refuses(engine: ModuleType, pattern_policy: Policy,
                         origin: str) -> None:
    reason = _expected(origin)
    for value in _variants(origin):
        assert_refused_actual(engine, pattern_policy, value, reason)
        assert_refused_preflight(engine, pattern_policy, value, reason)


@pytest.mark.parametrize("origin", SCANNER_ORIGINS, ids=_ident)
def test_pattern_for_another_domain_refuses_the_corpus(
        engine: ModuleType, origin: str) -> None:
    policy = _OTHER_PATTERN
    assert_refused_actual(engine, policy, origin, _expected(origin))
    assert_refused_preflight(engine, policy, origin, _expected(origin))


_OTHER_PATTERN = Policy(allow_origins=["https://*.example.org", "https://*.example.net:8443"])


def test_pattern_with_port(engine: ModuleType) -> None:
    policy = Policy(allow_origins=["https://*.example.com:8443"])
    assert engine.check_request(policy, "GET", "https://a.example.com:8443").allowed
    for origin in ("https://example.com:8443", "https://a.example.com",
                   "https://a.example.com:443", "https://a.example.com:08443",
                   "https://a.example.com:8444", "https://a.example.com:84430",
                   "https://a.example.com:8443.evil.com", "https://a_b.example.com:8443",
                   "https://a.example.com:8443:8443", "http://a.example.com:8443"):
        assert_refused_actual(engine, policy, origin, _expected(origin))
        assert_refused_preflight(engine, policy, origin, _expected(origin))


ANY_PORT_ALLOWED = ["http://localhost:1", "http://localhost:3000",
                    "http://localhost:65535", "http://localhost:443"]
ANY_PORT_REFUSED = [
    "http://localhost", "http://localhost:", "http://localhost:0",
    "http://localhost:080", "http://localhost:03000", "http://localhost:65536",
    "http://localhost:99999", "http://localhost:80", "http://localhost:-1",
    "http://localhost:+3000", "http://localhost:3000.evil.com",
    "http://localhost:3000@evil.com", "http://localhost:3000/",
    "http://localhost:3000:3000", "http://localhost:*", "http://localhost:3e3",
    "http://evil.localhost:3000", "http://localhost.evil.com:3000",
    "http://LOCALHOST:3000", "https://localhost:3000", "http://localhost:\uff13",
    "http://localhost:3000\x00", "http://localhost: 3000",
]


@pytest.mark.parametrize("origin", ANY_PORT_ALLOWED)
def test_any_port_allows_explicit_ports(engine: ModuleType, origin: str) -> None:
    policy = Policy(allow_origins=["http://localhost:*", "https://*.dev.example.com:*"])
    assert engine.check_request(policy, "GET", origin).allowed


@pytest.mark.parametrize("origin", ANY_PORT_REFUSED + [
    "https://dev.example.com:8443", "https://a.dev.example.com",
    "https://a.dev.example.com:443", "https://a_b.dev.example.com:8443",
    "https://a.dev.example.com:0",
], ids=_ident)
def test_any_port_refuses(engine: ModuleType, origin: str) -> None:
    policy = Policy(allow_origins=["http://localhost:*", "https://*.dev.example.com:*"])
    assert_refused_actual(engine, policy, origin, _expected(origin))
    assert_refused_preflight(engine, policy, origin, _expected(origin))


# -- regex and predicate policies ("Regex and predicate") --------------------------

REGEXES = {
    "class": r"https://[a-z0-9-]+\.example\.com",
    "alternation": r"https://app\.example\.com|https://admin\.example\.com",
    "anchored": r"^https://app\.example\.com$",
    "optional-port": r"https://app\.example\.com(:8443)?",
}
REGEX_ALLOWED = {
    "class": ["https://app.example.com", "https://a-1.example.com"],
    "alternation": ["https://app.example.com", "https://admin.example.com"],
    "anchored": ["https://app.example.com"],
    "optional-port": ["https://app.example.com", "https://app.example.com:8443"],
}
REGEX_REFUSED = [
    "https://app.example.com.evil.com", "https://admin.example.com.evil.com",
    "https://app.example.comevil.com", "https://evil.com/https://app.example.com",
    "xhttps://app.example.com", " https://app.example.com",
    "https://app.example.com/", "https://app.example.com:443",
    "https://app.example.com:8443.evil.com", "https://app.example.com:84430",
    "https://app.example.com\n", "https://app.example.com\r\n",
    "https://app.example.com\x00", "https://evil.com\nhttps://app.example.com",
    "https://app.example.com\nhttps://evil.com", "https://evil.com",
    "https://a.b.example.com", "https://app.example.com.", "HTTPS://APP.EXAMPLE.COM",
    "https://app.example.com" + "a" * 2000,
]


@pytest.mark.parametrize("name", sorted(REGEXES))
def test_regex_is_a_full_match(engine: ModuleType, name: str) -> None:
    policy = Policy(allow_origin_regex=REGEXES[name], allow_credentials=True)
    for origin in REGEX_ALLOWED[name]:
        d = engine.check_request(policy, "GET", origin)
        assert d.allowed, origin
        assert dict(d.headers)["access-control-allow-origin"] == origin
    for origin in REGEX_REFUSED:
        for value in _variants(origin):
            assert_refused_actual(engine, policy, value, _expected(origin))
            assert_refused_preflight(engine, policy, value, _expected(origin))


def test_no_refused_regex_case_is_a_full_match() -> None:
    # Guards the corpus above: each case must really lie outside every regex.
    for name, pattern in REGEXES.items():
        assert [o for o in REGEX_REFUSED if re.fullmatch(pattern, o)] == [], name


def test_regex_prefix_hit_is_not_enough(engine: ModuleType) -> None:
    # re.match would accept these (the pattern matches a prefix); fullmatch
    # must not.
    policy = Policy(allow_origin_regex=REGEXES["alternation"])
    for origin in ("https://app.example.com.evil.com", "https://app.example.comx",
                   "https://admin.example.com:1"):
        assert re.match(REGEXES["alternation"], origin)
        assert_refused_actual(engine, policy, origin, NOT_ALLOWED)
        assert_refused_preflight(engine, policy, origin, NOT_ALLOWED)


def test_predicate_never_sees_malformed_origins(engine: ModuleType) -> None:
    seen: list[str] = []

    def trust_everything(origin: str) -> bool:
        seen.append(origin)
        return True

    policy = Policy(allow_origin_predicate=trust_everything)
    for origin in SCANNER_ORIGINS:
        if _well_formed(origin):
            continue
        for value in _variants(origin):
            assert_refused_actual(engine, policy, value, MALFORMED)
            assert_refused_preflight(engine, policy, value, MALFORMED)
    assert seen == []
    d = engine.check_request(policy, "GET", "https://evil.com")
    assert d.allowed and seen == ["https://evil.com"]
    assert all(type(origin) is str for origin in seen)


@pytest.mark.parametrize("exc", [ValueError, KeyError, RecursionError, TypeError])
def test_a_failing_predicate_refuses(engine: ModuleType, exc: type) -> None:
    def broken(origin: str) -> bool:
        raise exc("boom")

    policy = Policy(allow_origin_predicate=broken, allow_origins=[SITE])
    assert_refused_actual(engine, policy, "https://evil.com", NOT_ALLOWED)
    assert_refused_preflight(engine, policy, "https://evil.com", NOT_ALLOWED)
    assert engine.check_request(policy, "GET", SITE).allowed


def test_predicate_is_refused_for_corpus_it_rejects(engine: ModuleType) -> None:
    policy = Policy(allow_origin_predicate=lambda origin: origin == SITE)
    for origin in SCANNER_ORIGINS:
        assert_refused_actual(engine, policy, origin, _expected(origin))
        assert_refused_preflight(engine, policy, origin, _expected(origin))
    assert engine.check_request(policy, "GET", SITE).allowed


# -- hostile Access-Control-Request-* on a trusted origin ("Preflight") -----------


@pytest.fixture(params=["listed", "star", "star-credentials"])
def open_policy(request: pytest.FixtureRequest) -> Policy:
    if request.param == "listed":
        return Policy(allow_origins=[SITE], allow_methods=["PUT", "DELETE"],
                      allow_headers=["x-token", "content-type"])
    return Policy(allow_origins=[SITE], allow_methods="*", allow_headers="*",
                  allow_credentials=request.param == "star-credentials")


@pytest.mark.parametrize("acrm", [
    "", " PUT", "PUT ", "PUT\r\n", "PUT\r\nSet-Cookie: a=b", "PUT\x00", "\x00",
    "PU T", "PUT,DELETE", "P\u00dcT", "PUT\x0b", "PUT\t", "\r\n", "(PUT)",
    "PUT;", "PUT/1", "PUT\"", "PUT:",
], ids=_ident)
def test_malformed_request_method(engine: ModuleType, open_policy: Policy,
                                  acrm: str) -> None:
    for value in _variants(acrm):
        assert_refused_preflight(engine, open_policy, SITE, MALFORMED,
                                 request_method=value, request_headers=None,
                                 request_private_network=None)


@pytest.mark.parametrize("acrm", ["CONNECT", "TRACE", "TRACK", "connect", "Trace"])
def test_forbidden_methods_are_never_allowed(engine: ModuleType, open_policy: Policy,
                                             acrm: str) -> None:
    assert_refused_preflight(engine, open_policy, SITE, Reason.METHOD_NOT_ALLOWED,
                             request_method=acrm, request_headers=None,
                             request_private_network=None)


@pytest.mark.parametrize("acrh", [
    "x-token\r\nSet-Cookie: a=b", "x-token\r\n", "x-token\n", "x-token\x00",
    "\x00", "x token", "x-token;", "x-token:1", "x-token, (x)", "x-t\u00f6ken",
    "x-token\x0b", "a" * 5000, ",".join(["x-token"] * 65), " ," * 3000,
    "x-token," + "a" * 100_000, "\"x-token\"", "x-token/1", "x-token=1",
    "x-token, {}", "x-token, @",
], ids=_ident)
def test_malformed_request_headers(engine: ModuleType, open_policy: Policy,
                                   acrh: str) -> None:
    for value in _variants(acrh):
        assert_refused_preflight(engine, open_policy, SITE, MALFORMED,
                                 request_method="GET", request_headers=value,
                                 request_private_network=None)


def test_request_headers_at_the_bounds_are_fine(engine: ModuleType,
                                                open_policy: Policy) -> None:
    at_count = ",".join(["x-token"] * 64)
    d = engine.check_request(open_policy, "OPTIONS", SITE, "GET", at_count)
    assert d.allowed, d


@pytest.mark.parametrize("acrh", ["cookie", "host", "origin", "sec-fetch-mode",
                                  "proxy-authorization", "x-token, cookie",
                                  "Cookie", "SEC-X", "authorization"])
def test_forbidden_request_headers_are_never_allowed(engine: ModuleType,
                                                     open_policy: Policy,
                                                     acrh: str) -> None:
    assert_refused_preflight(engine, open_policy, SITE, Reason.HEADERS_NOT_ALLOWED,
                             request_method="GET", request_headers=acrh,
                             request_private_network=None)


@pytest.mark.parametrize("acrpn", ["true\r\n", "TRUE", "true ", " true", "1", "yes",
                                   "true\x00", "", "false"], ids=_ident)
def test_only_exact_true_asks_for_private_network(engine: ModuleType,
                                                  open_policy: Policy,
                                                  acrpn: str) -> None:
    d = engine.check_request(open_policy, "OPTIONS", SITE, "GET", None, acrpn)
    assert d.allowed, (acrpn, d)
    names = [name for name, _ in d.headers]
    assert "access-control-allow-private-network" not in names
    d = engine.check_request(open_policy, "OPTIONS", SITE, "GET", None, "true")
    assert d.reason is Reason.PRIVATE_NETWORK_NOT_ALLOWED


def test_echoed_values_are_only_validated_tokens(engine: ModuleType) -> None:
    policy = Policy(allow_origins=[SITE], allow_methods="*", allow_headers="*",
                    allow_credentials=True)
    d = engine.check_request(policy, "OPTIONS", SITE, "PATCH",
                             " X-Token ,, Content-Type\t,")
    assert d.allowed
    headers = dict(d.headers)
    assert headers["access-control-allow-methods"] == "PATCH"
    assert headers["access-control-allow-headers"] == "x-token, content-type"
    assert headers["access-control-allow-origin"] == SITE
    assert headers["access-control-allow-credentials"] == "true"


def test_no_response_header_ever_carries_control_bytes(engine: ModuleType) -> None:
    policies = [POLICIES[name]() for name in sorted(POLICIES)] + [
        Policy(allow_origins="*", allow_methods="*", allow_headers="*"),
        Policy(allow_origins=[PATTERN], allow_credentials=True, allow_methods="*",
               allow_headers="*"),
        Policy(allow_origin_regex=r"https://.*", allow_credentials=True),
    ]
    checked = 0
    for policy in policies:
        for origin in SCANNER_ORIGINS + [SITE]:
            for args in ((), ("PUT", "x-a, x-b", "true"), ("GET\r\n",),
                         ("GET", "x-a\r\n")):
                d = engine.check_request(policy, "OPTIONS" if args else "GET",
                                         origin, *args)
                names = [name for name, _ in d.headers]
                assert names.count("access-control-allow-origin") <= 1
                for name, value in d.headers:
                    assert type(value) is str
                    assert all(0x20 <= ord(ch) <= 0x7E for ch in name + value), \
                        (origin, args, d.headers)
                    assert len(value) <= 4096 + 64
                acao = dict(d.headers).get("access-control-allow-origin")
                if acao is not None:
                    assert acao == "*" or acao == origin
                    assert not (acao == "*" and "access-control-allow-credentials"
                                in names)
                checked += 1
    assert checked > 1000
