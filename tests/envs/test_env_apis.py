"""The ways a trainer reaches the envs: gymnasium.make ids, the sampler, AsyncVectorEnv, the asyncio
runner; and that a crashing trainer leaves no container behind. All against the real engine."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time

import gymnasium
import pytest
from swefarm.policy.scripted import EmptyPolicy, OraclePolicy

pytestmark = [pytest.mark.docker, pytest.mark.slow]

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _python(code: str, home, timeout: float = 120, **popen) -> subprocess.CompletedProcess:
    env = {**os.environ, "SWEFARM_HOME": str(home), "PYTHONPATH": REPO_ROOT}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=REPO_ROOT, timeout=timeout, **popen
    )


@pytest.fixture(scope="session")
def swefarm_home(tmp_path_factory, calc_store):
    """A SWEFARM_HOME whose default task store holds the calc task."""
    import shutil

    home = tmp_path_factory.mktemp("home")
    shutil.copy(calc_store, home / "tasks.db")
    return home


def test_import_envs_registers_every_stored_task_and_make_plays_it(swefarm_home, valid_calc_task):
    code = f"""
        import gymnasium, envs
        from swefarm.policy.episode import play
        from swefarm.policy.scripted import OraclePolicy
        from swefarm.tasks.store import TaskStore
        ids = [i for i in gymnasium.registry if i.startswith("swe/")]
        print(sorted(ids))
        env = gymnasium.make("swe/{valid_calc_task.instance_id}-v0")
        episode = play(env, OraclePolicy(TaskStore().get("{valid_calc_task.instance_id}").patch))
        env.close()
        print("reward", episode.reward)
    """
    out = _python(code, swefarm_home, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert f"'swe/{valid_calc_task.instance_id}-v0'" in out.stdout
    assert "'swe/Sampler-v0'" in out.stdout and "'swe/Task-v0'" in out.stdout
    assert "reward 1.0" in out.stdout


def test_module_prefixed_id_works_without_importing_envs(swefarm_home, valid_calc_task):
    code = f"""
        import gymnasium, sys
        assert "envs" not in sys.modules
        env = gymnasium.make("swefarm.envs:swe/{valid_calc_task.instance_id}-v0")
        obs, info = env.reset()
        print(info["task"]["instance_id"])
        env.close()
    """
    out = _python(code, swefarm_home, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert valid_calc_task.instance_id in out.stdout


def test_an_unknown_or_unbuilt_task_is_a_clear_error(docker_client, valid_calc_task):
    from swefarm.envs.swe_env import SWEEnv
    from swefarm.tasks.store import TaskNotFoundError

    with pytest.raises(TaskNotFoundError):
        SWEEnv("nobody__nothing-1", client=docker_client)
    environment = valid_calc_task.environment.model_copy(update={"image": "swefarm/task:never-built"})
    unbuilt = valid_calc_task.model_copy(update={"instance_id": "fixture__calc-unbuilt", "environment": environment})
    with pytest.raises(ValueError, match="swefarm build"):
        SWEEnv(unbuilt, client=docker_client)
    unvalidated = valid_calc_task.model_copy(update={"FAIL_TO_PASS": []})
    with pytest.raises(ValueError, match="swefarm validate"):
        SWEEnv(unvalidated, client=docker_client)


@pytest.fixture(scope="session")
def two_task_store(tmp_path_factory, valid_calc_task, build_variant, docker_client):
    """A store with two valid tasks on separate images."""
    from swefarm.harness.pipeline import validate_task
    from swefarm.tasks.store import TaskStore

    other, outcome = build_variant("fixture__calc-3")
    assert outcome.ok, other.status_reason
    other, outcome = validate_task(docker_client, other, runs=1)
    assert outcome.ok
    path = tmp_path_factory.mktemp("store2") / "tasks.db"
    TaskStore(path).put_many([valid_calc_task, other])
    return path


def test_sampler_draws_a_task_per_reset_reproducibly_by_seed(two_task_store, docker_client):
    from swefarm.envs.pools import wait_closed

    from swefarm import envs

    envs.register_envs()
    draws = []
    for _ in range(2):
        env = gymnasium.make("swe/Sampler-v0", dataset=str(two_task_store), seed=3, client=docker_client)
        seen = []
        for _ in range(6):
            obs, info = env.reset()
            seen.append(info["task"]["instance_id"])
        env.close()
        draws.append(seen)
    wait_closed()
    assert draws[0] == draws[1]
    assert set(draws[0]) == {"fixture__calc-2", "fixture__calc-3"}


def test_sampler_splits_are_disjoint_and_stable():
    from swefarm.envs.sources import in_split

    ids = [f"owner__repo-{i}" for i in range(2000)]
    test = {i for i in ids if in_split(i, "test", 0.2)}
    train = {i for i in ids if in_split(i, "train", 0.2)}
    assert not test & train and test | train == set(ids)
    assert 300 < len(test) < 500
    assert test == {i for i in ids if in_split(i, "test", 0.2)}


def test_sampler_with_nothing_to_draw_says_so(tmp_path, docker_client):
    from swefarm.envs.swe_env import SamplerEnv
    from swefarm.tasks.store import TaskStore

    TaskStore(tmp_path / "empty.db")
    with pytest.raises(ValueError, match="no valid tasks"):
        SamplerEnv(tmp_path / "empty.db", client=docker_client)
    with pytest.raises(FileNotFoundError):
        SamplerEnv(tmp_path / "missing.jsonl", client=docker_client)
    with pytest.raises(ValueError, match="unknown split"):
        SamplerEnv(tmp_path / "empty.db", split="dev", client=docker_client)


def test_async_vector_env_runs_episodes_in_worker_processes(calc_store, valid_calc_task):
    from swefarm import envs

    envs.register_envs(calc_store)
    env_id = envs.env_id(valid_calc_task.instance_id)
    vec = gymnasium.vector.AsyncVectorEnv([lambda: gymnasium.make(env_id)] * 2, shared_memory=False)
    try:
        obs, info = vec.reset(seed=[1, 2])
        assert len(obs) == 2 and all(valid_calc_task.problem_statement in o for o in obs)
        bash = '<tool_call>{"name": "bash", "arguments": {"command": "cat /etc/hostname"}}</tool_call>'
        submit = '<tool_call>{"name": "submit", "arguments": {}}</tool_call>'
        obs, reward, terminated, truncated, info = vec.step((bash, bash))
        assert obs[0].strip() and obs[0] != obs[1]  # two containers
        obs, reward, terminated, truncated, info = vec.step((bash, submit))
        assert list(terminated) == [False, True] and list(reward) == [0.0, 0.0]
    finally:
        vec.close()


def test_asyncio_runner_plays_many_episodes_under_the_cap(docker_client, valid_calc_task):
    from swefarm.envs.aio import EpisodeRunner
    from swefarm.envs.pools import wait_closed

    runner = EpisodeRunner(max_concurrency=4, client=docker_client)
    live, peak = 0, 0

    async def episode(i: int) -> float:
        nonlocal live, peak
        policy = OraclePolicy(valid_calc_task.patch) if i % 2 else EmptyPolicy()
        async with runner.env(valid_calc_task) as env:
            live += 1
            peak = max(peak, live)
            obs, info = await env.reset(seed=i)
            policy.begin(obs, info)
            while True:
                obs, reward, terminated, truncated, info = await env.step(policy.act(obs, info))
                if terminated or truncated:
                    live -= 1
                    return reward

    async def main():
        return await asyncio.gather(*(episode(i) for i in range(12)))

    try:
        rewards = asyncio.run(main())
    finally:
        runner.close()
        wait_closed()
    assert rewards == [float(i % 2) for i in range(12)]
    assert peak == 4


@pytest.mark.parametrize("how", ["exception", "sigterm"])
def test_a_crashing_trainer_leaves_no_container(
    swefarm_home, valid_calc_task, docker_client, record_container_ids, how
):
    from swefarm.sandbox import labels

    code = f"""
        import os, signal, time, gymnasium, envs
        env = gymnasium.make("swe/{valid_calc_task.instance_id}-v0", pool_size=2)
        env.reset()
        print("pid", os.getpid(), flush=True)
        if "{how}" == "exception":
            raise RuntimeError("the trainer crashed")
        time.sleep(120)
    """
    proc = _python(code, swefarm_home, capture_output=True, text=True) if how == "exception" else None
    if how == "sigterm":
        popen = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code)],
            env={**os.environ, "SWEFARM_HOME": str(swefarm_home), "PYTHONPATH": REPO_ROOT},
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = popen.stdout.readline()
        pid = int(line.split()[1])
        ids = [c.id for c in docker_client.containers.list(filters={"label": f"{labels.OWNER_PID}={pid}"})]
        record_container_ids(*ids)
        assert len(ids) >= 1
        popen.send_signal(signal.SIGTERM)
        popen.wait(timeout=60)
    else:
        assert "the trainer crashed" in proc.stderr
        pid = int(proc.stdout.split()[1])
    deadline = time.time() + 30
    while time.time() < deadline:
        left = docker_client.containers.list(all=True, filters={"label": f"{labels.OWNER_PID}={pid}"})
        if not left:
            break
        time.sleep(0.5)
    assert not left, [c.short_id for c in left]
