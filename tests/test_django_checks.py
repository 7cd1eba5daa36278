"""``manage.py check`` for the CORS_* settings: the corsfast app
(``"corsfast.contrib.django"`` in INSTALLED_APPS) and its system checks.

Django is configured by test_django (no installed apps); the tests that run
Django's own check command install the app with ``override_settings``.
"""

from __future__ import annotations

import re
import warnings
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import test_django as dj  # configures Django for this process
from django.apps import apps
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

import corsfast
import corsfast.contrib.django as cd
import corsfast.contrib.django._live as cdl
import corsfast.contrib.django._settings as reader
from corsfast._config import load_mapping
from corsfast.contrib.django.checks import check_settings

ROOT = Path(__file__).resolve().parent.parent
APP = "corsfast.contrib.django"


def messages_for(**overrides: Any) -> list[checks.CheckMessage]:
    with dj.override_settings(**overrides):
        return check_settings()


def only_message(**overrides: Any) -> checks.CheckMessage:
    found = messages_for(**overrides)
    assert len(found) == 1, found
    return found[0]


# -- the app and Django's check command ----------------------------------------------


def test_the_app_is_labelled_corsfast() -> None:
    with dj.override_settings(INSTALLED_APPS=[APP]):
        config = apps.get_app_config("corsfast")
        assert config.name == APP
        assert check_settings in checks.registry.registry.get_checks()


def test_defaults_give_no_messages() -> None:
    assert messages_for() == []
    assert messages_for(CORS_ALLOWED_ORIGINS=["https://app.example.com", "null", "file://"],
                        CORS_ALLOWED_ORIGIN_REGEXES=[re.compile(r"^https://\w+\.example\.com$")],
                        CORS_URLS_REGEX=r"^/api/") == []
    out = StringIO()
    with dj.override_settings(INSTALLED_APPS=[APP]):
        call_command("check", stdout=out)
    assert "no issues" in out.getvalue()


def test_check_command_fails_on_a_bad_setting() -> None:
    with dj.override_settings(INSTALLED_APPS=[APP], CORS_ALLOW_HEADERS=["cookie"]):
        with pytest.raises(SystemCheckError, match=r"corsfast\.E001"):
            call_command("check", stdout=StringIO(), stderr=StringIO())
        # The checks are tagged security, as django-cors-headers' are.
        with pytest.raises(SystemCheckError, match=r"corsfast\.E001"):
            call_command("check", tags=["security"], stdout=StringIO(), stderr=StringIO())


def test_check_command_reports_warnings_without_failing() -> None:
    err = StringIO()
    with dj.override_settings(INSTALLED_APPS=[APP], CORS_ALLOWED_ORIGIN=["x"]):
        call_command("check", stdout=StringIO(), stderr=err)
    assert "corsfast.W001" in err.getvalue()


# -- one id per setting ---------------------------------------------------------------


@pytest.mark.parametrize("overrides, check_id, setting", [
    ({"CORS_ALLOW_HEADERS": object}, "corsfast.E001", "CORS_ALLOW_HEADERS"),
    ({"CORS_ALLOW_HEADERS": "x-token"}, "corsfast.E001", "CORS_ALLOW_HEADERS"),
    ({"CORS_ALLOW_METHODS": [object]}, "corsfast.E002", "CORS_ALLOW_METHODS"),
    ({"CORS_ALLOW_CREDENTIALS": "yes"}, "corsfast.E003", "CORS_ALLOW_CREDENTIALS"),
    ({"CORS_PREFLIGHT_MAX_AGE": -1}, "corsfast.E004", "CORS_PREFLIGHT_MAX_AGE"),
    ({"CORS_PREFLIGHT_MAX_AGE": "10"}, "corsfast.E004", "CORS_PREFLIGHT_MAX_AGE"),
    ({"CORS_ALLOW_ALL_ORIGINS": 1}, "corsfast.E005", "CORS_ALLOW_ALL_ORIGINS"),
    ({"CORS_ORIGIN_ALLOW_ALL": 1}, "corsfast.E005", "CORS_ORIGIN_ALLOW_ALL"),
    ({"CORS_ALLOWED_ORIGINS": "https://app.example.com"}, "corsfast.E006",
     "CORS_ALLOWED_ORIGINS"),
    ({"CORS_ORIGIN_WHITELIST": object}, "corsfast.E006", "CORS_ORIGIN_WHITELIST"),
    ({"CORS_ALLOWED_ORIGIN_REGEXES": object}, "corsfast.E007", "CORS_ALLOWED_ORIGIN_REGEXES"),
    ({"CORS_ALLOWED_ORIGIN_REGEXES": ["(unclosed"]}, "corsfast.E007",
     "CORS_ALLOWED_ORIGIN_REGEXES"),
    ({"CORS_EXPOSE_HEADERS": [object]}, "corsfast.E008", "CORS_EXPOSE_HEADERS"),
    ({"CORS_URLS_REGEX": 5}, "corsfast.E009", "CORS_URLS_REGEX"),
    ({"CORS_URLS_REGEX": "(unclosed"}, "corsfast.E009", "CORS_URLS_REGEX"),
    ({"CORS_ALLOWED_ORIGINS": ["app.example.com"]}, "corsfast.E013", "CORS_ALLOWED_ORIGINS"),
    ({"CORS_ALLOWED_ORIGINS": ["https://"]}, "corsfast.E013", "CORS_ALLOWED_ORIGINS"),
    ({"CORS_ALLOWED_ORIGINS": ["https://app.example.com/api"]}, "corsfast.E014",
     "CORS_ALLOWED_ORIGINS"),
    ({"CORS_ALLOWED_ORIGINS": ["https://app.example.com?x=1"]}, "corsfast.E014",
     "CORS_ALLOWED_ORIGINS"),
    ({"CORS_ALLOW_PRIVATE_NETWORK": None}, "corsfast.E015", "CORS_ALLOW_PRIVATE_NETWORK"),
    ({"CORS_LOG_REFUSALS": "yes"}, "corsfast.E101", "CORS_LOG_REFUSALS"),
])
def test_each_setting_has_its_error_id(overrides: dict[str, Any], check_id: str,
                                       setting: str) -> None:
    message = only_message(**overrides)
    assert isinstance(message, checks.Error)
    assert message.id == check_id
    # Named as written, first, or after the entry at fault.
    assert message.msg.startswith(setting) or f"' in {setting}: " in message.msg


@pytest.mark.parametrize("overrides, check_id, fix", [
    ({"CORS_ALLOWED_ORIGINS": ["https://app.example.com/"]}, "corsfast.E014",
     "drop the trailing slash: write 'https://app.example.com'"),
    ({"CORS_ALLOWED_ORIGINS": ["https://App.Example.com"]}, "corsfast.E006",
     "write 'https://app.example.com'"),
    ({"CORS_ALLOWED_ORIGINS": ["https://app.example.com:99999"]}, "corsfast.E006",
     "the port must be a number from 1 to 65535"),
    ({"CORS_ALLOW_HEADERS": ["content-type", "cookie"]}, "corsfast.E001",
     "'cookie': a forbidden request header"),
    ({"CORS_ALLOW_METHODS": ["GET", "TRACE"]}, "corsfast.E002", "remove it"),
    ({"CORS_EXPOSE_HEADERS": ["*"], "CORS_ALLOW_CREDENTIALS": True,
      "CORS_ALLOWED_ORIGINS": ["https://app.example.com"]}, "corsfast.E008",
     "list the header names to expose"),
])
def test_corsfast_s_own_rules_are_errors_of_the_setting(overrides: dict[str, Any],
                                                       check_id: str, fix: str) -> None:
    message = only_message(**overrides)
    assert isinstance(message, checks.Error)
    assert message.id == check_id
    assert fix in message.msg


def test_every_problem_is_reported_at_once() -> None:
    found = messages_for(CORS_ALLOWED_ORIGINS=["https://a.example/", "b.example"],
                         CORS_ALLOW_HEADERS=["cookie"], CORS_URLS_REGEX="(unclosed")
    assert [m.id for m in found] == ["corsfast.E014", "corsfast.E013", "corsfast.E001",
                                     "corsfast.E009"]
    assert found[1].msg.startswith("Origin 'b.example' in CORS_ALLOWED_ORIGINS: ")


def test_an_entry_is_named_by_its_value_not_its_index() -> None:
    # The '*' entry is left out of the policy (W002): an index would be off by one.
    found = messages_for(CORS_ALLOWED_ORIGINS=["https://*.example.com", "https://b.example/"])
    assert [m.id for m in found] == ["corsfast.W002", "corsfast.E014"]
    assert found[1].msg.startswith("Origin 'https://b.example/' in CORS_ALLOWED_ORIGINS: drop")


@pytest.mark.parametrize("old, new, value, check_id", [
    ("CORS_ORIGIN_WHITELIST", "CORS_ALLOWED_ORIGINS", ["https://app.example.com/"],
     "corsfast.E014"),
    ("CORS_ORIGIN_WHITELIST", "CORS_ALLOWED_ORIGINS", object, "corsfast.E006"),
    ("CORS_ORIGIN_ALLOW_ALL", "CORS_ALLOW_ALL_ORIGINS", "yes", "corsfast.E005"),
    ("CORS_ORIGIN_REGEX_WHITELIST", "CORS_ALLOWED_ORIGIN_REGEXES", ["(x"], "corsfast.E007"),
])
def test_an_old_name_is_the_name_in_the_message(old: str, new: str, value: Any,
                                                check_id: str) -> None:
    message = only_message(**{old: value})
    assert message.id == check_id
    assert old in message.msg and new not in message.msg
    assert message.hint == f"The value is {old}'s, the old name of {new}; rename it to {new}."
    # Under the current name, no hint.
    assert only_message(**{new: value}).hint is None


# -- warnings ---------------------------------------------------------------------------


@pytest.mark.parametrize("name, suggestion", [
    ("CORS_ALLOWED_ORIGIN", "CORS_ALLOWED_ORIGINS"),
    ("CORS_ALLOWED_METHODS", "CORS_ALLOW_METHODS"),
])
def test_a_typo_warns_with_did_you_mean(name: str, suggestion: str) -> None:
    message = only_message(**{name: ["https://app.example.com"]})
    assert isinstance(message, checks.Warning) and not isinstance(message, checks.Error)
    assert message.id == "corsfast.W001"
    assert message.msg == f"unknown setting {name} is ignored; did you mean {suggestion}?"


@pytest.mark.parametrize("name, check_id", [("CORS_MODEL", "corsfast.E012"),
                                             ("CORS_REPLACE_HTTPS_REFERER", "corsfast.E013")])
def test_a_removed_setting_is_an_error_of_its_own(name: str, check_id: str) -> None:
    # django-cors-headers' numbers; the middleware only warns (it has no effect).
    message = only_message(**{name: "x"})
    assert isinstance(message, checks.Error)
    assert message.id == check_id
    assert message.msg.startswith(f"{name} is no longer read")
    assert cd.REMOVED_SETTINGS[name] in message.msg


def test_settings_that_match_less_than_they_seem_warn() -> None:
    star = only_message(CORS_ALLOWED_ORIGINS=["https://*.example.com"])
    assert star.id == "corsfast.W002" and "CORS_ALLOWED_ORIGIN_REGEXES" in star.msg
    every = only_message(CORS_ALLOW_ALL_ORIGINS=True, CORS_ALLOW_CREDENTIALS=True)
    assert every.id == "corsfast.W003" and "reflects every origin" in every.msg


def test_the_checks_warn_nothing_themselves() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [m.id for m in messages_for(CORS_ZZZ=1)] == ["corsfast.W001"]


# -- the middleware: the same problems, at startup ------------------------------------------


@pytest.mark.parametrize("overrides", [
    {"CORS_ALLOWED_ORIGINS": ["https://app.example.com/"]},
    {"CORS_ALLOW_CREDENTIALS": "yes", "CORS_ORIGIN_WHITELIST": object},
    {"CORS_ALLOW_HEADERS": ["cookie"], "CORS_URLS_REGEX": "(unclosed"},
])
def test_the_middleware_raises_the_errors_the_checks_report(overrides: dict[str, Any]) -> None:
    errors = [m.msg for m in messages_for(**overrides)]
    with dj.override_settings(**overrides):
        with pytest.raises(dj.ImproperlyConfigured) as raised:
            dj.CorsMiddleware(lambda request: dj.HttpResponse())
    assert str(raised.value) == reader._message(errors)


def test_the_middleware_warns_what_the_checks_warn() -> None:
    cdl._warned.clear()
    with dj.override_settings(CORS_ALLOWED_ORIGINS=[dj.FOO], CORS_MODEL="x"):
        (message,) = check_settings()
        assert message.id == "corsfast.E012"  # an error to the checks only
        with pytest.warns(UserWarning) as caught:
            dj.CorsMiddleware(lambda request: dj.HttpResponse())
    assert [str(w.message) for w in caught] == [f"corsfast.contrib.django: {message.msg}"]


# -- docs and packaging -----------------------------------------------------------------------


def test_docs_list_every_check_id() -> None:
    text = (ROOT / "docs" / "django.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `corsfast\.([EW]\d{3})`", text, re.MULTILINE))
    codes = {*reader._ERROR_IDS.values(), "E013", "E014", reader._NO_SETTING_ID,
             *reader._REMOVED_IDS.values(), "W001", "W002", "W003", "W004"}
    assert documented == codes


def test_every_package_is_shipped() -> None:
    listed = load_mapping(ROOT / "pyproject.toml")["tool"]["setuptools"]["packages"]
    # The installed corsfast: under cibuildwheel, the wheel's own files.
    top = Path(corsfast.__file__).parent
    packages = {".".join(init.parent.relative_to(top.parent).parts)
                for init in top.rglob("__init__.py")}
    assert APP in packages
    assert packages <= set(listed)
