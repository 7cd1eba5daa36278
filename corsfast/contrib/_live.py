"""Live policies and observability on the drop-ins (docs/spec.md "Live
policies (for gateways)", "Observability").

The drop-ins reuse the plain middleware's pieces (corsfast/_live.py):
``Controls`` builds each ``Live`` value and keeps the counters across
reconfigures, ``Reporter`` logs a refusal, calls ``on_refusal`` and builds
the ``debug`` body, ``Shadow`` reports disagreements. Those read a request
from a WSGI environ; a drop-in that has no environ (Falcon's ASGI request)
hands them the few values they read, as a dict of the same keys, built
only for a request that is refused or shadowed.
"""

from __future__ import annotations

from typing import Any, Optional

from .._policy import Policy

__all__ = ["environ_of", "merged_stats", "tally_for"]


def tally_for(live: Any, policy: Optional[Policy]) -> Any:
    """The counters a decision under ``policy`` goes to: its route's when
    ``live`` is a router that lists it, else the Live's own."""
    routes = live.routes
    if routes and policy is not None:
        return routes.get(policy._matcher, live.tally)
    return live.tally


def environ_of(method: Any, origin: Any, path: Any, asked: tuple[Any, ...]) -> dict[str, Any]:
    """The request values ``Reporter.wsgi`` and ``Shadow.wsgi`` read, keyed
    as in a WSGI environ. ``asked`` is the preflight's three
    ``Access-Control-Request-*`` values, or empty."""
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path}
    if origin is not None:
        environ["HTTP_ORIGIN"] = origin
    names = ("HTTP_ACCESS_CONTROL_REQUEST_METHOD", "HTTP_ACCESS_CONTROL_REQUEST_HEADERS",
             "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK")
    for name, value in zip(names, asked):
        if value is not None:
            environ[name] = value
    return environ


def merged_stats(*stats: dict[str, Any]) -> dict[str, Any]:
    """Several ``stats()`` dicts summed into one of the same shape (a
    drop-in that runs two middleware counts in both)."""
    out: dict[str, Any] = {}
    for one in stats:
        for kind, counts in one.items():
            if kind == "routes":
                routes = out.setdefault("routes", {})
                for prefix, by_kind in counts.items():
                    routes[prefix] = merged_stats(routes.get(prefix, {}), by_kind)
                continue
            into = out.setdefault(kind, {})
            for reason, n in counts.items():
                into[reason] = into.get(reason, 0) + n
    return out
