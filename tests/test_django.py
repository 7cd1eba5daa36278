"""corsfast.contrib.django through Django's own test clients (sync and async).

Django is configured here, in-process, with this module as its URLconf;
each test sets the CORS_* settings it needs with ``override_settings``.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import django
import pytest
from asgiref.sync import iscoroutinefunction
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="corsfast-tests",
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=["corsfast.contrib.django.CorsMiddleware",
                    "django.middleware.common.CommonMiddleware"],
        INSTALLED_APPS=[],
        USE_TZ=True,
        LOGGING_CONFIG=None,
    )
    django.setup()

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.test import AsyncClient, Client, override_settings
from django.urls import path
from header_cases import WRITE_OVER_CASES

import corsfast.contrib.django as cd
import corsfast.contrib.django._live as cdl
from corsfast import PolicyWarning
from corsfast.contrib.django import CorsMiddleware

FOO = "https://foo.example"
BAR = "https://bar.example"


def view(request: Any) -> HttpResponse:
    return HttpResponse(f"{request.method} ok")


def view_with_headers(request: Any) -> HttpResponse:
    response = HttpResponse("own headers")
    response["Vary"] = "Accept-Encoding"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def boom(request: Any) -> HttpResponse:
    raise RuntimeError("boom")


def enabled_view(request: Any) -> HttpResponse:
    return HttpResponse(repr(getattr(request, "_cors_enabled", "unset")))


urlpatterns = [
    path("api/items", view),
    path("apix", view),
    path("api/own", view_with_headers),
    path("api/boom", boom),
    path("other", view),
    path("api/enabled", enabled_view),
    path("other/enabled", enabled_view),
]


def client() -> Client:
    return Client(raise_request_exception=False)


def preflight(path_: str, origin: str = FOO, method: str = "PUT", **extra: str) -> Any:
    return client().options(path_, headers={"Origin": origin,
                                            "Access-Control-Request-Method": method,
                                            **extra})


def cors_names(response: Any) -> set[str]:
    return {k.lower() for k in response.headers if k.lower().startswith("access-control-")}


def refused(response: Any) -> bool:
    """A refused preflight as django-cors-headers answers it: 200, an empty
    body and no access-control-* header (the browser refuses it)."""
    return (response.status_code == 200 and response.content == b""
            and cors_names(response) == set())


# -- defaults ---------------------------------------------------------------------


@override_settings(CORS_ALLOWED_ORIGINS=[FOO])
def test_defaults_match_django_cors_headers() -> None:
    resp = preflight("/api/items",
                     **{"Access-Control-Request-Headers": "Authorization, X-CSRFToken"})
    assert resp.status_code == 200
    assert resp.content == b""
    assert resp["Access-Control-Allow-Origin"] == FOO
    assert resp["Access-Control-Allow-Methods"] == "DELETE, GET, OPTIONS, PATCH, POST, PUT"
    assert resp["Access-Control-Allow-Headers"] == (
        "accept, authorization, content-type, user-agent, x-csrftoken, x-requested-with")
    assert resp["Access-Control-Max-Age"] == "86400"
    assert "Access-Control-Allow-Credentials" not in resp
    actual = client().get("/api/items", headers={"Origin": FOO})
    assert actual.status_code == 200 and actual.content == b"GET ok"
    assert actual["Access-Control-Allow-Origin"] == FOO
    assert actual["Vary"] == "origin"
    assert "Access-Control-Allow-Methods" not in actual


def test_nothing_is_allowed_without_settings() -> None:
    with pytest.warns(PolicyWarning, match="the policy allows no origin at all"):
        resp = client().get("/api/items", headers={"Origin": FOO})
        assert refused(preflight("/api/items"))
    assert resp.status_code == 200 and cors_names(resp) == set()
    assert resp["Vary"] == "origin"


@override_settings(CORS_ALLOWED_ORIGINS=[FOO], CORS_ALLOW_CREDENTIALS=True,
                   CORS_EXPOSE_HEADERS=["X-Total"], CORS_PREFLIGHT_MAX_AGE=0,
                   CORS_ALLOW_METHODS=["GET", "PUT"], CORS_ALLOW_HEADERS=["x-token"],
                   CORS_ALLOW_PRIVATE_NETWORK=True)
def test_every_setting_is_read() -> None:
    resp = preflight("/api/items", **{"Access-Control-Request-Headers": "X-Token",
                                      "Access-Control-Request-Private-Network": "true"})
    assert resp.status_code == 200
    assert resp["Access-Control-Allow-Credentials"] == "true"
    assert resp["Access-Control-Allow-Methods"] == "GET, PUT"
    assert resp["Access-Control-Allow-Headers"] == "x-token"
    assert resp["Access-Control-Allow-Private-Network"] == "true"
    assert "Access-Control-Max-Age" not in resp  # 0 omits it
    assert refused(preflight("/api/items", method="DELETE"))
    actual = client().get("/api/items", headers={"Origin": FOO})
    assert actual["Access-Control-Expose-Headers"] == "x-total"
    assert actual["Access-Control-Allow-Credentials"] == "true"


@override_settings(CORS_ALLOW_ALL_ORIGINS=True)
def test_allow_all_origins_is_a_static_star() -> None:
    resp = client().get("/api/items", headers={"Origin": BAR})
    assert resp["Access-Control-Allow-Origin"] == "*"
    assert preflight("/api/items", BAR)["Access-Control-Allow-Origin"] == "*"


@override_settings(CORS_ORIGIN_ALLOW_ALL=True, CORS_ALLOW_CREDENTIALS=True)
def test_allow_all_with_credentials_reflects_and_warns(recwarn: Any) -> None:
    cdl._warned.clear()
    cd.live.reset()
    resp = client().get("/api/items", headers={"Origin": BAR})
    assert resp["Access-Control-Allow-Origin"] == BAR
    assert resp["Access-Control-Allow-Credentials"] == "true"
    assert any("reflects every origin" in str(w.message) for w in recwarn)


@override_settings(CORS_ALLOWED_ORIGINS=["https://*.foo.example", "http://localhost:*",
                                         "*", FOO])
def test_pattern_like_entries_match_nothing_as_there_and_warn() -> None:
    # django-cors-headers compares entries as written: switching must not widen.
    cdl._warned.clear()
    with pytest.warns(PolicyWarning) as caught:
        assert "Access-Control-Allow-Origin" not in client().get(
            "/api/items", headers={"Origin": "https://app.foo.example"})
    named = "\n".join(str(w.message) for w in caught)
    for entry in ("'https://*.foo.example'", "'http://localhost:*'", "'*'"):
        assert f"CORS_ALLOWED_ORIGINS entry {entry} matches no origin" in named
    assert "CORS_ALLOWED_ORIGIN_REGEXES" in named
    for origin in ("http://localhost:8000", "https://bar.example", "*"):
        assert "Access-Control-Allow-Origin" not in client().get(
            "/api/items", headers={"Origin": origin})
        assert refused(preflight("/api/items", origin))
    assert client().get("/api/items", headers={"Origin": FOO})[
        "Access-Control-Allow-Origin"] == FOO


@override_settings(CORS_ALLOWED_ORIGIN_REGEXES=[
    r"(?i)^https://app\.foo\.example$",
    re.compile(r"(?x) ^https://b \. foo \. example$"),
    r"(?x) ^https://c \. foo \. example$"])
def test_regexes_with_inline_flags_work() -> None:
    for origin in ("https://app.foo.example", "https://b.foo.example",
                   "https://c.foo.example"):
        resp = client().get("/api/items", headers={"Origin": origin})
        assert resp["Access-Control-Allow-Origin"] == origin
    # Still full matches: a regex accepting a prefix accepts no more.
    assert "Access-Control-Allow-Origin" not in client().get(
        "/api/items", headers={"Origin": "https://c.foo.example.evil.test"})


@override_settings(CORS_ORIGIN_WHITELIST=[FOO], CORS_ORIGIN_REGEX_WHITELIST=[r"^https://\w+\.bar\.example$"])
def test_old_setting_names_still_work() -> None:
    assert client().get("/api/items", headers={"Origin": FOO})["Access-Control-Allow-Origin"] == FOO
    assert client().get("/api/items", headers={"Origin": "https://a.bar.example"})[
        "Access-Control-Allow-Origin"] == "https://a.bar.example"


# -- strict matching ------------------------------------------------------------------


@override_settings(CORS_ALLOWED_ORIGIN_REGEXES=[r"https://\w+\.foo\.example",
                                                re.compile(r"HTTPS://CAPS\.EXAMPLE", re.I)])
def test_origin_regexes_must_match_the_whole_origin() -> None:
    ok = client().get("/api/items", headers={"Origin": "https://a.foo.example"})
    assert ok["Access-Control-Allow-Origin"] == "https://a.foo.example"
    assert client().get("/api/items", headers={"Origin": "https://caps.example"})[
        "Access-Control-Allow-Origin"] == "https://caps.example"
    # re.match (django-cors-headers) accepts this: the regex matches its start.
    evil = client().get("/api/items", headers={"Origin": "https://a.foo.example.evil.net"})
    assert cors_names(evil) == set()


@override_settings(CORS_ALLOWED_ORIGINS=[FOO], CORS_URLS_REGEX=r"^/api")
def test_urls_regex_ends_on_a_segment_boundary() -> None:
    assert client().get("/api/items", headers={"Origin": FOO})["Access-Control-Allow-Origin"] == FOO
    apix = client().get("/apix", headers={"Origin": FOO})
    assert cors_names(apix) == set() and "Vary" not in apix
    other_pf = preflight("/other")
    assert other_pf.status_code == 200 and other_pf.content == b"OPTIONS ok"
    assert cors_names(other_pf) == set()


# -- responses ---------------------------------------------------------------------


@override_settings(CORS_ALLOWED_ORIGINS=[FOO])
def test_app_cors_headers_are_replaced_and_vary_merged() -> None:
    resp = client().get("/api/own", headers={"Origin": FOO})
    assert resp["Access-Control-Allow-Origin"] == FOO
    assert resp["Vary"] == "Accept-Encoding, origin"
    refused = client().get("/api/own", headers={"Origin": BAR})
    assert cors_names(refused) == set()


@override_settings(CORS_ALLOWED_ORIGINS=[FOO])
def test_errors_and_404s_keep_cors_headers() -> None:
    resp = client().get("/api/boom", headers={"Origin": FOO})
    assert resp.status_code == 500
    assert resp["Access-Control-Allow-Origin"] == FOO
    missing = client().get("/api/nothing-here", headers={"Origin": FOO})
    assert missing.status_code == 404
    assert missing["Access-Control-Allow-Origin"] == FOO


@override_settings(CORS_ALLOWED_ORIGINS=[FOO])
@pytest.mark.parametrize("origin", ["", f"{FOO}, {FOO}", "https://fóo.example",
                                    "https://" + "a" * 3000, FOO + "\t"])
def test_malformed_origins_run_the_app_and_refuse_preflights(origin: str) -> None:
    resp = client().get("/api/items", headers={"Origin": origin})
    assert resp.status_code == 200 and resp.content == b"GET ok"
    assert cors_names(resp) == set()
    assert refused(preflight("/api/items", origin))


@override_settings(CORS_ALLOWED_ORIGINS=[FOO])
def test_async_client() -> None:
    async def run() -> tuple[Any, Any]:
        c = AsyncClient()
        actual = await c.get("/api/items", headers={"Origin": FOO})
        pf = await c.options("/api/items", headers={"Origin": FOO,
                                                    "Access-Control-Request-Method": "PUT"})
        return actual, pf

    actual, pf = asyncio.run(asyncio.wait_for(run(), timeout=10))
    assert actual.status_code == 200 and actual["Access-Control-Allow-Origin"] == FOO
    assert pf.status_code == 200 and pf["Access-Control-Allow-Methods"].startswith("DELETE")


def test_async_middleware_mode() -> None:
    async def get_response(request: Any) -> HttpResponse:
        return HttpResponse("async view")

    from django.test import RequestFactory
    with override_settings(CORS_ALLOWED_ORIGINS=[FOO]):
        mw = CorsMiddleware(get_response)
        assert iscoroutinefunction(mw) or mw.async_mode  # Django's own test
        request = RequestFactory().get("/api/items", headers={"Origin": FOO})
        response = asyncio.run(asyncio.wait_for(mw(request), timeout=10))
    assert response["Access-Control-Allow-Origin"] == FOO


# -- bad settings -------------------------------------------------------------------------


@pytest.mark.parametrize("overrides, match", [
    ({"CORS_ALLOWED_ORIGINS": ["https://foo.example/"]},
     r"Origin 'https://foo.example/' in CORS_ALLOWED_ORIGINS: .*trailing slash"),
    ({"CORS_ALLOWED_ORIGINS": "https://foo.example"}, "CORS_ALLOWED_ORIGINS should be a sequence"),
    ({"CORS_ALLOW_CREDENTIALS": "yes"}, "CORS_ALLOW_CREDENTIALS should be True or False"),
    ({"CORS_PREFLIGHT_MAX_AGE": -1}, "CORS_PREFLIGHT_MAX_AGE"),
    ({"CORS_ALLOW_METHODS": ["GET", "TRACE"]}, r"CORS_ALLOW_METHODS\[1\]"),
    ({"CORS_ALLOW_HEADERS": ["cookie"]}, "CORS_ALLOW_HEADERS.*forbidden"),
    ({"CORS_ALLOWED_ORIGIN_REGEXES": ["(unclosed"]}, "CORS_ALLOWED_ORIGIN_REGEXES"),
    ({"CORS_URLS_REGEX": 5}, "CORS_URLS_REGEX"),
])
def test_bad_settings_are_improperly_configured(overrides: dict[str, Any], match: str) -> None:
    with override_settings(**overrides):
        with pytest.raises(ImproperlyConfigured, match=match):
            CorsMiddleware(lambda request: HttpResponse())


@override_settings(CORS_PREFLIGHT_MAX_AGE=7 * 86400, CORS_ALLOWED_ORIGINS=[FOO, "null", "file://"])
def test_large_max_age_is_capped_and_special_origins_work() -> None:
    assert preflight("/api/items")["Access-Control-Max-Age"] == "86400"
    for origin in ("null", "file://"):
        assert client().get("/api/items", headers={"Origin": origin})[
            "Access-Control-Allow-Origin"] == origin


# -- writing over the view's headers, through Django's API ----------------------------


@pytest.mark.parametrize("existing,expected", WRITE_OVER_CASES)
@override_settings(CORS_ALLOWED_ORIGINS=[FOO], CORS_ALLOW_CREDENTIALS=True)
def test_a_view_s_cors_headers_are_replaced(existing: list[tuple[str, str]],
                                            expected: dict[str, str]) -> None:
    from django.test import RequestFactory

    def view_setting(request: Any) -> HttpResponse:
        response = HttpResponse("x")
        for name, value in existing:
            response[name] = value
        return response

    request = RequestFactory().get("/any", headers={"Origin": FOO})
    response = CorsMiddleware(view_setting)(request)
    got = {name.lower(): value for name, value in response.items()}
    assert len(got) == len(list(response.items()))  # no name twice
    want = {"access-control-allow-origin": FOO, "access-control-allow-credentials": "true",
            "vary": "origin", **expected}
    for name, value in want.items():
        assert got.get(name) == value, name
    assert "access-control-max-age" not in got


@override_settings(CORS_ALLOWED_ORIGINS=[FOO], CORS_URLS_REGEX=r"^/api/.*$")
def test_settings_changes_take_effect() -> None:
    assert client().get("/other", headers={"Origin": FOO}).get(
        "Access-Control-Allow-Origin") is None
    with override_settings(CORS_URLS_REGEX=r"^.*$", CORS_ALLOWED_ORIGINS=[BAR]):
        resp = client().get("/other", headers={"Origin": BAR})
        assert resp["Access-Control-Allow-Origin"] == BAR
    assert client().get("/api/items", headers={"Origin": FOO})[
        "Access-Control-Allow-Origin"] == FOO


# -- check_request_enabled ------------------------------------------------------------


@pytest.fixture
def receiver() -> Any:
    """A check_request_enabled receiver accepting BAR, on /other too."""
    def accept_bar(sender: Any, request: Any, **kwargs: Any) -> bool:
        return request.headers.get("Origin") == BAR
    cd.check_request_enabled.connect(accept_bar)
    yield accept_bar
    cd.check_request_enabled.disconnect(accept_bar)


@override_settings(CORS_ALLOWED_ORIGINS=[FOO], CORS_URLS_REGEX=r"^/api/")
def test_without_receivers_the_settings_decide_and_cors_enabled_is_set() -> None:
    assert client().get("/api/enabled", headers={"Origin": FOO}).content == b"True"
    assert client().get("/other/enabled", headers={"Origin": FOO}).content == b"False"
    assert "Access-Control-Allow-Origin" not in client().get(
        "/api/items", headers={"Origin": BAR})


@override_settings(CORS_ALLOWED_ORIGINS=[FOO], CORS_URLS_REGEX=r"^/api/",
                   CORS_ALLOW_CREDENTIALS=True)
def test_a_receiver_enables_paths_and_accepts_origins(receiver: Any) -> None:
    # An origin the settings leave out, accepted by the receiver.
    resp = client().get("/api/items", headers={"Origin": BAR})
    assert resp["Access-Control-Allow-Origin"] == BAR
    assert resp["Access-Control-Allow-Credentials"] == "true"
    ok = preflight("/api/items", BAR)
    assert ok.status_code == 200 and ok["Access-Control-Allow-Origin"] == BAR
    # A path CORS_URLS_REGEX leaves out, enabled by the receiver.
    assert client().get("/other/enabled", headers={"Origin": BAR}).content == b"True"
    assert client().get("/other", headers={"Origin": BAR})[
        "Access-Control-Allow-Origin"] == BAR
    # The receiver says no: nothing widens.
    evil = "https://evil.example"
    assert "Access-Control-Allow-Origin" not in client().get(
        "/api/items", headers={"Origin": evil})
    assert refused(preflight("/api/items", evil))
    assert client().get("/other/enabled", headers={"Origin": evil}).content == b"False"
    assert client().get("/api/items", headers={"Origin": FOO})[
        "Access-Control-Allow-Origin"] == FOO


@override_settings(CORS_ALLOWED_ORIGINS=[FOO], CORS_URLS_REGEX=r"^/api/")
def test_async_receivers_run_in_an_async_stack() -> None:
    calls: list[str] = []

    async def accept_bar(sender: Any, request: Any, **kwargs: Any) -> bool:
        calls.append(request.path)
        return request.headers.get("Origin") == BAR

    async def get_response(request: Any) -> HttpResponse:
        return HttpResponse("async view")

    from django.test import RequestFactory
    cd.check_request_enabled.connect(accept_bar)
    try:
        mw = CorsMiddleware(get_response)
        assert mw.async_mode
        for path_ in ("/api/items", "/other"):
            request = RequestFactory().get(path_, headers={"Origin": BAR})
            response = asyncio.run(asyncio.wait_for(mw(request), timeout=10))
            assert response["Access-Control-Allow-Origin"] == BAR
            assert request._cors_enabled is True
    finally:
        cd.check_request_enabled.disconnect(accept_bar)
    assert calls == ["/api/items", "/other"]


@pytest.mark.parametrize("credentials", [False, True])
@pytest.mark.parametrize("origin", [FOO, BAR, "https://evil.example"])
@pytest.mark.parametrize("path_", ["/api/items", "/other"])
@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
def test_the_signal_answers_as_django_cors_headers_does(
        receiver: Any, origin: str, path_: str, credentials: bool, method: str) -> None:
    pytest.importorskip("corsheaders")
    from corsheaders.signals import check_request_enabled
    assert cd.check_request_enabled is check_request_enabled  # one signal for both
    answers = []
    for middleware in ("corsheaders.middleware.CorsMiddleware",
                       "corsfast.contrib.django.CorsMiddleware"):
        with override_settings(MIDDLEWARE=[middleware], CORS_ALLOWED_ORIGINS=[FOO],
                               CORS_URLS_REGEX=r"^/api/",
                               CORS_ALLOW_CREDENTIALS=credentials):
            if method == "GET":
                resp = client().get(path_, headers={"Origin": origin})
            else:
                resp = preflight(path_, origin)
            answers.append((resp.status_code, resp.content,
                            {k.lower(): v for k, v in resp.headers.items()
                             if k.lower().startswith("access-control-")
                             or k.lower() == "vary"}))
    if method == "OPTIONS":
        # Preflights differ in Vary and the headers listed (docs/django.md);
        # who is let in, with credentials or not, the status and the body
        # do not.
        kept = ("access-control-allow-origin", "access-control-allow-credentials")
        answers = [(status, body, {k: v for k, v in a.items() if k in kept})
                   for status, body, a in answers]
    assert answers[0] == answers[1]
