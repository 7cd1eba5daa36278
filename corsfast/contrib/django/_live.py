"""What every request of the Django drop-in reads, and the ``live`` handle
that changes it while the server runs (docs/django.md "Live policies";
docs/spec.md "Live policies (for gateways)", "Observability").

Django builds the middleware itself, once per handler: one for the WSGI or
ASGI handler, one more for each test ``Client``, and a sync and an async
one may both exist. So no instance holds the configuration: the process
does, as one ``_Config`` value in this module, and each request of every
instance reads it once (``_current()``), so it is decided wholly by the
configuration in force when it started. ``live.reconfigure`` builds a new
``_Config`` and swaps it in with one assignment; readers take no lock.
Writers (a reconfigure, loading the settings, a ``CORS_*`` setting that
changed) take one lock among themselves, so none of them undoes another.

A ``_Config`` is built from the settings (``CORS_URLS_REGEX`` and the
``check_request_enabled`` receivers take part), or around a corsfast
``Policy`` or ``Router`` given to ``live.reconfigure`` (they do not). It
keeps the settings' own options either way (``CORS_LOG_REFUSALS``,
``CORS_ON_REFUSAL``, ``CORS_DEBUG``, ``CORS_ON_SHADOW``). The counters are
the process's, one ``Controls`` for every configuration, so they survive a
reconfigure and a change of settings and never go down.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any, Callable, Optional, Union

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import Signal

from ..._live import KEEP, Controls, Reporter, Shadow
from ..._policy import Policy, PolicyWarning, warn_if_no_origin
from ..._router import Router
from ._settings import _Compiled, _message, _read_settings, _setting_words

__all__ = ["LivePolicy", "check_request_enabled", "live"]

try:  # the signal receivers were connected to before the switch
    from corsheaders.signals import check_request_enabled
except ImportError:
    # Any receiver returning a true value enables CORS for the request (a
    # path CORS_URLS_REGEX leaves out) and accepts its origin, as there.
    check_request_enabled = Signal()

_PATH_CACHE_SIZE = 1024  # CORS_URLS_REGEX answers kept per path
_WHO = "corsfast.contrib.django.live"
_controls = Controls(_WHO, any_lookup=False)
_lock = threading.RLock()  # writers only; RLock: a hook module imported may reconfigure
_config: Optional[_Config] = None
_warned: set[str] = set()
_WARNING_CATEGORY: dict[str, type[Warning]] = {"W002": PolicyWarning}


class _Config:
    """One configuration, read once per request: ``live`` (the Live value:
    policy or router, counters, shadow) and the shortcuts the request path
    takes. ``paths`` picks the policy for a request when not every path has
    the same one (CORS_URLS_REGEX, or a router); ``signal_policy`` is None
    when the receivers are not asked (a reconfigured policy)."""

    __slots__ = ("compiled", "from_settings", "live", "policy", "paths", "signal_policy",
                 "tally", "shadow", "shadower", "report", "fix_words", "_enabled",
                 "_seen", "_router")

    policy: Optional[Policy]
    paths: Optional[Callable[[Any], Optional[Policy]]]
    signal_policy: Optional[Policy]

    def __init__(self, compiled: _Compiled, target: Union[Policy, Router, None],
                 shadow: Union[Policy, Router, None]) -> None:
        # target None: the settings' policy, with CORS_URLS_REGEX and the signal.
        self.compiled = compiled
        self.from_settings = target is None
        self.live = live = _controls.build(compiled.policy if target is None else target,
                                           shadow)  # a TypeError changes nothing
        self.paths = None
        self._seen: dict[str, Optional[Policy]] = {}
        self._enabled = compiled.enabled
        self._router: Optional[Router] = None
        if target is None:
            self.policy, self.signal_policy = compiled.policy, compiled.signal_policy
            if compiled.enabled is not None:
                self.paths = self._covered
        else:
            self.policy = target if isinstance(target, Policy) else None
            self.signal_policy = None
            if isinstance(target, Router):
                self._router = target
                self.paths = self._routed
        self.tally = None if live.routes else live.tally
        self.shadow = live.shadow
        self.shadower = Shadow(compiled.on_shadow)
        self.fix_words = _setting_words if target is None else None
        reporter = Reporter(compiled.log_refusals, compiled.on_refusal, compiled.debug,
                            self.fix_words)
        self.report = reporter.wsgi if reporter.active else None

    def _covered(self, request: Any) -> Optional[Policy]:
        """The policy when CORS_URLS_REGEX covers the request's path, else None.

        Answers are kept per path, for a bounded number of paths: past that,
        the regex runs on every request for a new path.
        """
        path = request.path_info
        seen = self._seen
        try:
            return seen[path]
        except KeyError:
            pass
        policy = self.policy if self._enabled(path) else None  # type: ignore[misc]
        if len(seen) < _PATH_CACHE_SIZE:
            seen[path] = policy
        return policy

    def _routed(self, request: Any) -> Optional[Policy]:
        """The router's policy for the path as the server gave it."""
        return self._router.lookup(request.META.get("PATH_INFO", ""))  # type: ignore[union-attr]

    @property
    def shadow_target(self) -> Union[Policy, Router, None]:
        shadow = self.live.shadow
        return None if shadow is None else shadow.policy


def _load() -> _Config:
    """The configuration the CORS_* settings describe; their warnings
    warned, their errors raised."""
    compiled, problems = _read_settings()
    for problem in problems:
        if not problem.stops_start:
            _warn_once(f"corsfast.contrib.django: {problem.message}",
                       _WARNING_CATEGORY.get(problem.code, UserWarning))
    if compiled is None:
        raise ImproperlyConfigured(_message(
            [problem.message for problem in problems if problem.stops_start]))
    if not check_request_enabled.has_listeners():
        warn_if_no_origin("corsfast.contrib.django", compiled.policy)
    return _Config(compiled, None, compiled.shadow)


def _warn_once(message: str, category: type[Warning] = UserWarning) -> None:
    if message not in _warned:
        _warned.add(message)
        warnings.warn(message, category, stacklevel=5)


def _current() -> _Config:
    """The configuration in force: one reference read. Loaded from the
    settings the first time, and again after a CORS_* setting changed."""
    config = _config
    if config is None:
        config = _locked_current()
    return config


def _locked_current() -> _Config:
    global _config
    with _lock:
        config = _config
        if config is None:
            config = _config = _load()
        return config


def _settings_changed(setting: str = "", **kwargs: Any) -> None:
    """A CORS_* setting changed (``override_settings`` in tests): the
    settings are read again, and put back in force in place of a policy
    ``live.reconfigure`` gave."""
    global _config
    if setting.startswith("CORS_"):
        with _lock:
            _config = None


setting_changed.connect(_settings_changed, dispatch_uid="corsfast.contrib.django")


def _swap(build: Callable[[_Config], _Config]) -> None:
    global _config
    with _lock:
        _config = build(_locked_current())


class LivePolicy:
    """The Django drop-in's configuration, changed while requests run.

    One exists, ``corsfast.contrib.django.live``: every ``CorsMiddleware``
    in the process (each handler Django builds, sync or async, each test
    ``Client``) reads the same configuration and counts into the same
    counters. It has the plain middleware's live-policy API, so
    ``corsfast.watch("cors.toml", live)``,
    ``corsfast.contrib.prometheus.CORSCollector(live)`` and
    ``corsfast audit --app corsfast.contrib.django:live`` take it. Other
    processes (each worker of a pre-forking server) have their own.
    """

    __slots__ = ()

    @property
    def policy(self) -> Union[Policy, Router]:
        """The policy or router in force (from the settings: the policy
        they describe)."""
        return _current().live.policy  # type: ignore[no-any-return]

    @property
    def shadow(self) -> Union[Policy, Router, None]:
        """The shadow policy or router in force, or None."""
        return _current().shadow_target

    @property
    def from_settings(self) -> bool:
        """Whether the CORS_* settings are in force (no reconfigure since
        they were last read)."""
        return _current().from_settings

    @property
    def debug(self) -> bool:
        """``CORS_DEBUG``: refused preflights carry a body naming the fix."""
        return _current().compiled.debug

    def reconfigure(self, policy: Union[Policy, Router], *, shadow: Any = KEEP) -> None:
        """Serve every later request, in every CorsMiddleware of the
        process, with ``policy`` (a corsfast Policy or Router) in place of
        the settings' policy, CORS_URLS_REGEX and the check_request_enabled
        receivers: one reference swap, so each request sees the old
        configuration or the new one, never a mix. ``shadow`` replaces the
        shadow (None drops it); left out, the shadow in force stays. A
        TypeError leaves everything as it was. A CORS_* setting that changes
        later, or :meth:`reset`, puts the settings back."""
        if policy is None:  # to _Config, None is the settings' policy
            raise TypeError(f"{_WHO}: policy must be a corsfast.Policy or corsfast.Router, "
                            f"got None; reset() puts the settings back in force")

        def build(old: _Config) -> _Config:
            return _Config(old.compiled, policy,
                           old.shadow_target if shadow is KEEP else shadow)
        _swap(build)

    def set_shadow(self, shadow: Union[Policy, Router, None]) -> None:
        """Evaluate ``shadow`` (a Policy or Router; None drops it) beside
        what is enforced, which stays as it is, the settings included."""
        def build(old: _Config) -> _Config:
            return _Config(old.compiled, None if old.from_settings else old.live.policy,
                           shadow)
        _swap(build)

    def reset(self) -> None:
        """Put the CORS_* settings back in force (CORS_SHADOW included), as a
        change of setting does: they are read again when next needed (the
        next request, or ``policy``). Counters keep counting."""
        global _config
        with _lock:
            _config = None

    def stats(self) -> dict[str, Any]:
        """Decisions of every CorsMiddleware in the process, counted by kind
        (``preflight``, ``actual``, ``websocket``) and Reason name since it
        started; with a router in force, ``routes`` holds the same per route
        prefix."""
        return _controls.stats(_current().live)

    def __repr__(self) -> str:
        config = _config
        if config is None:
            return f"<{_WHO}: settings not read yet>"
        where = "the CORS_* settings" if config.from_settings else "reconfigured"
        return f"<{_WHO}: {where}, policy={config.live.policy!r}>"


live = LivePolicy()
