"""What both origin resolvers share (corsfast/_resolver.py): checking the
options, the verdict cache and its writer lock, counters, and the warnings
a failed call logs.

A failure is logged at WARNING on the ``corsfast`` logger with the origin
escaped by ``escape_for_log`` (a client chose it: a CR/LF must not start a
fake log line), and the exception's message escaped too, since it may
quote the origin. No traceback is attached for the same reason. Structured
handlers get ``cors_resolver`` ("failure", "timeout", "overflow") and never
the origin. The lines are rate-limited (LOG_BURST per LOG_WINDOW seconds),
so a dead database under a flood of new origins costs a few lines, not
one per origin; the next line that gets through says how many were left
out.
"""

from __future__ import annotations

import inspect
import math
import threading
from typing import TYPE_CHECKING, Any, Callable, Optional

from ._engine import NO_EXTENSIONS
from ._logging import escape_for_log, logger
from ._policy import ConfigError

if TYPE_CHECKING or NO_EXTENSIONS:
    from ._verdicts_py import VerdictCache, clock
else:
    try:
        from ._verdicts_c import VerdictCache, clock
    except ImportError:  # a pure wheel: the twin serves
        from ._verdicts_py import VerdictCache, clock

__all__ = ["LOG_BURST", "LOG_WINDOW", "Base", "VerdictCache", "clock", "described",
           "is_async", "plain_str"]

# Warnings the resolvers may log per window; past that they are counted and
# the count is told with the next line that gets through.
LOG_BURST = 10
LOG_WINDOW = 10.0


def _seconds(name: str, value: object, errors: list[str]) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}: "
                        f"pass e.g. {name}=30")
    if not (math.isfinite(value) and value > 0):
        errors.append(f"{name}={value!r}: give a positive, finite number of seconds")
    return float(value)


def _count(name: str, value: object, errors: list[str]) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}: "
                        f"pass e.g. {name}=1000")
    if value < 1:
        errors.append(f"{name}={value!r}: give at least 1")
    return value


def _verdict(value: object) -> Optional[bool]:
    """True/False for what the function returned, or None if it is not a
    verdict. Only bools and the ints 0 and 1 (what ``SELECT EXISTS(...)``
    gives on some databases) count: a row, a string such as "false", None
    or a forgotten coroutine is truthy or falsy by accident, never an
    answer."""
    if value is True or value is False:
        return value
    if type(value) is int and value in (0, 1):
        return value == 1
    return None


def described(exc: BaseException) -> str:
    """An exception as log text, escaped: its message may hold the origin."""
    name = type(exc).__qualname__
    try:
        text = str(exc)
    except Exception:
        text = ""
    return escape_for_log(f"{name}: {text}" if text else name)


class Base:
    """What both resolvers share: options, the cache, counters and logs."""

    def __init__(self, fn: Callable[[str], Any], *, positive_ttl: float = 300.0,
                 negative_ttl: float = 30.0, timeout: float = 1.0, maxsize: int = 10_000,
                 max_pending: int = 1000) -> None:
        if not callable(fn):
            raise TypeError(f"the origin resolver's function must be callable, "
                            f"not {type(fn).__name__}")
        errors: list[str] = []
        self.positive_ttl = _seconds("positive_ttl", positive_ttl, errors)
        self.negative_ttl = _seconds("negative_ttl", negative_ttl, errors)
        self.timeout = _seconds("timeout", timeout, errors)
        self.maxsize = _count("maxsize", maxsize, errors)
        self.max_pending = _count("max_pending", max_pending, errors)
        if errors:
            raise ConfigError(errors)
        self.fn = fn
        self._cache = VerdictCache(self.maxsize)
        self.lookup = self._cache.lookup
        # Held by whoever writes the cache or the table of calls in flight;
        # never by lookup.
        self._lock = threading.Lock()
        # Bumped by clear() and invalidate(): a call that started before
        # either still answers its waiters but caches nothing.
        self._generation = 0
        self._misses = self._joined = self._calls = 0
        self._failures = self._timeouts = self._overflows = 0
        self._log_window = -math.inf
        self._logged = self._suppressed = 0

    # -- the cache ------------------------------------------------------------

    #: ``lookup(origin)``: the cached verdict for ``origin`` if still fresh,
    #: else None. Synchronous and cheap: the request path calls it before
    #: ``resolve``. Anything but a plain ``str`` is never cached (None). It is
    #: the cache's own (compiled) method, so a hit costs no Python frame.
    lookup: Callable[[object], Optional[bool]]

    def invalidate(self, origin: str) -> bool:
        """Forget ``origin``'s verdict (a tenant left or just registered);
        whether one was cached. A call already in flight caches nothing."""
        if not isinstance(origin, str):
            return False
        with self._lock:
            self._generation += 1
            return self._cache.discard(str.__str__(origin))

    def clear(self) -> None:
        """Forget every verdict. Calls in flight finish but cache nothing."""
        with self._lock:
            self._generation += 1
            self._cache.clear()

    def stats(self) -> dict[str, int]:
        """Counts since construction, as a plain dict.

        ``hits``: lookups answered from the cache; ``misses``: resolves the
        cache could not answer, each of which made a call (``calls``),
        joined one in flight (``joined``) or was refused because
        ``max_pending`` calls were in flight (``overflows``);
        ``failures``: calls that raised or returned no bool; ``timeouts``;
        ``pending``: calls in flight now; ``entries``, ``allowed_entries``,
        ``refused_entries``: what the cache holds now. The counters are
        bumped without a lock, so under threads they are approximate.
        """
        allowed, refused = self._cache.counts()
        return {"hits": self._cache.hits, "misses": self._misses, "joined": self._joined,
                "calls": self._calls, "failures": self._failures,
                "timeouts": self._timeouts, "overflows": self._overflows,
                "pending": self._pending_count(), "entries": len(self._cache),
                "allowed_entries": allowed, "refused_entries": refused}

    def _pending_count(self) -> int:
        raise NotImplementedError

    def _settle(self, origin: str, verdict: bool, generation: int) -> bool:
        """Cache a call's verdict, unless the cache was cleared meanwhile."""
        with self._lock:
            if generation == self._generation:
                ttl = self.positive_ttl if verdict else self.negative_ttl
                self._cache.store(origin, verdict, ttl)
        return verdict

    # -- failures ---------------------------------------------------------------

    def _failed(self, origin: str, generation: int, why: str, *, timed_out: bool = False,
                ) -> bool:
        """Refuse ``origin`` for the negative TTL and say why."""
        if timed_out:
            self._timeouts += 1
        else:
            self._failures += 1
        self._warn("origin resolver %s for origin=%s; refusing it for %gs",
                   why, escape_for_log(origin), self.negative_ttl,
                   event="timeout" if timed_out else "failure")
        return self._settle(origin, False, generation)

    def _answer(self, origin: str, value: object, generation: int) -> bool:
        verdict = _verdict(value)
        if verdict is None:
            if inspect.iscoroutine(value):
                value.close()  # never awaited, and never will be
            return self._failed(origin, generation,
                                f"returned {escape_for_log(type(value).__qualname__)}, "
                                "not a bool (return True or False)")
        return self._settle(origin, verdict, generation)

    def _overflow(self) -> bool:
        """Refuse an unknown origin without calling: too many calls in flight."""
        self._overflows += 1
        self._warn("origin resolver: %d calls in flight (max_pending); refusing unknown "
                   "origins without a call and without caching; raise max_pending or "
                   "make the function answer faster", self.max_pending, event="overflow")
        return False

    def _warn(self, fmt: str, *args: object, event: str) -> None:
        """Log at WARNING, at most LOG_BURST lines per LOG_WINDOW seconds;
        the line after a quiet spell says how many were left out. The
        record's ``cors_resolver`` says what happened (never the origin)."""
        now = clock()
        if now - self._log_window >= LOG_WINDOW:
            self._log_window, self._logged = now, 0
        if self._logged >= LOG_BURST:
            self._suppressed += 1
            return
        self._logged += 1
        if self._suppressed:
            fmt += " (%d earlier resolver warnings not logged)"
            args += (self._suppressed,)
            self._suppressed = 0
        logger.warning(fmt, *args, extra={"cors_resolver": event})


def plain_str(origin: object) -> Optional[str]:
    """``origin`` as a plain str to resolve, or None when it is not a str
    at all, or is ``null``: the opaque origin any page can send (a
    sandboxed frame, a redirect, a file), which no tenant owns; a policy
    that means to allow it lists it in ``allow_origins``."""
    if type(origin) is str:
        text = origin
    elif isinstance(origin, str):
        text = str.__str__(origin)  # a subclass's own hash or eq never runs
    else:
        return None
    return None if text == "null" else text


def is_async(fn: object) -> bool:
    """Whether ``fn`` is an ``async def`` function, a partial of one, or an
    object whose ``__call__`` is one."""
    return callable(fn) and (inspect.iscoroutinefunction(fn)
                             or inspect.iscoroutinefunction(type(fn).__call__))
