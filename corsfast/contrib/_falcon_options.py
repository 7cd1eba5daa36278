"""Falcon's CORSMiddleware options as corsfast policies, for
corsfast/contrib/falcon.py: the ``FALCON`` dialect, Falcon's
``allow_credentials`` forms, and the policies of route-aware mode (one
per set of methods a route allows, built on first use)."""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Optional

from .._dialect import Dialect
from .._policy import ConfigError, Policy

__all__ = ["FALCON", "NO_ROUTE", "ROUTE_DEFAULTS", "Policies", "credentials"]

# How Falcon's CORSMiddleware answers differ from corsfast's own, as data
# (corsfast/_dialect.py): the requested header names are echoed as sent, a
# preflight that asked for none still gets "access-control-allow-headers: *",
# and "*" is sent only to requests with an Origin (so with "vary: origin").
FALCON = Dialect("falcon", echo_request_headers=True, unasked_allow_headers="*",
                 vary_with_static_star=True)

# The route-aware defaults, as cors_enable=True answers: any header a
# browser may ask for (authorization must be named), a day of caching.
ROUTE_DEFAULTS = {"allow_headers": ("*", "authorization"), "max_age": 86400,
                   "dialect": FALCON}
NO_ROUTE = "no route"    # no route, or one without Allow: every preflight refused
_MAX_DERIVED = 256        # policies kept per distinct Allow value


def credentials(kwargs: dict[str, Any]) -> Optional[list[str]]:
    """Falcon's ``allow_credentials``: ``None``, ``"*"``, an origin or a list
    of them (corsfast's ``True``/``False`` pass through). Returns the origins
    that get credentials when Falcon's list form is used, else None; the
    keyword arguments are left with a bool."""
    given = kwargs.get("allow_credentials")
    if given is None or isinstance(given, bool):
        kwargs["allow_credentials"] = bool(given)
        return None
    star = kwargs.get("allow_origins", "*") == "*"
    if given == "*":
        if star:
            raise ConfigError([
                "allow_credentials='*' with allow_origins='*' would send every "
                "origin's own name back with credentials, so any site could read "
                "responses as the user; list the trusted origins instead: "
                "allow_credentials=['https://app.example.com'], or "
                "allow_origins=[...] with allow_credentials=True"])
        kwargs["allow_credentials"] = True
        return None
    listed = [given] if isinstance(given, str) else list(given)
    if "*" in listed:
        raise ConfigError(["allow_credentials: '*' passed to allow_credentials "
                           "inside a list; list the origins that get credentials"])
    kwargs["allow_credentials"] = False
    if not star:  # credentials only for origins allow_origins lets in
        allowed = kwargs["allow_origins"]
        allowed = [allowed] if isinstance(allowed, str) else list(allowed)
        listed = [origin for origin in listed if origin in allowed]
    return listed


class Policies:
    """What one middleware decides with: a Policy, or (with Falcon's list of
    credentialed origins) a credentialed Policy asked first and the plain
    one for every origin it does not allow; in route-aware mode, one pair
    per set of methods a route allows, built on first use."""

    __slots__ = ("kwargs", "credentialed", "derived")

    def __init__(self, kwargs: dict[str, Any], credentialed: Optional[list[str]]) -> None:
        self.kwargs = kwargs
        self.credentialed = credentialed
        self.derived: dict[Any, tuple[Optional[Policy], Policy]] = {}

    def pair(self, methods: Any) -> tuple[Optional[Policy], Policy]:
        """The (credentialed or None, plain) policies for ``methods``."""
        found = self.derived.get(methods)
        if found is None:
            try:
                found = self._build(methods)
            except ConfigError:
                if methods is None or methods is NO_ROUTE:
                    raise
                # An Allow no policy can list (CONNECT, a bad token): the
                # route allows no preflight.
                found = self.pair(NO_ROUTE)
            if len(self.derived) < _MAX_DERIVED:
                self.derived[methods] = found
        return found

    def _build(self, methods: Any) -> tuple[Optional[Policy], Policy]:
        kwargs = dict(self.kwargs)
        if methods is NO_ROUTE:
            # Not even GET, HEAD or POST: the route answers no preflight.
            kwargs["allow_methods"] = ()
            kwargs["dialect"] = dataclasses.replace(
                kwargs.get("dialect", FALCON), always_allowed_methods=())
        elif methods is not None:
            kwargs["allow_methods"] = methods
        if self.credentialed is None:
            return None, Policy(**kwargs)
        dialect = kwargs.get("dialect", FALCON)
        if kwargs.get("allow_origins", "*") == "*":
            # The answer now depends on the origin: caches must key on it.
            kwargs["dialect"] = dataclasses.replace(dialect, vary_with_static_star=True)
        plain = Policy(**kwargs)
        try:
            credentialed = Policy(**{**kwargs, "allow_origins": self.credentialed,
                                     "allow_credentials": True})
        except ConfigError as exc:
            # The entries at fault are the user's allow_credentials ones.
            raise ConfigError([re.sub(r"^allow_origins\b", "allow_credentials", line)
                               for line in exc.errors]) from None
        return credentialed, plain
