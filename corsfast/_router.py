"""Per-path policies: the longest path prefix wins, on segment boundaries.

``Router({"/api": api_policy, "/public": open_policy})``: ``/api`` matches
``/api`` and ``/api/users`` but not ``/apix``. Matching is case-sensitive and
runs on the path exactly as the server gives it (ASGI ``scope["path"]``,
WSGI ``PATH_INFO``), which servers have already percent-decoded once; it is
never decoded again. A path no prefix matches has no policy: adapters pass
such requests through untouched.
"""

from __future__ import annotations

from typing import Mapping, Optional

from ._policy import ConfigError, Policy

__all__ = ["Router"]


class Router:
    """Pick a :class:`Policy` by path prefix. Immutable once built."""

    __slots__ = ("_table", "_root")

    _table: dict[str, Policy]
    _root: Optional[Policy]

    def __init__(self, routes: Mapping[str, Policy]) -> None:
        errors: list[str] = []
        table: dict[str, Policy] = {}
        root: Optional[Policy] = None
        for prefix, policy in dict(routes).items():
            where = f"routes[{prefix!r}]"
            if not isinstance(prefix, str) or not prefix.startswith("/"):
                errors.append(f"{where}: a prefix is a path starting with '/'")
                continue
            if not isinstance(policy, Policy):
                errors.append(f"{where}: expected a corsfast.Policy, got "
                              f"{type(policy).__name__}")
                continue
            key = prefix.rstrip("/")
            if not key:
                root = policy
            elif key in table:
                errors.append(f"{where}: the same prefix as {key!r}; list it once")
            else:
                table[key] = policy
        if errors:
            raise ConfigError(errors)
        object.__setattr__(self, "_table", table)
        object.__setattr__(self, "_root", root)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a Router is immutable; build a new one")

    def lookup(self, path: str) -> Optional[Policy]:
        """The policy for ``path``, or None when no prefix matches."""
        table = self._table
        if table:
            candidate = path
            while candidate:
                policy = table.get(candidate)
                if policy is not None:
                    return policy
                cut = candidate.rfind("/")
                if cut <= 0:
                    break
                candidate = candidate[:cut]
        return self._root

    def routes(self) -> dict[str, Policy]:
        """Prefix -> policy, longest prefix first."""
        items = sorted(self._table.items(), key=lambda kv: -len(kv[0]))
        if self._root is not None:
            items.append(("/", self._root))
        return dict(items)
