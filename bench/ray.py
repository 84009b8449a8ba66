"""`swefarm bench ray` (swefarm.cluster): a local cluster of N nodes on 127.0.0.1 against one node, with a node killed.

Figures (one run, one machine; a 2-core machine cannot show throughput scaling, see docs/scaling.md):

- `episodes_per_min` with every node's host, `single_node_episodes_per_min` with one host only,
  both of oracle episodes on the same task at the same slots per host;
- `node_kill_recovered`: the same episodes again with a worker node SIGKILLed mid-run, every one
  scored (re-run elsewhere);
- `leaked_containers`: containers any host of the run still owns at the end (0);
- `schedule_overhead_ms_p50`: from the scheduler's dispatch to the host starting the episode;
- `remote_step_p50_ms`: a bash `true` step of a `backend="ray"` env as the trainer sees it, beside
  the same step measured on the host (`host_step_p50_ms`);
- `per_episode`: the measured costs the paper model uses (reset, step, grade, episode wall time);
- `image_transfer`: a task image saved on one node and loaded on another through the object store.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from swefarm.bench.stats import per_minute, percentile_ms

TRUE_CALL = {"name": "bash", "arguments": {"command": "true"}}
BASE_IMAGE = "swefarm/base:py3.11"


def _present(image: str) -> bool:
    from swefarm.sandbox.bases import image_exists
    from swefarm.sandbox.engine import connect

    return image_exists(connect(), image)


def _episodes(scheduler, plan, kill: Callable[[Counter], None] | None = None) -> tuple[list, float]:
    from swefarm.cluster.rollout import run

    finished: Counter = Counter()
    start = time.perf_counter()
    watcher = None
    if kill is not None:
        watcher = threading.Thread(target=kill, args=(finished,), daemon=True)
        watcher.start()
    pairs = run(plan, "oracle", {}, scheduler, on_done=lambda t, d: finished.update([d.node_id if d else None]))
    if watcher is not None:
        watcher.join(timeout=0)  # it ends by itself once the pass is over
    return pairs, time.perf_counter() - start


def _per_min(pairs: list, seconds: float) -> float:
    return per_minute(sum(1 for t, _ in pairs if t.resolved), seconds)


def _remote_steps(scheduler, task, steps: int) -> dict:
    from swefarm.cluster.remote_env import RayEnv
    from swefarm.policy.episode import play
    from swefarm.policy.scripted import OraclePolicy

    env = RayEnv(task, scheduler=scheduler, pool_size=1, max_steps=10**6)
    remote, host, resets, grades, walls = [], [], [], [], []
    try:
        for _ in range(3):  # whole oracle episodes: reset, steps and grading as an episode pays for them
            episode = play(env, OraclePolicy(task.patch))
            if episode.error is not None:
                raise RuntimeError(f"an oracle episode on the cluster failed: {episode.error}")
            resets.append(episode.start_info["timing"]["remote_step_s"])
            grades.append(episode.info["timing"].get("grade_s", 0.0))
            walls.append(episode.seconds)
        env.reset()
        for _ in range(steps):
            _, _, _, _, info = env.step(TRUE_CALL)
            remote.append(info["timing"]["remote_step_s"])
            host.append(info["timing"]["host_step_s"])
    finally:
        env.close()
    per_episode = {
        "reset_ms_p50": percentile_ms(resets, 50),
        "grade_ms_p50": percentile_ms(grades, 50),
        "oracle_episode_wall_s_p50": round(statistics.median(walls), 3),
    }
    return {
        "remote_step_p50_ms": percentile_ms(remote, 50),
        "remote_step_p95_ms": percentile_ms(remote, 95),
        "host_step_p50_ms": percentile_ms(host, 50),
        "per_episode": per_episode,
    }


def _noop(ctx) -> None:
    return None


def _dispatch_rate(scheduler, jobs: int = 400) -> float:
    """No-op jobs through the scheduler per second: the placing driver's own ceiling."""
    start = time.perf_counter()
    for future in [scheduler.submit(None, _noop) for _ in range(jobs)]:
        future.result()
    return round(jobs / (time.perf_counter() - start), 1)


def _database_rate(home: str, writes: int = 400) -> float:
    """Write transactions per second on the API's SQLite record (an episode costs about five)."""
    from sqlalchemy import insert, update
    from swefarm.api.farm import db

    database = db.Database(f"sqlite:///{home}/bench-api.db")
    with database.write() as conn:
        conn.execute(insert(db.items), [{"evaluation_id": "e", "task_id": "t", "variant": "plain", "status": "queued"}])
    start = time.perf_counter()
    for i in range(writes):
        with database.write() as conn:
            conn.execute(update(db.items).where(db.items.c.id == 1).values(attempts=i, finished_at=db.now()))
    database.close()
    return round(writes / (time.perf_counter() - start), 1)


def _transfer(scheduler, image: str) -> dict:
    import ray

    source, destination = scheduler.live_hosts()[:2]
    start = time.perf_counter()
    bundle = ray.get(source.actor.export_image.remote(image))
    moved = ray.get(destination.actor.import_image.remote(bundle))
    seconds = time.perf_counter() - start
    mb = moved["bytes"] / 1e6
    return {"image": image, "image_mb": round(moved["image_size"] / 1e6, 1), "moved_mb": round(mb, 1),
            "save_s": round(moved["save_s"], 2), "load_s": round(moved["load_s"], 2), "seconds": round(seconds, 2),
            "mb_per_s": round(mb / seconds, 1)}  # fmt: skip


def run_all(task, nodes: int = 3, episodes: int = 24, slots: int = 2, steps: int = 100,
            progress: Callable[[str], None] = lambda m: None) -> dict:  # fmt: skip
    from swefarm.cluster.local import LocalCluster
    from swefarm.cluster.scheduler import Scheduler
    from swefarm.harness.images import task_image
    from swefarm.policy.rollout import RolloutPlan
    from swefarm.sandbox.engine import connect
    from swefarm.sandbox.labels import KIND, OWNER_PID
    from swefarm.tasks.store import TaskStore

    if nodes < 2:
        raise ValueError("the benchmark needs at least 2 nodes (a head and a worker)")
    with tempfile.TemporaryDirectory(prefix="swefarm-bench-ray-") as home:
        store = Path(home) / "tasks.db"
        TaskStore(store).put(task)
        plan = RolloutPlan(tasks=[task.instance_id], episodes=episodes, store=store, env_config={"pool_size": 1})
        owners: list[dict] = []
        result: dict = {"nodes": nodes}
        progress(f"starting a {nodes}-node cluster on 127.0.0.1")
        with LocalCluster(workers=nodes - 1) as cluster:
            from swefarm.cluster.connect import alive_nodes

            head = next(n for n in alive_nodes() if n not in {cluster.node_id(i) for i in range(nodes - 1)})
            progress(f"{episodes} episodes on one node")
            with Scheduler(slots_per_host=slots, pool_size=1, nodes=[head]) as one:
                owners += [h.info for h in one.live_hosts()]
                single, single_s = _episodes(one, plan)
            progress(f"{episodes} episodes on {nodes} nodes")
            scheduler = Scheduler(slots_per_host=slots, pool_size=1)
            try:
                owners += [h.info for h in scheduler.live_hosts()]
                pairs, seconds = _episodes(scheduler, plan)
                progress("remote steps, dispatch rate and image transfer")
                result["noop_jobs_per_s"] = _dispatch_rate(scheduler)
                result["api_db_writes_per_s"] = _database_rate(home)
                result.update(
                    nodes_used=len({d.node_id for _, d in pairs if d}), episodes=episodes,
                    episodes_ok=sum(1 for t, _ in pairs if t.resolved), episodes_per_min=_per_min(pairs, seconds),
                    single_node_episodes_per_min=_per_min(single, single_s),
                    schedule_overhead_ms_p50=percentile_ms([d.overhead_s for _, d in pairs if d], 50),
                )  # fmt: skip
                result.update(_remote_steps(scheduler, task, steps))
                images = [i for i in (BASE_IMAGE, task_image(task)) if _present(i)]
                result["image_transfer"] = [_transfer(scheduler, image) for image in images]  # per image size
                # enough episodes that the victim still holds some when one has ended anywhere
                more = replace(plan, episodes=max(episodes, 2 * slots * nodes))
                progress(f"{more.episodes} episodes with a worker node killed mid-run")
                victim = cluster.node_id(nodes - 2)
                ended = threading.Event()

                def kill(finished) -> None:
                    while not ended.is_set():
                        host = scheduler.hosts.get(victim)
                        if sum(finished.values()) >= 1 and host is not None and host.running:
                            cluster.kill_node(nodes - 2)
                            return
                        time.sleep(0.02)

                try:
                    killed, _ = _episodes(scheduler, more, kill)
                finally:
                    ended.set()
                result["node_kill_recovered"] = bool(scheduler.lost) and all(t.resolved for t, _ in killed)
                result["node_kill_reruns"] = sum(1 for _, d in killed if d and d.lost)
                for host in list(scheduler.lost):
                    scheduler.reap(host)
            finally:
                scheduler.close()
        client = connect()
        left = 0
        for owner in owners:
            labels = [KIND, f"{OWNER_PID}={owner['pid']}"]
            left += len(client.containers.list(all=True, filters={"label": labels}, ignore_removed=True))
        result["leaked_containers"] = left
        return _ordered(result)


KEYS = ("nodes", "nodes_used", "episodes", "episodes_ok", "episodes_per_min", "single_node_episodes_per_min",
        "node_kill_recovered", "leaked_containers", "schedule_overhead_ms_p50", "remote_step_p50_ms")  # fmt: skip


def _ordered(result: dict) -> dict:
    """The issue's keys first, in its order, then the rest."""
    first = KEYS
    return {**{k: result.get(k) for k in first}, **{k: v for k, v in result.items() if k not in first}}
