"""Regex and predicate origin matching behind a bounded cache.

Both engines call the same matcher: the regex and the predicate are Python
objects either way, so there is one implementation of this logic.

The cache maps an origin string to True/False. It holds at most
``maxsize`` entries; when full, the oldest entry is dropped before a new
one is stored, so attacker-chosen origins cannot grow memory without
bound. Origins reaching the matcher are already checked to be at most
1024 printable ASCII characters, so the worst case is roughly
``maxsize * 1.1 KiB`` (about 4.5 MiB at the default size).
"""

from __future__ import annotations

import re
from typing import Callable, Optional

__all__ = ["DynamicMatcher", "DEFAULT_CACHE_SIZE"]

DEFAULT_CACHE_SIZE = 4096


class DynamicMatcher:
    """Full-match regex and/or predicate, with a bounded result cache."""

    __slots__ = ("regex", "predicate", "maxsize", "_cache")

    def __init__(
        self,
        regex: Optional[re.Pattern[str]],
        predicate: Optional[Callable[[str], object]],
        maxsize: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self.regex = regex
        self.predicate = predicate
        self.maxsize = maxsize
        self._cache: dict[str, bool] = {}

    def __call__(self, origin: str) -> bool:
        cache = self._cache
        hit = cache.get(origin)
        if hit is not None:
            return hit
        result = self._evaluate(origin)
        if len(cache) >= self.maxsize:
            try:
                del cache[next(iter(cache))]
            except (KeyError, RuntimeError, StopIteration):
                # Another thread changed the cache under us: drop it all
                # rather than store past the bound.
                cache.clear()
        cache[origin] = result
        return result

    def _evaluate(self, origin: str) -> bool:
        if self.regex is not None:
            try:
                if self.regex.fullmatch(origin) is not None:
                    return True
            except Exception:
                return False
        if self.predicate is not None:
            try:
                return bool(self.predicate(origin))
            except Exception:
                # A predicate that fails on request data refuses the origin:
                # check_request never raises because of what a client sent.
                return False
        return False

    def cache_len(self) -> int:
        """How many origins are cached now (for tests and monitoring)."""
        return len(self._cache)
