"""`corsfast check`, `demo`, `bench` and help, run as real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    # The package is imported from the repository, wherever the command runs.
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "corsfast", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60,
                          env=full_env)


APP = ["--config", "examples/policy.toml"]


# -- check ----------------------------------------------------------------------


def test_allowed_preflight_prints_decision_reason_and_exact_headers() -> None:
    result = run("check", *APP, "--origin", "https://app.example.com",
                 "--request-method", "PUT", "--request-headers",
                 "Content-Type, X-Request-Id")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "allowed: preflight for PUT from https://app.example.com\n"
        "reason: allowed: the origin, method, headers and private-network "
        "access asked for are all allowed by the policy\n"
        "status: 204\n"
        "response headers:\n"
        "  access-control-allow-origin: https://app.example.com\n"
        "  access-control-allow-credentials: true\n"
        "  access-control-allow-methods: GET, POST, PUT, DELETE\n"
        "  access-control-allow-headers: content-type, authorization, x-request-id\n"
        "  access-control-max-age: 600\n"
        "  vary: origin, access-control-request-method, "
        "access-control-request-headers\n"
    )


def test_refused_origin_exits_1_with_hints() -> None:
    result = run("check", *APP, "--origin", "https://app.example.com/")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "refused: GET request from https://app.example.com/"
    assert lines[1].startswith("reason: malformed_request: ")
    assert ("hint: browsers never send an origin in this form: drop the "
            "trailing slash: write 'https://app.example.com'") in lines
    assert lines[-2:] == ["response headers:", "  vary: origin"]


def test_refused_method_names_the_fix() -> None:
    result = run("check", *APP, "--origin", "https://app.example.com",
                 "--request-method", "PATCH")
    assert result.returncode == 1
    assert "reason: method_not_allowed: " in result.stdout
    assert ("hint: add 'PATCH' to allow_methods (now: GET, POST, PUT, DELETE)"
            in result.stdout)
    assert "status: 403\n" in result.stdout
    assert "access-control-allow-origin" not in result.stdout


def test_refused_headers_are_named() -> None:
    result = run("check", *APP, "--origin", "https://app.example.com",
                 "--request-method", "PUT", "--request-headers",
                 "content-type,x-token,cookie")
    assert result.returncode == 1
    assert "hint: not allowed: x-token; add them to allow_headers" in result.stdout
    assert ("forbidden request headers "
            "[https://fetch.spec.whatwg.org/#forbidden-request-header]: cookie") in result.stdout


def test_private_network_and_malformed() -> None:
    pna = run("check", *APP, "--origin", "https://app.example.com",
              "--request-method", "GET", "--request-private-network", "true")
    assert pna.returncode == 1
    assert "reason: private_network_not_allowed" in pna.stdout
    bad = run("check", *APP, "--origin", "https://app.example.com, https://x.test")
    assert bad.returncode == 1
    assert "reason: malformed_request" in bad.stdout


def test_no_origin_is_not_cors_and_allowed() -> None:
    result = run("check", *APP)
    assert result.returncode == 0
    assert "reason: not_cors: " in result.stdout
    assert "  vary: origin\n" in result.stdout


def test_request_method_without_options_is_noted() -> None:
    result = run("check", *APP, "--origin", "https://app.example.com",
                 "--method", "GET", "--request-method", "PUT")
    assert result.returncode == 0
    assert "allowed: GET request" in result.stdout
    assert "hint: --request-method only makes a preflight" in result.stdout


def test_json_shape() -> None:
    result = run("check", *APP, "--origin", "https://evil.test", "--method",
                 "OPTIONS", "--request-method", "DELETE", "--json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert set(data) == {"allowed", "preflight", "reason", "explanation",
                         "status", "headers", "route", "hints", "request",
                         "engine"}
    assert data["allowed"] is False and data["preflight"] is True
    assert data["reason"] == "origin_not_allowed"
    assert data["status"] == 403
    assert data["headers"] == [["vary", "origin, access-control-request-method, "
                                        "access-control-request-headers"]]
    assert data["request"]["request_method"] == "DELETE"
    assert data["route"] is None
    assert data["engine"] in ("cython", "python")


def test_policy_flags_stand_in_for_a_file() -> None:
    result = run("check", "--allow-origin", "https://a.example.com",
                 "--allow-origin", "https://*.b.example.com",
                 "--allow-method", "PUT,PATCH", "--allow-header", "x-token",
                 "--expose-header", "x-id", "--allow-credentials",
                 "--max-age", "60", "--allow-private-network",
                 "--origin", "https://c.b.example.com", "--request-method",
                 "PATCH", "--request-headers", "x-token",
                 "--request-private-network", "true", "--json")
    assert result.returncode == 0, result.stderr
    headers = dict(json.loads(result.stdout)["headers"])
    assert headers == {
        "access-control-allow-origin": "https://c.b.example.com",
        "access-control-allow-credentials": "true",
        "access-control-allow-methods": "PUT, PATCH",
        "access-control-allow-headers": "x-token",
        "access-control-max-age": "60",
        "access-control-allow-private-network": "true",
        "vary": "origin, access-control-request-method, "
                "access-control-request-headers, "
                "access-control-request-private-network",
    }
    actual = run("check", "--allow-origin", "https://a.example.com",
                 "--expose-header", "x-id", "--origin", "https://a.example.com")
    assert "  access-control-expose-headers: x-id\n" in actual.stdout


def test_routes_need_and_use_path() -> None:
    cfg = ["--config", "examples/routes.toml", "--origin", "https://app.example.com"]
    missing = run("check", *cfg)
    assert missing.returncode == 2
    assert "has per-path policies" in missing.stderr and "--path" in missing.stderr
    api = run("check", *cfg, "--path", "/api/users", "--json")
    assert api.returncode == 0
    data = json.loads(api.stdout)
    assert data["route"] == "/api"
    assert ["access-control-allow-credentials", "true"] in data["headers"]
    root = run("check", *cfg, "--path", "/apiary")
    assert root.returncode == 1
    assert root.stdout.startswith("refused: GET request from https://app.example.com (route /)\n")
    assert "nearest trusted entry is 'https://www.example.com'" in root.stdout


def test_path_no_route_covers(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text('[routes."/api"]\nallow_origins = ["https://a.example.com"]\n')
    result = run("check", "--config", str(path), "--path", "/static/x.css",
                 "--origin", "https://a.example.com")
    assert result.returncode == 1
    assert result.stdout.startswith("refused: no route of ")
    assert "covers /static/x.css" in result.stdout


def test_config_error_exits_2_naming_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('allow_origins = ["https://a.example.com/"]\nmax-age = 60\n')
    result = run("check", "--config", str(path), "--origin", "https://a.example.com")
    assert result.returncode == 2
    assert result.stdout == ""
    assert (f"{path}: allow_origins[0] 'https://a.example.com/': drop the "
            f"trailing slash: write 'https://a.example.com'") in result.stderr
    assert f"{path}: max-age: unknown key; did you mean 'max_age'?" in result.stderr


@pytest.mark.parametrize("args, needle", [
    (["check", "--origin", "https://a.example.com"], "no policy"),
    (["check", *APP, "--allow-origin", "https://a.example.com"], "not both"),
    (["check", "--config", "absent.toml"], "cannot read absent.toml"),
    (["check", "--example", "nope"], "invalid choice"),
    (["check", "--allow-origin", "https://a.example.com", "--max-age", "x"],
     "invalid int value"),
    (["frobnicate"], "invalid choice"),
    (["check", *APP, "--origin", "https://a.example.com", "--request-headers", "x-a"],
     "--request-headers belong to a preflight: add --request-method"),
    (["check", *APP, "--origin", "https://a.example.com",
      "--request-private-network", "true"], "add --request-method"),
    (["check", "examples/routes.toml", "--path", "api", "--origin", "https://a.example.com"],
     "a request path starts with '/': write --path /api"),
    (["audit", "cors.yaml"],
     "corsfast reads policy files in TOML (.toml) or JSON (.json), not .yaml"),
    (["audit", "examples/risky.toml", "--config", "examples/policy.toml"],
     "give the policy file once"),
])
def test_usage_errors_exit_2(args: list[str], needle: str) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert needle in result.stderr


def test_no_command_prints_help_and_exits_2() -> None:
    result = run()
    assert result.returncode == 2
    assert "check" in result.stdout and "probe" in result.stdout


def test_same_answer_from_both_engines() -> None:
    args = ["check", *APP, "--origin", "https://admin.example.com",
            "--request-method", "DELETE", "--request-headers", "authorization"]
    default = run(*args)
    pure = run(*args, env={"CORSFAST_NO_EXTENSIONS": "1"})
    assert default.returncode == pure.returncode == 0
    assert default.stdout == pure.stdout


# -- validate -------------------------------------------------------------------


def test_validate_accepts_a_policy_in_one_line() -> None:
    result = run("validate", "examples/policy.toml")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("examples/policy.toml: a watch would put it in force: "
                             "one policy, 2 origin entries\n")
    assert result.stderr == ""


def test_validate_names_the_routes_of_a_router() -> None:
    result = run("validate", "examples/routes.toml")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("examples/routes.toml: a watch would put it in force: "
                             "per-path policies for /public, /api, /\n")


def test_validate_prints_every_problem_the_loader_finds(tmp_path: Path) -> None:
    from corsfast import ConfigError, Policy

    path = tmp_path / "bad.toml"
    path.write_text('allow_origin = ["https://a.example.com"]\nmax_age = 9999999\n\n'
                    '[routes."/api"]\nallow_origins = ["https://a.example.com/"]\n')
    with pytest.raises(ConfigError) as caught:
        Policy.from_file(path)
    assert len(caught.value.errors) == 3
    result = run("validate", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "corsfast validate: error: invalid CORS policy (3 problems):",
        *(f"  - {e}" for e in caught.value.errors)]


@pytest.mark.parametrize("content, needle", [
    ("", "the file is empty"),
    ("allow_origins = [\"https://a.example.com\"\n", "not valid TOML"),
    ('{"allow_origins": ["https://a.example.com"]', "not valid JSON"),
])
def test_validate_refuses_what_a_half_written_file_looks_like(
        tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / ("cors.json" if content.startswith("{") else "cors.toml")
    path.write_text(content)
    result = run("validate", str(path))
    assert result.returncode == 2
    assert f"  - {path}: " in result.stderr and needle in result.stderr


def test_validate_a_missing_file_exits_2() -> None:
    result = run("validate", "absent.toml")
    assert result.returncode == 2
    assert "cannot read absent.toml" in result.stderr


def test_validate_and_audit_answer_different_questions() -> None:
    # risky.toml loads (a watch would put it in force) and still has
    # HIGH findings: the two commands go together in a deploy script.
    assert run("validate", "examples/risky.toml").returncode == 0
    assert run("audit", "examples/risky.toml").returncode == 1


def test_validate_needs_a_file() -> None:
    result = run("validate")
    assert result.returncode == 2
    assert "FILE" in result.stderr


# -- help, version, demo, bench -------------------------------------------------------


@pytest.mark.parametrize("command", ["check", "audit", "validate", "probe", "demo"])
def test_each_command_has_help_with_an_example(command: str) -> None:
    result = run(command, "--help")
    assert result.returncode == 0
    assert "examples:" in result.stdout
    assert f"corsfast {command} " in result.stdout.split("examples:", 1)[1]


def test_version() -> None:
    import corsfast
    from corsfast import __version__, _engine

    result = run("--version", cwd=ROOT / "tests")
    assert result.returncode == 0
    assert result.stdout == (f"corsfast {__version__} (engine: {corsfast.ENGINE}, "
                             f"{_engine.engine.__file__})\n")


@pytest.mark.parametrize("command", ["check", "audit"])
def test_a_policy_file_may_be_the_first_argument(command: str) -> None:
    extra = ["--origin", "https://app.example.com"] if command == "check" else []
    positional = run(command, "examples/risky.toml", *extra)
    flagged = run(command, "--config", "examples/risky.toml", *extra)
    assert positional.returncode == flagged.returncode
    assert positional.stdout == flagged.stdout and positional.stdout


def test_demo_runs_without_files(tmp_path: Path) -> None:
    result = run("demo", cwd=tmp_path)  # no examples/ directory here
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "allowed: preflight for PUT from https://app.example.com" in out
    assert "reason: method_not_allowed" in out
    assert "refused: GET request from https://app.example.com.evil.test" in out
    assert "HIGH   allow_origins[1] 'null'" in out
    assert out.count("(exit status ") == 4


def test_demo_print_is_a_usable_policy_file(tmp_path: Path) -> None:
    printed = run("demo", "--print", "routes", cwd=tmp_path)
    assert printed.returncode == 0
    path = tmp_path / "policy.toml"
    path.write_text(printed.stdout)
    result = run("check", "--config", str(path), "--path", "/public/x",
                 "--origin", "https://anyone.test", cwd=tmp_path)
    assert result.returncode == 0
    assert "  access-control-allow-origin: *\n" in result.stdout


def test_example_flag_works_for_check_and_audit(tmp_path: Path) -> None:
    check = run("check", "--example", "--origin", "https://admin.example.com",
                cwd=tmp_path)
    assert check.returncode == 0
    audit = run("audit", "--example", "risky", cwd=tmp_path)
    assert audit.returncode == 1


def test_bench_passes_arguments_through() -> None:
    result = run("bench", "--help")
    assert result.returncode == 0
    assert "usage: corsfast bench" in result.stdout


def test_bench_reports_a_missing_module_clearly() -> None:
    # An install without corsfast/_bench.py: the command says so, exit 2.
    # The module is blocked in sys.modules, which works whatever the install
    # (an editable install's import hook outranks PYTHONPATH).
    code = ("import sys; sys.modules['corsfast._bench'] = None; "
            "from corsfast.cli import main; sys.exit(main(['bench']))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert "no benchmark module (corsfast._bench)" in result.stderr
    assert "Traceback" not in result.stderr


BENCH_QUICK = ("bench", "--quick", "--quiet", "--scenario", "simple")


def _live_engine() -> tuple[str, str]:
    import corsfast

    return ("--engine", corsfast.ENGINE)


# Under CORSFAST_NO_EXTENSIONS the twin is live and bench refuses to call it
# corsfast unless asked for by name; these tests measure whichever is live.
LIVE_ENGINE = _live_engine()


def bench_in_process(*args: str, blocked: tuple[str, ...] = ()
                     ) -> subprocess.CompletedProcess[str]:
    """``corsfast bench`` in a fresh interpreter with some modules made
    unimportable (as if not installed)."""
    code = ("import sys\n"
            f"for name in {blocked!r}:\n"
            "    sys.modules[name] = None\n"
            "from corsfast.cli import main\n"
            f"status = main({list(args)!r})\n"
            "print('django imported:', 'django' in sys.modules)\n"
            "sys.exit(status)\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_bench_names_the_engine_and_the_extension_file() -> None:
    import corsfast

    result = run(*BENCH_QUICK, "--level", "engine", "--engine", corsfast.ENGINE)
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"engine: {corsfast.ENGINE}")
    if corsfast.ENGINE == "cython":
        assert "_engine_c" in first and first.rstrip(")").endswith(".so"), first
    label = "corsfast" if corsfast.ENGINE == "cython" else "corsfast (python twin)"
    assert f"\n{label} check_request, one decision:" in result.stdout
    assert "  simple allowed " in result.stdout


def test_bench_refuses_to_call_the_twin_corsfast() -> None:
    # The twin is live, but the compiled engine was asked for (the default).
    result = run(*BENCH_QUICK, "--level", "engine", env={"CORSFAST_NO_EXTENSIONS": "1"})
    assert result.returncode == 2
    assert "the live engine is 'python', not 'cython'" in result.stderr
    assert "--engine python" in result.stderr
    assert "check_request" not in result.stdout


def test_bench_measures_the_twin_by_name_in_a_subprocess() -> None:
    result = run(*BENCH_QUICK, "--level", "engine", "--engine", "python")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("engine: python")
    assert "corsfast (python twin) check_request, one decision:" in result.stdout


def test_bench_leaves_out_peers_that_are_not_installed_on_one_line() -> None:
    result = bench_in_process(*BENCH_QUICK, "--level", "middleware", *LIVE_ENGINE,
                              blocked=("starlette", "asgi_cors"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    missing = [line for line in lines if "not installed" in line]
    assert len(missing) == 1, missing
    assert missing[0].startswith("not installed, left out: starlette, asgi-cors")
    asgi = result.stdout.split("ASGI, plain app: simple allowed", 1)[1].split("\n\n", 1)[0]
    assert "bare app" in asgi and "corsfast" in asgi
    assert "starlette" not in asgi and "asgi-cors" not in asgi


def test_bench_never_configures_django() -> None:
    result = bench_in_process(*BENCH_QUICK, *LIVE_ENGINE)
    assert result.returncode == 0, result.stderr
    assert "django imported: False" in result.stdout


def test_bench_prints_small_or_negative_overheads_as_within_noise() -> None:
    from corsfast._bench import Row, family_table

    rows = [Row("bare app", "bare", ns=1000.0),
            Row("corsfast", "corsfast", ns=990.0, overhead=-10.0),
            Row("peer a", "peer", ns=1030.0, overhead=30.0),
            Row("peer b", "peer", ns=1900.0, overhead=900.0)]
    table = family_table("ASGI: simple", rows, floor=40.0, preflight=False).splitlines()
    line = {name: next(t for t in table if t.strip().startswith(name))
            for name in ("corsfast", "peer a", "peer b")}
    assert "within noise" in line["corsfast"] and "-10" not in line["corsfast"]
    assert "within noise" in line["peer a"]  # 30 ns, below the 40 ns noise
    assert "900 ns" in line["peer b"]
    assert "noise: 40 ns" in table[0]


def test_bench_builds_new_request_objects_for_every_call() -> None:
    from corsfast._bench import SCENARIOS, asgi_scope, engine_args, wsgi_environ

    preflight = next(s for s in SCENARIOS if s.key == "preflight")
    one, two = asgi_scope(preflight), asgi_scope(preflight)
    assert one == two and one is not two and one["headers"] is not two["headers"]
    for (k1, v1), (k2, v2) in zip(one["headers"], two["headers"]):
        assert k1 is not k2 and v1 is not v2
    env1, env2 = wsgi_environ(preflight), wsgi_environ(preflight)
    assert env1["HTTP_ORIGIN"] == env2["HTTP_ORIGIN"]
    assert env1["HTTP_ORIGIN"] is not env2["HTTP_ORIGIN"]
    assert env1["wsgi.input"] is not env2["wsgi.input"]
    args1, args2 = engine_args(None, preflight), engine_args(None, preflight)
    assert args1 == args2
    assert all(a is not b for a, b in zip(args1[1:], args2[1:]))


# -- audit --app: a middleware object --------------------------------------------------

APP_MODULE = '''
from corsfast.wsgi import CORSMiddleware


def inner(environ, start_response):
    start_response("200 OK", [])
    return [b""]


quiet = CORSMiddleware(inner, allow_origins=["https://app.example.com"])
loud = CORSMiddleware(inner, allow_origins=["https://app.example.com"], debug=True)
risky = CORSMiddleware(inner, allow_origins=["null"], allow_credentials=True)
not_cors = object()
'''


def test_audit_app_reports_debug_mode(tmp_path: Path) -> None:
    (tmp_path / "gateway_app.py").write_text(APP_MODULE)
    quiet = run("audit", "--app", "gateway_app:quiet", "--fail-on", "medium", cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    loud = run("audit", "--app", "gateway_app:loud", "--fail-on", "medium", cwd=tmp_path)
    assert loud.returncode == 1
    assert "MEDIUM" in loud.stdout and "debug=True" in loud.stdout
    risky = run("audit", "--app", "gateway_app:risky", "--json", cwd=tmp_path)
    assert risky.returncode == 1
    assert "high" in risky.stdout and "gateway_app:risky" in risky.stdout


def test_audit_app_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    (tmp_path / "gateway_app.py").write_text(APP_MODULE)
    for spec in ["gateway_app:not_cors", "gateway_app:missing", "no_such_module:app",
                 "gateway_app"]:
        result = run("audit", "--app", spec, cwd=tmp_path)
        assert result.returncode == 2, (spec, result.stdout, result.stderr)
    both = run("audit", "--app", "gateway_app:quiet", "--example", cwd=tmp_path)
    assert both.returncode == 2
