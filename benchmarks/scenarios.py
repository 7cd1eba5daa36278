"""Every benchmark scenario: the four of ``corsfast bench`` and four more.

The runner in the package (``corsfast/_bench.py``) holds the simple allowed
request, the preflight with three headers, the refused origin and the
request without ``Origin``; the suites here add policies of 10,000 and
100,000 exact origins, subdomain patterns and a hostile 64 KiB
``Access-Control-Request-Headers``.
"""

from __future__ import annotations

from functools import cache

from corsfast._bench import ORIGIN, Scenario
from corsfast._bench import SCENARIOS as BASIC

HOSTILE_SIZE = 64 * 1024
THREE = "content-type, x-token, x-request-id"


@cache
def many_origins(count: int) -> tuple[str, ...]:
    """``count`` distinct exact origins; requests send the last one."""
    return tuple(f"https://tenant{i:06d}.example.com" for i in range(count))


def hostile_request_headers(size: int = HOSTILE_SIZE) -> str:
    """An Access-Control-Request-Headers value of exactly ``size`` bytes:
    allowed names over and over, then one name the policy does not allow,
    so a checker that reads it all must still refuse."""
    tail = ", x-evil"
    head = ("x-token, " * ((size - len(tail)) // len("x-token, "))).rstrip(" ").rstrip(",")
    return head + " " * (size - len(tail) - len(head)) + tail


SCENARIOS: tuple[Scenario, ...] = BASIC + (
    Scenario("origins-10k", "10,000 exact origins", "GET", many_origins(10_000)[-1],
             "allow", exact=many_origins(10_000)),
    Scenario("origins-100k", "100,000 exact origins", "GET", many_origins(100_000)[-1],
             "allow", exact=many_origins(100_000)),
    Scenario("subdomains", "subdomain patterns", "GET", "https://eu.api.example.com",
             "allow", exact=(), patterns=("https://*.example.com", "https://*.example.org")),
    Scenario("hostile", "hostile 64 KiB Access-Control-Request-Headers", "OPTIONS",
             ORIGIN, "refuse", "PUT", hostile_request_headers()),
)
SCENARIO = {s.key: s for s in SCENARIOS}
