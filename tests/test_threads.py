"""Threads sharing policies get the answers one thread gets.

A Policy is immutable, but its engine cores fill caches lazily (allowed
decisions for exact origins, request-header verdicts, regex and predicate
verdicts with eviction). Eight threads hammer fresh policies at once, with
a tiny switch interval so they interleave inside those caches, and every
decision must equal the one a single thread computed on its own policies.
"""

from __future__ import annotations

import random
import sys
import threading
from collections.abc import Iterator
from types import ModuleType
from typing import Any, Callable

import pytest

from corsfast import Policy
from corsfast._dynamic import DEFAULT_CACHE_SIZE

THREADS = 8
SITE = "https://app.example.com"

Request = tuple[Any, ...]


def _policies() -> list[Policy]:
    return [
        Policy(allow_origins=[SITE, "https://admin.example.com", "null"],
               allow_credentials=True, allow_methods=["PUT", "DELETE"],
               allow_headers=["x-token", "content-type"], max_age=600),
        Policy(allow_origins=["https://*.example.com", "http://localhost:*"],
               allow_methods="*", allow_headers="*", allow_credentials=True,
               allow_private_network=True, expose_headers=["x-total"]),
        Policy(allow_origins="*", allow_methods="*", allow_headers="*",
               preflight_status=200),
        Policy(allow_origin_regex=r"https://[a-z0-9]+\.tenant\.example\.com",
               allow_methods="*", allow_headers=["x-token"]),
        Policy(allow_origin_predicate=lambda o: o.endswith("7.example.net"),
               allow_origins=[SITE], allow_methods=["PATCH"]),
    ]


def _requests() -> list[Request]:
    """A mix of every path through the engines, deterministic."""
    rng = random.Random(1234)
    origins = [SITE, "https://admin.example.com", "null", "https://evil.com",
               "https://a.example.com", "https://a.b.example.com",
               "http://localhost:3000", "http://localhost", "HTTPS://APP.EXAMPLE.COM",
               f"{SITE}\r\n", "", f"{SITE}:443", None, SITE.encode()]
    # More distinct dynamic origins than the cache holds, so that threads
    # evict each other's entries.
    for i in range(DEFAULT_CACHE_SIZE + 600):
        origins.append(f"https://t{i}.tenant.example.com" if i % 3 == 0
                       else f"https://h{i}.example.net")
    methods = ["GET", "PUT", "DELETE", "PATCH", "CONNECT", "get", "PU T", ""]
    header_values = [None, "x-token", "X-Token, Content-Type", "x-other", "cookie",
                     "a, b, c", " ,x-token, ", "x\r\n", "authorization"]
    header_values += [f"x-h{i}" for i in range(400)]  # > the verdict cache
    pna = [None, "true", "false"]
    out: list[Request] = []
    for origin in origins:
        out.append(("GET", origin))
        out.append(("OPTIONS", origin, rng.choice(methods), rng.choice(header_values),
                    rng.choice(pna)))
    return out


def _signature(d: Any) -> tuple[Any, ...]:
    return (d.allowed, d.preflight, d.reason, d.status, tuple(d.headers))


def _run_all(engine: ModuleType, policies: list[Policy],
             requests: list[Request]) -> list[tuple[Any, ...]]:
    check = engine.check_request
    return [_signature(check(p, *r)) for p in policies for r in requests]


@pytest.fixture
def busy_switching() -> Iterator[None]:
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def _in_threads(work: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(THREADS)
    results: list[Any] = [None] * THREADS
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except BaseException as exc:  # reported below, not lost in a thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return results


def test_eight_threads_agree_with_one(engine: ModuleType,
                                     busy_switching: None) -> None:
    requests = _requests()
    expected = _run_all(engine, _policies(), requests)
    shared = _policies()  # fresh: every cache starts empty under contention
    index = {id(p): n for n, p in enumerate(shared)}
    jobs = [(p, r, k) for p in shared for k, r in enumerate(requests)]

    def work(seed: int) -> list[tuple[int, tuple[Any, ...]]]:
        order = list(range(len(jobs)))
        random.Random(seed).shuffle(order)  # each thread its own order
        check = engine.check_request
        out = []
        for j in order:
            policy, request, k = jobs[j]
            position = index[id(policy)] * len(requests) + k
            out.append((position, _signature(check(policy, *request))))
        return out

    for per_thread in _in_threads(work):
        assert len(per_thread) == len(expected)
        wrong = [(jobs[pos], got, expected[pos]) for pos, got in per_thread
                 if got != expected[pos]]
        assert wrong == []


@pytest.mark.parametrize("kind", ["regex", "predicate"])
def test_shared_caches_stay_bounded_under_threads(engine: ModuleType, kind: str,
                                                 busy_switching: None) -> None:
    # "Regex and predicate": the verdict cache is bounded whatever the clients send. With
    # threads evicting the same oldest entry at once, an eviction that loses
    # the race must not let the cache grow past its bound for good.
    if kind == "regex":
        policy = Policy(allow_origin_regex=r"https://[a-z0-9]+\.example\.com")
    else:
        policy = Policy(allow_origin_predicate=lambda o: o.endswith(".example.com"))
    dynamic = policy._tables.dynamic
    assert dynamic is not None

    def work(seed: int) -> int:
        check = engine.check_request
        allowed = 0
        for i in range(5_000):
            allowed += check(policy, "GET", f"https://s{seed}x{i}.example.com").allowed
            allowed += check(policy, "GET", f"https://s{seed}x{i}.evil.com").allowed
        return allowed

    assert _in_threads(work) == [5_000] * THREADS
    # Threads storing at the same moment may each add one entry past the
    # bound, no more.
    assert dynamic.cache_len() <= DEFAULT_CACHE_SIZE + THREADS


def test_lazily_built_decisions_are_shared_safely(engine: ModuleType,
                                                  busy_switching: None) -> None:
    # All threads race to build and cache the same allowed decisions.
    origins = [f"https://o{i}.example.com" for i in range(300)]
    policy = Policy(allow_origins=origins, allow_credentials=True,
                    expose_headers=["x-total"])

    def work(seed: int) -> list[tuple[str, tuple[Any, ...]]]:
        check = engine.check_request
        out = []
        for _ in range(5):
            for origin in origins:
                out.append((origin, _signature(check(policy, "GET", origin))))
        return out

    for per_thread in _in_threads(work):
        for origin, (allowed, preflight, _reason, status, headers) in per_thread:
            assert allowed and not preflight and status is None
            assert headers == (("access-control-allow-origin", origin),
                               ("access-control-allow-credentials", "true"),
                               ("access-control-expose-headers", "x-total"),
                               ("vary", "origin"))
