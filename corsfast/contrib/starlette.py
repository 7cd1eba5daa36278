"""A drop-in for ``starlette.middleware.cors.CORSMiddleware``.

>>> from corsfast.contrib.starlette import CORSMiddleware
>>> app.add_middleware(CORSMiddleware, allow_origins=["https://app.example.com"])

It takes Starlette's constructor arguments, translates them into one
:class:`corsfast.Policy`, and runs the generic :mod:`corsfast.asgi`
middleware with Starlette's answers: preflights get 200 "OK", refused
preflights 400 "Disallowed CORS <every failed check>", and header values
keep Starlette's spelling. Every decision is the engine's; where Starlette
differs from corsfast's defaults (no always-allowed methods, requested
headers mirrored for "*", ``Vary: Origin`` with a "*" origin) the Policy's
private drop-in arguments say so, compiled once. The documented deviations
from Starlette are listed in docs/asgi.md.

Starlette itself is not imported: this module works with any ASGI app.
"""

from __future__ import annotations

import re
import warnings
from typing import Any, Collection, Optional, Union

from .._adapters_py import asgi_request_values
from .._engine import ACTION_ANSWER_PREFLIGHT
from .._policy import Policy
from .._reason import Reason
from ..asgi import Answer, ASGIApp, Scope
from ..asgi import CORSMiddleware as _GenericCORSMiddleware

__all__ = ["CORSMiddleware", "WildcardCredentialsWarning"]

# What Starlette's allow_methods=["*"] expands to.
ALL_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY")
# Starlette always allows these request headers on a preflight.
SAFELISTED_HEADERS = ("Accept", "Accept-Language", "Content-Language", "Content-Type")
# Starlette's preflight vary value, sent whatever the policy.
PREFLIGHT_VARY = (b"Origin, Access-Control-Request-Method, "
                  b"Access-Control-Request-Headers, "
                  b"Access-Control-Request-Private-Network")
MAX_AGE_LIMIT = 86400

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


def _any_origin(origin: str) -> bool:
    """The predicate behind Starlette's '*' with credentials."""
    return True


def _text_answer(status: int, body: bytes) -> Answer:
    return status, [_TEXT_PLAIN, (b"content-length", str(len(body)).encode())], body


def _names(value: Union[str, Collection[str]]) -> list[str]:
    """Starlette takes collections; a lone string is one item, not letters."""
    return [value] if isinstance(value, str) else list(value)


class CORSMiddleware(_GenericCORSMiddleware):
    """Starlette's CORSMiddleware arguments and answers on corsfast's engine."""

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
    ) -> None:
        origins = _names(allow_origins)
        methods = _names(allow_methods)
        headers = _names(allow_headers)
        exposed = _names(expose_headers)
        credentials = bool(allow_credentials)

        any_origin = "*" in origins
        predicate = None
        if any_origin and credentials:
            # Starlette's deliberate, dangerous choice: reflect every origin.
            warnings.warn(_WILDCARD_CREDENTIALS_WARNING, WildcardCredentialsWarning,
                          stacklevel=2)
            origins, predicate = [], _any_origin
        elif any_origin:
            origins = ["*"]

        if "*" in methods:
            methods = list(ALL_METHODS)

        all_headers = "*" in headers
        if all_headers:
            # Starlette mirrors every requested header, Authorization
            # included, which a bare "*" does not cover [Fetch 4.8, CORS-preflight fetch].
            policy_headers = ["*", "authorization"]
            listed_value: Optional[str] = None
        else:
            listed = sorted(set(SAFELISTED_HEADERS) | set(headers))
            policy_headers = listed
            listed_value = ", ".join(listed)

        if isinstance(max_age, int) and not isinstance(max_age, bool) \
                and max_age > MAX_AGE_LIMIT:
            warnings.warn(
                f"CORSMiddleware: max_age={max_age} is above what any browser "
                f"honours; corsfast sends {MAX_AGE_LIMIT}", UserWarning,
                stacklevel=2)
            max_age = MAX_AGE_LIMIT

        arguments: dict[str, Any] = dict(
            allow_origins=origins,
            allow_origin_regex=allow_origin_regex,
            allow_origin_predicate=predicate,
            allow_methods=methods,
            allow_headers=policy_headers,
            expose_headers=exposed,
            allow_credentials=credentials,
            max_age=max_age,
            allow_private_network=bool(allow_private_network),
            preflight_status=200,
        )
        # Starlette's rules where they differ from corsfast's defaults: every
        # preflight method must be listed (GET, HEAD and POST too), "*"
        # headers are answered with the requested names as sent, and a "*"
        # origin still varies on Origin (and is not sent without one).
        starlette_rules: dict[str, Any] = dict(
            _always_allowed_methods=(),
            _echo_request_headers=all_headers,
            _wildcard_vary=True,
        )
        # Built twice at start-up: once to learn corsfast's constant header
        # values, once with Starlette's spelling of them compiled in, so
        # matching Starlette byte for byte costs nothing per request.
        plain = Policy(**arguments, **starlette_rules)
        policy = Policy(**arguments, **starlette_rules,
                        _spelling=_spelling(plain, listed_value, exposed))
        super().__init__(app, policy)
        self._allowed_answer = _text_answer(200, b"OK")
        # Starlette's refusal names every failed check, where the engine
        # stops at the first. Refusals are the slow path: there, these two
        # policies (any origin; the same methods, or the same headers and
        # private network setting) judge the method, the headers and the
        # private network request one at a time.
        self._method_probe = Policy(allow_origins="*", allow_methods=methods,
                                    _always_allowed_methods=())
        self._headers_probe = Policy(
            allow_origins="*", allow_headers=policy_headers,
            allow_private_network=bool(allow_private_network))

    async def _act(self, hook: Any, send: Any, scope: Scope) -> None:
        """A refused preflight is answered naming every failed check (unless
        a subclass answers preflights itself); the rest as the generic
        middleware does."""
        decision = hook.decision
        if (hook.action == ACTION_ANSWER_PREFLIGHT and not decision.allowed
                and type(self).preflight_response is CORSMiddleware.preflight_response):
            await self._answer(send, decision, self._refusal(decision, scope))
        else:
            await super()._act(hook, send, scope)

    def preflight_response(self, decision: Any) -> Answer:
        if decision.allowed:
            return self._allowed_answer
        return self._refusal(decision, None)

    def _refusal(self, decision: Any, scope: Optional[Scope]) -> Answer:
        """400 "Disallowed CORS ..." naming every failed check, in
        Starlette's order: origin, method, headers, private-network (and
        "request" for a malformed value)."""
        words = self._failed_checks(decision, scope)
        return _text_answer(400, ("Disallowed CORS " + ", ".join(words)).encode())

    def _failed_checks(self, decision: Any, scope: Optional[Scope]) -> list[str]:
        """The words for every check a refused preflight failed. Without
        the scope only the engine's first refusal is known."""
        first = _REFUSAL_WORDS[decision.reason]
        if scope is None:
            return [first]
        origin, acrm, acrh, acrpn = asgi_request_values(scope["headers"], True)
        # The engine checks the origin first: a refused origin is its reason.
        reasons = [decision.reason]
        reasons += [
            self._method_probe.check("OPTIONS", origin, acrm).reason,
            self._headers_probe.check("OPTIONS", origin, "GET", acrh).reason,
            self._headers_probe.check("OPTIONS", origin, "GET", None, acrpn).reason,
        ]
        words: list[str] = []
        for reason in reasons:
            word = _REFUSAL_WORDS.get(reason)
            if word is not None and word not in words:
                words.append(word)
        return words


def _spelling(
    policy: Policy, listed_headers: Optional[str], exposed: list[str]
) -> dict[tuple[str, str], tuple[str, str]]:
    """Starlette's spelling of the constant header values ``policy`` sends.

    Header values are compared case-insensitively by browsers; this only
    keeps responses byte-identical to Starlette's, at no cost per request.
    """
    spell = {("vary", "origin"): ("vary", "Origin")}
    # The preflight vary value is the same for every preflight of a policy;
    # any one shows it.
    probe = policy.check("OPTIONS", "null", "GET")
    for name, value in probe.headers:
        if name == "vary":
            spell[(name, value)] = (name, PREFLIGHT_VARY.decode("latin-1"))
    if listed_headers is not None and isinstance(policy.allow_headers, tuple):
        ours = ", ".join(policy.allow_headers)
        spell[("access-control-allow-headers", ours)] = (
            "access-control-allow-headers", listed_headers)
    if exposed and isinstance(policy.expose_headers, tuple):
        ours = ", ".join(policy.expose_headers)
        spell[("access-control-expose-headers", ours)] = (
            "access-control-expose-headers", ", ".join(exposed))
    return spell
