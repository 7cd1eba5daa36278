"""Policy: validate a CORS configuration once and compile it into tables.

Everything here runs at construction. A bad configuration raises one
:class:`ConfigError` naming every bad entry and its fix. A good one becomes
a :class:`Tables` object (sets of canonical origins, method and header sets,
and every constant response header already built), from which each loaded
engine builds its own core. A ``Policy`` is immutable and may be shared
between threads.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Optional, Union

from . import _engine, _engine_py
from ._dynamic import DynamicMatcher
from ._origins import (
    ANY,
    ANY_PORT,
    EXACT,
    SUB_ANY_PORT,
    SUBDOMAIN,
    EntryError,
    parse_origin_entry,
)
from ._rules import (
    FORBIDDEN_METHODS,
    FORBIDDEN_RESPONSE_HEADERS,
    NORMALIZED_METHODS,
    is_forbidden_request_header,
    is_token,
)

if TYPE_CHECKING:
    from ._router import Router

__all__ = ["ConfigError", "Policy", "Tables"]

Header = tuple[str, str]
StrOrSeq = Union[str, Iterable[str]]

ACAO = "access-control-allow-origin"
ACAC = "access-control-allow-credentials"
ACAM = "access-control-allow-methods"
ACAH = "access-control-allow-headers"
ACEH = "access-control-expose-headers"
ACMA = "access-control-max-age"
ACAPN = "access-control-allow-private-network"
VARY = "vary"
VARY_ACTUAL = (VARY, "origin")
_VARY_PREFLIGHT = "origin, access-control-request-method, access-control-request-headers"
# SPEC 4.4: browsers never ask permission for these.
DEFAULT_ALWAYS_ALLOWED_METHODS = ("GET", "HEAD", "POST")


class ConfigError(ValueError):
    """A policy's arguments are invalid. ``errors`` lists each problem."""

    __module__ = "corsfast"

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        lines = "\n".join(f"  - {e}" for e in self.errors)
        super().__init__(
            f"invalid CORS policy ({len(self.errors)} "
            f"problem{'s' if len(self.errors) != 1 else ''}):\n{lines}"
        )


# -- tables -----------------------------------------------------------------


class Tables:
    """What a policy compiles to: engine-neutral, immutable by convention.

    Engines copy these into their own cores; nothing here is computed per
    request.
    """

    __slots__ = (
        "any_origin", "exact", "any_port", "subdomains", "sub_any_port",
        "has_patterns", "dynamic",
        "methods", "methods_any", "headers", "headers_any",
        "credentials", "private_network", "preflight_status",
        "always_allowed_methods", "echo_method", "echo_headers",
        "echo_as_sent",
        "not_cors_headers", "star_actual_headers", "actual_tail",
        "refused_actual_headers", "refused_preflight_headers",
        "preflight_tails", "acao_star",
    )

    any_origin: bool
    exact: frozenset[str]
    any_port: frozenset[str]
    subdomains: frozenset[str]
    sub_any_port: frozenset[str]
    has_patterns: bool
    dynamic: Optional[DynamicMatcher]
    methods: frozenset[str]
    methods_any: bool
    headers: frozenset[str]
    headers_any: bool
    credentials: bool
    private_network: bool
    preflight_status: int
    always_allowed_methods: frozenset[str]
    echo_method: bool
    echo_headers: bool
    echo_as_sent: bool
    not_cors_headers: tuple[Header, ...]
    star_actual_headers: tuple[Header, ...]
    actual_tail: tuple[Header, ...]
    refused_actual_headers: tuple[Header, ...]
    refused_preflight_headers: tuple[Header, ...]
    preflight_tails: tuple[tuple[Header, ...], ...]
    acao_star: Header


# -- validation helpers -------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    """Accept a single string (comma-separated) or any iterable of items."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    try:
        return list(value)
    except TypeError:
        return [value]


def _origins(value: Any, errors: list[str]) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]  # one origin (a comma is never valid inside one)
    try:
        return list(value)
    except TypeError:
        errors.append(
            f"allow_origins: expected a sequence of origins or '*', "
            f"got {type(value).__name__}"
        )
        return []


def _methods(
    value: Any, errors: list[str], arg: str = "allow_methods"
) -> tuple[list[str], bool]:
    names: list[str] = []
    wildcard = False
    for i, item in enumerate(_as_list(value)):
        where = f"{arg}[{i}] {item!r}"
        if item == "*":
            wildcard = True
            continue
        if not isinstance(item, str) or not is_token(item):
            errors.append(f"{where}: a method must be a token such as 'PUT'")
            continue
        upper = item.upper()
        if upper in FORBIDDEN_METHODS:
            errors.append(f"{where}: {upper} is a forbidden method [Fetch 2.2.1]; "
                          f"browsers never send it, remove it")
            continue
        name = upper if upper in NORMALIZED_METHODS else item
        if name not in names:
            names.append(name)
    return names, wildcard


def _header_names(
    arg: str, value: Any, errors: list[str], *, request: bool
) -> tuple[list[str], bool]:
    names: list[str] = []
    wildcard = False
    for i, item in enumerate(_as_list(value)):
        where = f"{arg}[{i}] {item!r}"
        if item == "*":
            wildcard = True
            continue
        if not isinstance(item, str) or not is_token(item):
            errors.append(f"{where}: a header name must be a token such as "
                          f"'x-request-id'")
            continue
        name = item.lower()
        if request and is_forbidden_request_header(name):
            errors.append(f"{where}: a forbidden request header [Fetch 2.2.2]; "
                          f"browsers never let scripts set it, remove it")
            continue
        if not request and name in FORBIDDEN_RESPONSE_HEADERS:
            errors.append(f"{where}: browsers never expose {name} to scripts "
                          f"[Fetch 2.2.2], remove it")
            continue
        if name not in names:
            names.append(name)
    return names, wildcard


def _compile_regex(value: Any, errors: list[str]) -> Optional[re.Pattern[str]]:
    if value is None:
        return None
    if isinstance(value, re.Pattern):
        if not isinstance(value.pattern, str):
            errors.append("allow_origin_regex: compile the pattern from a str, "
                          "not bytes")
            return None
        return value
    if not isinstance(value, str):
        errors.append(f"allow_origin_regex: expected a str or compiled pattern, "
                      f"got {type(value).__name__}")
        return None
    try:
        return re.compile(value)
    except re.error as exc:
        errors.append(f"allow_origin_regex {value!r}: not a valid regex ({exc})")
        return None


def _check_bool(name: str, value: Any, errors: list[str]) -> bool:
    if not isinstance(value, bool):
        errors.append(f"{name}: expected True or False, got {value!r}")
        return False
    return value


# -- Policy -------------------------------------------------------------------


class Policy(_engine.PolicyBase):
    """A validated, compiled CORS policy. See SPEC sections 2 and 3."""

    __slots__ = (
        "allow_origins", "allow_origin_regex", "allow_origin_predicate",
        "allow_methods", "allow_headers", "expose_headers",
        "allow_credentials", "max_age", "allow_private_network",
        "preflight_status", "_tables", "_core_py",
    )

    allow_origins: tuple[str, ...]
    allow_origin_regex: Optional[re.Pattern[str]]
    allow_origin_predicate: Optional[Callable[[str], object]]
    allow_methods: Union[str, tuple[str, ...]]
    allow_headers: Union[str, tuple[str, ...]]
    expose_headers: Union[str, tuple[str, ...]]
    allow_credentials: bool
    max_age: Optional[int]
    allow_private_network: bool
    preflight_status: int
    _tables: Tables
    _core_py: Any

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
        _spelling: Optional[Mapping[Header, Header]] = None,
        _always_allowed_methods: StrOrSeq = DEFAULT_ALWAYS_ALLOWED_METHODS,
        _echo_request_headers: bool = False,
        _wildcard_vary: bool = False,
    ) -> None:
        """See SPEC section 2. The keyword-only arguments with a leading
        underscore are for drop-ins that must behave like a peer library;
        they are not part of the public API, and leaving them out gives
        exactly the behaviour SPEC describes. Each is compiled once, here:

        - ``_spelling`` maps constant ``(name, value)`` header pairs to the
          spelling to send instead (for example ``("vary", "origin") ->
          ("vary", "Origin")``). It changes no decision.
        - ``_always_allowed_methods``: the preflight methods allowed whatever
          ``allow_methods`` says (SPEC 4.4: GET, HEAD and POST). A drop-in
          whose peer checks every method against its list passes ``()``.
        - ``_echo_request_headers``: an allowed preflight that asked for
          headers is answered with ``access-control-allow-headers`` listing
          the requested names as sent (case kept), each one validated as a
          token and allowed by the policy first, instead of the policy's
          list.
        - ``_wildcard_vary``: with a static ``"*"`` origin, responses still
          carry ``vary: origin``, and a request without Origin gets only
          that (no ``access-control-allow-origin``).
        """
        errors: list[str] = []
        credentials = _check_bool("allow_credentials", allow_credentials, errors)
        private_network = _check_bool(
            "allow_private_network", allow_private_network, errors)

        # 3.1-3.4: origins
        any_origin = False
        exact: set[str] = set()
        any_port: set[str] = set()
        subdomains: set[str] = set()
        sub_any_port: set[str] = set()
        canonical: list[str] = []
        for i, entry in enumerate(_origins(allow_origins, errors)):
            try:
                kind, key = parse_origin_entry(entry)
            except EntryError as exc:
                errors.append(f"allow_origins[{i}] {entry!r}: {exc}")
                continue
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
        if any_origin and credentials:
            errors.append(
                "allow_origins '*' with allow_credentials=True: browsers refuse "
                "a wildcard origin with credentials; list the trusted origins "
                "(patterns such as 'https://*.example.com' work) or turn "
                "credentials off"
            )

        # 3.5: regex and predicate
        regex = _compile_regex(allow_origin_regex, errors)
        if allow_origin_predicate is not None and not callable(allow_origin_predicate):
            errors.append("allow_origin_predicate: expected a callable "
                          "(origin: str) -> bool")
            allow_origin_predicate = None

        # 3.6-3.8: methods, headers, exposure, numbers
        methods, methods_any = _methods(allow_methods, errors)
        always, always_any = _methods(
            _always_allowed_methods, errors, "_always_allowed_methods")
        if always_any:
            errors.append("_always_allowed_methods: '*' is not allowed; list "
                          "the methods")
        echo_as_sent = _check_bool(
            "_echo_request_headers", _echo_request_headers, errors)
        wildcard_vary = _check_bool("_wildcard_vary", _wildcard_vary, errors)
        headers, headers_any = _header_names(
            "allow_headers", allow_headers, errors, request=True)
        exposed, expose_any = _header_names(
            "expose_headers", expose_headers, errors, request=False)
        if expose_any and credentials:
            errors.append("expose_headers '*' with allow_credentials=True: the "
                          "wildcard is literal with credentials [Fetch 3.3.4]; "
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

        set_ = object.__setattr__
        set_(self, "allow_origins", tuple(canonical))
        set_(self, "allow_origin_regex", regex)
        set_(self, "allow_origin_predicate", allow_origin_predicate)
        set_(self, "allow_methods", "*" if methods_any and not methods
             else tuple(methods) + (("*",) if methods_any else ()))
        set_(self, "allow_headers", "*" if headers_any and not headers
             else tuple(headers) + (("*",) if headers_any else ()))
        set_(self, "expose_headers", "*" if expose_any else tuple(exposed))
        set_(self, "allow_credentials", credentials)
        set_(self, "max_age", max_age)
        set_(self, "allow_private_network", private_network)
        set_(self, "preflight_status", preflight_status)

        t = Tables()
        t.any_origin = any_origin
        t.exact = frozenset(exact)
        t.any_port = frozenset(any_port)
        t.subdomains = frozenset(subdomains)
        t.sub_any_port = frozenset(sub_any_port)
        t.has_patterns = bool(any_port or subdomains or sub_any_port)
        dynamic = regex is not None or allow_origin_predicate is not None
        t.dynamic = (DynamicMatcher(regex, allow_origin_predicate)
                     if dynamic else None)
        t.methods = frozenset(methods)
        t.methods_any = methods_any
        t.headers = frozenset(headers)
        t.headers_any = headers_any
        t.credentials = credentials
        t.private_network = private_network
        t.preflight_status = preflight_status
        t.always_allowed_methods = frozenset(always)
        t.echo_as_sent = echo_as_sent
        _compile_headers(t, methods, headers, exposed, expose_any, max_age,
                         wildcard_vary)
        if _spelling:
            _respell(t, dict(_spelling))
        set_(self, "_tables", t)
        # Each loaded engine's core: the twin's in a slot, the compiled
        # engine's in the C fields this object inherits.
        set_(self, "_core_py", _engine_py.Core(t))
        _engine.init_compiled_core(self, t)

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

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a Policy is immutable; build a new one")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("a Policy is immutable; build a new one")

    def __repr__(self) -> str:
        parts = [f"allow_origins={self.allow_origins!r}"]
        for name in ("allow_origin_regex", "allow_origin_predicate"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value!r}")
        parts += [
            f"allow_methods={self.allow_methods!r}",
            f"allow_headers={self.allow_headers!r}",
            f"expose_headers={self.expose_headers!r}",
            f"allow_credentials={self.allow_credentials!r}",
            f"max_age={self.max_age!r}",
            f"allow_private_network={self.allow_private_network!r}",
            f"preflight_status={self.preflight_status!r}",
        ]
        return f"Policy({', '.join(parts)})"

    def check(
        self,
        method: Any,
        origin: Any,
        request_method: Any = None,
        request_headers: Any = None,
        request_private_network: Any = None,
    ) -> _engine.Decision:
        """Same as ``check_request(self, ...)``."""
        return _engine.check_request(
            self, method, origin, request_method, request_headers,
            request_private_network)


if _engine.PolicyBase is not object:
    _engine.register_policy_type(Policy)


def _respell(t: Tables, spelling: dict[Header, Header]) -> None:
    """Replace constant header pairs by a drop-in's spelling of them."""

    def spelled(headers: tuple[Header, ...]) -> tuple[Header, ...]:
        return tuple(spelling.get(pair, pair) for pair in headers)

    for name in ("not_cors_headers", "star_actual_headers", "actual_tail",
                 "refused_actual_headers", "refused_preflight_headers"):
        setattr(t, name, spelled(getattr(t, name)))
    t.preflight_tails = tuple(spelled(tail) for tail in t.preflight_tails)


def _compile_headers(
    t: Tables,
    methods: list[str],
    headers: list[str],
    exposed: list[str],
    expose_any: bool,
    max_age: Optional[int],
    wildcard_vary: bool = False,
) -> None:
    """Build every constant response header once (SPEC 4.1, 4.7-4.10)."""
    credentials = t.credentials
    acac = ((ACAC, "true"),) if credentials else ()
    expose_value = "*" if expose_any else ", ".join(exposed)
    aceh = ((ACEH, expose_value),) if expose_value else ()

    # With credentials a '*' is literal [Fetch 3.3.4], so the engine echoes
    # the (validated, allowed) request values instead; a drop-in may ask for
    # the requested header names to be echoed whatever the policy.
    echo_method = t.methods_any and credentials
    echo_headers = (t.headers_any and credentials) or t.echo_as_sent
    t.echo_method = echo_method
    t.echo_headers = echo_headers
    if echo_method:
        acam: tuple[Header, ...] = ()
    elif t.methods_any:
        acam = ((ACAM, "*"),)
    else:
        acam = ((ACAM, ", ".join(methods)),) if methods else ()
    if echo_headers:
        acah: tuple[Header, ...] = ()
    elif t.headers_any:
        acah = ((ACAH, ", ".join(["*"] + headers)),)
    else:
        acah = ((ACAH, ", ".join(headers)),) if headers else ()
    acma = ((ACMA, str(max_age)),) if max_age is not None else ()
    vary_preflight = _VARY_PREFLIGHT
    if t.private_network:
        vary_preflight += ", access-control-request-private-network"
    vary_pf = ((VARY, vary_preflight),)

    t.acao_star = (ACAO, "*")
    t.star_actual_headers = ((ACAO, "*"),) + aceh
    if wildcard_vary:
        t.star_actual_headers += (VARY_ACTUAL,)
    t.not_cors_headers = (t.star_actual_headers
                          if t.any_origin and not wildcard_vary
                          else (VARY_ACTUAL,))
    t.actual_tail = acac + aceh + (VARY_ACTUAL,)
    t.refused_actual_headers = (VARY_ACTUAL,)
    t.refused_preflight_headers = vary_pf
    # Indexed by 2 * headers_requested + private_network_asked.
    tails = []
    for requested in (False, True):
        for pna in (False, True):
            tails.append(
                acac + acam + (acah if requested else ()) + acma
                + (((ACAPN, "true"),) if pna else ()) + vary_pf
            )
    t.preflight_tails = tuple(tails)
