"""Shared setup for the pytest-benchmark suites in this folder.

Run from the repository root::

    pytest benchmarks/ --benchmark-json=benchmarks/results/bench.json

Files named ``bench_*.py`` are collected. Every test here builds one
library's runner for one scenario (see ``corsfast/_bench.py``), checks the
answer the way a browser would read it, and only then times it; a wrong
answer or a scenario the library cannot express is skipped with the reason,
and the reasons are saved into the JSON (``corsfast_untimed``) so that
``benchmarks/render.py`` can show them in the table.
"""

from __future__ import annotations

from typing import Any

import pytest

from corsfast._bench import Entry, Scenario, Unsupported, check

# Rounds stay modest so that the whole folder runs in a few minutes on a
# small machine; any of these given on the command line wins.
_DEFAULTS = {
    "benchmark_min_rounds": ("--benchmark-min-rounds", 5),
    "benchmark_max_time": ("--benchmark-max-time", "0.1"),
    "benchmark_min_time": ("--benchmark-min-time", "0.00005"),
    "benchmark_disable_gc": ("--benchmark-disable-gc", True),
}

_UNTIMED = pytest.StashKey[list]()

# Stand-alone scripts that share the bench_ prefix (they have a __main__,
# not tests).
collect_ignore = ["bench_asgi_overhead.py", "bench_wsgi_overhead.py",
                  "e2e.py", "e2e_apps.py", "floor.py", "render.py"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("python_files", "bench_*.py")
    given = " ".join(config.invocation_params.args)
    for dest, (flag, value) in _DEFAULTS.items():
        if flag not in given and hasattr(config.option, dest):
            setattr(config.option, dest, value)
    config.stash[_UNTIMED] = []


def pytest_benchmark_update_json(config: pytest.Config, benchmarks: Any,
                                 output_json: dict[str, Any]) -> None:
    output_json["corsfast_untimed"] = config.stash.get(_UNTIMED, [])


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int,
                            config: pytest.Config) -> None:
    wrong = [u for u in config.stash.get(_UNTIMED, []) if u["status"].startswith("WRONG")]
    if wrong:
        terminalreporter.section("wrong answers (not timed)")
        for u in wrong:
            terminalreporter.write_line(f"{u['group']} / {u['library']}: {u['status']}")


@pytest.fixture
def timed(benchmark: Any, request: pytest.FixtureRequest) -> Any:
    """``timed(entry, scenario, group, level=..., family=...)``: check, then
    time, one library in one scenario."""
    untimed = request.config.stash[_UNTIMED]

    def run(entry: Entry, s: Scenario, group: str, **info: str) -> None:
        benchmark.group = group
        benchmark.extra_info.update(library=entry.name, role=entry.role,
                                    scenario=s.key, preflight=s.preflight, **info)

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
        if runner.note:
            benchmark.extra_info["note"] = runner.note
        benchmark(runner.func, *runner.args)

    return run
