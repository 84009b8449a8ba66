"""Per-process bookkeeping of live sandboxes: the hard cap and cleanup on exit.

Every sandbox registers here when it starts and leaves when it closes. The cap
(default 64, env SWEFARM_MAX_SANDBOXES) bounds how many exist at once in this
process; at exit or on SIGTERM every sandbox still open is closed.
"""

from __future__ import annotations

import atexit
import signal
import threading
from typing import Protocol

from swefarm.sandbox.errors import SandboxError, SandboxLimitError

from swefarm.settings import current


class _Closable(Protocol):
    def close(self) -> None: ...


_lock = threading.Condition()
# Strong references: a sandbox dropped without close() still holds a container, and
# must still be closed at exit (a WeakSet forgot it and leaked the container).
_live: set = set()
_slots = 0  # reserved or live


_cap: int | None = None  # set_cap()'s; until then the process settings' (SWEFARM_MAX_SANDBOXES, default 64)
_atexit_installed = False
_sigterm_installed = False


_terminating = False


def set_cap(cap: int) -> None:
    global _cap
    with _lock:
        _cap = cap
        _lock.notify_all()


def cap() -> int:
    return _cap if _cap is not None else current().max_sandboxes


def live_count() -> int:
    return _slots


def reserve(wait_s: float = 0.0) -> None:
    """Take a slot for a new sandbox, waiting up to wait_s for one to free."""
    global _slots
    _install_handlers()
    if _terminating:
        raise SandboxError("this process is shutting down (SIGTERM): no new sandboxes")
    with _lock:
        if not _lock.wait_for(lambda: _slots < cap(), timeout=wait_s):
            raise SandboxLimitError(
                f"this process already holds {_slots} live sandboxes (the cap is {cap()}). Close some, or "
                "raise the cap with SWEFARM_MAX_SANDBOXES / sandbox.registry.set_cap()."
            )
        _slots += 1


def release_slot() -> None:
    global _slots
    with _lock:
        _slots = max(0, _slots - 1)
        _lock.notify_all()


def track(sandbox: _Closable) -> None:
    with _lock:
        _live.add(sandbox)
        _lock.notify_all()


def untrack(sandbox: _Closable) -> None:
    _live.discard(sandbox)


def close_all() -> None:
    for sandbox in list(_live):
        try:
            sandbox.close()
        except Exception:
            pass


def shutdown(wait_s: float = 30.0) -> None:
    """Refuse new sandboxes, wait for those being started right now (a pool's fillers), close them all.

    Without the wait, a container a background thread was creating when the
    process ended would outlive it.
    """
    global _terminating
    _terminating = True  # worker threads still running start no new sandbox
    with _lock:
        _lock.wait_for(lambda: _slots <= len(_live), timeout=wait_s)
    close_all()


def _on_sigterm(signum, frame):
    shutdown()
    raise SystemExit(128 + signum)


def _install_handlers() -> None:
    """Close every sandbox at exit and on SIGTERM.

    A signal handler can only be installed from the main thread; when the first
    sandbox starts elsewhere (a pool's filler threads), the handler is installed
    by the next reserve() on the main thread, or by install_sigterm_handler().
    """
    global _atexit_installed
    if not _atexit_installed:
        _atexit_installed = True
        atexit.register(shutdown)
    install_sigterm_handler()


def install_sigterm_handler() -> None:
    """Install the SIGTERM cleanup (main thread only; a no-op elsewhere or when a handler exists)."""
    global _sigterm_installed
    if _sigterm_installed or threading.current_thread() is not threading.main_thread():
        return
    _sigterm_installed = True
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _on_sigterm)
