"""Follow a policy file while the server runs (docs/spec.md "Live policies").

``corsfast.watch("cors.toml", middleware)`` puts the file's policy in force
at once, then polls the file and puts each new version in force with
``middleware.reconfigure()``, one reference swap per middleware. What it
must never do is swap in something broken, so the rules are:

- A version is loaded with :func:`load`, the very loader that
  ``corsfast validate`` runs: :meth:`corsfast.Policy.from_file`, with one
  more refusal, an empty file. An empty file is what an editor or a
  ``>`` redirection leaves between truncating the file and writing it, and
  read as TOML it would be a policy that allows no origin at all.
- A version that does not load is never put in force. Each entry of its
  :class:`~corsfast.ConfigError` is logged at ERROR on the ``corsfast``
  logger, escaped, and the running policy stays. It is tried again at the
  next change, so a half-written file is picked up once the writer is done.
- A change is seen by ``os.stat``: modification time (in nanoseconds),
  size and inode. A new inode is an atomic replacement (write a temporary
  file, then rename it over the old one: the way to publish a policy file);
  a file that is deleted keeps the policy in force, is logged once and is
  loaded again when it comes back. When the file changes while it is read,
  what was read is set aside and the next poll reads the newer version.
- ``SIGHUP`` asks for a reload (where the platform has it and ``watch`` is
  called from the main thread). The handler only wakes the watching
  thread, so no file is read and nothing is logged inside a signal
  handler, and a callable handler installed before is still called.
- A version that loads is always put in force, even when it equals the
  running policy: the swap costs one reference, and comparing would miss a
  middleware reconfigured by other code in between.

With several middleware, each is given the new policy in turn; when one of
them refuses it (a drop-in that takes no router raises ``TypeError``), those
already given it get their previous policy back, so every middleware keeps
running one and the same version.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType, TracebackType
from typing import Any, Callable, Optional, Union

from ._logging import escape_for_log, logger
from ._policy import ConfigError, Policy
from ._router import Router

__all__ = ["Watch", "describe", "load", "watch"]

Target = Union[Policy, Router]
PathLike = Union[str, "os.PathLike[str]"]
Signature = tuple[int, int, int]

# Most characters of one logged error line; a line names the file and the
# entry, so it is allowed more room than a request value.
MAX_ERROR_LINE = 1000


def load(path: PathLike) -> Target:
    """What :func:`watch` would put in force from ``path``: a
    :class:`~corsfast.Policy`, or a :class:`~corsfast.Router` when the file
    has routes. Raises :class:`~corsfast.ConfigError` (every problem, each
    naming the file) or ``OSError``."""
    name = os.fspath(path)
    if os.stat(name).st_size == 0:
        raise ConfigError([f"{name}: the file is empty (a file caught between "
                           f"being truncated and written looks like this); "
                           f"write the policy into it"])
    return Policy.from_file(name)


def describe(target: Target) -> str:
    """A few words on what a file holds, for log lines and the CLI."""
    if isinstance(target, Router):
        return f"per-path policies for {', '.join(target.routes())}"
    origins = len(target.allow_origins)
    words = f"one policy, {origins} origin entr{'y' if origins == 1 else 'ies'}"
    if target.allow_origin_regex is not None:
        words += " and a regex"
    return words


def _signature(path: str) -> Signature:
    st = os.stat(path)
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _targets(middleware: Any) -> tuple[Any, ...]:
    many = tuple(middleware) if isinstance(middleware, (list, tuple)) else (middleware,)
    if not many:
        raise TypeError("watch: give at least one middleware")
    for m in many:
        if not callable(getattr(m, "reconfigure", None)):
            raise TypeError(f"watch: {type(m).__name__} has no reconfigure(); give "
                            f"a corsfast middleware or drop-in (or a list of them)")
    return many


class Watch:
    """A running watch, as :func:`watch` returns it.

    ``reload()`` loads the file now; ``stop()`` ends the watch (and is what
    leaving a ``with`` block does). ``path`` is the file; ``handles_sighup``
    says whether ``SIGHUP`` reloads it; ``reloads`` and ``refusals`` count
    the versions put in force and the ones refused, the first load
    included; ``last_errors`` holds the error lines of the latest version
    that failed (empty once a version loads again).
    """

    def __init__(self, path: PathLike, middleware: Any, interval: float,
                 sighup: bool) -> None:
        self.path = os.fspath(path)
        self._targets = _targets(middleware)
        interval = float(interval)
        if not interval > 0:
            raise ValueError(f"watch: interval must be a positive number of "
                             f"seconds, not {interval!r}")
        self._interval = interval
        self.reloads = 0
        self.refusals = 0
        self.last_errors: tuple[str, ...] = ()
        self._lock = threading.Lock()  # one reload at a time
        self._wake = threading.Event()
        self._stopping = False
        self._seen: Optional[Signature] = None
        self._missing: Optional[str] = None  # the stat error logged last
        self._previous_handler: Any = None
        self.handles_sighup = False
        # The first load raises instead of logging: a watch never starts
        # on a file that does not load.
        signature = _signature(self.path)
        self._apply(load(self.path))
        self._seen = signature
        if sighup:
            self._install_sighup()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"corsfast.watch({self.path})")
        self._thread.start()

    # -- the public handle -----------------------------------------------------

    def reload(self) -> bool:
        """Load the file now and put it in force. False when it does not
        load (the reasons are logged and the running policy stays), and
        when it changed while being read (the next poll reads it again)."""
        with self._lock:
            try:
                signature = _signature(self.path)
            except OSError as exc:
                self._stat_failed(exc)
                return False
            return self._reload(signature)

    def stop(self) -> None:
        """End the watch: the thread stops, and the ``SIGHUP`` handler that
        was there before is put back (when this one is still installed and
        ``stop`` runs in the main thread). The policy in force stays."""
        self._stopping = True
        self._wake.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
        if self.handles_sighup and threading.current_thread() is threading.main_thread():
            if signal.getsignal(signal.SIGHUP) == self._on_sighup:
                signal.signal(signal.SIGHUP, self._previous_handler)
            self.handles_sighup = False

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, kind: Optional[type[BaseException]],
                 value: Optional[BaseException],
                 traceback: Optional[TracebackType]) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self._stopping else "watching"
        return f"<corsfast.Watch {self.path!r} {state}>"

    # -- the thread -----------------------------------------------------------

    def _run(self) -> None:
        while True:
            asked = self._wake.wait(self._interval)
            if self._stopping:
                return
            try:
                if asked:
                    self._wake.clear()
                    self.reload()
                else:
                    self._poll()
            except Exception:  # the watch must outlive any surprise
                logger.exception("policy file %s: the watch hit an unexpected "
                                 "error; it keeps watching",
                                 escape_for_log(self.path, MAX_ERROR_LINE))

    def _poll(self) -> None:
        with self._lock:
            try:
                signature = _signature(self.path)
            except OSError as exc:
                self._stat_failed(exc)
                return
            if signature != self._seen or self._missing is not None:
                self._reload(signature)

    # -- loading and applying (under the lock) -------------------------------

    def _reload(self, signature: Signature) -> bool:
        self._missing = None
        self._seen = signature
        try:
            target = load(self.path)
            settled = _signature(self.path) == signature
        except ConfigError as exc:
            self._refused(exc.errors)
            return False
        except OSError as exc:
            self._refused([f"{self.path}: cannot read it: {exc.strerror or exc}"])
            return False
        if not settled:
            # Written while it was read: the next poll sees the new signature
            # and reads the finished version.
            self._seen = None
            return False
        try:
            self._apply(target)
        except Exception as exc:
            self._refused([f"{self.path}: a middleware refused it: {exc}"])
            return False
        return True

    def _apply(self, target: Target) -> None:
        done: list[tuple[Any, Any]] = []
        try:
            for m in self._targets:
                before = getattr(m, "policy", None)
                m.reconfigure(target)
                done.append((m, before))
        except Exception:
            for m, before in reversed(done):
                if isinstance(before, (Policy, Router)):
                    m.reconfigure(before)
            raise
        # Logged first, counted last: whoever sees the count finds the line.
        logger.info("policy file %s is in force: %s",
                    escape_for_log(self.path, MAX_ERROR_LINE), describe(target))
        self.last_errors = ()
        self.reloads += 1

    def _refused(self, errors: list[str]) -> None:
        for error in errors:
            logger.error("policy file not put in force, the running policy "
                         "stays: %s", escape_for_log(error, MAX_ERROR_LINE))
        self.last_errors = tuple(errors)
        self.refusals += 1

    def _stat_failed(self, exc: OSError) -> None:
        words = ("is gone" if isinstance(exc, FileNotFoundError)
                 else f"cannot be read: {exc.strerror or exc}")
        if words != self._missing:  # once, not at every poll
            self._missing = words
            logger.warning("policy file %s %s; the running policy stays until "
                           "it is back", escape_for_log(self.path, MAX_ERROR_LINE),
                           words)

    # -- SIGHUP ---------------------------------------------------------------

    def _install_sighup(self) -> None:
        if not hasattr(signal, "SIGHUP"):
            return
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers belong to the main thread
        self._previous_handler = signal.signal(signal.SIGHUP, self._on_sighup)
        self.handles_sighup = True

    def _on_sighup(self, signum: int, frame: Optional[FrameType]) -> None:
        if not self._stopping:
            self._wake.set()
        previous: Callable[[int, Optional[FrameType]], Any] = self._previous_handler
        if callable(previous):
            previous(signum, frame)


def watch(path: PathLike, middleware: Any, *, interval: float = 1.0,
          sighup: bool = True) -> Watch:
    """Put the policy file ``path`` in force on ``middleware`` (one, or a
    list) and keep it there while the file changes; see the module
    docstring for the rules. Raises what :func:`load` raises when the file
    does not load now, ``TypeError`` for a middleware without
    ``reconfigure``."""
    return Watch(path, middleware, interval, sighup)
