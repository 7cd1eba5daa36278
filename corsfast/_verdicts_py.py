"""The origin resolver's verdict cache: the pure-Python twin.

An origin resolver (``corsfast/_resolver.py``) asks a slow source (a
tenants' database) whether an origin may be allowed, and keeps each answer
here for a while: True for the positive time-to-live, False for the
negative one. ``lookup`` runs on the request path of every request a
policy's own tables refuse, so it is one dict lookup and one clock compare;
``src/corsfast/_verdicts_c.pyx`` is the same class compiled, and both give
the same answers for every sequence of calls.

Bounded memory. At most ``maxsize`` entries are held. Entries of each kind
sit in insertion order, which is also expiry order (one kind has one
time-to-live), so expired entries are dropped from the front as new ones
arrive. When the cache is full, the oldest refused ("negative") entry makes
room first; an allowed ("positive") entry is dropped only when no negative
one is left. Refused verdicts are what a stream of attacker-chosen origins
produces, so such a stream recycles the negative entries among themselves
and never pushes out more than one tenant's entry at a time.

Threads. ``lookup`` takes no lock (a dict read is atomic); the writing
methods (``store``, ``discard``, ``clear``) must be called under one lock
that the owner holds. The hit counter is bumped without a lock, so under
threads it is approximate.
"""

from __future__ import annotations

from collections import OrderedDict
from time import monotonic
from typing import Optional

__all__ = ["VerdictCache", "clock"]

clock = monotonic  # the clock ``store`` and ``lookup`` read, in seconds


class VerdictCache:
    """Origin -> (verdict, expiry): at most ``maxsize`` entries."""

    __slots__ = ("maxsize", "hits", "_verdicts", "_allowed", "_refused")

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.hits = 0
        # origin -> (verdict, expires at); what lookup reads
        self._verdicts: dict[str, tuple[bool, float]] = {}
        # the same entries by kind, oldest first: origin -> expires at
        self._allowed: OrderedDict[str, float] = OrderedDict()
        self._refused: OrderedDict[str, float] = OrderedDict()

    def lookup(self, origin: object) -> Optional[bool]:
        """The fresh cached verdict for ``origin``, or None."""
        if type(origin) is not str:
            return None
        entry = self._verdicts.get(origin)
        if entry is not None and entry[1] > monotonic():
            self.hits += 1
            return entry[0]
        return None

    def get(self, origin: str) -> Optional[bool]:
        """``lookup`` without counting a hit (for a second look)."""
        entry = self._verdicts.get(origin)
        if entry is not None and entry[1] > monotonic():
            return entry[0]
        return None

    def store(self, origin: str, verdict: bool, ttl: float) -> None:
        """Cache ``verdict`` for ``ttl`` seconds from now."""
        verdict = bool(verdict)
        now = monotonic()
        self._forget(origin)
        self._expire(now)
        verdicts = self._verdicts
        while len(verdicts) >= self.maxsize:
            oldest = self._refused if self._refused else self._allowed
            victim, _ = oldest.popitem(last=False)
            del verdicts[victim]
        expires = now + ttl
        (self._allowed if verdict else self._refused)[origin] = expires
        verdicts[origin] = (verdict, expires)

    def discard(self, origin: str) -> bool:
        """Drop ``origin``'s entry; whether there was one."""
        return self._forget(origin)

    def clear(self) -> None:
        self._verdicts.clear()
        self._allowed.clear()
        self._refused.clear()

    def counts(self) -> tuple[int, int]:
        """(allowed entries, refused entries) held now, expired ones included."""
        return len(self._allowed), len(self._refused)

    def __len__(self) -> int:
        return len(self._verdicts)

    def _forget(self, origin: str) -> bool:
        entry = self._verdicts.pop(origin, None)
        if entry is None:
            return False
        (self._allowed if entry[0] else self._refused).pop(origin, None)
        return True

    def _expire(self, now: float) -> None:
        """Drop expired entries: they sit at the front of each kind."""
        verdicts = self._verdicts
        for queue in (self._allowed, self._refused):
            while queue:
                origin = next(iter(queue))
                if queue[origin] > now:
                    break
                del queue[origin]
                del verdicts[origin]
