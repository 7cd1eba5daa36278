"""docs/spec.md "The Origin header", restated independently of both engines
for the tests: what a serialized origin looks like on the wire."""

from __future__ import annotations

import re

MAX_ORIGIN = 1024

# null, or scheme "://" host [":" port]: a lowercase scheme, a host of
# [a-z0-9_-] labels joined by dots (one trailing dot allowed) or a bracketed
# IPv6 address, and a port of digits.
SERIALIZED_ORIGIN = re.compile(
    r"null"
    r"|[a-z][a-z0-9+.\-]*://"
    r"(?:\[[0-9a-f:.]+\]|[a-z0-9_\-]+(?:\.[a-z0-9_\-]+)*\.?)"
    r"(?::[0-9]+)?"
)


def well_formed(origin: str) -> bool:
    return len(origin) <= MAX_ORIGIN and SERIALIZED_ORIGIN.fullmatch(origin) is not None
