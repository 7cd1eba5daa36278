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
``CORS_LOG_REFUSALS = True`` logs every refusal on the ``corsfast`` logger.
Where django-cors-headers matches loosely (origin regexes and
``CORS_URLS_REGEX`` matched only at their start), this middleware matches
strictly; docs/django.md lists every difference. The settings are read in
_settings.py.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Optional

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import Signal
from django.http import HttpResponse
from django.utils.log import log_response

from ..._engine import adapters
from ..._headers import write_over
from ..._logging import escape_for_log, log_environ_refusal, refusal_fix
from ..._policy import Policy, PolicyWarning, warn_if_no_origin
from ..._reason import Reason
from ._settings import (
    DEFAULT_HEADERS,
    DEFAULT_METHODS,
    DJANGO,
    KNOWN_SETTINGS,
    REMOVED_SETTINGS,
    _message,
    _read_settings,
    _setting_words,
)

__all__ = ["CorsMiddleware", "DEFAULT_HEADERS", "DEFAULT_METHODS", "DJANGO", "KNOWN_SETTINGS",
           "REMOVED_SETTINGS", "check_request_enabled"]

try:  # the signal receivers were connected to before the switch
    from corsheaders.signals import check_request_enabled
except ImportError:
    # Any receiver returning a true value enables CORS for the request (a
    # path CORS_URLS_REGEX leaves out) and accepts its origin, as there.
    check_request_enabled = Signal()

_warned: set[str] = set()
_PATH_CACHE_SIZE = 1024  # CORS_URLS_REGEX answers kept per path
_wsgi_decide = adapters.wsgi_decide


class _Config:
    """The CORS_* settings, validated and compiled once."""

    __slots__ = ("policy", "signal_policy", "enabled", "log_refusals", "_seen")

    policy: Policy
    signal_policy: Policy
    enabled: Optional[Callable[[str], bool]]

    def __init__(self) -> None:
        compiled, problems = _read_settings()
        for problem in problems:
            if not problem.stops_start:
                _warn_once(f"corsfast.contrib.django: {problem.message}",
                           _WARNING_CATEGORY.get(problem.code, UserWarning))
        if compiled is None:
            raise ImproperlyConfigured(_message(
                [problem.message for problem in problems if problem.stops_start]))
        self.policy, self.signal_policy, self.enabled, self.log_refusals = compiled
        if not check_request_enabled.has_listeners():
            warn_if_no_origin("corsfast.contrib.django", self.policy)
        self._seen: dict[str, Optional[Policy]] = {}

    def policy_for(self, path: str) -> Optional[Policy]:
        """The policy when CORS_URLS_REGEX covers ``path``, else None.

        Answers are kept per path, for a bounded number of paths: past that,
        the regex runs on every request for a new path.
        """
        seen = self._seen
        try:
            return seen[path]
        except KeyError:
            pass
        policy = self.policy if self.enabled(path) else None  # type: ignore[misc]
        if len(seen) < _PATH_CACHE_SIZE:
            seen[path] = policy
        return policy


_WARNING_CATEGORY: dict[str, type[Warning]] = {"W002": PolicyWarning}


def _warn_once(message: str, category: type[Warning] = UserWarning) -> None:
    if message not in _warned:
        _warned.add(message)
        warnings.warn(message, category, stacklevel=4)



_config: Optional[_Config] = None


def _current() -> _Config:
    """The settings, validated and compiled; loaded again after a CORS_*
    setting changed. One reference is read, so a request sees one whole
    configuration."""
    global _config
    config = _config
    if config is None:
        config = _config = _Config()
    return config


def _settings_changed(setting: str = "", **kwargs: Any) -> None:
    global _config
    if setting.startswith("CORS_"):
        _config = None


setting_changed.connect(_settings_changed, dispatch_uid="corsfast.contrib.django")


def _first_look(request: Any, config: _Config) -> tuple[bool, Any]:
    """Whether CORS_URLS_REGEX covers the request, and if so the decision."""
    if config.enabled is not None and config.policy_for(request.path_info) is None:
        return False, None
    return True, _wsgi_decide(config.policy, request.META)


def _must_ask(covered: bool, decision: Any) -> bool:
    """Whether a check_request_enabled receiver's answer could change the
    outcome: for a path left out, or an origin the policy refuses."""
    return not covered or (decision.reason is Reason.ORIGIN_NOT_ALLOWED
                           and check_request_enabled.has_listeners())


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


def _settle(request: Any, config: _Config, covered: bool, decision: Any,
            accepted: bool) -> Optional[tuple[Any, Policy]]:
    """The decision and its policy, or None when CORS is off for the request.
    An origin the policy refuses but a receiver accepted gets the answer
    django-cors-headers gives it: the policy's, for any origin."""
    request._cors_enabled = covered or accepted
    if not request._cors_enabled:
        return None
    if decision is None:
        decision = _wsgi_decide(config.policy, request.META)
    if accepted and decision.reason is Reason.ORIGIN_NOT_ALLOWED:
        return _wsgi_decide(config.signal_policy, request.META), config.signal_policy
    return decision, config.policy


def _preflight_response(decision: Any, request: Any, policy: Policy) -> HttpResponse:
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
                          meta.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"), _setting_words)
        log_response("CORS preflight refused (%s): origin=%s path=%s%s",
                     decision.reason.name, escape_for_log(meta.get("HTTP_ORIGIN")),
                     escape_for_log(request.path), f" fix: {fix}" if fix else "",
                     response=response, request=request, level="warning")
    return response


def _refused(decision: Any, request: Any, policy: Policy) -> None:
    """``CORS_LOG_REFUSALS = True``: the refusal on the corsfast logger."""
    if _current().log_refusals:
        log_environ_refusal(decision, request.META, policy, _setting_words)


def _write(response: Any, ours: tuple[tuple[str, str], ...]) -> None:
    """The decision's headers over the view's, through Django's header API."""
    headers = response.headers
    write_over(list(headers), lambda: headers.get("vary"), headers.__setitem__,
               headers.__delitem__, ours)


# -- the middleware -------------------------------------------------------------------


class CorsMiddleware:
    """New-style Django middleware, sync and async capable.

    Each request: the policy from the settings, one engine decision from
    ``request.META`` (``wsgi_decide``, compiled or its twin), a preflight
    answered here, and otherwise the decision's headers written over the
    view's response through Django's header API.
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
        config = _current()
        covered, decision = _first_look(request, config)
        accepted = _must_ask(covered, decision) and _accepted(
            check_request_enabled.send(sender=None, request=request))
        settled = _settle(request, config, covered, decision, accepted)
        if settled is None:
            return self.get_response(request)
        decision, policy = settled
        if not decision.allowed:
            _refused(decision, request, policy)
        if decision.preflight:
            return _preflight_response(decision, request, policy)
        response = self.get_response(request)
        _write(response, decision.headers)
        return response

    async def __acall__(self, request: Any) -> Any:
        config = _current()
        covered, decision = _first_look(request, config)
        accepted = _must_ask(covered, decision) and _accepted(
            await _asend(request))
        settled = _settle(request, config, covered, decision, accepted)
        if settled is None:
            return await self.get_response(request)
        decision, policy = settled
        if not decision.allowed:
            _refused(decision, request, policy)
        if decision.preflight:
            return _preflight_response(decision, request, policy)
        response = await self.get_response(request)
        _write(response, decision.headers)
        return response
