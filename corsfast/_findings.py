"""What the audit reports, and the facts it judges by: shared by
corsfast/_audit.py (policies) and corsfast/_audit_regex.py (regexes)."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from typing import Any, Optional

__all__ = ["BROWSER_MAX_AGE", "Finding", "MAX_AGE_BROWSER_CAP", "Note", "SEVERITIES",
           "SHARED_HOSTING_SUFFIXES", "is_shared_suffix"]

SEVERITIES = ("high", "medium", "low")

# What each engine keeps of Access-Control-Max-Age, in seconds. The Fetch
# Standard lets a user agent impose its own limit on the value
# (https://fetch.spec.whatwg.org/#cors-preflight-fetch, and the header at
# https://fetch.spec.whatwg.org/#http-access-control-max-age); these are the
# limits in the engines' sources:
# - Chromium: services/network/public/cpp/cors/preflight_result.cc,
#   kMaxTimeout = base::Hours(2), used since Chromium 76. The older Blink
#   constant kMaxPreflightCacheTimeoutSeconds was 600.
# - Firefox: netwerk/protocol/http/nsCORSListenerProxy.cpp,
#   nsCORSPreflightListener::AddResultToCache caps the parsed value at 86400
#   ("24 hours"); it is a constant there, not a network.cors_preflight.*
#   preference.
# - WebKit (Safari): Source/WebCore/loader/CrossOriginPreflightResultCache.cpp,
#   maxPreflightCacheTimeout = 600_s.
BROWSER_MAX_AGE = {"chromium": 7200, "firefox": 86400, "webkit": 600}
MAX_AGE_BROWSER_CAP = BROWSER_MAX_AGE["chromium"]  # the most common cap

# Suffixes under which anyone can get a host for free: trusting every
# subdomain of one trusts strangers. Taken from the private section of the
# Public Suffix List, plus common two-label public suffixes.
SHARED_HOSTING_SUFFIXES = frozenset({
    "github.io", "githubusercontent.com", "gitlab.io", "bitbucket.io",
    "herokuapp.com", "herokudns.com", "vercel.app", "now.sh", "netlify.app",
    "netlify.com", "pages.dev", "workers.dev", "web.app", "firebaseapp.com",
    "appspot.com", "azurewebsites.net", "cloudapp.net", "azurestaticapps.net",
    "cloudfront.net", "amazonaws.com", "s3.amazonaws.com", "elasticbeanstalk.com",
    "onrender.com", "fly.dev", "glitch.me", "repl.co", "replit.dev",
    "surge.sh", "ngrok.io", "ngrok-free.app", "ngrok.app", "trycloudflare.com",
    "loca.lt", "blogspot.com", "wordpress.com", "wixsite.com", "squarespace.com",
    "webflow.io", "codepen.io", "csb.app", "stackblitz.io", "deno.dev",
    "railway.app", "up.railway.app", "pythonanywhere.com", "readthedocs.io",
    "azureedge.net", "web.core.windows.net", "ondigitalocean.app",
    "co.uk", "org.uk", "com.au", "net.au", "co.jp", "com.br", "co.nz",
    "co.in", "com.cn", "com.mx", "co.za", "com.tr", "com.sg",
})


def is_shared_suffix(host: str) -> bool:
    """True when anyone can register a name directly under ``host``.

    Uses the ``publicsuffixlist`` package when it is installed, and the
    built-in list of shared-hosting suffixes either way.
    """
    host = host.lower().rstrip(".")
    if host in SHARED_HOSTING_SUFFIXES:
        return True
    if not _HOSTNAME.fullmatch(host):
        return False  # IP literals and non-names: nobody registers under them
    psl = _public_suffix_list()
    # No guard around the lookup: it only ever sees plain ASCII names, on
    # which it is string work, and a failure must stop the audit loudly
    # rather than pass a suffix off as private.
    return psl is not None and bool(psl.is_public(host))


_HOSTNAME = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")
_PSL: list[Any] = []


def _public_suffix_list() -> Any:
    """The optional ``publicsuffixlist`` package's list, loaded once."""
    if not _PSL:
        try:
            module = importlib.import_module("publicsuffixlist")
        except ImportError:
            _PSL.append(None)  # not installed: the built-in list decides
        else:
            _PSL.append(module.PublicSuffixList())
    return _PSL[0]


@dataclass(frozen=True)
class Finding:
    """One thing the audit (or a probe) found."""

    severity: str            # "high", "medium" or "low"
    code: str                # stable identifier, e.g. "regex-unescaped-dot"
    subject: str             # the setting, e.g. "allow_origins[1] 'null'"
    message: str             # what is trusted, in words
    fix: str                 # one line
    route: Optional[str] = None
    examples: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code,
            "route": self.route,
            "subject": self.subject,
            "message": self.message,
            "fix": self.fix,
            "examples": list(self.examples),
        }


@dataclass(frozen=True)
class Note:
    """Something worth knowing about a policy that is not a risk."""

    code: str                # stable identifier, e.g. "max-age-by-browser"
    subject: str             # the setting, e.g. "max_age 86400"
    message: str
    route: Optional[str] = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "route": self.route, "subject": self.subject,
                "message": self.message, "data": dict(self.data)}
