"""What the suites measure: corsfast, its drop-ins and every peer, per level.

- ``ENGINE_ENTRIES``: one decision per call. corsfast's ``check_request``,
  the compiled no-op floor (``benchmarks/_noop.pyx``) taking the same
  arguments, and each peer's own decision function where it has one.
- ``FAMILIES``: a whole request through an app's ASGI or WSGI callable, the
  app bare, wrapped by corsfast's generic middleware, with corsfast's drop-in
  for its framework, and with each peer that fits it.

The fresh requests, the answer checks, the plain ASGI/WSGI peers and the
timing come from the runner in the package (``corsfast/_bench.py``), so
``corsfast bench`` and the suites here measure alike. Only corsfast's public
API is used. Django's settings are process-wide: ``django_app`` sets the
``CORS_*`` settings for its scenario, so build a Django runner right before
it is used.
"""

from __future__ import annotations

import importlib
from typing import Any, Optional

from corsfast import check_request
from corsfast._bench import (
    HEADERS,
    MAX_AGE,
    METHODS,
    PATH,
    Answer,
    Entry,
    Family,
    Runner,
    Scenario,
    asgi_cors_app,
    asgi_headers,
    bare_asgi,
    bare_wsgi,
    corsfast_policy,
    engine_args,
    engine_runner,
    family,
    flask_app,
    flask_cors_options,
    fresh,
    header_pairs,
    label,
    litestar_app,
    litestar_config,
    pattern_regex,
    starlette_cors,
    starlette_kwargs,
    wsgicors_app,
)


class Unsupported(Exception):
    """This library cannot express the scenario."""


def need(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise Unsupported(f"{module} is not importable ({exc})") from None


# -- engine level ----------------------------------------------------------------


def _floor(s: Scenario) -> Runner:
    import noop
    try:
        noop_check = noop.load()
    except ImportError as exc:
        raise Unsupported(str(exc)) from None
    policy = corsfast_policy(s)
    return Runner(noop_check, lambda: engine_args(policy, s), None)


def _origin_answer(s: Scenario, allowed: Any) -> Answer:
    """For peers whose decision is only 'is this origin allowed'."""
    return Answer(200, [("access-control-allow-origin", s.origin or "")] if allowed else [])


def _no_origin(s: Scenario, peer: str) -> None:
    if s.origin is None:
        raise Unsupported(f"{peer} has no decision to make without an Origin "
                          "(its middleware skips the request)")


def _starlette_engine(s: Scenario) -> Runner:
    _no_origin(s, "Starlette")
    mw = starlette_cors(bare_asgi, s)
    if s.preflight:
        from starlette.datastructures import Headers

        def make() -> tuple[Any, ...]:
            return (Headers(scope={"headers": asgi_headers(s)}),)

        def answer() -> Answer:
            r = mw.preflight_response(*make())
            return Answer(r.status_code, [(k.decode("latin-1"), v.decode("latin-1"))
                                          for k, v in r.raw_headers])
        return Runner(mw.preflight_response, make, answer)
    return Runner(mw.is_allowed_origin, lambda: (fresh(s.origin),),
                  lambda: _origin_answer(s, mw.is_allowed_origin(fresh(s.origin))))


def _litestar_engine(s: Scenario) -> Runner:
    _no_origin(s, "Litestar")
    config = litestar_config(s)
    if s.preflight:
        from litestar.datastructures import Headers
        from litestar.middleware._internal.cors import CORSMiddleware
        mw = CORSMiddleware(app=bare_asgi, config=config)

        def make() -> tuple[Any, ...]:
            return (fresh(s.origin), Headers(asgi_headers(s)))

        def answer() -> Answer:
            r = mw._create_preflight_response(*make())
            return Answer(r.status_code, list(r.headers.items()))
        return Runner(mw._create_preflight_response, make, answer)
    return Runner(config.is_origin_allowed, lambda: (fresh(s.origin),),
                  lambda: _origin_answer(s, config.is_origin_allowed(fresh(s.origin))))


def _flask_cors_engine(s: Scenario) -> Runner:
    core = need("flask_cors.core")
    from werkzeug.datastructures import Headers
    options = core.get_cors_options(flask_app(), flask_cors_options(s))

    def make() -> tuple[Any, ...]:
        return (options, Headers([(k.title(), fresh(v)) for k, v in header_pairs(s)]),
                fresh(s.method))

    def answer() -> Answer:
        got = core.get_cors_headers(*make())
        return Answer(200, [(k, str(v)) for k, v in got.items(multi=True)])
    return Runner(core.get_cors_headers, make, answer)


def _wsgicors_engine(s: Scenario) -> Runner:
    _no_origin(s, "wsgicors")
    if s.preflight:
        raise Unsupported("wsgicors decides preflights inside __call__ only")
    mw = wsgicors_app(bare_wsgi, s)

    def make() -> tuple[Any, ...]:
        return (fresh(s.origin), fresh(s.method))
    return Runner(mw.selectPolicy, make,
                  lambda: _origin_answer(s, mw.selectPolicy(*make())[1]))


# Peers' notes, shown in the rendered tables.
ENGINE_NOTES = {
    "starlette": "CORSMiddleware.is_allowed_origin, or preflight_response",
    "litestar": "CORSConfig.is_origin_allowed, or _create_preflight_response",
    "flask-cors": "flask_cors.core.get_cors_headers",
    "wsgicors": "CORS.selectPolicy (lru_cache'd by value)",
}
ENGINE_ENTRIES: tuple[Entry, ...] = (
    Entry(label(), lambda s: engine_runner(check_request, corsfast_policy(s), s),
          role="corsfast"),
    Entry("no-op floor", _floor, role="floor"),
    Entry("starlette", _starlette_engine, ("starlette",)),
    Entry("litestar", _litestar_engine, ("litestar",)),
    Entry("flask-cors", _flask_cors_engine, ("flask_cors",)),
    Entry("wsgicors", _wsgicors_engine, ("wsgicors",)),
)


# -- framework apps ------------------------------------------------------------------


def corsfast_starlette(app: Any, s: Scenario) -> Any:
    """corsfast's Starlette drop-in, given Starlette's own arguments."""
    from corsfast.contrib.starlette import CORSMiddleware
    return CORSMiddleware(app, **starlette_kwargs(s))


def corsfast_flask(s: Scenario) -> Any:
    """The Flask app with corsfast's flask-cors drop-in, given the same options."""
    from corsfast.contrib.flask import CORS
    return flask_app(s, CORS)


def _django_view(request: Any) -> Any:
    from django.http import HttpResponse
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")


def __getattr__(name: str) -> Any:
    # Django's URL resolver reads this module's ``urlpatterns`` (ROOT_URLCONF).
    if name == "urlpatterns":
        from django.urls import path
        return [path(PATH.lstrip("/"), _django_view)]
    raise AttributeError(name)


DJANGO_MIDDLEWARE = {"": [], "django-cors-headers": ["corsheaders.middleware.CorsMiddleware"],
                     "corsfast": ["corsfast.contrib.django.CorsMiddleware"]}


def django_app(s: Optional[Scenario] = None, cors: str = "") -> Any:
    """Django's WSGI handler, bare or with ``cors`` (django-cors-headers or
    corsfast's drop-in, which reads the same ``CORS_*`` settings)."""
    need("django")
    from django.conf import settings
    if not settings.configured:
        settings.configure(
            DEBUG=False, SECRET_KEY="corsfast-bench", ALLOWED_HOSTS=["*"],
            ROOT_URLCONF=__name__, MIDDLEWARE=[], INSTALLED_APPS=[],
            USE_I18N=False, LOGGING_CONFIG=None)
        import django
        django.setup(set_prefix=False)
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.signals import setting_changed
    if s is not None:
        for name, value in dict(
                CORS_ALLOWED_ORIGINS=list(s.exact), CORS_ALLOW_METHODS=list(METHODS),
                CORS_ALLOWED_ORIGIN_REGEXES=[f"^(?:{pattern_regex(p)})$" for p in s.patterns],
                CORS_ALLOW_HEADERS=list(HEADERS), CORS_PREFLIGHT_MAX_AGE=MAX_AGE).items():
            setattr(settings, name, value)
            # What Django's override_settings sends: apps that cache settings reload.
            setting_changed.send(sender=type(settings), setting=name, value=value, enter=True)
    settings.MIDDLEWARE = DJANGO_MIDDLEWARE[cors if s is not None else ""]
    try:
        return WSGIHandler()  # reads MIDDLEWARE now
    finally:
        settings.MIDDLEWARE = []


class _FalconResource:
    def on_get(self, req: Any, resp: Any) -> None:
        resp.content_type = "text/plain; charset=utf-8"
        resp.text = "ok"

    on_post = on_put = on_delete = on_get


class _FalconAsyncResource:
    async def on_get(self, req: Any, resp: Any) -> None:
        resp.content_type = "text/plain; charset=utf-8"
        resp.text = "ok"

    on_post = on_put = on_delete = on_get


def _falcon_cors(s: Scenario, cors: str) -> Any:
    if cors == "corsfast":
        from corsfast.contrib.falcon import CORSMiddleware
        return CORSMiddleware(policy=corsfast_policy(s))
    if s.patterns:
        raise Unsupported("Falcon's CORSMiddleware takes exact origins only")
    return need("falcon").CORSMiddleware(allow_origins=list(s.exact))


def falcon_app(s: Optional[Scenario] = None, cors: str = "falcon", asgi: bool = False) -> Any:
    """Falcon's WSGI or ASGI app, bare or with Falcon's CORS or corsfast's drop-in."""
    falcon = need("falcon.asgi" if asgi else "falcon")
    app = falcon.App(middleware=[_falcon_cors(s, cors)] if s else None)
    app.add_route(PATH, _FalconAsyncResource() if asgi else _FalconResource())
    return app


# -- middleware level ------------------------------------------------------------------


FAMILIES: tuple[Family, ...] = (
    family("asgi", "ASGI, plain app", "asgi", lambda: bare_asgi, (), [
        (label("Starlette drop-in"), "drop-in", lambda s: corsfast_starlette(bare_asgi, s),
         ("starlette",)),
        ("starlette", "peer", lambda s: starlette_cors(bare_asgi, s), ("starlette",)),
        ("asgi-cors", "peer", lambda s: asgi_cors_app(bare_asgi, s), ("asgi_cors",))]),
    family("wsgi", "WSGI, plain app", "wsgi", lambda: bare_wsgi, (), [
        ("wsgicors", "peer", lambda s: wsgicors_app(bare_wsgi, s), ("wsgicors",))]),
    family("flask", "Flask app", "wsgi", flask_app, ("flask",), [
        (label("Flask drop-in"), "drop-in", corsfast_flask, ()),
        ("flask-cors", "peer", flask_app, ("flask_cors",))]),
    family("django", "Django app", "wsgi", django_app, ("django",), [
        (label("Django drop-in"), "drop-in", lambda s: django_app(s, "corsfast"), ()),
        ("django-cors-headers", "peer", lambda s: django_app(s, "django-cors-headers"),
         ("corsheaders",))]),
    family("falcon", "Falcon app (WSGI)", "wsgi", falcon_app, ("falcon",), [
        (label("Falcon drop-in"), "drop-in", lambda s: falcon_app(s, "corsfast"), ()),
        ("falcon", "peer", falcon_app, ())]),
    family("falcon-asgi", "Falcon app (ASGI)", "asgi", lambda: falcon_app(asgi=True),
           ("falcon",), [
        (label("Falcon drop-in"), "drop-in", lambda s: falcon_app(s, "corsfast", True), ()),
        ("falcon", "peer", lambda s: falcon_app(s, asgi=True), ())]),
    family("litestar", "Litestar app", "asgi", litestar_app, ("litestar",), [
        ("litestar", "peer", litestar_app, ())]),
)
FAMILY = {f.key: f for f in FAMILIES}
