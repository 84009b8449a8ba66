"""env.fork / snapshot / restore against the real engine: siblings go on from the parent's moment and
each one grades on its own."""

from __future__ import annotations

import gymnasium
import pytest
from swefarm.sandbox.fork import ForkError

pytestmark = [pytest.mark.docker, pytest.mark.slow]

FIX = "sed -i 's/a - b/a + b/' /testbed/src/calc/__init__.py"


def call(name, **arguments):
    return {"name": name, "arguments": arguments}


def test_siblings_carry_the_episode_and_each_grades_on_its_own(make_env):
    env = make_env(pool_size=3)
    env.reset(seed=0)
    env.step(call("bash", command="cd src && export STAGE=forked && echo '# note' >> calc/__init__.py"))
    env.step(call("str_replace_editor", command="create", path="/testbed/NOTES.md", file_text="plan\n"))
    env.unwrapped._sandboxes.pool.wait_ready(2)
    fixed, unfixed = env.fork(2)
    try:
        for sibling in (fixed, unfixed):
            assert sibling._sandbox is not env._sandbox
            obs, _, _, _, info = sibling.step(call("bash", command='pwd; echo "$STAGE"; cat /testbed/NOTES.md'))
            assert obs.splitlines()[:3] == ["/testbed/src", "forked", "plan"]
            assert info["step"] == 3 and len(info["messages"]) == 2 + 2 * 3
            assert info["messages"][:6] == env._transcript.messages[:6]
        assert env._steps == 2  # the parent goes on unchanged
        # the editor's undo history travelled with the sibling
        obs, *_ = unfixed.step(call("str_replace_editor", command="undo_edit", path="/testbed/NOTES.md"))
        assert "No such file" in unfixed.step(call("bash", command="cat /testbed/NOTES.md"))[0]
        assert "plan" in fixed.step(call("bash", command="cat /testbed/NOTES.md"))[0]
        fixed.step(call("bash", command=FIX))
        _, reward_fixed, terminated, _, info_fixed = fixed.step(call("submit"))
        _, reward_unfixed, _, _, info_unfixed = unfixed.step(call("submit"))
        assert terminated and reward_fixed == 1.0 and info_fixed["grade"]["resolved"] is True
        assert reward_unfixed == 0.0 and info_unfixed["grade"]["resolved"] is False
        assert "infra_error" not in info_unfixed
        _, reward_parent, *_ = env.step(call("submit"))
        assert reward_parent == 0.0  # the sibling's fix never reached the parent
    finally:
        fixed.close()
        unfixed.close()


def test_snapshot_and_restore_go_back_in_the_episode(make_env):
    env = make_env()
    env.reset(seed=0)
    env.step(call("bash", command="cd src && export MARK=1"))
    snap = env.snapshot()
    assert snap.step == 1
    env.step(call("bash", command=FIX + " && cd / && export MARK=2"))
    assert "a + b" in env._sandbox.diff()
    env.restore(snap)
    obs, _, _, _, info = env.step(call("bash", command='pwd; echo "$MARK"; git -C /testbed diff --stat | wc -l'))
    assert obs.splitlines() == ["/testbed/src", "1", "0"]
    assert info["step"] == 2
    env.restore(snap)  # a snapshot restores as often as wanted
    assert env._steps == 1
    _, reward, *_ = env.step(call("submit"))
    assert reward == 0.0


def test_an_env_forks_only_a_live_episode(make_env):
    env = make_env()
    with pytest.raises(gymnasium.error.ResetNeeded):
        env.fork(1)
    env.reset(seed=0)
    env.step(call("submit"))
    with pytest.raises(ForkError, match="has ended"):
        env.fork(1)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="at least one"):
        env.fork(0)
