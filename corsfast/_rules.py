"""Constants from the Fetch Standard and HTTP, shared by the policy compiler
and both engines. Section numbers cite the WHATWG Fetch Standard unless
named otherwise."""

from __future__ import annotations

import re

__all__ = [
    "TCHARS",
    "SIMPLE_METHODS",
    "NORMALIZED_METHODS",
    "FORBIDDEN_METHODS",
    "FORBIDDEN_REQUEST_HEADERS",
    "FORBIDDEN_REQUEST_HEADER_PREFIXES",
    "FORBIDDEN_RESPONSE_HEADERS",
    "DEFAULT_PORTS",
    "MAX_ORIGIN_LENGTH",
    "MAX_ACRH_LENGTH",
    "MAX_ACRH_ELEMENTS",
    "MAX_ACRM_LENGTH",
    "is_token",
    "is_forbidden_request_header",
]

# RFC 9110 5.6.2: token = 1*tchar
TCHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789"
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)

# CORS-safelisted methods: a browser never preflights for these
# [https://fetch.spec.whatwg.org/#cors-safelisted-method].
SIMPLE_METHODS = frozenset({"GET", "HEAD", "POST"})

# "Normalize a method": these are stored uppercase whatever the case
# [https://fetch.spec.whatwg.org/#concept-method-normalize].
NORMALIZED_METHODS = frozenset(
    {"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"}
)

# [https://fetch.spec.whatwg.org/#forbidden-method]
# forbidden methods (byte-case-insensitive).
FORBIDDEN_METHODS = frozenset({"CONNECT", "TRACE", "TRACK"})

# [https://fetch.spec.whatwg.org/#forbidden-request-header] forbidden request-header names.
FORBIDDEN_REQUEST_HEADERS = frozenset(
    {
        "accept-charset",
        "accept-encoding",
        "access-control-request-headers",
        "access-control-request-method",
        "connection",
        "content-length",
        "cookie",
        "cookie2",
        "date",
        "dnt",
        "expect",
        "host",
        "keep-alive",
        "origin",
        "referer",
        "set-cookie",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "via",
    }
)
FORBIDDEN_REQUEST_HEADER_PREFIXES = ("proxy-", "sec-")

# Forbidden response-header names: never exposed to scripts
# [https://fetch.spec.whatwg.org/#forbidden-response-header-name].
FORBIDDEN_RESPONSE_HEADERS = frozenset({"set-cookie", "set-cookie2"})

# Origins are serialized without their scheme's default port [RFC 6454 6.1].
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}

# Request-side bounds (docs/spec.md "The Origin header",
# "Access-Control-Request-Headers").
MAX_ORIGIN_LENGTH = 1024
MAX_ACRH_LENGTH = 4096
MAX_ACRH_ELEMENTS = 64
# Access-Control-Request-Method: registered methods are at most 17 bytes
# long; a longer token is refused rather than echoed back (with
# credentials, a '*' in allow_methods is answered with the method itself).
MAX_ACRM_LENGTH = 64


_TOKEN = re.compile("[" + re.escape("".join(sorted(TCHARS))) + "]+")


def is_token(value: str) -> bool:
    """True when ``value`` is a non-empty RFC 9110 token."""
    return _TOKEN.fullmatch(value) is not None


def is_forbidden_request_header(name: str) -> bool:
    """``name`` must already be lowercase
    [https://fetch.spec.whatwg.org/#forbidden-request-header]."""
    return name in FORBIDDEN_REQUEST_HEADERS or name.startswith(
        FORBIDDEN_REQUEST_HEADER_PREFIXES
    )
