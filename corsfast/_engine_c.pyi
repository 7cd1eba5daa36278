"""Types of the compiled engine, ``corsfast._engine_c`` (src/_engine_c.pyx).

Its public names match the pure-Python twin, ``corsfast/_engine_py.py``.
Users reach both through ``corsfast.check_request`` and
``corsfast.Decision``; this stub is what type checkers see when code
imports the compiled module itself.
"""

from typing import Any, Awaitable, Final, final

from typing_extensions import disjoint_base

from ._policy import Policy, Tables
from ._reason import Reason

__all__ = ["ENGINE_NAME", "Core", "Decision", "check_request"]

_Header = tuple[str, str]
_RawHeader = tuple[bytes, bytes]
# Request values: str (WSGI, latin-1 decoded) or bytes (ASGI). None means
# the header was absent.
_Value = str | bytes

ENGINE_NAME: Final[str]

@final
class Decision:
    """What to do with one request. Immutable; may be shared."""

    def __init__(
        self,
        allowed: bool,
        preflight: bool,
        reason: Reason,
        status: int | None,
        headers: tuple[_Header, ...],
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
    def __eq__(self, value: object, /) -> bool: ...
    def __ne__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@disjoint_base
class Core:
    """A policy's tables as this engine keeps them: corsfast.Policy
    subclasses it when this engine is loaded."""

    def _engine_init(self, t: Tables) -> None: ...
    def _cache_sizes(self) -> dict[str, int]: ...

def check_request(
    policy: Policy,
    method: _Value,
    origin: _Value | None,
    request_method: _Value | None = None,
    request_headers: _Value | None = None,
    request_private_network: _Value | None = None,
) -> Decision:
    """Decide one request against ``policy``. Never raises on request data."""

def _noop_check(
    policy: Policy,
    method: _Value,
    origin: _Value | None,
    request_method: _Value | None = None,
    request_headers: _Value | None = None,
    request_private_network: _Value | None = None,
) -> None:
    """Does nothing, with check_request's signature: the benchmark floor."""

# -- the middleware's per-request pieces (twin: corsfast/_adapters_py.py) ----

ACTION_PROCEED: Final[int]
ACTION_ANSWER_PREFLIGHT: Final[int]
ACTION_REFUSE: Final[int]

def asgi_decide(policy: Policy, scope: Any) -> Decision: ...
def asgi_prepare(
    policy: Policy, scope: Any, send: Any, passthrough: bool, block: bool
) -> AsgiSend: ...
def wsgi_decide(policy: Policy, environ: Any) -> Decision: ...
def wsgi_answer(start_response: Any, status: Any, headers: Any) -> list[bytes]: ...
@final
class AsgiSend:
    started: bool
    decision: Any
    action: int
    @property
    def send(self) -> Any: ...
    @property
    def ours(self) -> tuple[_RawHeader, ...]: ...
    def __init__(self, send: Any, ours: tuple[_RawHeader, ...]) -> None: ...
    def __call__(self, message: Any) -> Any: ...
    def forward(self, message: Any, /) -> Any: ...

@final
class WsgiStartResponse:
    @property
    def start_response(self) -> Any: ...
    @property
    def ours(self) -> tuple[_Header, ...]: ...
    def __init__(self, start_response: Any, ours: tuple[_Header, ...]) -> None: ...
    def __call__(self, status: Any, headers: Any, exc_info: Any = None) -> Any: ...

@disjoint_base
class AsgiCore:
    app: Any
    _policy: Any
    _router: Any
    _passthrough: bool
    _block_refused: bool
    _check_websocket: bool
    _log_refusals: bool
    def _core_init(
        self, app: Any, policy: Any, router: Any, passthrough: bool,
        block_refused: bool, check_websocket: bool, log_refusals: bool = False,
    ) -> None: ...
    def __call__(self, scope: Any, receive: Any, send: Any) -> Awaitable[None]: ...

def asgi_call(self: AsgiCore, scope: Any, receive: Any, send: Any) -> Awaitable[None]: ...

@disjoint_base
class WsgiCore:
    app: Any
    _policy: Any
    _router: Any
    _send_error: Any
    _guard: Any
    _log: Any
    _passthrough: bool
    _block: bool
    def _core_init(
        self, app: Any, policy: Any, router: Any, passthrough: bool, block: bool,
        send_error: Any, guard: Any, log: Any = None,
    ) -> None: ...
    def __call__(self, environ: Any, start_response: Any) -> Any: ...

# -- the drop-ins' per-request pieces (twin: corsfast/_contrib_py.py) --------

@final
class DjangoState:
    policy: Any
    lookup: Any
    answer: Any
    def __init__(self, lookup: Any, answer: Any) -> None: ...

@disjoint_base
class DjangoCore:
    get_response: Any
    async_mode: bool
    _state: DjangoState
    def _core_init(self, get_response: Any, async_mode: bool, state: DjangoState) -> None: ...
    def __call__(self, request: Any) -> Any: ...

def django_write(response: Any, ours: tuple[_Header, ...]) -> None: ...

@disjoint_base
class FalconCore:
    _policy: Any
    _router: Any
    _passthrough: bool
    _block: bool
    def _core_init(self, policy: Any, router: Any, passthrough: bool, block: bool) -> None: ...
    def process_request(self, req: Any, resp: Any) -> None: ...
    def process_response(
        self, req: Any, resp: Any, resource: Any, req_succeeded: Any
    ) -> None: ...

def falcon_answer(resp: Any, status: Any) -> None: ...
def falcon_write(resp: Any, ours: tuple[_Header, ...]) -> None: ...
