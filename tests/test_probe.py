"""`corsfast probe` against real HTTP servers on 127.0.0.1 started here."""

from __future__ import annotations

import http.client
import json
import os
import shlex
import socket
import subprocess
import sys
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import probe_servers
import pytest

from corsfast import Policy
from corsfast._probe import attack_origins

ROOT = Path(__file__).resolve().parent.parent

def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "corsfast", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, env=env)


@pytest.fixture
def protected() -> Iterator[str]:
    yield from probe_servers.protected()


@pytest.fixture
def reflecting() -> Iterator[str]:
    yield from probe_servers.reflecting()


@pytest.fixture
def sloppy_regex() -> Iterator[str]:
    """corsfast with an unescaped dot in its regex."""
    policy = Policy(allow_origin_regex=r"https://app.example.com",
                    allow_credentials=True)
    yield from probe_servers.serve(probe_servers.corsfast_responder(policy))


@pytest.fixture
def wildcard() -> Iterator[str]:
    policy = Policy(allow_origins="*")
    yield from probe_servers.serve(probe_servers.corsfast_responder(policy))


@pytest.fixture
def silent() -> Iterator[str]:
    """Accepts connections (the kernel does) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    finally:
        sock.close()


def replay(curl: str) -> http.client.HTTPResponse:
    """Run a finding's curl line with http.client: the same request."""
    words = shlex.split(curl)
    assert words[:6] == ["curl", "-sS", "-o", "/dev/null", "-D", "-"]
    method, headers = "GET", {}
    rest = words[6:]
    url = rest.pop()
    while rest:
        flag, value = rest.pop(0), rest.pop(0)
        if flag == "-X":
            method = value
        else:
            assert flag == "-H"
            name, _, text = value.partition(": ")
            headers[name] = text
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    conn.request(method, parts.path, headers=headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


# -- servers ----------------------------------------------------------------------


def test_corsfast_protected_server_is_clean(protected: str) -> None:
    result = run("probe", protected, "--trusted", "https://app.example.com",
                 "--timeout", "5", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["clean"] is True and data["findings"] == []
    assert data["counts"] == {"high": 0, "medium": 0, "low": 0}
    assert data["trusted"] == [{"origin": "https://app.example.com",
                                "get": "accepted with credentials",
                                "preflight": "accepted with credentials"}]
    assert data["origins_tried"] >= 15
    assert data["requests"] == 2 * (data["origins_tried"] + 1)


def test_clean_text_output(protected: str) -> None:
    result = run("probe", protected, "--timeout", "5")
    assert result.returncode == 0
    last = result.stdout.splitlines()[-1]
    assert last.startswith(f"{protected}: clean, no findings: none of ")
    assert "attack origins was accepted" in last


def test_reflecting_server_is_caught(reflecting: str) -> None:
    result = run("probe", reflecting, "--trusted", "https://app.example.com",
                 "--timeout", "5", "--json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["clean"] is False
    findings = data["findings"]
    by_origin = {f["origin"]: f for f in findings if f["code"] == "reflects-origin"}
    for origin in ("https://evil.test", "null", "https://evilexample.com",
                   "https://app.example.com.evil.test", "https://appxexample.com",
                   "https://app.example.com_.evil.test", "http://app.example.com",
                   "https://example.github.io"):
        finding = by_origin[origin]
        assert finding["severity"] == "high"
        assert finding["credentials"] is True
        assert finding["methods"] == ["GET", "OPTIONS"]
    assert "https://app.example.com" not in by_origin  # trusted is not a finding
    (vary,) = [f for f in findings if f["code"] == "missing-vary"]
    assert vary["severity"] == "medium"
    for f in findings:
        assert set(f) == {"severity", "code", "origin", "trick", "methods",
                          "credentials", "message", "fix", "curl"}
        response = replay(f["curl"])
        assert response.headers["Access-Control-Allow-Origin"] == f["origin"]


def test_reflecting_text_output_and_progress(reflecting: str) -> None:
    result = run("probe", reflecting, "--timeout", "5")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("HIGH   accepts https://evil.test (arbitrary "
                               "origin) with credentials on GET and preflight")
    assert lines[1].startswith("       fix: ")
    assert lines[2] == ("       reproduce: curl -sS -o /dev/null -D - -H "
                        f"'Origin: https://evil.test' {reflecting}")
    assert "MEDIUM echoes the request's Origin without 'Vary: Origin'" in result.stdout
    assert lines[-1].startswith(f"{reflecting}: ") and "high" in lines[-1]
    assert result.stderr.startswith(f"probe: probing {reflecting} with ")
    assert "probe: [ 1/" in result.stderr or "probe: [1/" in result.stderr
    quiet = run("probe", reflecting, "--timeout", "5", "-q")
    assert quiet.returncode == 1 and quiet.stderr == ""


def test_unescaped_dot_in_a_regex_is_caught(sloppy_regex: str) -> None:
    result = run("probe", sloppy_regex, "--trusted", "https://app.example.com",
                 "--timeout", "5", "--json")
    assert result.returncode == 1
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["origin"] == "https://appxexample.com"
    assert finding["trick"] == "unescaped dot"
    assert finding["severity"] == "high" and finding["credentials"] is True
    assert replay(finding["curl"]).headers["Vary"] == "origin"


def test_wildcard_is_low_and_fail_on(wildcard: str) -> None:
    result = run("probe", wildcard, "--timeout", "5", "--json")
    assert result.returncode == 1
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["code"] == "wildcard-origin"
    assert finding["severity"] == "low" and finding["credentials"] is False
    assert run("probe", wildcard, "--timeout", "5", "-q",
               "--fail-on", "medium").returncode == 0


# -- failures are never "clean" ----------------------------------------------------------


def test_server_that_never_answers_exits_2(silent: str) -> None:
    result = run("probe", silent, "--timeout", "0.5")
    assert result.returncode == 2
    assert "no answer within 0.5 s" in result.stderr
    assert "clean" not in result.stdout
    as_json = run("probe", silent, "--timeout", "0.5", "--json", "-q")
    assert as_json.returncode == 2
    assert "no answer within 0.5 s" in json.loads(as_json.stdout)["error"]


def test_closed_port_exits_2() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    result = run("probe", f"http://127.0.0.1:{port}/", "--timeout", "2")
    assert result.returncode == 2
    assert "connection refused" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("args, needle", [
    (["ftp://127.0.0.1/"], "not an http:// or https:// URL"),
    (["http://127.0.0.1:99999/"], "invalid port"),
    (["http://127.0.0.1/", "--trusted", "app.example.com"], "write an origin"),
    (["http://127.0.0.1/", "--timeout", "0"], "--timeout must be a positive number"),
])
def test_probe_usage_errors(args: list[str], needle: str) -> None:
    result = run("probe", *args)
    assert result.returncode == 2
    assert needle in result.stderr


# -- derived origins -------------------------------------------------------------------


def test_attack_origins_derive_from_url_and_trusted() -> None:
    pairs = attack_origins("https://api.example.com/me",
                           ("https://app.example.com",))
    origins = [o for o, _ in pairs]
    assert len(origins) == len(set(origins))
    expected = {
        "https://evil.test": "arbitrary origin",
        "null": "null origin",
        "https://evilexample.com": "prefix trick",
        "https://api.example.com.evil.test": "suffix trick",
        "https://example.com.evil.test": "suffix trick",
        "https://apixexample.com": "unescaped dot",
        "https://appxexample.com": "unescaped dot",
        "https://app.example.com`.evil.test": "special character after the host",
        "http://api.example.com": "http downgrade",
        "http://app.example.com": "http downgrade",
        "https://example.vercel.app": "third-party hosting",
    }
    assert expected.items() <= dict(pairs).items()
    assert "https://app.example.com" not in origins   # trusted
    assert "https://api.example.com" not in origins   # the server's own origin


def test_attack_origins_keep_ports_and_skip_ip_tricks() -> None:
    origins = dict(attack_origins("http://127.0.0.1:8000/",
                                  ("http://localhost:3000",)))
    assert "http://localhost.evil.test:3000" in origins
    assert "http://evillocalhost:3000" in origins
    assert not any(o.startswith("http://evil127") for o in origins)
    assert "https://app.github.io" in origins
