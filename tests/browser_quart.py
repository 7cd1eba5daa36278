"""A Quart app behind corsfast.contrib.quart, for tests/test_browser.py:
served by uvicorn (``browser_quart:app``) from this directory; not a test
module.

Written as a quart-cors app is, with only the import changed:
``cors(app, ...)`` allows the page's origin with credentials, the
content-type and x-allowed request headers and X-Visible exposed, for
``/api/<name>`` (GET, POST; Quart answers the preflights); ``/denied/<name>``
has ``route_cors`` for another site only, so the page's origin is refused
there. ``/api/boom`` raises, and Quart answers 500. Every answer is
tests/browser_app.py's ``describe`` JSON with its ``APP_HEADERS``. The
page's origin comes from CORSFAST_TEST_PAGE_ORIGIN.
"""

from __future__ import annotations

from browser_app import APP_HEADERS, BOOM, PAGE_ORIGIN, describe
from quart import Quart, Response, request

from corsfast.contrib.quart import cors, route_cors

ELSEWHERE = "https://elsewhere.example"


async def echo(name: str) -> Response:
    """What every view answers: JSON describing the request (``boom`` raises)."""
    body = await request.get_data()
    if name == "boom":
        raise RuntimeError(BOOM)
    payload = describe(request.method, request.path,
                       request.headers.getlist("Origin"), body)
    return Response(payload, content_type="application/json", headers=list(APP_HEADERS))


def build_api(page_origin: str) -> Quart:
    app = Quart(__name__)

    @app.route("/api/<name>", methods=["GET", "POST"])
    async def api(name: str) -> Response:
        return await echo(name)

    @app.route("/denied/<name>")
    @route_cors(allow_origin=[ELSEWHERE])
    async def denied(name: str) -> Response:
        return await echo(name)

    return cors(app, allow_origin=[page_origin], allow_credentials=True,
                allow_headers=["content-type", "x-allowed"],
                expose_headers=["X-Visible"], max_age=0)


app = build_api(PAGE_ORIGIN)
