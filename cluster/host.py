"""SandboxHost: the Ray actor on a node that owns the node's Docker engine, its warm pools, its
sessions and its images. Episodes and sessions run in its threads, at most `slots` at once.

Callers send *what* to run as a function that takes the host's `HostContext` first (an episode of
a rollout, an evaluation episode, an env for a session); the host supplies the node's engine,
caches policies and tasks, and makes sure the task's image is there first (copied from another
host when missing). Sandboxes carry the usual owner labels (this actor's pid, start time and
host name): when the actor or its node dies, `reap()` on a live host of the same machine, or
the next host to start there, removes every container it left.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from swefarm.cluster import images
from swefarm.cluster.context import HostContext


class _Session:
    def __init__(self, env, idle_timeout_s: float | None):
        self.env, self.idle_timeout_s = env, idle_timeout_s
        self.lock = threading.Lock()
        self.last_active = time.monotonic()


class SandboxHost:
    """One per node (or more): see the module docstring. Made remote by the scheduler."""

    def __init__(self, slots: int = 8, pool_size: int = 2):
        import ray
        from swefarm.sandbox import gc, registry
        from swefarm.sandbox.engine import connect
        from swefarm.sandbox.labels import process_start_time

        self.slots, self.pool_size = slots, pool_size
        self.client = connect(pool_size=4 * slots + 8)
        needed = 2 * slots + 16  # an episode may hold its sandbox and the grader's at once
        if registry.cap() < needed:
            registry.set_cap(needed)
        context = ray.get_runtime_context()
        self.identity: dict[str, Any] = {
            "node_id": context.get_node_id(),
            "actor_id": context.get_actor_id(),
            "hostname": socket.gethostname(),
            "pid": os.getpid(),
            "pid_start": process_start_time(os.getpid()) or "",
        }
        self.reaped_at_start = self._collect(gc)
        self.work_dir = Path(tempfile.mkdtemp(prefix="swefarm-host-"))
        self.ctx = HostContext(self.client, self.identity["node_id"], self.work_dir, pool_size)
        self.sessions: dict[str, _Session] = {}
        self.imported: list[dict] = []
        self._lock = threading.Lock()
        self._image_locks: dict[str, threading.Lock] = {}
        self.running = 0
        self.episodes = 0

    def _collect(self, gc, tries: int = 5) -> int:
        """A host that starts where another died removes what that one left (labels: a dead owner)."""
        import docker.errors

        for _ in range(tries):
            try:
                return len(gc.collect(self.client))
            except docker.errors.NotFound:
                continue  # a container went away between the listing and its inspection: list again
        return 0

    # -- what the scheduler asks --------------------------------------------------------------
    def info(self) -> dict:
        from swefarm.sandbox import registry

        return {
            **self.identity,
            "slots": self.slots,
            "running": self.running,
            "episodes": self.episodes,
            "sessions": len(self.sessions),
            "sandboxes": registry.live_count(),
            "reaped_at_start": self.reaped_at_start,
            "imported": list(self.imported),
        }

    def images(self, prefix: str = "swefarm/") -> list[str]:
        """The tags of this node's swefarm images (the scheduler's view of image locality)."""
        tags = []
        for image in self.client.images.list(name=None):
            tags += [t for t in image.tags if t.startswith(prefix)]
        return sorted(tags)

    def has_image(self, image: str) -> bool:
        from swefarm.sandbox.bases import image_exists

        return image_exists(self.client, image)

    def ensure_image(self, image: str, source=None) -> dict | None:
        """Make sure `image` is here: copied from host `source` when missing; what the copy took, or None."""
        from swefarm.sandbox.errors import ImageMissingError

        with self._lock:
            lock = self._image_locks.setdefault(image, threading.Lock())
        with lock:  # jobs wanting the same image wait for one copy
            if self.has_image(image):
                return None
            if source is None:
                raise ImageMissingError(f"node {self.identity['node_id'][:8]} has no image {image}, nor does any other")
            moved = images.pull(self.client, source, image)
            self.imported.append(moved)
            return moved

    # -- episodes ----------------------------------------------------------------------------------
    def run(self, image: str | None, source, fn, args: tuple = (), kwargs: dict | None = None) -> dict:
        """`fn(ctx, *args, **kwargs)` on this node once `image` is here; its value and when it started."""
        dispatched = time.time()
        with self._lock:
            self.running += 1
        try:
            moved = self.ensure_image(image, source) if image else None
            started = time.time()
            value = fn(self.ctx, *args, **(kwargs or {}))
            ended = time.time()
            return {"value": value, "dispatched": dispatched, "started": started, "ended": ended, "image_copy": moved}
        finally:
            with self._lock:
                self.running -= 1
                self.episodes += 1

    # -- sessions: an env that lives here between calls ---------------------------------------------
    def open(self, session_id: str, image: str | None, source, make_env, args: tuple = (),
             reset: dict | None = None, idle_timeout_s: float | None = None, answer=None) -> Any:  # fmt: skip
        """Make the env (`make_env(ctx, *args)`), reset it and keep it; returns the reset's answer."""
        if image:
            self.ensure_image(image, source)
        env = make_env(self.ctx, *args)
        try:
            result = env.reset(**(reset or {}))
        except BaseException:
            env.close()
            raise
        with self._lock:
            self.sessions[session_id] = _Session(env, idle_timeout_s)
        return answer("reset", result) if answer else result

    def call(self, session_id: str, method: str, args: tuple = (), kwargs: dict | None = None, answer=None) -> Any:
        """`env.<method>(*args)` on a session's env (one call at a time); `answer(method, result)` shapes it."""
        session = self.sessions.get(session_id)
        if session is None:
            raise KeyError(f"this host holds no session {session_id}")
        if not session.lock.acquire(blocking=False):
            raise RuntimeError(f"session {session_id} is busy with another call; send one call at a time")
        try:
            received = time.perf_counter()
            result = getattr(session.env, method)(*args, **(kwargs or {}))
            session.last_active = time.monotonic()
            shaped = answer(method, result) if answer else result
            return {"result": shaped, "host_s": time.perf_counter() - received}
        finally:
            session.lock.release()

    def close(self, session_id: str) -> bool:
        with self._lock:
            session = self.sessions.pop(session_id, None)
        if session is None:
            return False
        with session.lock:  # a call in flight finishes first
            session.env.close()
        return True

    def expire_idle(self) -> list[str]:
        """Close sessions idle past their timeout; their ids."""
        now = time.monotonic()
        with self._lock:
            idle = [k for k, s in self.sessions.items()
                    if s.idle_timeout_s and now - s.last_active > s.idle_timeout_s and not s.lock.locked()]  # fmt: skip
        return [k for k in idle if self.close(k)]

    # -- images for other nodes -------------------------------------------------------------------------
    def export_image(self, image: str) -> dict:
        """`image` saved into the object store (chunks this host owns) for other nodes to load."""
        return images.export(self.client, image)

    def import_image(self, bundle: dict) -> dict:
        """Load an export (from `export_image` on another host) into this node's engine."""
        moved = images.load(self.client, bundle)
        self.imported.append(moved)
        return moved

    # -- faults and the end --------------------------------------------------------------------------------
    def reap(self, owner: dict) -> dict:
        """Remove the containers a dead host (`owner`: its identity) left on this machine's engine.

        Returns how many were removed and how many wait because their owner still runs (a host whose
        node was killed can outlive the node by a moment: ask again)."""
        from swefarm.sandbox.gc import reap_owner

        if owner.get("hostname") != self.identity["hostname"]:
            return {"removed": 0, "waiting": 0}  # another machine's engine: its next host reaps it
        removed, waiting = reap_owner(self.client, owner["hostname"], owner["pid"], owner.get("pid_start", ""))
        return {"removed": removed, "waiting": waiting}

    def shutdown(self) -> int:
        """Close every session and sandbox this host holds; how many sandboxes were still open."""
        from swefarm.envs.pools import close_all, wait_closed
        from swefarm.sandbox import registry

        for session_id in list(self.sessions):
            try:
                self.close(session_id)
            except Exception:
                pass
        self.ctx.close()
        close_all()  # no warm pool refills past this point
        wait_closed()
        left = registry.live_count()
        registry.close_all()
        self._remove_own()  # and any container of this process the registry did not hold
        shutil.rmtree(self.work_dir, ignore_errors=True)
        return left

    def _remove_own(self) -> int:
        from swefarm.sandbox.gc import reap_owner

        me = self.identity
        try:
            removed, _ = reap_owner(self.client, me["hostname"], me["pid"], me["pid_start"], owner_ending=True)
        except Exception:  # the engine is gone: the next host to start on this machine removes them
            return 0
        return removed
