"""Translate peers' regex options into strict matchers (drop-ins only).

Peers match origin and path regexes with ``re.match``: a regex that matches
the start of the value accepts it, so ``https://app\\.example\\.com`` also
accepts ``https://app.example.com.evil.net``. The drop-ins close that hole:

- origin regexes become one full-match alternation for
  ``Policy(allow_origin_regex=...)``;
- path regexes must match from the start of the path and end on a segment
  boundary, so ``/api/*`` covers ``/api`` and ``/api/v1`` but not ``/apix``.

Both run once, at setup.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable

from .._policy import ConfigError

__all__ = ["origin_regex", "path_matcher"]

_SCOPED_FLAGS = ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"),
                 (re.VERBOSE, "x"), (re.ASCII, "a"))
# Global inline flags at the start of a pattern, such as "(?i)": Python
# refuses them anywhere else, so each branch takes them as scoped flags.
_LEADING_FLAGS = re.compile(r"\(\?([aimsx]+)\)")


def origin_regex(patterns: Iterable[Any], *, where: str,
                 string_flags: int = 0) -> re.Pattern[str]:
    """One regex that full-matches what any of ``patterns`` full-matches.

    Strings are compiled with ``string_flags``; compiled patterns keep their
    own flags, scoped to their branch (``(?i:...)``).
    """
    parts = []
    items = list(patterns)
    for pattern in items:
        if isinstance(pattern, re.Pattern):
            # Its flags already include its leading inline ones.
            text, flags = _without_leading_flags(pattern.pattern)[0], pattern.flags
        else:
            text, inline = _without_leading_flags(str(pattern))
            flags = string_flags | inline
        letters = "".join(letter for flag, letter in _SCOPED_FLAGS if flags & flag)
        parts.append(f"(?{letters}:{text})" if letters else f"(?:{text})")
    try:
        return re.compile("|".join(parts))
    except re.error as exc:
        hint = ("; inline global flags such as '(?i)' go at the very start "
                "of a pattern" if "global flags" in str(exc) else "")
        raise ConfigError([
            f"{where} {[getattr(p, 'pattern', p) for p in items]!r}: not a valid "
            f"regular expression ({exc}){hint}"]) from None


def _without_leading_flags(text: str) -> tuple[str, int]:
    """``text`` without its leading "(?i)"-style groups, and their flags."""
    flags = 0
    while (group := _LEADING_FLAGS.match(text)) is not None:
        for flag, letter in _SCOPED_FLAGS:
            if letter in group.group(1):
                flags |= flag
        text = text[group.end():]
    return text, flags


def path_matcher(pattern: Any, *, where: str) -> Callable[[str], bool]:
    """A path regex as a test: matches from the start, ends on a boundary.

    The boundary is the end of the path, or a '/' just before or just after
    the matched text. Paths are compared exactly as given (case-sensitive,
    never unquoted again).
    """
    if isinstance(pattern, re.Pattern):
        compiled = pattern
    else:
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ConfigError([f"{where} {pattern!r}: not a valid regular "
                               f"expression ({exc})"]) from None
    try:
        bounded = re.compile(f"(?:{compiled.pattern})(?:(?<=/)|(?=/)|\\Z)",
                             compiled.flags)
    except re.error:
        bounded = None  # inline global flags: check the boundary by hand
    if bounded is not None:
        match = bounded.match
        return lambda path: match(path) is not None

    def matches(path: str) -> bool:
        m = compiled.match(path)
        if m is None:
            return False
        end = m.end()
        return end == len(path) or path[end] == "/" or path[end - 1:end] == "/"

    return matches
