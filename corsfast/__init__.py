"""corsfast: a compiled CORS engine, correct to the Fetch Standard.

>>> from corsfast import Policy, check_request
>>> policy = Policy(allow_origins=["https://app.example.com"])
>>> check_request(policy, "GET", "https://app.example.com").allowed
True
"""

from ._engine import ENGINE, Decision, check_request
from ._origin_set import OriginSet
from ._policy import ConfigError, Policy, PolicyWarning
from ._reason import Reason
from ._resolver import OriginResolver, SyncOriginResolver
from ._router import Router
from ._version import __version__
from ._watch import Watch, watch

__all__ = [
    "ENGINE",
    "ConfigError",
    "Decision",
    "OriginResolver",
    "OriginSet",
    "Policy",
    "PolicyWarning",
    "Reason",
    "Router",
    "SyncOriginResolver",
    "Watch",
    "__version__",
    "check_request",
    "watch",
]
