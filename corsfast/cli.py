"""The ``corsfast`` command: check, audit, validate, probe, bench, demo.

(About 680 lines: one section per subcommand, each its options, epilog
and output; the work itself is in _hints, _audit, _probe and _bench.)

Exit codes: 0 when allowed / clean, 1 when refused / something found,
2 for usage errors, configuration errors and unreachable servers.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from typing import Any, Optional, Sequence, TextIO, Union

from ._audit import SEVERITIES, audit, notes
from ._config import policy_from_file, policy_from_mapping
from ._engine import ENGINE, check_request
from ._hints import hints
from ._policy import ConfigError, Policy
from ._router import Router
from ._version import __version__
from ._watch import describe, load

__all__ = ["EXAMPLES", "main"]

OK, FOUND, USAGE = 0, 1, 2
Target = Union[Policy, Router]


class UsageError(Exception):
    """Bad command-line use: printed as 'corsfast: error: ...', exit 2."""


# -- built-in examples -------------------------------------------------------------
# The same settings as examples/*.toml in the repository, so that
# `corsfast demo` and `--example` work from an installed package.

EXAMPLES: dict[str, dict[str, Any]] = {
    "app": {
        "allow_origins": ["https://app.example.com", "https://admin.example.com"],
        "allow_methods": ["GET", "POST", "PUT", "DELETE"],
        "allow_headers": ["content-type", "authorization", "x-request-id"],
        "expose_headers": ["x-request-id"],
        "allow_credentials": True,
        "max_age": 600,
    },
    "routes": {
        "allow_origins": ["https://www.example.com"],
        "max_age": 600,
        "routes": {
            "/api": {
                "allow_origins": ["https://app.example.com"],
                "allow_methods": ["GET", "POST", "PUT", "DELETE"],
                "allow_headers": ["content-type", "authorization"],
                "allow_credentials": True,
                "max_age": 600,
            },
            "/public": {"allow_origins": "*"},
        },
    },
    "risky": {
        "allow_origins": ["https://app.example.com", "null",
                          "http://admin.example.com", "https://*.github.io"],
        "allow_origin_regex": "https://(app|admin).example.com",
        "allow_methods": "*",
        "allow_credentials": True,
        "max_age": 86400,
        "allow_private_network": True,
        "allow_insecure_origins": True,
        "allow_public_suffix_patterns": True,
    },
}


def toml_text(mapping: dict[str, Any]) -> str:
    """Policy settings written as TOML (enough for policy files)."""
    lines = []
    for key, value in mapping.items():
        if key != "routes":
            lines.append(f"{key} = {_toml_value(value)}")
    for prefix, settings in mapping.get("routes", {}).items():
        lines.append("")
        lines.append(f"[routes.{json.dumps(prefix)}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in settings.items()]
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if "\\" in value and "'" not in value:
            return f"'{value}'"  # a literal string keeps regex backslashes
        return json.dumps(value)
    return "[" + ", ".join(_toml_value(v) for v in value) + "]"


# -- policy sources -----------------------------------------------------------------


def _add_policy_source(parser: argparse.ArgumentParser) -> None:
    source = parser.add_argument_group(
        "policy", "where the policy comes from: --config, --example, or the "
                  "flags below (named as Policy's arguments)")
    source.add_argument("--config", "-c", metavar="FILE",
                        help="a TOML or JSON policy file (may also be given "
                             "as the first argument)")
    source.add_argument("config_file", nargs="?", metavar="FILE",
                        help="the same as --config FILE")
    source.add_argument("--example", nargs="?", const="app", metavar="NAME",
                        choices=sorted(EXAMPLES),
                        help="a built-in example policy: "
                             f"{', '.join(sorted(EXAMPLES))} (default: app)")
    source.add_argument("--allow-origin", action="append", metavar="ORIGIN",
                        help="a trusted origin or pattern (repeatable)")
    source.add_argument("--allow-origin-regex", metavar="REGEX")
    source.add_argument("--allow-method", action="append", metavar="METHOD",
                        help="repeatable; commas also separate")
    source.add_argument("--allow-header", action="append", metavar="NAME",
                        help="repeatable; commas also separate")
    source.add_argument("--expose-header", action="append", metavar="NAME",
                        help="repeatable; commas also separate")
    source.add_argument("--allow-credentials", action="store_true", default=None)
    source.add_argument("--max-age", type=int, metavar="SECONDS")
    source.add_argument("--allow-private-network", action="store_true",
                        default=None)
    source.add_argument("--preflight-status", type=int, choices=(200, 204))


_FLAG_KEYS = {
    "allow_origin": "allow_origins",
    "allow_origin_regex": "allow_origin_regex",
    "allow_method": "allow_methods",
    "allow_header": "allow_headers",
    "expose_header": "expose_headers",
    "allow_credentials": "allow_credentials",
    "max_age": "max_age",
    "allow_private_network": "allow_private_network",
    "preflight_status": "preflight_status",
}
_SPLIT = ("allow_method", "allow_header", "expose_header")


def _load_target(ns: argparse.Namespace) -> tuple[Target, str]:
    """The policy (or router) and a label saying where it came from."""
    if ns.config_file is not None:
        if ns.config is not None:
            raise UsageError(f"give the policy file once: {ns.config_file} or "
                             f"--config {ns.config}, not both")
        ns.config = ns.config_file
    flags: dict[str, Any] = {}
    for attr, key in _FLAG_KEYS.items():
        value = getattr(ns, attr)
        if value is None:
            continue
        if attr in _SPLIT:
            value = [part.strip() for item in value for part in item.split(",")
                     if part.strip()]
        flags[key] = value
    given = [name for name, present in (
        ("--config", ns.config is not None),
        ("--example", ns.example is not None),
        ("policy flags", bool(flags))) if present]
    if len(given) > 1:
        raise UsageError(f"give the policy one way: {' or '.join(given)}, "
                         f"not both")
    if ns.config is not None:
        return policy_from_file(ns.config), ns.config
    if ns.example is not None:
        return policy_from_mapping(EXAMPLES[ns.example]), f"example {ns.example!r}"
    if flags:
        return policy_from_mapping(flags), "command-line flags"
    raise UsageError("no policy: give --config FILE, --example, or flags such "
                     "as --allow-origin https://app.example.com")


# -- check ------------------------------------------------------------------------------

CHECK_EPILOG = """\
examples:
  corsfast check --config policy.toml --origin https://app.example.com \\
      --method OPTIONS --request-method PUT --request-headers content-type
  corsfast check --allow-origin https://app.example.com --allow-credentials \\
      --origin https://app.example.com.evil.test
  corsfast check --config policy.toml --path /api/users --origin https://app.example.com --json

exit status: 0 allowed, 1 refused, 2 usage or configuration error
"""


def _cmd_check(ns: argparse.Namespace, out: TextIO) -> int:
    if ns.request_method is None:
        given = [flag for flag, value in (
            ("--request-headers", ns.request_headers),
            ("--request-private-network", ns.request_private_network)) if value is not None]
        if given:
            raise UsageError(f"{' and '.join(given)} belong to a preflight: add "
                             f"--request-method (e.g. --request-method PUT)")
    if ns.path is not None and not ns.path.startswith("/"):
        raise UsageError(f"--path {ns.path!r}: a request path starts with '/': "
                         f"write --path /{ns.path}")
    target, source = _load_target(ns)
    method = ns.method or ("OPTIONS" if ns.request_method is not None else "GET")
    request = {
        "method": method,
        "origin": ns.origin,
        "request_method": ns.request_method,
        "request_headers": ns.request_headers,
        "request_private_network": ns.request_private_network,
        "path": ns.path,
    }
    notes: list[str] = []
    route: Optional[str] = None
    if isinstance(target, Router):
        if ns.path is None:
            prefixes = ", ".join(target.routes())
            raise UsageError(f"{source} has per-path policies ({prefixes}); "
                             f"give --path to pick one")
        policy = target.lookup(ns.path)
        route = next((p for p, pol in target.routes().items() if pol is policy),
                     None)
        if policy is None:
            return _emit_check(out, ns.json, request, None, route, [
                f"no route of {source} covers {ns.path}: corsfast adds no CORS "
                f"headers there, so browsers refuse cross-origin reads"])
    else:
        policy = target
    if ns.request_method is not None and method != "OPTIONS":
        notes.append(f"--request-method only makes a preflight with --method "
                     f"OPTIONS; this is an actual {method} request")
    decision = check_request(policy, method, ns.origin, ns.request_method,
                             ns.request_headers, ns.request_private_network)
    notes += hints(policy, decision, request)
    return _emit_check(out, ns.json, request, decision, route, notes)


def _emit_check(out: TextIO, as_json: bool, request: dict[str, Any],
                decision: Any, route: Optional[str], notes: list[str]) -> int:
    allowed = bool(decision is not None and decision.allowed)
    if as_json:
        payload = {
            "allowed": allowed,
            "preflight": decision.preflight if decision else False,
            "reason": decision.reason.value if decision else None,
            "explanation": decision.reason.explain() if decision else notes[0],
            "status": decision.status if decision else None,
            "headers": [list(h) for h in decision.headers] if decision else [],
            "route": route,
            "hints": notes,
            "request": request,
            "engine": ENGINE,
        }
        out.write(json.dumps(payload, indent=2) + "\n")
        return OK if allowed else FOUND
    if decision is None:
        out.write(f"refused: {notes[0]}\n")
        return FOUND
    kind = "preflight" if decision.preflight else f"{request['method']} request"
    origin = request["origin"]
    line = f"{'allowed' if allowed else 'refused'}: {kind}"
    if decision.preflight:
        line += f" for {request['request_method']}"
    if origin is not None:
        line += f" from {origin}"
    if route is not None:
        line += f" (route {route})"
    out.write(line + "\n")
    out.write(f"reason: {decision.reason.value}: {decision.reason.explain()}\n")
    for note in notes:
        out.write(f"hint: {note}\n")
    if decision.status is not None:
        out.write(f"status: {decision.status}\n")
    out.write("response headers:\n" if decision.headers
              else "response headers: none\n")
    for name, value in decision.headers:
        out.write(f"  {name}: {value}\n")
    return OK if allowed else FOUND


# -- audit ----------------------------------------------------------------------------

AUDIT_EPILOG = """\
examples:
  corsfast audit --config policy.toml
  corsfast audit --example risky --json
  corsfast audit --allow-origin 'https://*.github.io' --allow-credentials

severities: high = an origin anyone can obtain is trusted with credentials;
medium = the same without credentials, or a risky feature is on;
low = fine on purpose, worth a second look; info lines (what each browser
keeps of max_age) never change the exit status.
exit status: 0 clean (nothing at --fail-on or worse), 1 findings, 2 usage or
configuration error
"""


def _failing(severities: Sequence[str], fail_on: str) -> bool:
    limit = SEVERITIES.index(fail_on)
    return any(SEVERITIES.index(s) <= limit for s in severities)


def _load_app(spec: str) -> Any:
    """The object ``MODULE:NAME`` names (NAME may be dotted)."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise UsageError(f"--app {spec!r}: write MODULE:NAME, such as myapp:app")
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise UsageError(f"--app {spec!r}: {exc}") from None
    return obj


def _cmd_audit(ns: argparse.Namespace, out: TextIO) -> int:
    if ns.app is not None:
        if ns.config is not None or ns.config_file is not None or ns.example is not None:
            raise UsageError("give --app or a policy, not both")
        target: Any = _load_app(ns.app)
        source = ns.app
        try:
            audit(target)
        except TypeError as exc:
            raise UsageError(str(exc)) from None
    else:
        target, source = _load_target(ns)
    findings = audit(target)
    infos = notes(target)
    status = FOUND if _failing([f.severity for f in findings], ns.fail_on) else OK
    if ns.json:
        out.write(json.dumps({
            "source": source,
            "findings": [f.to_dict() for f in findings],
            "notes": [n.to_dict() for n in infos],
            "counts": _counts(findings),
            "fail_on": ns.fail_on,
        }, indent=2) + "\n")
        return status
    for f in findings:
        where = f"[{f.route}] " if f.route is not None else ""
        out.write(f"{f.severity.upper():<7}{where}{f.subject}: {f.message}\n")
        out.write(f"{'':7}fix: {f.fix}\n")
    for n in infos:
        where = f"[{n.route}] " if n.route is not None else ""
        out.write(f"{'INFO':<7}{where}{n.subject}: {n.message}\n")
    out.write(_summary(findings, f"{source}: ") + "\n")
    return status


def _counts(findings: Sequence[Any]) -> dict[str, int]:
    return {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}


def _summary(findings: Sequence[Any], prefix: str) -> str:
    if not findings:
        return f"{prefix}clean, no findings"
    counts = _counts(findings)
    parts = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if counts[s])
    n = len(findings)
    return f"{prefix}{n} finding{'s' if n != 1 else ''} ({parts})"


# -- validate -------------------------------------------------------------------------

VALIDATE_EPILOG = """\
examples:
  corsfast validate cors.toml
  corsfast validate new.toml && mv new.toml cors.toml

Loads FILE exactly as corsfast.watch() does (the same loader), so exit 0
means a watch would put it in force as it is, and exit 2 means a watch
would refuse it and keep the running policy. Whether the policy is risky
is the question 'corsfast audit' answers.
exit status: 0 it would be put in force, 2 it would be refused (every
problem is printed) or usage error
"""


def _cmd_validate(ns: argparse.Namespace, out: TextIO) -> int:
    target = load(ns.file)  # ConfigError and OSError: exit 2, from main()
    out.write(f"{ns.file}: a watch would put it in force: {describe(target)}\n")
    return OK


# -- probe ---------------------------------------------------------------------------

PROBE_EPILOG = """\
examples:
  corsfast probe https://api.example.com/me
  corsfast probe https://api.example.com/me --trusted https://app.example.com
  corsfast probe http://127.0.0.1:8000/ --timeout 2 --json

Sends GET and preflight (OPTIONS) requests, without cookies, with origins
derived from the URL's and the trusted origins' hosts, and reports every one
the server accepts. Progress goes to stderr; findings to stdout.
exit status: 0 clean, 1 findings (at --fail-on or worse), 2 usage error or
the server could not be reached (timeouts count: never reported as clean)
"""


def _cmd_probe(ns: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ._probe import ProbeError, check_url, probe

    try:
        check_url(ns.url)
    except ProbeError as exc:
        raise UsageError(str(exc)) from None
    for origin in ns.trusted or ():
        if "://" not in origin and origin != "null":
            raise UsageError(f"--trusted {origin!r}: write an origin such as "
                             f"'https://app.example.com'")
    if ns.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")

    def progress(line: str) -> None:
        if not ns.quiet:
            err.write(f"probe: {line}\n")
            err.flush()

    try:
        report = probe(ns.url, tuple(ns.trusted or ()), timeout=ns.timeout,
                       request_method=ns.request_method, insecure=ns.insecure,
                       progress=progress)
    except ProbeError as exc:
        if ns.json:
            out.write(json.dumps({"url": ns.url, "error": str(exc)}, indent=2)
                      + "\n")
        err.write(f"corsfast probe: error: {exc}\n"
                  f"corsfast probe: the probe did not finish; nothing is known "
                  f"about the server's CORS answers\n")
        return USAGE
    findings = report.findings
    status = FOUND if _failing([f.severity for f in findings], ns.fail_on) else OK
    if ns.json:
        payload = report.to_dict()
        payload["counts"] = _counts(findings)
        out.write(json.dumps(payload, indent=2) + "\n")
        return status
    fixes_shown: set[str] = set()
    for f in findings:
        out.write(f"{f.severity.upper():<7}{f.message}\n")
        if f.code not in fixes_shown:  # the same fix once per kind
            fixes_shown.add(f.code)
            out.write(f"{'':7}fix: {f.fix}\n")
        out.write(f"{'':7}reproduce: {f.curl}\n")
    for t in report.trusted:
        out.write(f"trusted {t['origin']}: GET {t['get']}, preflight "
                  f"{t['preflight']}\n")
    summary = _summary(findings, f"{ns.url}: ")
    if not findings:
        summary += (f": none of {report.origins} attack origins was accepted "
                    f"({report.requests} requests)")
    out.write(summary + "\n")
    return status


# -- bench -----------------------------------------------------------------------------


def _cmd_bench(argv: list[str], err: TextIO) -> int:
    import importlib

    try:
        bench = importlib.import_module("corsfast._bench")
    except ModuleNotFoundError as exc:
        if exc.name != "corsfast._bench":
            raise
        err.write("corsfast bench: error: this installation has no benchmark "
                  "module (corsfast._bench)\n")
        return USAGE
    return int(bench.main(argv) or 0)


# -- demo -----------------------------------------------------------------------------

DEMO_EPILOG = """\
examples:
  corsfast demo                  a tour: checks and an audit on built-in examples
  corsfast demo --print app      print the built-in 'app' example as TOML
  corsfast demo --print routes > policy.toml
"""

_DEMO_STEPS = (
    ["check", "--example", "app", "--origin", "https://app.example.com",
     "--method", "OPTIONS", "--request-method", "PUT",
     "--request-headers", "content-type, x-request-id"],
    ["check", "--example", "app", "--origin", "https://app.example.com",
     "--request-method", "PATCH"],
    ["check", "--example", "app", "--origin", "https://app.example.com.evil.test"],
    ["audit", "--example", "risky"],
)


def _cmd_demo(ns: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if ns.print is not None:
        out.write(toml_text(EXAMPLES[ns.print]))
        return OK
    out.write("# The built-in example policy 'app' (corsfast demo --print app):\n")
    out.write(toml_text(EXAMPLES["app"]))
    for step in _DEMO_STEPS:
        out.write(f"\n$ corsfast {' '.join(_quote(w) for w in step)}\n")
        status = main(step, out=out, err=err)
        out.write(f"(exit status {status})\n")
    return OK


def _quote(word: str) -> str:
    import shlex
    return shlex.quote(word)


# -- parser and entry point ----------------------------------------------------------


def version_line() -> str:
    """``corsfast --version``: the version, the live engine, and the file it
    was loaded from (the compiled extension, or the twin's source)."""
    from . import _engine

    return (f"corsfast {__version__} (engine: {ENGINE}, "
            f"{_engine.engine.__file__})")


class _Version(argparse.Action):
    """``--version`` as one unwrapped line (argparse's own wraps it)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: Optional[str] = None) -> None:
        print(version_line())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="corsfast",
        description="Ask a CORS policy why a request is refused, audit a "
                    "policy for risky trust, or probe a live server.",
        epilog="run 'corsfast COMMAND --help' for each command's options and "
               "examples; 'corsfast demo' for a tour",
    )
    parser.add_argument("--version", action=_Version, nargs=0,
                        help="the version, the engine and the file it runs from")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    fmt = argparse.RawDescriptionHelpFormatter

    check = sub.add_parser(
        "check", help="decide one request: allowed or refused, why, and the "
                      "exact response headers",
        description="Decide one request against a policy and print the "
                    "decision, the reason in words and the exact response "
                    "headers.",
        epilog=CHECK_EPILOG, formatter_class=fmt)
    req = check.add_argument_group("request")
    req.add_argument("--origin", "-o", help="the Origin header (omit: none sent)")
    req.add_argument("--method", "-m", help="the request method (default: "
                     "OPTIONS with --request-method, else GET)")
    req.add_argument("--request-method", metavar="RM",
                     help="Access-Control-Request-Method (makes a preflight)")
    req.add_argument("--request-headers", metavar="H",
                     help="Access-Control-Request-Headers, the raw value")
    req.add_argument("--request-private-network", metavar="V",
                     help="Access-Control-Request-Private-Network, e.g. true")
    req.add_argument("--path", help="the request path (for policy files with "
                     "routes)")
    check.add_argument("--json", action="store_true", help="print JSON")
    _add_policy_source(check)

    aud = sub.add_parser(
        "audit", help="find settings that trust more than they seem to",
        description="Report risky settings, each with a severity and a "
                    "one-line fix.",
        epilog=AUDIT_EPILOG, formatter_class=fmt)
    aud.add_argument("--json", action="store_true", help="print JSON")
    aud.add_argument("--fail-on", choices=SEVERITIES, default="high",
                     help="the least severity that makes the exit status 1 "
                          "(default: high)")
    aud.add_argument("--app", metavar="MODULE:NAME",
                     help="audit a corsfast middleware or drop-in object (its policy "
                          "and its options, such as debug), imported from MODULE "
                          "(the current directory is on the path)")
    _add_policy_source(aud)

    val = sub.add_parser(
        "validate", help="would corsfast.watch() put this policy file in force?",
        description="Load a policy file the way corsfast.watch() does and say "
                    "whether it would be put in force, or print every problem.",
        epilog=VALIDATE_EPILOG, formatter_class=fmt)
    val.add_argument("file", metavar="FILE", help="a TOML or JSON policy file")

    pro = sub.add_parser(
        "probe", help="send attacker-style origins to a live server",
        description="Probe a live server for origins it should not trust.",
        epilog=PROBE_EPILOG, formatter_class=fmt)
    pro.add_argument("url", help="an http:// or https:// URL on the server")
    pro.add_argument("--trusted", action="append", metavar="ORIGIN",
                     help="an origin the server is meant to trust (repeatable); "
                          "more attack origins are derived from it")
    pro.add_argument("--timeout", type=float, default=10.0, metavar="S",
                     help="seconds to wait for each answer (default: 10)")
    pro.add_argument("--request-method", default="GET", metavar="M",
                     help="Access-Control-Request-Method of the preflights "
                          "(default: GET)")
    pro.add_argument("--insecure", "-k", action="store_true",
                     help="do not verify TLS certificates")
    pro.add_argument("--fail-on", choices=SEVERITIES, default="low",
                     help="the least severity that makes the exit status 1 "
                          "(default: low, i.e. any finding)")
    pro.add_argument("--json", action="store_true", help="print JSON")
    pro.add_argument("--quiet", "-q", action="store_true",
                     help="no progress on stderr")

    sub.add_parser(
        "bench", add_help=False,
        help="benchmark corsfast against other CORS libraries "
             "('corsfast bench --help' for its options)")

    demo = sub.add_parser(
        "demo", help="a tour on built-in example policies (no files needed)",
        description="Run a few checks and an audit on built-in examples.",
        epilog=DEMO_EPILOG, formatter_class=fmt)
    demo.add_argument("--print", choices=sorted(EXAMPLES), metavar="NAME",
                      help=f"print a built-in example as TOML "
                           f"({', '.join(sorted(EXAMPLES))})")
    return parser


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: Optional[Sequence[str]] = None, *,
         out: Optional[TextIO] = None, err: Optional[TextIO] = None) -> int:
    """Run the command line; return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    out = out or sys.stdout
    err = err or sys.stderr
    if args and args[0] == "bench":
        return _cmd_bench(args[1:], err)
    parser = build_parser()
    try:
        ns = parser.parse_args(args)
    except SystemExit as exc:  # --help, --version, or a usage error
        return int(exc.code or 0)
    if ns.command is None:
        parser.print_help(out)
        return USAGE
    try:
        if ns.command == "check":
            return _cmd_check(ns, out)
        if ns.command == "audit":
            return _cmd_audit(ns, out)
        if ns.command == "validate":
            return _cmd_validate(ns, out)
        if ns.command == "probe":
            return _cmd_probe(ns, out, err)
        return _cmd_demo(ns, out, err)
    except UsageError as exc:
        err.write(f"corsfast {ns.command}: error: {exc}\n")
        return USAGE
    except ConfigError as exc:
        err.write(f"corsfast {ns.command}: error: {exc}\n")
        return USAGE
    except BrokenPipeError:
        # The reader went away (corsfast demo | head): stop quietly, and
        # keep the interpreter from complaining when it flushes stdout.
        _silence_stdout()
        return 0
    except OSError as exc:
        err.write(f"corsfast {ns.command}: error: cannot read "
                  f"{exc.filename or ''}: {exc.strerror or exc}\n")
        return USAGE
