"""Every fenced block in the README and docs/ is run or checked here, by its
info string, so no example can drift from what the code does:

- ``python``: run by itself in a fresh interpreter, warnings as errors;
- ``pycon``: run as a doctest;
- ``toml``: loaded as a policy file;
- ``console``: a block of ``$ `` lines is a session: each command runs (in a
  scratch directory that sees ``examples/``) and its output must be what the
  block shows; ``$ echo $?`` shows the exit status; ``$ cat FILE`` writes
  FILE. A block without ``$`` is a list of commands to type: the cheap ones
  run, the rest (installs, the suite itself) must name files, extras and
  options that exist;
- ``text``, ``markdown``: shown, not run. Any other info string fails.

Links between the pages must resolve, and the README stays short.
"""

from __future__ import annotations

import doctest
import logging
import os
import re
import shlex
import subprocess
import sys
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import probe_servers
import pytest

from corsfast import ENGINE
from corsfast._config import FILE_KEYS, load_mapping, policy_from_file
from corsfast.wsgi import CORSMiddleware

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", ROOT / "SECURITY.md", *(ROOT / "docs").glob("*.md")])
SHOWN_ONLY = {"text", "markdown"}
README_MAX_LINES = 300


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence
    info: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def fenced_blocks(page: Path) -> list[Block]:
    found: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = re.match(r"(`{3,})(.*)$", lines[i])
        if not opening:
            i += 1
            continue
        fence, info, start = opening.group(1), opening.group(2).strip(), i
        i += 1
        while i < len(lines) and lines[i].rstrip() != fence:
            i += 1
        assert i < len(lines), f"{page.name}:{start + 1}: fence never closed"
        found.append(Block(page, start + 1, info, "\n".join(lines[start + 1:i]) + "\n"))
        i += 1
    return found


BLOCKS = [block for page in PAGES for block in fenced_blocks(page)]


def blocks_of(info: str) -> list[pytest.param]:
    return [pytest.param(b, id=b.where) for b in BLOCKS if b.info == info]


def test_every_block_says_what_it_is() -> None:
    known = SHOWN_ONLY | {"python", "pycon", "toml", "console", "sh"}
    unknown = [f"{b.where}: {b.info or '(no info string)'}"
               for b in BLOCKS if b.info not in known]
    assert not unknown, unknown
    assert {b.info for b in BLOCKS} >= {"python", "pycon", "toml", "console"}


# -- python, pycon, toml, json ----------------------------------------------------


def environment() -> dict[str, str]:
    """The checkout's corsfast, on the engine this run tests."""
    return {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.mark.parametrize("block", blocks_of("python"))
def test_python_blocks_run(block: Block, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-W", "error", "-c", block.text],
                            cwd=tmp_path, env=environment(), capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, f"{block.where}\n{result.stderr}"


@pytest.mark.parametrize("block", blocks_of("pycon"))
def test_pycon_blocks_are_doctests(block: Block, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    test = doctest.DocTestParser().get_doctest(
        block.text, {}, block.where, str(block.page), block.line)
    assert test.examples, f"{block.where}: no examples"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.failures == 0, f"{block.where}: see the doctest report above"


@pytest.mark.parametrize("block", blocks_of("toml"))
def test_toml_blocks_are_policy_files(block: Block, tmp_path: Path) -> None:
    path = tmp_path / "cors.toml"
    path.write_text(block.text, encoding="utf-8")
    data = load_mapping(path)
    assert set(data) <= set(FILE_KEYS) | {"routes"}, f"{block.where}: {sorted(data)}"
    policy_from_file(path)  # raises ConfigError on a bad entry


# -- console sessions ---------------------------------------------------------------

# A line in a shown output that stands for N lines left out.
LEFT_OUT = re.compile(r"\.\.\. \((\d+) lines of the same shape left out here\) \.\.\.")
# Ports the docs' probe examples use, and the server each stands for.
PROBED = {"8765": probe_servers.protected, "8766": probe_servers.reflecting}
NOT_RUN = {
    # Runs Starlette's own suite in a checkout of Starlette (docs/asgi.md).
    "python -m pytest -q -p no:cacheprovider tests/middleware/test_cors.py":
        "needs a Starlette checkout",
}


@dataclass
class Step:
    command: str
    shown: list[str]


def session(block: Block) -> list[Step]:
    steps: list[Step] = []
    lines = block.text.splitlines()
    i = 0
    while i < len(lines):
        assert lines[i].startswith("$ "), f"{block.where}: output before a command"
        command = lines[i][2:]
        while command.endswith("\\"):
            i += 1
            command = command[:-1] + lines[i].strip()
        i += 1
        shown: list[str] = []
        # corsfast demo prints "$ corsfast check ..." lines of its own.
        while i < len(lines) and not (
                lines[i] == "$ echo $?" if command == "corsfast demo"
                else lines[i].startswith("$ ")):
            shown.append(lines[i])
            i += 1
        while shown and not shown[-1].strip():
            shown.pop()
        steps.append(Step(command, shown))
    return steps


def matches(shown: list[str], printed: list[str]) -> bool:
    """``printed`` is ``shown``, where a left-out marker stands for its lines."""
    at = 0
    for line in shown:
        left_out = LEFT_OUT.fullmatch(line)
        if left_out:
            at += int(left_out.group(1))
            continue
        if at >= len(printed) or printed[at] != line:
            return False
        at += 1
    return at == len(printed)


def corsfast_argv(command: str, ports: dict[str, str]) -> list[str]:
    argv = shlex.split(command)
    assert argv[0] == "corsfast", command
    for shown, real in ports.items():
        argv = [a.replace(f"127.0.0.1:{shown}/", f"127.0.0.1:{real}/") for a in argv]
    return [sys.executable, "-m", "corsfast", *argv[1:]]


SESSION_PAGES = sorted({b.page for b in BLOCKS
                        if b.info == "console" and b.text.startswith("$ ")})


@pytest.mark.parametrize("page", SESSION_PAGES, ids=lambda p: p.name)
def test_console_sessions_print_what_they_show(page: Path, tmp_path: Path) -> None:
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    with ExitStack() as stack:
        ports: dict[str, str] = {}
        for shown_port, server in PROBED.items():
            url = stack.enter_context(contextmanager(server)())
            ports[shown_port] = url.split(":")[2].split("/")[0]
        for block in (b for b in BLOCKS if b.page == page and b.info == "console"
                      and b.text.startswith("$ ")):
            run_session(block, tmp_path, ports)


def run_session(block: Block, cwd: Path, ports: dict[str, str]) -> None:
    status: int | None = None
    for step in session(block):
        where = f"{block.where}: $ {step.command}"
        if step.command in NOT_RUN or any(step.command.startswith(k) for k in NOT_RUN):
            continue
        if step.command == "echo $?":
            assert status is not None, where
            assert step.shown == [str(status)], f"{where}: exit status was {status}"
            continue
        if step.command.startswith("cat "):
            (cwd / step.command[4:]).write_text("\n".join(step.shown) + "\n",
                                                encoding="utf-8")
            continue
        # One pipe for both streams, unbuffered: the order a terminal shows.
        result = subprocess.run(corsfast_argv(step.command, ports), cwd=cwd,
                                env={**environment(), "PYTHONUNBUFFERED": "1"},
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, timeout=120)
        status = result.returncode
        printed = result.stdout.rstrip("\n")
        for shown, real in ports.items():
            printed = printed.replace(f"127.0.0.1:{real}/", f"127.0.0.1:{shown}/")
        # The JSON output names the engine that answered.
        printed = printed.replace(f'"engine": "{ENGINE}"', '"engine": "cython"')
        assert matches(step.shown, printed.splitlines()), (
            f"{where}\n--- shown\n" + "\n".join(step.shown)
            + "\n--- printed\n" + printed)


# -- lists of commands to type ------------------------------------------------------


def pyproject_extras() -> set[str]:
    return set(load_mapping(ROOT / "pyproject.toml")["project"]["optional-dependencies"])


def check_command(command: str, where: str) -> None:
    """One command a page tells the reader to type."""
    argv = shlex.split(command)
    while argv and re.fullmatch(r"[A-Z_]+=\S*", argv[0]):
        argv = argv[1:]  # VARIABLE=value prefixes
    name, args = argv[0], argv[1:]
    if name in {"git", "cd", "."} or argv[:3] == ["python3", "-m", "venv"]:
        return  # the reader's own set-up
    if name == "pip":
        assert args[0] == "install", where
        for arg in args[1:]:
            extras = re.fullmatch(r"(?:-e )?\.(?:\[(.*)\])?", arg)
            if extras and extras.group(1):
                missing = set(extras.group(1).split(",")) - pyproject_extras()
                assert not missing, f"{where}: no extra {missing} in pyproject.toml"
        return
    if argv[:3] == ["python", "-m", "pytest"] or name == "pytest":
        for arg in args:
            if "/" in arg and not arg.startswith("-"):
                assert (ROOT / arg).exists(), f"{where}: {arg} does not exist"
        return
    if name in {"bash", "sh"} or "/" in name:
        script = args[0] if name in {"bash", "sh"} else name
        assert (ROOT / script).is_file(), f"{where}: {script} does not exist"
        return
    if name == "python" and args and args[0].endswith(".py"):
        assert (ROOT / args[0]).is_file(), f"{where}: {args[0]} does not exist"
        check_options([sys.executable, str(ROOT / args[0])], args[1:], where)
        return
    if name == "python" and args[:1] == ["-c"]:
        run_ok([sys.executable, *args], where)
        return
    if name == "corsfast":
        if args[:1] == ["bench"]:  # minutes of timing: its options must exist
            check_options([sys.executable, "-m", "corsfast", "bench"], args[1:], where)
            return
        run_ok([sys.executable, "-m", "corsfast", *args], where)
        return
    pytest.fail(f"{where}: no rule for checking {command!r}")


def check_options(argv: list[str], args: list[str], where: str) -> None:
    help_text = run_ok([*argv, "--help"], where)
    for arg in args:
        if arg.startswith("--"):
            option = arg.split("=")[0]
            assert option in help_text, f"{where}: {option} is not an option"


def run_ok(argv: list[str], where: str) -> str:
    result = subprocess.run(argv, cwd=ROOT, env=environment(), capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, f"{where}: {argv}\n{result.stderr}"
    return result.stdout


COMMAND_LISTS = [b for b in BLOCKS if b.info in {"console", "sh"}
                 and not b.text.startswith("$ ")]


@pytest.mark.parametrize("block", [pytest.param(b, id=b.where) for b in COMMAND_LISTS])
def test_listed_commands_exist(block: Block) -> None:
    for line in block.text.splitlines():
        line = re.sub(r"\s+#.*$", "", line).strip()
        for command in filter(None, (c.strip() for c in line.split("&&"))):
            check_command(command, f"{block.where}: {command}")


# -- the pages themselves -----------------------------------------------------------


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = page.read_text(encoding="utf-8")
    text = re.sub(r"^(`{3,}).*?^\1[ \t]*$", "", text, flags=re.M | re.S)
    return {slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", text, re.M)}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_links_resolve(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    text = re.sub(r"^(`{3,}).*?^\1[ \t]*$", "", text, flags=re.M | re.S)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # another site
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists() or (anchor and linked.suffix == ".md"
                                   and anchor not in anchors(linked)):
            broken.append(target)
    assert not broken, broken


def test_the_readme_is_short_and_has_a_table_of_contents() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= README_MAX_LINES
    contents = text[:text.index("\n## ")]
    listed = re.findall(r"\]\(#([^)]+)\)", contents)
    sections = [slug(h) for h in re.findall(r"^## (.+)$", text, re.M)]
    assert [s for s in listed if s in sections] == sections, (
        "the contents list every section, in order")
    assert set(listed) <= anchors(ROOT / "README.md")


def test_the_readme_links_a_page_per_topic() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in ["docs/origins.md", "docs/configuration.md", "docs/asgi.md",
                 "docs/wsgi.md", "docs/flask.md", "docs/django.md", "docs/falcon.md",
                 "docs/cli.md", "docs/benchmarks.md", "SECURITY.md", "docs/spec.md"]:
        assert f"]({page}" in text, page


def test_the_session_matcher_can_fail() -> None:
    assert matches(["a", "... (2 lines of the same shape left out here) ...", "d"],
                   ["a", "b", "c", "d"])
    assert not matches(["a", "b"], ["a", "c"])
    assert not matches(["a"], ["a", "extra"])
    assert not matches(["a", "... (1 lines of the same shape left out here) ..."], ["a"])


def test_the_refusal_log_line_shown_is_what_the_middleware_logs(
        caplog: pytest.LogCaptureFixture) -> None:
    page = ROOT / "docs" / "configuration.md"
    shown = next(b.text.strip() for b in fenced_blocks(page)
                 if b.info == "text" and "refused" in b.text)
    app = CORSMiddleware(lambda environ, start_response: [b""],
                         allow_origins=["https://app.example.com"],
                         allow_methods=["POST"],
                         allow_headers=["content-type", "authorization"],
                         log_refusals=True)
    environ = {"REQUEST_METHOD": "OPTIONS", "PATH_INFO": "/api/items",
               "HTTP_ORIGIN": "https://app.example.com",
               "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST",
               "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "x-token"}
    with caplog.at_level(logging.INFO, logger="corsfast"):
        app(environ, lambda status, headers, exc_info=None: None)
    assert [r.getMessage() for r in caplog.records] == [shown]
