"""Why a request was allowed or refused: shared by both engines."""

from __future__ import annotations

import enum

__all__ = ["Reason"]


class Reason(enum.Enum):
    """The outcome of :func:`corsfast.check_request`, by name."""

    ALLOWED = "allowed"
    NOT_CORS = "not_cors"
    ORIGIN_NOT_ALLOWED = "origin_not_allowed"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    HEADERS_NOT_ALLOWED = "headers_not_allowed"
    PRIVATE_NETWORK_NOT_ALLOWED = "private_network_not_allowed"
    MALFORMED_REQUEST = "malformed_request"

    # Members are singletons compared by identity, so identity hashing is
    # exact, and it keeps dicts keyed by Reason (the engine's refusal
    # tables, the twin's counters) free of a Python-level hash call.
    __hash__ = object.__hash__

    def explain(self) -> str:
        """One line, in words, of what this outcome means."""
        return _EXPLANATIONS[self]


_EXPLANATIONS = {
    Reason.ALLOWED: "the origin, method, headers and private-network access "
    "asked for are all allowed by the policy",
    Reason.NOT_CORS: "the request carries no Origin header, so it is not a "
    "CORS request and the policy does not apply",
    Reason.ORIGIN_NOT_ALLOWED: "the request's Origin matches no entry, "
    "pattern, regex or predicate of the policy",
    Reason.METHOD_NOT_ALLOWED: "the preflight asks for a method "
    "(Access-Control-Request-Method) that allow_methods does not list",
    Reason.HEADERS_NOT_ALLOWED: "the preflight asks for a header "
    "(Access-Control-Request-Headers) that allow_headers does not list",
    Reason.PRIVATE_NETWORK_NOT_ALLOWED: "the preflight asks for private "
    "network access, and allow_private_network is off",
    Reason.MALFORMED_REQUEST: "a CORS request header is malformed: an Origin "
    "that is not a serialized origin, or a method or header list that is "
    "not made of tokens, is empty, or is longer than the bounds allow",
}
