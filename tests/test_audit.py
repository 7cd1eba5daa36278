"""The audit: what it finds, how severe, and the `corsfast audit` command."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from corsfast import ConfigError, Policy, Router
from corsfast._audit import (
    RegexNotAnalysed,
    audit,
    is_shared_suffix,
    literal_hosts,
    notes,
    regex_candidates,
    regex_examples,
    registrable,
)

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "corsfast", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def codes(policy: Policy | Router) -> dict[str, str]:
    return {f.code: f.severity for f in audit(policy)}


# -- regexes -------------------------------------------------------------------------


@pytest.mark.parametrize("pattern, code, example", [
    (r"https://app.example.com", "regex-unescaped-dot", "https://appxexample.com"),
    (r"https://(app|admin).example\.com", "regex-unescaped-dot",
     "https://adminxexample.com"),
    (r"https://.*example\.com", "regex-prefix", "https://evilexample.com"),
    (r"https://[a-z]*example\.com", "regex-prefix", "https://evilexample.com"),
    (r"https://app\.example\.com.*", "regex-suffix",
     "https://app.example.com.evil.test"),
    (r"https://app\.example\.com[^:]*", "regex-suffix",
     "https://app.example.com.evil.test"),
    (r"https://app\.example\.com[_a-z]\.evil\.test", "regex-special-char",
     "https://app.example.com_.evil.test"),
    (r".*", "regex-any-origin", "https://evil.test"),
    (r"(null|https://app\.example\.com)", "regex-null", "null"),
    (r"https://[a-z0-9-]+\.github\.io", "regex-shared-hosting",
     "https://attacker.github.io"),
    (r"https?://([a-z]+\.)?example\.com", "regex-http", "http://example.com"),
    # A wildcard that holds more than label characters names another host.
    (r"https://.*\.example\.com", "regex-wildcard-label",
     "https://evil.test/.example.com"),
    (r"https://.+\.example\.com", "regex-wildcard-label",
     "https://evil.test?.example.com"),
    (r"https://[^.]+\.example\.com", "regex-wildcard-label",
     "https://evil/.example.com"),
    (r"https://[^/]+\.example\.com", "regex-wildcard-label",
     "https://evil.test#.example.com"),
    (r"https://app\.example\.com(:.*)?", "regex-wildcard-label",
     "https://app.example.com:@evil.test"),
    (r"(?i)HTTPS://.*\.EXAMPLE\.COM", "regex-wildcard-label",
     "https://evil.test/.example.com"),
    # A wildcard in the registrable domain: strangers' domains.
    (r"https://app\.[a-z]+\.com", "regex-other-domains", "https://app.evil.com"),
    (r"https://[a-z]+\.example\.[a-z]+", "regex-other-domains",
     "https://a.example.evil"),
    (r"https://app\.example\.com[^.]*", "regex-other-domains",
     "https://app.example.comevil"),
    # A wildcard scheme.
    (r"[a-z]+://app\.example\.com", "regex-any-scheme", "evil://app.example.com"),
    (r".*app\.example\.com", "regex-any-scheme", "evil://app.example.com"),
])
def test_overmatching_regex_is_found_with_a_real_match(
        pattern: str, code: str, example: str) -> None:
    findings = {f.code: f for f in audit(Policy(allow_origin_regex=pattern,
                                                 allow_credentials=True))}
    assert code in findings, findings
    finding = findings[code]
    assert example in finding.examples
    # Every example reported really is accepted by the regex.
    for origin in finding.examples:
        assert re.fullmatch(pattern, origin)
    assert finding.severity == ("medium" if code == "regex-http" else "high")


@pytest.mark.parametrize("pattern", [
    r"https://app\.example\.com",
    r"https://(app|admin)\.example\.com(:[0-9]+)?",
    r"https://([a-z0-9-]+\.)*example\.com",
    r"https://[a-z0-9-]+\.example\.com",
    r"https://pr-[0-9]+\.preview\.example\.com",
    r"https://([a-z0-9-]+\.)*example\.com(:[0-9]+)?",
    r"https://[\w.-]+\.example\.com",
    r"(?i)https://APP\.EXAMPLE\.COM",
])
def test_tight_regex_is_clean(pattern: str) -> None:
    assert audit(Policy(allow_origin_regex=pattern, allow_credentials=True)) == []


def test_several_registrable_domains_in_one_credentialed_regex_are_low() -> None:
    pattern = r"https://(www\.example\.com|app\.example\.org)"
    (finding,) = audit(Policy(allow_origin_regex=pattern, allow_credentials=True))
    assert (finding.code, finding.severity) == ("regex-several-sites", "low")
    assert finding.examples == ("example.com", "example.org")
    # Without credentials, or within one registrable domain, nothing to say.
    assert audit(Policy(allow_origin_regex=pattern)) == []
    assert audit(Policy(allow_origin_regex=r"https://(www|app)\.example\.co\.uk",
                        allow_credentials=True)) == []


def test_wildcard_subdomain_regex_points_to_the_pattern_entry() -> None:
    policy = Policy(allow_origin_regex=r"https://.*\.example\.com",
                    allow_credentials=True)
    (finding,) = audit(policy)
    assert (finding.code, finding.severity) == ("regex-wildcard-label", "high")
    assert finding.examples[0] == "https://evil.test/.example.com"
    assert "names the host evil.test" in finding.message
    assert finding.fix.startswith(
        "use the pattern entry 'https://*.example.com' in allow_origins instead")
    # The suggested entry is a valid replacement with nothing worse than the
    # note every credentialed subdomain pattern gets.
    assert codes(Policy(allow_origins=["https://*.example.com"],
                        allow_credentials=True)) == {
        "subdomains-with-credentials": "low"}


@pytest.mark.parametrize("pattern", [
    r"https://[^.]+\.example\.com",   # one label: '*.' would trust more
    r"https://.*\.github\.io",         # a shared suffix: no entry is the fix
    r"https://app\.example\.com(:.*)?",
])
def test_wildcard_label_fix_without_an_entry(pattern: str) -> None:
    findings = {f.code: f for f in audit(Policy(allow_origin_regex=pattern,
                                                 allow_credentials=True))}
    fix = findings["regex-wildcard-label"].fix
    assert fix.startswith("let each wildcard match label characters only")
    assert "*." not in fix


@pytest.mark.parametrize("pattern", [
    r"https://.*\.example\.com",
    r"[a-z]+://app\.example\.com",
])
def test_wildcard_label_and_scheme_matter_only_with_credentials(pattern: str) -> None:
    found = codes(Policy(allow_origin_regex=pattern))
    assert "regex-wildcard-label" not in found
    assert "regex-any-scheme" not in found


def test_other_domains_is_medium_without_credentials() -> None:
    assert codes(Policy(allow_origin_regex=r"https://app\.[a-z]+\.com")) == {
        "regex-other-domains": "medium"}


def test_wildcard_findings_give_way_to_the_plainer_ones() -> None:
    # '.*' alone: "any origin" says everything; the pattern running past the
    # host already shows the stranger's domain.
    assert "regex-wildcard-label" not in codes(Policy(
        allow_origin_regex=".*", allow_credentials=True))
    found = codes(Policy(allow_origin_regex=r"https://app\.example\.com.*",
                         allow_credentials=True))
    assert "regex-suffix" in found
    assert not {"regex-wildcard-label", "regex-other-domains"} & set(found)


def test_regex_severity_drops_without_credentials() -> None:
    assert codes(Policy(allow_origin_regex=r"https://app.example.com")) == {
        "regex-unescaped-dot": "medium"}
    # Plain http matters only with credentials.
    assert codes(Policy(allow_origin_regex=r"https?://app\.example\.com")) == {}


def test_escape_fix_is_a_working_pattern() -> None:
    (finding,) = audit(Policy(allow_origin_regex=r"https://(app|admin).example.com"))
    fixed = re.search(r"r'([^']*)'", finding.fix)
    assert fixed is not None
    pattern = fixed.group(1)
    assert pattern == r"https://(app|admin)\.example\.com"
    assert audit(Policy(allow_origin_regex=pattern)) == []


def test_regex_helpers() -> None:
    assert literal_hosts(r"https://(www\.)?example\.com|https://\w+\.test\.org") == [
        "example.com", "test.org"]
    assert "https://app\x00example\x00com" in regex_examples(r"https://app.example.com")
    with pytest.raises(RegexNotAnalysed, match="does not compile"):
        regex_examples("(unbalanced")
    origins = [o for o, _ in regex_candidates(r"https://api\.example\.co\.uk")]
    assert "https://evilexample.co.uk" in origins
    assert "https://api.example.co.uk.evil.test" in origins
    assert registrable("a.b.example.co.uk") == "example.co.uk"
    assert registrable("me.github.io") == "me.github.io"
    assert registrable("127.0.0.1") == "127.0.0.1"
    assert is_shared_suffix("github.io") and is_shared_suffix("VERCEL.APP")
    assert not is_shared_suffix("example.com")


# -- regexes the audit cannot read: a finding, never "clean" ---------------------------


@pytest.mark.parametrize("pattern, reason", [
    (r"https://(?!admin\.)[a-z]+\.example\.com", "negative lookahead"),
    (r"https://(?=[a-z])[a-z]+\.example\.com", "lookahead"),
    (r"https://([a-z]+)\.\1\.com", "backreference"),
    (r"https://(a)?(?(1)b|c)\.example\.com", "conditional group"),
    (r"\bhttps://app\.example\.com", "word-boundary"),
    (r"https://[a-z]{100}\.example\.com", "repeat of at least 100"),
    ("https://" + "(ab|cd)" * 9 + r"\.example\.com", "more than 256 alternatives"),
    (r"https://app$\.example\.com", "audit's own example"),
])
@pytest.mark.parametrize("creds", [True, False])
def test_unreadable_regex_is_a_high_finding(pattern: str, reason: str,
                                            creds: bool) -> None:
    findings = {f.code: f for f in audit(Policy(allow_origin_regex=pattern,
                                                 allow_credentials=creds))}
    finding = findings["regex-unanalysed"]
    assert finding.severity == "high"
    assert finding.message.startswith("could not analyse the regex: ")
    assert finding.message.endswith("; review by hand")
    assert reason in finding.message
    assert finding.subject == f"allow_origin_regex r'{pattern}'"


def test_unreadable_regex_keeps_what_was_found_before() -> None:
    # The lookahead stops the reader; the unescaped dots are still caught
    # from the hosts written in the pattern.
    found = codes(Policy(allow_origin_regex=r"https://(?!x)app.example.com",
                         allow_credentials=True))
    assert found == {"regex-unanalysed": "high", "regex-unescaped-dot": "high"}


def test_reader_failure_of_any_kind_is_a_finding() -> None:
    # A deeply nested (but valid) regex read with little stack left: the
    # reader hits RecursionError, which must surface as a finding.
    pattern = "https://" + "(" * 200 + "a" + ")" * 200 + r"\.example\.com"
    policy = Policy(allow_origin_regex=pattern)
    assert codes(policy) == {}  # with the normal stack it reads fine
    limit = sys.getrecursionlimit()
    depth = len(inspect.stack(0))
    sys.setrecursionlimit(depth + 120)
    try:
        findings = audit(policy)
    finally:
        sys.setrecursionlimit(limit)
    (finding,) = findings
    assert finding.code == "regex-unanalysed" and finding.severity == "high"
    assert "RecursionError" in finding.message


def test_audit_command_never_calls_an_unreadable_regex_clean() -> None:
    result = run("audit", "--allow-origin-regex",
                 r"https://(?!admin\.)[a-z0-9-]+\.example\.com")
    assert result.returncode == 1, result.stdout
    assert "clean" not in result.stdout
    first = result.stdout.splitlines()[0]
    assert first.startswith("HIGH   allow_origin_regex ")
    assert "could not analyse the regex" in first and "review by hand" in first
    data = json.loads(run("audit", "--json", "--allow-origin-regex",
                          r"https://(?!admin\.)[a-z0-9-]+\.example\.com").stdout)
    assert [f["code"] for f in data["findings"]] == ["regex-unanalysed"]
    assert data["counts"]["high"] == 1


# -- origins and other settings ------------------------------------------------------


def test_null_origin() -> None:
    assert codes(Policy(allow_origins=["null"], allow_credentials=True)) == {
        "null-origin": "high"}
    assert codes(Policy(allow_origins=["null"])) == {"null-origin": "medium"}


def test_http_origin_with_credentials() -> None:
    # Only by name (docs/spec.md "Origin entries", rule 10), and then HIGH.
    with pytest.raises(ConfigError, match="allow_insecure_origins=True"):
        Policy(allow_origins=["http://app.example.com"], allow_credentials=True)
    assert codes(Policy(allow_origins=["http://app.example.com"],
                        allow_credentials=True, allow_insecure_origins=True)) == {
        "http-with-credentials": "high"}
    assert codes(Policy(allow_origins=["http://localhost:*"],
                        allow_credentials=True)) == {"http-with-credentials": "low"}
    assert codes(Policy(allow_origins=["http://app.example.com"])) == {}


@pytest.mark.parametrize("suffix", ["github.io", "herokuapp.com", "vercel.app",
                                    "netlify.app", "pages.dev", "co.uk"])
def test_subdomain_pattern_on_shared_hosting(suffix: str) -> None:
    with pytest.raises(ConfigError, match="allow_public_suffix_patterns=True"):
        Policy(allow_origins=[f"https://*.{suffix}"], allow_credentials=True)
    assert codes(Policy(allow_origins=[f"https://*.{suffix}"], allow_credentials=True,
                        allow_public_suffix_patterns=True)) == {"shared-hosting": "high"}
    assert codes(Policy(allow_origins=[f"https://*.{suffix}"])) == {
        "shared-hosting": "medium"}
    # One's own host on shared hosting is fine.
    assert codes(Policy(allow_origins=[f"https://mine.{suffix}"],
                        allow_credentials=True)) == {}


def test_own_subdomains_with_credentials_are_low() -> None:
    assert codes(Policy(allow_origins=["https://*.example.com"],
                        allow_credentials=True)) == {
        "subdomains-with-credentials": "low"}
    assert codes(Policy(allow_origins=["https://*.example.com"])) == {}


def test_wildcards_max_age_and_private_network() -> None:
    found = codes(Policy(allow_origins=["https://app.example.com"],
                         allow_methods="*", allow_headers="*",
                         allow_credentials=True, max_age=86400,
                         allow_private_network=True))
    assert found == {
        "any-method-with-credentials": "low",
        "any-header-with-credentials": "low",
        "long-max-age": "low",
        "private-network": "low",
    }
    assert codes(Policy(allow_origins=["https://a.example.com"], max_age=7200,
                        allow_methods="*", allow_headers="*")) == {}
    assert codes(Policy(allow_origins="*")) == {"any-origin": "low"}


def test_long_max_age_starts_above_chromiums_cap() -> None:
    assert "long-max-age" not in codes(Policy(allow_origins="*", max_age=7200))
    (finding,) = [f for f in audit(Policy(allow_origins="*", max_age=7201))
                  if f.code == "long-max-age"]
    assert finding.severity == "low"
    assert "Chromium keeps a preflight answer at most 7200 s" in finding.message
    assert "WebKit at most 600 s" in finding.message
    assert "Firefox keeps up to 7201 s" in finding.message


@pytest.mark.parametrize("max_age, kept", [
    (86400, {"chromium": 7200, "firefox": 86400, "webkit": 600}),
    (7200, {"chromium": 7200, "firefox": 7200, "webkit": 600}),
    (601, {"chromium": 601, "firefox": 601, "webkit": 600}),
    (600, {"chromium": 600, "firefox": 600, "webkit": 600}),
    (5, {"chromium": 5, "firefox": 5, "webkit": 5}),
])
def test_max_age_note_says_what_each_engine_keeps(max_age: int,
                                                  kept: dict[str, int]) -> None:
    (note,) = notes(Policy(allow_origins="*", max_age=max_age))
    assert note.code == "max-age-by-browser"
    assert note.subject == f"max_age {max_age}"
    assert note.data == {"max_age": max_age, "kept": kept}
    assert note.message == (
        f"browsers keep a preflight answer for Chromium {kept['chromium']} s, "
        f"Firefox {kept['firefox']} s, WebKit (Safari) {kept['webkit']} s")


def test_max_age_note_for_zero_none_and_routes() -> None:
    (note,) = notes(Policy(allow_origins="*", max_age=0))
    assert note.message.startswith("no browser keeps the preflight answer")
    assert notes(Policy(allow_origins="*")) == []
    router = Router({"/api": Policy(allow_origins="*", max_age=9000),
                     "/": Policy(allow_origins="*")})
    (note,) = notes(router)
    assert note.route == "/api" and note.data["kept"]["chromium"] == 7200


def test_private_network_is_called_legacy() -> None:
    (finding,) = audit(Policy(allow_origins=["https://app.example.com"],
                              allow_private_network=True))
    assert (finding.code, finding.severity) == ("private-network", "low")
    for words in ("legacy Private Network Access", "Local Network Access",
                  "Chrome 142", "no server opt-in header",
                  "ordinary CORS still applies"):
        assert words in finding.message
    assert codes(Policy(allow_origins=["https://app.example.com"])) == {}


def test_predicate_is_named_as_unaudited() -> None:
    assert codes(Policy(allow_origin_predicate=lambda o: True)) == {
        "predicate-not-audited": "low"}


def test_findings_are_sorted_and_carry_the_route() -> None:
    router = Router({
        "/api": Policy(allow_origins=["null"], allow_credentials=True),
        "/": Policy(allow_origins="*", max_age=86400),
    })
    findings = audit(router)
    assert [f.severity for f in findings] == ["high", "low", "low"]
    assert findings[0].route == "/api"
    assert {f.route for f in findings[1:]} == {"/"}


# -- the command ------------------------------------------------------------------------


def test_audit_command_high_finding_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text("allow_origin_regex = 'https://app.example.com'\n"
                    "allow_credentials = true\n")
    result = run("audit", "--config", str(path))
    assert result.returncode == 1, result.stderr
    first, fix = result.stdout.splitlines()[:2]
    assert first.startswith("HIGH   allow_origin_regex r'https://app.example.com': ")
    assert "https://appxexample.com" in first
    assert fix.strip() == r"fix: escape the dots: r'https://app\.example\.com'"
    assert result.stdout.splitlines()[-1] == f"{path}: 1 finding (1 high)"


def test_audit_command_reports_a_wildcard_subdomain_regex() -> None:
    result = run("audit", "--allow-origin-regex", r"https://.*\.example\.com",
                 "--allow-credentials")
    assert result.returncode == 1, result.stderr
    first, fix = result.stdout.splitlines()[:2]
    assert first.startswith(r"HIGH   allow_origin_regex r'https://.*\.example\.com': ")
    assert "https://evil.test/.example.com" in first
    assert fix.strip().startswith(
        "fix: use the pattern entry 'https://*.example.com' in allow_origins")


def test_audit_command_clean_exits_0() -> None:
    result = run("audit", "--config", "examples/policy.toml")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "INFO   max_age 600: browsers keep a preflight answer for Chromium 600 s, "
        "Firefox 600 s, WebKit (Safari) 600 s\n"
        "examples/policy.toml: clean, no findings\n")


def test_audit_command_info_lines_never_fail() -> None:
    flags = ["--allow-origin", "https://app.example.com", "--max-age", "86400"]
    result = run("audit", *flags)
    assert result.returncode == 0
    assert ("INFO   max_age 86400: browsers keep a preflight answer for Chromium "
            "7200 s, Firefox 86400 s, WebKit (Safari) 600 s\n") in result.stdout
    # Only the low finding, never the note, makes --fail-on low fail.
    assert run("audit", "--allow-origin", "https://app.example.com",
               "--max-age", "600", "--fail-on", "low").returncode == 0


def test_audit_fail_on() -> None:
    flags = ["--allow-origin", "https://app.example.com", "--max-age", "86400"]
    assert run("audit", *flags).returncode == 0
    assert run("audit", *flags, "--fail-on", "low").returncode == 1
    assert run("audit", *flags, "--fail-on", "medium").returncode == 0


def test_audit_json_shape() -> None:
    result = run("audit", "--config", "examples/risky.toml", "--json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert set(data) == {"source", "findings", "notes", "counts", "fail_on"}
    assert data["counts"] == {"high": 4, "medium": 0, "low": 3}
    assert data["notes"] == [{
        "code": "max-age-by-browser", "route": None, "subject": "max_age 86400",
        "message": "browsers keep a preflight answer for Chromium 7200 s, "
                   "Firefox 86400 s, WebKit (Safari) 600 s",
        "data": {"max_age": 86400,
                 "kept": {"chromium": 7200, "firefox": 86400, "webkit": 600}},
    }]
    assert data["fail_on"] == "high"
    for f in data["findings"]:
        assert set(f) == {"severity", "code", "route", "subject", "message",
                          "fix", "examples"}
        assert f["severity"] in ("high", "medium", "low")
        assert f["fix"] and "\n" not in f["fix"]
    found = {f["code"] for f in data["findings"]}
    assert {"null-origin", "shared-hosting", "regex-unescaped-dot",
            "http-with-credentials", "private-network",
            "any-method-with-credentials", "long-max-age"} == found


def test_audit_routes_file() -> None:
    result = run("audit", "--config", "examples/routes.toml", "--json")
    assert result.returncode == 0
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["route"] == "/public" and finding["code"] == "any-origin"


def test_audit_config_error_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"allow_orgins": ["https://a.example.com"]}')
    result = run("audit", "--config", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert (f"{path}: allow_orgins: unknown key; did you mean 'allow_origins'?"
            in result.stderr)


# -- dialects ---------------------------------------------------------------------------


def test_a_dialect_reflecting_every_origin_with_credentials_is_high() -> None:
    import warnings

    from corsfast.contrib.flask import FLASK
    from corsfast.contrib.starlette import CORSMiddleware as Starlette

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        starlette = Starlette(lambda *a: None, allow_origins=["*"], allow_credentials=True)
    flask = Policy(allow_origins="*", allow_credentials=True, dialect=FLASK)
    for policy in (starlette.policy, flask):
        found = {f.code: f for f in audit(policy)}
        assert found["reflect-any-origin-with-credentials"].severity == "high"
        assert policy.dialect.name in found["reflect-any-origin-with-credentials"].subject
        assert "any-origin" not in found  # not the harmless static '*'
    # Without credentials the same '*' is the low finding it always was.
    open_policy = Policy(allow_origins="*", dialect=FLASK)
    assert [f.code for f in audit(open_policy)].count("reflect-any-origin-with-credentials") == 0
    assert "any-origin" in {f.code for f in audit(open_policy)}


def test_dialect_findings_and_notes() -> None:
    import dataclasses

    from corsfast._audit import notes
    from corsfast.contrib.flask import FLASK

    quiet = dataclasses.replace(FLASK, vary_header=False)
    policy = Policy(allow_origins=["https://app.example.com"], dialect=quiet)
    found = {f.code: f.severity for f in audit(policy)}
    assert found["no-vary"] == "medium"
    assert found["loose-origin-syntax"] == "low"
    dialect_notes = [n for n in notes(policy) if n.code == "dialect"]
    assert len(dialect_notes) == 1
    assert dialect_notes[0].data["differences"]["vary_header"] is False
    # corsfast's own dialect: nothing to say.
    plain = Policy(allow_origins=["https://app.example.com"])
    assert not [n for n in notes(plain) if n.code == "dialect"]
    assert not {"no-vary", "loose-origin-syntax"} & {f.code for f in audit(plain)}
