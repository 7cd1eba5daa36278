"""Types of the compiled engine, ``corsfast._engine_c`` (src/corsfast/_engine_c.pyx).

Its public names match the pure-Python twin, ``corsfast/_engine_py.py``.
Users reach both through ``corsfast.check_request`` and
``corsfast.Decision``; this stub is what type checkers see when code
imports the compiled module itself.
"""

from typing import Any, Final, Iterable

from typing_extensions import disjoint_base

from ._reason import Reason
from ._tables import Tables

__all__ = ["ENGINE_NAME", "Decision", "Matcher", "check_request", "is_options"]

_Header = tuple[str, str]
_RawHeader = tuple[bytes, bytes]

ENGINE_NAME: Final[str]

@disjoint_base
class Decision:
    """What to do with one request. Immutable; may be shared."""

    def __init__(
        self,
        allowed: bool,
        preflight: bool,
        reason: Reason,
        status: int | None,
        headers: Iterable[_Header],
        reasons: Iterable[Reason] | None = None,
    ) -> None: ...
    @property
    def allowed(self) -> bool: ...
    @property
    def preflight(self) -> bool: ...
    @property
    def reason(self) -> Reason: ...
    @property
    def status(self) -> int | None: ...
    @property
    def headers(self) -> tuple[_Header, ...]: ...
    @property
    def raw_headers(self) -> tuple[_RawHeader, ...]: ...
    @property
    def reasons(self) -> tuple[Reason, ...]: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __ne__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@disjoint_base
class Matcher:
    """What this engine keeps for one policy."""

    def __init__(self, t: Tables) -> None: ...
    @property
    def tables(self) -> Tables: ...
    def refusal(self, reasons: Iterable[Reason]) -> Decision: ...
    def cache_sizes(self) -> dict[str, int]: ...

def check_request(
    policy: Any,
    method: Any,
    origin: Any,
    request_method: Any = None,
    request_headers: Any = None,
    request_private_network: Any = None,
) -> Decision:
    """Decide one request against ``policy``. Never raises on request data."""

def is_options(method: Any) -> bool: ...
