"""ns per call of corsfast's engine next to the floor, and the engine targets.

    python benchmarks/floor.py [--json PATH] [--repeat N]

The floor is ``corsfast._engine_c._noop_check``: a compiled function that
takes the same arguments as ``check_request`` and does nothing, so the ratio
is what the decision itself costs over the bare price of a call. Each figure
is the best of several batches, the calls of one table timed in turns.

Targets (from the engine issue): simple allowed <= 2x the floor, refused
origin <= 2.5x, preflight with three headers <= 5x; 100,000 exact origins
cost <= 1.3x per lookup what one origin costs; a 64 KiB hostile
Access-Control-Request-Headers costs <= 30x a normal preflight, and work
stays linear in the header's length.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

try:
    import corsfast  # noqa: F401
except ImportError:  # run from a checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from corsfast import Policy, _engine_py
from corsfast._bench import (
    HEADERS,
    MAX_AGE,
    METHODS,
    ORIGIN,
    REFUSED_ORIGIN,
    environment,
    hostile_request_headers,
    many_origins,
    measure_together,
)

try:
    from corsfast import _engine_c
except ImportError:
    sys.exit("floor.py needs the compiled engine: pip install -e . (or build in place)")

THREE = "content-type, x-token, x-request-id"


def policy(origins: tuple[str, ...]) -> Policy:
    return Policy(allow_origins=origins, allow_methods=METHODS,
                  allow_headers=HEADERS, max_age=MAX_AGE)


def ladder(size: int) -> str:
    """A legal, worst-case ACRH of ``size`` bytes within the bounds: empty
    elements (tolerated, never counted) around one allowed name."""
    name = "content-type"
    return ", " * ((size - len(name)) // 2) + name + " " * ((size - len(name)) % 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args(argv)

    one = policy((ORIGIN,))
    big = policy(many_origins(100_000))
    big_origin = many_origins(100_000)[-1]
    rows: list[tuple[str, tuple[Any, ...]]] = [
        ("simple allowed", (one, "GET", ORIGIN)),
        ("preflight, three headers", (one, "OPTIONS", ORIGIN, "PUT", THREE)),
        ("refused origin", (one, "GET", REFUSED_ORIGIN)),
        ("no origin", (one, "GET", None)),
        ("100,000 origins: simple", (big, "GET", big_origin)),
        ("100,000 origins: preflight", (big, "OPTIONS", big_origin, "PUT", THREE)),
        ("hostile 64 KiB ACRH", (one, "OPTIONS", ORIGIN, "PUT", hostile_request_headers())),
    ]
    for size in (256, 1024, 2048, 4096):
        rows.append((f"ACRH ladder {size} B", (one, "OPTIONS", ORIGIN, "PUT", ladder(size))))

    print(environment())
    calls = []
    for _, a in rows:
        calls += [(_engine_c.check_request, a), (_engine_py.check_request, a),
                  (_engine_c._noop_check, a)]
    figures = measure_together(calls, repeat=args.repeat)
    result: dict[str, dict[str, float]] = {}
    print(f"{'scenario':<30} {'compiled':>10} {'twin':>10} {'floor':>8} {'x floor':>8}")
    for i, (label, _) in enumerate(rows):
        c, py, floor = figures[3 * i: 3 * i + 3]
        result[label] = {"compiled": c, "python": py, "floor": floor}
        print(f"{label:<30} {c:>8.0f}ns {py:>8.0f}ns {floor:>6.0f}ns {c / floor:>7.2f}x")

    def x(label: str) -> float:
        return result[label]["compiled"] / result[label]["floor"]

    r = result
    checks = [
        ("simple allowed <= 2x floor", x("simple allowed"), 2.0),
        ("refused origin <= 2.5x floor", x("refused origin"), 2.5),
        ("preflight, three headers <= 5x floor", x("preflight, three headers"), 5.0),
        ("100k origins / 1 origin (simple) <= 1.3x",
         r["100,000 origins: simple"]["compiled"] / r["simple allowed"]["compiled"], 1.3),
        ("100k origins / 1 origin (preflight) <= 1.3x",
         r["100,000 origins: preflight"]["compiled"]
         / r["preflight, three headers"]["compiled"], 1.3),
        ("hostile 64 KiB / normal preflight <= 30x",
         r["hostile 64 KiB ACRH"]["compiled"] / r["preflight, three headers"]["compiled"], 30.0),
        ("ladder 4096 B / 1024 B <= 4.5x (linear)",
         r["ACRH ladder 4096 B"]["compiled"] / r["ACRH ladder 1024 B"]["compiled"], 4.5),
    ]
    print()
    for label, value, limit in checks:
        print(f"{'PASS' if value <= limit else 'MISS'}  {label:<46} {value:.2f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"environment": environment(), "ns": result,
                       "targets": [dict(target=t, value=v, limit=m) for t, v, m in checks]},
                      fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
