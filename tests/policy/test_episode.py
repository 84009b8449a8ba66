"""The one episode loop (`policy.episode.play`): when an episode ends and what counts as infrastructure.

A small deterministic Gymnasium env and scripted policies (no Docker): fast unit tests of the loop
itself. The rollout's, the farm's and the benchmarks' episodes all go through it; the Docker-backed
tests in this folder and in tests/api play it on the real env.
"""

from __future__ import annotations

import logging

import gymnasium
import pytest
from swefarm.policy.base import Policy
from swefarm.policy.episode import play
from swefarm.policy.scripted import EmptyPolicy, ScriptedPolicy
from swefarm.sandbox.errors import SandboxDiedError

from swefarm.errors import InfrastructureError


class CountingEnv(gymnasium.Env):
    """Ends (terminated) after `length` steps; `fail_at` raises that exception on that step."""

    def __init__(self, length: int = 3, fail_at: int | None = None, error: BaseException | None = None):
        self.length, self.fail_at, self.error = length, fail_at, error
        self.steps = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.steps = 0
        return "start", {"messages": [], "tool_format": "hermes", "tools": []}

    def step(self, action):
        self.steps += 1
        if self.steps == self.fail_at:
            raise self.error
        done = self.steps >= self.length
        return f"obs {self.steps}", 1.0 if done else 0.0, done, False, {"step": self.steps, "action": action}


class Echo(ScriptedPolicy):
    def start(self, info):
        self.finished = None

    def next_action(self, observation, info):
        return f"after {observation}"

    def finish(self, observation, info):
        super().finish(observation, info)
        self.finished = observation


def test_an_episode_plays_until_the_env_ends_it():
    policy = Echo()
    episode = play(CountingEnv(length=3), policy, seed=1)
    assert (episode.terminated, episode.truncated, episode.reward, episode.steps) == (True, False, 1.0, 3)
    assert episode.actions == ["after start", "after obs 1", "after obs 2"]
    assert episode.start_info["tool_format"] == "hermes" and episode.info["step"] == 3
    assert policy.finished == "obs 3" and episode.error is None and episode.seconds > 0
    trajectory = policy.trajectory(task="t", reward=episode.reward)
    assert [t.observation for t in trajectory.turns] == ["obs 1", "obs 2", "obs 3"]
    assert not trajectory.token_ids_exact and trajectory.token_note


def test_an_infrastructure_failure_ends_the_episode_and_is_recorded():
    env = CountingEnv(length=5, fail_at=2, error=SandboxDiedError("the container stopped"))
    policy = Echo()
    episode = play(env, policy)
    assert episode.error == "SandboxDiedError: the container stopped"
    assert episode.began and not episode.ended and episode.steps == 2
    assert len(policy.trajectory().turns) == 2  # the record so far stays readable


def test_a_bug_in_the_policy_is_raised_with_its_traceback_never_called_infrastructure(caplog):
    class Broken(Echo):
        def next_action(self, observation, info):
            return observation + 1  # TypeError: a bug, not the sandbox's fault

    with caplog.at_level(logging.ERROR, logger="swefarm.episode"), pytest.raises(TypeError):
        play(CountingEnv(), Broken())
    (record,) = [r for r in caplog.records if r.name == "swefarm.episode"]
    assert record.exc_info and record.exc_info[0] is TypeError and "not infrastructure" in record.getMessage()


def test_a_bug_in_the_env_is_raised_too():
    with pytest.raises(KeyError):
        play(CountingEnv(fail_at=1, error=KeyError("tool_results")), Echo())


def test_only_swefarm_infrastructure_errors_count():
    class BackendDown(InfrastructureError, ConnectionError):
        pass

    assert play(CountingEnv(fail_at=1, error=BackendDown("no answer")), Echo()).error == "BackendDown: no answer"
    with pytest.raises(ConnectionError):  # a foreign error: nobody converted it, so it is a bug
        play(CountingEnv(fail_at=1, error=ConnectionError("refused")), Echo())


def test_an_env_that_never_ends_is_an_error_not_a_truncation():
    with pytest.raises(RuntimeError, match="did not end the episode after 5 actions"):
        play(CountingEnv(length=10**6), Echo(), max_actions=5)


def test_before_step_can_stop_an_episode_without_it_being_logged_as_a_bug(caplog):
    class Stop(BaseException):
        pass

    calls = []

    def check():
        calls.append(1)
        if len(calls) == 2:
            raise Stop()

    with caplog.at_level(logging.ERROR, logger="swefarm.episode"), pytest.raises(Stop):
        play(CountingEnv(length=5), Echo(), before_step=check)
    assert not [r for r in caplog.records if r.name == "swefarm.episode"]


def test_every_policy_implements_the_whole_protocol():
    from swefarm.policy.model_policy import ModelPolicy
    from swefarm.policy.openai_backend import ChatPolicy

    assert isinstance(EmptyPolicy(), Policy) and isinstance(Echo(), Policy)
    for cls in (ModelPolicy, ChatPolicy):  # instances need a loaded model: check the class
        assert all(callable(getattr(cls, name, None)) for name in ("begin", "act", "finish", "trajectory")), cls
