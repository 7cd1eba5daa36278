"""Live policies and what a middleware reports about its decisions
(docs/spec.md "Live policies (for gateways)", "Observability").

A middleware reads one ``Live`` value per request (corsfast/_adapters_py.py
and its compiled twin): the policy or router, the policy's matcher, the
counters of each route, and an optional shadow. ``reconfigure`` builds a
new ``Live`` and swaps it in with one assignment, so a request sees the old
configuration or the new one whole, and the request path takes no lock.
Tables and matchers are immutable, so the same holds on a free-threaded
build: a reader does one reference load.

Counters (``Tally``) are dicts from Reason to count, one set per route,
bounded by the number of Reasons whatever the traffic. They are carried
over a reconfigure by route prefix, so a counter never goes down (an
exporter can treat them as monotonic). Increments take no lock: under
threads an increment can be lost, so counts are a close lower bound.

Refusals and shadow disagreements are reported here, off the hot path:
one log line (``log_refusals``), the ``on_refusal(decision, info)`` and
``on_shadow(info)`` callbacks, and in ``debug`` mode a short body for a
refused preflight naming what to change. Every request value in a log
line, an ``info`` dict or a body is escaped (corsfast/_logging.py); no
label or structured field carries the origin itself.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Optional

from ._engine import adapters
from ._logging import environ_values, escape_for_log, log_refusal, logger, refusal_fix
from ._policy import Policy

__all__ = ["KEEP", "Controls", "Reporter", "check_target"]

KEEP: Any = type("Keep", (), {"__repr__": lambda self: "KEEP"})()
"""``reconfigure``'s default for ``shadow``: keep the one in force."""

_KINDS = ("preflight", "actual", "websocket")
OnRefusal = Callable[[Any, dict[str, Any]], object]
OnShadow = Callable[[dict[str, Any]], object]


def check_target(who: str, target: Any, any_lookup: bool) -> None:
    """TypeError unless ``target`` is a Policy or a router (a
    :class:`corsfast.Router`, or with ``any_lookup`` any object with a
    ``lookup(path)`` method)."""
    from ._router import Router

    if isinstance(target, (Policy, Router)):
        return
    if any_lookup and callable(getattr(target, "lookup", None)):
        return
    wanted = ("a corsfast.Policy or corsfast.Router (or an object with a "
              "lookup(path) method)" if any_lookup
              else "a corsfast.Policy or corsfast.Router")
    raise TypeError(f"{who}: policy must be {wanted}, got {type(target).__name__}")


def _routes(target: Any) -> Optional[dict[str, Policy]]:
    """Prefix -> Policy of a router that lists its routes, else None."""
    routes = getattr(target, "routes", None)
    if isinstance(target, Policy) or not callable(routes):
        return None
    listed = routes()
    return {prefix: policy for prefix, policy in dict(listed).items()
            if isinstance(policy, Policy)}


class Controls:
    """A middleware's live configuration: builds each ``Live`` it serves,
    keeps the counters across reconfigures, and reads them out as
    ``stats()``. Writers (``build``) take a lock among themselves; requests
    never touch it."""

    __slots__ = ("who", "any_lookup", "verdict", "_lock", "_other", "_by_prefix", "_all")

    def __init__(self, who: str, any_lookup: bool,
                 verdict: Optional[Callable[[str], object]] = None) -> None:
        self.who = who
        self.any_lookup = any_lookup
        # An origin resolver's cache lookup: the policies are enforced as
        # their _resolving() copies, which consult it for origins they refuse.
        self.verdict = verdict
        self._lock = threading.Lock()
        self._other = adapters.Tally()  # one policy, or a policy no route lists
        self._by_prefix: dict[str, Any] = {}
        self._all: list[Any] = [self._other]

    def build(self, target: Any, shadow: Any) -> Any:
        """The ``Live`` for ``target`` (a Policy or router) and ``shadow``
        (another, or None). Raises TypeError before anything changes."""
        check_target(self.who, target, self.any_lookup)
        if shadow is not None:
            check_target(f"{self.who} shadow", shadow, self.any_lookup)
        enforced = target
        if self.verdict is not None:
            enforced = _resolving(self.who, target, self.verdict)
        with self._lock:
            routes = _routes(enforced)
            by_matcher: Optional[dict[Any, Any]] = None
            if routes is not None:
                by_matcher = {}
                for prefix, policy in routes.items():
                    tally = self._by_prefix.get(prefix)
                    if tally is None:
                        tally = self._by_prefix[prefix] = adapters.Tally()
                        self._all.append(tally)
                    # Routes sharing one Policy object share its counters.
                    by_matcher.setdefault(policy._matcher, tally)
            return _live(target, self._other, by_matcher,
                         None if shadow is None else _live(shadow, adapters.Tally(), None, None),
                         enforced)

    def stats(self, live: Any) -> dict[str, Any]:
        """Counts by kind and Reason name: totals since the middleware was
        built, plus ``routes`` (prefix -> counts) for the routes in force."""
        with self._lock:
            tallies = list(self._all)
            prefixes = dict(self._by_prefix)
        out = _sum(tallies)
        routes = _routes(live.policy)
        if routes is not None:
            out["routes"] = {prefix: _sum([prefixes[prefix]]) for prefix in routes
                             if prefix in prefixes}
        return out


def _live(target: Any, tally: Any, routes: Any, shadow: Any, enforced: Any = None) -> Any:
    """The Live value: ``target`` is what the user gave (``policy``),
    ``enforced`` what decides (the same, or its resolving copy)."""
    enforced = target if enforced is None else enforced
    if isinstance(enforced, Policy):
        return adapters.Live(target, enforced._matcher, None, tally, None, shadow)
    return adapters.Live(target, None, enforced, tally, routes or None, shadow)


def _resolving(who: str, target: Any, verdict: Callable[[str], object]) -> Any:
    """``target`` enforced with an origin resolver: each policy as its copy
    that consults the resolver's cache (Policy._resolving)."""
    from ._router import Router

    if isinstance(target, Policy):
        return target._resolving(verdict)
    if isinstance(target, Router):
        return Router({prefix: policy._resolving(verdict)
                       for prefix, policy in target.routes().items()})
    raise TypeError(f"{who}: an origin resolver needs a corsfast.Policy or "
                    f"corsfast.Router, not {type(target).__name__}")


def _sum(tallies: list[Any]) -> dict[str, Any]:
    out: dict[str, dict[str, int]] = {kind: {} for kind in _KINDS}
    for tally in tallies:
        for kind in _KINDS:
            counts = out[kind]
            # Each read is a new dict: requests may count while this reads.
            for reason, n in getattr(tally, kind).items():
                counts[reason.name] = counts.get(reason.name, 0) + n
    return dict(out)


# -- refusals and shadow disagreements ------------------------------------------------


class Reporter:
    """What a middleware does with a refused request beyond answering it:
    log it (``log_refusals``), hand it to ``on_refusal(decision, info)``,
    and in ``debug`` mode give the body of a refused preflight's answer.
    ``fix_words`` rewrites a fix in a drop-in's own setting names."""

    __slots__ = ("log", "on_refusal", "debug", "fix_words")

    def __init__(self, log: bool, on_refusal: Optional[OnRefusal], debug: bool,
                 fix_words: Optional[Callable[[str], str]] = None) -> None:
        if on_refusal is not None and not callable(on_refusal):
            raise TypeError("on_refusal: expected a callable (decision, info)")
        self.log = bool(log)
        self.on_refusal = on_refusal
        self.debug = bool(debug)
        self.fix_words = fix_words

    @property
    def active(self) -> bool:
        """Whether refusals need this at all (else the middleware skips it)."""
        return self.log or self.on_refusal is not None or self.debug

    def asgi(self, decision: Any, scope: Any, policy: Any, kind: str = "") -> Optional[bytes]:
        """Report a refusal of an ASGI request; the debug body, or None."""
        if not self._wanted(decision):
            return None  # nothing would use the request's values: read none
        origin, acrm, acrh, acrpn = adapters.asgi_request_values(
            _get(scope, "headers", ()), decision.preflight)
        return self.report(decision, _get(scope, "method"), origin, _get(scope, "path"),
                           acrm, acrh, acrpn, policy, kind)

    def wsgi(self, decision: Any, environ: Any, policy: Any) -> Optional[bytes]:
        """Report a refusal of a WSGI request; the debug body, or None."""
        if not self._wanted(decision):
            return None
        return self.report(decision, *environ_values(environ), policy)

    def _wanted(self, decision: Any) -> bool:
        """Whether a refusal has anywhere to go: a log enabled for INFO (a
        disabled one costs nothing, docs/spec.md "Observability"), the
        hook, or a debug body for a preflight."""
        return ((self.log and logger.isEnabledFor(logging.INFO))
                or self.on_refusal is not None or (self.debug and decision.preflight))

    def report(self, decision: Any, method: Any, origin: Any, path: Any, acrm: Any,
               acrh: Any, acrpn: Any, policy: Any, kind: str = "") -> Optional[bytes]:
        """Log, call the hook, and give the debug body; never raises."""
        try:
            policy = policy if isinstance(policy, Policy) else None
            fix = refusal_fix(policy, decision, origin, acrm, acrh, self.fix_words)
            if self.log:
                log_refusal(decision, method, origin, path, acrm, acrh, acrpn,
                            policy=policy, fix=fix)
            if self.on_refusal is not None:
                kind = kind or ("preflight" if decision.preflight else "actual")
                info = {"kind": kind, "reason": decision.reason.name,
                        "origin": escape_for_log(origin), "method": escape_for_log(method),
                        "path": escape_for_log(path), "fix": fix}
                try:
                    self.on_refusal(decision, info)
                except Exception:
                    logger.exception("corsfast: the on_refusal hook raised")
            if self.debug and decision.preflight:
                return debug_body(decision, fix)
        except Exception:  # reporting must never fail a request
            logger.exception("corsfast: reporting a refusal failed")
        return None


def debug_body(decision: Any, fix: str) -> bytes:
    """The text a refused preflight carries in ``debug`` mode: what was
    refused and what to change. ``fix`` is already escaped."""
    reason = decision.reason
    text = (f"CORS preflight refused ({reason.name}): {reason.explain()}.\n"
            f"Fix: {fix or 'see the corsfast log (log_refusals=True)'}\n")
    return text.encode("ascii", "backslashreplace")


def _get(scope: Any, key: str, default: Any = None) -> Any:
    try:
        return scope.get(key, default)
    except Exception:
        return default


class Shadow:
    """Reports each request on which the shadow policy and the enforced
    one disagree (allowed or Reason), to ``on_shadow(info)`` and the log."""

    __slots__ = ("on_shadow",)

    def __init__(self, on_shadow: Optional[OnShadow]) -> None:
        if on_shadow is not None and not callable(on_shadow):
            raise TypeError("on_shadow: expected a callable (info)")
        self.on_shadow = on_shadow

    def asgi(self, decision: Any, scope: Any, shadow: Any) -> None:
        target = shadow.matcher
        if target is None:
            target = shadow.router.lookup(_get(scope, "path", ""))
        other = None if target is None else adapters.asgi_decide(target, scope)
        if _differ(decision, other):
            origin = adapters.asgi_request_values(_get(scope, "headers", ()), False)[0]
            self._report(decision, other, origin, _get(scope, "method"), _get(scope, "path"))

    def wsgi(self, decision: Any, environ: Any, shadow: Any) -> None:
        target = shadow.matcher
        if target is None:
            target = shadow.router.lookup(environ.get("PATH_INFO", ""))
        other = None if target is None else adapters.wsgi_decide(target, environ)
        if _differ(decision, other):
            self._report(decision, other, environ.get("HTTP_ORIGIN"),
                         environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))

    def _report(self, decision: Any, other: Any, origin: Any, method: Any,
                path: Any) -> None:
        try:
            info = {"kind": "preflight" if decision.preflight else "actual",
                    "reason": decision.reason.name,
                    "shadow_reason": "NO_POLICY" if other is None else other.reason.name,
                    "origin": escape_for_log(origin), "method": escape_for_log(method),
                    "path": escape_for_log(path)}
            logger.info("CORS shadow policy disagrees (%s): enforced %s, shadow %s: "
                        "origin=%s method=%s path=%s", info["kind"], info["reason"],
                        info["shadow_reason"], info["origin"], info["method"], info["path"],
                        extra={"cors_reason": info["reason"],
                               "cors_shadow_reason": info["shadow_reason"]})
            if self.on_shadow is not None:
                self.on_shadow(info)
        except Exception:
            logger.exception("corsfast: reporting a shadow disagreement failed")


def _differ(decision: Any, other: Any) -> bool:
    if other is None:
        return bool(decision.reason.name != "NOT_CORS")
    return bool(decision.allowed != other.allowed or decision.reason is not other.reason)
