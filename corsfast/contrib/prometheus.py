"""Export a middleware's decision counters to Prometheus.

>>> from prometheus_client import REGISTRY
>>> from corsfast.contrib.prometheus import CORSCollector
>>> REGISTRY.register(CORSCollector(app, name="api"))

The middleware already counts its decisions (``middleware.stats()``, see
docs/observability.md); this module only reads those counts when Prometheus
scrapes, so it adds nothing to the request path. It is a custom collector:
at each scrape, ``collect()`` turns ``stats()`` into one counter family,

``corsfast_decisions_total{middleware, kind, reason, route}``

with ``kind`` one of ``preflight``, ``actual``, ``websocket``, ``reason`` a
:class:`corsfast.Reason` name and ``route`` the router prefix that decided
(``""`` for a middleware with a single policy, and under a router for
decisions no route in force accounts for). The series add up to the
middleware's total, so summing over ``route`` counts each decision once.
No label is ever an origin: origins are chosen by clients, and a label per
origin would let anyone grow the scrape without bound.

A registry refuses two collectors that export the same metric name, so one
collector serves every middleware of a process: give it a mapping of name
to middleware. Given ``watch`` (a :class:`corsfast.Watch`, or several), it
also exports ``corsfast_policy_file_loads_total{file, result}``, with
``result`` ``in_force`` or ``refused``: alert on the second.

``prometheus_client`` is imported when a collector is built, never by
``import corsfast``; ``pip install 'corsfast[prometheus]'`` installs it.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Sequence, Union

__all__ = ["CORSCollector"]

KINDS = ("preflight", "actual", "websocket")
DECISIONS = "corsfast_decisions"
LOADS = "corsfast_policy_file_loads"


def _families() -> Any:
    try:
        from prometheus_client.core import CounterMetricFamily
    except ImportError as exc:
        raise ImportError(
            "corsfast.contrib.prometheus needs the prometheus_client package: "
            "pip install 'corsfast[prometheus]'") from exc
    return CounterMetricFamily


class CORSCollector:
    """A ``prometheus_client`` collector of corsfast decision counts.

    ``CORSCollector(middleware, name="api")`` for one middleware,
    ``CORSCollector({"api": api, "admin": admin})`` for several; each
    middleware is anything with ``stats()`` in the shape the corsfast
    middleware and drop-ins return. ``watch`` adds the policy-file load
    counts of one or more :class:`corsfast.Watch` handles.
    """

    def __init__(self, middleware: Any, name: str = "default", *,
                 watch: Union[Any, Sequence[Any], None] = None) -> None:
        self._counter = _families()
        if isinstance(middleware, Mapping):
            named = {str(k): v for k, v in middleware.items()}
        else:
            named = {str(name): middleware}
        for label, m in named.items():
            if not callable(getattr(m, "stats", None)):
                raise TypeError(f"CORSCollector: {label!r} ({type(m).__name__}) has "
                                f"no stats(); give a corsfast middleware or drop-in")
        self._middleware = named
        if watch is None:
            watches: tuple[Any, ...] = ()
        elif isinstance(watch, (list, tuple)):
            watches = tuple(watch)
        else:
            watches = (watch,)
        self._watches = watches

    def describe(self) -> list[Any]:
        """The families, without samples: what a registry checks for
        clashes when the collector is registered (no ``stats()`` call)."""
        return [self._decisions(), *([self._loads()] if self._watches else [])]

    def collect(self) -> Iterator[Any]:
        """The families with their samples, read from ``stats()`` now."""
        decisions = self._decisions()
        for label, m in self._middleware.items():
            for kind, reason, route, count in samples(m.stats()):
                decisions.add_metric([label, kind, reason, route], count)
        yield decisions
        if self._watches:
            loads = self._loads()
            for handle in self._watches:
                loads.add_metric([handle.path, "in_force"], handle.reloads)
                loads.add_metric([handle.path, "refused"], handle.refusals)
            yield loads

    def _decisions(self) -> Any:
        return self._counter(
            DECISIONS, "CORS decisions of a corsfast middleware, by kind, "
                       "reason and route", labels=["middleware", "kind", "reason", "route"])

    def _loads(self) -> Any:
        return self._counter(
            LOADS, "Versions of a watched policy file put in force or refused",
            labels=["file", "result"])


def samples(stats: Mapping[str, Any]) -> Iterator[tuple[str, str, str, int]]:
    """(kind, reason, route, count) for each count in a ``stats()`` dict.

    ``stats()`` gives totals since the middleware was built, and under a
    router the counts of each route in force. Each route in force is a
    series of its own; route ``""`` holds the rest of the total: every
    decision under a single policy, and those made before a router was put
    in force or under a route since removed. So the series always add up
    to the total, each decision counted once.
    """
    routes: Mapping[str, Any] = stats.get("routes") or {}
    for kind in KINDS:
        rest = dict(stats.get(kind, {}))
        for prefix, per_route in routes.items():
            for reason, count in per_route.get(kind, {}).items():
                yield kind, str(reason), str(prefix), int(count)
                rest[reason] = rest.get(reason, 0) - count
        for reason, count in rest.items():
            if count > 0 or not routes:
                yield kind, str(reason), "", int(count)
