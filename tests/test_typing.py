"""The public API type-checks for users: mypy --strict on tests/typing/.

mypy runs in a subprocess from the directory that holds ``tests/``: in a
checkout that is the project root, so mypy reads the corsfast sources and
stubs there; in a wheel test (cibuildwheel copies tests/ to a temporary
directory) it reads the installed package, whose py.typed and .pyi files
must have been shipped. Imports of corsfast are followed silently, as they
are for an installed package, so only the user code is judged.

mypy is a test dependency: when it is missing this test fails and says so.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
USER_CODE = TESTS / "typing" / "user_code.py"
STUBTEST_ALLOWLIST = TESTS / "typing" / "stubtest_allowlist.txt"


def _require_mypy() -> None:
    if importlib.util.find_spec("mypy") is None:
        pytest.fail(
            f"mypy is not installed for {sys.executable}; it is a test "
            "dependency: pip install mypy",
            pytrace=False,
        )


def _mypy(*args: str, cwd: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    _require_mypy()
    return subprocess.run(
        [
            sys.executable, "-m", "mypy",
            "--strict",
            "--follow-imports=silent",
            "--no-error-summary",
            "--show-error-codes",
            "--config-file=",  # judge by the flags above, not a project config
            f"--cache-dir={cache}",
            *args,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_user_code_passes_mypy_strict(tmp_path: Path) -> None:
    result = _mypy(str(USER_CODE), cwd=TESTS.parent, cache=tmp_path / "cache")
    assert result.returncode == 0, (
        f"mypy --strict failed on {USER_CODE.name} (exit {result.returncode}):\n"
        f"{result.stdout}{result.stderr}"
    )


def test_mypy_catches_a_misuse(tmp_path: Path) -> None:
    """The check above has teeth: a wrong call is reported."""
    bad = tmp_path / "bad_user_code.py"
    bad.write_text(
        "from corsfast import Policy, check_request\n"
        "policy = Policy(allow_origins=['https://a.example'])\n"
        "decision = check_request(policy, 'GET', 'https://a.example')\n"
        "status: str = decision.status\n",
        encoding="utf-8",
    )
    result = _mypy(str(bad), cwd=TESTS.parent, cache=tmp_path / "cache")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "bad_user_code.py:4" in result.stdout, result.stdout


# Misspelt or mistyped options, each with what mypy must say about its line.
_BAD_OPTIONS = [
    ('CORS(app, orgins=["https://a.example"])',
     'Unexpected keyword argument "orgins" for "CORS"', "call-arg"),
    ('cross_origin(origin="https://a.example")',
     'Unexpected keyword argument "origin" for "cross_origin"', "call-arg"),
    ("CORS(app).init_app(app, supports_credential=True)",
     'Unexpected keyword argument "supports_credential" for "init_app"', "call-arg"),
    ('corsfast.asgi.CORSMiddleware(app, allow_origin=["https://a.example"])',
     'Unexpected keyword argument "allow_origin" for "CORSMiddleware"', "call-arg"),
    ('corsfast.wsgi.CORSMiddleware(app, allow_credentials="yes")',
     'Argument "allow_credentials" to "CORSMiddleware" has incompatible type "str"',
     "arg-type"),
    ("CORS(app, max_age=1.5)",
     'Argument "max_age" to "CORS" has incompatible type "float"', "arg-type"),
]


def test_mypy_catches_misspelt_options(tmp_path: Path) -> None:
    """The middleware's and the Flask drop-in's keyword options are typed
    (TypedDict + Unpack), not ``**kwargs: Any``: each bad line is reported."""
    header = [
        "from typing import Any",
        "import corsfast.asgi",
        "import corsfast.wsgi",
        "from corsfast.contrib.flask import CORS, cross_origin",
        "app: Any = object()",
    ]
    bad = tmp_path / "bad_options.py"
    bad.write_text("\n".join(header + [line for line, _, _ in _BAD_OPTIONS]) + "\n",
                   encoding="utf-8")
    result = _mypy(str(bad), cwd=TESTS.parent, cache=tmp_path / "cache")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    errors = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert len(errors) == len(_BAD_OPTIONS), output
    for number, (_, message, code) in enumerate(_BAD_OPTIONS, start=len(header) + 1):
        assert any(line.startswith(f"{bad}:{number}: error: ") and message in line
                   and line.endswith(f"[{code}]") for line in errors), (number, output)


def test_policy_options_are_policy_arguments() -> None:
    """PolicyOptions (the middleware's **policy_kwargs) has Policy's
    keyword parameters, with the same types."""
    import inspect
    import typing

    from corsfast import Policy
    from corsfast._policy import PolicyOptions

    keywords = {name: p for name, p in inspect.signature(Policy).parameters.items()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    assert set(PolicyOptions.__optional_keys__) == set(keywords)
    assert not PolicyOptions.__required_keys__
    hints = typing.get_type_hints(Policy.__init__)
    assert typing.get_type_hints(PolicyOptions) == {name: hints[name] for name in keywords}


def test_flask_options_are_the_known_options() -> None:
    """CORSOptions (CORS's, init_app's and cross_origin's **kwargs) has
    exactly the option names the drop-in accepts at run time."""
    import corsfast.contrib.flask as cf

    assert set(cf.CORSOptions.__optional_keys__) == cf._KNOWN
    assert not cf.CORSOptions.__required_keys__


def test_user_code_runs() -> None:
    """What the type checker approved also works at run time."""
    spec = importlib.util.spec_from_file_location("corsfast_user_code", USER_CODE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main()


@pytest.mark.parametrize("compiled,twin", [("_engine_c", "_engine_py"),
                                           ("_adapters_c", "_adapters_py")])
def test_compiled_stub_names_match_the_twin(compiled: str, twin: str) -> None:
    """Each compiled module's .pyi declares its twin's public names, and
    the compiled module, when built, has them all."""
    import ast
    import importlib

    import corsfast

    stub = Path(corsfast.__file__).with_name(f"{compiled}.pyi")
    assert stub.is_file(), f"{stub} is missing from the package"
    tree = ast.parse(stub.read_text(encoding="utf-8"))
    declared: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            declared.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            declared.add(node.target.id)
    twin_names = set(importlib.import_module(f"corsfast.{twin}").__all__)
    assert twin_names == declared
    try:
        module = importlib.import_module(f"corsfast.{compiled}")
    except ImportError:
        return  # a pure build: nothing compiled to compare with
    assert set(module.__all__) == twin_names


@pytest.mark.parametrize("compiled", ["corsfast._engine_c", "corsfast._adapters_c",
                                      "corsfast._verdicts_c"])
def test_compiled_stub_matches_the_extension(tmp_path: Path, compiled: str) -> None:
    """mypy's stubtest compares each .pyi with its compiled module: every
    name, signature and attribute must agree."""
    _require_mypy()
    import importlib

    import corsfast

    try:
        importlib.import_module(compiled)
    except ImportError:
        pytest.skip("a pure build: there is no compiled module to compare")
    # Let stubtest import the very corsfast this test imported.
    where = str(Path(corsfast.__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (where, env.get("PYTHONPATH")) if p)
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", compiled,
         "--allowlist", str(STUBTEST_ALLOWLIST)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
