"""Placing episodes and sessions on sandbox hosts: image locality, spread, back-pressure, re-runs.

One `SandboxHost` actor per live node (made when the scheduler starts, and for nodes that join
later). A job goes to a host with a free slot, preferring one that already holds the task's
image (built or loaded once per node, then reused), else the least-loaded host, which copies the
image from a node that has it. Jobs wait in the scheduler while every slot is taken, so the
cluster is never asked for more than it holds. When a host is lost (its node died, or its actor),
its jobs are re-run on other hosts up to `max_attempts` times, its sessions end with
`HostLostError`, and the containers it left are removed through a live host on the same machine
(or by the next host to start there).

Every thread the scheduler starts that calls Ray (the node watch, the work after a host is lost,
the results of jobs) ends before `close()` returns: a thread still calling Ray after the driver's
`ray.shutdown()` starts a Ray instance of its own (seen here: the next `ray.init()` in the process
then fails) or touches the freed core worker (a crash: ray-project/ray#31145). Their waits on Ray
are sliced so that they notice the close.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from swefarm.cluster.errors import ClusterError, HostLostError, NoCapacityError, require_ray
from swefarm.cluster.hosts import Host, choose_host, host_lost, job_error
from swefarm.cluster.sessions import RemoteSession

log = logging.getLogger("swefarm.cluster")


@dataclass
class Done:
    """A finished job: the function's value and where and how it ran."""

    value: Any
    host: str
    node_id: str
    attempts: int
    lost: list[str]
    overhead_s: float  # from the scheduler's dispatch to the host picking the job up
    image_copy: dict | None


@dataclass
class _Job:
    image: str | None
    fn: Any
    args: tuple
    kwargs: dict
    retry: bool
    future: Future = field(default_factory=Future)
    attempts: int = 0
    lost: list[str] = field(default_factory=list)


class Scheduler:
    """Sandbox hosts on every node of the joined cluster, and the placement of work on them."""

    def __init__(self, slots_per_host: int = 8, pool_size: int = 2, max_attempts: int = 3,
                 nodes: list[str] | None = None):  # fmt: skip
        ray = require_ray()
        if not ray.is_initialized():
            raise ClusterError("join a cluster first: swefarm.cluster.connect.connect(address)")
        self.slots, self.pool_size, self.max_attempts = slots_per_host, pool_size, max_attempts
        self.only = set(nodes) if nodes else None  # None: every node of the cluster
        self.hosts: dict[str, Host] = {}  # node id -> its live host
        self.lost: list[Host] = []
        self.reaped = 0
        self.overheads: list[float] = []
        self._pending: deque[_Job] = deque()
        self._cv = threading.Condition()
        self._closed = False  # no new work is placed
        self._ended = False  # every wait on Ray gives up now (close() is past waiting for the reaping)
        self._threads: set[threading.Thread] = set()
        self._done = ThreadPoolExecutor(4, thread_name_prefix="swefarm-cluster-done")
        self._refreshing = threading.Lock()
        self.refresh()
        if not self.hosts:
            self._done.shutdown()
            raise ClusterError("the cluster has no live node to host sandboxes")
        self._spawn(self._watch_nodes, name="swefarm-cluster-nodes")

    def _spawn(self, target, *args, name: str) -> None:
        """A background thread that `close()` waits for (see the module docstring)."""

        def tracked() -> None:
            try:
                target(*args)
            finally:
                with self._cv:
                    self._threads.discard(threading.current_thread())
                    self._cv.notify_all()

        thread = threading.Thread(target=tracked, daemon=True, name=name)
        with self._cv:
            if self._ended:
                return
            self._threads.add(thread)
        thread.start()

    def _get(self, refs, timeout: float, closing_too: bool = False):
        """`ray.get(refs)` within `timeout` that gives up (ClusterError) as soon as the scheduler has
        ended (with `closing_too`, as soon as it closes)."""
        import ray
        from ray.exceptions import GetTimeoutError

        waiting = list(refs) if isinstance(refs, list) else [refs]
        deadline = time.monotonic() + timeout
        while True:
            if self._ended or (closing_too and self._closed):
                raise ClusterError("the scheduler closed")
            left = deadline - time.monotonic()
            if left <= 0:
                raise GetTimeoutError(f"no answer from the cluster within {timeout:g} s")
            ready, waiting = ray.wait(waiting, num_returns=len(waiting), timeout=min(left, 0.5))
            if not waiting:
                return ray.get(refs)

    def _pause(self, seconds: float) -> bool:
        """Sleep `seconds`, or less if the scheduler ends meanwhile; whether it has ended."""
        with self._cv:
            return self._cv.wait_for(lambda: self._ended, timeout=seconds)

    def _watch_nodes(self, every_s: float = 5.0) -> None:
        """Nodes that join get a host; a node that died while its host was idle loses it."""
        while True:
            with self._cv:
                if self._cv.wait_for(lambda: self._closed, timeout=every_s):
                    return
            try:
                self.refresh()
            except Exception as exc:
                log.warning("looking for new nodes failed: %s", exc)

    # -- hosts ----------------------------------------------------------------------------------
    def refresh(self) -> list[Host]:
        """Start a host on every live node that has none; returns the new ones."""
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
        from swefarm.cluster.connect import alive_nodes
        from swefarm.cluster.host import SandboxHost

        remote = ray.remote(SandboxHost)
        with self._refreshing:  # one refresh at a time: never two hosts for one node
            return self._refresh(ray, remote, NodeAffinitySchedulingStrategy, alive_nodes())

    def _refresh(self, ray, remote, strategy, alive: list[str]) -> list[Host]:
        for host in self.live_hosts():
            if host.node_id not in alive:
                self._lose(host, "its node is no longer alive")
        with self._cv:
            if self._closed:
                return []
            missing = [n for n in alive if n not in self.hosts and (self.only is None or n in self.only)]
        actors = {
            node: remote.options(
                num_cpus=0,
                max_concurrency=self.slots + 8,
                max_restarts=0,
                scheduling_strategy=strategy(node, soft=False),
            ).remote(self.slots, self.pool_size)  # fmt: skip
            for node in missing
        }
        made = []
        for node, actor in actors.items():
            try:
                info, images = self._get([actor.info.remote(), actor.images.remote()], timeout=300, closing_too=True)
            except Exception as exc:  # the node died while its host started (or the scheduler closed)
                log.warning("no host on node %s: %s", node[:8], exc)
                try:
                    ray.kill(actor)  # a host still waiting to be placed is never placed
                except Exception:
                    pass
                continue
            made.append(Host(actor=actor, info=info, slots=self.slots, images=set(images)))
        with self._cv:
            closed = self._closed
            for host in [] if closed else made:
                self.hosts[host.node_id] = host
                self.reaped += host.info.get("reaped_at_start", 0)
            self._cv.notify_all()
        if closed:  # closed while these started: end them too
            for host in made:
                ray.kill(host.actor)
            return []
        self._pump()
        return made

    def live_hosts(self) -> list[Host]:
        with self._cv:
            return [h for h in self.hosts.values() if h.lost is None]

    def free_slots(self) -> int:
        with self._cv:
            return sum(h.slots - h.running for h in self.hosts.values() if h.lost is None)

    def waiting(self) -> int:
        """Jobs submitted that wait for a free slot."""
        with self._cv:
            return len(self._pending)

    def wait_until(self, predicate, timeout: float | None = None) -> bool:
        """Block until `predicate()` holds (checked under the scheduler's lock whenever a job is placed
        or ends, or a host comes or goes), at most `timeout` seconds; whether it held."""
        with self._cv:
            return self._cv.wait_for(predicate, timeout)

    def _choose(self, image: str | None) -> Host | None:
        return choose_host(self.hosts.values(), image)

    def _source(self, image: str | None, host: Host):
        if not image or image in host.images:
            return None
        holders = [h for h in self.hosts.values() if h.lost is None and h is not host and image in h.images]
        return min(holders, key=lambda h: h.running).actor if holders else None

    def _take(self, host: Host, image: str | None):
        """Count one more job on `host` (under the lock); the actor to copy the image from, if needed."""
        source = self._source(image, host)
        host.running += 1
        host.placed += 1
        if image:
            host.images.add(image)  # it has it by the time the job starts
        return source

    # -- jobs ---------------------------------------------------------------------------------------
    def submit(self, image: str | None, fn, *args, retry: bool = True, **kwargs) -> Future:
        """Run `fn(ctx, *args, **kwargs)` on a host once one has a free slot; a Future of `Done`.

        With `retry`, a job whose host is lost runs again elsewhere (up to `max_attempts` in all);
        then, or without `retry`, the Future raises HostLostError."""
        job = _Job(image, fn, args, kwargs, retry)
        with self._cv:
            if self._closed:
                raise ClusterError("the scheduler is closed")
            self._pending.append(job)
        self._pump()
        return job.future

    def _pump(self) -> None:
        with self._cv:
            while self._pending:
                host = self._choose(self._pending[0].image)
                if host is None:
                    return  # back-pressure: the job waits for a free slot
                job = self._pending.popleft()
                job.attempts += 1
                source = self._take(host, job.image)
                sent = time.time()
                ref = host.actor.run.remote(job.image, source, job.fn, job.args, job.kwargs)
                # Results are handled off Ray's callback thread: what callers chain on a job may block.
                ref.future().add_done_callback(lambda out, j=job, h=host, t=sent: self._hand_over(j, h, t, out))
                self._cv.notify_all()

    def _hand_over(self, job: _Job, host: Host, sent: float, outcome: Future) -> None:
        """Ray's callback: the result goes to our own threads (what callers chain on a job may block)."""
        try:
            self._done.submit(self._finished, job, host, sent, outcome)
        except RuntimeError:  # closed: the job ends here, without another call to Ray
            if not job.future.done():
                job.future.set_exception(ClusterError("the scheduler closed while the job ran"))

    def _finished(self, job: _Job, host: Host, sent: float, outcome: Future) -> None:
        try:
            out = outcome.result()
        except BaseException as exc:
            self._failed(job, host, exc)
            return
        self._release(host)
        overhead = out["dispatched"] - sent
        with self._cv:
            self.overheads.append(overhead)
        job.future.set_result(Done(out["value"], host.id, host.node_id, job.attempts, list(job.lost), overhead,
                                   out.get("image_copy")))  # fmt: skip
        self._pump()

    def _failed(self, job: _Job, host: Host, exc: BaseException) -> None:
        self._release(host)
        if host_lost(exc):
            self._lose(host, f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
            reason = f"host {host.id} on node {host.node_id[:8]} was lost ({host.lost})"
            job.lost.append(reason)
            if job.retry and job.attempts < self.max_attempts and not self._closed:
                with self._cv:
                    self._pending.appendleft(job)
            else:
                job.future.set_exception(HostLostError(f"{reason}; {job.attempts} attempt(s)"))
        else:  # the function raised (its own error, as it was), or Ray failed (a ClusterError)
            job.future.set_exception(job_error(exc))
        self._pump()

    def _release(self, host: Host) -> None:
        with self._cv:
            host.running = max(0, host.running - 1)
            self._cv.notify_all()

    # -- losing a host -------------------------------------------------------------------------------
    def _lose(self, host: Host, reason: str) -> None:
        with self._cv:
            if host.lost is not None:
                return
            host.lost = reason
            if self.hosts.get(host.node_id) is host:
                del self.hosts[host.node_id]
            self.lost.append(host)
            self._cv.notify_all()
        log.warning("sandbox host %s on node %s lost: %s", host.id, host.node_id[:8], reason)
        self._spawn(self._after_loss, host, name="swefarm-cluster-host-lost")

    def _after_loss(self, host: Host) -> None:
        """Remove what the lost host left and, meanwhile, fill the node's place if the node lives on.

        Not one after the other: a node that died can still count as alive for a while, and a host
        started there waits until Ray knows better, while the dead host's sandboxes wait to go."""
        self._spawn(self._refresh_quietly, name="swefarm-cluster-refresh")
        self.reap(host)

    def _refresh_quietly(self) -> None:
        try:
            self.refresh()
        except Exception as exc:
            log.warning("refreshing the hosts failed: %s", exc)

    def reap(self, host: Host, timeout: float = 180.0) -> int:
        """Remove the containers lost `host` left, through a live host on its machine; waits for its
        process to end first (it can outlive its node by a moment). How many were removed; then
        `host.reaped` says whether none is left (False: the next host to start there removes them)."""
        deadline = time.monotonic() + timeout
        removed, done = 0, False
        while time.monotonic() < deadline and not self._ended:
            other = next((h for h in self.live_hosts() if h.info["hostname"] == host.info["hostname"]), None)
            if other is None:
                break  # no live host on that machine: the next one to start there reaps it
            try:
                answer = self._get(other.actor.reap.remote(host.info), timeout=120)
            except Exception as exc:
                log.warning("reaping host %s through %s failed: %s", host.id, other.id, exc)
                self._pause(1.0)
                continue
            removed += answer["removed"]
            with self._cv:
                self.reaped += answer["removed"]
            if not answer["waiting"]:
                done = True
                break
            self._pause(0.5)
        if not done:
            log.warning("host %s's containers stay: no live host could remove them yet", host.id)
        with self._cv:
            host.reaped = done
            self._cv.notify_all()
        return removed

    # -- sessions: an env held on one host between calls -----------------------------------------------
    def open_session(self, image: str | None, make_env, *args, reset: dict | None = None,
                     idle_timeout_s: float | None = None, answer=None, wait_s: float = 60.0):  # fmt: skip
        """An env made by `make_env(ctx, *args)` on a host with a free slot, reset; it holds the slot until closed."""
        import ray

        deadline = time.monotonic() + wait_s
        with self._cv:
            while (host := self._choose(image)) is None:
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise NoCapacityError(f"no sandbox host had a free slot within {wait_s:g} s; try again later")
                self._cv.wait(timeout=min(left, 1.0))
            source = self._take(host, image)
        session = RemoteSession(self, host, "rs-" + uuid.uuid4().hex[:16])
        try:
            first = ray.get(host.actor.open.remote(session.id, image, source, make_env, args, reset, idle_timeout_s,
                                                   answer))  # fmt: skip
        except BaseException as exc:
            if host_lost(exc):
                session._gone(exc)
                raise HostLostError(f"the host for the session was lost while it started: {exc}") from None
            session.closed = True
            self._release(host)
            raise job_error(exc) from None
        session.first = first
        return session

    # -- the end --------------------------------------------------------------------------------------
    def close(self, timeout: float = 120.0, reap_timeout: float = 180.0) -> int:
        """Stop placing work, let the reaping of lost hosts finish (through the live hosts, up to
        `reap_timeout`), close every host's sessions and sandboxes, end the hosts and every thread
        of the scheduler; sandboxes closed."""
        import ray

        with self._cv:
            if self._ended:
                return 0
            self._closed = True
            pending = list(self._pending)
            self._pending.clear()
            self._cv.notify_all()
        for job in pending:
            job.future.set_exception(ClusterError("the scheduler closed before the job ran"))
        self._join_threads(reap_timeout)  # the lost hosts' containers go while live hosts can remove them
        with self._cv:
            self._ended = True
            hosts = list(self.hosts.values())
            self._cv.notify_all()
        self._join_threads(30.0)  # they give up within a slice of their wait
        closed = 0
        refs = {h.actor.shutdown.remote(): h for h in hosts}
        for ref in refs:
            try:
                closed += ray.get(ref, timeout=timeout)
            except Exception as exc:
                log.warning("closing host %s: %s", refs[ref].id, exc)
        for host in hosts:
            try:
                ray.kill(host.actor)
            except Exception:
                pass
        # Results still being handled finish first (unless close() runs in one of them).
        self._done.shutdown(wait=not threading.current_thread().name.startswith("swefarm-cluster-done"))
        return closed

    def _join_threads(self, timeout: float) -> None:
        me = threading.current_thread()
        deadline = time.monotonic() + timeout
        with self._cv:
            while self._threads - {me} and (left := deadline - time.monotonic()) > 0:
                self._cv.wait(timeout=min(left, 1.0))
            left_running = sorted(t.name for t in self._threads - {me})
        if left_running and self._ended:
            log.warning("threads of the scheduler still run after close: %s", ", ".join(left_running))

    def __enter__(self) -> Scheduler:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
