"""Origin resolvers: allow origins that live in a database (docs/resolvers.md).

A gateway whose tenants register their own domains cannot list them in a
policy. An origin resolver asks the user's function instead, for an origin
the policy's tables refused, and remembers the answer: True for
``positive_ttl`` seconds, False for ``negative_ttl``. A request whose
origin is cached costs one dict read and one clock compare (``lookup``,
compiled as ``corsfast._verdicts_c``); only an origin nobody asked about
lately reaches the function, and then:

- single-flight: every request for that origin waits on one shared call;
- a timeout: a call that has not answered after ``timeout`` seconds is a
  failure;
- a failure (the function raised, timed out, or returned something that is
  not a bool) refuses the origin for ``negative_ttl`` and logs why at
  WARNING on the ``corsfast`` logger, the origin escaped;
- bounds: at most ``maxsize`` cached verdicts (refused ones make room
  first, see ``corsfast/_verdicts_py.py``) and at most ``max_pending``
  calls in flight; past that an unknown origin is refused without a call
  and without caching the refusal.

``OriginResolver`` takes an ``async def`` function (ASGI);
``SyncOriginResolver`` a plain one (WSGI). ``resolve`` never raises for
what a client sent or what the function did, save that a caller's own
cancellation reaches that caller.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from typing import Awaitable, Callable

from ._logging import escape_for_log
from ._resolver_base import Base, clock, described, is_async, plain_str

__all__ = ["OriginResolver", "SyncOriginResolver"]


_Key = tuple[str, asyncio.AbstractEventLoop]  # a call in flight: (origin, its loop)


class OriginResolver(Base):
    """Resolve origins with ``async def fn(origin: str) -> bool``.

    ``await resolver.resolve(origin)`` gives the verdict: cached, or from
    one shared call per origin. The call runs as a task of its own and its
    verdict lands in a future every caller awaits through
    ``asyncio.shield``, so a caller that is cancelled (a client that went
    away) leaves the call running for the others, and a call whose callers
    all left still finishes and fills the cache. A call that has not
    answered ``timeout`` seconds after it started is cancelled and not
    waited for: it is a failure. Calls are shared per event loop, so one
    resolver can serve several loops.
    """

    fn: Callable[[str], Awaitable[object]]

    def __init__(self, fn: Callable[[str], Awaitable[object]], *, positive_ttl: float = 300.0,
                 negative_ttl: float = 30.0, timeout: float = 1.0, maxsize: int = 10_000,
                 max_pending: int = 1000) -> None:
        if not is_async(fn):
            raise TypeError(
                "OriginResolver needs an `async def` function (a coroutine function); "
                "for a plain function use SyncOriginResolver")
        super().__init__(fn, positive_ttl=positive_ttl, negative_ttl=negative_ttl,
                         timeout=timeout, maxsize=maxsize, max_pending=max_pending)
        # (origin, loop) -> the future that gets the call's verdict
        self._pending: dict[_Key, asyncio.Future[bool]] = {}

    def _pending_count(self) -> int:
        return len(self._pending)

    async def resolve(self, origin: object) -> bool:
        """Whether ``origin`` may be allowed. Never raises, except the
        caller's own ``CancelledError``."""
        text = plain_str(origin)
        if text is None:
            return False
        verdict = self._cache.lookup(text)
        if verdict is not None:
            return verdict
        self._misses += 1
        loop = asyncio.get_running_loop()
        key = (text, loop)
        outcome = self._pending.get(key)
        if outcome is None:
            if len(self._pending) >= self.max_pending:
                return self._overflow()
            outcome = self._pending[key] = loop.create_future()
            self._start(key, self._generation)
        else:
            self._joined += 1
        # Only _start's callbacks set the future and nothing cancels it;
        # shield keeps this caller's cancellation away from it.
        return await asyncio.shield(outcome)

    def _start(self, key: _Key, generation: int) -> None:
        origin, loop = key
        self._calls += 1
        try:
            value = self.fn(origin)
        except Exception as exc:
            self._end(key, self._failed(origin, generation, f"raised {described(exc)}"))
            return
        if not inspect.isawaitable(value):
            self._end(key, self._failed(
                origin, generation, f"returned {escape_for_log(type(value).__qualname__)}, "
                "not an awaitable (make it an `async def` function)"))
            return
        try:
            call = asyncio.ensure_future(value, loop=loop)
        except Exception as exc:  # e.g. a future of another event loop
            self._end(key, self._failed(origin, generation, f"raised {described(exc)}"))
            return
        timer = loop.call_later(self.timeout, self._expire, key, generation, call)
        call.add_done_callback(functools.partial(self._finish, key, generation, timer))

    def _finish(self, key: _Key, generation: int, timer: asyncio.TimerHandle,
                call: asyncio.Future[object]) -> None:
        """The call ended: settle its verdict, unless it had timed out."""
        timer.cancel()
        if call.cancelled():
            # The event loop is shutting down (or the call cancelled
            # itself): no verdict to cache.
            self._end(key, False)
            return
        error = call.exception()  # fetched even when late: asyncio logs it otherwise
        origin = key[0]
        if key not in self._pending:
            return  # it had timed out; its late answer is not used
        if error is not None:
            verdict = self._failed(origin, generation, f"raised {described(error)}")
        else:
            verdict = self._answer(origin, call.result(), generation)
        self._end(key, verdict)

    def _expire(self, key: _Key, generation: int, call: asyncio.Future[object]) -> None:
        """The timeout passed: refuse, and cancel the call without waiting
        for it, so a function that ignores cancellation cannot hold the
        waiters."""
        if call.done():
            return  # it answered in time; _finish is on its way
        if key in self._pending:
            self._end(key, self._failed(key[0], generation,
                                        f"did not answer within timeout={self.timeout:g}s",
                                        timed_out=True))
        call.cancel()

    def _end(self, key: _Key, verdict: bool) -> None:
        outcome = self._pending.pop(key, None)
        if outcome is not None and not outcome.done():
            outcome.set_result(verdict)


class _Flight:
    """One call in flight for the sync resolver: its waiters wait on ``done``."""

    __slots__ = ("done", "started", "verdict")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.started = clock()
        self.verdict = False


class SyncOriginResolver(Base):
    """Resolve origins with a plain ``fn(origin: str) -> bool`` (WSGI).

    The first thread to ask about an unknown origin calls ``fn`` itself;
    threads asking about the same origin meanwhile wait for that call. A
    running function cannot be interrupted, so the timeout means this:
    waiters stop waiting ``timeout`` seconds after the call started and get
    False, while the call goes on in its thread; when a call answers after
    the timeout, its answer is dropped and the origin is refused for the
    negative TTL, as when an async call times out. The calling thread is
    held for as long as ``fn`` runs: give the database driver a timeout of
    its own at or below ``timeout``.
    """

    def __init__(self, fn: Callable[[str], object], *, positive_ttl: float = 300.0,
                 negative_ttl: float = 30.0, timeout: float = 1.0, maxsize: int = 10_000,
                 max_pending: int = 1000) -> None:
        if is_async(fn):
            raise TypeError("SyncOriginResolver needs a plain function; for an "
                            "`async def` function use OriginResolver")
        super().__init__(fn, positive_ttl=positive_ttl, negative_ttl=negative_ttl,
                         timeout=timeout, maxsize=maxsize, max_pending=max_pending)
        self._pending: dict[str, _Flight] = {}

    def _pending_count(self) -> int:
        return len(self._pending)

    def resolve(self, origin: object) -> bool:
        """Whether ``origin`` may be allowed; waits at most about
        ``timeout`` unless this thread makes the call. Never raises."""
        text = plain_str(origin)
        if text is None:
            return False
        verdict = self._cache.lookup(text)
        if verdict is not None:
            return verdict
        self._misses += 1
        with self._lock:
            verdict = self._cache.get(text)  # filled since the lookup?
            flight = self._pending.get(text)
            leader = verdict is None and flight is None
            if leader and len(self._pending) < self.max_pending:
                flight = self._pending[text] = _Flight()
                generation = self._generation
        if verdict is not None:
            self._joined += 1
            return verdict
        if flight is None:
            return self._overflow()
        if leader:
            return self._lead(text, flight, generation)
        self._joined += 1
        remaining = flight.started + self.timeout - clock()
        if remaining > 0 and flight.done.wait(remaining):
            return flight.verdict
        return False  # the call goes on in its own thread

    def _lead(self, origin: str, flight: _Flight, generation: int) -> bool:
        verdict = False
        try:
            verdict = self._call(origin, flight.started, generation)
        finally:
            with self._lock:
                self._pending.pop(origin, None)
            flight.verdict = verdict
            flight.done.set()
        return verdict

    def _call(self, origin: str, started: float, generation: int) -> bool:
        self._calls += 1
        try:
            value = self.fn(origin)
        except Exception as exc:
            return self._failed(origin, generation, f"raised {described(exc)}")
        elapsed = clock() - started
        if elapsed > self.timeout:
            if inspect.iscoroutine(value):
                value.close()
            return self._failed(origin, generation,
                                f"answered after {elapsed:.3g}s, past timeout="
                                f"{self.timeout:g}s", timed_out=True)
        return self._answer(origin, value, generation)
