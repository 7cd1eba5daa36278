"""corsfast.watch: a real policy file in tmp_path, real ASGI and WSGI
middleware, and the watching thread running as it does in a server.

Every wait polls a condition against a deadline; no test assumes how soon
the thread gets to run. The suite runs once per engine.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import corsfast
import corsfast.asgi
import corsfast.wsgi
from corsfast import ConfigError, Policy, Router
from corsfast._logging import escape_for_log

A = "https://a.example.com"
B = "https://bb.example.com"
C = "https://ccc.example.com"
FAST = 0.01  # seconds between polls
DEADLINE = 10.0

needs_sighup = pytest.mark.skipif(not hasattr(signal, "SIGHUP"),
                                  reason="the platform has no SIGHUP")


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {DEADLINE}s: {what}")
        time.sleep(0.002)


def policy_text(*origins: str) -> str:
    return f"allow_origins = {json.dumps(list(origins))}\nmax_age = 60\n"


def replace(path: Path, text: str) -> None:
    """Publish a new version the safe way: a whole file renamed over."""
    temporary = path.with_name(path.name + ".new")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


# -- the middleware under test, and one request through each ---------------------


def asgi_allows(middleware: Any, origin: str) -> bool:
    sent: list[dict[str, Any]] = []
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "https", "path": "/", "raw_path": b"/",
             "query_string": b"", "root_path": "", "server": ("t", 443),
             "headers": [(b"origin", origin.encode())]}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(middleware(scope, receive, send))
    headers = dict(sent[0]["headers"])
    return headers.get(b"access-control-allow-origin") == origin.encode()


async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def wsgi_allows(middleware: Any, origin: str) -> bool:
    started: list[list[tuple[str, str]]] = []

    def start_response(status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]:
        started.append(headers)
        return lambda data: None

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "HTTP_ORIGIN": origin,
               "wsgi.url_scheme": "https", "SERVER_NAME": "t", "SERVER_PORT": "443"}
    body = middleware(environ, start_response)
    b"".join(body)
    return (("access-control-allow-origin", origin) in
            [(k.lower(), v) for k, v in started[0]])


def wsgi_app(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [("content-type", "text/plain")])
    return [b"ok"]


class Served:
    """A middleware and a way to ask it whether an origin is allowed."""

    def __init__(self, kind: str, policy: Any) -> None:
        if kind == "asgi":
            self.middleware: Any = corsfast.asgi.CORSMiddleware(asgi_app, policy)
            self._allows = asgi_allows
        else:
            self.middleware = corsfast.wsgi.CORSMiddleware(wsgi_app, policy)
            self._allows = wsgi_allows

    def allows(self, origin: str) -> bool:
        return self._allows(self.middleware, origin)


@pytest.fixture(params=["asgi", "wsgi"])
def served(request: pytest.FixtureRequest) -> Served:
    return Served(request.param, Policy(allow_origins=[A]))


@pytest.fixture
def cors_file(tmp_path: Path) -> Path:
    path = tmp_path / "cors.toml"
    path.write_text(policy_text(A), encoding="utf-8")
    return path


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.INFO, logger="corsfast"):
        yield caplog


def errors_logged(logs: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in logs.records
            if r.name == "corsfast" and r.levelno == logging.ERROR]


def refused_line(error: str) -> str:
    return f"policy file not put in force, the running policy stays: {escape_for_log(error, 1000)}"


# -- changes are put in force ---------------------------------------------------------


def test_a_changed_file_is_put_in_force(served: Served, cors_file: Path,
                                        logs: pytest.LogCaptureFixture) -> None:
    with corsfast.watch(cors_file, served.middleware, interval=FAST, sighup=False):
        assert served.allows(A) and not served.allows(B)
        cors_file.write_text(policy_text(B), encoding="utf-8")  # in place
        wait_until(lambda: served.allows(B), "the new policy in force")
        assert not served.allows(A)
        assert served.middleware.policy == Policy(allow_origins=[B], max_age=60)
    assert f"policy file {cors_file} is in force: one policy, 1 origin entry" in [
        r.getMessage() for r in logs.records if r.levelno == logging.INFO]


def test_the_file_is_put_in_force_when_the_watch_starts(served: Served,
                                                        tmp_path: Path) -> None:
    path = tmp_path / "cors.json"
    path.write_text(json.dumps({"allow_origins": [C]}), encoding="utf-8")
    assert not served.allows(C)
    with corsfast.watch(path, served.middleware, sighup=False) as handle:
        assert served.allows(C) and not served.allows(A)
        assert handle.reloads == 1 and handle.refusals == 0


def test_an_atomic_replacement_is_put_in_force(served: Served, cors_file: Path) -> None:
    with corsfast.watch(cors_file, served.middleware, interval=FAST, sighup=False):
        replace(cors_file, policy_text(B))
        wait_until(lambda: served.allows(B), "the renamed file in force")
        replace(cors_file, policy_text(C))
        wait_until(lambda: served.allows(C), "the second renamed file in force")
        assert not served.allows(B)


def test_a_router_file_is_put_in_force(served: Served, cors_file: Path) -> None:
    with corsfast.watch(cors_file, served.middleware, interval=FAST, sighup=False):
        replace(cors_file, f'[routes."/"]\nallow_origins = ["{B}"]\n'
                           f'[routes."/api"]\nallow_origins = ["{C}"]\n')
        wait_until(lambda: isinstance(served.middleware.policy, Router), "the router")
        assert served.allows(B)  # the requests go to "/"


def test_an_unchanged_version_is_put_in_force_again(served: Served, cors_file: Path) -> None:
    with corsfast.watch(cors_file, served.middleware, interval=FAST,
                        sighup=False) as handle:
        before = served.middleware.policy
        assert handle.reload() is True
        assert handle.reloads == 2
        assert served.middleware.policy == before


# -- broken, half-written and missing files ----------------------------------------


def test_a_broken_file_keeps_the_running_policy_and_logs_every_error(
        served: Served, cors_file: Path, logs: pytest.LogCaptureFixture) -> None:
    broken = 'allow_origin = ["https://bb.example.com"]\nmax_age = 9999999\n'
    with corsfast.watch(cors_file, served.middleware, interval=FAST,
                        sighup=False) as handle:
        running = served.middleware.policy
        replace(cors_file, broken)
        wait_until(lambda: handle.refusals == 1, "the broken file refused")
        with pytest.raises(ConfigError) as caught:
            Policy.from_file(cors_file)
        assert len(caught.value.errors) == 2
        assert errors_logged(logs) == [refused_line(e) for e in caught.value.errors]
        assert handle.last_errors == tuple(caught.value.errors)
        assert served.middleware.policy is running
        assert served.allows(A) and not served.allows(B)

        replace(cors_file, policy_text(B))  # fixed
        wait_until(lambda: served.allows(B), "the fixed file in force")
        assert handle.last_errors == () and handle.refusals == 1


def test_a_half_written_file_is_refused_then_picked_up_when_finished(
        served: Served, cors_file: Path, logs: pytest.LogCaptureFixture) -> None:
    with corsfast.watch(cors_file, served.middleware, interval=FAST,
                        sighup=False) as handle:
        with cors_file.open("w", encoding="utf-8") as writer:
            # Truncated: empty, which read as TOML would allow no origin.
            writer.flush()
            wait_until(lambda: handle.refusals == 1, "the empty file refused")
            writer.write('allow_origins = ["https://bb.exa')
            writer.flush()
            wait_until(lambda: handle.refusals == 2, "the cut-off file refused")
            assert served.allows(A)
            writer.write('mple.com"]\n')
        wait_until(lambda: served.allows(B), "the finished file in force")
    messages = errors_logged(logs)
    assert len(messages) == 2
    assert "the file is empty" in messages[0]
    assert "not valid TOML" in messages[1]


def test_a_deleted_file_keeps_the_policy_and_is_logged_once(
        served: Served, cors_file: Path, logs: pytest.LogCaptureFixture) -> None:
    with corsfast.watch(cors_file, served.middleware, interval=FAST,
                        sighup=False) as handle:
        cors_file.unlink()
        gone = f"policy file {cors_file} is gone; the running policy stays until it is back"

        def warnings() -> list[str]:
            return [r.getMessage() for r in logs.records if r.levelno == logging.WARNING]

        wait_until(lambda: gone in warnings(), "the deletion logged")
        assert handle.reload() is False and handle.reload() is False
        assert warnings() == [gone]
        assert served.allows(A)

        cors_file.write_text(policy_text(B), encoding="utf-8")  # back
        wait_until(lambda: served.allows(B), "the file put in force again")


def test_logged_lines_are_escaped(served: Served, tmp_path: Path,
                                  logs: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "forged\nERROR root: line.toml"
    path.write_text(policy_text(A), encoding="utf-8")
    with corsfast.watch(path, served.middleware, interval=FAST, sighup=False) as handle:
        replace(path, 'allow_origins = ["https://a.example.com/\\u000aX"]\n')
        wait_until(lambda: handle.refusals == 1, "the broken file refused")
    for record in logs.records:
        assert "\n" not in record.getMessage()
    assert any("forged\\x0aERROR root" in m for m in errors_logged(logs))


# -- several middleware ------------------------------------------------------------------


class PolicyOnly:
    """Anything with reconfigure: this one takes no router, like a drop-in
    whose framework has no per-path policies."""

    def __init__(self) -> None:
        self.policy: Any = None

    def reconfigure(self, policy: Any) -> None:
        if not isinstance(policy, Policy):
            raise TypeError("expected a corsfast.Policy")
        self.policy = policy


def test_several_middleware_get_every_version(cors_file: Path) -> None:
    asgi = Served("asgi", Policy(allow_origins=[C]))
    wsgi = Served("wsgi", Policy(allow_origins=[C]))
    with corsfast.watch(cors_file, [asgi.middleware, wsgi.middleware], interval=FAST,
                        sighup=False):
        assert asgi.allows(A) and wsgi.allows(A)
        replace(cors_file, policy_text(B))
        wait_until(lambda: asgi.allows(B) and wsgi.allows(B), "both swapped")


def test_a_version_one_middleware_refuses_is_taken_back_from_all(
        served: Served, cors_file: Path, logs: pytest.LogCaptureFixture) -> None:
    other = PolicyOnly()
    with corsfast.watch(cors_file, [served.middleware, other], interval=FAST,
                        sighup=False) as handle:
        running = served.middleware.policy
        replace(cors_file, f'[routes."/api"]\nallow_origins = ["{B}"]\n')
        wait_until(lambda: handle.refusals == 1, "the router refused")
        assert served.middleware.policy == running and other.policy == running
        assert errors_logged(logs) == [refused_line(
            f"{cors_file}: a middleware refused it: expected a corsfast.Policy")]


# -- SIGHUP and reload() -------------------------------------------------------------------


@needs_sighup
def test_sighup_reloads_and_stop_puts_the_old_handler_back(served: Served,
                                                           cors_file: Path) -> None:
    calls: list[int] = []

    def earlier(signum: int, frame: Any) -> None:
        calls.append(signum)

    previous = signal.signal(signal.SIGHUP, earlier)
    try:
        # An hour between polls: only the signal can bring the change in.
        handle = corsfast.watch(cors_file, served.middleware, interval=3600)
        assert handle.handles_sighup
        replace(cors_file, policy_text(B))
        os.kill(os.getpid(), signal.SIGHUP)
        wait_until(lambda: served.allows(B), "the reload SIGHUP asked for")
        assert calls == [signal.SIGHUP]  # the earlier handler still runs
        handle.stop()
        assert signal.getsignal(signal.SIGHUP) is earlier
        assert not handle.handles_sighup
    finally:
        signal.signal(signal.SIGHUP, previous)


@needs_sighup
def test_no_sighup_handler_off_the_main_thread_or_when_declined(
        served: Served, cors_file: Path) -> None:
    before = signal.getsignal(signal.SIGHUP)
    handles: list[corsfast.Watch] = []
    thread = threading.Thread(target=lambda: handles.append(
        corsfast.watch(cors_file, served.middleware, interval=3600)))
    thread.start()
    thread.join()
    declined = corsfast.watch(cors_file, served.middleware, interval=3600, sighup=False)
    for handle in (*handles, declined):
        assert not handle.handles_sighup
        assert signal.getsignal(signal.SIGHUP) is before
        handle.stop()


def test_reload_loads_now(served: Served, cors_file: Path) -> None:
    with corsfast.watch(cors_file, served.middleware, interval=3600,
                        sighup=False) as handle:
        cors_file.write_text(policy_text(B), encoding="utf-8")
        assert handle.reload() is True
        assert served.allows(B)
        cors_file.write_text("allow_origins = 1\n", encoding="utf-8")
        assert handle.reload() is False
        assert served.allows(B)


# -- starting and stopping ---------------------------------------------------------------


def watch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("corsfast.watch(")]


def test_stop_ends_the_thread_and_changes_are_no_longer_followed(
        served: Served, cors_file: Path) -> None:
    handle = corsfast.watch(cors_file, served.middleware, interval=FAST, sighup=False)
    assert len(watch_threads()) == 1
    handle.stop()
    handle.stop()  # twice is fine
    assert watch_threads() == []
    cors_file.write_text(policy_text(B), encoding="utf-8")
    time.sleep(20 * FAST)  # what a live watch would have needed, many times over
    assert served.allows(A) and not served.allows(B)
    assert "stopped" in repr(handle)


@needs_sighup
def test_a_file_that_does_not_load_at_the_start_starts_nothing(
        served: Served, tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGHUP)
    path = tmp_path / "cors.toml"
    path.write_text("max-age = 60\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="did you mean 'max_age'"):
        corsfast.watch(path, served.middleware)
    with pytest.raises(FileNotFoundError):
        corsfast.watch(tmp_path / "absent.toml", served.middleware)
    assert watch_threads() == []
    assert signal.getsignal(signal.SIGHUP) is before
    assert served.allows(A)


@pytest.mark.parametrize("middleware, interval, error", [
    (object(), 1.0, TypeError),
    ([], 1.0, TypeError),
    (PolicyOnly(), 0, ValueError),
    (PolicyOnly(), -1, ValueError),
    (PolicyOnly(), float("nan"), ValueError),
])
def test_bad_arguments_are_refused(cors_file: Path, middleware: Any, interval: float,
                                   error: type[Exception]) -> None:
    with pytest.raises(error):
        corsfast.watch(cors_file, middleware, interval=interval)
    assert watch_threads() == []
