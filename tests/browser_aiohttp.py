"""An aiohttp app behind corsfast.contrib.aiohttp's aiohttp-cors API, for
tests/test_browser.py: served by aiohttp's own server
(``python -m aiohttp.web browser_aiohttp:make_api``) from this directory;
not a test module.

Written as an aiohttp-cors app is, with only the import changed:
``setup(app, defaults=...)`` lists another site, and ``/api/{name}``
(GET, POST) is added for the page's origin with credentials, the
content-type and x-allowed request headers and x-visible exposed;
``/denied/{name}`` has the defaults only, so the page's origin is refused
there. ``/api/boom`` raises, and aiohttp answers 500. Every answer is
tests/browser_app.py's ``describe`` JSON with its ``APP_HEADERS``. The
page's origin comes from CORSFAST_TEST_PAGE_ORIGIN.
"""

from __future__ import annotations

from aiohttp import web
from browser_app import APP_HEADERS, BOOM, PAGE_ORIGIN, describe

from corsfast.contrib import aiohttp as aiohttp_cors

ELSEWHERE = "https://elsewhere.example"


async def echo(request: web.Request) -> web.Response:
    """Answers with JSON describing the request (``/boom`` raises)."""
    body = await request.read()
    if request.path.endswith("/boom"):
        raise RuntimeError(BOOM)
    payload = describe(request.method, request.path,
                       request.headers.getall("Origin", []), body)
    return web.Response(body=payload, headers={
        "Content-Type": "application/json", **dict(APP_HEADERS)})


def build_api(page_origin: str) -> web.Application:
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={
        ELSEWHERE: aiohttp_cors.ResourceOptions(),
    })
    api = cors.add(app.router.add_resource("/api/{name}"), {
        page_origin: aiohttp_cors.ResourceOptions(
            allow_credentials=True,
            expose_headers=("X-Visible",),
            allow_headers=("Content-Type", "X-Allowed"),
            max_age=0,
        ),
    })
    cors.add(api.add_route("GET", echo))
    cors.add(api.add_route("POST", echo))
    denied = cors.add(app.router.add_resource("/denied/{name}"))
    cors.add(denied.add_route("GET", echo))
    return app


def make_api(argv: list[str]) -> web.Application:
    """aiohttp.web's entry function (``argv``: the command line's rest)."""
    return build_api(PAGE_ORIGIN)
