"""End to end: the same tiny app under a real server, loaded with wrk.

    python benchmarks/e2e.py [--duration 5] [--rounds 1] [--json PATH]
                             [--servers uvicorn,granian,gunicorn,gunicorn-flask]

Every server runs one worker on 127.0.0.1 (loopback only), pinned to the
first core when ``taskset`` is there, with wrk (one thread) on the second.
For each server the variants (bare app, corsfast, each installed peer) are
started one after another; before a variant is loaded, one request checks
that its answer carries the expected ``access-control-allow-origin``. Each
wrk run is bounded (``--duration`` seconds); with ``--rounds`` above one the
variants take turns and the best round counts. The request is the "simple
allowed" scenario: ``GET /`` with an allowed ``Origin``.

Needs wrk (``apt-get install -y wrk``) and the servers (uvicorn, granian,
gunicorn) in the running interpreter's environment.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ORIGIN = "https://app.example.com"

SERVERS: dict[str, dict[str, Any]] = {
    "uvicorn": dict(app="plain", interface="asgi", needs="uvicorn",
                    variants=["bare", "corsfast", "starlette", "asgi-cors"]),
    "granian": dict(app="plain", interface="asgi", needs="granian",
                    variants=["bare", "corsfast", "starlette", "asgi-cors"]),
    "gunicorn": dict(app="plain", interface="wsgi", needs="gunicorn",
                     variants=["bare", "corsfast", "wsgicors"]),
    "gunicorn-flask": dict(app="flask", interface="wsgi", needs="gunicorn",
                           variants=["bare", "corsfast", "flask-cors"]),
}
PEER_MODULES = {"starlette": "starlette", "asgi-cors": "asgi_cors",
                "wsgicors": "wsgicors", "flask-cors": "flask_cors"}


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


def pinned(cmd: list[str], core: int, pin: bool) -> list[str]:
    if pin and shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(core)] + cmd
    return cmd


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start in time")


def probe(port: int) -> Optional[str]:
    """None when one request gets the expected answer; else what is wrong."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/", headers={"Origin": ORIGIN})
        resp = conn.getresponse()
        resp.read()
        acao = resp.getheader("access-control-allow-origin")
        return None if resp.status == 200 and acao in (ORIGIN, "*") else \
            f"status {resp.status}, access-control-allow-origin {acao!r}"
    finally:
        conn.close()


def wrk(port: int, duration: float, connections: int, pin: bool) -> dict[str, float]:
    cmd = pinned(["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s",
                  "-H", f"Origin: {ORIGIN}", f"http://127.0.0.1:{port}/"], 1, pin)
    out = subprocess.run(cmd, capture_output=True, text=True,
                         timeout=duration + 30).stdout
    rps = re.search(r"Requests/sec:\s*([\d.]+)", out)
    lat = re.search(r"Latency\s+([\d.]+)(us|ms|s)", out)
    errors = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    if not rps:
        raise RuntimeError("could not read wrk's output:\n" + out)
    result = {"rps": float(rps.group(1))}
    if lat:
        scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[lat.group(2)]
        result["latency_ms"] = float(lat.group(1)) * scale
    if errors:
        result["non_2xx"] = int(errors.group(1))
    return result


def run_variant(server: str, app: str, variant: str, args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    env = dict(os.environ, CORSFAST_E2E_VARIANT=variant, CORSFAST_E2E_APP=app,
               PYTHONPATH=os.pathsep.join([str(HERE), str(ROOT),
                                           os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen(pinned(command(server, port), 0, args.pin), cwd=HERE,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        wait_ready(port, proc)
        problem = probe(port)
        if problem and variant != "bare":
            return {"error": f"wrong answer: {problem}"}
        wrk(port, 1, args.connections, args.pin)  # warm up
        return wrk(port, args.duration, args.connections, args.pin)
    except Exception as exc:
        err = proc.stderr.read().decode(errors="replace")[-400:] if proc.poll() is not None else ""
        return {"error": f"{exc} {err}".strip()}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--servers", default=",".join(SERVERS))
    p.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--no-pin", dest="pin", action="store_false")
    p.add_argument("--json", default=str(HERE / "results" / "e2e.json"))
    args = p.parse_args(argv)
    if not shutil.which("wrk"):
        sys.exit("e2e.py needs wrk: apt-get install -y wrk")

    runs = []
    for server in args.servers.split(","):
        spec = SERVERS[server]
        if importlib.util.find_spec(spec["needs"]) is None:
            print(f"{server}: not installed, skipped", file=sys.stderr)
            continue
        variants = [v for v in spec["variants"]
                    if v not in PEER_MODULES or importlib.util.find_spec(PEER_MODULES[v])]
        best: dict[str, dict[str, Any]] = {}
        for r in range(args.rounds):
            for v in variants:
                print(f"{server} ({spec['app']}): {v}, round {r + 1}", file=sys.stderr, flush=True)
                got = run_variant(server.split("-")[0], spec["app"], v, args)
                if "rps" in got:
                    print(f"  {got['rps']:,.0f} requests/s", file=sys.stderr)
                else:
                    print(f"  {got['error']}", file=sys.stderr)
                if ("rps" in got and got["rps"] > best.get(v, {}).get("rps", -1)) or v not in best:
                    best[v] = got
        runs.append({"server": server.split("-")[0], "app": spec["app"],
                     "interface": spec["interface"], "variants": best})

    pin_note = " pinned to core 0, wrk on core 1"
    given = argv if argv is not None else sys.argv[1:]
    result = {
        "description": (f"wrk -t1 -c{args.connections} -d{args.duration:g}s on loopback, "
                        f"one server worker{pin_note if args.pin else ''}; "
                        f"GET / with an allowed Origin; best of {args.rounds} round(s). "
                        f"{platform.python_implementation()} {platform.python_version()}, "
                        f"{os.cpu_count()} cores."),
        "command": "python benchmarks/e2e.py " + " ".join(given),
        "runs": runs,
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2))
    for run in runs:
        bare = run["variants"].get("bare", {}).get("rps")
        for v, got in run["variants"].items():
            rps = got.get("rps")
            share = f"{rps / bare:6.1%}" if rps and bare else "     -"
            print(f"{run['server']:<9} {run['app']:<6} {v:<11} "
                  f"{(f'{rps:,.0f}' if rps else got.get('error', '?')):>10} {share}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
