"""A Quart app behind corsfast.contrib.quart, for tests/test_quart.py's
end-to-end cases (served by uvicorn from this directory; not a test
module) and, as ``make_app``, for its test-client cases.

``make_app(**options)`` passes ``options`` to ``cors()``. Routes:
``/api/items`` (GET, POST, PUT), ``/api/boom`` (raises), ``/api/missing``
(404), ``/api/vary`` (sets its own Vary and allow-origin),
``/api/route`` (``route_cors`` for one other origin), ``/api/exempt``
(``cors_exempt``), and websockets ``/ws`` and ``/ws-exempt``.
"""

from __future__ import annotations

import re
from typing import Any

from quart import Quart, Response, abort, websocket

from corsfast.contrib.quart import cors, cors_exempt, route_cors

PAGE = "https://app.example.com"
ROUTE_PAGE = "https://route.example.com"
BOOM = "corsfast quart test endpoint failed on purpose"
# quart-cors's README example: a regex that quart-cors matches at the
# start only.
SUBDOMAINS = re.compile(r"https:\/\/.*\.quart\.com")


def make_app(**options: Any) -> Quart:
    app = Quart(__name__)

    @app.route("/api/items", methods=["GET", "POST", "PUT"])
    async def items() -> str:
        return "items"

    @app.route("/api/boom")
    async def boom() -> str:
        raise RuntimeError(BOOM)

    @app.route("/api/missing")
    async def missing() -> str:
        abort(404)

    @app.route("/api/vary")
    async def vary() -> Response:
        return Response("v", headers={"Vary": "Accept-Encoding",
                                      "Access-Control-Allow-Origin": "https://wrong.example"})

    @app.route("/api/route", methods=["GET", "PUT"])
    @route_cors(allow_origin=[ROUTE_PAGE], allow_methods=["PUT"])
    async def route() -> str:
        return "route"

    @app.route("/api/route-boom")
    @route_cors(allow_origin=[ROUTE_PAGE])
    async def route_boom() -> str:
        raise RuntimeError(BOOM)

    @app.route("/api/exempt")
    @cors_exempt
    async def exempt() -> str:
        return "exempt"

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.accept()
        await websocket.send("hello")

    @app.websocket("/ws-exempt")
    @cors_exempt
    async def ws_exempt() -> None:
        await websocket.accept()
        await websocket.send("hello")

    return cors(app, **options)


app = make_app(allow_origin=[PAGE, SUBDOMAINS], allow_credentials=True,
               allow_headers=["content-type", "x-allowed"],
               expose_headers=["X-Visible"], max_age=600)
