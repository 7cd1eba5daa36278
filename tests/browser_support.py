"""Start real servers on loopback for the server and browser tests: ASGI
servers (uvicorn, granian) and aiohttp's own.

Every server binds 127.0.0.1 on a free port, runs as a subprocess with a
bounded start-up wait, and is always stopped (terminate, then kill).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
LOOPBACK = "127.0.0.1"
START_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text("utf-8", "replace")

    def wait_for_log(self, text: str, timeout: float = 5.0) -> str:
        """The server's output once it contains ``text`` (bounded wait)."""
        deadline = time.monotonic() + timeout
        while True:
            output = self.log()
            if text in output or time.monotonic() > deadline:
                return output
            time.sleep(0.05)


def _command(kind: str, target: str, port: int) -> list[str]:
    if kind == "uvicorn":
        return [sys.executable, "-m", "uvicorn", target, "--app-dir", str(HERE),
                "--host", LOOPBACK, "--port", str(port), "--no-access-log",
                "--log-level", "warning", "--lifespan", "on"]
    if kind == "granian":
        granian = BIN / "granian"
        launcher = [str(granian)] if granian.exists() else [sys.executable, "-m", "granian"]
        return [*launcher, "--interface", "asgi", "--host", LOOPBACK,
                "--port", str(port), "--workers", "1", "--working-dir", str(HERE),
                "--no-access-log", "--log-level", "warning", target]
    if kind == "aiohttp":  # aiohttp's own server; ``target`` is an entry function
        return [sys.executable, "-m", "aiohttp.web", "-H", LOOPBACK, "-P", str(port),
                target]
    raise ValueError(f"unknown server {kind!r}")


def _wait_until_listening(server: Server, deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited early:\n{server.log()}")
        with contextlib.suppress(OSError):
            with socket.create_connection((LOOPBACK, server.port), timeout=0.5):
                return
        time.sleep(0.05)
    raise RuntimeError(f"{server.name} did not listen within {START_TIMEOUT}s:\n"
                       f"{server.log()}")


def stop(process: subprocess.Popen[Any]) -> None:
    """End a child process: terminate, then kill after 5 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextlib.contextmanager
def serve(kind: str, target: str, env: Optional[dict[str, str]] = None,
          port: Optional[int] = None) -> Iterator[Server]:
    """Run ``target`` ("module:attr" in tests/) under ``kind`` on loopback
    (for "aiohttp", ``attr`` is a function that returns the app)."""
    port = port or free_port()
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), str(HERE), full_env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    full_env.update(env or {})
    with tempfile.NamedTemporaryFile(prefix=f"corsfast-{kind}-", suffix=".log",
                                     delete=False) as log:
        log_path = Path(log.name)
        process = subprocess.Popen(_command(kind, target, port), cwd=str(HERE),
                                   env=full_env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    server = Server(kind, port, process, log_path)
    try:
        _wait_until_listening(server, time.monotonic() + START_TIMEOUT)
        yield server
    finally:
        stop(process)
        with contextlib.suppress(OSError):
            log_path.unlink()
