"""Response-header helpers shared by every adapter (SPEC 5).

Adapters never decide anything here: they add a Decision's headers, drop
CORS headers the application set itself, and merge ``vary``.
"""

from __future__ import annotations

from typing import Optional

__all__ = ["CORS_RESPONSE_HEADERS", "CORS_RESPONSE_HEADERS_RAW", "merge_vary"]

# Response headers corsfast owns: an application's own values are replaced.
CORS_RESPONSE_HEADERS = frozenset(
    {
        "access-control-allow-origin",
        "access-control-allow-credentials",
        "access-control-allow-methods",
        "access-control-allow-headers",
        "access-control-expose-headers",
        "access-control-max-age",
        "access-control-allow-private-network",
    }
)
CORS_RESPONSE_HEADERS_RAW = frozenset(h.encode("ascii") for h in CORS_RESPONSE_HEADERS)


def merge_vary(existing: Optional[str], ours: str) -> str:
    """Merge two ``vary`` values token by token, case-insensitively.

    The application's tokens come first and keep their spelling; ``*``
    anywhere makes the result ``*`` (RFC 9110 12.5.5).
    """
    if not existing:
        return ours
    tokens: list[str] = []
    seen: set[str] = set()
    for value in (existing, ours):
        for token in value.split(","):
            token = token.strip(" \t")
            if not token:
                continue
            if token == "*":
                return "*"
            key = token.lower()
            if key not in seen:
                seen.add(key)
                tokens.append(token)
    return ", ".join(tokens)
