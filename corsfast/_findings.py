"""What the audit reports, and the facts it judges by: shared by
corsfast/_audit.py (policies) and corsfast/_audit_regex.py (regexes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

__all__ = ["BROWSER_MAX_AGE", "Finding", "MAX_AGE_BROWSER_CAP", "Note", "SEVERITIES"]

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
