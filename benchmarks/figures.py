"""The saved results that ``benchmarks/render.py`` reads, and their formats.

- ``Figures``: ns per request from pytest-benchmark's ``--benchmark-json``
  of ``pytest benchmarks/``. A round there is ``calls_per_round`` requests
  (``extra_info``), so each figure is divided by it. The run of the
  pure-Python twin (``--engine python``, a JSON of its own) is merged in
  with ``add_twin``: its rows are named "... (python twin)", and their
  overheads are taken against the bare app of the twin's own run.
- ``Counts``: instructions per request from the ``--json`` of the callgrind
  scripts (``floor.py``, ``callgrind_middleware.py``,
  ``bench_asgi_overhead.py``, ``bench_wsgi_overhead.py``), keyed the same
  way: (where, scenario, library), where is "engine" or a family key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Optional

TWIN = " (python twin)"
ENGINE_ORDER = ["no-op floor", "corsfast", "corsfast" + TWIN, "corsfast (pure Python)",
                "starlette", "litestar", "flask-cors", "wsgicors"]
SCENARIO_ORDER = ["simple", "preflight", "refused", "no-origin", "origins-10k",
                  "origins-100k", "subdomains", "hostile"]
FAMILY_ORDER = ["asgi", "wsgi", "flask", "django", "falcon", "falcon-asgi", "litestar"]
BARE = "bare app"

Key = tuple[str, str, str]


class Figures:
    """``ns[(level-or-family, scenario, library)]`` from one pytest-benchmark run."""

    def __init__(self, data: dict[str, Any], stat: str) -> None:
        self.data = data
        self.ns: dict[Key, float] = {}
        self.twin_bare: dict[tuple[str, str], float] = {}
        self.titles: dict[str, str] = {}
        self.family_titles: dict[str, str] = {}
        self.preflight: dict[str, bool] = {}
        for b in data.get("benchmarks", []):
            info = b.get("extra_info", {})
            where = info.get("family") or info.get("level", "engine")
            key = (where, info["scenario"], info["library"])
            self.ns[key] = b["stats"][stat] * 1e9 / info.get("calls_per_round", 1)
            self.titles[info["scenario"]] = b["group"].split(": ", 1)[1]
            self.preflight[info["scenario"]] = bool(info.get("preflight"))
            if info.get("family"):
                self.family_titles[info["family"]] = b["group"].split(": ", 1)[0]
        self.untimed: dict[Key, str] = {}
        for u in data.get("corsfast_untimed", []):
            where = u.get("family") or u.get("level", "engine")
            self.untimed[(where, u["scenario"], u["library"])] = u["status"]
            if u.get("family"):
                self.family_titles.setdefault(where, u["group"].split(": ", 1)[0])
            self.titles.setdefault(u["scenario"], u["group"].split(": ", 1)[1])

    def add_twin(self, twin: Figures) -> None:
        """The twin's corsfast rows, with the bare app of the twin's run."""
        for (where, s, lib), ns in twin.ns.items():
            if lib == BARE:
                self.twin_bare[(where, s)] = ns
            elif lib.endswith(TWIN):
                self.ns[(where, s, lib)] = ns
        for key, status in twin.untimed.items():
            if key[2].endswith(TWIN):
                self.untimed[key] = status
        self.titles = {**twin.titles, **self.titles}
        self.preflight = {**twin.preflight, **self.preflight}
        self.family_titles = {**twin.family_titles, **self.family_titles}

    def get(self, where: str, scenario: str, library: str) -> Optional[float]:
        return self.ns.get((where, scenario, library))

    def overhead(self, family: str, scenario: str, library: str) -> Optional[float]:
        wrapped = self.get(family, scenario, library)
        bare = (self.twin_bare.get((family, scenario)) if library.endswith(TWIN)
                else self.get(family, scenario, BARE))
        return None if wrapped is None or bare is None else wrapped - bare

    def libraries(self, where: str) -> list[str]:
        names = {lib for (w, _, lib) in [*self.ns, *self.untimed] if w == where}
        order = ENGINE_ORDER if where == "engine" else [BARE, "corsfast", "corsfast" + TWIN]
        return [n for n in order if n in names] + sorted(names - set(order))

    def scenarios(self) -> list[str]:
        return ordered(self.titles, SCENARIO_ORDER)

    def families(self) -> list[str]:
        return ordered({w for (w, _, _) in [*self.ns, *self.untimed] if w != "engine"},
                       FAMILY_ORDER)


class Counts:
    """``n[(where, scenario, library)]``: instructions per request, from the
    callgrind scripts' JSON files (later files win for the same key)."""

    def __init__(self, paths: Iterable[Path]) -> None:
        self.n: dict[Key, float] = {}
        self.sources: list[str] = []
        for path in paths:
            data = json.loads(Path(path).read_text())
            self.sources.append(f"{data.get('script', path.name)} ({data.get('engine')} "
                                f"engine, {data.get('requests')} requests, hash seeds "
                                f"{','.join(map(str, data.get('seeds', [])))})")
            for r in data.get("records", []):
                self.n[(r["where"], r["scenario"], r["library"])] = r["instructions"]

    def get(self, where: str, scenario: str, library: str) -> Optional[float]:
        return self.n.get((where, scenario, library))

    def overhead(self, where: str, scenario: str, library: str,
                 bare: str = BARE) -> Optional[float]:
        wrapped, base = self.get(where, scenario, library), self.get(where, scenario, bare)
        return None if wrapped is None or base is None else wrapped - base

    def __bool__(self) -> bool:
        return bool(self.n)


def ordered(present: Iterable[str], order: list[str]) -> list[str]:
    have = set(present)
    return [k for k in order if k in have] + sorted(have - set(order))


def fmt(ns: Optional[float], signed: bool = False) -> str:
    if ns is None:
        return "-"
    sign = "-" if ns < 0 else ("+" if signed else "")
    v = abs(ns)
    if v >= 1e6:
        return f"{sign}{v / 1e6:,.2f} ms"
    if v >= 1e4:
        return f"{sign}{v / 1e3:,.1f} µs"
    return f"{sign}{v:,.0f} ns"


def fmt_i(n: Optional[float], signed: bool = False) -> str:
    """Instructions, e.g. ``4,334 instr``."""
    return "-" if n is None else f"{n:{'+' if signed else ''},.0f} instr"


def short(status: str) -> str:
    for prefix, word in (("WRONG", "wrong answer"), ("n/a", "n/a"),
                         ("not installed", "not installed")):
        if status.startswith(prefix):
            return word
    return status.split(":")[0]
