"""Policies from mappings and files: keys, routes, errors and suggestions."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from corsfast import ConfigError, Policy, Router, check_request
from corsfast._config import FILE_KEYS, load_mapping, policy_from_file, policy_from_mapping
from corsfast.cli import EXAMPLES, toml_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def test_mapping_builds_a_policy_with_every_file_key() -> None:
    policy = policy_from_mapping({
        "allow_origins": ["https://app.example.com", "https://*.example.org"],
        "allow_origin_regex": r"https://(a|b)\.example\.net",
        "allow_methods": ["get", "PUT"],
        "allow_headers": ["Content-Type"],
        "expose_headers": ["x-request-id"],
        "allow_credentials": True,
        "max_age": 600,
        "allow_private_network": True,
        "preflight_status": 200,
    })
    assert isinstance(policy, Policy)
    assert policy.allow_methods == ("GET", "PUT")
    assert policy.allow_headers == ("content-type",)
    assert policy.max_age == 600 and policy.preflight_status == 200
    assert check_request(policy, "GET", "https://b.example.net").allowed
    assert not check_request(policy, "GET", "https://c.example.net").allowed


def test_file_keys_are_policy_arguments() -> None:
    import inspect

    # Every argument but the callable, the live origin set and a drop-in's dialect.
    params = set(inspect.signature(Policy).parameters)
    assert set(FILE_KEYS) == params - {"allow_origin_predicate", "allow_origin_set",
                                       "dialect"}


@pytest.mark.parametrize("wrong, right", [
    ("allow_origin", "allow_origins"),
    ("allow-origins", "allow_origins"),
    ("Allow-Credentials", "allow_credentials"),
    ("max-age", "max_age"),
    ("expose_header", "expose_headers"),
    ("allow_private_networks", "allow_private_network"),
    ("route", "routes"),
])
def test_unknown_key_suggests_the_nearest(wrong: str, right: str) -> None:
    with pytest.raises(ConfigError) as info:
        policy_from_mapping({wrong: True})
    assert info.value.errors == [f"{wrong}: unknown key; did you mean '{right}'?"]


def test_unknown_key_far_from_any_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError) as info:
        policy_from_mapping({"zzz": 1})
    assert "valid keys are allow_origins" in str(info.value)


def test_predicate_cannot_come_from_a_mapping() -> None:
    with pytest.raises(ConfigError, match="predicate is Python code"):
        policy_from_mapping({"allow_origin_predicate": "lambda o: True"})


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        policy_from_mapping({
            "allow_origins": ["https://a.example.com/", "https://b.example.com"],
            "allow_origin": [],
            "max_age": -1,
        })
    errors = info.value.errors
    assert len(errors) == 3
    assert "allow_origin: unknown key; did you mean 'allow_origins'?" in errors
    assert any(e.startswith("allow_origins[0] 'https://a.example.com/': drop "
                            "the trailing slash") for e in errors)
    assert any(e.startswith("max_age:") for e in errors)


def test_routes_build_a_router_and_top_level_is_the_root() -> None:
    router = policy_from_mapping({
        "allow_origins": ["https://www.example.com"],
        "routes": {
            "/api": {"allow_origins": ["https://app.example.com"],
                     "allow_credentials": True},
        },
    })
    assert isinstance(router, Router)
    api = router.lookup("/api/users")
    root = router.lookup("/elsewhere")
    assert api is not None and root is not None and api is not root
    assert api.allow_credentials and not root.allow_credentials
    # Nothing is inherited from the top level.
    assert api.allow_origins == ("https://app.example.com",)
    assert router.lookup("/apix") is root


def test_routes_without_top_level_have_no_root() -> None:
    router = policy_from_mapping({"routes": {"/api": {"allow_origins": "*"}}})
    assert isinstance(router, Router)
    assert router.lookup("/other") is None


def test_route_errors_name_the_route() -> None:
    with pytest.raises(ConfigError) as info:
        policy_from_mapping({"routes": {
            "/api": {"allow_origins": ["HTTPS://App.example.com"], "maxage": 5},
            "api": {},
            "/x": "not a table",
        }})
    errors = info.value.errors
    assert ("routes['/api'].maxage: unknown key; did you mean 'max_age'?"
            in errors)
    assert any(e.startswith("routes['/api'].allow_origins[0] "
                            "'HTTPS://App.example.com': write the scheme and "
                            "host in lowercase") for e in errors)
    assert any(e.startswith("routes['api']: a route is a path prefix") for e in errors)
    assert any(e.startswith("routes['/x']: expected a table") for e in errors)


@pytest.mark.parametrize("mapping, needle", [
    ({"routes": {"/": {}}, "max_age": 5}, "already are the '/' policy"),
    ({"routes": {}}, "routes: expected a table"),
    ({"routes": {"/a": {"routes": {"/b": {}}}}}, "routes do not nest"),
    ({"routes": {"/api": {}, "/api/": {}}}, "the same prefix"),
])
def test_route_table_mistakes(mapping: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        policy_from_mapping(mapping)


def test_not_a_mapping() -> None:
    with pytest.raises(ConfigError, match="expected a table"):
        policy_from_mapping(["https://a.example.com"])  # type: ignore[arg-type]


def test_toml_and_json_files(tmp_path: Path) -> None:
    toml_file = tmp_path / "cors.toml"
    toml_file.write_text('allow_origins = ["https://a.example.com"]\n'
                         'max_age = 60\n')
    json_file = tmp_path / "cors.json"
    json_file.write_text(json.dumps({"allow_origins": ["https://a.example.com"],
                                     "max_age": 60}))
    from_toml = policy_from_file(toml_file)
    from_json = policy_from_file(str(json_file))
    assert repr(from_toml) == repr(from_json)
    assert from_toml.max_age == 60


def test_suffixless_file_is_sniffed(tmp_path: Path) -> None:
    (tmp_path / "a").write_text('{"allow_origins": "*"}')
    (tmp_path / "b").write_text('allow_origins = "*"\n')
    assert policy_from_file(tmp_path / "a").allow_origins == ("*",)
    assert policy_from_file(tmp_path / "b").allow_origins == ("*",)


def test_file_errors_name_the_file_and_entry(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[routes."/api"]\nallow_origins = ["https://a.example.com:443"]\n')
    with pytest.raises(ConfigError) as info:
        policy_from_file(path)
    (error,) = info.value.errors
    assert error.startswith(f"{path}: routes['/api'].allow_origins[0] "
                            f"'https://a.example.com:443': drop the default port")


@pytest.mark.parametrize("name, text, needle", [
    ("x.toml", "allow_origins = [", "not valid TOML"),
    ("x.json", '{"allow_origins": [}', "not valid JSON (Expecting value at line 1"),
    ("x.json", '["https://a.example.com"]', "must be an object"),
])
def test_unparsable_files(tmp_path: Path, name: str, text: str, needle: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_mapping(path)
    assert needle in str(info.value)


def test_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        policy_from_file(tmp_path / "absent.toml")


@pytest.mark.parametrize("name, example", [
    ("policy.toml", "app"), ("routes.toml", "routes"), ("risky.toml", "risky"),
])
def test_example_files_match_the_built_in_examples(name: str, example: str) -> None:
    assert load_mapping(ROOT / "examples" / name) == EXAMPLES[example]
    policy_from_file(ROOT / "examples" / name)  # and they are valid


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_toml_text_round_trips(example: str) -> None:
    assert tomllib.loads(toml_text(EXAMPLES[example])) == EXAMPLES[example]


def test_json_example_file_loads() -> None:
    policy = policy_from_file(ROOT / "examples" / "policy.json")
    assert check_request(policy, "GET", "https://pr-7.preview.example.com").allowed
