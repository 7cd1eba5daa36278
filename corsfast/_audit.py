"""Audit a policy for settings that trust more than they seem to.

``audit(policy_or_router)`` returns :class:`Finding` objects, worst first.
Each has a severity, the setting it is about, what an attacker gets, and a
one-line fix. The severities follow one rule: *high* when an origin an
attacker can obtain is trusted with credentials, *medium* when such an
origin is trusted without credentials or a risky feature is on, *low* for
settings that are fine on purpose but worth a second look.

A regex is judged by trying it, not by reading it: attacker-style origins
are derived from the hosts written in the pattern (``https://appxexample.com``
for an unescaped dot, ``https://example.com.evil.test`` for a pattern that
runs past the host, ``https://evilexample.com`` for one not anchored at a
label boundary, ...) and from its wildcards, each filled with attacker text
(``https://evil.test/.example.com`` for ``https://.*\\.example\\.com``); every
string the regex accepts is reported. A regex the audit cannot read is a
finding too (``regex-unanalysed``): the audit never calls it clean.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional, Union

from ._audit_regex import (
    RegexNotAnalysed,
    audit_regex,
    literal_hosts,
    regex_candidates,
    regex_examples,
    registrable,
    show_regex,
)
from ._findings import (
    BROWSER_MAX_AGE,
    MAX_AGE_BROWSER_CAP,
    SEVERITIES,
    Finding,
    Note,
)
from ._origin_set import OriginSet
from ._origins import is_loopback
from ._policy import Policy
from ._router import Router
from ._suffixes import is_shared_suffix

__all__ = [
    "BROWSER_MAX_AGE",
    "Finding",
    "Note",
    "RegexNotAnalysed",
    "SEVERITIES",
    "audit",
    "is_shared_suffix",
    "literal_hosts",
    "notes",
    "regex_candidates",
    "regex_examples",
    "registrable",
    "show_regex",
]

_RANK = {name: i for i, name in enumerate(SEVERITIES)}


def audit(target: Any) -> list[Finding]:
    """Every finding for a Policy, for each route of a Router, or for a
    middleware (its policy, and its own options such as ``debug``); worst
    first."""
    findings: list[Finding] = []
    if not isinstance(target, (Policy, Router)):
        policy = _middleware_policy(target)
        findings += audit(policy)
        if getattr(target, "debug", False) is True:
            findings.append(Finding(
                "medium", "debug-mode", "debug=True",
                "refused preflights carry a body naming the setting that would let "
                "them through, so any page can learn how the policy is built",
                "turn debug off outside development"))
    elif isinstance(target, Router):
        for prefix, policy in target.routes().items():
            findings += _audit_policy(policy, prefix)
    else:
        findings += _audit_policy(target, None)
    return sorted(findings, key=lambda f: _RANK[f.severity])


def _middleware_policy(target: Any) -> Union[Policy, Router]:
    """The policy or router a corsfast middleware or drop-in enforces."""
    policy = getattr(target, "policy", None)
    if not isinstance(policy, (Policy, Router)):
        raise TypeError(f"audit: expected a corsfast Policy, Router or middleware, "
                        f"got {type(target).__name__}")
    return policy


def notes(target: Any) -> list[Note]:
    """What each browser engine makes of the policy's max_age, and how a
    drop-in's dialect differs from corsfast's own, per route."""
    if not isinstance(target, (Policy, Router)):
        target = _middleware_policy(target)
    policies = (list(target.routes().items()) if isinstance(target, Router)
                else [(None, target)])
    out: list[Note] = []
    for route, policy in policies:
        differences = policy.dialect.differences()
        if differences:
            listed = ", ".join(f"{k}={v!r}" for k, v in differences.items())
            out.append(Note("dialect", f"dialect {policy.dialect.name!r}",
                            f"answers as {policy.dialect.name} does where it "
                            f"differs from corsfast: {listed}", route,
                            {"name": policy.dialect.name, "differences": differences}))
        if policy.max_age is None:
            continue
        kept = {engine: min(policy.max_age, cap)
                for engine, cap in BROWSER_MAX_AGE.items()}
        message = (
            f"browsers keep a preflight answer for Chromium {kept['chromium']} s, "
            f"Firefox {kept['firefox']} s, WebKit (Safari) {kept['webkit']} s"
            if policy.max_age else
            "no browser keeps the preflight answer: every request that needs a "
            "preflight gets one")
        out.append(Note("max-age-by-browser", f"max_age {policy.max_age}",
                        message, route, {"max_age": policy.max_age, "kept": kept}))
    return out


def _audit_policy(policy: Policy, route: Optional[str]) -> list[Finding]:
    out: list[Finding] = []
    creds = policy.allow_credentials
    leak = "high" if creds else "medium"
    with_creds = " with credentials" if creds else ""

    def add(severity: str, code: str, subject: str, message: str, fix: str,
            examples: Iterable[str] = ()) -> None:
        out.append(Finding(severity, code, subject, message, fix, route,
                           tuple(examples)))

    dialect = policy.dialect
    for i, entry in enumerate(policy.allow_origins):
        subject = f"allow_origins[{i}] {entry!r}"
        if entry == "*" and creds:  # only a dialect that says so allows this
            add("high", "reflect-any-origin-with-credentials",
                f"{subject} with dialect {dialect.name!r}",
                "every origin is echoed with credentials: any website can make "
                "credentialed requests and read the answers as the user",
                "list the trusted origins (patterns such as "
                "'https://*.example.com' work)")
            continue
        if entry == "*":
            add("low", "any-origin", subject,
                "every website can read responses (without credentials)",
                "fine for public, unauthenticated data; otherwise list the "
                "origins you trust")
            continue
        if entry == "null":
            add(leak, "null-origin", subject,
                f"'null' is sent by sandboxed iframes, data: URLs and local "
                f"files, so any website can obtain it{with_creds}",
                "remove 'null' and serve those pages from a real origin")
            continue
        scheme, _, rest = entry.partition("://")
        host = rest
        if host.startswith("["):
            host = host[: host.find("]") + 1]
        else:
            host = host.split(":", 1)[0]
        pattern = host.startswith("*.")
        base = host[2:] if pattern else host
        if pattern and is_shared_suffix(base):
            opted = " (allow_public_suffix_patterns=True)" if creds else ""
            add(leak, "shared-hosting", subject,
                f"{base} is a public suffix: anyone can get a host under it, and "
                f"every one of them is trusted{with_creds}{opted}",
                f"list your own hosts, e.g. '{scheme}://yourapp.{base}', not "
                f"the whole suffix")
        if creds and scheme == "http":
            local = is_loopback(base)
            opted = ("allow_insecure_origins=True" if policy.allow_insecure_origins
                     else f"dialect {dialect.name!r}")
            add("low" if local else "high", "http-with-credentials", subject,
                "a plain-http origin is trusted with credentials"
                + (": fine for development, risky in production" if local else
                   f" ({opted}): anyone on the network path can inject script "
                   f"into it and read credentialed responses"),
                f"use 'https://{rest}'" if not local else
                "keep loopback origins out of production policies")
        if pattern and creds and not is_shared_suffix(base):
            add("low", "subdomains-with-credentials", subject,
                f"every subdomain of {base}, including forgotten ones and ones "
                f"serving user content, can read credentialed responses",
                "list the subdomains that need access by name")

    if policy.allow_origin_set is not None:
        out += _audit_origin_set(policy.allow_origin_set, creds, route)

    regex = policy.allow_origin_regex
    if regex is not None:
        out += audit_regex(regex, creds, route)
    if policy.allow_origin_predicate is not None:
        add("low", "predicate-not-audited", "allow_origin_predicate",
            "a predicate is code and cannot be audited from here",
            "test it with the origins from 'corsfast audit' on a regex, or use "
            "'corsfast probe' on the running server")

    if creds and "*" in policy.allow_methods:
        add("low", "any-method-with-credentials", "allow_methods '*'",
            "trusted origins may send any method with credentials",
            "list the methods your API serves, e.g. [\"GET\", \"POST\", \"PUT\"]")
    if creds and "*" in policy.allow_headers:
        add("low", "any-header-with-credentials", "allow_headers '*'",
            "trusted origins may send any request header with credentials",
            "list the headers your API reads, e.g. [\"content-type\", "
            "\"x-request-id\"]")
    if policy.max_age is not None and policy.max_age > MAX_AGE_BROWSER_CAP:
        add("low", "long-max-age", f"max_age {policy.max_age}",
            f"Chromium keeps a preflight answer at most {MAX_AGE_BROWSER_CAP} s "
            f"and WebKit at most {BROWSER_MAX_AGE['webkit']} s, so the rest "
            f"is ignored there; Firefox keeps up to "
            f"{min(policy.max_age, BROWSER_MAX_AGE['firefox'])} s, so a "
            f"tightened policy reaches its users late",
            f"use max_age = {MAX_AGE_BROWSER_CAP} or less")
    if not dialect.vary_header:
        add("medium", "no-vary", f"dialect {dialect.name!r} vary_header=False",
            "answers that depend on the Origin carry no Vary: a shared cache "
            "may serve one origin's answer to another",
            "keep vary_header on (flask-cors: remove vary_header=False)")
    if dialect.loose_origin_syntax:
        add("low", "loose-origin-syntax", f"dialect {dialect.name!r}",
            "any printable Origin value counts as an origin, not only the "
            "scheme://host[:port] browsers send; patterns, regexes and "
            "predicates still see serialized origins only",
            "nothing to change for a drop-in; corsfast's own middleware is strict")
    if policy.allow_private_network:
        # https://developer.chrome.com/blog/local-network-access (June 2025):
        # Private Network Access was put on hold and Local Network Access, a
        # user permission, replaces it; blink-dev's intent to ship it names
        # Chrome 142 for the launch.
        add("low", "private-network", "allow_private_network true",
            "this answers legacy Private Network Access preflights "
            "(Access-Control-Request-Private-Network); Chrome shelved them in "
            "favour of Local Network Access, a permission prompt since Chrome "
            "142 with no server opt-in header, so the setting no longer decides "
            "whether a page reaches this server; ordinary CORS still applies to "
            "every request",
            "turn it off unless clients on older Chrome versions still send "
            "these preflights; for Local Network Access there is nothing to "
            "set on the server")
    return out




def _audit_origin_set(origins: OriginSet, creds: bool,
                      route: Optional[str]) -> list[Finding]:
    """An origin set's members change at run time, so the audit says what it
    holds now and judges the set's opt-ins, which stay for its lifetime: an
    opt-in lets any member registered later trust strangers."""
    subject = "allow_origin_set"
    entries = list(origins)
    patterns = sum(1 for entry in entries if "*" in entry)
    with_creds = " with credentials" if creds else ""
    out = [Finding(
        "low", "origin-set", f"{subject} ({len(entries)} entries now)",
        f"origins are added and removed while the server runs "
        f"({len(entries) - patterns} exact, {patterns} "
        f"pattern{'s' if patterns != 1 else ''} now), so this "
        f"audit sees only today's members; each one is trusted{with_creds}",
        "validate ownership of a domain before the registration path adds it",
        route)]

    def host_of(entry: str) -> str:
        host = entry.partition("://")[2]
        if host.startswith("["):
            return host[: host.find("]") + 1]
        return host.split(":", 1)[0].removeprefix("*.")

    if origins.allow_insecure_origins and creds:
        examples = [e for e in entries if e.startswith("http://")
                    and not is_loopback(host_of(e))]
        out.append(Finding(
            "high", "http-with-credentials", f"{subject} allow_insecure_origins=True",
            "the set accepts plain-http origins and they are trusted with "
            "credentials: anyone on the network path can inject script into "
            "them and read credentialed responses",
            "build the OriginSet without allow_insecure_origins and register "
            "https origins", route, tuple(examples[:5])))
    if origins.allow_public_suffix_patterns:
        examples = [e for e in entries if e.partition("://")[2].startswith("*.")
                    and is_shared_suffix(host_of(e))]
        out.append(Finding(
            "high" if creds else "medium", "shared-hosting",
            f"{subject} allow_public_suffix_patterns=True",
            f"the set accepts patterns over public suffixes (such as "
            f"'https://*.github.io'): anyone can get a host under one, and every "
            f"one of them is trusted{with_creds}",
            "build the OriginSet without allow_public_suffix_patterns and "
            "register your tenants' own hosts", route, tuple(examples[:5])))
    return out
