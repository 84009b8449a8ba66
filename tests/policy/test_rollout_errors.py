"""Rollouts on the real env: an infrastructure failure is recorded and the run goes on; a bug stops the run."""

from __future__ import annotations

import pytest
from swefarm.policy.rollout import RolloutPlan, run
from swefarm.policy.scripted import EmptyPolicy
from swefarm.sandbox.errors import SandboxDiedError

pytestmark = [pytest.mark.docker, pytest.mark.slow]


class Factory:
    name = "test"

    def __init__(self, policy_class):
        self.policy_class = policy_class

    def new(self, task=None):
        return self.policy_class()

    def close(self):
        pass


class DiesMidway(EmptyPolicy):
    def next_action(self, observation, info):
        raise SandboxDiedError("the model's sandbox went away")  # any swefarm infrastructure error


class Buggy(EmptyPolicy):
    def next_action(self, observation, info):
        return info["no such key"]


def _plan(calc_store, task):
    return RolloutPlan(tasks=[task.instance_id], episodes=2, store=calc_store, env_config={"max_steps": 3})


def test_an_infrastructure_failure_is_written_and_the_run_goes_on(calc_store, valid_calc_task, docker_client):
    trajectories = run(_plan(calc_store, valid_calc_task), Factory(DiesMidway), client=docker_client)
    assert len(trajectories) == 2
    for t in trajectories:
        assert t.error == "SandboxDiedError: the model's sandbox went away" and t.truncated
        assert t.scaffold["tool_format"] == "hermes"


def test_a_bug_in_the_policy_stops_the_run_with_its_own_exception(calc_store, valid_calc_task, docker_client):
    with pytest.raises(KeyError, match="no such key"):
        run(_plan(calc_store, valid_calc_task), Factory(Buggy), client=docker_client)


def test_the_empty_policy_writes_a_text_trajectory(calc_store, valid_calc_task, docker_client):
    (t,) = run(RolloutPlan(tasks=[valid_calc_task.instance_id], store=calc_store), Factory(EmptyPolicy),
               client=docker_client)  # fmt: skip
    assert t.error is None and t.terminated and t.reward == 0.0 and len(t.turns) == 1
    assert "submit" in t.turns[0].text and not t.token_ids_exact
