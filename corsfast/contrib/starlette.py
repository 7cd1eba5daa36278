"""A drop-in for ``starlette.middleware.cors.CORSMiddleware``.

>>> from corsfast.contrib.starlette import CORSMiddleware
>>> app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"])

It takes Starlette's constructor arguments, translates them into one
:class:`corsfast.Policy`, and runs the generic :mod:`corsfast.asgi`
middleware with Starlette's answers: preflights get 200 "OK", refused
preflights 400 "Disallowed CORS <every failed check>", and header values
keep Starlette's spelling. Every decision is the engine's; where Starlette
differs from corsfast's defaults (no always-allowed methods, requested
headers mirrored for "*", ``Vary: Origin`` with a "*" origin, Starlette's
spelling) the ``STARLETTE`` dialect says so, as data the Policy compiles
once. The documented deviations from Starlette are listed in docs/asgi.md.

Starlette itself is not imported: this module works with any ASGI app.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from typing import Any, Collection, Union

from .._dialect import Dialect
from .._policy import Policy
from .._reason import Reason
from ..asgi import Answer, ASGIApp
from ..asgi import CORSMiddleware as _GenericCORSMiddleware

__all__ = ["CORSMiddleware", "STARLETTE", "WildcardCredentialsWarning"]

# What Starlette's allow_methods=["*"] expands to.
ALL_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY")
# Starlette always allows these request headers on a preflight.
SAFELISTED_HEADERS = ("Accept", "Accept-Language", "Content-Language", "Content-Type")
MAX_AGE_LIMIT = 86400

# How Starlette's answers differ from corsfast's own, as data (see
# corsfast/_dialect.py): every preflight method must be listed (GET, HEAD
# and POST too); a "*" origin still varies on Origin (and sends nothing
# without one); "*" with credentials echoes every origin; header values
# keep Starlette's spelling; a refused preflight names every failed check.
# With allow_headers=["*"] the requested names are echoed
# (``dataclasses.replace(STARLETTE, echo_request_headers=True)``).
STARLETTE = Dialect(
    "starlette",
    always_allowed_methods=(),
    vary_with_static_star=True,
    reflect_any_origin_with_credentials=True,
    names_as_given=True,
    vary_actual="Origin",
    vary_preflight=("Origin, Access-Control-Request-Method, "
                    "Access-Control-Request-Headers, "
                    "Access-Control-Request-Private-Network"),
    every_refusal_reason=True,
    insecure_origins_with_credentials=True,
)

_TEXT_PLAIN = (b"content-type", b"text/plain; charset=utf-8")
# The words Starlette puts after "Disallowed CORS " for each refusal.
_REFUSAL_WORDS = {
    Reason.ORIGIN_NOT_ALLOWED: "origin",
    Reason.METHOD_NOT_ALLOWED: "method",
    Reason.HEADERS_NOT_ALLOWED: "headers",
    Reason.PRIVATE_NETWORK_NOT_ALLOWED: "private-network",
    Reason.MALFORMED_REQUEST: "request",
}
_WILDCARD_CREDENTIALS_WARNING = (
    "CORSMiddleware: allow_origins=['*'] with allow_credentials=True reflects "
    "every origin with credentials, so any website can make credentialed "
    "requests and read the answers. corsfast keeps Starlette's behaviour "
    "here; list the trusted origins instead (patterns such as "
    "'https://*.example.com' work)."
)


class WildcardCredentialsWarning(UserWarning):
    """allow_origins=["*"] with allow_credentials=True: every origin is
    reflected with credentials (Starlette's behaviour, kept on purpose)."""


def _text_answer(status: int, body: bytes) -> Answer:
    return status, [_TEXT_PLAIN, (b"content-length", str(len(body)).encode())], body


def _names(value: Union[str, Collection[str]]) -> list[str]:
    """Starlette takes collections; a lone string is one item, not letters."""
    return [value] if isinstance(value, str) else list(value)


class CORSMiddleware(_GenericCORSMiddleware):
    """Starlette's CORSMiddleware arguments and answers on corsfast's engine:
    the arguments become one Policy in the STARLETTE dialect; preflights get
    200 "OK", refused ones 400 "Disallowed CORS <every failed check>".
    ``log_refusals=True`` (corsfast's own, keyword only) logs each refusal
    with its fix, as :class:`corsfast.asgi.CORSMiddleware` does."""

    policy: Policy  # always one Policy, built from Starlette's arguments

    def __init__(
        self,
        app: ASGIApp,
        allow_origins: Collection[str] = (),
        allow_methods: Collection[str] = ("GET",),
        allow_headers: Collection[str] = (),
        allow_credentials: bool = False,
        allow_origin_regex: Union[str, re.Pattern[str], None] = None,
        allow_private_network: bool = False,
        expose_headers: Collection[str] = (),
        max_age: int = 600,
        *,
        log_refusals: bool = False,
    ) -> None:
        origins = _names(allow_origins)
        methods = _names(allow_methods)
        headers = _names(allow_headers)
        credentials = bool(allow_credentials)
        if "*" in origins:
            if credentials:
                # Starlette's deliberate, dangerous choice, kept and named.
                warnings.warn(_WILDCARD_CREDENTIALS_WARNING,
                              WildcardCredentialsWarning, stacklevel=2)
            origins = ["*"]
        if "*" in methods:
            methods = list(ALL_METHODS)
        all_headers = "*" in headers
        if all_headers:
            # Starlette mirrors every requested header, Authorization
            # included, which a bare "*" does not cover
            # [https://fetch.spec.whatwg.org/#cors-non-wildcard-request-header-name].
            headers = ["*", "authorization"]
        else:
            headers = sorted(set(SAFELISTED_HEADERS) | set(headers))
        if isinstance(max_age, int) and not isinstance(max_age, bool) \
                and max_age > MAX_AGE_LIMIT:
            warnings.warn(
                f"CORSMiddleware: max_age={max_age} is above what any browser "
                f"honours; corsfast sends {MAX_AGE_LIMIT}", UserWarning,
                stacklevel=2)
            max_age = MAX_AGE_LIMIT
        dialect = (dataclasses.replace(STARLETTE, echo_request_headers=True)
                   if all_headers else STARLETTE)
        super().__init__(app, Policy(
            allow_origins=origins,
            allow_origin_regex=allow_origin_regex,
            allow_methods=methods,
            allow_headers=headers,
            expose_headers=_names(expose_headers),
            allow_credentials=credentials,
            max_age=max_age,
            allow_private_network=bool(allow_private_network),
            preflight_status=200,
            dialect=dialect,
        ), log_refusals=log_refusals)
        self._allowed_answer = _text_answer(200, b"OK")

    def preflight_response(self, decision: Any) -> Answer:
        """200 "OK", or 400 "Disallowed CORS ..." naming every failed check
        in Starlette's order (origin, method, headers, private-network)."""
        if decision.allowed:
            return self._allowed_answer
        words = [_REFUSAL_WORDS[reason] for reason in decision.reasons]
        return _text_answer(400, ("Disallowed CORS " + ", ".join(words)).encode())
