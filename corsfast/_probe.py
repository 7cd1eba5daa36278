"""Probe a live server with the origins attackers use.

For a URL such as ``https://api.example.com/me`` the probe derives origins
from the URL's host and from every ``--trusted`` origin: an arbitrary site,
``null``, prefix and suffix tricks (``https://evilexample.com``,
``https://api.example.com.evil.test``), an unescaped dot
(``https://apixexample.com``), characters some browsers allow after a host
(``_``, backtick, ``}``), a plain-http downgrade and free third-party
hosting. Each is sent twice, as a GET and as a preflight, without cookies,
and every origin the server accepts (``Access-Control-Allow-Origin`` equal
to it, or ``*``) is reported with and without credentials, along with a
reflected answer that lacks ``Vary: Origin``. Each finding carries a curl
line that reproduces it.

Only the standard library is used (``http.client``). Redirects are not
followed: the headers of the first answer are what a browser checks.
"""

from __future__ import annotations

import http.client
import ipaddress
import shlex
import ssl
from dataclasses import dataclass, field
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from ._audit import registrable as _registrable
from ._version import __version__

__all__ = ["ProbeError", "ProbeFinding", "ProbeReport", "attack_origins",
           "check_url", "probe"]

ATTACKER = "evil.test"   # .test is reserved: never a real site
THIRD_PARTY = ("github.io", "herokuapp.com", "vercel.app", "netlify.app",
               "pages.dev")
SPECIAL_AFTER_HOST = "_`}"


class ProbeError(Exception):
    """The probe could not finish: a bad URL, a timeout, a refused connection."""


@dataclass(frozen=True)
class ProbeFinding:
    severity: str        # "high", "medium" or "low"
    code: str            # "reflects-origin", "wildcard-origin", "missing-vary"
    origin: str
    trick: str           # which attack the origin stands for
    message: str
    fix: str
    curl: str
    methods: tuple[str, ...] = ()
    credentials: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code,
            "origin": self.origin,
            "trick": self.trick,
            "methods": list(self.methods),
            "credentials": self.credentials,
            "message": self.message,
            "fix": self.fix,
            "curl": self.curl,
        }


@dataclass
class ProbeReport:
    url: str
    findings: list[ProbeFinding] = field(default_factory=list)
    trusted: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    origins: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "clean": not self.findings,
            "origins_tried": self.origins,
            "requests": self.requests,
            "findings": [f.to_dict() for f in self.findings],
            "trusted": self.trusted,
        }


# -- attack origins -----------------------------------------------------------------


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _split_origin(origin: str) -> tuple[str, str, str]:
    """``https://a.com:8443`` -> (``https``, ``a.com``, ``:8443``)."""
    scheme, _, rest = origin.partition("://")
    if rest.startswith("["):
        end = rest.find("]") + 1
        return scheme, rest[:end], rest[end:]
    host, sep, port = rest.partition(":")
    return scheme, host, (sep + port)


def attack_origins(url: str, trusted: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """``(origin, trick)`` pairs to try against ``url``, trusted ones left out."""
    parts = urlsplit(url)
    own = f"{parts.scheme}://{parts.netloc}".lower()
    bases = [(parts.scheme, (parts.hostname or "").lower(), "")]
    for origin in trusted:
        if "://" in origin:
            bases.append(_split_origin(origin))

    out: list[tuple[str, str]] = [
        (f"https://{ATTACKER}", "arbitrary origin"),
        ("null", "null origin"),
    ]
    for scheme, host, port in bases:
        if not host:
            continue
        domain = _registrable(host)
        ip = _is_ip(host)
        if not ip:
            out.append((f"{scheme}://evil{domain}{port}", "prefix trick"))
        out.append((f"{scheme}://{host}.{ATTACKER}{port}", "suffix trick"))
        if domain != host:
            out.append((f"{scheme}://{domain}.{ATTACKER}{port}", "suffix trick"))
        if not ip:
            labels = host.split(".")
            for i in range(1, len(labels) - 1):
                name = ".".join(labels[:i]) + "x" + ".".join(labels[i:])
                out.append((f"{scheme}://{name}{port}", "unescaped dot"))
        for ch in SPECIAL_AFTER_HOST:
            out.append((f"{scheme}://{host}{ch}.{ATTACKER}{port}",
                        "special character after the host"))
        if scheme == "https":
            out.append((f"http://{host}{port}", "http downgrade"))
    # A name on free hosting that looks like the site's own.
    names = [_registrable(host).split(".")[0] for _, host, _ in bases
             if host and not _is_ip(host) and "." in host]
    first = "".join(ch for ch in (names or ["app"])[0]
                    if ch.isalnum() or ch == "-") or "app"
    for suffix in THIRD_PARTY:
        out.append((f"https://{first}.{suffix}", "third-party hosting"))

    skip = {o.lower() for o in trusted} | {own}
    seen: set[str] = set()
    result = []
    for origin, trick in out:
        if origin not in seen and origin.lower() not in skip:
            seen.add(origin)
            result.append((origin, trick))
    return result


# -- requests ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Answer:
    status: int
    acao: Optional[str]
    acac: bool
    vary: str


def check_url(url: str) -> None:
    """Raise :class:`ProbeError` unless ``url`` is an http(s) URL with a host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProbeError(f"{url!r} is not an http:// or https:// URL")
    try:
        _ = parts.port
    except ValueError:
        raise ProbeError(f"{url!r} has an invalid port") from None


class _Target:
    def __init__(self, url: str, timeout: float, insecure: bool) -> None:
        check_url(url)
        parts = urlsplit(url)
        port = parts.port
        self.url = url
        self.https = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = port
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.timeout = timeout
        self.insecure = insecure
        self.context: Optional[ssl.SSLContext] = None
        if self.https:
            self.context = ssl.create_default_context()
            if insecure:
                self.context.check_hostname = False
                self.context.verify_mode = ssl.CERT_NONE

    def send(self, method: str, headers: dict[str, str]) -> _Answer:
        conn: http.client.HTTPConnection
        if self.https:
            conn = http.client.HTTPSConnection(
                self.host, self.port, timeout=self.timeout, context=self.context)
        else:
            conn = http.client.HTTPConnection(self.host, self.port,
                                              timeout=self.timeout)
        what = f"{method} {self.url}"
        try:
            conn.request(method, self.path, headers={
                "User-Agent": f"corsfast-probe/{__version__}", **headers})
            response = conn.getresponse()
            acao_lines = response.headers.get_all("Access-Control-Allow-Origin") or []
            acac = (response.headers.get("Access-Control-Allow-Credentials") or "")
            vary = ", ".join(response.headers.get_all("Vary") or [])
            status = response.status
            response.read(1 << 16)
        except TimeoutError:
            raise ProbeError(f"{what}: no answer within {self.timeout:g} s "
                             f"(raise --timeout if the server is slow)") from None
        except ssl.SSLError as exc:
            raise ProbeError(f"{what}: TLS failed ({exc.reason or exc}); "
                             f"--insecure skips certificate checks") from None
        except ConnectionRefusedError:
            raise ProbeError(f"{what}: connection refused; is the server "
                             f"running on that host and port?") from None
        except (OSError, http.client.HTTPException) as exc:
            detail = str(exc) or type(exc).__name__
            raise ProbeError(f"{what}: {detail}") from None
        finally:
            conn.close()
        # Two Access-Control-Allow-Origin lines make browsers refuse.
        acao = acao_lines[0].strip() if len(acao_lines) == 1 else None
        return _Answer(status, acao, acac.strip().lower() == "true", vary)

    def curl(self, method: str, headers: dict[str, str]) -> str:
        words = ["curl", "-sS", "-o", "/dev/null", "-D", "-"]
        if self.insecure:
            words.append("-k")
        if method != "GET":
            words += ["-X", method]
        for name, value in headers.items():
            words += ["-H", f"{name}: {value}"]
        words.append(self.url)
        return " ".join(shlex.quote(w) for w in words)


# -- probe ------------------------------------------------------------------------------


def probe(
    url: str,
    trusted: tuple[str, ...] = (),
    *,
    timeout: float = 10.0,
    request_method: str = "GET",
    insecure: bool = False,
    progress: Optional[Callable[[str], None]] = None,
) -> ProbeReport:
    """Send the attack origins to ``url``; raise :class:`ProbeError` when the
    server cannot be reached or stops answering (never a clean report)."""
    target = _Target(url, timeout, insecure)
    say = progress or (lambda line: None)
    report = ProbeReport(url)
    candidates = attack_origins(url, trusted)
    report.origins = len(candidates)
    total = 2 * (len(candidates) + len(trusted))
    say(f"probing {url} with {len(candidates)} attack origins "
        f"({total} requests, timeout {timeout:g} s each)")

    def ask(origin: str) -> tuple[_Answer, _Answer]:
        get = target.send("GET", {"Origin": origin})
        pre = target.send("OPTIONS", {
            "Origin": origin, "Access-Control-Request-Method": request_method})
        report.requests += 2
        return get, pre

    for origin in trusted:
        get, pre = ask(origin)
        report.trusted.append({
            "origin": origin,
            "get": _verdict(get, origin),
            "preflight": _verdict(pre, origin),
        })
        say(f"trusted {origin}: GET {_verdict(get, origin)}, "
            f"preflight {_verdict(pre, origin)}")

    wildcard: list[str] = []
    vary_reported = False
    width = len(str(len(candidates)))
    for n, (origin, trick) in enumerate(candidates, 1):
        get, pre = ask(origin)
        say(f"[{n:>{width}}/{len(candidates)}] {origin} ({trick}): "
            f"GET {_verdict(get, origin)}, preflight {_verdict(pre, origin)}")
        reflected = [(m, a) for m, a in (("GET", get), ("OPTIONS", pre))
                     if a.acao == origin]
        if reflected:
            creds = any(a.acac for _, a in reflected)
            methods = tuple(m for m, _ in reflected)
            first = methods[0]
            headers = {"Origin": origin}
            if first == "OPTIONS":
                headers["Access-Control-Request-Method"] = request_method
            report.findings.append(ProbeFinding(
                severity="high" if creds else "medium",
                code="reflects-origin",
                origin=origin,
                trick=trick,
                methods=methods,
                credentials=creds,
                message=(f"accepts {origin} ({trick}) "
                         f"{'with' if creds else 'without'} credentials on "
                         f"{' and '.join('preflight' if m == 'OPTIONS' else m for m in methods)}"),
                fix=("list the trusted origins exactly (or anchor the regex "
                     "to them) instead of reflecting what the request sends"),
                curl=target.curl(first, headers),
            ))
        elif any(a.acao == "*" for a in (get, pre)):
            wildcard.append(origin)
        if get.acao == origin and not vary_reported and not _varies_on_origin(get.vary):
            vary_reported = True
            report.findings.append(ProbeFinding(
                severity="medium",
                code="missing-vary",
                origin=origin,
                trick=trick,
                methods=("GET",),
                credentials=get.acac,
                message=("echoes the request's Origin without 'Vary: Origin', "
                         "so a shared cache can serve one origin's answer to "
                         "another"),
                fix="add 'Vary: Origin' to every response whose CORS headers "
                    "depend on Origin",
                curl=target.curl("GET", {"Origin": origin}),
            ))
    if wildcard:
        origin = wildcard[0]
        report.findings.append(ProbeFinding(
            severity="low",
            code="wildcard-origin",
            origin=origin,
            trick="any origin",
            methods=("GET",),
            message=(f"answers 'Access-Control-Allow-Origin: *' to "
                     f"{len(wildcard)} attack origins: every website can read "
                     f"responses without credentials"),
            fix="fine for public, unauthenticated data; otherwise list the "
                "origins you trust",
            curl=target.curl("GET", {"Origin": origin}),
        ))
    rank = {"high": 0, "medium": 1, "low": 2}
    report.findings.sort(key=lambda f: rank[f.severity])
    return report


def _verdict(answer: _Answer, origin: str) -> str:
    if answer.acao == origin:
        return "accepted with credentials" if answer.acac else "accepted"
    if answer.acao == "*":
        return "accepted via *"
    return "not accepted"


def _varies_on_origin(vary: str) -> bool:
    tokens = {t.strip().lower() for t in vary.split(",")}
    return "origin" in tokens or "*" in tokens
