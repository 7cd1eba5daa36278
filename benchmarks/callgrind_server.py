"""Instructions per request inside a real server's worker, under callgrind.

    python benchmarks/callgrind_server.py [--servers uvicorn,gunicorn,granian]
        [--variants bare,headers,corsfast] [--requests 2000] [--top 15]
        [--json benchmarks/results/server-instructions.json] [--engine python]

Where ``benchmarks/e2e.py`` measures CPU time under load, this counts what a
worker executes, which a busy machine does not change. Each variant of
``benchmarks/e2e_apps.py`` is served as e2e.py serves it (the same command,
one worker, 127.0.0.1 only), started under ``valgrind --tool=callgrind``
with instrumentation off. Over one keep-alive connection, a warm-up of
requests goes first; then ``callgrind_control`` turns instrumentation on
in the server's processes for exactly ``--requests`` requests ("simple
allowed": ``GET /api/items`` with an allowed ``Origin``), and off again,
and the dump is read. So the figure is the server's whole work per
request, its parsing and writing included, and nothing of the client's.

Against the bare app, ``headers`` (the bare app sending the two CORS headers
itself) is what the server pays to send those bytes at all, and
``corsfast`` minus ``headers`` is corsfast's own share. ``--top K`` lists
the K functions whose cost differs most between those two variants.
Needs Linux and valgrind (``apt-get install -y valgrind``); servers:
uvicorn, gunicorn (its gthread worker, as in e2e.py) and granian.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

from e2e import ORIGIN, Server

from corsfast._bench import add_engine_option, engine_line, ensure_engine

SERVERS = ("uvicorn", "gunicorn", "granian")
WARMUP = 300


def _ask(conn: http.client.HTTPConnection, variant: str) -> None:
    """One request; the variant must answer as it should."""
    conn.request("GET", "/api/items", headers={"Origin": ORIGIN})
    resp = conn.getresponse()
    resp.read()
    acao = resp.getheader("access-control-allow-origin")
    if resp.status != 200 or (variant != "bare" and acao != ORIGIN):
        raise RuntimeError(f"{variant}: status {resp.status}, "
                           f"access-control-allow-origin {acao!r}")


def _control(pids: list[int], *args: str) -> None:
    for pid in pids:
        subprocess.run(["callgrind_control", *args, str(pid)], capture_output=True,
                       check=False, timeout=120)


def _total(dump: Path) -> int:
    found = re.search(r"^totals: (\d+)", dump.read_text(errors="replace"), re.M)
    return int(found.group(1)) if found else 0


def measure(server: str, variant: str, requests: int, out: Path) -> tuple[float, list[Path]]:
    """Instructions per request of one variant, and the dumps they came from."""
    prefix = out / f"{server}-{variant}"
    proc = Server(server, "plain", variant, pin=False, wrap=[
        "valgrind", "-q", "--tool=callgrind", "--instr-atstart=no", "--trace-children=yes",
        f"--callgrind-out-file={prefix}.%p"])
    try:
        proc.wait_ready(timeout=180)  # valgrind starts slowly
        conn = http.client.HTTPConnection("127.0.0.1", proc.port, timeout=120)
        for _ in range(WARMUP):
            _ask(conn, variant)
        pids = proc.pids()  # the server and its workers
        _control(pids, "-i", "on")
        for _ in range(requests):
            _ask(conn, variant)
        _control(pids, "-i", "off")
        _control(pids, "-d")
        conn.close()
        dumps = sorted(out.glob(f"{prefix.name}.*.1"))
        return sum(_total(d) for d in dumps) / requests, dumps
    finally:
        proc.stop()


def _self_costs(dumps: list[Path]) -> dict[str, int]:
    """Each function's own instructions over the dumps, by callgrind_annotate."""
    costs: dict[str, int] = {}
    for dump in dumps:
        text = subprocess.run(["callgrind_annotate", "--threshold=100", "--auto=no",
                               str(dump)], capture_output=True, text=True, check=False).stdout
        for line in text.splitlines():
            row = re.match(r"\s*([\d,]+) \([^)]*\)\s+(.+?)(?: \[.*\])?$", line)
            if row and "PROGRAM TOTALS" not in line:
                # Recursion levels ("f'2") count as the function itself.
                name = re.sub(r"'\d+$", "", re.sub(r"^/tmp/python-build[^:]*/", "",
                                                    row.group(2)))
                costs[name] = costs.get(name, 0) + int(row.group(1).replace(",", ""))
    return costs


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--servers", default=",".join(SERVERS))
    p.add_argument("--variants", default="bare,headers,corsfast")
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--top", type=int, default=15,
                   help="functions listed whose cost differs most, corsfast against headers")
    p.add_argument("--json", help="also write the figures to this file")
    add_engine_option(p)
    given = argv if argv is not None else sys.argv[1:]
    args = p.parse_args(given)
    status = ensure_engine(args.engine, [sys.executable, __file__, *given],
                           "callgrind_server.py")
    if status is not None:
        return status
    for tool in ("valgrind", "callgrind_control", "callgrind_annotate"):
        if not shutil.which(tool):
            sys.exit(f"callgrind_server.py needs {tool}: apt-get install -y valgrind")
    unknown = set(args.servers.split(",")) - set(SERVERS)
    if unknown:
        sys.exit(f"unknown server(s): {', '.join(sorted(unknown))}; known: {', '.join(SERVERS)}")
    variants = args.variants.split(",")
    print(engine_line())
    print(f"instructions per request in the server's processes, {args.requests} requests "
          f"after {WARMUP} of warm-up, one keep-alive connection")
    records = []
    with tempfile.TemporaryDirectory(prefix="corsfast-callgrind-server-") as tmp:
        for server in args.servers.split(","):
            figures: dict[str, float] = {}
            dumps: dict[str, list[Path]] = {}
            print(f"{server}:")
            for variant in variants:
                figures[variant], dumps[variant] = measure(server, variant, args.requests,
                                                           Path(tmp))
                over = "" if variant == "bare" or "bare" not in figures else \
                    f"  {figures[variant] - figures['bare']:+,.0f} over bare"
                print(f"  {variant:10s} {figures[variant]:12,.0f}{over}", flush=True)
                records.append(dict(server=server, variant=variant,
                                    instructions=figures[variant]))
            if {"headers", "corsfast"} <= set(figures):
                print(f"  corsfast's own share (corsfast - headers): "
                      f"{figures['corsfast'] - figures['headers']:+,.0f}")
                if args.top:
                    theirs, ours = (_self_costs(dumps[v]) for v in ("headers", "corsfast"))
                    delta = {k: ours.get(k, 0) - theirs.get(k, 0) for k in {*ours, *theirs}}
                    print(f"  where it goes (own instructions per request, top {args.top}):")
                    for name, value in sorted(delta.items(), key=lambda kv: -abs(kv[1]))[
                            :args.top]:
                        print(f"    {value / args.requests:+9,.0f}  {name[:110]}")
    if args.json:
        Path(args.json).write_text(json.dumps(dict(
            tool="callgrind", script="callgrind_server.py", engine_line=engine_line(),
            requests=args.requests, warmup=WARMUP, records=records), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
