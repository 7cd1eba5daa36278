"""Policy: validate a CORS configuration once and compile it into tables.

Everything here runs at construction. A bad configuration raises one
:class:`ConfigError` naming every bad entry and its fix. A good one becomes
engine-neutral :class:`~corsfast._tables.Tables`, from which the live
engine builds the matcher the Policy holds. A ``Policy`` is an immutable
value: equal arguments make equal policies, and copies, deep copies and
pickles behave the same on both engines.

The one part that is not a value is an ``allow_origin_set``: like the
predicate it is held by reference and compared by identity. Copies and
deep copies of a policy share its set (a copy is the policy itself); a
pickled policy carries a snapshot of the set's members and unpickles with
a new set of its own, unconnected to the running one.

(About 490 lines: the constructor checks every argument in the order
docs/spec.md lists the rules, so that one ConfigError can name them all;
the warnings a policy raises at construction, and the helper the
middleware use to take a policy or its arguments, sit beside it.)
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Optional, TypedDict, Union

from . import _engine
from ._checks import check_bool as _check_bool
from ._checks import compile_regex as _compile_regex
from ._checks import header_names as _header_names
from ._checks import methods as _methods
from ._checks import origins as _origins
from ._dialect import CORSFAST, Dialect
from ._dynamic import DynamicMatcher
from ._errors import ConfigError
from ._origin_set import OriginSet
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
from ._tables import Tables, compile_tables

if TYPE_CHECKING:
    from ._engine_py import Decision
    from ._router import Router

__all__ = ["ConfigError", "Policy", "PolicyOptions", "PolicyWarning",
           "policy_from_arguments", "warn_if_no_origin"]

StrOrSeq = Union[str, Iterable[str]]


# -- Policy -------------------------------------------------------------------

# The arguments, in order: what repr, equality, hashing and pickling use.
_ARGUMENTS = (
    "allow_origins", "allow_origin_regex", "allow_origin_predicate", "allow_origin_set",
    "allow_methods", "allow_headers", "expose_headers", "allow_credentials",
    "max_age", "allow_private_network", "preflight_status", "allow_header_regex",
    "allow_insecure_origins", "allow_public_suffix_patterns", "dialect",
)
# Shown in repr only when they differ from their default.
_OPT_INS = ("allow_header_regex", "allow_insecure_origins", "allow_public_suffix_patterns")


class PolicyOptions(TypedDict, total=False):
    """:class:`Policy`'s arguments as keywords, for the middleware that build
    a Policy from ``**policy_kwargs`` (``Unpack[PolicyOptions]``, PEP 692):
    a type checker then reports a misspelt or mistyped one. The names and
    types are ``Policy.__init__``'s (tests/test_typing.py checks)."""

    allow_origins: StrOrSeq
    allow_origin_regex: Union[str, re.Pattern[str], None]
    allow_origin_predicate: Optional[Callable[[str], object]]
    allow_origin_set: Optional[OriginSet]
    allow_methods: StrOrSeq
    allow_headers: StrOrSeq
    expose_headers: StrOrSeq
    allow_credentials: bool
    max_age: Optional[int]
    allow_private_network: bool
    preflight_status: int
    allow_header_regex: Union[str, re.Pattern[str], None]
    allow_insecure_origins: bool
    allow_public_suffix_patterns: bool
    dialect: Dialect


class Policy:
    """A validated, compiled CORS policy (docs/spec.md "Public API",
    "Origin entries", "Methods and headers in a policy").

    ``dialect`` says how a drop-in's answers differ from corsfast's own
    (corsfast/_dialect.py); leave it out for exactly what docs/spec.md says.
    ``allow_origin_set`` is a :class:`corsfast.OriginSet` whose members may
    change while requests run (docs/origin-sets.md); it is consulted after
    the policy's own entries and before the regex and the predicate.
    """

    __slots__ = (*_ARGUMENTS, "_tables", "_matcher", "__weakref__")

    allow_origins: tuple[str, ...]
    allow_origin_regex: Optional[re.Pattern[str]]
    allow_origin_predicate: Optional[Callable[[str], object]]
    allow_origin_set: Optional[OriginSet]
    allow_methods: Union[str, tuple[str, ...]]
    allow_headers: Union[str, tuple[str, ...]]
    expose_headers: Union[str, tuple[str, ...]]
    allow_credentials: bool
    max_age: Optional[int]
    allow_private_network: bool
    preflight_status: int
    allow_header_regex: Optional[re.Pattern[str]]
    allow_insecure_origins: bool
    allow_public_suffix_patterns: bool
    dialect: Dialect
    _tables: Tables
    _matcher: Any

    def __init__(
        self,
        allow_origins: StrOrSeq = (),
        allow_origin_regex: Union[str, re.Pattern[str], None] = None,
        allow_origin_predicate: Optional[Callable[[str], object]] = None,
        allow_methods: StrOrSeq = ("GET", "HEAD", "POST"),
        allow_headers: StrOrSeq = (),
        expose_headers: StrOrSeq = (),
        allow_credentials: bool = False,
        max_age: Optional[int] = None,
        allow_private_network: bool = False,
        preflight_status: int = 204,
        *,
        allow_origin_set: Optional[OriginSet] = None,
        allow_header_regex: Union[str, re.Pattern[str], None] = None,
        allow_insecure_origins: bool = False,
        allow_public_suffix_patterns: bool = False,
        dialect: Dialect = CORSFAST,
    ) -> None:
        errors: list[str] = []
        credentials = _check_bool("allow_credentials", allow_credentials, errors)
        insecure_ok = _check_bool("allow_insecure_origins", allow_insecure_origins, errors)
        suffix_ok = _check_bool("allow_public_suffix_patterns",
                                allow_public_suffix_patterns, errors)
        private_network = _check_bool(
            "allow_private_network", allow_private_network, errors)
        if not isinstance(dialect, Dialect):
            errors.append(f"dialect: expected a corsfast Dialect, got "
                          f"{type(dialect).__name__}")
            dialect = CORSFAST
        errors.extend(dialect.problems())

        # "Origin entries"
        any_origin = False
        exact: set[str] = set()
        any_port: set[str] = set()
        subdomains: set[str] = set()
        sub_any_port: set[str] = set()
        canonical: list[str] = []
        for i, entry in enumerate(_origins(allow_origins, errors)):
            if isinstance(entry, str) and entry in dialect.opaque_origins:
                exact.add(entry)  # the dialect names it: compared as given
                canonical.append(entry)
                continue
            try:
                parsed = parse_origin_entry(entry)
            except EntryError as exc:
                errors.append(f"allow_origins[{i}] {entry!r}: {exc}")
                continue
            kind, key = parsed
            if credentials:
                risk = credentialed_risk(entry, parsed, insecure_ok, suffix_ok)
                if risk and dialect.insecure_origins_with_credentials and \
                        risk[0] == "allow_insecure_origins":
                    warnings.warn(f"allow_origins[{i}] {entry!r}: {risk[1]}; "
                                  f"{dialect.name} accepts it, and so does this "
                                  f"drop-in", PolicyWarning, stacklevel=_caller_level())
                elif risk:
                    errors.append(f"allow_origins[{i}] {entry!r}: {risk[1]}; "
                                  f"{risk[2]}, or pass {risk[0]}=True if you "
                                  f"mean it")
            canonical.append(entry if kind != EXACT else key)
            if kind == ANY:
                any_origin = True
            elif kind == EXACT:
                exact.add(key)
            elif kind == ANY_PORT:
                any_port.add(key)
            elif kind == SUBDOMAIN:
                subdomains.add(key)
            elif kind == SUB_ANY_PORT:
                sub_any_port.add(key)
        # A "*" echoes every origin under a dialect that says so; with
        # credentials only under one that says so by name, else an error.
        every_origin = any_origin and (
            dialect.reflect_any_origin_with_credentials if credentials
            else dialect.star_echoes_origin)
        if any_origin and credentials and not every_origin:
            errors.append(
                "allow_origins '*' with allow_credentials=True: browsers refuse "
                "a wildcard origin with credentials; list the trusted origins "
                "(patterns such as 'https://*.example.com' work) or turn "
                "credentials off"
            )

        # "Regex and predicate"
        regex = _compile_regex("allow_origin_regex", allow_origin_regex, errors)
        if allow_origin_predicate is not None and not callable(allow_origin_predicate):
            errors.append("allow_origin_predicate: expected a callable "
                          "(origin: str) -> bool")
            allow_origin_predicate = None
        # "Origin sets": validated entry by entry as they are added
        if allow_origin_set is not None and not isinstance(allow_origin_set, OriginSet):
            errors.append(f"allow_origin_set: expected a corsfast.OriginSet, got "
                          f"{type(allow_origin_set).__name__}; build one with "
                          f"corsfast.OriginSet(['https://tenant.example.com'])")
            allow_origin_set = None

        # "Methods and headers in a policy"
        methods, methods_any = _methods(allow_methods, errors)
        headers, headers_given, headers_any = _header_names(
            "allow_headers", allow_headers, errors, request=True)
        header_regex = _compile_regex("allow_header_regex", allow_header_regex, errors)
        if header_regex is not None:
            # Header names match case-insensitively.
            header_regex = re.compile(header_regex.pattern,
                                      header_regex.flags | re.IGNORECASE)
        exposed, exposed_given, expose_any = _header_names(
            "expose_headers", expose_headers, errors, request=False)
        if expose_any and credentials and not dialect.expose_response_headers:
            errors.append("expose_headers '*' with allow_credentials=True: the "
                          "wildcard is literal with credentials "
                          "[https://fetch.spec.whatwg.org/#http-access-control-expose-headers]; "
                          "list the header names to expose")
        if max_age is not None and (
            isinstance(max_age, bool) or not isinstance(max_age, int)
            or not 0 <= max_age <= 86400
        ):
            errors.append(f"max_age: expected whole seconds from 0 to 86400, or "
                          f"None to omit the header; got {max_age!r}")
        if preflight_status not in (200, 204) or isinstance(preflight_status, bool):
            errors.append(f"preflight_status: expected 200 or 204, got "
                          f"{preflight_status!r}")

        if errors:
            raise ConfigError(errors)

        headers_shown = headers_given if dialect.names_as_given else headers
        exposed_shown = exposed_given if dialect.names_as_given else exposed
        set_ = object.__setattr__
        set_(self, "allow_origins", tuple(canonical))
        set_(self, "allow_origin_regex", regex)
        set_(self, "allow_origin_predicate", allow_origin_predicate)
        set_(self, "allow_origin_set", allow_origin_set)
        set_(self, "allow_methods", _listing(methods, methods_any))
        set_(self, "allow_headers", _listing(headers_shown, headers_any))
        set_(self, "expose_headers", "*" if expose_any else tuple(exposed_shown))
        set_(self, "allow_credentials", credentials)
        set_(self, "max_age", max_age)
        set_(self, "allow_private_network", private_network)
        set_(self, "preflight_status", preflight_status)
        set_(self, "allow_header_regex", header_regex)
        set_(self, "allow_insecure_origins", insecure_ok)
        set_(self, "allow_public_suffix_patterns", suffix_ok)
        set_(self, "dialect", dialect)

        dynamic = regex is not None or allow_origin_predicate is not None
        tables = compile_tables(
            any_origin=any_origin and not every_origin,
            every_origin=every_origin,
            exact=frozenset(exact),
            any_port=frozenset(any_port),
            subdomains=frozenset(subdomains),
            sub_any_port=frozenset(sub_any_port),
            dynamic=(DynamicMatcher(regex, allow_origin_predicate)
                     if dynamic else None),
            origin_set=allow_origin_set,
            methods=methods,
            methods_any=methods_any,
            headers=headers,
            headers_as_given=headers_given,
            headers_any=headers_any,
            header_regex=None if header_regex is None else header_regex.fullmatch,
            exposed=exposed,
            exposed_as_given=exposed_given,
            expose_any=expose_any,
            credentials=credentials,
            max_age=max_age,
            private_network=private_network,
            preflight_status=preflight_status,
            dialect=dialect,
        )
        set_(self, "_tables", tables)
        set_(self, "_matcher", _engine.engine.Matcher(tables))

    def _resolving(self, verdict: Callable[[str], object]) -> Policy:
        """This policy, deciding an origin its tables, set, regex and
        predicate refuse by ``verdict(origin)`` (an origin resolver's cache:
        True, False, or None for unknown). For the middleware's use only:
        the copy compares equal to this policy and shows the same
        arguments. Its tables say that an origin's answer can change
        between requests (``origins_change``), so no engine caches a
        refusal."""
        tables = self._tables
        dynamic = tables.dynamic
        hook: Callable[[str], object] = verdict if dynamic is None else _Either(dynamic, verdict)
        copy = object.__new__(Policy)
        for name in (*_ARGUMENTS, "_tables", "_matcher"):
            object.__setattr__(copy, name, getattr(self, name))
        new_tables = tables.replaced(dynamic=hook, origins_change=True)
        object.__setattr__(copy, "_tables", new_tables)
        object.__setattr__(copy, "_matcher", _engine.engine.Matcher(new_tables))
        return copy

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> Union[Policy, Router]:
        """A Policy from a dict whose keys are Policy's arguments; a Router
        when it has a ``routes`` table. Unknown keys are errors that name the
        nearest valid key."""
        from ._config import policy_from_mapping

        return policy_from_mapping(mapping)

    @classmethod
    def from_file(cls, path: Union[str, os.PathLike[str]]) -> Union[Policy, Router]:
        """Like :meth:`from_mapping`, from a TOML or JSON file."""
        from ._config import policy_from_file

        return policy_from_file(path)

    # -- an immutable value ------------------------------------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a Policy is immutable; build a new one")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("a Policy is immutable; build a new one")

    def arguments(self) -> dict[str, Any]:
        """The arguments that rebuild this policy, canonical."""
        return {name: getattr(self, name) for name in _ARGUMENTS}

    def _key(self) -> tuple[Any, ...]:
        regex = self.allow_origin_regex
        header_regex = self.allow_header_regex
        return (
            self.allow_origins,
            None if regex is None else (regex.pattern, regex.flags),
            None if header_regex is None else (header_regex.pattern, header_regex.flags),
            id(self.allow_origin_predicate), id(self.allow_origin_set),
            self.allow_methods, self.allow_headers, self.expose_headers,
            self.allow_credentials, self.max_age, self.allow_private_network,
            self.preflight_status, self.allow_insecure_origins,
            self.allow_public_suffix_patterns, self.dialect,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Policy):
            return NotImplemented
        return (self._key() == other._key()
                and self.allow_origin_predicate is other.allow_origin_predicate
                and self.allow_origin_set is other.allow_origin_set)

    def __hash__(self) -> int:
        return hash(self._key())

    def __copy__(self) -> Policy:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Policy:
        return self

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (_rebuild, (self.arguments(),))

    def __repr__(self) -> str:
        parts = [f"allow_origins={self.allow_origins!r}"]
        for name in _ARGUMENTS[1:4]:  # regex, predicate and origin set
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value!r}")
        parts += [f"{name}={getattr(self, name)!r}" for name in _ARGUMENTS[4:]
                  if name not in (*_OPT_INS, "dialect")]
        parts += [f"{name}={getattr(self, name)!r}" for name in _OPT_INS
                  if getattr(self, name) not in (None, False)]
        if self.dialect != CORSFAST:
            parts.append(f"dialect={self.dialect!r}")
        return f"Policy({', '.join(parts)})"

    def check(
        self,
        method: Any,
        origin: Any,
        request_method: Any = None,
        request_headers: Any = None,
        request_private_network: Any = None,
    ) -> Decision:
        """Same as ``check_request(self, ...)``."""
        return _engine.check_request(
            self, method, origin, request_method, request_headers,
            request_private_network)


class _Either:
    """The policy's own regex and predicate, then a resolver's verdict."""

    __slots__ = ("first", "then")

    def __init__(self, first: Callable[[str], object], then: Callable[[str], object]) -> None:
        self.first = first
        self.then = then

    def __call__(self, origin: str) -> bool:
        return bool(self.first(origin)) or self.then(origin) is True


class PolicyWarning(UserWarning):
    """A policy that works but is almost certainly not what was meant: one
    that can allow no origin, or a drop-in's setting that corsfast's own
    rules refuse (docs/spec.md "Origin entries")."""

    __module__ = "corsfast"


def policy_from_arguments(who: str, policy: Any, policy_kwargs: Mapping[str, Any]) -> Any:
    """What a middleware or drop-in was given: ``policy``, or a Policy built
    from its keyword arguments, never both. Warns once when it can allow no
    origin (docs/spec.md "Origin entries", rule 12)."""
    if policy is not None and policy_kwargs:
        names = ", ".join(sorted(policy_kwargs))
        raise TypeError(f"{who} got a policy object and Policy arguments "
                        f"({names}); pass one or the other")
    if policy is None:
        policy = Policy(**policy_kwargs)
    warn_if_no_origin(who, policy)
    return policy


def warn_if_no_origin(who: str, target: Any) -> None:
    """A :class:`PolicyWarning` when ``target`` (a Policy; a Router, or a
    list of policies, with every one) can allow no origin at all: no entry,
    regex, predicate or origin set (an empty set counts: its members come
    at run time)."""
    if isinstance(target, Policy):
        policies = [target]
    elif isinstance(target, list):
        policies = target
    elif callable(getattr(target, "routes", None)):
        policies = list(target.routes().values())
    else:
        return  # a lookup of the user's own: nothing to read here
    if all(not p.allow_origins and p.allow_origin_regex is None
           and p.allow_origin_predicate is None and p.allow_origin_set is None
           for p in policies):
        warnings.warn(f"{who}: the policy allows no origin at all (no "
                      f"allow_origins entry, allow_origin_regex or "
                      f"allow_origin_predicate), so every cross-origin request "
                      f"is refused; list the origins to allow",
                      PolicyWarning, stacklevel=_caller_level())


def _caller_level() -> int:
    """The stack level of the first frame outside corsfast, for warnings."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("corsfast"):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def _rebuild(arguments: dict[str, Any]) -> Policy:
    """Unpickle a Policy: build it again from its canonical arguments."""
    return Policy(**arguments)


def _listing(names: list[str], wildcard: bool) -> Union[str, tuple[str, ...]]:
    """A methods or headers argument as the Policy shows it."""
    if wildcard and not names:
        return "*"
    return tuple(names) + (("*",) if wildcard else ())
