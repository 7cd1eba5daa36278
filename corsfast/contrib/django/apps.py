"""The app that brings the ``CORS_*`` system checks: in ``INSTALLED_APPS``,
``"corsfast.contrib.django"`` in place of ``"corsheaders"``."""

from __future__ import annotations

from django.apps import AppConfig
from django.core.checks import Tags, register

from .checks import check_settings

__all__ = ["CorsfastConfig"]


class CorsfastConfig(AppConfig):  # type: ignore[misc]  # AppConfig is Any to mypy
    name = "corsfast.contrib.django"
    label = "corsfast"
    verbose_name = "corsfast"

    def ready(self) -> None:
        register(check_settings, Tags.security)
