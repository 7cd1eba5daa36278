"""The audit of an origin regex (``corsfast audit``): it is judged by
trying it, not by reading it. Attacker-style origins are derived from the
hosts written in the pattern and from its wildcards, each filled with
attacker text; every string the regex accepts is reported. A regex this
module cannot read is a finding too (``regex-unanalysed``), never clean.

(About 600 lines: one analysis, reading a regex's parse tree into example
origins and judging each; its parts only make sense together.)
"""

from __future__ import annotations

import importlib
import re
import string
import sys
from typing import Any, Callable, Iterable, NamedTuple, Optional, Union

from ._findings import Finding
from ._policy import ConfigError, Policy
from ._suffixes import is_shared_suffix, registrable_domain

__all__ = ["RegexNotAnalysed", "audit_regex", "literal_hosts", "regex_candidates",
           "regex_examples", "registrable", "show_regex"]

# -- regex ------------------------------------------------------------------------

_ATTACKER = "evil.test"   # .test is reserved: never a real site
_HOSTLIKE = re.compile(r"(?:[a-z0-9-]+(?:\\\.|\.))+[a-z0-9-]*[a-z][a-z0-9-]*"
                       r"|localhost", re.IGNORECASE)
_NOISE = re.compile(r"\[(?:\\.|[^\]])*\]|\\[A-Za-z]|\{\d*,?\d*\}")


def literal_hosts(pattern: str) -> list[str]:
    """Host names written in a regex, unescaped: ``app\\.example\\.com`` ->
    ``app.example.com``. Character classes and escapes such as ``\\w`` are
    skipped so their letters are not read as host text."""
    text = _NOISE.sub(" ", pattern)
    hosts: list[str] = []
    for match in _HOSTLIKE.finditer(text):
        host = match.group(0).replace("\\.", ".").lower().strip("-.")
        if host and host not in hosts:
            hosts.append(host)
    return hosts


def registrable(host: str) -> str:
    """The name an owner registers: ``api.example.com`` -> ``example.com``,
    ``a.b.co.uk`` -> ``b.co.uk``, ``me.github.io`` -> ``me.github.io``.
    IP addresses and single labels stand for themselves."""
    host = host.lower()
    if "." not in host or host.startswith("[") or host.replace(".", "").isdigit():
        return host
    return registrable_domain(host)


# -- regex: examples read from its parse tree ------------------------------------
# The standard library's own parser (sre_parse before 3.11) turns the pattern
# into a tree; every path through it gives one example, made of pieces. A
# piece that stands for a character class under a repeat is a wildcard: the
# audit later puts attacker text there and asks the regex whether it agrees.
# Whatever the reader does not model (lookarounds, backreferences, too many
# alternatives, an example the regex itself refuses) raises RegexNotAnalysed,
# which the audit reports as a finding: it never answers "clean" for a regex
# it could not read.


class RegexNotAnalysed(ValueError):
    """The audit cannot model this regex; the message says why."""


_PARSER: Any = importlib.import_module(
    "re._parser" if sys.version_info >= (3, 11) else "sre_parse")

# A lone '.' (not under a repeat) is written as _DOT so its positions can be
# tried as a real dot (the intended host) and as a letter (what it also
# accepts).
_DOT = "\x00"
_MAX_EXAMPLES = 256   # more paths than this are not enumerated: reported instead
_MAX_REPEAT = 64      # a DNS label is at most 63 characters
# Characters tried, in this order, when an example needs one from a class:
# letters read most like a host.
_SAMPLES = (string.ascii_lowercase + string.digits + "-._" + string.punctuation
            + string.ascii_uppercase)
_ANCHORS = frozenset({"AT_BEGINNING", "AT_BEGINNING_STRING", "AT_END",
                      "AT_END_STRING"})
_UNMODELLED = {
    "ASSERT": "a lookahead or lookbehind",
    "ASSERT_NOT": "a negative lookahead or lookbehind",
    "GROUPREF": "a backreference",
    "GROUPREF_EXISTS": "a conditional group",
    "AT": "a word-boundary anchor",
}


class _Piece(NamedTuple):
    text: str      # what this example puts here
    free: bool     # a class under a repeat: other text can stand here
    varies: bool   # the text stands for a class, not for itself


_Example = tuple[_Piece, ...]


def _text(pieces: Iterable[_Piece]) -> str:
    return "".join(p.text for p in pieces).replace(_DOT, ".")


def _read(regex: re.Pattern[str]) -> list[_Example]:
    """Every path through ``regex``, each checked against the regex itself."""
    try:
        tree = _PARSER.parse(regex.pattern, regex.flags)
    except re.error as exc:
        raise RegexNotAnalysed(f"the standard parser refuses it: {exc}") from None
    icase = bool(tree.state.flags & re.IGNORECASE)
    examples = _read_seq(list(tree.data), icase, False)
    for example in examples:
        text = _text(example)
        if regex.fullmatch(text) is None:
            raise RegexNotAnalysed(
                f"it refuses {text!r}, the audit's own example of it, so the "
                f"audit's reading of it is wrong")
    return examples


def _read_seq(items: list[Any], icase: bool, repeated: bool) -> list[_Example]:
    results: list[_Example] = [()]
    for op, av in items:
        options = _read_node(str(op), av, icase, repeated)
        results = [r + o for r in results for o in options]
        if len(results) > _MAX_EXAMPLES:
            raise RegexNotAnalysed(
                f"it has more than {_MAX_EXAMPLES} alternatives to enumerate")
    return results


def _read_node(op: str, av: Any, icase: bool, repeated: bool) -> list[_Example]:
    if op == "LITERAL":
        ch = chr(av).lower() if icase else chr(av)
        return [(_Piece(ch, False, False),)]
    if op == "NOT_LITERAL":
        other = chr(av).lower()
        ch = next(c for c in _SAMPLES
                  if c != chr(av) and not (icase and c.lower() == other))
        return [(_Piece(ch, False, True),)]
    if op == "ANY":
        return [(_Piece("a", False, True) if repeated else _Piece(_DOT, False, False),)]
    if op == "IN":
        return [(_Piece(_class_sample(list(av), icase), False, True),)]
    if op == "BRANCH":
        out: list[_Example] = []
        for branch in av[1]:
            out += _read_seq(list(branch), icase, repeated)
            if len(out) > _MAX_EXAMPLES:
                raise RegexNotAnalysed(
                    f"it has more than {_MAX_EXAMPLES} alternatives to enumerate")
        return out
    if op == "SUBPATTERN":
        _group, add_flags, del_flags, sub = av
        scoped = (icase or bool(add_flags & re.IGNORECASE)) and not (
            del_flags & re.IGNORECASE)
        return _read_seq(list(sub), scoped, repeated)
    if op == "ATOMIC_GROUP":
        return _read_seq(list(av), icase, repeated)
    if op in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        return _read_repeat(av, icase)
    if op == "AT" and str(av) in _ANCHORS:
        return [()]
    raise RegexNotAnalysed(f"it uses {_UNMODELLED.get(op, op)}, which the audit "
                           f"does not model")


def _read_repeat(av: Any, icase: bool) -> list[_Example]:
    low, high, sub = av
    if high == 0:
        return [()]
    if low > _MAX_REPEAT:
        raise RegexNotAnalysed(f"a repeat of at least {low} is longer than any "
                               f"DNS label")
    items = list(sub)
    count = max(low, 1)
    once = _read_seq(items, icase, True)
    options: list[_Example] = [()] if low == 0 else []
    if len(items) == 1 and str(items[0][0]) in ("ANY", "IN", "NOT_LITERAL"):
        # One class, repeated: a wildcard that can hold any of its characters.
        options += [(_Piece(ex[0].text * count, True, True),) for ex in once]
    else:
        options += [ex * count for ex in once]
    return options


def _class_sample(items: list[Any], icase: bool) -> str:
    """A character ``[...]`` accepts, from _SAMPLES."""
    negate = False
    literals: set[str] = set()
    ranges: list[tuple[int, int]] = []
    categories: list[str] = []
    for op, av in items:
        name = str(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            literals.add(chr(av))
        elif name == "RANGE":
            ranges.append((av[0], av[1]))
        elif name == "CATEGORY" and str(av) in _CATEGORIES:
            categories.append(str(av))
        else:
            raise RegexNotAnalysed(f"it uses {name} {av} in a character class, "
                                   f"which the audit does not model")

    def hit(c: str) -> bool:
        return (c in literals or any(lo <= ord(c) <= hi for lo, hi in ranges)
                or any(_CATEGORIES[cat](c) for cat in categories))

    for c in _SAMPLES:
        inside = hit(c) or (icase and (hit(c.lower()) or hit(c.upper())))
        if inside != negate:
            return c.lower() if icase else c
    raise RegexNotAnalysed("it has a character class the audit cannot sample")


def _is_word(c: str) -> bool:
    return c.isalnum() or c == "_"


_CATEGORIES: dict[str, Callable[[str], bool]] = {
    "CATEGORY_DIGIT": str.isdigit,
    "CATEGORY_NOT_DIGIT": lambda c: not c.isdigit(),
    "CATEGORY_WORD": _is_word,
    "CATEGORY_NOT_WORD": lambda c: not _is_word(c),
    "CATEGORY_SPACE": str.isspace,
    "CATEGORY_NOT_SPACE": lambda c: not c.isspace(),
}


def regex_examples(pattern: Union[str, re.Pattern[str]]) -> list[str]:
    """Strings ``pattern`` matches, one per path through it, with optional
    parts both left out and taken once; a lone ``.`` shows as ``\\x00``.
    Raises :class:`RegexNotAnalysed` for a regex the audit cannot read."""
    return ["".join(p.text for p in ex) for ex in _read(_compiled(pattern))]


def _compiled(pattern: Union[str, re.Pattern[str]]) -> re.Pattern[str]:
    if not isinstance(pattern, str):
        return pattern
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise RegexNotAnalysed(f"it does not compile: {exc}") from None


def _origin_host(origin: str) -> Optional[str]:
    """The host of a well-formed ``scheme://host[:port]``, else None."""
    scheme, sep, rest = origin.partition("://")
    if not sep or not scheme.isalpha():
        return None
    host = rest.rsplit(":", 1)[0] if rest.count(":") == 1 else rest
    if not host or not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)*", host):
        return None
    return host


def regex_candidates(pattern: str) -> list[tuple[str, str]]:
    """``(origin, trick)`` pairs an attacker could obtain, derived from the
    hosts ``pattern`` is written for. ``trick`` is a finding code. Raises
    :class:`RegexNotAnalysed` for a regex the audit cannot read."""
    return _candidates(pattern, regex_examples(pattern))


def _candidates(pattern: str, examples: list[str]) -> list[tuple[str, str]]:
    """regex_candidates from the hosts written in ``pattern`` and in its
    ``examples`` (none when the regex could not be read)."""
    out: list[tuple[str, str]] = [
        (f"https://{_ATTACKER}", "regex-any-origin"),
        (f"http://{_ATTACKER}", "regex-any-origin"),
        ("null", "regex-null"),
    ]
    written = literal_hosts(pattern)
    hosts = list(written)
    for example in examples:
        intended = example.replace(_DOT, ".")
        host = _origin_host(intended)
        if host is None:
            continue
        if host not in hosts:
            hosts.append(host)
        # A lone unescaped '.' accepts a letter too: each such position turned
        # into 'x' is a name the attacker can register, as long as the
        # top-level label stays (appxexample.com, not app.examplexcom).
        for i, ch in enumerate(example):
            if ch != _DOT:
                continue
            variant = (example[:i] + "x" + example[i + 1:]).replace(_DOT, ".")
            other = _origin_host(variant)
            if (other and other != host and "." in other
                    and other.rsplit(".", 1)[-1] == host.rsplit(".", 1)[-1]):
                out.append((variant, "regex-unescaped-dot"))

    for host in hosts:
        out.append((f"http://{host}", "regex-http"))
    # Hosts spelled out in the pattern read best in the report; example
    # hosts ("a.example.com" for r"[a-z]+\.example\.com") serve when none are.
    for host in written or hosts:
        labels = host.split(".")
        for i in range(1, len(labels) - 1):
            joined = ".".join(labels[:i]) + "x" + ".".join(labels[i:])
            out.append((f"https://{joined}", "regex-unescaped-dot"))
        # The host is a shared suffix, or one label on one ("a.github.io"
        # from r"[a-z]+\.github\.io"): strangers' hosts sit right there.
        shared = [".".join(labels[i:]) for i in range(min(2, len(labels)))
                  if is_shared_suffix(".".join(labels[i:]))]
        for suffix in shared:
            out.append((f"https://attacker.{suffix}", "regex-shared-hosting"))
        domain = registrable(host)
        out.append((f"https://evil{domain}", "regex-prefix"))
        out.append((f"https://evil-{domain}", "regex-prefix"))
        out.append((f"https://{host}.{_ATTACKER}", "regex-suffix"))
        out.append((f"https://{host}-{_ATTACKER}", "regex-suffix"))
        for ch in "_`}":
            out.append((f"https://{host}{ch}.{_ATTACKER}", "regex-special-char"))
    seen: set[str] = set()
    unique = []
    for origin, trick in out:
        if origin not in seen:
            seen.add(origin)
            unique.append((origin, trick))
    return unique


# -- regex: what its wildcards can hold ------------------------------------------
# Each wildcard piece of each example is replaced by attacker text; every
# string the regex then accepts is classified by what a browser (or a URL
# parser) would make of it. Only strings the regex really accepts are
# reported.

_PAYLOADS = (
    "evil", "evil.test",                            # a label, labels
    "evil.test/", "evil.test?", "evil.test#", "evil.test\\",   # end the host
    "evil/", "evil?", "evil#", "evil\\",            # ... without a dot
    "https://evil.test/", "@evil.test", "@evil",     # a new URL, userinfo
    "evil://",                                      # a scheme
)
# A serialized origin as browsers send it (docs/spec.md, "4. Request
# rules", item 3): lowercase scheme, host labels of [a-z0-9_-] (dotted-quad
# included) or a bracketed IPv6 address, and an optional port.
_SERIALIZED = re.compile(r"[a-z][a-z0-9+.-]*://(?:\[[0-9a-f:.]+\]|"
                         r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?)(?::[0-9]+)?")


def _url_host(text: str) -> Optional[str]:
    """The host a URL parser reads from ``scheme://...``: the authority ends
    at '/', '?', '#' or '\\' (https://url.spec.whatwg.org/#authority-state),
    loses any 'userinfo@' and any ':port'."""
    _scheme, sep, rest = text.partition("://")
    if not sep:
        return None
    authority = re.split(r"[/?#\\]", rest, maxsplit=1)[0].rpartition("@")[2]
    if authority.startswith("["):
        host = authority[: authority.find("]") + 1]
    else:
        host = authority.split(":", 1)[0]
    return host.lower() or None


def _intended_domains(pattern: str, examples: list[_Example]) -> set[str]:
    """The registrable domains the pattern spells out: those of examples
    whose registrable part is literal text, else of the hosts written in it."""
    out: set[str] = set()
    for example in examples:
        text = _text(example)
        if not _SERIALIZED.fullmatch(text):
            continue
        host = _url_host(text) or ""
        host_end = text.index("://") + 3 + len(host)
        domain_start = host_end - len(registrable(host))
        pos, literal = 0, True
        for piece in example:
            end = pos + len(piece.text)
            if piece.varies and pos < host_end and end > domain_start:
                literal = False
            pos = end
        if literal:
            out.add(registrable(host))
    return out or {registrable(h) for h in literal_hosts(pattern)}


def _wildcards(regex: re.Pattern[str], examples: list[_Example]
               ) -> tuple[dict[str, list[str]], Optional[str]]:
    """``code -> origins`` the regex accepts once attacker text stands in a
    wildcard, and a subdomain pattern entry that could replace the regex."""
    intended = _intended_domains(regex.pattern, examples)
    found: dict[str, list[str]] = {}
    entry: Optional[str] = None
    for example in examples:
        for i, piece in enumerate(example):
            if not piece.free:
                continue
            before, after = _text(example[:i]), _text(example[i + 1:])
            for payload in _PAYLOADS:
                candidate = before + payload + after
                if regex.fullmatch(candidate) is None:
                    continue
                code = _classify(candidate, intended)
                if code is None:
                    continue
                if candidate not in found.setdefault(code, []):
                    found[code].append(candidate)
                if code == "regex-wildcard-label" and (
                        entry is None or not entry.startswith("https:")):
                    entry = _entry_for(regex, example, i) or entry
    return found, entry


def _classify(candidate: str, intended: set[str]) -> Optional[str]:
    scheme, sep, _rest = candidate.partition("://")
    if not sep:
        return None
    if "evil" in scheme:
        return "regex-any-scheme"
    host = _url_host(candidate)
    if host is None or registrable(host) in intended:
        return None
    if _SERIALIZED.fullmatch(candidate):
        return "regex-other-domains"   # an origin a browser can send
    return "regex-wildcard-label"      # a string naming another host


def _entry_for(regex: re.Pattern[str], example: _Example, i: int) -> Optional[str]:
    """'https://*.example.com' when the example is exactly literal
    'scheme://', one wildcard that spans labels, literal '.example.com', and
    Policy takes that entry."""
    if any(p.varies for j, p in enumerate(example) if j != i):
        return None
    before, after = _text(example[:i]), _text(example[i + 1:])
    if not (re.fullmatch(r"[a-z][a-z0-9+.-]*://", before) and after.startswith(".")
            and _SERIALIZED.fullmatch(f"{before}x{after}")
            and regex.fullmatch(f"{before}a.b{after}")):
        return None
    entry = f"{before}*{after}"
    if is_shared_suffix(after[1:]):
        return None  # strangers' hosts: no pattern entry is the fix
    try:
        Policy(allow_origins=[entry], allow_credentials=True)
    except ConfigError:
        return None  # a public suffix or an entry no browser sends: no advice
    return entry


def _escape_dots(pattern: str) -> str:
    """Escape each '.' that sits between host text (outside a class)."""
    out = []
    depth = 0  # inside [...]
    escaped = False
    for i, ch in enumerate(pattern):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "[":
            depth = 1
        elif ch == "]":
            depth = 0
        elif (ch == "." and not depth and 0 < i < len(pattern) - 1
              and (pattern[i - 1].isalnum() or pattern[i - 1] == ")")
              and (pattern[i + 1].isalnum() or pattern[i + 1] == "(")):
            out.append("\\.")
            continue
        out.append(ch)
    return "".join(out)


def show_regex(pattern: str) -> str:
    """A pattern as a raw-string literal, the way people write regexes."""
    return f"r'{pattern}'" if "'" not in pattern else repr(pattern)


def audit_regex(regex: re.Pattern[str], creds: bool,
                 route: Optional[str]) -> list[Finding]:
    pattern = regex.pattern
    subject = f"allow_origin_regex {show_regex(pattern)}"
    leak = "high" if creds else "medium"
    with_creds = " with credentials" if creds else ""
    # Fail closed: whatever stops the analysis becomes a finding of its own,
    # and whatever was found before it still counts.
    problems: list[str] = []
    examples: list[_Example] = []
    try:
        examples = _read(regex)
    except RegexNotAnalysed as exc:
        problems.append(str(exc))
    except Exception as exc:  # the reader itself broke: say so, never "clean"
        problems.append(f"the audit's regex reader failed ({type(exc).__name__}: "
                        f"{exc})")
    matched: dict[str, list[str]] = {}
    try:
        for origin, trick in _candidates(pattern, [
                "".join(p.text for p in ex) for ex in examples]):
            if regex.fullmatch(origin) is not None:
                matched.setdefault(trick, []).append(origin)
    except Exception as exc:  # as above: a broken check is reported
        problems.append(f"trying origins against it failed ({type(exc).__name__}: "
                        f"{exc})")
    entry: Optional[str] = None
    try:
        wild, entry = _wildcards(regex, examples)
    except Exception as exc:  # as above
        problems.append(f"trying its wildcards failed ({type(exc).__name__}: "
                        f"{exc})")
        wild = {}
    # A wildcard finding adds to the others only where they are silent: any
    # origin says it all, a pattern running past the host or a host not
    # anchored at a label already shows the stranger's domain.
    if "regex-any-origin" in matched:
        wild = {}
    if matched.keys() & {"regex-suffix", "regex-prefix", "regex-shared-hosting"}:
        wild.pop("regex-other-domains", None)
    if "regex-suffix" in matched:
        wild.pop("regex-wildcard-label", None)
    shown = {origin for origins in matched.values() for origin in origins}
    for code, origins in wild.items():
        fresh = [o for o in origins if o not in shown]
        if fresh:
            matched[code] = fresh

    out: list[Finding] = []

    def add(severity: str, code: str, message: str, fix: str) -> None:
        out.append(Finding(severity, code, subject, message, fix, route,
                           tuple(matched[code][:3])))

    if "regex-any-origin" in matched:
        add(leak, "regex-any-origin",
            f"the regex accepts origins unrelated to any host it names, such "
            f"as {matched['regex-any-origin'][0]}{with_creds}",
            "spell out the hosts, e.g. r'https://(app|admin)\\.example\\.com'; "
            "avoid '.*' and '.+'")
    if "regex-unescaped-dot" in matched:
        add(leak, "regex-unescaped-dot",
            f"an unescaped '.' matches any character, so "
            f"{matched['regex-unescaped-dot'][0]} is trusted{with_creds}",
            f"escape the dots: {show_regex(_escape_dots(pattern))}")
    if "regex-prefix" in matched:
        add(leak, "regex-prefix",
            f"the host is not anchored at a label boundary, so "
            f"{matched['regex-prefix'][0]} is trusted{with_creds}",
            "put '://' or '\\.' right before the domain, e.g. "
            "r'https://([a-z0-9-]+\\.)*example\\.com'")
    if "regex-suffix" in matched:
        add(leak, "regex-suffix",
            f"the pattern runs past the host, so "
            f"{matched['regex-suffix'][0]} is trusted{with_creds}",
            "end the pattern right after the host (or an optional "
            "'(:[0-9]+)?' port); no '.*' after it")
    if "regex-special-char" in matched and "regex-suffix" not in matched:
        add(leak, "regex-special-char",
            f"characters some browsers allow in host names ('_', '`', '}}') "
            f"may follow the host, so {matched['regex-special-char'][0]} is "
            f"trusted{with_creds}",
            "after the host allow only an optional port: '(:[0-9]+)?'")
    if "regex-null" in matched:
        add(leak, "regex-null",
            f"the regex accepts 'null', which any website can send from a "
            f"sandboxed iframe{with_creds}",
            "make the pattern start with the scheme, e.g. 'https://'")
    if "regex-shared-hosting" in matched:
        add(leak, "regex-shared-hosting",
            f"anyone can get a host such as "
            f"{matched['regex-shared-hosting'][0]} for free{with_creds}",
            "name your own hosts instead of the shared hosting suffix")
    if creds and "regex-http" in matched:
        add("medium", "regex-http",
            f"plain-http origins such as {matched['regex-http'][0]} are "
            f"trusted with credentials; anyone on the network path can "
            f"inject script into them",
            "require 'https://' (drop 'https?' and 'http://' alternatives)")
    if creds and "regex-any-scheme" in matched:
        add("high", "regex-any-scheme",
            f"the scheme is a wildcard, so the regex accepts origins of any "
            f"scheme, such as {matched['regex-any-scheme'][0]}, with credentials",
            "spell out the scheme: start the pattern with 'https://'")
    if "regex-other-domains" in matched:
        add(leak, "regex-other-domains",
            f"a wildcard stands in the registrable domain, so origins under "
            f"other domains, such as {matched['regex-other-domains'][0]}, are "
            f"trusted{with_creds}",
            "spell out the registrable domain, e.g. "
            "r'https://([a-z0-9-]+\\.)*example\\.com', or list each domain")
    if creds and "regex-wildcard-label" in matched:
        example = matched["regex-wildcard-label"][0]
        add("high", "regex-wildcard-label",
            f"a wildcard in the host matches more than label characters ('/', "
            f"'?', '#', '@', '\\'), so the regex accepts {example}, which "
            f"names the host {_url_host(example)}, with credentials",
            f"use the pattern entry '{entry}' in allow_origins instead: it "
            f"matches one or more labels of a-z, 0-9 and '-', nothing else"
            if entry else
            "let each wildcard match label characters only: '[a-z0-9-]+' for "
            "one label, '([a-z0-9-]+\\.)*' for any number of them, never "
            "'.*', '.+' or '[^.]+'")
    sites = sorted(_intended_domains(pattern, examples)) if creds and examples else []
    if len(sites) > 1 and not out:
        # Each is spelled out, so none is a stranger's; but one credentialed
        # regex now speaks for several sites, and a compromise of any of
        # them reads the others' users' answers.
        out.append(Finding(
            "low", "regex-several-sites", subject,
            f"one credentialed regex trusts {len(sites)} registrable domains "
            f"({', '.join(sites)}): a script on any of them can read "
            f"credentialed responses as the user",
            "make sure each is yours; listing the origins in allow_origins "
            "keeps them reviewable one by one", route, tuple(sites)))
    if problems:
        # High whatever the credentials: an audit gate must not pass what it
        # cannot read, and high is what fails the default --fail-on.
        out.append(Finding(
            "high", "regex-unanalysed", subject,
            f"could not analyse the regex: {'; '.join(problems)}; review by hand",
            "write it with literal text, classes, groups and repeats only (no "
            "lookarounds or backreferences), or list the origins in "
            "allow_origins, where 'https://*.example.com' patterns are audited",
            route))
    return out
