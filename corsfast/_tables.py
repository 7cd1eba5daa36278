"""What a Policy compiles to: engine-neutral tables and constant headers.

:class:`corsfast.Policy` validates its arguments and hands the results to
:func:`compile_tables`, once. Each engine builds its matcher from the
returned :class:`Tables` (``Matcher(tables)``); nothing here runs per
request. A Tables object is never changed after it is built, so any number
of threads may read it. The one part that changes is the OriginSet a
policy may hold: Tables keep a reference to it, and the engines read its
members per request and never cache an answer that depended on them.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from ._dialect import Dialect
from ._dynamic import DynamicMatcher
from ._origin_set import OriginSet

__all__ = ["Tables", "compile_tables"]

Header = tuple[str, str]

ACAO = "access-control-allow-origin"
ACAC = "access-control-allow-credentials"
ACAM = "access-control-allow-methods"
ACAH = "access-control-allow-headers"
ACEH = "access-control-expose-headers"
ACMA = "access-control-max-age"
ACAPN = "access-control-allow-private-network"
VARY = "vary"
_VARY_PREFLIGHT = "origin, access-control-request-method, access-control-request-headers"
_VARY_PNA = ", access-control-request-private-network"


class Tables:
    """A policy's matching tables and every constant response header."""

    __slots__ = (
        # origins (docs/spec.md "Origin entries")
        "any_origin", "every_origin", "loose_origins", "exact", "any_port", "subdomains",
        "sub_any_port", "has_patterns", "origin_set", "dynamic", "origins_change",
        # methods, headers, private network
        "methods", "methods_any", "always_allowed_methods", "headers",
        "headers_any", "private_network", "preflight_status",
        "refused_status",
        # what an allowed preflight echoes, and how refusals are reported
        "echo_method", "echo_headers", "echo_as_sent", "allowed_headers_only",
        "every_reason", "pna_answer", "header_regex",
        # constant headers
        "not_cors_headers", "star_actual_headers", "actual_tail",
        "refused_actual_headers", "refused_preflight_headers",
        "preflight_tails", "acao_star",
    )

    any_origin: bool        # a static "*": the answer is the same for every origin
    every_origin: bool      # every well-formed origin is echoed (a dialect's choice)
    loose_origins: bool     # printable values that are not serialized origins count
    exact: frozenset[str]
    any_port: frozenset[str]
    subdomains: frozenset[str]
    sub_any_port: frozenset[str]
    has_patterns: bool
    # Consulted per request, after the tables above and before ``dynamic``;
    # held by reference, its members change while requests run.
    origin_set: Optional[OriginSet]
    dynamic: Optional[DynamicMatcher]
    # An origin's answer can change between requests (an origin set, or an
    # origin resolver's verdicts): no refusal of an origin is cached.
    origins_change: bool
    methods: frozenset[str]
    methods_any: bool
    always_allowed_methods: frozenset[str]
    headers: frozenset[str]
    headers_any: bool
    private_network: bool
    preflight_status: int
    refused_status: int     # a refused preflight's status (the dialect's)
    echo_method: bool
    echo_headers: bool
    echo_as_sent: bool
    allowed_headers_only: bool
    every_reason: bool
    pna_answer: bool        # private network asked: answered true/false, never refused
    header_regex: Optional[Callable[[str], object]]  # fullmatch of allow_header_regex
    not_cors_headers: tuple[Header, ...]
    star_actual_headers: tuple[Header, ...]
    actual_tail: tuple[Header, ...]
    refused_actual_headers: tuple[Header, ...]
    refused_preflight_headers: tuple[Header, ...]
    preflight_tails: tuple[tuple[Header, ...], ...]
    acao_star: Header

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Tables are immutable")

    def replaced(self, **changes: Any) -> Tables:
        """A copy with the fields in ``changes`` set to new values."""
        unknown = set(changes) - set(self.__slots__)
        if unknown:
            raise TypeError(f"Tables has no field {', '.join(sorted(unknown))}")
        copy = object.__new__(Tables)
        for name in self.__slots__:
            object.__setattr__(copy, name, changes.get(name, getattr(self, name)))
        return copy


def compile_tables(
    *,
    any_origin: bool,
    every_origin: bool,
    exact: frozenset[str],
    any_port: frozenset[str],
    subdomains: frozenset[str],
    sub_any_port: frozenset[str],
    dynamic: Optional[DynamicMatcher],
    origin_set: Optional[OriginSet] = None,
    methods: list[str],
    methods_any: bool,
    headers: list[str],
    headers_as_given: list[str],
    headers_any: bool,
    header_regex: Optional[Callable[[str], object]],
    exposed: list[str],
    exposed_as_given: list[str],
    expose_any: bool,
    credentials: bool,
    max_age: Optional[int],
    private_network: bool,
    preflight_status: int,
    dialect: Dialect,
) -> Tables:
    """Build the tables and every constant response header (docs/spec.md
    "Preflight", "Actual requests", "Response invariants")."""
    values: dict[str, object] = {}
    values.update(
        any_origin=any_origin, every_origin=every_origin, exact=exact,
        loose_origins=dialect.loose_origin_syntax,
        any_port=any_port, subdomains=subdomains, sub_any_port=sub_any_port,
        has_patterns=bool(any_port or subdomains or sub_any_port),
        origin_set=origin_set, dynamic=dynamic, origins_change=origin_set is not None,
        methods=frozenset(methods), methods_any=methods_any,
        always_allowed_methods=frozenset(dialect.always_allowed_methods),
        headers=frozenset(headers), headers_any=headers_any,
        private_network=private_network, preflight_status=preflight_status,
        refused_status=dialect.refused_preflight_status,
        echo_as_sent=dialect.echo_request_headers,
        allowed_headers_only=dialect.allowed_request_headers_only,
        every_reason=dialect.every_refusal_reason,
        pna_answer=dialect.private_network_answer,
        header_regex=header_regex,
    )
    header_names = headers_as_given if dialect.names_as_given else headers
    exposed_names = exposed_as_given if dialect.names_as_given else exposed

    acac: tuple[Header, ...] = ((ACAC, "true"),) if credentials else ()
    expose_value = "*" if expose_any else ", ".join(exposed_names)
    if expose_any and dialect.expose_response_headers:
        expose_value = ""  # the adapter lists the response's own names
    aceh: tuple[Header, ...] = ((ACEH, expose_value),) if expose_value else ()
    # With credentials a "*" is literal
    # [https://fetch.spec.whatwg.org/#cors-protocol-and-credentials], so the
    # engine echoes the (validated, allowed) request values instead; a
    # dialect may ask for the requested header names to be echoed always.
    echo_method = methods_any and credentials
    echo_headers = (headers_any and credentials) or dialect.echo_request_headers
    values.update(echo_method=echo_method, echo_headers=echo_headers)
    if echo_method:
        acam: tuple[Header, ...] = ()
    elif methods_any:
        acam = ((ACAM, "*"),)
    else:
        acam = ((ACAM, ", ".join(methods)),) if methods else ()
    if echo_headers:
        acah: tuple[Header, ...] = ()
    elif headers_any:
        acah = ((ACAH, ", ".join(["*", *header_names])),)
    else:
        acah = ((ACAH, ", ".join(header_names)),) if header_names else ()
    acma: tuple[Header, ...] = ((ACMA, str(max_age)),) if max_age is not None else ()
    vary_pf_value = dialect.vary_preflight or (
        _VARY_PREFLIGHT + (_VARY_PNA if private_network or dialect.private_network_answer
                           else ""))
    # vary, as one-pair tuples: empty when the dialect sends none.
    vary_actual: tuple[Header, ...] = (
        ((VARY, dialect.vary_actual or "origin"),) if dialect.vary_header else ())
    vary_pf: tuple[Header, ...] = ((VARY, vary_pf_value),) if dialect.vary_header else ()
    pf_expose = aceh if dialect.expose_on_preflight else ()
    unasked: tuple[Header, ...] = (
        ((ACAH, dialect.unasked_allow_headers),)
        if dialect.unasked_allow_headers is not None else ())

    star = ((ACAO, "*"),) + aceh
    if dialect.vary_with_static_star:
        star += vary_actual
    values.update(
        acao_star=(ACAO, "*"),
        star_actual_headers=star,
        not_cors_headers=(star if any_origin and not dialect.vary_with_static_star
                          else vary_actual),
        actual_tail=acac + aceh + vary_actual,
        refused_actual_headers=vary_actual,
        refused_preflight_headers=vary_pf,
        # Indexed by 2 * headers_requested + private_network_asked.
        preflight_tails=tuple(
            acac + acam + (acah if requested else unasked) + acma
            + (((ACAPN, "true"),) if pna else ()) + pf_expose + vary_pf
            for requested in (False, True) for pna in (False, True)),
    )
    tables = Tables()
    for name, value in values.items():
        object.__setattr__(tables, name, value)
    return tables
