"""A drop-in for django-cors-headers' middleware.

In ``MIDDLEWARE``, replace ``"corsheaders.middleware.CorsMiddleware"`` with
``"corsfast.contrib.django.CorsMiddleware"`` (as high as possible, above
anything that may answer on its own, such as CommonMiddleware). It reads the
same ``CORS_*`` settings with the same defaults, turns them into one
:class:`corsfast.Policy`, and lets the engine decide each request. Bad
settings raise ``ImproperlyConfigured`` naming the setting and the fix.
In ``INSTALLED_APPS``, ``"corsfast.contrib.django"`` in place of
``"corsheaders"`` reports the same problems in ``manage.py check``
(checks.py), before the first request.
The policy is rebuilt when a ``CORS_*`` setting changes (``override_settings``
in tests). A ``CORS_*`` name it does not know gets a warning with the
closest known name. A refused preflight (answered 200 without CORS headers, as there) is
logged on ``django.request`` at WARNING with its reason and fix; corsfast's own
``CORS_LOG_REFUSALS = True`` logs every refusal on the ``corsfast`` logger,
``CORS_ON_REFUSAL`` is called with each, ``CORS_DEBUG = True`` puts the fix
in a refused preflight's body, and ``CORS_SHADOW`` is a policy evaluated
beside the enforced one. ``corsfast.contrib.django.live`` puts a corsfast
``Policy`` or ``Router`` in force while the server runs and reads the
counters (``live.reconfigure``, ``live.stats()``; _live.py).
Where django-cors-headers matches loosely (origin regexes and
``CORS_URLS_REGEX`` matched only at their start), this middleware matches
strictly; docs/django.md lists every difference. The settings are read in
_settings.py.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpResponse
from django.utils.log import log_response

from ..._engine import adapters
from ..._headers import write_over
from ..._logging import escape_for_log, refusal_fix
from ..._policy import Policy
from ..._reason import Reason
from .._live import tally_for
from ._live import LivePolicy, _Config, _current, check_request_enabled, live
from ._settings import DEFAULT_HEADERS, DEFAULT_METHODS, DJANGO, KNOWN_SETTINGS, REMOVED_SETTINGS

__all__ = ["CorsMiddleware", "DEFAULT_HEADERS", "DEFAULT_METHODS", "DJANGO", "KNOWN_SETTINGS",
           "LivePolicy", "REMOVED_SETTINGS", "check_request_enabled", "live"]

_wsgi_decide = adapters.wsgi_decide
_ORIGIN_NOT_ALLOWED = Reason.ORIGIN_NOT_ALLOWED
_DEBUG_TYPE = "text/plain; charset=utf-8"


def _first_look(request: Any, config: _Config) -> tuple[Optional[Policy], Any]:
    """The policy for the request and its decision; (None, None) when no
    policy covers the path (CORS_URLS_REGEX leaves it out, or no route of a
    router covers it)."""
    policy = config.policy
    if config.paths is not None:
        policy = config.paths(request)
        if policy is None:
            return None, None
    return policy, _wsgi_decide(policy, request.META)


def _must_ask(config: _Config, policy: Optional[Policy], decision: Any) -> bool:
    """Whether a check_request_enabled receiver's answer could change the
    outcome: for a path left out, or an origin the policy refuses; never
    under a policy ``live.reconfigure`` gave."""
    return config.signal_policy is not None and (
        policy is None or (decision.reason is _ORIGIN_NOT_ALLOWED
                           and check_request_enabled.has_listeners()))


def _accepted(responses: list[tuple[Any, Any]]) -> bool:
    return any(answer for _, answer in responses)


async def _asend(request: Any) -> list[tuple[Any, Any]]:
    """The receivers' answers in an async stack (``Signal.asend`` runs sync
    and async receivers; Django 4.2 has only ``send``)."""
    asend = getattr(check_request_enabled, "asend", None)
    if asend is not None:
        return await asend(sender=None, request=request)  # type: ignore[no-any-return]
    send = sync_to_async(check_request_enabled.send)
    return await send(sender=None, request=request)  # type: ignore[no-any-return]


def _settle(request: Any, config: _Config, policy: Optional[Policy], decision: Any,
            accepted: bool) -> Optional[tuple[Any, Policy]]:
    """The decision and its policy, or None when CORS is off for the request.
    An origin the policy refuses but a receiver accepted gets the answer
    django-cors-headers gives it: the policy's, for any origin. (Receivers
    are asked only under the settings, which have one policy.)"""
    request._cors_enabled = policy is not None or accepted
    if not request._cors_enabled:
        return None
    if decision is None:  # a path left out, a receiver enabled it
        policy = config.policy
        decision = _wsgi_decide(policy, request.META)
    if accepted and decision.reason is _ORIGIN_NOT_ALLOWED:
        signal_policy = config.signal_policy
        return _wsgi_decide(signal_policy, request.META), signal_policy  # type: ignore[return-value]
    return decision, policy  # type: ignore[return-value]


def _reported(config: _Config, request: Any, decision: Any,
              policy: Policy) -> Optional[bytes]:
    """The shadow's disagreement and the refusal reported (corsfast/_live.py);
    the debug body of a refused preflight, or None."""
    meta = request.META
    if config.shadow is not None:
        config.shadower.wsgi(decision, meta, config.shadow)
    if config.report is not None and not decision.allowed:
        return config.report(decision, meta, policy)
    return None


def _counted(request: Any, config: _Config, decision: Any,
             policy: Policy) -> Optional[HttpResponse]:
    """Count the settled decision, evaluate the shadow and report a
    refusal; the preflight's answer, or None for a request the view serves
    (the sync and async paths alike)."""
    tally = config.tally  # None with a router: the route's counters
    if tally is None:
        tally = tally_for(config.live, policy)
    tally.add(decision)
    body = None
    if config.shadow is not None or (not decision.allowed and config.report is not None):
        body = _reported(config, request, decision, policy)
    if decision.preflight:
        return _preflight_response(decision, request, policy, config, body)
    return None


def _preflight_response(decision: Any, request: Any, policy: Policy, config: _Config,
                        body: Optional[bytes]) -> HttpResponse:
    if body:  # CORS_DEBUG: what to change, in words
        response = HttpResponse(body, status=decision.status, content_type=_DEBUG_TYPE)
        response["Content-Length"] = str(len(body))
    else:
        response = HttpResponse(status=decision.status)
        response["Content-Length"] = "0"
    for name, value in decision.headers:
        response[name] = value
    if not decision.allowed:
        # Say why, where Django logs its 4xx answers (a refused preflight
        # is a 200, as in django-cors-headers, but the browser refuses it).
        meta = request.META
        fix = refusal_fix(policy, decision, meta.get("HTTP_ORIGIN"),
                          meta.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"),
                          meta.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"), config.fix_words)
        log_response("CORS preflight refused (%s): origin=%s path=%s%s",
                     decision.reason.name, escape_for_log(meta.get("HTTP_ORIGIN")),
                     escape_for_log(request.path), f" fix: {fix}" if fix else "",
                     response=response, request=request, level="warning")
    return response


def _write(response: Any, ours: tuple[tuple[str, str], ...]) -> None:
    """The decision's headers over the view's, through Django's header API."""
    headers = response.headers
    write_over(list(headers), lambda: headers.get("vary"), headers.__setitem__,
               headers.__delitem__, ours)


# -- the middleware -------------------------------------------------------------------


class CorsMiddleware:
    """New-style Django middleware, sync and async capable.

    Each request: the configuration in force, read once (the settings'
    policy, or what ``live.reconfigure`` gave; every instance reads the
    same), one engine decision from ``request.META`` (``wsgi_decide``,
    compiled or its twin), counted; a preflight answered here, and
    otherwise the decision's headers written over the view's response
    through Django's header API. A shadow or a refusal someone asked to
    hear of is reported off that path (``_reported``).
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)
        _current()  # bad settings fail at startup, not on the first request

    def __call__(self, request: Any) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        config = _current()  # read once: this request sees one configuration
        policy, decision = _first_look(request, config)
        accepted = _must_ask(config, policy, decision) and _accepted(
            check_request_enabled.send(sender=None, request=request))
        settled = _settle(request, config, policy, decision, accepted)
        if settled is None:
            return self.get_response(request)
        decision, policy = settled
        answer = _counted(request, config, decision, policy)
        if answer is not None:
            return answer
        response = self.get_response(request)
        _write(response, decision.headers)
        return response

    async def __acall__(self, request: Any) -> Any:
        config = _current()  # read once: this request sees one configuration
        policy, decision = _first_look(request, config)
        accepted = _must_ask(config, policy, decision) and _accepted(
            await _asend(request))
        settled = _settle(request, config, policy, decision, accepted)
        if settled is None:
            return await self.get_response(request)
        decision, policy = settled
        answer = _counted(request, config, decision, policy)
        if answer is not None:
            return answer
        response = await self.get_response(request)
        _write(response, decision.headers)
        return response
