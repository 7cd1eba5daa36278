"""OriginSet: origins added and removed while the server runs (docs/spec.md
"Origin sets"; docs/origin-sets.md).

A gateway whose tenants register their own domains cannot rebuild a Policy
per registration: a policy is an immutable value, compiled once. Instead
``Policy(..., allow_origin_set=origins)`` holds an OriginSet by reference,
and each request consults it after the policy's own tables.

How readers and writers share it, without a lock on the request path:

- The members live in four containers, one per kind of entry (exact
  origins, ``host:*``, ``*.base[:port]``, ``*.base:*``), keyed exactly as a
  Policy's own tables are (corsfast/_tables.py), held together in one
  tuple that ``_members`` points to.
- A reader (either engine, per request) reads ``_members`` once and then
  makes single membership tests on those containers: no iteration, no
  lock, no state of its own. One lookup is one hash probe for an exact
  origin, one per label of the host for a pattern.
- ``add`` and ``discard`` change one member of the current containers in
  place: one ``set.add`` / ``set.discard``, atomic under the GIL and
  internally locked on free-threaded builds.
- ``replace`` validates every new entry, builds new containers, and swaps
  ``_members`` in one reference assignment: a reader holds the old tuple
  or the new one, never a mix.
- Writers serialise among themselves with a lock, so an ``add`` never
  lands in containers that a concurrent ``replace`` has just retired.

Entries are validated on the way in with the rules of docs/spec.md "Origin
entries", as if credentials were on (the set may serve a credentialed
policy): plain-http origins off loopback and public-suffix patterns are
refused unless the set was built with the opt-in by name. Nothing about a
member is cached anywhere: the engines never cache a decision that the
set took part in (see docs/origin-sets.md), so a ``discard`` is seen by
the very next request.
"""

from __future__ import annotations

import threading
from typing import Any, Iterable, Iterator, Optional

from ._checks import check_bool
from ._errors import ConfigError
from ._origins import (
    ANY,
    ANY_PORT,
    EXACT,
    SUB_ANY_PORT,
    SUBDOMAIN,
    EntryError,
    credentialed_risk,
    parse_origin_entry,
)

__all__ = ["Members", "OriginSet"]

# The containers, by index in ``_members`` (the engines read them so).
EXACT_SLOT, ANY_PORT_SLOT, SUBDOMAIN_SLOT, SUB_ANY_PORT_SLOT = range(4)
_SLOT = {EXACT: EXACT_SLOT, ANY_PORT: ANY_PORT_SLOT, SUBDOMAIN: SUBDOMAIN_SLOT,
         SUB_ANY_PORT: SUB_ANY_PORT_SLOT}
Members = tuple[set[str], set[str], set[str], set[str]]

# How credentials come in, for the wording of a refused entry.
_WHERE = "in an origin set (which may serve a policy with allow_credentials=True)"
_REPR_LIMIT = 8  # members listed by repr; a larger set shows its size


class OriginSet:
    """A mutable set of origin entries that a Policy consults per request.

    ``entries`` are exact origins (``https://app.example.com``) and patterns
    (``https://*.example.com``, ``http://localhost:*``), by the rules of
    docs/spec.md "Origin entries". A bad entry raises
    :class:`corsfast.ConfigError` naming it and its fix. Lookups
    (``origin in s``, and the engines' per request) take no lock.
    """

    __slots__ = ("_members", "_lock", "_insecure_ok", "_suffix_ok", "__weakref__")

    _members: Members

    def __init__(self, entries: Iterable[str] = (), *,
                 allow_insecure_origins: bool = False,
                 allow_public_suffix_patterns: bool = False) -> None:
        errors: list[str] = []
        self._insecure_ok = check_bool("allow_insecure_origins",
                                       allow_insecure_origins, errors)
        self._suffix_ok = check_bool("allow_public_suffix_patterns",
                                     allow_public_suffix_patterns, errors)
        if errors:
            raise ConfigError(errors, "origin set")
        self._lock = threading.Lock()
        self._members = self._build(entries)

    # -- the opt-ins, fixed at construction --------------------------------------

    @property
    def allow_insecure_origins(self) -> bool:
        """Whether plain-http origins off loopback are accepted."""
        return self._insecure_ok

    @property
    def allow_public_suffix_patterns(self) -> bool:
        """Whether patterns over a public suffix (``*.github.io``) are accepted."""
        return self._suffix_ok

    # -- writers --------------------------------------------------------------------

    def add(self, entry: str) -> None:
        """Add one entry (validated first; adding a member again is a no-op)."""
        slot, key = self._one(entry, check_risk=True)
        with self._lock:
            self._members[slot].add(key)

    def discard(self, entry: str) -> None:
        """Remove one entry if it is a member. An entry that could never be
        one (misspelt, not canonical) is a ConfigError rather than a silent
        no-op, so that a removal never fails quietly."""
        slot, key = self._one(entry, check_risk=False)
        with self._lock:
            self._members[slot].discard(key)

    def replace(self, entries: Iterable[str]) -> None:
        """Make ``entries`` the members, in one step: every entry is validated
        first (one bad entry changes nothing), then one reference swap, so a
        reader sees the old members or the new ones, never a mix."""
        members = self._build(entries)
        with self._lock:
            self._members = members

    def copy(self) -> OriginSet:
        """A new, independent set with the same members and opt-ins."""
        new = OriginSet.__new__(OriginSet)
        new._insecure_ok = self._insecure_ok
        new._suffix_ok = self._suffix_ok
        new._lock = threading.Lock()
        members = self._members
        new._members = (set(members[0]), set(members[1]), set(members[2]),
                        set(members[3]))
        return new

    # -- readers: no lock --------------------------------------------------------------

    def __contains__(self, origin: object) -> bool:
        """Whether a request's Origin value is allowed by a member, exactly as
        a Policy's check decides it (a value that is not a serialized origin
        is in no set)."""
        from ._engine_py import _origin_syntax_ok as origin_syntax_ok
        from ._engine_py import origin_in_members

        if type(origin) is not str and isinstance(origin, str):
            origin = str.__str__(origin)
        if type(origin) is not str or not origin_syntax_ok(origin):
            return False
        return origin_in_members(self._members, origin)

    def __len__(self) -> int:
        members = self._members
        return len(members[0]) + len(members[1]) + len(members[2]) + len(members[3])

    def __iter__(self) -> Iterator[str]:
        """The members as canonical entries (``https://*.example.com``), in no
        particular order; a snapshot of each container as it is reached."""
        members = self._members
        for slot in range(4):
            for key in tuple(members[slot]):
                yield _entry(slot, key)

    def __repr__(self) -> str:
        opt_ins = "".join(f", {name}=True" for name, on in (
            ("allow_insecure_origins", self._insecure_ok),
            ("allow_public_suffix_patterns", self._suffix_ok)) if on)
        size = len(self)
        if size > _REPR_LIMIT:
            return f"OriginSet(<{size} entries>{opt_ins})"
        return f"OriginSet({sorted(self)!r}{opt_ins})"

    # -- copies and pickles: a snapshot of the members ------------------------------

    def __copy__(self) -> OriginSet:
        return self.copy()

    def __deepcopy__(self, memo: dict[int, Any]) -> OriginSet:
        return self.copy()

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (_rebuild, (tuple(self), self._insecure_ok, self._suffix_ok))

    # -- validation -------------------------------------------------------------------

    def _build(self, entries: Iterable[str]) -> Members:
        if isinstance(entries, (str, bytes)):
            raise ConfigError([
                f"entries: expected an iterable of origins, got a single "
                f"{type(entries).__name__}; write OriginSet([{entries!r}])"],
                "origin set")
        try:
            items = list(entries)
        except TypeError:
            raise ConfigError([f"entries: expected an iterable of origins, got "
                               f"{type(entries).__name__}"], "origin set") from None
        errors: list[str] = []
        members: Members = (set(), set(), set(), set())
        for i, entry in enumerate(items):
            parsed = self._parse(entry, f"entries[{i}]", errors, check_risk=True)
            if parsed is not None:
                members[parsed[0]].add(parsed[1])
        if errors:
            raise ConfigError(errors, "origin set entries")
        return members

    def _one(self, entry: str, check_risk: bool) -> tuple[int, str]:
        errors: list[str] = []
        parsed = self._parse(entry, "entry", errors, check_risk)
        if parsed is None:
            raise ConfigError(errors, "origin set entry")
        return parsed

    def _parse(self, entry: object, label: str, errors: list[str],
               check_risk: bool) -> Optional[tuple[int, str]]:
        """(container index, key) of a valid entry; otherwise its problem is
        appended to ``errors``, worded as Policy words it."""
        try:
            parsed = parse_origin_entry(entry)
        except EntryError as exc:
            errors.append(f"{label} {entry!r}: {exc}")
            return None
        if parsed.kind == ANY:
            errors.append(
                f"{label} '*': an origin set lists origins; for every origin use "
                f"Policy(allow_origins='*') (never with credentials)")
            return None
        if parsed.key == "null":
            errors.append(
                f"{label} 'null': sandboxed iframes, data: URLs and local files "
                f"send it, so any website can obtain it; an origin set holds "
                f"domains, so list 'null' in the policy's allow_origins if you "
                f"mean it")
            return None
        if check_risk:
            risk = credentialed_risk(str(entry), parsed, self._insecure_ok,
                                     self._suffix_ok, where=_WHERE)
            if risk:
                errors.append(f"{label} {entry!r}: {risk[1]}; {risk[2]}, or build "
                              f"the OriginSet with {risk[0]}=True if you mean it")
                return None
        return _SLOT[parsed.kind], parsed.key


def _entry(slot: int, key: str) -> str:
    """The canonical entry for a container's key (the inverse of the keys
    corsfast/_origins.py gives)."""
    if slot == EXACT_SLOT:
        return key
    if slot == ANY_PORT_SLOT:
        return key + ":*"
    scheme, _, rest = key.partition("://")
    pattern = f"{scheme}://*.{rest}"
    return pattern + ":*" if slot == SUB_ANY_PORT_SLOT else pattern


def _rebuild(entries: tuple[str, ...], insecure_ok: bool, suffix_ok: bool) -> OriginSet:
    """Unpickle an OriginSet: a new set of the pickled members, validated again."""
    return OriginSet(entries, allow_insecure_origins=insecure_ok,
                     allow_public_suffix_patterns=suffix_ok)
