"""A CORS_* setting the Django drop-in does not read is named in a warning."""

from __future__ import annotations

import warnings

import pytest
import test_django as dj  # configures Django for this process

import corsfast.contrib.django as cd
import corsfast.contrib.django._live as cdl


def _warnings_for(**overrides: object) -> list[str]:
    cdl._warned.clear()
    with dj.override_settings(CORS_ALLOWED_ORIGINS=[dj.FOO], **overrides):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            dj.CorsMiddleware(lambda request: dj.HttpResponse())
    return [str(w.message) for w in caught]


@pytest.mark.parametrize("name, suggestion", [
    ("CORS_ALLOWED_ORIGIN", "CORS_ALLOWED_ORIGINS"),
    ("CORS_ALLOW_HEADER", "CORS_ALLOW_HEADERS"),
    ("CORS_ALLOWED_METHODS", "CORS_ALLOW_METHODS"),
    ("CORS_LOG_REFUSAL", "CORS_LOG_REFUSALS"),
])
def test_a_mistyped_setting_warns_with_did_you_mean(name: str, suggestion: str) -> None:
    assert _warnings_for(**{name: ["x"]}) == [
        f"corsfast.contrib.django: unknown setting {name} is ignored; "
        f"did you mean {suggestion}?"]


def test_a_setting_like_nothing_known_warns_without_a_guess() -> None:
    assert _warnings_for(CORS_ZZZ=1) == [
        "corsfast.contrib.django: unknown setting CORS_ZZZ is ignored"]


@pytest.mark.parametrize("name", sorted(cd.REMOVED_SETTINGS))
def test_a_removed_setting_says_it_has_no_effect(name: str) -> None:
    (message,) = _warnings_for(**{name: "x"})
    assert message.startswith(f"corsfast.contrib.django: {name} is no longer read")
    assert message.endswith("it has no effect")


def test_every_known_setting_is_quiet() -> None:
    values = {name: getattr(dj.settings, name) for name in cd.KNOWN_SETTINGS
              if hasattr(dj.settings, name)}
    assert _warnings_for(CORS_ALLOW_METHODS=["GET"], CORS_ALLOW_HEADERS=["x-a"],
                         CORS_LOG_REFUSALS=False, **values) == []


def test_each_unknown_name_warns_once() -> None:
    assert len(_warnings_for(CORS_ORIGINS=["x"])) == 1
    with dj.override_settings(CORS_ALLOWED_ORIGINS=[dj.FOO], CORS_ORIGINS=["x"]):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            dj.CorsMiddleware(lambda request: dj.HttpResponse())
    assert caught == []
