"""docs/spec.md "Origin entries" and "Methods and headers in a policy":
policy rules, checked at construction."""

from __future__ import annotations

import re
from types import ModuleType

import pytest

from corsfast import ConfigError, Policy

# -- 3.1 origin entries -------------------------------------------------------


@pytest.mark.parametrize(
    "entry, fix",
    [
        ("https://app.example.com/", "drop the trailing slash: write 'https://app.example.com'"),
        ("https://app.example.com/api", "drop the path: write 'https://app.example.com'"),
        ("https://app.example.com?x=1", "drop the query"),
        ("https://app.example.com#top", "drop the fragment"),
        ("https://user@app.example.com", "drop the user info"),
        ("HTTPS://APP.EXAMPLE.COM", "lowercase: write 'https://app.example.com'"),
        ("https://App.Example.com", "canonical (lowercase) form: write 'https://app.example.com'"),
        ("https://app.example.com:443", "drop the default port 443: write 'https://app.example.com'"),
        ("http://app.example.com:80", "drop the default port 80"),
        ("https://app.example.com:0", "port must be a number from 1 to 65535"),
        ("https://app.example.com:65536", "port must be a number from 1 to 65535"),
        ("https://app.example.com:08080", "drop the port's leading zeros: write 'https://app.example.com:8080'"),
        ("https://app.example.com:", "port must be a number"),
        ("app.example.com", "missing the scheme: write 'https://app.example.com'"),
        (" https://app.example.com", "remove the surrounding whitespace"),
        ("https://", "the host is empty"),
        ("https://app..example.com", "not a valid host label"),
        ("https://app.example.com..", "an empty label"),
        ("http://1.2.3.4.", "write '1.2.3.4'"),
        ("http://[fe80::1%eth0]:8080", "zone id is never part of an origin: write 'http://[fe80::1]:8080'"),
        ("http://[fe80::1%25eth0]", "zone id is never part of an origin"),
        ("http://foo.bar.255", "ends in a number but is not a dotted-quad"),
        ("http://foo.0x1f", "ends in a number but is not a dotted-quad"),
        ("https://xn--f.example", "'xn--f' is not valid punycode"),
        ("https://xn--abc.example", "'xn--abc' is not valid punycode"),
        ("https://" + "a" * 64 + ".example", "1-63 characters"),
        ("https://" + ".".join(["a" * 60] * 5), "longer than 253"),
        ("https://-app.example.com", "not a valid host label"),
        ("https://1.2.3", "not a dotted-quad IPv4 address"),
        ("https://01.2.3.4", "not a dotted-quad IPv4 address"),
        ("http://[::1", "closing ']'"),
        ("http://[0:0:0:0:0:0:0:1]", "the way browsers send it: '[::1]'"),
        ("http://[zz::1]", "not a valid IPv6 address"),
        ("http://::1", "in brackets"),
        ("NULL", "write the null origin as 'null'"),
        ("file:///tmp", "browsers send the origin 'null' for file: URLs"),
        ("https://a.*.example.com", "'*' may only stand as the whole first label"),
        ("https://*example.com", "'*' may only stand as the whole first label"),
        ("https://*.com", "at least two labels"),
        ("http://*.localhost", "at least two labels"),
        ("https://*.1.2.3.4", "cannot have an IP address base"),
        (42, "must be a string"),
    ],
)
def test_bad_origin_entry_is_named_with_its_fix(entry: object, fix: str) -> None:
    with pytest.raises(ConfigError) as info:
        Policy(allow_origins=[entry])  # type: ignore[list-item]
    assert len(info.value.errors) == 1
    message = info.value.errors[0]
    assert message.startswith(f"allow_origins[0] {entry!r}: ")
    assert fix in message


@pytest.mark.parametrize(
    "entry",
    [
        "https://app.example.com",
        "http://localhost:8000",
        "http://127.0.0.1:5173",
        "http://[::1]:8080",
        "http://[2001:db8::1]",
        "https://xn--mnchen-3ya.de",
        "chrome-extension://abcdefghijklmnop",
        "https://my_host.example.com",
        "null",
        "*",
    ],
)
def test_good_origin_entry_is_stored_as_written(entry: str) -> None:
    assert Policy(allow_origins=[entry]).allow_origins == (entry,)


def test_unicode_host_is_stored_as_punycode() -> None:
    policy = Policy(allow_origins=["https://münchen.de"])
    assert policy.allow_origins == ("https://xn--mnchen-3ya.de",)
    assert policy.check("GET", "https://xn--mnchen-3ya.de").allowed
    assert not policy.check("GET", "https://münchen.de").allowed


def test_one_config_error_lists_every_bad_entry() -> None:
    with pytest.raises(ConfigError) as info:
        Policy(
            allow_origins=["https://ok.example.com", "https://a.com/", "HTTP://B.COM"],
            allow_methods=["GET", "TRACE"],
            allow_headers=["x-ok", "cookie"],
            max_age=-5,
            preflight_status=201,
        )
    errors = info.value.errors
    assert len(errors) == 6
    text = str(info.value)
    assert text.startswith("invalid CORS policy (6 problems):")
    for needle in ("'https://a.com/'", "'HTTP://B.COM'", "TRACE", "cookie",
                   "max_age", "preflight_status"):
        assert needle in text
    assert "ok.example.com" not in text
    assert isinstance(info.value, ValueError)


def test_single_string_is_one_origin() -> None:
    assert Policy(allow_origins="https://a.example.com").allow_origins == (
        "https://a.example.com",)


# -- 3.2 '*' ------------------------------------------------------------------


def test_star_with_credentials_is_an_error() -> None:
    with pytest.raises(ConfigError, match="wildcard origin with credentials"):
        Policy(allow_origins="*", allow_credentials=True)


# -- 3.4 subdomain patterns and any-port --------------------------------------


def test_pattern_and_any_port_entries() -> None:
    policy = Policy(allow_origins=["https://*.example.com", "http://localhost:*",
                                   "https://*.example.org:*"])
    assert policy.allow_origins == ("https://*.example.com", "http://localhost:*",
                                    "https://*.example.org:*")


# -- 3.5 regex and predicate --------------------------------------------------


def test_regex_is_compiled_once_and_invalid_regex_is_an_error() -> None:
    pattern = re.compile(r"https://[a-z]+\.example\.com")
    assert Policy(allow_origin_regex=pattern).allow_origin_regex is pattern
    assert Policy(allow_origin_regex=r"https://x\.com").allow_origin_regex.pattern == r"https://x\.com"
    with pytest.raises(ConfigError, match="not a valid regex"):
        Policy(allow_origin_regex="https://(")
    with pytest.raises(ConfigError, match="from a str, not bytes"):
        Policy(allow_origin_regex=re.compile(b"x"))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="expected a callable"):
        Policy(allow_origin_predicate="yes")  # type: ignore[arg-type]


# -- 3.6 methods --------------------------------------------------------------


def test_methods_are_normalized_and_forbidden_ones_refused() -> None:
    policy = Policy(allow_methods=["get", "Put", "delete", "PROPFIND", "propfind", "patch"])
    assert policy.allow_methods == ("GET", "PUT", "DELETE", "PROPFIND", "propfind", "PATCH")
    for bad in ("CONNECT", "trace", "Track"):
        with pytest.raises(ConfigError, match="forbidden method"):
            Policy(allow_methods=[bad])
    with pytest.raises(ConfigError, match="must be a token"):
        Policy(allow_methods=["GET POST"])
    assert Policy(allow_methods="*").allow_methods == "*"
    assert Policy(allow_methods="GET, PUT").allow_methods == ("GET", "PUT")


# -- 3.7 headers ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["Cookie", "host", "Origin", "proxy-authorization",
                                  "Sec-Fetch-Mode", "content-length", "connection"])
def test_forbidden_request_headers_are_errors(name: str) -> None:
    with pytest.raises(ConfigError, match="forbidden request header"):
        Policy(allow_headers=[name])


def test_headers_are_lowercased_and_wildcard_kept() -> None:
    assert Policy(allow_headers=["X-Token", "Content-Type"]).allow_headers == (
        "x-token", "content-type")
    assert Policy(allow_headers="*").allow_headers == "*"
    assert Policy(allow_headers=["*", "Authorization"]).allow_headers == (
        "authorization", "*")
    with pytest.raises(ConfigError, match="must be a token"):
        Policy(allow_headers=["x token"])


# -- 3.8 numbers, exposure ------------------------------------------------------


@pytest.mark.parametrize("value", [-1, 86401, 1.5, "600", True])
def test_bad_max_age(value: object) -> None:
    with pytest.raises(ConfigError, match="max_age"):
        Policy(max_age=value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0, 600, 86400, None])
def test_good_max_age(value: int | None) -> None:
    assert Policy(max_age=value).max_age == value


@pytest.mark.parametrize("value", [201, 403, "204", True])
def test_bad_preflight_status(value: object) -> None:
    with pytest.raises(ConfigError, match="preflight_status"):
        Policy(preflight_status=value)  # type: ignore[arg-type]


def test_expose_rules() -> None:
    with pytest.raises(ConfigError, match="expose_headers '\\*' with allow_credentials"):
        Policy(allow_origins=["https://a.com"], expose_headers="*", allow_credentials=True)
    for name in ("Set-Cookie", "set-cookie2"):
        with pytest.raises(ConfigError, match="never expose"):
            Policy(expose_headers=[name])
    assert Policy(expose_headers=["X-Total"]).expose_headers == ("x-total",)


def test_bool_flags_must_be_bool() -> None:
    with pytest.raises(ConfigError, match="allow_credentials"):
        Policy(allow_credentials="yes")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="allow_private_network"):
        Policy(allow_private_network=1)  # type: ignore[arg-type]


# -- immutability -----------------------------------------------------------------


def test_policy_is_immutable() -> None:
    policy = Policy(allow_origins=["https://a.com"])
    with pytest.raises(AttributeError):
        policy.allow_credentials = True  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del policy.max_age  # type: ignore[misc]
    assert "https://a.com" in repr(policy)


def test_a_regex_too_deep_to_compile_is_a_config_error() -> None:
    deep = "(" * 2000 + "a" + ")" * 2000
    for arg in ("allow_origin_regex", "allow_header_regex"):
        with pytest.raises(ConfigError, match="too deeply"):
            Policy(**{arg: deep})



def test_a_trailing_dot_host_is_its_own_origin(engine: ModuleType) -> None:
    policy = Policy(allow_origins=["https://app.example.com.", "https://*.example.org."])
    assert policy.allow_origins == ("https://app.example.com.", "https://*.example.org.")
    assert engine.check_request(policy, "GET", "https://app.example.com.").allowed
    assert engine.check_request(policy, "GET", "https://a.example.org.").allowed
    for other in ("https://app.example.com", "https://a.example.org", "https://example.org."):
        assert not engine.check_request(policy, "GET", other).allowed, other


@pytest.mark.parametrize("arg,name,words", [
    ("allow_headers", "access-control-allow-origin", "only servers send"),
    ("allow_headers", "Access-Control-Allow-Credentials", "only servers send"),
    ("allow_headers", "access-control-expose-headers", "only servers send"),
    ("allow_headers", "access-control-max-age", "only servers send"),
    ("expose_headers", "origin", "a request header"),
    ("expose_headers", "access-control-request-method", "a request header"),
    ("expose_headers", "access-control-request-private-network", "a request header"),
    ("expose_headers", "access-control-allow-origin", "a CORS response header"),
    ("expose_headers", "access-control-max-age", "a CORS response header"),
])
def test_header_names_are_checked_for_their_side(arg: str, name: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        Policy(**{arg: ["x-fine", name]})
    assert len(info.value.errors) == 1
    assert f"{arg}[1] {name!r}" in info.value.errors[0] and words in info.value.errors[0]


def test_a_comma_separated_origins_string_is_split() -> None:
    policy = Policy(allow_origins="https://a.example, https://b.example")
    assert policy.allow_origins == ("https://a.example", "https://b.example")
    with pytest.raises(ConfigError, match=r"allow_origins\[1\] 'https://b.example/'"):
        Policy(allow_origins="https://a.example,https://b.example/")
