"""corsfast.contrib.prometheus with the real prometheus_client: a registry
is scraped as Prometheus would (generate_latest) and the text is parsed
back, so every test reads what a Prometheus server would store."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import corsfast
from corsfast import Policy, Router
from corsfast.asgi import CORSMiddleware as ASGIMiddleware
from corsfast.contrib.prometheus import CORSCollector
from corsfast.wsgi import CORSMiddleware as WSGIMiddleware

ROOT = Path(__file__).resolve().parent.parent
A = "https://a.example.com"
EVIL = "https://a.example.com.evil.test"


def scrape(registry: CollectorRegistry) -> tuple[str, dict[tuple[str, tuple[Any, ...]], float]]:
    """The exposition text, and each sample as (name, sorted labels) -> value."""
    text = generate_latest(registry).decode("utf-8")
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return text, found


def decisions(middleware: str, kind: str, reason: str, route: str = ""
              ) -> tuple[str, tuple[Any, ...]]:
    labels = {"middleware": middleware, "kind": kind, "reason": reason, "route": route}
    return "corsfast_decisions_total", tuple(sorted(labels.items()))


class Counted:
    """Anything with stats(): these counts are fixed, so the translation is
    checked sample by sample."""

    def __init__(self, stats: dict[str, Any]) -> None:
        self._stats = stats

    def stats(self) -> dict[str, Any]:
        return self._stats


# -- the translation ----------------------------------------------------------------


def test_each_count_is_one_sample_and_the_text_is_a_counter() -> None:
    registry = CollectorRegistry()
    registry.register(CORSCollector(Counted({
        "preflight": {"ALLOWED": 3, "HEADERS_NOT_ALLOWED": 2},
        "actual": {"NOT_CORS": 7, "ORIGIN_NOT_ALLOWED": 1},
        "websocket": {},
    }), name="api"))
    text, found = scrape(registry)
    assert "# TYPE corsfast_decisions_total counter" in text
    assert found == {
        decisions("api", "preflight", "ALLOWED"): 3.0,
        decisions("api", "preflight", "HEADERS_NOT_ALLOWED"): 2.0,
        decisions("api", "actual", "NOT_CORS"): 7.0,
        decisions("api", "actual", "ORIGIN_NOT_ALLOWED"): 1.0,
    }


def test_a_router_is_counted_per_route_once() -> None:
    registry = CollectorRegistry()
    registry.register(CORSCollector(Counted({
        "preflight": {"ALLOWED": 5}, "actual": {"ALLOWED": 4}, "websocket": {},
        "routes": {
            "/api": {"preflight": {"ALLOWED": 5}, "actual": {"ALLOWED": 1}, "websocket": {}},
            "/": {"preflight": {}, "actual": {"ALLOWED": 3}, "websocket": {}},
        },
    })))
    _, found = scrape(registry)
    assert found == {
        decisions("default", "preflight", "ALLOWED", "/api"): 5.0,
        decisions("default", "actual", "ALLOWED", "/api"): 1.0,
        decisions("default", "actual", "ALLOWED", "/"): 3.0,
    }


def test_decisions_no_route_in_force_accounts_for_go_to_route_empty() -> None:
    # 4 preflights were decided before this router was put in force.
    registry = CollectorRegistry()
    registry.register(CORSCollector(Counted({
        "preflight": {"ALLOWED": 6, "METHOD_NOT_ALLOWED": 1}, "actual": {}, "websocket": {},
        "routes": {"/api": {"preflight": {"ALLOWED": 3}, "actual": {}, "websocket": {}}},
    })))
    _, found = scrape(registry)
    assert found == {
        decisions("default", "preflight", "ALLOWED", "/api"): 3.0,
        decisions("default", "preflight", "ALLOWED"): 3.0,
        decisions("default", "preflight", "METHOD_NOT_ALLOWED"): 1.0,
    }
    assert sum(found.values()) == 7  # the total, each decision once


def test_one_collector_serves_several_middleware() -> None:
    registry = CollectorRegistry()
    registry.register(CORSCollector({
        "api": Counted({"actual": {"ALLOWED": 1}}),
        "admin": Counted({"websocket": {"ORIGIN_NOT_ALLOWED": 2}}),
    }))
    _, found = scrape(registry)
    assert found == {decisions("api", "actual", "ALLOWED"): 1.0,
                     decisions("admin", "websocket", "ORIGIN_NOT_ALLOWED"): 2.0}
    with pytest.raises(ValueError, match="Duplicated"):
        # a registry refuses a second collector of the same name: hence the mapping
        registry.register(CORSCollector(Counted({})))


def test_something_without_stats_is_refused() -> None:
    with pytest.raises(TypeError, match="no stats"):
        CORSCollector(object())


def test_without_prometheus_client_the_error_names_the_extra() -> None:
    code = ("import sys\n"
            "for name in ('prometheus_client', 'prometheus_client.core'):\n"
            "    sys.modules[name] = None\n"
            "from corsfast.contrib.prometheus import CORSCollector\n"
            "try:\n"
            "    CORSCollector(None)\n"
            "except ImportError as exc:\n"
            "    print(exc)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("corsfast.contrib.prometheus needs the prometheus_client "
                             "package: pip install 'corsfast[prometheus]'\n")


# -- real middleware -------------------------------------------------------------------


def wsgi_request(app: Any, origin: str, path: str = "/") -> None:
    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        return lambda data: None

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "HTTP_ORIGIN": origin,
               "wsgi.url_scheme": "https", "SERVER_NAME": "t", "SERVER_PORT": "443"}
    b"".join(app(environ, start_response))


def asgi_request(app: Any, origin: str, method: str = "GET", path: str = "/",
                 headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "https", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "server": ("t", 443),
             "headers": [(b"origin", origin.encode()), *headers]}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        pass

    asyncio.run(app(scope, receive, send))


def wsgi_app(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [])
    return [b""]


async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def test_real_middleware_counts_reach_the_scrape() -> None:
    wsgi = WSGIMiddleware(wsgi_app, Policy(allow_origins=[A]))
    asgi = ASGIMiddleware(asgi_app, Router({"/api": Policy(allow_origins=[A])}))
    registry = CollectorRegistry()
    registry.register(CORSCollector({"web": wsgi, "api": asgi}))
    for _ in range(3):
        wsgi_request(wsgi, A)
    wsgi_request(wsgi, EVIL)
    asgi_request(asgi, A, path="/api/items")
    asgi_request(asgi, A, "OPTIONS", "/api/items",
                 ((b"access-control-request-method", b"PUT"),))
    text, found = scrape(registry)
    assert found == {
        decisions("web", "actual", "ALLOWED"): 3.0,
        decisions("web", "actual", "ORIGIN_NOT_ALLOWED"): 1.0,
        decisions("api", "actual", "ALLOWED", "/api"): 1.0,
        decisions("api", "preflight", "METHOD_NOT_ALLOWED", "/api"): 1.0,
    }
    assert "evil" not in text  # an origin is never a label


def test_a_watch_exports_its_loads(tmp_path: Path) -> None:
    path = tmp_path / "cors.toml"
    path.write_text(f'allow_origins = ["{A}"]\n', encoding="utf-8")
    app = WSGIMiddleware(wsgi_app, Policy(allow_origins=[A]))
    with corsfast.watch(path, app, interval=3600, sighup=False) as handle:
        registry = CollectorRegistry()
        registry.register(CORSCollector(app, name="web", watch=handle))
        path.write_text("allow_origins = 1\n", encoding="utf-8")
        assert handle.reload() is False
        _, found = scrape(registry)
    file_labels = (("file", str(path)),)
    assert found[("corsfast_policy_file_loads_total",
                  (*file_labels, ("result", "in_force")))] == 1.0
    assert found[("corsfast_policy_file_loads_total",
                  (*file_labels, ("result", "refused")))] == 1.0


def test_the_series_add_up_across_a_switch_to_a_router() -> None:
    wsgi = WSGIMiddleware(wsgi_app, Policy(allow_origins=[A]))
    registry = CollectorRegistry()
    registry.register(CORSCollector(wsgi, name="web"))
    wsgi_request(wsgi, A)
    wsgi_request(wsgi, A)
    wsgi.reconfigure(Router({"/api": Policy(allow_origins=[A])}))
    wsgi_request(wsgi, A, "/api/items")
    _, found = scrape(registry)
    assert found == {decisions("web", "actual", "ALLOWED"): 2.0,
                     decisions("web", "actual", "ALLOWED", "/api"): 1.0}
