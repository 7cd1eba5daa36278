"""Live policies and observability on corsfast.contrib.django through
Django's test clients, sync and async (docs/spec.md "Live policies (for
gateways)", "Observability"; docs/django.md "Live policies"): the process's
``live`` handle (``reconfigure``, ``set_shadow``, ``reset``, ``stats``),
``CORS_ON_REFUSAL``, ``CORS_DEBUG``, ``CORS_SHADOW`` and ``CORS_ON_SHADOW``,
and their system checks.

The handle is the process's, so counts are read as differences, and each
test that reconfigures puts the settings back (the ``settings_back``
fixture, or the end of an ``override_settings`` block, which does it too).
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import test_django as dj  # configures Django for this process
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.test import AsyncClient, Client, RequestFactory, override_settings

import corsfast
import corsfast.contrib.django._live as cdl
from corsfast import Policy, Router
from corsfast.contrib.django import DJANGO, CorsMiddleware, check_request_enabled, live
from corsfast.contrib.django.checks import check_settings

FOO, BAR = dj.FOO, dj.BAR
ROOT = Path(__file__).resolve().parent.parent
PB = Policy(allow_origins=[BAR], allow_methods=["GET", "PUT"], expose_headers=["x-two"])
EMPTY = {"preflight": {}, "actual": {}, "websocket": {}}

refusals: list[tuple[Any, dict[str, Any]]] = []  # CORS_ON_REFUSAL by dotted path
disagreements: list[dict[str, Any]] = []  # CORS_ON_SHADOW by dotted path


def record_refusal(decision: Any, info: dict[str, Any]) -> None:
    refusals.append((decision, info))


def record_shadow(info: dict[str, Any]) -> None:
    disagreements.append(info)


NOT_CALLABLE = 42


@pytest.fixture(autouse=True)
def settings_back() -> Iterator[None]:
    """Each test starts and ends with the settings in force and no record."""
    live.reset()
    refusals.clear()
    disagreements.clear()
    yield
    live.reset()


def get(origin: Any, path: str = "/api/items", client: Any = None) -> Any:
    headers = {} if origin is None else {"Origin": origin}
    return (client or dj.client()).get(path, headers=headers)


def preflight(origin: str, path: str = "/api/items", method: str = "PUT",
              headers: str = "") -> Any:
    asked = {"Access-Control-Request-Headers": headers} if headers else {}
    return dj.preflight(path, origin, method, **asked)


def acao(response: Any) -> Any:
    return response.headers.get("Access-Control-Allow-Origin")


def counted(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What ``stats()`` counted between two reads (kinds and reasons with a
    count), routes left out."""
    out: dict[str, Any] = {}
    for kind in ("preflight", "actual", "websocket"):
        grown = {reason: n - before[kind].get(reason, 0)
                 for reason, n in after[kind].items() if n != before[kind].get(reason, 0)}
        out[kind] = grown
    return out


# -- reconfigure ---------------------------------------------------------------------


@override_settings(CORS_ALLOWED_ORIGINS=[FOO])
def test_reconfigure_swaps_the_answer_for_every_request() -> None:
    assert live.from_settings and live.policy.allow_origins == (FOO,)
    assert acao(get(FOO)) == FOO and acao(get(BAR)) is None
    live.reconfigure(PB)
    assert live.policy is PB and not live.from_settings
    assert acao(get(FOO)) is None
    response = get(BAR)
    assert acao(response) == BAR and response["Access-Control-Expose-Headers"] == "x-two"
    allowed = preflight(BAR)
    # PB answers in corsfast's own dialect: 204, and 403 for a refusal.
    assert allowed.status_code == 204 and "PUT" in allowed["Access-Control-Allow-Methods"]
    assert preflight(FOO).status_code == 403
    # Back to the settings: their dialect again (a refused preflight is a 200).
    live.reset()
    assert live.from_settings and acao(get(FOO)) == FOO
    assert dj.refused(preflight(BAR))


@override_settings(CORS_ALLOWED_ORIGINS=[FOO], CORS_URLS_REGEX=r"^/other/")
def test_a_router_decides_which_paths_get_cors(receiver: Any) -> None:
    # Under the settings, CORS_URLS_REGEX and the receiver decide...
    assert get(BAR, "/api/enabled").content == b"True"  # the receiver enabled it
    live.reconfigure(Router({"/api": PB}))
    # ...after a reconfigure, the router alone.
    assert acao(get(BAR, "/api/items")) == BAR
    assert get(BAR, "/api/enabled").content == b"True"
    assert get(FOO, "/other/enabled").content == b"False"  # no route: CORS is off
    response = get(BAR, "/other")
    assert dj.cors_names(response) == set() and "Vary" not in response
    assert receiver.calls == 1  # asked under the settings only


@pytest.fixture
def receiver() -> Iterator[Any]:
    """A check_request_enabled receiver that accepts BAR, counting its calls."""
    def accept_bar(sender: Any, request: Any, **kwargs: Any) -> bool:
        accept_bar.calls += 1  # type: ignore[attr-defined]
        return request.headers.get("Origin") == BAR

    accept_bar.calls = 0  # type: ignore[attr-defined]
    check_request_enabled.connect(accept_bar)
    yield accept_bar
    check_request_enabled.disconnect(accept_bar)


def test_a_change_of_settings_puts_the_settings_back() -> None:
    with override_settings(CORS_ALLOWED_ORIGINS=[FOO]):
        live.reconfigure(PB, shadow=Policy(allow_origins=[FOO]))
        assert acao(get(BAR)) == BAR
        with override_settings(CORS_ALLOW_CREDENTIALS=True):
            assert live.from_settings and live.shadow is None
            response = get(FOO)
            assert acao(response) == FOO
            assert response["Access-Control-Allow-Credentials"] == "true"


@override_settings(CORS_ALLOWED_ORIGINS=[FOO])
def test_a_bad_argument_changes_nothing() -> None:
    live.reconfigure(PB)
    with pytest.raises(TypeError, match=r"corsfast\.Policy or corsfast\.Router, got dict"):
        live.reconfigure({"allow_origins": [FOO]})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"reset\(\) puts the settings back"):
        live.reconfigure(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="shadow"):
        live.reconfigure(PB, shadow="strict")
    with pytest.raises(TypeError, match="shadow"):
        live.set_shadow([FOO])  # type: ignore[arg-type]
    assert live.policy is PB and live.shadow is None
    assert acao(get(BAR)) == BAR and acao(get(FOO)) is None


@override_settings(CORS_ALLOWED_ORIGINS=[FOO])
def test_every_instance_in_the_process_reads_the_one_configuration() -> None:
    # Each test Client builds its own handler, and so its own CorsMiddleware;
    # a sync and an async instance are built here besides.
    first, second = Client(), Client()
    assert acao(get(FOO, client=first)) == FOO

    async def async_view(request: Any) -> HttpResponse:
        return HttpResponse("async")

    sync_mw = CorsMiddleware(lambda request: HttpResponse("sync"))
    async_mw = CorsMiddleware(async_view)
    assert async_mw.async_mode and not sync_mw.async_mode
    request = RequestFactory().get("/api/items", headers={"Origin": BAR})
    before = live.stats()
    live.reconfigure(PB)
    assert acao(get(BAR, client=first)) == BAR
    assert acao(get(BAR, client=second)) == BAR
    assert acao(get(BAR, client=Client())) == BAR  # a handler built after the swap
    assert acao(sync_mw(request)) == BAR
    assert acao(asyncio.run(asyncio.wait_for(async_mw(request), timeout=10))) == BAR

    async def through_async_client() -> Any:
        return await AsyncClient().get("/api/items", headers={"Origin": BAR})

    assert acao(asyncio.run(asyncio.wait_for(through_async_client(), timeout=10))) == BAR
    assert counted(before, live.stats())["actual"] == {"ALLOWED": 6}


# -- stats ----------------------------------------------------------------------------


@override_settings(CORS_ALLOWED_ORIGINS=[FOO])
def test_stats_count_each_decision_once() -> None:
    before = live.stats()
    assert set(before) == {"preflight", "actual", "websocket"}
    get(FOO)
    get(BAR)
    get(None)
    preflight(FOO)
    preflight(BAR)
    preflight(FOO, method="TRACE")
    after = live.stats()
    assert counted(before, after) == {
        "preflight": {"ALLOWED": 1, "ORIGIN_NOT_ALLOWED": 1, "METHOD_NOT_ALLOWED": 1},
        "actual": {"ALLOWED": 1, "ORIGIN_NOT_ALLOWED": 1, "NOT_CORS": 1},
        "websocket": {}}
    live.reconfigure(Router({"/api": PB}))
    middle = live.stats()
    assert middle["actual"] == after["actual"]  # kept across the reconfigure
    get(BAR)
    get(BAR, "/other")  # no route: not decided, not counted
    stats = live.stats()
    assert stats["actual"]["ALLOWED"] == after["actual"]["ALLOWED"] + 1
    # A route's counters are kept by prefix, for as long as the process runs.
    assert counted(middle["routes"]["/api"], stats["routes"]["/api"]) == {
        "preflight": {}, "actual": {"ALLOWED": 1}, "websocket": {}}
    live.reset()
    assert "routes" not in live.stats()
    assert live.stats()["actual"]["ALLOWED"] == stats["actual"]["ALLOWED"]  # never down


@override_settings(CORS_ALLOWED_ORIGINS=[FOO], CORS_URLS_REGEX=r"^/api/")
def test_stats_count_the_decision_that_stands(receiver: Any) -> None:
    before = live.stats()
    get(BAR)  # refused by the settings, accepted by the receiver: counted once, allowed
    get(BAR, "/other")  # left out, enabled by the receiver
    get(FOO, "/other")  # left out: not counted
    assert counted(before, live.stats())["actual"] == {"ALLOWED": 2}


def test_stats_feed_the_prometheus_collector() -> None:
    prometheus = pytest.importorskip("prometheus_client")
    from corsfast.contrib.prometheus import CORSCollector
    registry = prometheus.CollectorRegistry()
    with override_settings(CORS_ALLOWED_ORIGINS=[FOO]):
        registry.register(CORSCollector(live, name="django"))
        before = registry.get_sample_value("corsfast_decisions_total", {
            "middleware": "django", "kind": "actual", "reason": "ALLOWED", "route": ""}) or 0
        get(FOO)
        after = registry.get_sample_value("corsfast_decisions_total", {
            "middleware": "django", "kind": "actual", "reason": "ALLOWED", "route": ""})
    assert after == before + 1


# -- CORS_ON_REFUSAL, CORS_LOG_REFUSALS --------------------------------------------------


@override_settings(CORS_ALLOWED_ORIGINS=[FOO], CORS_ALLOW_HEADERS=["content-type"],
                   CORS_ON_REFUSAL="test_django_live.record_refusal", CORS_LOG_REFUSALS=True)
def test_on_refusal_gets_the_decision_and_escaped_values(
        caplog: pytest.LogCaptureFixture) -> None:
    get(FOO)
    preflight(FOO, headers="content-type")
    assert refusals == []
    with caplog.at_level(logging.INFO, logger="corsfast"):
        preflight(FOO, headers="x-token\x1b[31m")
        get("https://evil.example\x7f", "/api/items%7F")
    (first, info), (second, info2) = refusals
    assert first.preflight and not first.allowed and info["kind"] == "preflight"
    assert info["reason"] == first.reason.name == "MALFORMED_REQUEST"
    assert info["origin"] == FOO and info["method"] == "OPTIONS"
    assert second.reason.name == info2["reason"] == "MALFORMED_REQUEST"
    assert info2["kind"] == "actual" and info2["origin"] == "https://evil.example\\x7f"
    assert info2["path"] == "/api/items\\x7f"
    assert not any("\x7f" in str(v) or "\x1b" in str(v) for v in (*info.values(),
                                                                   *info2.values()))
    lines = [r.getMessage() for r in caplog.records if r.name == "corsfast"]
    assert len(lines) == 2 and not any("\x1b" in line or "\x7f" in line for line in lines)


@override_settings(CORS_ALLOWED_ORIGINS=[FOO], CORS_ALLOW_HEADERS=["content-type"],
                   CORS_ON_REFUSAL=record_refusal)
def test_the_fix_names_the_settings_then_the_policy_s_arguments() -> None:
    preflight(FOO, headers="x-token")
    live.reconfigure(Policy(allow_origins=[FOO], allow_methods=["PUT"],
                           allow_headers=["content-type"]))
    preflight(FOO, headers="x-token")
    (_, under_settings), (_, reconfigured) = refusals
    assert under_settings["reason"] == reconfigured["reason"] == "HEADERS_NOT_ALLOWED"
    assert "x-token" in under_settings["fix"] and "CORS_ALLOW_HEADERS" in under_settings["fix"]
    assert "allow_headers" in reconfigured["fix"] and "CORS_" not in reconfigured["fix"]


def test_a_hook_that_raises_is_logged_and_the_request_goes_on(
        caplog: pytest.LogCaptureFixture) -> None:
    def broken(decision: Any, info: dict[str, Any]) -> None:
        raise RuntimeError("hook failed")

    with override_settings(CORS_ALLOWED_ORIGINS=[FOO], CORS_ON_REFUSAL=broken):
        with caplog.at_level(logging.ERROR, logger="corsfast"):
            response = get(BAR)
    assert response.status_code == 200 and response.content == b"GET ok"
    assert any("on_refusal hook raised" in r.getMessage() for r in caplog.records)


@override_settings(CORS_ALLOWED_ORIGINS=[FOO], CORS_ON_REFUSAL=record_refusal)
def test_the_async_stack_reports_too() -> None:
    async def run() -> Any:
        return await AsyncClient().get("/api/items", headers={"Origin": BAR})

    response = asyncio.run(asyncio.wait_for(run(), timeout=10))
    assert acao(response) is None
    ((decision, info),) = refusals
    assert decision.reason.name == info["reason"] == "ORIGIN_NOT_ALLOWED"
    assert info["origin"] == BAR and info["path"] == "/api/items"


# -- CORS_DEBUG -----------------------------------------------------------------------


@override_settings(CORS_ALLOWED_ORIGINS=[FOO], CORS_ALLOW_HEADERS=["content-type"],
                   CORS_DEBUG=True)
def test_debug_names_the_fix_in_a_refused_preflight() -> None:
    cdl._warned.clear()
    with pytest.warns(UserWarning, match="CORS_DEBUG is on while DEBUG is off"):
        refused = preflight(FOO, headers="x-token")
    # django-cors-headers' 200, no access-control-* header, and the words.
    assert refused.status_code == 200 and dj.cors_names(refused) == set()
    assert refused["Content-Type"] == "text/plain; charset=utf-8"
    assert refused["Content-Length"] == str(len(refused.content))
    text = refused.content.decode("ascii")
    assert text.startswith("CORS preflight refused (HEADERS_NOT_ALLOWED)")
    assert "x-token" in text and "CORS_ALLOW_HEADERS" in text
    assert b"ORIGIN_NOT_ALLOWED" in preflight(BAR).content
    allowed = preflight(FOO, headers="content-type")
    assert allowed.content == b"" and acao(allowed) == FOO
    assert get(BAR).content == b"GET ok"  # actual requests: untouched
    assert live.debug is True
    # A reconfigured policy keeps CORS_DEBUG, in its own words and status.
    live.reconfigure(Policy(allow_origins=[FOO], allow_methods=["PUT"],
                           allow_headers=["content-type"]))
    refused = preflight(FOO, headers="x-token")
    assert refused.status_code == 403 and b"allow_headers" in refused.content


@override_settings(CORS_ALLOWED_ORIGINS=[FOO])
def test_without_debug_a_refused_preflight_is_empty() -> None:
    assert live.debug is False
    assert dj.refused(preflight(FOO, headers="x-token"))


@override_settings(CORS_ALLOWED_ORIGINS=[FOO], CORS_DEBUG=True)
def test_debug_in_the_async_stack() -> None:
    async def run() -> Any:
        return await AsyncClient().options("/api/items", headers={
            "Origin": BAR, "Access-Control-Request-Method": "PUT"})

    response = asyncio.run(asyncio.wait_for(run(), timeout=10))
    assert response.status_code == 200 and b"ORIGIN_NOT_ALLOWED" in response.content


# -- CORS_SHADOW, CORS_ON_SHADOW, set_shadow -------------------------------------------------


@override_settings(CORS_ALLOWED_ORIGINS=[FOO], CORS_ON_SHADOW="test_django_live.record_shadow",
                   CORS_SHADOW=Policy(allow_origins=[FOO], allow_methods=["GET"]))
def test_a_shadow_policy_reports_disagreements() -> None:
    assert live.shadow == Policy(allow_origins=[FOO], allow_methods=["GET"])
    get(FOO)
    get(BAR)
    assert disagreements == []
    response = preflight(FOO, "/api/items%0A")
    assert acao(response) == FOO  # the settings decide
    (info,) = disagreements
    assert info["reason"] == "ALLOWED" and info["shadow_reason"] == "METHOD_NOT_ALLOWED"
    assert info["kind"] == "preflight" and info["origin"] == FOO
    assert info["path"] == "/api/items\\x0a"
    live.reconfigure(Policy(allow_origins=[FOO], allow_methods=["PUT"]))  # the shadow stays
    preflight(FOO)
    assert len(disagreements) == 2
    live.reconfigure(live.policy, shadow=None)
    preflight(FOO)
    assert len(disagreements) == 2 and live.shadow is None


@override_settings(CORS_ALLOWED_ORIGINS=[FOO, BAR], CORS_ON_SHADOW=record_shadow,
                   CORS_SHADOW={"CORS_ALLOWED_ORIGINS": [FOO]})
def test_a_shadow_dict_is_the_settings_with_its_values_in_place() -> None:
    shadow = live.shadow
    assert isinstance(shadow, Policy) and shadow.allow_origins == (FOO,)
    assert shadow.dialect is DJANGO  # the settings' dialect: no spurious disagreement
    assert shadow.allow_methods == live.policy.allow_methods  # the rest from the settings
    get(FOO)
    get("HTTPS://FOO.EXAMPLE")  # not an origin to corsfast; just a refused one to both
    assert disagreements == []
    assert acao(get(BAR)) == BAR
    (info,) = disagreements
    assert info["reason"] == "ALLOWED" and info["shadow_reason"] == "ORIGIN_NOT_ALLOWED"
    # The same policy in corsfast's dialect also disagrees on that Origin.
    live.set_shadow(Policy(allow_origins=[FOO]))
    get("HTTPS://FOO.EXAMPLE")
    assert disagreements[1]["reason"] == "ORIGIN_NOT_ALLOWED"
    assert disagreements[1]["shadow_reason"] == "MALFORMED_REQUEST"


@override_settings(CORS_ORIGIN_WHITELIST=[FOO, BAR],
                   CORS_SHADOW={"CORS_ALLOWED_ORIGINS": [FOO]})
def test_a_shadow_dict_may_use_the_other_spelling_of_a_setting() -> None:
    assert live.shadow.allow_origins == (FOO,)  # type: ignore[union-attr]
    with override_settings(CORS_SHADOW={"CORS_ORIGIN_WHITELIST": [BAR]}):
        assert live.shadow.allow_origins == (BAR,)  # type: ignore[union-attr]


@override_settings(CORS_ALLOWED_ORIGINS=[FOO], CORS_ON_SHADOW=record_shadow)
def test_set_shadow_keeps_what_is_enforced() -> None:
    live.set_shadow(Router({"/api": Policy(allow_origins=[BAR])}))
    assert live.from_settings  # the settings stay in force
    assert acao(get(FOO)) == FOO
    (info,) = disagreements
    assert info["shadow_reason"] == "ORIGIN_NOT_ALLOWED"
    get(FOO, "/other")  # no route in the shadow: NO_POLICY
    assert disagreements[1]["shadow_reason"] == "NO_POLICY"
    live.set_shadow(None)
    get(FOO)
    assert len(disagreements) == 2


# -- threads --------------------------------------------------------------------------


V1 = Policy(allow_origins=[FOO], expose_headers=["x-one"], allow_credentials=True,
            allow_methods=["GET", "PUT"], max_age=100)
V2 = Policy(allow_origins=[FOO, BAR], expose_headers=["x-two"], allow_methods=["GET", "PATCH"],
            max_age=200)
ACTUAL = {V1: (FOO, "x-one", "true"), V2: (FOO, "x-two", None)}
PREFLIGHT = {V1: ("GET, PUT", "100", "true"), V2: ("GET, PATCH", "200", None)}


@override_settings(CORS_ALLOWED_ORIGINS=[FOO])
def test_threads_see_one_version_whole_while_another_reconfigures() -> None:
    stop = threading.Event()
    seen: list[tuple[Any, ...]] = []
    failures: list[BaseException] = []

    def hammer() -> None:
        client = Client()  # one handler, one CorsMiddleware, per thread
        try:
            while not stop.is_set():
                actual = client.get("/api/items", headers={"Origin": FOO})
                pf = client.options("/api/items", headers={
                    "Origin": FOO, "Access-Control-Request-Method": "GET"})
                seen.append(("actual", acao(actual), actual.get("Access-Control-Expose-Headers"),
                             actual.get("Access-Control-Allow-Credentials")))
                seen.append(("preflight", pf.get("Access-Control-Allow-Methods"),
                             pf.get("Access-Control-Max-Age"),
                             pf.get("Access-Control-Allow-Credentials")))
        except BaseException as exc:  # reported below
            failures.append(exc)

    live.reconfigure(V1)
    before = live.stats()
    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for thread in threads:
        thread.start()
    swaps = 0
    deadline = time.monotonic() + 20
    while (swaps < 200 or len(seen) < 400) and time.monotonic() < deadline:
        live.reconfigure(V2 if swaps % 2 else V1)
        swaps += 1
        time.sleep(0.0002 * (swaps % 7))  # let requests start at varied moments
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert not failures, failures
    whole = {("actual", *a) for a in ACTUAL.values()} | {("preflight", *p)
                                                         for p in PREFLIGHT.values()}
    assert set(seen) <= whole  # never a mix of the two versions
    assert {s[1] for s in seen if s[0] == "actual"} == {FOO}
    assert {s[2] for s in seen if s[0] == "actual"} == {"x-one", "x-two"}  # both served
    total = sum(sum(kind.values()) for kind in counted(before, live.stats()).values())
    # One entry of seen per request (list.append takes the GIL's word for it);
    # a counter's increment may be lost under threads, none is invented.
    assert 0 < total <= len(seen)


# -- watch and audit --------------------------------------------------------------------


@override_settings(CORS_ALLOWED_ORIGINS=[FOO])
def test_watch_puts_a_policy_file_in_force(tmp_path: Path) -> None:
    path = tmp_path / "cors.toml"
    path.write_text(f'allow_origins = ["{BAR}"]\n', encoding="utf-8")
    with corsfast.watch(path, live, interval=60, sighup=False) as handle:
        assert live.policy == Policy(allow_origins=[BAR])
        assert acao(get(BAR)) == BAR and acao(get(FOO)) is None
        path.write_text("allow_origins = [", encoding="utf-8")  # broken
        assert handle.reload() is False
        assert acao(get(BAR)) == BAR


SETTINGS_MODULE = '''
SECRET_KEY = "x"
CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
CORS_DEBUG = DEBUG = {debug}
'''


@pytest.mark.parametrize("debug", [False, True])
def test_audit_reads_the_handle(tmp_path: Path, debug: bool) -> None:
    (tmp_path / "site_settings.py").write_text(SETTINGS_MODULE.format(debug=debug))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)]),
           "DJANGO_SETTINGS_MODULE": "site_settings"}
    result = subprocess.run(
        [sys.executable, "-m", "corsfast", "audit", "--app", "corsfast.contrib.django:live",
         "--fail-on", "medium"], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == (1 if debug else 0), result.stdout + result.stderr
    assert ("debug=True" in result.stdout) is debug


# -- system checks for the new settings ---------------------------------------------------


def messages_for(**overrides: Any) -> list[checks.CheckMessage]:
    with override_settings(**overrides):
        return check_settings()


@pytest.mark.parametrize("overrides, check_id, words", [
    ({"CORS_ON_REFUSAL": NOT_CALLABLE}, "corsfast.E102",
     "CORS_ON_REFUSAL should be a callable (decision, info) or the dotted path to one; got 42"),
    ({"CORS_ON_REFUSAL": "test_django_live.NOT_CALLABLE"}, "corsfast.E102",
     "CORS_ON_REFUSAL should be a callable (decision, info) or the dotted path to one; "
     "'test_django_live.NOT_CALLABLE' names 42"),
    ({"CORS_ON_REFUSAL": "test_django_live.nothing_here"}, "corsfast.E102",
     "CORS_ON_REFUSAL 'test_django_live.nothing_here' does not import ("),
    ({"CORS_ON_REFUSAL": "no_such_module.hook"}, "corsfast.E102", "No module named"),
    ({"CORS_DEBUG": "yes"}, "corsfast.E103", "CORS_DEBUG should be True or False, got 'yes'"),
    ({"CORS_SHADOW": ["https://foo.example"]}, "corsfast.E104",
     "CORS_SHADOW should be a corsfast Policy or Router, or a dict of CORS_* settings"),
    ({"CORS_SHADOW": {"CORS_ALLOWED_ORIGIN": [FOO]}}, "corsfast.E104",
     "CORS_SHADOW: 'CORS_ALLOWED_ORIGIN' is not a setting a shadow takes; "
     "did you mean CORS_ALLOWED_ORIGINS?"),
    ({"CORS_SHADOW": {"CORS_URLS_REGEX": "^/api/"}}, "corsfast.E104",
     "'CORS_URLS_REGEX' is not a setting a shadow takes"),
    ({"CORS_SHADOW": {"CORS_ALLOWED_ORIGINS": FOO}}, "corsfast.E104",
     "CORS_SHADOW: CORS_ALLOWED_ORIGINS should be a sequence of strings"),
    ({"CORS_SHADOW": {"CORS_ALLOWED_ORIGINS": [FOO + "/"]}}, "corsfast.E104",
     "CORS_SHADOW: Origin 'https://foo.example/' in CORS_ALLOWED_ORIGINS: drop the "
     "trailing slash"),
    ({"CORS_SHADOW": {"CORS_ALLOW_HEADERS": ["cookie"]}}, "corsfast.E104",
     "CORS_SHADOW: CORS_ALLOW_HEADERS"),
    ({"CORS_SHADOW": {"CORS_ALLOWED_ORIGINS": [FOO], "CORS_ORIGIN_WHITELIST": [BAR]}},
     "corsfast.E104", "gives both CORS_ALLOWED_ORIGINS and its old name CORS_ORIGIN_WHITELIST"),
    ({"CORS_ON_SHADOW": "test_django_live.record_refusal.nope"}, "corsfast.E105",
     "CORS_ON_SHADOW 'test_django_live.record_refusal.nope' does not import"),
    ({"CORS_ON_SHADOW": object()}, "corsfast.E105", "should be a callable (info)"),
])
def test_bad_new_settings_are_errors_of_their_own(overrides: dict[str, Any], check_id: str,
                                                  words: str) -> None:
    (message,) = messages_for(CORS_ALLOWED_ORIGINS=[FOO], **overrides)
    assert isinstance(message, checks.Error)
    assert message.id == check_id
    assert words in message.msg
    # The middleware refuses to start on the same words.
    with override_settings(CORS_ALLOWED_ORIGINS=[FOO], **overrides):
        with pytest.raises(ImproperlyConfigured, match="invalid CORS settings") as raised:
            CorsMiddleware(lambda request: HttpResponse())
    assert message.msg in str(raised.value)


def test_good_new_settings_give_no_message() -> None:
    assert messages_for(
        CORS_ALLOWED_ORIGINS=[FOO], CORS_ON_REFUSAL="test_django_live.record_refusal",
        CORS_ON_SHADOW=record_shadow, CORS_LOG_REFUSALS=True,
        CORS_SHADOW={"CORS_ALLOWED_ORIGINS": [FOO], "CORS_ALLOW_METHODS": ["GET"]}) == []
    assert messages_for(CORS_ALLOWED_ORIGINS=[FOO], CORS_DEBUG=True, DEBUG=True) == []
    assert messages_for(CORS_SHADOW=Router({"/api": PB}), CORS_ALLOWED_ORIGINS=[FOO]) == []


def test_debug_outside_development_warns() -> None:
    (message,) = messages_for(CORS_ALLOWED_ORIGINS=[FOO], CORS_DEBUG=True, DEBUG=False)
    assert isinstance(message, checks.Warning) and not isinstance(message, checks.Error)
    assert message.id == "corsfast.W004"
    assert message.msg.startswith("CORS_DEBUG is on while DEBUG is off")


def test_a_shadow_dict_repeats_no_warning_of_the_settings() -> None:
    # The settings' own W002 is reported once, not again for the shadow.
    found = messages_for(CORS_ALLOWED_ORIGINS=["https://*.foo.example", FOO],
                         CORS_SHADOW={"CORS_ALLOW_METHODS": ["GET"]})
    assert [m.id for m in found] == ["corsfast.W002"]
    found = messages_for(CORS_ALLOWED_ORIGINS=[FOO],
                         CORS_SHADOW={"CORS_ALLOWED_ORIGINS": ["https://*.bar.example"]})
    assert [m.id for m in found] == ["corsfast.W002"]
    assert found[0].msg.startswith("CORS_SHADOW: CORS_ALLOWED_ORIGINS entry")


def test_a_shadow_dict_is_not_read_while_the_settings_are_wrong() -> None:
    found = messages_for(CORS_ALLOWED_ORIGINS=FOO,
                         CORS_SHADOW={"CORS_ALLOW_METHODS": ["GET"]})
    assert [m.id for m in found] == ["corsfast.E006"]
