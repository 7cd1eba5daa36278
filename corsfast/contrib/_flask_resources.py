"""flask-cors's ``resources`` option: which set of options serves a path.

Used by corsfast/contrib/flask.py; here because it is routing, not
options. Keys are matched against ``request.path`` as Werkzeug makes it
from ``PATH_INFO`` (never unquoted a second time): a literal exactly, a
regex from the start of the path to a segment boundary (see ``_match``).
Nothing here decides CORS.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable

from ._match import path_matcher

__all__ = ["EVERY_PATH", "PATH_CACHE_SIZE", "PathPolicies", "Resources", "is_regex",
           "path_matcher_for", "resources", "router"]

# flask-cors reads a string as a regex when it holds one of these.
_REGEX_HINTS = frozenset("*\\]?$^[]()")
# Resource keys that cover every path (flask-cors's default is r"/*").
EVERY_PATH = frozenset({"*", ".*", "/*", "/.*"})
PATH_CACHE_SIZE = 1024  # paths whose resource is remembered, per router
Resources = list[tuple[Callable[[str], bool], Any]]


def is_regex(value: Any) -> bool:
    return isinstance(value, re.Pattern) or (
        isinstance(value, str) and not _REGEX_HINTS.isdisjoint(value))


def path_matcher_for(pattern: Any) -> Callable[[str], bool]:
    """A resource key as a test on ``request.path``: a literal is compared
    exactly, a regex must match on a segment boundary (see ``_match``)."""
    if pattern == "*":
        pattern = ".*"
    if not is_regex(pattern):
        return str(pattern).__eq__
    return path_matcher(pattern, where="resources")


def resources(spec: Any) -> list[tuple[Any, dict[str, Any]]]:
    if isinstance(spec, dict):
        pairs = [(key, dict(value or {})) for key, value in spec.items()]

        def specificity(pair: tuple[Any, Any]) -> tuple[int, int, int, int]:
            key = pair[0]
            text = key.pattern if isinstance(key, re.Pattern) else str(key)
            if isinstance(key, re.Pattern):
                group = (1, 0)
            elif is_regex(key) or key == "*":
                group = (1, 1)
            else:
                group = (0, 0)
            return (*group, -text.count("/"), -len(text))

        pairs.sort(key=specificity)
        return pairs
    if isinstance(spec, (str, re.Pattern)):
        return [(spec, {})]
    if isinstance(spec, Iterable):
        return [(key, {}) for key in spec]
    raise ValueError("resources: expected a pattern, a list of patterns, or a "
                     "dict of pattern -> options")


def _request_path(path_info: str) -> str:
    """``request.path`` as Werkzeug makes it from ``PATH_INFO``."""
    try:
        path = path_info.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:
        path = path_info
    return "/" + path.lstrip("/")


class PathPolicies(dict):  # type: ignore[type-arg]
    """A router for :class:`corsfast.wsgi.CORSMiddleware`: ``PATH_INFO`` ->
    what ``choose`` gives for the first resource (in flask-cors's order)
    whose pattern matches ``request.path`` (a policy, or the rule itself),
    or None when none does.

    ``lookup`` is the dict's own subscript, so a path seen before costs the
    middleware one dict lookup; ``__missing__`` matches the resources and
    remembers the answer for up to ``PATH_CACHE_SIZE`` paths (paths come
    from clients: past that, new paths are matched every time).
    """

    __slots__ = ("_resources", "_choose")

    lookup = dict.__getitem__

    def __init__(self, resources: Resources,
                 choose: Callable[[Any], Any]) -> None:
        super().__init__()
        self._resources = resources
        self._choose = choose

    def __missing__(self, path_info: str) -> Any:
        path = _request_path(path_info)
        found = None
        for matches, rule in self._resources:
            if matches(path):
                found = self._choose(rule)
                break
        if len(self) < PATH_CACHE_SIZE:
            self[path_info] = found
        return found


def router(keys: list[Any], resources: Resources,
            choose: Callable[[Any], Any]) -> Any:
    """What ``choose`` gives for the first resource when it covers every
    path, else a router."""
    if isinstance(keys[0], str) and keys[0] in EVERY_PATH:
        return choose(resources[0][1])
    return PathPolicies(resources, choose)
