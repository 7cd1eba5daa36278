"""A Litestar app behind corsfast.contrib.litestar, for tests/test_litestar.py's
end-to-end cases (served by uvicorn from this directory; not a test
module) and, as ``make_app``, for its in-process cases.

``make_app(**options)`` passes ``options`` to ``CORSPlugin``. Routes:
``/api/items`` (GET, POST, PUT), ``/api/boom`` (raises), ``/api/private``
(an app middleware after the plugin's answers 401 by raising),
``/api/vary`` (sets its own Vary and allow-origin), ``/api/route`` (GET
with ``opt={"cors": ROUTE_POLICY}``, PUT without), ``/team/board`` (a
Litestar ``Router`` with that opt), ``/partner/orders`` (GET, DELETE) and
``/partner/own`` (opt beats ``routes=``), and an ASGI app mounted at
``/mounted``.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Response, Router, asgi, delete, get, post, put
from litestar.exceptions import NotAuthorizedException

from corsfast import Policy
from corsfast.contrib.litestar import CORSPlugin

PAGE = "https://app.example.com"
ROUTE_PAGE = "https://route.example.com"
PARTNER = "https://partner.example.net"
BOOM = "corsfast litestar test endpoint failed on purpose"
ROUTE_POLICY = Policy(allow_origins=[ROUTE_PAGE], allow_methods=["PUT"])
PARTNER_POLICY = Policy(allow_origins=[PARTNER], allow_methods=["DELETE"],
                        allow_headers=["x-partner"])


@get("/api/items")
async def list_items() -> str:
    return "items"


@post("/api/items", status_code=200)
async def add_item() -> str:
    return "added"


@put("/api/items")
async def put_item() -> str:
    return "put"


@get("/api/boom")
async def boom() -> str:
    raise RuntimeError(BOOM)


@get("/api/private")
async def private() -> str:
    return "never without a token"


@get("/api/vary")
async def own_headers() -> Response[str]:
    return Response("v", headers={"Vary": "Accept-Encoding",
                                  "Access-Control-Allow-Origin": "https://wrong.example"})


@get("/api/route", opt={"cors": ROUTE_POLICY})
async def route_get() -> str:
    return "route"


@put("/api/route")
async def route_put() -> str:
    return "route put"


@get("/board")
async def board() -> str:
    return "board"


@get("/partner/orders")
async def orders() -> str:
    return "orders"


@delete("/partner/orders", status_code=200)
async def drop_orders() -> str:
    return "dropped"


@get("/partner/own", opt={"cors": ROUTE_POLICY})
async def partner_own() -> str:
    return "own"


@asgi("/mounted", is_mount=True, copy_scope=True)
async def mounted(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"mounted"})


def deny_private(app: Any) -> Any:
    """An app middleware that refuses /api/private by raising, as an auth
    middleware does."""
    async def middleware(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/api/private":
            raise NotAuthorizedException("no token")
        await app(scope, receive, send)
    return middleware


HANDLERS = [list_items, add_item, put_item, boom, private, own_headers, route_get,
            route_put, Router("/team", route_handlers=[board], opt={"cors": ROUTE_POLICY}),
            orders, drop_orders, partner_own, mounted]
OPTIONS: dict[str, Any] = dict(
    allow_origins=[PAGE, "https://*.example.org"], allow_credentials=True,
    allow_headers=["content-type", "x-allowed"], expose_headers=["X-Visible"],
    max_age=600, routes={"/partner": PARTNER_POLICY, "/mounted": PARTNER_POLICY})


def make_app(**options: Any) -> Litestar:
    return Litestar(HANDLERS, plugins=[CORSPlugin(**options)], middleware=[deny_private],
                    openapi_config=None)


app = make_app(**OPTIONS)
