"""An ASGI app whose CORS policy follows a file, for tests/test_live_servers.py.

The server imports this module; ``corsfast.watch`` then puts the file named
by ``CORSFAST_TEST_POLICY_FILE`` in force and polls it every 20 ms, so the
test can rewrite the file while requests run.
"""

from __future__ import annotations

import os
from typing import Any

import corsfast
from corsfast.asgi import CORSMiddleware


async def _app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


app = CORSMiddleware(_app, allow_origins=["https://placeholder.example"])
watch = corsfast.watch(os.environ["CORSFAST_TEST_POLICY_FILE"], app, interval=0.02,
                       sighup=False)
