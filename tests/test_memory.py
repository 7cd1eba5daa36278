"""Bounded memory: attacker-chosen origins cannot grow the process (docs/spec.md
"Regex and predicate").

A regex or predicate policy caches its verdicts; the cache is bounded, so a
stream of distinct origins (each one a new cache key) must leave resident
memory flat once the cache is full.

Each flood starts after a warm-up with other origins, which fills the
verdict cache (its bound, at most 4096 entries, is asserted directly) and
the allocator's free lists; the flood is measured from there. The budget
is the one the project promises, 30 MiB for a million requests,
scaled down for the smaller floods (with a 4 MiB floor for measurement
noise): a million requests from distinct origins against the regex policy
on the compiled engine (a few seconds; the regex is most of the cost of a
miss), 400,000 on the slower twin, fewer for the other floods. Each flood is still many times the
caches' sizes, and an unbounded cache would overrun its budget: 250,000
cached origins take about 16 MiB.
"""

from __future__ import annotations

import gc
import os
import resource
from types import ModuleType
from typing import Callable

import pytest

from corsfast import Policy
from corsfast._dynamic import DEFAULT_CACHE_SIZE

MIB = 1024 * 1024
REQUESTS = {
    ("cython", "regex"): 1_000_000,
    ("cython", "predicate"): 250_000,
    ("python", "regex"): 400_000,
    ("python", "predicate"): 250_000,
}
SMALL_FLOOD = 100_000
WARM_UP = 50_000
WARM_UP_START = 1 << 40  # far from the measured floods' origins


def settle(engine: ModuleType, policy: Policy) -> int:
    """Warm up with origins the measured flood never uses (filling the
    caches and the allocator's free lists, and under AddressSanitizer its
    quarantine), then return the resident size to measure from."""
    _flood(engine, policy, WARM_UP, start=WARM_UP_START)
    gc.collect()
    return rss_bytes()


def budget(requests: int) -> int:
    """30 MiB per million requests, never below 4 MiB."""
    return max(30 * MIB * requests // 1_000_000, 4 * MIB)


def rss_bytes() -> int:
    """Resident set size now (Linux /proc), else the peak from getrusage."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if os.uname().sysname == "Darwin" else peak * 1024


def _regex_policy() -> Policy:
    return Policy(allow_origins=["https://app.example.com"],
                  allow_origin_regex=r"https://[a-z0-9]+\.tenant\.example\.com",
                  allow_credentials=True, allow_methods="*", allow_headers="*")


def _predicate_policy() -> Policy:
    def is_tenant(origin: str) -> bool:
        return origin.endswith(".tenant.example.com")

    return Policy(allow_origin_predicate=is_tenant, allow_origins=["https://*.example.org"],
                  allow_methods=["PUT"], allow_headers=["x-token"])


POLICIES: dict[str, Callable[[], Policy]] = {
    "regex": _regex_policy,
    "predicate": _predicate_policy,
}


def _flood(engine: ModuleType, policy: Policy, count: int, start: int = 0) -> int:
    """``count`` requests, each from an origin never seen before; a quarter
    are preflights, and two in 64 (one preflight, one actual request) come
    from an allowed tenant. Returns how many were allowed."""
    check = engine.check_request
    allowed = 0
    for i in range(start, start + count):
        if i & 63 <= 1:
            origin = f"https://t{i:x}.tenant.example.com"
        else:
            origin = f"https://{i:x}.attacker{i & 7}.example"
        if i & 3 == 0:
            d = check(policy, "OPTIONS", origin, "PUT", f"x-token, x-{i & 255:x}")
        else:
            d = check(policy, "GET", origin)
        allowed += d.allowed
    return allowed


@pytest.mark.parametrize("kind", sorted(POLICIES))
def test_a_flood_of_distinct_origins_keeps_memory_flat(engine: ModuleType,
                                                       kind: str) -> None:
    policy = POLICIES[kind]()
    count = REQUESTS[engine.ENGINE_NAME, kind]
    before = settle(engine, policy)
    allowed = _flood(engine, policy, count)
    gc.collect()
    grown = rss_bytes() - before
    # Tenant actual requests are allowed by both policies; tenant
    # preflights only by the regex policy (the predicate policy refuses
    # their x-<n> request headers).
    actual = len(range(1, count, 64))
    preflights = len(range(0, count, 64))
    assert allowed == actual + (preflights if kind == "regex" else 0)
    dynamic = policy._tables.dynamic
    assert dynamic is not None
    assert dynamic.cache_len() <= DEFAULT_CACHE_SIZE
    assert grown < budget(count), f"resident memory grew by {grown / MIB:.1f} MiB"
    # The cache is still correct after all the evictions.
    assert engine.check_request(policy, "GET", "https://t1.tenant.example.com").allowed
    assert not engine.check_request(policy, "GET", "https://1.attacker1.example").allowed


def test_a_flood_of_refused_exact_origins_allocates_nothing_lasting(
        engine: ModuleType) -> None:
    policy = Policy(allow_origins=["https://app.example.com", "https://*.example.org"])
    count = SMALL_FLOOD
    before = settle(engine, policy)
    allowed = _flood(engine, policy, count)
    gc.collect()
    assert allowed == 0
    assert rss_bytes() - before < budget(count)


def _header_flood(engine: ModuleType, policy: Policy, count: int,
                  start: int = 0) -> None:
    check = engine.check_request
    for i in range(start, start + count):
        d = check(policy, "OPTIONS", "https://app.example.com", "GET",
                  f"x-a{i:x}, x-b{i:x}, x-{'c' * (i & 511)}")
        assert d.allowed


def test_distinct_request_header_values_keep_memory_flat(engine: ModuleType) -> None:
    policy = Policy(allow_origins=["https://app.example.com"], allow_headers="*")
    count = SMALL_FLOOD
    _header_flood(engine, policy, WARM_UP, start=WARM_UP_START)
    gc.collect()
    before = rss_bytes()
    _header_flood(engine, policy, count)
    gc.collect()
    assert rss_bytes() - before < budget(count)


def test_the_flood_really_misses_the_cache(engine: ModuleType) -> None:
    # Guard for the tests above: the origins are distinct, so the cache
    # evicts; were they repeated, the test would prove nothing.
    policy = _regex_policy()
    dynamic = policy._tables.dynamic
    assert dynamic is not None
    _flood(engine, policy, 3 * DEFAULT_CACHE_SIZE)
    assert dynamic.cache_len() == DEFAULT_CACHE_SIZE
