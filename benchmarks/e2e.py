"""End to end: the same tiny app under a real server, loaded with wrk.

    python benchmarks/e2e.py [--rounds 30] [--duration 3] [--warmup 2]
                             [--mode together|turns] [--metric cpu|rps]
                             [--servers uvicorn,granian,gunicorn,gunicorn-flask]
                             [--variants corsfast,bare-2] [--no-peers]
                             [--connections 16] [--json PATH]

For each server, every variant (the bare app; ``bare-2``, a second identical
bare app; ``headers``, the bare app sending corsfast's two CORS headers
itself; corsfast; each installed peer) runs at once in its own server
process: one worker on 127.0.0.1 (loopback only), each on its own port, all
pinned to core 0 with ``taskset``, one hash seed for all; wrk (one thread,
fixed connections) runs on core 1. One request first checks that every
variant answers with the expected ``access-control-allow-origin``; then they
are warmed up, and the rounds begin.

``--mode together`` (the default): in each round all the variants are
loaded at the same time, one wrk each, so that they share core 0, and
whatever else the machine does, alike; the cost compares each server's CPU
time per request (all its threads and processes, from /proc) with the bare
server's in the same round: ``1 - bare / variant``, the throughput a worker
that keeps its core busy loses. ``--mode turns``: the variants are loaded
one after another, in an order that turns each round, and the cost compares
requests/s with the bare run of the same round. On a shared machine the
first is far steadier (see docs/benchmarks.md); the second is a cross-check
for a quiet one.

The report gives, per variant, the median of the per-round costs (in % of
the bare app's throughput), their interquartile range and a distribution-
free ~95% confidence interval of the median. ``bare-2`` against ``bare`` is
the noise floor: whatever two identical servers differ by is noise. The 3%
target is "met" when the top of corsfast's confidence interval is at most
3%, "not met" when its bottom is above 3%, and "within noise" otherwise, or
whenever the noise floor is itself too wide to judge 3%.

The request is the "simple allowed" scenario: ``GET /api/items`` with an allowed
``Origin``. Needs Linux, wrk (``apt-get install -y wrk``) and the servers
(uvicorn, granian, gunicorn) in the running interpreter's environment.
Every wrk run and server start is bounded in time, and every server started
is stopped on the way out (also on Ctrl-C or ``kill``). The servers import
corsfast as this script does (the checkout first); it prints the engine they
run and stops unless that is the compiled one or ``--engine python`` asks
for the twin (then the servers run with ``CORSFAST_NO_EXTENSIONS=1`` and
the JSON says ``"engine": "python"``).
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional, Sequence

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]  # what the servers' PYTHONPATH puts first

import corsfast  # noqa: E402
from corsfast._bench import add_engine_option, engine_line, ensure_engine  # noqa: E402

ORIGIN = "https://app.example.com"
TARGET_PCT = 3.0
SERVER_CORE, WRK_CORE = 0, 1

SERVERS: dict[str, dict[str, Any]] = {
    "uvicorn": dict(app="plain", interface="asgi", needs="uvicorn",
                    variants=["bare", "bare-2", "headers", "corsfast", "starlette", "asgi-cors"]),
    "granian": dict(app="plain", interface="asgi", needs="granian",
                    variants=["bare", "bare-2", "headers", "corsfast", "starlette", "asgi-cors"]),
    "gunicorn": dict(app="plain", interface="wsgi", needs="gunicorn",
                     variants=["bare", "bare-2", "headers", "corsfast", "wsgicors"]),
    "gunicorn-flask": dict(app="flask", interface="wsgi", needs="gunicorn",
                           variants=["bare", "bare-2", "headers", "corsfast", "flask-cors"]),
}
PEER_MODULES = {"starlette": "starlette", "asgi-cors": "asgi_cors",
                "wsgicors": "wsgicors", "flask-cors": "flask_cors"}
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(server: str, port: int) -> list[str]:
    py = sys.executable
    if server == "uvicorn":
        return [py, "-m", "uvicorn", "e2e_apps:app", "--host", "127.0.0.1",
                "--port", str(port), "--workers", "1", "--log-level", "warning",
                "--no-access-log"]
    if server == "granian":
        return [py, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1",
                "--port", str(port), "--workers", "1", "--log-level", "warning",
                "e2e_apps:app"]
    # gunicorn: threaded worker, so that wrk's connections are kept alive
    return [py, "-m", "gunicorn", "--workers", "1", "--worker-class", "gthread",
            "--threads", "4", "--bind", f"127.0.0.1:{port}", "--log-level",
            "warning", "e2e_apps:wsgi_app"]


def can_pin() -> bool:
    return bool(shutil.which("taskset")) and len(os.sched_getaffinity(0)) >= 2


def pinned(cmd: list[str], core: int, pin: bool) -> list[str]:
    return ["taskset", "-c", str(core)] + cmd if pin else cmd


# -- a server process and its CPU time --------------------------------------------------


def _session_pids(sid: int) -> list[int]:
    """The processes of session ``sid`` (the server and its workers)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[3]) == sid:  # field 6 of stat: the session id
            pids.append(int(entry))
    return pids


class Server:
    """One variant's server process, in a session of its own."""

    def __init__(self, server: str, app: str, variant: str, pin: bool,
                 wrap: Sequence[str] = ()) -> None:
        """``wrap``: a command the server runs under (callgrind_server.py's valgrind)."""
        self.variant = variant
        self.port = free_port()
        # bare-2 is the bare app again, in a second server: the noise floor
        # One hash seed for all, so that bare and bare-2 are the same process.
        env = dict(os.environ, CORSFAST_E2E_VARIANT="bare" if variant == "bare-2" else variant,
                   CORSFAST_E2E_APP=app, PYTHONHASHSEED="0",
                   PYTHONPATH=os.pathsep.join(
                       p for p in (str(HERE), str(ROOT), os.environ.get("PYTHONPATH", "")) if p))
        self.proc = subprocess.Popen(pinned([*wrap, *command(server, self.port)], SERVER_CORE, pin),
                                     cwd=HERE, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, start_new_session=True)

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace")[-400:] \
                    if self.proc.stderr else ""
                raise RuntimeError(f"server exited with {self.proc.returncode} {err}".strip())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not start in time")

    def probe(self) -> Optional[str]:
        """None when one request gets the expected answer; else what is wrong."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("GET", "/api/items", headers={"Origin": ORIGIN})
            resp = conn.getresponse()
            resp.read()
            acao = resp.getheader("access-control-allow-origin")
            if self.variant.startswith("bare"):
                ok = resp.status == 200
            else:
                ok = resp.status == 200 and acao in (ORIGIN, "*")
            return None if ok else f"status {resp.status}, access-control-allow-origin {acao!r}"
        finally:
            conn.close()

    def pids(self) -> list[int]:
        return _session_pids(self.proc.pid)

    def cores(self) -> list[int]:
        """Every core any of the server's processes may run on."""
        allowed: set[int] = set()
        for pid in self.pids():
            try:
                allowed |= os.sched_getaffinity(pid)
            except OSError:
                pass
        return sorted(allowed)

    def cpu_snapshot(self) -> dict[int, tuple[frozenset[str], int, int]]:
        """Per process of the server: (its threads, their CPU ns, its CPU ticks)."""
        snap = {}
        for pid in self.pids():
            try:
                tids = os.listdir(f"/proc/{pid}/task")
                ns = sum(int(Path(f"/proc/{pid}/task/{t}/schedstat").read_text().split()[0])
                         for t in tids)
                stat = Path(f"/proc/{pid}/stat").read_text()
            except (OSError, ValueError, IndexError):
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            snap[pid] = (frozenset(tids), ns, int(fields[11]) + int(fields[12]))
        return snap

    @staticmethod
    def cpu_between(before: dict[int, tuple[frozenset[str], int, int]],
                    after: dict[int, tuple[frozenset[str], int, int]]) -> float:
        """CPU seconds the server's processes used between two snapshots.

        Threads' ``schedstat`` gives nanoseconds; where a process's threads
        changed in between (an ended thread takes its count with it), its
        ``utime + stime`` in clock ticks is used instead.
        """
        total = 0.0
        for pid, (tids, ns, ticks) in after.items():
            if pid not in before:
                total += ticks / CLK_TCK
            elif before[pid][0] == tids:
                total += (ns - before[pid][1]) / 1e9
            else:
                total += (ticks - before[pid][2]) / CLK_TCK
        return total

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        # workers left behind by a leader that died (or would not stop)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc.poll() is None:
            self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()


# -- wrk ------------------------------------------------------------------------------------


def wrk_cmd(port: int, duration: int, connections: int, pin: bool) -> list[str]:
    return pinned(["wrk", "-t1", f"-c{connections}", f"-d{duration}s",
                   "-H", f"Origin: {ORIGIN}", f"http://127.0.0.1:{port}/api/items"], WRK_CORE, pin)


def wrk(port: int, duration: int, connections: int, pin: bool) -> dict[str, Any]:
    out = subprocess.run(wrk_cmd(port, duration, connections, pin), capture_output=True,
                         text=True, timeout=duration + 30).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> dict[str, Any]:
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out)
    lat = re.search(r"Latency\s+([\d.]+)(us|ms|s)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if not done:
        raise RuntimeError("could not read wrk's output:\n" + out)
    seconds = float(done.group(2)) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[done.group(3)]
    result: dict[str, Any] = {"requests": int(done.group(1)), "seconds": round(seconds, 4)}
    result["rps"] = round(result["requests"] / seconds, 2)
    if lat:
        scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[lat.group(2)]
        result["latency_ms"] = round(float(lat.group(1)) * scale, 3)
    errors = (int(non2xx.group(1)) if non2xx else 0) + \
        (sum(int(g) for g in sock.groups()) if sock else 0)
    if errors:
        result["errors"] = errors
    return result


def core_busy() -> dict[int, float]:
    """Seconds each core has spent busy (steal included) since boot."""
    busy = {}
    for line in Path("/proc/stat").read_text().splitlines():
        m = re.match(r"cpu(\d+) (.*)", line)
        if m:
            f = [int(x) for x in m.group(2).split()]
            # user nice system idle iowait irq softirq steal
            busy[int(m.group(1))] = (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / CLK_TCK
    return busy


def timed(srv: Server, args: argparse.Namespace) -> dict[str, Any]:
    before = srv.cpu_snapshot()
    busy0 = core_busy()
    kids0 = os.times()
    t0 = time.monotonic()
    got = wrk(srv.port, args.duration, args.connections, args.pin)
    wall = time.monotonic() - t0
    kids1 = os.times()
    busy1 = core_busy()
    cpu = Server.cpu_between(before, srv.cpu_snapshot())
    wrk_cpu = (kids1.children_user + kids1.children_system
               - kids0.children_user - kids0.children_system)
    got["cpu_s"] = round(cpu, 4)
    got["wall_s"] = round(wall, 4)
    if args.pin:
        # What else ran on the server's core and on wrk's while this ran.
        got["other_server_core"] = round(
            (busy1.get(SERVER_CORE, 0) - busy0.get(SERVER_CORE, 0) - cpu) / wall, 3)
        got["other_wrk_core"] = round(
            (busy1.get(WRK_CORE, 0) - busy0.get(WRK_CORE, 0) - wrk_cpu) / wall, 3)
    if got["requests"]:
        got["cpu_us_per_request"] = round(cpu / got["requests"] * 1e6, 3)
    return got


def timed_together(servers: dict[str, Server], duration: int, args: argparse.Namespace,
                   shift: int = 0) -> dict[str, dict[str, Any]]:
    """Load every server at once, one wrk each: they share the core alike.

    The wrk processes start in an order turned by ``shift``, so that none
    of the variants is always the first or the last to be loaded.
    """
    names = list(servers)
    shift %= max(len(names), 1)
    before = {v: s.cpu_snapshot() for v, s in servers.items()}
    procs = {v: subprocess.Popen(wrk_cmd(servers[v].port, duration, args.connections, args.pin),
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
             for v in names[shift:] + names[:shift]}
    outs = {}
    try:
        for v, pr in procs.items():
            outs[v] = pr.communicate(timeout=duration + 30)[0]
    finally:
        for pr in procs.values():
            if pr.poll() is None:
                pr.kill()
                pr.wait()
    got = {}
    for v, s in servers.items():
        try:
            got[v] = parse_wrk(outs[v])
        except Exception as exc:  # a run wrk could not finish
            got[v] = {"error": str(exc)[:300]}
            continue
        cpu = Server.cpu_between(before[v], s.cpu_snapshot())
        got[v]["cpu_s"] = round(cpu, 4)
        if got[v]["requests"]:
            got[v]["cpu_us_per_request"] = round(cpu / got[v]["requests"] * 1e6, 3)
    return got


# -- statistics ------------------------------------------------------------------------------


def quartiles(xs: list[float]) -> tuple[float, float, float]:
    if len(xs) == 1:
        return xs[0], xs[0], xs[0]
    q1, q2, q3 = statistics.quantiles(xs, n=4, method="inclusive")
    return q1, q2, q3


def median_ci(xs: list[float]) -> tuple[float, float, float]:
    """A distribution-free confidence interval for the median: order statistics.

    Returns (low, high, coverage). With n values, [x(k), x(n+1-k)] covers the
    median with probability 1 - 2 P(Binomial(n, 1/2) < k); k is the largest
    that keeps this at least 95% (for fewer than 6 values no k does, and the
    interval is the whole range, with its smaller coverage).
    """
    s = sorted(xs)
    n = len(s)
    k = 1
    while True:
        below = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n  # P(B <= k)
        if k + 1 > (n + 1) // 2 or 1 - 2 * below < 0.95:
            break
        k += 1
    tail = sum(math.comb(n, i) for i in range(k)) / 2 ** n
    return s[k - 1], s[n - k], 1 - 2 * tail


def summary(xs: list[float]) -> dict[str, Any]:
    q1, med, q3 = quartiles(xs)
    lo, hi, cover = median_ci(xs)
    return {"median": round(med, 3), "q1": round(q1, 3), "q3": round(q3, 3),
            "ci_low": round(lo, 3), "ci_high": round(hi, 3), "ci_coverage": round(cover, 3),
            "n": len(xs)}


METRICS = {"cpu": "CPU time per request", "rps": "requests per second"}


def costs(rounds: list[dict[str, dict[str, Any]]], variant: str) -> dict[str, Any]:
    """Cost of ``variant`` in % of the bare app's throughput, round by round.

    By throughput: 1 - rps / bare rps. By CPU time per request, as the
    throughput a worker that keeps its core busy would reach:
    1 - bare CPU per request / CPU per request.
    """
    per: dict[str, list[float]] = {"rps": [], "cpu": []}
    for r in rounds:
        bare, got = r.get("bare", {}), r.get(variant, {})
        if bare.get("rps") and got.get("rps"):
            per["rps"].append((1 - got["rps"] / bare["rps"]) * 100)
        if bare.get("cpu_us_per_request") and got.get("cpu_us_per_request"):
            per["cpu"].append((1 - bare["cpu_us_per_request"] / got["cpu_us_per_request"]) * 100)
    out: dict[str, Any] = {}
    for metric, xs in per.items():
        if xs:
            out[metric] = dict(summary(xs), per_round=[round(x, 3) for x in xs])
    return out


def own_share(rounds: list[dict[str, dict[str, Any]]], metric: str) -> dict[str, Any]:
    """corsfast's own share: its cost minus the static-headers variant's,
    round by round (both in % of the same round's bare app), summarised
    with its confidence interval. The headers variant is the limit any
    CORS layer meets, since the server writes those bytes whatever computes
    them; empty when either variant did not run."""
    diffs = []
    for r in rounds:
        one = costs([r], "corsfast").get(metric)
        other = costs([r], "headers").get(metric)
        if one and other:
            diffs.append(one["median"] - other["median"])
    return dict(summary(diffs), per_round=[round(x, 3) for x in diffs]) if diffs else {}


def verdict(cost: dict[str, Any], noise: dict[str, Any],
            target: float = TARGET_PCT) -> dict[str, str]:
    """Whether corsfast's cost meets the target, given the bare-vs-bare noise."""
    if not cost or "median" not in cost:
        return {"status": "not measured", "why": "no throughput for corsfast or the bare app"}
    if not noise or "median" not in noise:
        return {"status": "within noise", "why": "no bare-vs-bare noise floor was measured"}
    if min(cost.get("ci_coverage", 0), noise.get("ci_coverage", 0)) < 0.95:
        return {"status": "within noise",
                "why": f"{cost.get('n', 0)} rounds are too few for a 95% confidence "
                       f"interval (6 at least; the default is 30)"}
    spread = noise["q3"] - noise["q1"]
    # What two identical servers differ by, over all rounds: corsfast's
    # server may differ from the bare one by as much for no reason of its own.
    bias = abs(noise["median"])
    allowing = (f", allowing {bias:.1f}% by which two identical servers differ"
                if bias else "")
    if cost["ci_low"] - bias > target:
        return {"status": "not met",
                "why": f"cost {cost['median']:.1f}%; at least {cost['ci_low'] - bias:.1f}% "
                       f"at the bottom of its confidence interval{allowing}"}
    if spread > target:
        return {"status": "within noise",
                "why": f"the noise floor (bare vs bare) spreads {spread:.1f}% between its "
                       f"quartiles, more than the {target:g}% to be judged"}
    if bias > target:
        return {"status": "within noise",
                "why": f"two identical bare servers differ by {bias:.1f}%, more than "
                       f"{target:g}%"}
    if cost["ci_high"] + bias <= target:
        return {"status": "met",
                "why": f"cost {cost['median']:.1f}%; at most {cost['ci_high'] + bias:.1f}% "
                       f"at the top of its confidence interval{allowing}"}
    return {"status": "within noise",
            "why": f"the confidence interval of the cost ({cost['ci_low']:.1f}% to "
                   f"{cost['ci_high']:.1f}%){' widened by ' + f'{bias:.1f}%' if bias else ''} "
                   f"straddles {target:g}%"}


# -- one server, all its variants ----------------------------------------------------------


def run_server(name: str, variants: list[str], args: argparse.Namespace,
               clock: dict[str, float]) -> dict[str, Any]:
    spec = SERVERS[name]
    server = name.split("-")[0]
    errors: dict[str, str] = {}
    servers: dict[str, Server] = {}
    rounds: list[dict[str, dict[str, Any]]] = []
    others: list[float] = []
    log(f"{name} ({spec['app']}): starting {len(variants)} servers: {', '.join(variants)}")
    try:
        for v in variants:
            servers[v] = Server(server, spec["app"], v, args.pin)
        for v in list(servers):
            try:
                servers[v].wait_ready()
                problem = servers[v].probe()
            except Exception as exc:  # reported, not raised
                problem = str(exc)
            if problem:
                errors[v] = f"wrong answer: {problem}" if problem.startswith("status") else problem
                log(f"  {v}: {errors[v]}")
                servers.pop(v).stop()
        cores = {v: s.cores() for v, s in servers.items()}
        if args.pin:
            off = {v: c for v, c in cores.items() if c != [SERVER_CORE]}
            if off:
                log(f"  warning: not pinned to core {SERVER_CORE}: {off}")
        names = list(servers)
        if args.warmup and names:
            log(f"  warm-up: {args.warmup}s")
            if args.mode == "together":
                timed_together(servers, args.warmup, args)
            else:
                for v in names:
                    wrk(servers[v].port, args.warmup, args.connections, args.pin)
        for r in range(args.rounds if names else 0):
            if args.mode == "together":
                busy0 = core_busy()
                t0 = time.monotonic()
                got = timed_together(servers, args.duration, args, shift=r)
                wall = time.monotonic() - t0
                ours = sum(g.get("cpu_s", 0) for g in got.values())
                others.append(round((core_busy().get(SERVER_CORE, 0)
                                     - busy0.get(SERVER_CORE, 0) - ours) / wall, 3))
            else:
                got = {}
                shift = r % len(names)
                for v in names[shift:] + names[:shift]:  # the order turns each round
                    try:
                        got[v] = timed(servers[v], args)
                    except Exception as exc:  # one failed run, not all
                        got[v] = {"error": str(exc)[:300]}
            clock["done"] += args.duration * (1 if args.mode == "together" else len(names))
            rounds.append(got)
            bare = got.get("bare", {})
            cells = []
            cpu = args.metric == "cpu"
            key, unit = ("cpu_us_per_request", "µs/req") if cpu else ("rps", "req/s")
            for v in names:
                x, ref = got.get(v, {}).get(key), bare.get(key)
                if x and v == "bare":
                    cells.append(f"bare {x:,.{1 if cpu else 0}f} {unit}")
                elif x and ref:
                    kept = ref / x if cpu else x / ref  # the share of bare's throughput
                    cells.append(f"{v} {(1 - kept) * 100:+.1f}%")
                else:
                    cells.append(f"{v} failed")
            elapsed = time.monotonic() - clock["start"]
            left = elapsed / max(clock["done"], 1e-9) * (clock["total"] - clock["done"])
            log(f"  round {r + 1}/{args.rounds}: {'  '.join(cells)}   "
                f"[{elapsed / 60:.1f} min, ~{left / 60:.1f} min left]")
    finally:
        for s in servers.values():
            s.stop()

    result: dict[str, Any] = {"server": server, "app": spec["app"],
                              "interface": spec["interface"], "metric": args.metric,
                              "variants": {}}
    if others:
        result["other_load_on_server_core"] = others
    for v in variants:
        if v in errors:
            result["variants"][v] = {"error": errors[v]}
            continue
        runs = [r[v] for r in rounds if "rps" in r.get(v, {})]
        entry: dict[str, Any] = {"pinned_to": cores.get(v)}
        if runs:
            q1, med, q3 = quartiles([x["rps"] for x in runs])
            entry.update(rps=round(med, 1), rps_q1=round(q1, 1), rps_q3=round(q3, 1))
            cpu = [x["cpu_us_per_request"] for x in runs if x.get("cpu_us_per_request")]
            if cpu:
                entry["cpu_us_per_request"] = round(statistics.median(cpu), 3)
                entry["rps_alone"] = round(1e6 / statistics.median(cpu), 1)
            lat = [x["latency_ms"] for x in runs if "latency_ms" in x]
            if lat:
                entry["latency_ms"] = round(statistics.median(lat), 3)
            errs = sum(x.get("errors", 0) for x in runs)
            if errs:
                entry["errors"] = errs
        else:
            entry["error"] = next((r[v]["error"] for r in rounds if "error" in r.get(v, {})),
                                  "no run")
        if v != "bare":
            by = costs(rounds, v)
            if args.metric in by:
                entry["cost_pct"] = dict(by[args.metric], metric=args.metric)
            entry["cost_pct_by"] = by
        entry["rounds"] = [r.get(v) for r in rounds]
        result["variants"][v] = entry
    noise = result["variants"].get("bare-2", {}).get("cost_pct", {})
    ours = result["variants"].get("corsfast", {}).get("cost_pct", {})
    result["noise_floor_pct"] = {k: noise[k] for k in
                                 ("median", "q1", "q3", "ci_low", "ci_high", "n") if k in noise}
    result["target"] = dict(limit_pct=TARGET_PCT, metric=args.metric, **verdict(ours, noise))
    share = own_share(rounds, args.metric)
    if share:
        result["own_share_pct"] = dict(share, metric=args.metric)
    return result


# -- report -----------------------------------------------------------------------------------


def pct(c: dict[str, Any]) -> str:
    if not c or "median" not in c:
        return "-"
    return f"{c['median']:+.1f}% [{c['q1']:+.1f}, {c['q3']:+.1f}]"


def report(runs: list[dict[str, Any]]) -> None:
    alone = any(run.get("metric") == "cpu" for run in runs)
    print(f"{'server':<9} {'app':<6} {'variant':<10} "
          f"{'req/s alone' if alone else 'req/s':>11} {'µs CPU/req':>10}  "
          f"{'cost by CPU/req':<24} {'cost by req/s':<24}")
    for run in runs:
        for v, got in run["variants"].items():
            rps = got.get("rps_alone") if run.get("metric") == "cpu" else got.get("rps")
            by = got.get("cost_pct_by", {})
            print(f"{run['server']:<9} {run['app']:<6} {v:<10} "
                  f"{(f'{rps:,.0f}' if rps else got.get('error', '?')[:40]):>11} "
                  f"{got.get('cpu_us_per_request', 0):>10.1f}  "
                  f"{pct(by.get('cpu', {})):<24} {pct(by.get('rps', {})):<24}")
        t = run["target"]
        print(f"  -> corsfast costs ≤ {TARGET_PCT:g}% of the bare app's throughput "
              f"(by {METRICS[t['metric']]}): {t['status']}: {t['why']}")
        share = run.get("own_share_pct")
        if share:
            print(f"  -> corsfast's own share, over the static headers: "
                  f"{share['median']:+.1f} points, 95% CI [{share['ci_low']:+.1f}, "
                  f"{share['ci_high']:+.1f}] ({share['n']} rounds)")
    if alone:
        print("req/s alone: what one worker would serve with its core to itself, "
              "1 / CPU time per request. Costs: median [interquartile range] over rounds.")


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--servers", default=",".join(SERVERS))
    p.add_argument("--mode", choices=("together", "turns"), default="together",
                   help="load all variants at once (default) or one after another")
    p.add_argument("--metric", choices=("cpu", "rps"),
                   help="what the cost and the verdict use: CPU time per request "
                        "(default with --mode together) or requests/s (with turns)")
    p.add_argument("--duration", type=int, default=3, help="seconds per timed run (whole)")
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--warmup", type=int, default=2, help="seconds of load before the rounds")
    p.add_argument("--connections", type=int, default=16, help="wrk connections per server")
    p.add_argument("--no-peers", action="store_true",
                   help="only bare, bare-2, headers and corsfast")
    p.add_argument("--variants", help="only these (comma-separated; bare always runs)")
    p.add_argument("--no-pin", dest="pin", action="store_false")
    p.add_argument("--json", default=str(HERE / "results" / "e2e.json"))
    add_engine_option(p)
    args = p.parse_args(argv)
    given = argv if argv is not None else sys.argv[1:]
    status = ensure_engine(args.engine, [sys.executable, __file__, *given], "e2e.py")
    if status is not None:
        return status
    log(engine_line())
    args.metric = args.metric or ("cpu" if args.mode == "together" else "rps")
    if not shutil.which("wrk"):
        sys.exit("e2e.py needs wrk: apt-get install -y wrk")
    if args.duration < 1 or args.rounds < 1:
        sys.exit("--duration and --rounds must be at least 1")
    if args.pin and not can_pin():
        log("no taskset or fewer than 2 cores: not pinning")
        args.pin = False
    unknown = set(args.servers.split(",")) - set(SERVERS)
    if unknown:
        sys.exit(f"unknown server(s): {', '.join(sorted(unknown))}; known: {', '.join(SERVERS)}")

    plan: list[tuple[str, list[str]]] = []
    for name in args.servers.split(","):
        spec = SERVERS[name]
        if importlib.util.find_spec(spec["needs"]) is None:
            log(f"{name}: not installed, skipped")
            continue
        variants = [v for v in spec["variants"]
                    if v not in PEER_MODULES or (not args.no_peers and
                                                 importlib.util.find_spec(PEER_MODULES[v]))]
        if args.variants:
            keep = {"bare"} | set(args.variants.split(","))
            variants = [v for v in variants if v in keep]
        plan.append((name, variants))
    per_round = {name: args.duration * (1 if args.mode == "together" else len(v))
                 for name, v in plan}
    total = args.rounds * sum(per_round.values())
    overhead = sum(args.warmup * (1 if args.mode == "together" else len(v)) + 6
                   for _, v in plan)
    log(f"{len(plan)} server(s), {sum(len(v) for _, v in plan)} variants, mode {args.mode}, "
        f"{args.rounds} rounds of {args.duration}s: about {(total * 1.04 + overhead) / 60:.1f} "
        f"minutes")

    # Ctrl-C and a plain `kill` stop the servers on the way out (SIGINT too
    # where the shell that started this had it ignored).
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    clock = {"start": time.monotonic(), "done": 0.0, "total": float(total)}
    runs = [run_server(name, variants, args, clock) for name, variants in plan]
    minutes = (time.monotonic() - clock["start"]) / 60

    pin_note = (f"all pinned to core {SERVER_CORE}, wrk on core {WRK_CORE}"
                if args.pin else "not pinned")
    how = ("all variants loaded at once, one wrk each, sharing the core"
           if args.mode == "together" else
           "the variants loaded one after another, in an order that turns each round")
    result = {
        "description": (
            f"wrk -t1 -c{args.connections} -d{args.duration}s per server on loopback; one "
            f"worker per variant, every variant's server running at the same time, "
            f"{pin_note}; GET /api/items with an allowed Origin. {args.rounds} rounds, {how}, "
            f"after a {args.warmup}s warm-up. Cost: the median over rounds of each round's "
            f"cost against the bare app of that round, by {METRICS[args.metric]}, with its "
            f"interquartile range; bare-2 is a second, identical bare server: its cost is "
            f"the noise floor. {platform.python_implementation()} "
            f"{platform.python_version()}, {os.cpu_count()} cores."),
        "command": "python benchmarks/e2e.py " + " ".join(given),
        "engine": corsfast.ENGINE, "engine_line": engine_line(),
        "method": {"mode": args.mode, "metric": args.metric, "duration_s": args.duration,
                   "rounds": args.rounds, "warmup_s": args.warmup,
                   "connections": args.connections, "wrk_threads": 1, "pinned": args.pin,
                   "target_pct": TARGET_PCT, "wall_minutes": round(minutes, 2)},
        "runs": runs,
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    report(runs)
    log(f"wrote {args.json} in {minutes:.1f} minutes")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("interrupted: servers stopped")
        sys.exit(130)
