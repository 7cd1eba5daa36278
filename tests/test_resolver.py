"""Origin resolvers (docs/resolvers.md): caches, single-flight, timeouts,
failures, cancellation, bounds.

Real event loops, real threads and real short time-to-lives (0.05 s): no
injected clock. The resolvers run on the live verdict cache
(``corsfast._verdicts_c``, or its twin under CORSFAST_NO_EXTENSIONS=1);
``verdicts`` hands the cache tests both modules.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import threading
import time
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_memory import budget, rss_bytes

import corsfast
from corsfast import ConfigError, _engine, _resolver_base, _verdicts_py
from corsfast._resolver import OriginResolver, SyncOriginResolver
from corsfast._resolver_base import LOG_BURST

CACHES: dict[str, ModuleType] = {"python": _verdicts_py}
try:
    CACHES["cython"] = importlib.import_module("corsfast._verdicts_c")
except ImportError:
    if not _engine.NO_EXTENSIONS:
        raise
CACHE_IDS = sorted(CACHES)

SHORT = 0.05  # a time-to-live the tests wait out
PATIENT = 30.0  # the timeout of tests about something else: a busy machine is slow


@pytest.fixture(params=CACHE_IDS, ids=CACHE_IDS)
def verdicts(request: pytest.FixtureRequest) -> ModuleType:
    return CACHES[request.param]


def origin(n: int) -> str:
    return f"https://a{n}.attacker.example"


class Counted:
    """An async resolver function that counts its calls per origin."""

    def __init__(self, answer: Any = True, delay: float = 0.0) -> None:
        self.answer = answer
        self.delay = delay
        self.calls: dict[str, int] = {}

    async def __call__(self, origin: str) -> Any:
        self.calls[origin] = self.calls.get(origin, 0) + 1
        if self.delay:
            await asyncio.sleep(self.delay)
        return self.answer(origin) if callable(self.answer) else self.answer

    @property
    def total(self) -> int:
        return sum(self.calls.values())


def test_compiled_cache_loaded() -> None:
    """The compiled cache serves whenever the compiled engine does."""
    expected = "corsfast._verdicts_py" if corsfast.ENGINE == "python" else "corsfast._verdicts_c"
    assert _resolver_base.VerdictCache.__module__ == expected


# -- options ------------------------------------------------------------------

def test_options_are_checked() -> None:
    async def fn(origin: str) -> bool:
        return True

    with pytest.raises(TypeError, match="async def"):
        OriginResolver(lambda origin: True)
    with pytest.raises(TypeError, match="use OriginResolver"):
        SyncOriginResolver(fn)
    with pytest.raises(TypeError, match="callable"):
        SyncOriginResolver("https://a.example")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="positive_ttl=30"):
        OriginResolver(fn, positive_ttl="300")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="maxsize"):
        OriginResolver(fn, maxsize=True)
    with pytest.raises(ConfigError) as caught:
        OriginResolver(fn, positive_ttl=0, negative_ttl=float("nan"), timeout=-1,
                       maxsize=0, max_pending=0)
    assert len(caught.value.errors) == 5
    assert "positive_ttl=0: give a positive, finite number of seconds" in str(caught.value)
    assert "maxsize=0: give at least 1" in str(caught.value)
    with pytest.raises(ConfigError, match="timeout=inf"):
        SyncOriginResolver(lambda origin: True, timeout=float("inf"))


# -- caching --------------------------------------------------------------------

def test_positive_verdict_is_cached_until_it_expires() -> None:
    fn = Counted(True)
    resolver = OriginResolver(fn, positive_ttl=SHORT, negative_ttl=60, timeout=PATIENT)

    async def main() -> None:
        assert resolver.lookup(origin(1)) is None
        assert await resolver.resolve(origin(1)) is True
        assert await resolver.resolve(origin(1)) is True
        assert resolver.lookup(origin(1)) is True
        assert fn.total == 1
        await asyncio.sleep(SHORT * 2)
        assert resolver.lookup(origin(1)) is None
        assert await resolver.resolve(origin(1)) is True
        assert fn.total == 2

    asyncio.run(main())
    stats = resolver.stats()
    assert (stats["calls"], stats["misses"], stats["hits"]) == (2, 2, 2)
    assert stats["allowed_entries"] == 1 and stats["pending"] == 0


def test_negative_verdict_is_cached_for_its_own_ttl() -> None:
    fn = Counted(False)
    resolver = OriginResolver(fn, positive_ttl=60, negative_ttl=SHORT, timeout=PATIENT)

    async def main() -> None:
        assert await resolver.resolve(origin(2)) is False
        assert resolver.lookup(origin(2)) is False
        assert await resolver.resolve(origin(2)) is False
        assert fn.total == 1
        await asyncio.sleep(SHORT * 2)
        assert resolver.lookup(origin(2)) is None
        assert await resolver.resolve(origin(2)) is False
        assert fn.total == 2

    asyncio.run(main())


def test_sync_caches_like_async() -> None:
    calls: list[str] = []

    def fn(origin: str) -> bool:
        calls.append(origin)
        return origin.endswith("1.attacker.example")

    resolver = SyncOriginResolver(fn, positive_ttl=SHORT, negative_ttl=SHORT,
                                  timeout=PATIENT)
    assert resolver.resolve(origin(1)) is True
    assert resolver.resolve(origin(2)) is False
    assert resolver.resolve(origin(1)) is True and resolver.lookup(origin(2)) is False
    assert len(calls) == 2
    time.sleep(SHORT * 2)
    assert resolver.lookup(origin(1)) is None and resolver.lookup(origin(2)) is None
    assert resolver.resolve(origin(1)) is True
    assert len(calls) == 3


@pytest.mark.parametrize("value, verdict", [(True, True), (False, False), (1, True),
                                            (0, False)])
def test_bool_like_answers(value: Any, verdict: bool) -> None:
    resolver = SyncOriginResolver(lambda origin: value, timeout=PATIENT)
    assert resolver.resolve(origin(3)) is verdict
    assert resolver.stats()["failures"] == 0


@pytest.mark.parametrize("value", ["false", "true", None, 2, [True], b"1"])
def test_other_answers_are_failures(value: Any, caplog: pytest.LogCaptureFixture) -> None:
    calls = []

    def fn(origin: str) -> Any:
        calls.append(origin)
        return value

    resolver = SyncOriginResolver(fn, timeout=PATIENT)
    with caplog.at_level(logging.WARNING, logger="corsfast"):
        assert resolver.resolve(origin(4)) is False
        assert resolver.resolve(origin(4)) is False
    assert len(calls) == 1
    assert resolver.stats()["failures"] == 1
    assert "not a bool" in caplog.records[0].getMessage()


def test_async_function_returning_a_non_awaitable_is_a_failure() -> None:
    class Odd:
        async def __call__(self, origin: str) -> bool:
            return True

    fn = Odd()
    resolver = OriginResolver(fn, timeout=PATIENT)
    fn.__class__ = type("Plain", (), {"__call__": lambda self, origin: True})
    assert asyncio.run(resolver.resolve(origin(5))) is False
    assert resolver.stats()["failures"] == 1


def test_function_that_cannot_be_called_is_a_failure(caplog: pytest.LogCaptureFixture) -> None:
    async def two_arguments(origin: str, extra: str) -> bool:
        return True

    resolver = OriginResolver(two_arguments, timeout=PATIENT)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="corsfast"):
        assert asyncio.run(resolver.resolve(origin(5))) is False
    assert "raised TypeError" in caplog.records[0].getMessage()
    assert resolver.lookup(origin(5)) is False


def test_event_loop_shutdown_caches_nothing(caplog: pytest.LogCaptureFixture) -> None:
    async def forever(origin: str) -> bool:
        await asyncio.Event().wait()
        return True

    resolver = OriginResolver(forever, timeout=5)

    async def main() -> None:
        waiter = asyncio.ensure_future(resolver.resolve(origin(1)))
        await asyncio.sleep(0.01)  # then asyncio.run cancels what is left
        assert not waiter.done()

    with caplog.at_level(logging.WARNING, logger="corsfast"):
        asyncio.run(main())
    stats = resolver.stats()
    assert (stats["pending"], stats["entries"], stats["failures"]) == (0, 0, 0)
    assert caplog.records == []


def test_non_str_is_refused_without_a_call() -> None:
    fn = Counted(True)
    resolver = OriginResolver(fn, timeout=PATIENT)

    async def main() -> None:
        for value in (None, b"https://a.example", 7, ["x"], object()):
            assert await resolver.resolve(value) is False
            assert resolver.lookup(value) is None

    asyncio.run(main())
    assert fn.total == 0


def test_str_subclass_is_resolved_as_its_text() -> None:
    class Odd(str):
        def __hash__(self) -> int:
            raise RuntimeError("never hashed")

    resolver = SyncOriginResolver(lambda origin: type(origin) is str, timeout=PATIENT)
    assert resolver.resolve(Odd(origin(6))) is True
    assert resolver.lookup(origin(6)) is True
    assert resolver.lookup(Odd(origin(6))) is None  # lookup takes plain str only


def test_invalidate_and_clear() -> None:
    fn = Counted(True)
    resolver = OriginResolver(fn, timeout=PATIENT)

    async def main() -> None:
        await resolver.resolve(origin(1))
        await resolver.resolve(origin(2))
        assert resolver.invalidate(origin(1)) is True
        assert resolver.invalidate(origin(1)) is False
        assert resolver.lookup(origin(1)) is None and resolver.lookup(origin(2)) is True
        resolver.clear()
        assert resolver.lookup(origin(2)) is None and resolver.stats()["entries"] == 0
        assert await resolver.resolve(origin(2)) is True
        assert fn.total == 3

    asyncio.run(main())


def test_call_in_flight_during_clear_caches_nothing() -> None:
    release = threading.Event()

    def fn(origin: str) -> bool:
        release.wait(5)
        return True

    resolver = SyncOriginResolver(fn, timeout=5)
    got: list[bool] = []
    worker = threading.Thread(target=lambda: got.append(resolver.resolve(origin(1))))
    worker.start()
    while resolver.stats()["pending"] == 0:
        time.sleep(0.001)
    resolver.clear()
    release.set()
    worker.join()
    assert got == [True]
    assert resolver.lookup(origin(1)) is None


# -- single-flight --------------------------------------------------------------

def test_single_flight_async() -> None:
    """10,000 concurrent resolves over 1,000 new origins: 1,000 calls."""
    fn = Counted(lambda o: o.endswith("7.attacker.example"), delay=0.02)
    resolver = OriginResolver(fn, timeout=PATIENT)

    async def main() -> list[bool]:
        names = [origin(n % 1000) for n in range(10_000)]
        return await asyncio.gather(*(resolver.resolve(name) for name in names))

    verdicts = asyncio.run(main())
    assert fn.total == 1000 and set(fn.calls.values()) == {1}
    assert verdicts == [n % 10 == 7 for n in range(10_000)]
    stats = resolver.stats()
    assert (stats["misses"], stats["joined"], stats["calls"]) == (10_000, 9_000, 1_000)
    assert stats["pending"] == 0


def test_single_flight_across_threads() -> None:
    calls: list[str] = []
    lock = threading.Lock()

    def fn(origin: str) -> bool:
        with lock:
            calls.append(origin)
        time.sleep(0.02)
        return True

    resolver = SyncOriginResolver(fn, timeout=PATIENT)
    start = threading.Barrier(16)
    results: list[bool] = []

    def work(offset: int) -> None:
        start.wait()
        got = [resolver.resolve(origin((offset + n) % 50)) for n in range(200)]
        with lock:
            results.extend(got)

    threads = [threading.Thread(target=work, args=(i * 3,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 16 * 200 and all(results)
    assert sorted(calls) == sorted(origin(n) for n in range(50))


def test_one_resolver_on_two_event_loops() -> None:
    fn = Counted(True, delay=0.01)
    resolver = OriginResolver(fn, timeout=PATIENT)
    results: list[bool] = []

    async def many() -> list[bool]:
        return await asyncio.gather(*(resolver.resolve(origin(n % 20)) for n in range(200)))

    def run() -> None:
        results.extend(asyncio.run(asyncio.wait_for(many(), 5)))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 400
    assert 20 <= fn.total <= 40  # one call per origin per loop at most


# -- timeouts -----------------------------------------------------------------------

def test_timeout_refuses_and_is_cached() -> None:
    calls = []

    async def forever(origin: str) -> bool:
        calls.append(origin)
        await asyncio.Event().wait()
        return True

    resolver = OriginResolver(forever, timeout=0.1, negative_ttl=5)

    async def main() -> None:
        started = time.perf_counter()
        assert await resolver.resolve(origin(1)) is False
        assert time.perf_counter() - started < 1.0
        assert await resolver.resolve(origin(1)) is False
        assert resolver.lookup(origin(1)) is False

    asyncio.run(main())
    assert len(calls) == 1
    assert resolver.stats()["timeouts"] == 1


def test_timeout_holds_for_a_function_that_ignores_cancellation() -> None:
    release = asyncio.Event()

    async def stubborn(origin: str) -> bool:
        while not release.is_set():  # never ends unless released
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                pass
        return True

    resolver = OriginResolver(stubborn, timeout=0.05)

    async def main() -> float:
        started = time.perf_counter()
        assert await resolver.resolve(origin(1)) is False
        elapsed = time.perf_counter() - started
        release.set()
        await asyncio.sleep(0.05)  # let the abandoned call end inside this loop
        return elapsed

    assert asyncio.run(main()) < 1.0
    assert resolver.lookup(origin(1)) is False  # its late answer is not used


def test_sync_timeout_frees_waiters() -> None:
    def slow(origin: str) -> bool:
        time.sleep(1.5)
        return True

    resolver = SyncOriginResolver(slow, timeout=0.05)
    leader: list[bool] = []
    thread = threading.Thread(target=lambda: leader.append(resolver.resolve(origin(1))))
    thread.start()
    while resolver.stats()["pending"] == 0:
        time.sleep(0.001)
    started = time.perf_counter()
    assert resolver.resolve(origin(1)) is False  # a waiter: gives up at the timeout
    assert time.perf_counter() - started < 1.0
    thread.join()
    assert leader == [False]  # answered past the timeout: dropped
    assert resolver.lookup(origin(1)) is False
    stats = resolver.stats()
    assert (stats["calls"], stats["timeouts"], stats["joined"]) == (1, 1, 1)


# -- failures -------------------------------------------------------------------------

HOSTILE = "https://a.example\r\nFAKE LINE \x1b[31m"


def test_failure_is_logged_escaped_and_refused(caplog: pytest.LogCaptureFixture) -> None:
    fn_calls = []

    async def broken(origin: str) -> bool:
        fn_calls.append(origin)
        raise LookupError(f"no tenant for {origin}")

    resolver = OriginResolver(broken, negative_ttl=5, timeout=PATIENT)
    with caplog.at_level(logging.WARNING, logger="corsfast"):
        assert asyncio.run(resolver.resolve(HOSTILE)) is False
        assert asyncio.run(resolver.resolve(HOSTILE)) is False
    assert len(fn_calls) == 1 and resolver.stats()["failures"] == 1
    [record] = [r for r in caplog.records if r.name == "corsfast"]
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert "\r" not in message and "\n" not in message and "\x1b" not in message
    assert "origin=https://a.example\\x0d\\x0aFAKE LINE \\x1b[31m" in message
    assert "raised LookupError: no tenant for https://a.example\\x0d\\x0a" in message
    assert record.exc_info is None
    assert record.cors_resolver == "failure"  # type: ignore[attr-defined]
    fields = {k: v for k, v in vars(record).items() if k not in ("msg", "args", "message")}
    assert not any("a.example" in str(v) for v in fields.values())
    assert not any("\r" in str(arg) for arg in record.args)  # type: ignore[union-attr]


def test_sync_failure_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    def broken(origin: str) -> bool:
        raise RuntimeError("database is down")

    resolver = SyncOriginResolver(broken, timeout=PATIENT)
    with caplog.at_level(logging.WARNING, logger="corsfast"):
        assert resolver.resolve(HOSTILE) is False
    message = caplog.records[-1].getMessage()
    assert "raised RuntimeError: database is down" in message
    assert "\\x0d\\x0a" in message and "\r" not in message


def test_warnings_are_rate_limited(caplog: pytest.LogCaptureFixture) -> None:
    resolver = SyncOriginResolver(lambda origin: None, timeout=PATIENT)
    with caplog.at_level(logging.WARNING, logger="corsfast"):
        for n in range(100):
            assert resolver.resolve(origin(n)) is False
    assert len(caplog.records) == LOG_BURST
    assert resolver.stats()["failures"] == 100


# -- cancellation -----------------------------------------------------------------------

def test_cancelled_waiter_leaves_the_call_to_the_others() -> None:
    release = asyncio.Event()
    calls = []

    async def fn(origin: str) -> bool:
        calls.append(origin)
        await release.wait()
        return True

    resolver = OriginResolver(fn, timeout=5)

    async def main() -> None:
        waiters = [asyncio.create_task(resolver.resolve(origin(1))) for _ in range(3)]
        await asyncio.sleep(0.01)
        waiters[0].cancel()
        await asyncio.sleep(0.01)
        release.set()
        assert await waiters[1] is True and await waiters[2] is True
        with pytest.raises(asyncio.CancelledError):
            await waiters[0]

    asyncio.run(main())
    assert len(calls) == 1 and resolver.lookup(origin(1)) is True


def test_call_whose_waiters_all_left_fills_the_cache() -> None:
    release = asyncio.Event()

    async def fn_waits(origin: str) -> bool:
        await release.wait()
        return True

    resolver = OriginResolver(fn_waits, timeout=5)

    async def main() -> None:
        waiter = asyncio.create_task(resolver.resolve(origin(1)))
        await asyncio.sleep(0.01)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert resolver.stats()["pending"] == 1
        release.set()
        for _ in range(10):
            await asyncio.sleep(0)
        assert resolver.lookup(origin(1)) is True
        assert resolver.stats()["pending"] == 0

    asyncio.run(main())


# -- bounds -----------------------------------------------------------------------------

def test_entries_are_bounded() -> None:
    resolver = SyncOriginResolver(lambda origin: origin.startswith("https://a1"),
                                  maxsize=100, timeout=PATIENT)
    for n in range(1000):
        resolver.resolve(origin(n))
    assert resolver.stats()["entries"] == 100


def test_refused_flood_keeps_allowed_entries() -> None:
    resolver = SyncOriginResolver(lambda origin: origin.endswith(".tenant.example"),
                                  maxsize=100, timeout=PATIENT)
    tenants = [f"https://t{n}.tenant.example" for n in range(60)]
    for name in tenants:
        assert resolver.resolve(name) is True
    for n in range(10_000):
        assert resolver.resolve(origin(n)) is False
    assert all(resolver.lookup(name) is True for name in tenants)
    stats = resolver.stats()
    assert (stats["allowed_entries"], stats["refused_entries"]) == (60, 40)


def test_allowed_entries_past_the_bound_drop_the_oldest() -> None:
    resolver = SyncOriginResolver(lambda origin: True, maxsize=100, timeout=PATIENT)
    for n in range(150):
        resolver.resolve(origin(n))
    assert [resolver.lookup(origin(n)) for n in (0, 49, 50, 149)] == [None, None, True, True]


def test_expired_entries_make_room_first() -> None:
    resolver = SyncOriginResolver(lambda origin: origin.endswith("0.attacker.example"),
                                  maxsize=10, positive_ttl=60, negative_ttl=SHORT,
                                  timeout=PATIENT)
    for n in range(10):
        resolver.resolve(origin(n))  # 1 allowed, 9 refused
    time.sleep(SHORT * 2)
    resolver.resolve(origin(11))
    stats = resolver.stats()
    assert (stats["allowed_entries"], stats["refused_entries"]) == (1, 1)


def test_max_pending_refuses_without_a_call(caplog: pytest.LogCaptureFixture) -> None:
    release = asyncio.Event()
    calls = []

    async def fn(origin: str) -> bool:
        calls.append(origin)
        await release.wait()
        return True

    resolver = OriginResolver(fn, max_pending=5, timeout=5)

    async def main() -> None:
        busy = [asyncio.create_task(resolver.resolve(origin(n))) for n in range(5)]
        await asyncio.sleep(0.01)
        for _ in range(30):
            assert await resolver.resolve(origin(99)) is False
        assert resolver.lookup(origin(99)) is None  # the refusal is not cached
        release.set()
        assert await asyncio.gather(*busy) == [True] * 5
        assert await resolver.resolve(origin(99)) is True

    with caplog.at_level(logging.WARNING, logger="corsfast"):
        asyncio.run(main())
    assert len(calls) == 6 and resolver.stats()["overflows"] == 30
    assert len(caplog.records) == LOG_BURST
    assert "max_pending" in caplog.records[0].getMessage()


def test_sync_max_pending() -> None:
    release = threading.Event()
    resolver = SyncOriginResolver(lambda origin: release.wait(5), max_pending=1, timeout=5)
    thread = threading.Thread(target=resolver.resolve, args=(origin(1),))
    thread.start()
    while resolver.stats()["pending"] == 0:
        time.sleep(0.001)
    assert resolver.resolve(origin(2)) is False
    release.set()
    thread.join()
    assert resolver.lookup(origin(1)) is True and resolver.lookup(origin(2)) is None


FLOOD = 60_000


def test_flood_of_distinct_origins_keeps_memory_flat() -> None:
    """Distinct refused origins through resolve: memory stays within 30 MiB
    per million (benchmarks/resolver.py runs the full million)."""

    async def no(origin: str) -> bool:
        return False

    resolver = OriginResolver(no, timeout=PATIENT)

    async def flood(start: int, count: int) -> None:
        for first in range(start, start + count, 500):
            await asyncio.gather(*(resolver.resolve(origin(n))
                                   for n in range(first, first + 500)))

    async def main() -> int:
        await flood(1 << 40, 15_000)  # fill the cache and the allocator
        gc.collect()
        before = rss_bytes()
        await flood(0, FLOOD)
        gc.collect()
        return rss_bytes() - before

    grown = asyncio.run(main())
    assert grown < budget(FLOOD), f"{grown / 2**20:.1f} MiB for {FLOOD:,} origins"
    assert resolver.stats()["entries"] == resolver.maxsize


# -- the cache's twins agree -------------------------------------------------------------

OPS = st.lists(st.tuples(st.sampled_from(["store", "lookup", "get", "discard", "clear"]),
                         st.integers(0, 12), st.booleans(), st.sampled_from([0.0, 1000.0])),
               max_size=60)


@settings(max_examples=200, deadline=None)
@given(OPS, st.integers(1, 6))
def test_cache_twins_agree(ops: list[tuple[str, int, bool, float]], maxsize: int) -> None:
    caches = [module.VerdictCache(maxsize) for module in CACHES.values()]
    for op, n, verdict, ttl in ops:
        key = origin(n)
        answers = []
        for cache in caches:
            if op == "store":
                answers.append(cache.store(key, verdict, ttl))
            elif op == "clear":
                answers.append(cache.clear())
            else:
                answers.append(getattr(cache, op)(key))
            answers.append((len(cache), cache.counts(), cache.hits))
        assert answers[: len(answers) // len(caches)] * len(caches) == answers
        assert len(caches[0]) <= maxsize


def test_cache_basics(verdicts: ModuleType) -> None:
    cache = verdicts.VerdictCache(3)
    cache.store("a", True, 1000.0)
    cache.store("b", False, 1000.0)
    assert (cache.lookup("a"), cache.lookup("b"), cache.lookup("c")) == (True, False, None)
    assert cache.lookup(["unhashable"]) is None and cache.hits == 2
    cache.store("a", False, 1000.0)  # a new verdict replaces the old one
    assert cache.lookup("a") is False and cache.counts() == (0, 2)
    cache.store("c", True, 0.0)  # expired at once
    assert cache.get("c") is None
    assert abs(verdicts.clock() - time.monotonic()) < 0.5
