"""Shared set-up for the pytest-benchmark suites in this folder.

Run from the repository root::

    pytest benchmarks/ --benchmark-json=benchmarks/results/bench.json
    pytest benchmarks/ --engine python --benchmark-json=benchmarks/results/bench-python.json

Files named ``bench_*.py`` are collected. Each test builds one library's
runner for one scenario (``benchmarks/peers.py``), checks its answer the way
a browser would read it, and only then times it; a wrong answer or a
scenario the library cannot express is skipped with the reason, and the
reasons are saved into the JSON (``corsfast_untimed``) for
``benchmarks/render.py``.

Fresh requests, off the clock: every round hands the library a batch of
requests built for it alone (pytest-benchmark's pedantic ``setup=``, which
runs before the round's clock starts). A round is ``calls_per_round`` calls
(saved in ``extra_info``; render.py divides by it), as many as make about
50 µs, since the timer's own cost would swamp one 50 ns call.

``--engine`` says which engine is measured: the compiled one (the default;
the run stops if it is not the live one), or ``python``, which runs the
suites again in a subprocess with ``CORSFAST_NO_EXTENSIONS=1`` and times
corsfast's rows only (peers do not depend on corsfast's engine).
"""

from __future__ import annotations

import sys
from typing import Any

import pytest
from peers import Unsupported  # pytest puts this folder on sys.path

import corsfast
from corsfast._bench import TWIN, Entry, Scenario, batch_size, check, ensure_engine, time_batch

# Rounds stay modest so that the whole folder runs in a few minutes on a
# small machine; any of these given on the command line wins.
_DEFAULTS = {
    "benchmark_min_rounds": ("--benchmark-min-rounds", 5),
    "benchmark_max_time": ("--benchmark-max-time", "0.1"),
    "benchmark_disable_gc": ("--benchmark-disable-gc", True),
}
ROUND_SECONDS = 50e-6
MOST_CALLS = 1000

_UNTIMED = pytest.StashKey[list]()

# Stand-alone scripts that share the bench_ prefix (they have a __main__,
# not tests).
collect_ignore = ["bench_asgi_overhead.py", "bench_wsgi_overhead.py", "callgrind_middleware.py",
                  "e2e.py", "e2e_apps.py", "floor.py", "render.py"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--engine", choices=("cython", "python"), default="cython",
                     help="corsfast's engine to measure (python: the pure-Python twin, "
                          "in a subprocess with CORSFAST_NO_EXTENSIONS=1)")


def pytest_configure(config: pytest.Config) -> None:
    status = ensure_engine(config.getoption("engine"),
                           [sys.executable, "-m", "pytest", *config.invocation_params.args],
                           "pytest benchmarks/")
    if status is not None:
        pytest.exit("the subprocess above ran the suites with the engine asked for",
                    returncode=status)
    config.addinivalue_line("python_files", "bench_*.py")
    given = " ".join(config.invocation_params.args)
    for dest, (flag, value) in _DEFAULTS.items():
        if flag not in given and hasattr(config.option, dest):
            setattr(config.option, dest, value)
    config.stash[_UNTIMED] = []


def pytest_report_header(config: pytest.Config) -> str:
    from corsfast._bench import engine_line
    return f"corsfast {engine_line()}"


def pytest_benchmark_update_json(config: pytest.Config, benchmarks: Any,
                                 output_json: dict[str, Any]) -> None:
    output_json["corsfast_untimed"] = config.stash.get(_UNTIMED, [])
    output_json["corsfast_engine"] = corsfast.ENGINE
    for bench in output_json.get("benchmarks", []):  # every round's time: megabytes
        bench.get("stats", {}).pop("data", None)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int,
                            config: pytest.Config) -> None:
    untimed = config.stash.get(_UNTIMED, [])
    wrong = [u for u in untimed if u["status"].startswith("WRONG")]
    if wrong:
        terminalreporter.section("wrong answers (not timed)")
        for u in wrong:
            terminalreporter.write_line(f"{u['group']} / {u['library']}: {u['status']}")
    terminalreporter.write_line(
        f"corsfast engine measured: {corsfast.ENGINE}. pytest-benchmark's times are per "
        "round of calls_per_round requests; benchmarks/render.py gives them per request.")


@pytest.fixture
def timed(benchmark: Any, request: pytest.FixtureRequest) -> Any:
    """``timed(entry, scenario, group, level=..., family=...)``: check, then
    time, one library in one scenario."""
    config = request.config
    untimed = config.stash[_UNTIMED]

    def run(entry: Entry, s: Scenario, group: str, **info: Any) -> None:
        benchmark.group = group
        benchmark.extra_info.update(library=entry.name, role=entry.role, scenario=s.key,
                                    preflight=s.preflight, engine=corsfast.ENGINE, **info)
        if TWIN and entry.role in ("peer", "floor"):
            pytest.skip("measured in the run of the compiled engine")

        def skip(status: str) -> None:
            untimed.append(dict(group=group, library=entry.name, role=entry.role,
                                scenario=s.key, status=status, **info))
            pytest.skip(status)

        missing = entry.missing()
        if missing:
            skip(f"not installed: {', '.join(missing)}")
        try:
            runner = entry.build(s)
            problem = check(entry, s, runner)
        except Unsupported as exc:
            skip(f"n/a: {exc}")
        if problem:
            skip(f"WRONG: {problem}")
        calls = batch_size(runner, ROUND_SECONDS, MOST_CALLS)
        func, make = runner.func, runner.make
        each_round = time_batch(func, [make() for _ in range(calls)])
        rounds = int(float(config.option.benchmark_max_time) / max(each_round, 1e-9))
        rounds = max(int(config.option.benchmark_min_rounds), min(rounds, 10_000))
        benchmark.extra_info["calls_per_round"] = calls

        def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
            return ([make() for _ in range(calls)],), {}

        def handle(batch: list[tuple[Any, ...]]) -> None:
            for args in batch:
                func(*args)

        benchmark.pedantic(handle, setup=setup, rounds=rounds, warmup_rounds=1)

    return run
