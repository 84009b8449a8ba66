"""skyrl-gym (the real package): a swefarm task through skyrl_gym.make, init and step, graded at the end."""

from __future__ import annotations

import pytest
from conftest import TRAIN_TASK

pytestmark = pytest.mark.docker


def test_a_swefarm_episode_through_skyrl_gym(family_store):
    import skyrl_gym
    from swefarm.tasks.store import TaskStore
    from swefarm.train import scaffold
    from swefarm.train.skyrl_adapter import ENV_NAME, register
    from swefarm.train.teacher import ScriptedTeacher

    register()
    register()  # idempotent
    env = skyrl_gym.make(
        ENV_NAME, env_config={"store": str(family_store), "env": scaffold.env_config(max_steps=5)},
        extras={"task_id": TRAIN_TASK, "seed": 3},
    )  # fmt: skip
    try:
        messages, meta = env.init([])
        assert [m["role"] for m in messages] == ["system", "user"]
        assert "count = count" in messages[1]["content"] and meta["tool_format"] == "hermes"
        bad = env.step("I think the bug is somewhere.")
        assert bad["done"] is False and bad["reward"] == 0.0
        assert "No tool call found" in bad["observations"][0]["content"]
        teacher = ScriptedTeacher(TaskStore(family_store).get(TRAIN_TASK).patch, look_first=True)
        teacher.begin("", {"tools": meta["tools"], "tool_format": meta["tool_format"]})
        out = None
        for _ in range(3):
            out = env.step(teacher.act(out["observations"][0]["content"] if out else "", {}))
            if not out["done"]:
                assert out["observations"][0]["role"] == "tool" and out["reward"] == 0.0
        assert out["done"] and out["reward"] == 1.0
        assert out["metadata"]["resolved"] is True and out["metadata"]["infra_error"] is None
        assert env.get_metrics() == {"resolved": 1.0, "infra_error": 0.0}
    finally:
        env.close()


def test_the_env_needs_a_task():
    from swefarm.train.skyrl_adapter import SwefarmTextEnv

    with pytest.raises(ValueError, match="task_id"):
        SwefarmTextEnv(env_config={}, extras={})
