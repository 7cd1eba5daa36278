"""The error a bad configuration raises, shared by every part that validates
one (a Policy, an OriginSet, a policy file) so that each names its
problems the same way: the entry, then the fix."""

from __future__ import annotations

__all__ = ["ConfigError"]


class ConfigError(ValueError):
    """A policy's arguments are invalid. ``errors`` lists each problem."""

    __module__ = "corsfast"

    def __init__(self, errors: list[str], subject: str = "CORS policy") -> None:
        self.errors = list(errors)
        lines = "\n".join(f"  - {e}" for e in self.errors)
        super().__init__(
            f"invalid {subject} ({len(self.errors)} "
            f"problem{'s' if len(self.errors) != 1 else ''}):\n{lines}"
        )
