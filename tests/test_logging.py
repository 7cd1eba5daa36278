"""Refusal logging: escaped, bounded, and silent unless asked for."""

from __future__ import annotations

import logging
from types import ModuleType

import pytest

from corsfast import Policy, Reason
from corsfast._logging import MAX_LOG_VALUE, escape_for_log, log_refusal, logger

SITE = "https://app.example.com"


@pytest.fixture
def policy() -> Policy:
    return Policy(allow_origins=[SITE], allow_methods=["GET", "PUT"],
                  allow_headers=["x-token"])


@pytest.fixture
def info_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="corsfast")
    return caplog


# -- escape_for_log -------------------------------------------------------------


def test_logger_is_named_corsfast() -> None:
    assert logger is logging.getLogger("corsfast")


@pytest.mark.parametrize("text", [
    SITE, "null", "GET", "/api/v1?q=1&x=%0d", "x-token, content-type", "",
    "a" * MAX_LOG_VALUE,
])
def test_printable_ascii_is_unchanged(text: str) -> None:
    assert escape_for_log(text) == text


@pytest.mark.parametrize(("raw", "escaped"), [
    ("\r", "\\x0d"),
    ("\n", "\\x0a"),
    ("\x00", "\\x00"),
    ("\t", "\\x09"),
    ("\x0b", "\\x0b"),
    ("\x1b[31m", "\\x1b[31m"),
    ("\x7f", "\\x7f"),
    ("\x85", "\\x85"),
    ("\xe9", "\\xe9"),
    ("\u2028", "\\u2028"),
    ("\u0430pp", "\\u0430pp"),
    ("\U0001f600", "\\U0001f600"),
    ("\\", "\\\\"),
    ("\\x0d", "\\\\x0d"),
])
def test_control_and_non_ascii_characters_are_escaped(raw: str, escaped: str) -> None:
    assert escape_for_log(raw) == escaped


def test_a_forged_log_line_stays_on_one_line() -> None:
    origin = (f"{SITE}\r\n2030-01-01 00:00:00 INFO corsfast CORS request "
              f"allowed: origin=https://evil.com")
    out = escape_for_log(origin, limit=10_000)
    assert "\r" not in out and "\n" not in out
    assert out.startswith(SITE + "\\x0d\\x0a2030-01-01")
    assert out.isascii() and out.isprintable()


def test_an_escape_written_by_the_client_cannot_pass_for_ours() -> None:
    # A real CR and the four characters '\x0d' must log differently.
    assert escape_for_log("a\rb") != escape_for_log("a\\x0db")


def test_bytes_are_escaped_byte_by_byte() -> None:
    assert escape_for_log(b"https://a.com\r\n\xff") == "https://a.com\\x0d\\x0a\\xff"
    assert escape_for_log(bytearray(b"\x00ok")) == "\\x00ok"
    assert escape_for_log("café".encode()) == "caf\\xc3\\xa9"


def test_none_and_other_objects() -> None:
    assert escape_for_log(None) == "-"
    assert escape_for_log(42) == "42"
    assert escape_for_log(["a\nb"]) == "['a\\\\nb']"


def test_long_values_are_cut_with_a_marker() -> None:
    value = "a" * 100_000
    out = escape_for_log(value)
    assert out == "a" * MAX_LOG_VALUE + f"...[+{100_000 - MAX_LOG_VALUE}]"
    assert len(escape_for_log(b"b" * 100_000)) < MAX_LOG_VALUE + 20


def test_the_cut_never_splits_an_escape() -> None:
    out = escape_for_log("\r" * 100, limit=10)
    # 10 characters hold two 4-character escapes, not two and a half.
    assert out == "\\x0d\\x0d...[+98]"


def test_limit_counts_escaped_characters() -> None:
    assert escape_for_log("abc\n", limit=4) == "abc...[+1]"
    assert escape_for_log("abc\n", limit=7) == "abc\\x0a"


def test_a_value_exactly_at_the_limit_has_no_marker() -> None:
    assert escape_for_log("x" * 16, limit=16) == "x" * 16
    assert escape_for_log("x" * 17, limit=16) == "x" * 16 + "...[+1]"


def test_a_huge_value_is_cut_early_and_the_marker_counts_the_rest() -> None:
    small = escape_for_log("\n" * 1_000)
    large = escape_for_log("\n" * 10_000_000)
    assert small.split("...")[0] == large.split("...")[0] == "\\x0a" * (MAX_LOG_VALUE // 4)
    assert large.endswith(f"...[+{10_000_000 - MAX_LOG_VALUE // 4}]")


# -- log_refusal ------------------------------------------------------------------


def test_refused_request_is_logged_at_info(
    engine: ModuleType, policy: Policy, info_logs: pytest.LogCaptureFixture
) -> None:
    decision = engine.check_request(policy, "GET", "https://evil.com")
    assert log_refusal(decision, "GET", "https://evil.com", "/account") is True
    [record] = info_logs.records
    assert record.name == "corsfast"
    assert record.levelno == logging.INFO
    assert record.cors_reason == "ORIGIN_NOT_ALLOWED"
    assert record.cors_preflight is False
    message = record.getMessage()
    assert "ORIGIN_NOT_ALLOWED" in message
    assert "origin=https://evil.com" in message
    assert "path=/account" in message


def test_refused_preflight_logs_what_was_asked(
    engine: ModuleType, policy: Policy, info_logs: pytest.LogCaptureFixture
) -> None:
    decision = engine.check_request(policy, "OPTIONS", SITE, "PUT", "x-other")
    assert decision.reason is Reason.HEADERS_NOT_ALLOWED
    assert log_refusal(decision, "OPTIONS", SITE, "/x",
                       request_method="PUT", request_headers="x-other")
    [record] = info_logs.records
    message = record.getMessage()
    assert record.cors_preflight is True
    assert "preflight refused (HEADERS_NOT_ALLOWED)" in message
    assert "access-control-request-method=PUT" in message
    assert "access-control-request-headers=x-other" in message
    assert "access-control-request-private-network=-" in message


def test_hostile_values_are_escaped_in_the_record(
    engine: ModuleType, policy: Policy, info_logs: pytest.LogCaptureFixture
) -> None:
    origin = "https://evil.com\r\nINFO corsfast all fine"
    path = "/\x1b[2J" + "p" * 100_000
    decision = engine.check_request(policy, "OPTIONS", origin, "PUT\n", "a\x00")
    assert log_refusal(decision, "OPTIONS", origin, path,
                       request_method="PUT\n", request_headers="a\x00")
    [record] = info_logs.records
    message = record.getMessage()
    assert "\r" not in message and "\n" not in message and "\x1b" not in message
    assert "\x00" not in message
    assert "origin=https://evil.com\\x0d\\x0aINFO" in message
    assert "path=/\\x1b[2J" in message
    assert len(message) < 6 * MAX_LOG_VALUE
    assert message.isascii() and message.isprintable()


def test_bytes_values_from_asgi(
    engine: ModuleType, policy: Policy, info_logs: pytest.LogCaptureFixture
) -> None:
    decision = engine.check_request(policy, b"GET", b"https://evil.com\xff")
    assert log_refusal(decision, b"GET", b"https://evil.com\xff", b"/a")
    message = info_logs.records[0].getMessage()
    assert "origin=https://evil.com\\xff" in message
    assert "method=GET" in message and "path=/a" in message


@pytest.mark.parametrize("origin", [None, SITE])
def test_allowed_decisions_are_not_logged(
    engine: ModuleType, policy: Policy, info_logs: pytest.LogCaptureFixture,
    origin: str | None,
) -> None:
    decision = engine.check_request(policy, "GET", origin)
    assert decision.allowed
    assert log_refusal(decision, "GET", origin, "/") is False
    assert info_logs.records == []


def test_nothing_is_logged_when_info_is_disabled(
    engine: ModuleType, policy: Policy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="corsfast")
    decision = engine.check_request(policy, "GET", "https://evil.com")
    assert log_refusal(decision, "GET", "https://evil.com") is False
    assert caplog.records == []


def test_disabled_logging_does_no_escaping(
    engine: ModuleType, policy: Policy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="corsfast")

    class Exploding:
        def __repr__(self) -> str:
            raise AssertionError("escaped although logging is off")

    decision = engine.check_request(policy, "GET", "https://evil.com")
    assert log_refusal(decision, Exploding(), Exploding(), Exploding()) is False


def test_a_custom_logger_can_be_given(
    engine: ModuleType, policy: Policy, caplog: pytest.LogCaptureFixture
) -> None:
    mine = logging.getLogger("myapp.cors")
    caplog.set_level(logging.INFO, logger="myapp.cors")
    decision = engine.check_request(policy, "GET", "null")
    assert log_refusal(decision, "GET", "null", log=mine)
    assert [r.name for r in caplog.records] == ["myapp.cors"]


# -- the fix in words -------------------------------------------------------------


@pytest.mark.parametrize(("args", "fix"), [
    (("OPTIONS", SITE, "PUT", "x-token, x-other"),
     "fix: not allowed: x-other; add them to allow_headers (now: x-token)"),
    (("OPTIONS", SITE, "DELETE"),
     "fix: add 'DELETE' to allow_methods (now: GET, PUT)"),
    (("OPTIONS", SITE, "put"),
     "fix: methods are case-sensitive: 'put' is not 'PUT'"),
    (("GET", "https://app.example.co"),
     "fix: the nearest trusted entry is 'https://app.example.com'"),
    (("OPTIONS", SITE, "PUT\x0b"),
     "fix: Access-Control-Request-Method must be one method token"),
    (("OPTIONS", SITE, "PUT", "x-token;"),
     "fix: Access-Control-Request-Headers must be a comma-separated list"),
])
def test_the_line_ends_with_the_fix_in_words(
    engine: ModuleType, policy: Policy, info_logs: pytest.LogCaptureFixture,
    args: tuple[str, ...], fix: str,
) -> None:
    decision = engine.check_request(policy, *args)
    assert not decision.allowed
    method, origin, *asked = args
    assert log_refusal(decision, method, origin, "/a", *asked, policy=policy)
    [record] = info_logs.records
    message = record.getMessage()
    assert fix in message, message
    assert message.index(" fix: ") > message.index("path=/a")
    assert record.cors_fix == message.split(" fix: ", 1)[1]


def test_the_fix_reads_bytes_values_as_asgi_gives_them(
    engine: ModuleType, policy: Policy, info_logs: pytest.LogCaptureFixture
) -> None:
    decision = engine.check_request(policy, b"OPTIONS", SITE.encode(), b"PUT", b"x-new")
    assert log_refusal(decision, b"OPTIONS", SITE.encode(), b"/a", b"PUT", b"x-new",
                       policy=policy)
    assert "fix: not allowed: x-new; add them" in info_logs.records[0].getMessage()


def test_request_values_in_the_fix_are_escaped(
    engine: ModuleType, info_logs: pytest.LogCaptureFixture
) -> None:
    # The refused header names come from the request: a hostile one is
    # shown escaped, never raw.
    policy = Policy(allow_origins=[SITE], allow_methods=["PUT"])
    decision = engine.check_request(policy, "OPTIONS", SITE, "PUT", "x-\u0430" + "a" * 5000)
    log_refusal(decision, "OPTIONS", SITE, "/", "PUT", "x-\u0430" + "a" * 5000,
                policy=policy)
    message = info_logs.records[0].getMessage()
    assert message.isascii() and message.isprintable()
    assert len(message) < 8 * MAX_LOG_VALUE


def test_without_a_policy_there_is_no_fix(
    engine: ModuleType, policy: Policy, info_logs: pytest.LogCaptureFixture
) -> None:
    decision = engine.check_request(policy, "GET", "https://evil.com")
    assert log_refusal(decision, "GET", "https://evil.com", "/")
    assert " fix: " not in info_logs.records[0].getMessage()
    assert not hasattr(info_logs.records[0], "cors_fix")


def test_a_hint_that_fails_leaves_the_line_without_a_fix(
    engine: ModuleType, policy: Policy, info_logs: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import corsfast._hints

    def broken(*args: object) -> list[str]:
        raise RuntimeError("hint failed")

    monkeypatch.setattr(corsfast._hints, "hints", broken)
    decision = engine.check_request(policy, "GET", "https://evil.com")
    assert log_refusal(decision, "GET", "https://evil.com", "/", policy=policy)
    message = info_logs.records[0].getMessage()
    assert "ORIGIN_NOT_ALLOWED" in message and " fix: " not in message
