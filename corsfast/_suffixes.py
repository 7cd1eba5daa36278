"""The Public Suffix List, read at construction only.

``corsfast/public_suffixes.txt`` (written by
scripts/refresh_public_suffixes.py) holds the list's rules; it is read the
first time a policy or the audit asks, and kept as frozensets. Request
handling never looks here.

A *public suffix* is a name under which strangers can register their own
hosts (``co.uk``, ``github.io``): trusting every subdomain of one trusts
them all. The *registrable domain* of a host is its public suffix plus one
label (``app.example.co.uk`` -> ``example.co.uk``). The rules follow
https://github.com/publicsuffix/list/wiki/Format: a name is a suffix when a
rule names it, when a ``*.`` rule names its parent and no ``!`` rule
excepts it, and a single label is always one.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import NamedTuple

__all__ = ["is_public_suffix", "is_shared_suffix", "registrable_domain"]


class _Rules(NamedTuple):
    names: frozenset[str]
    wildcards: frozenset[str]   # "*.ck" stored as "ck"
    exceptions: frozenset[str]  # "!www.ck" stored as "www.ck"


@lru_cache(maxsize=1)
def _rules() -> _Rules:
    text = resources.files("corsfast").joinpath("public_suffixes.txt").read_text(
        encoding="utf-8")
    names, wildcards, exceptions = set(), set(), set()
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if line.startswith("!"):
            exceptions.add(line[1:])
        elif line.startswith("*."):
            wildcards.add(line[2:])
        else:
            names.add(line)
    return _Rules(frozenset(names), frozenset(wildcards), frozenset(exceptions))


def is_public_suffix(host: str) -> bool:
    """Whether strangers can register names directly under ``host`` (a
    lowercase ASCII host name, without a trailing dot)."""
    if "." not in host:
        return True
    rules = _rules()
    if host in rules.exceptions:
        return False
    return host in rules.names or host.split(".", 1)[1] in rules.wildcards


def is_shared_suffix(host: str) -> bool:
    """Like :func:`is_public_suffix` for any host a policy or regex names:
    case and a trailing dot ignored; IP literals and non-names are never
    one (nobody registers under them)."""
    host = host.lower().rstrip(".")
    return _HOSTNAME.fullmatch(host) is not None and not _IPV4.fullmatch(host) \
        and is_public_suffix(host)


_HOSTNAME = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")
_IPV4 = re.compile(r"[0-9.]+")


def registrable_domain(host: str) -> str:
    """The public suffix of ``host`` plus one label; ``host`` itself when it
    is a public suffix or has no dot."""
    if is_public_suffix(host):
        return host
    labels = host.split(".")
    for i in range(1, len(labels)):
        if is_public_suffix(".".join(labels[i:])):
            return ".".join(labels[i - 1:])
    return host
