"""Dialects: how a drop-in's answers differ from corsfast's own, as data.

A drop-in keeps the answers of the library it replaces where that opens no
hole (docs/spec.md "Drop-ins and dialects"). Each difference is a field of
a frozen :class:`Dialect`; :class:`corsfast.Policy` validates the value,
compiles it into the same tables as everything else, shows it in its
``repr``, and ``corsfast audit`` judges it. No drop-in carries a CORS rule
of its own: the engine reads these fields, in both twins.

``CORSFAST`` is corsfast's own dialect: exactly what docs/spec.md says.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Optional

__all__ = ["CORSFAST", "Dialect"]

@dataclass(frozen=True)
class Dialect:
    """How a policy's answers are spelled and shaped; nothing here widens
    what is allowed except ``reflect_any_origin_with_credentials``, which
    says so by name.

    - ``always_allowed_methods``: methods a preflight is allowed whatever
      ``allow_methods`` lists (corsfast: GET, HEAD and POST, which browsers
      never ask for [https://fetch.spec.whatwg.org/#cors-safelisted-method]).
      A peer that checks every method against its list uses ``()``.
    - ``echo_request_headers``: an allowed preflight that asked for headers
      lists the requested names as sent (case kept, each one a validated
      token the policy allows) instead of the policy's list.
    - ``allowed_request_headers_only``: with ``echo_request_headers``, a
      preflight asking for some names the policy does not allow is answered
      with the allowed ones (sorted), not refused; the browser then refuses
      it itself. A malformed value is still refused.
    - ``vary_with_static_star``: with ``allow_origins="*"``, answers still
      carry ``vary: origin``, and a request without Origin gets only that.
    - ``star_echoes_origin``: ``allow_origins="*"`` is answered with the
      request's own (well-formed) origin and ``vary: origin``, not a static
      ``*`` (flask-cors without ``send_wildcard``).
    - ``reflect_any_origin_with_credentials``: ``allow_origins="*"`` with
      ``allow_credentials=True`` echoes every well-formed origin with
      credentials instead of being a configuration error. Any site can then
      read responses as the user: ``corsfast audit`` rates it HIGH.
    - ``vary_header``: False leaves ``vary`` out of every answer
      (flask-cors's ``vary_header=False``). Shared caches may then serve one
      origin's answer to another: ``corsfast audit`` rates it MEDIUM.
    - ``private_network_answer``: ``Access-Control-Request-Private-Network:
      true`` is answered on every request from an allowed origin, preflight
      or not, with ``access-control-allow-private-network`` ``true`` or
      ``false``; it never refuses a preflight (flask-cors).
    - ``names_as_given``: the constant allow-headers and expose-headers
      values keep the names' case as the policy gives them (validation and
      matching stay case-insensitive).
    - ``vary_actual`` / ``vary_preflight``: the spelling of the ``vary``
      value on actual and preflight answers (None: corsfast's). Both must
      name ``origin``.
    - ``expose_on_preflight``: allowed preflights carry the policy's
      ``access-control-expose-headers`` too.
    - ``every_refusal_reason``: a refused preflight's Decision lists every
      check it fails (``reasons``), not only the first.
    - ``loose_origin_syntax``: the peer takes any printable Origin value
      (no space or comma, at most 1024 bytes, not ``*``) as an origin, not
      only serialized origins. Such a value can match ``"*"`` and exact
      entries only: subdomain patterns, a regex and a predicate still see
      serialized origins alone.
    - ``insecure_origins_with_credentials``: a plain-http origin that is
      not loopback is accepted with ``allow_credentials=True``, as the peer
      accepts it, with a :class:`corsfast.PolicyWarning` instead of the
      ConfigError corsfast's own rules raise (docs/spec.md "Origin
      entries"); ``corsfast audit`` rates it HIGH.
    - ``opaque_origins``: entries outside the origin-entry rules that
      ``allow_origins`` accepts as written, as exact entries
      (django-cors-headers: ``file://``, which Chrome on Android has sent
      for pages loaded from files). They match with ``loose_origin_syntax``.
    - ``unasked_allow_headers``: an allowed preflight that asked for no
      headers still carries ``access-control-allow-headers`` with this
      value (Falcon: ``*``); None leaves the header out, as the Fetch
      Standard needs nothing there. It allows nothing: no header was asked.
    - ``refused_preflight_status``: the status of a refused preflight's
      answer, 403 or 200 (django-cors-headers answers 200 with no
      ``access-control-*`` header; the browser refuses it either way).
    - ``expose_response_headers``: with ``expose_headers="*"``, an allowed
      actual answer exposes the names of the headers the response carries
      (less the CORS-safelisted ones, CORS headers and ``set-cookie``)
      instead of ``*``, which credentials would make literal (aiohttp-cors);
      ``*`` with credentials is then no configuration error. The engine's
      headers leave ``access-control-expose-headers`` out and the adapter
      adds :func:`corsfast._headers.exposed_names` of the response.
    """

    name: str
    always_allowed_methods: tuple[str, ...] = ("GET", "HEAD", "POST")
    echo_request_headers: bool = False
    allowed_request_headers_only: bool = False
    vary_with_static_star: bool = False
    star_echoes_origin: bool = False
    reflect_any_origin_with_credentials: bool = False
    vary_header: bool = True
    private_network_answer: bool = False
    names_as_given: bool = False
    vary_actual: Optional[str] = None
    vary_preflight: Optional[str] = None
    expose_on_preflight: bool = False
    every_refusal_reason: bool = False
    loose_origin_syntax: bool = False
    insecure_origins_with_credentials: bool = False
    opaque_origins: tuple[str, ...] = ()
    unasked_allow_headers: Optional[str] = None
    refused_preflight_status: int = 403
    expose_response_headers: bool = False

    def problems(self) -> list[str]:
        """What is wrong with this value, one line per problem, for
        :class:`corsfast.ConfigError`."""
        errors: list[str] = []
        where = f"dialect {self.name!r}"
        if not isinstance(self.name, str) or not self.name:
            errors.append("dialect: name it with a non-empty string")
        for field in fields(self):
            value = getattr(self, field.name)
            if field.type in ("bool",) and not isinstance(value, bool):
                errors.append(f"{where}: {field.name} must be True or False, "
                              f"got {value!r}")
        methods = self.always_allowed_methods
        if not isinstance(methods, tuple) or not all(
                isinstance(m, str) for m in methods):
            errors.append(f"{where}: always_allowed_methods must be a tuple of "
                          f"method names, got {methods!r}")
        elif "*" in methods:
            errors.append(f"{where}: always_allowed_methods cannot be '*'; list "
                          f"the methods")
        unasked = self.unasked_allow_headers
        if unasked is not None and unasked != "*" and _vary_tokens(unasked) is None:
            errors.append(f"{where}: unasked_allow_headers must be '*' or a "
                          f"comma-separated list of header names, got {unasked!r}")
        status = self.refused_preflight_status
        if status not in (200, 403) or isinstance(status, bool):
            errors.append(f"{where}: refused_preflight_status must be 403 or 200, "
                          f"got {status!r}")
        opaque = self.opaque_origins
        if not isinstance(opaque, tuple) or not all(
                isinstance(o, str) and o.isascii() and o.isprintable() and o
                and " " not in o and "," not in o and o != "*" for o in opaque):
            errors.append(f"{where}: opaque_origins must be a tuple of printable "
                          f"ASCII values without spaces or commas, got {opaque!r}")
        if opaque and not self.loose_origin_syntax:
            errors.append(f"{where}: opaque_origins need loose_origin_syntax=True "
                          f"(they are not serialized origins)")
        if self.allowed_request_headers_only and not self.echo_request_headers:
            errors.append(f"{where}: allowed_request_headers_only needs "
                          f"echo_request_headers=True (it answers with the "
                          f"requested names)")
        for label, value in (("vary_actual", self.vary_actual),
                             ("vary_preflight", self.vary_preflight)):
            if value is None:
                continue
            tokens = _vary_tokens(value)
            if tokens is None:
                errors.append(f"{where}: {label} {value!r} must be a "
                              f"comma-separated list of header names")
            elif "origin" not in tokens:
                errors.append(f"{where}: {label} {value!r} must name origin: "
                              f"the answer depends on it, and caches must "
                              f"know that")
        return errors

    def differences(self) -> dict[str, Any]:
        """The fields that differ from corsfast's own dialect."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name != "name"
                and getattr(self, f.name) != getattr(CORSFAST, f.name)}

    def __repr__(self) -> str:
        changed = ", ".join(f"{k}={v!r}" for k, v in self.differences().items())
        return f"Dialect({self.name!r}{', ' if changed else ''}{changed})"


def _vary_tokens(value: Any) -> Optional[set[str]]:
    """The lowercase tokens of a vary value, or None when it is not one."""
    from ._rules import is_token

    if not isinstance(value, str):
        return None
    tokens = [t.strip(" \t") for t in value.split(",")]
    if not tokens or not all(tokens) or not all(is_token(t) for t in tokens):
        return None
    return {t.lower() for t in tokens}


CORSFAST = Dialect("corsfast")
