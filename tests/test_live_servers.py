"""A policy swapped while a real server is under load (docs/spec.md "Live
policies (for gateways)"): uvicorn on loopback serves tests/live_app.py,
whose policy follows a file that this test rewrites, atomically, between
two versions while client threads send requests. Every answer must carry
one version's CORS headers whole, and none may fail."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from browser_support import LOOPBACK, serve

PAGE = "https://app.example.com"
VERSIONS = [
    'allow_origins = ["https://app.example.com"]\nexpose_headers = ["x-one"]\n',
    'allow_origins = ["https://app.example.com"]\nexpose_headers = ["x-two", "x-three"]\n'
    'allow_credentials = true\n',
]
EXPECTED = [
    {"access-control-allow-origin": PAGE, "access-control-expose-headers": "x-one"},
    {"access-control-allow-origin": PAGE, "access-control-expose-headers": "x-two, x-three",
     "access-control-allow-credentials": "true"},
]


def _publish(path: Path, text: str) -> None:
    """Write then rename: how a policy file is replaced in production."""
    fresh = path.with_suffix(".new")
    fresh.write_text(text)
    os.replace(fresh, path)


def _cors(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


def test_swaps_under_load_never_mix_and_never_fail(tmp_path: Path) -> None:
    policy_file = tmp_path / "cors.toml"
    _publish(policy_file, VERSIONS[0])
    with serve("uvicorn", "live_app:app",
               env={"CORSFAST_TEST_POLICY_FILE": str(policy_file)}) as server:
        base = f"http://{LOOPBACK}:{server.port}"
        stop = threading.Event()
        answers: list[Any] = []
        lock = threading.Lock()

        def client() -> None:
            with httpx.Client(base_url=base, timeout=httpx.Timeout(10.0)) as http:
                while not stop.is_set():
                    try:
                        r = http.get("/", headers={"Origin": PAGE})
                        got: Any = (r.status_code, _cors(r))
                    except httpx.HTTPError as exc:
                        got = exc
                    with lock:
                        answers.append(got)

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        swaps = 0
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline:
            swaps += 1
            _publish(policy_file, VERSIONS[swaps % 2])
            time.sleep(0.05)
        stop.set()
        for t in threads:
            t.join()
    failures = [a for a in answers if not isinstance(a, tuple) or a[0] != 200]
    assert failures == []
    mixed = [a for a in answers if a[1] not in EXPECTED]
    assert mixed == []
    seen = {EXPECTED.index(a[1]) for a in answers}
    assert seen == {0, 1}, "the file's versions never reached the server"
    assert len(answers) > 200
