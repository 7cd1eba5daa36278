"""``manage.py check`` for the ``CORS_*`` settings.

The problems are the ones the middleware raises (errors) or warns about
(warnings) when it starts, found by the same function: django-cors-headers'
numbers for the same settings (``corsfast.E001`` is ``corsheaders.E001``),
and warnings of corsfast's own. docs/django.md lists them.
"""

from __future__ import annotations

from typing import Any, Optional

from django.core.checks import CheckMessage, Error, Warning

from ._settings import _read_settings, _written

__all__ = ["check_settings"]


def check_settings(app_configs: Optional[Any] = None, **kwargs: Any) -> list[CheckMessage]:
    """A check message per problem with the ``CORS_*`` settings."""
    _, problems = _read_settings()
    messages: list[CheckMessage] = []
    for problem in problems:
        kind = Error if problem.is_error else Warning
        messages.append(kind(problem.message, hint=_old_name_hint(problem.setting),
                             id=f"corsfast.{problem.code}"))
    return messages


def _old_name_hint(setting: str) -> Optional[str]:
    """Where the value came from, when only the setting's old name is set."""
    written = _written(setting)
    if written == setting:
        return None
    return f"The value is {written}'s, the old name of {setting}; rename it to {setting}."
