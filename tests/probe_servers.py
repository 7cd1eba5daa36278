"""Tiny HTTP servers on 127.0.0.1 for `corsfast probe` to probe: one protected
by corsfast, one misconfigured to echo any Origin with credentials."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator, Optional

from corsfast import Policy, check_request

Headers = list[tuple[str, str]]
# (method, Origin, Access-Control-Request-Method) -> (status, headers)
Responder = Callable[[str, Optional[str], Optional[str]], tuple[int, Headers]]


def serve(respond: Responder) -> Iterator[str]:
    """Serve ``respond`` until the generator is closed; yields the URL."""
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            status, headers = respond(
                self.command, self.headers.get("Origin"),
                self.headers.get("Access-Control-Request-Method"))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        do_GET = do_OPTIONS = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/me"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def corsfast_responder(policy: Policy) -> Responder:
    """A server protected by corsfast.check_request."""
    def respond(method: str, origin: Optional[str], acrm: Optional[str]
                ) -> tuple[int, Headers]:
        decision = check_request(policy, method, origin, acrm)
        if decision.preflight:
            return decision.status, list(decision.headers)
        return 200, list(decision.headers)
    return respond


def protected() -> Iterator[str]:
    """corsfast trusting https://app.example.com with credentials."""
    policy = Policy(allow_origins=["https://app.example.com"],
                    allow_methods=["GET", "POST", "PUT"], allow_credentials=True)
    yield from serve(corsfast_responder(policy))


def reflecting() -> Iterator[str]:
    """Misconfigured: echoes any Origin with credentials, and no Vary."""
    def respond(method: str, origin: Optional[str], acrm: Optional[str]
                ) -> tuple[int, Headers]:
        if origin is None:
            return 200, []
        return 200, [("Access-Control-Allow-Origin", origin),
                     ("Access-Control-Allow-Credentials", "true")]
    yield from serve(respond)
