"""perturb.wrap and PerturbationWrapper on a fake env: seeding, composition, records, plug-ins, probabilities."""

from __future__ import annotations

import json
import random

import pytest
from fake_env import FakeEnv
from swefarm.envs.config import EnvConfig
from swefarm.perturb import PerturbationError, PerturbationWrapper, episode_seed

from swefarm import perturb

FAMILIES = ["system", "tools", "user", "layout", "responses"]


def records(info):
    return {r["family"]: r for r in info["perturbation"]}


def test_all_wraps_one_wrapper_per_family_each_overriding_reset_only():
    env = perturb.wrap(FakeEnv(), "all", seed=1)
    layers = []
    while isinstance(env, PerturbationWrapper):
        layers.append(env.perturbation.name)
        assert "reset" in vars(type(env)) and "step" not in vars(type(env))
        env = env.env
    assert layers == FAMILIES  # the first family named is the outermost
    assert isinstance(env, FakeEnv)


def test_none_and_empty_specs_leave_the_env_alone():
    env = FakeEnv()
    for spec in (None, "none", "", {}, []):
        assert perturb.wrap(env, spec) is env


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_is_recorded_with_params_and_seed_and_is_reproducible(family):
    infos = [perturb.wrap(FakeEnv(), family, seed=s).reset()[1] for s in (5, 5, 6, 7, 8)]
    recs = [records(info)[family] for info in infos]
    assert all(set(r) == {"family", "params", "seed"} for r in recs)
    json.dumps([r["params"] for r in recs])  # JSON-able
    assert recs[0] == recs[1]  # same seed, same perturbation
    assert len({json.dumps(r["params"], sort_keys=True) for r in recs[1:]}) > 1  # other seeds, other ones
    created = perturb.create(family)
    for r in recs:  # a record is enough to draw the same parameters again
        assert created.sample(random.Random(r["seed"])) == r["params"]


def test_reset_seed_restarts_the_sequence_and_unseeded_resets_move_on():
    env = perturb.wrap(FakeEnv(), "system,tools", seed=3)
    first = [records(env.reset()[1]) for _ in range(3)]
    assert first[0] != first[1] != first[2]
    again = perturb.wrap(FakeEnv(), "system,tools", seed=3)
    assert [records(again.reset()[1]) for _ in range(3)] == first
    assert records(env.reset(seed=3)[1]) == first[0] and records(env.reset()[1]) == first[1]
    assert records(env.reset(seed=4)[1])["system"]["seed"] == episode_seed("system", 4, 0)


def test_families_draw_independently_so_adding_one_leaves_the_others_unchanged():
    alone = records(perturb.wrap(FakeEnv(), "tools", seed=9).reset()[1])["tools"]
    together = records(perturb.wrap(FakeEnv(), "all", seed=9).reset()[1])["tools"]
    assert alone == together


def test_composed_families_all_reach_the_episode():
    env = perturb.wrap(FakeEnv(), "all", seed=11)
    obs, info = env.reset()
    recs = records(info)
    assert list(recs) == FAMILIES
    cfg = info["config"]
    assert cfg.tool_format == recs["tools"]["params"]["tool_format"]
    assert cfg.system_prompt != EnvConfig().system_prompt and "{tool_instructions}" in cfg.system_prompt
    inner = env.unwrapped
    assert len(inner.episode.setup) == 1 and len(inner.episode.issue) == 1 and len(inner.episode.tool_middleware) == 1
    assert inner.sandbox.commands  # the layout script ran in the (fake) sandbox


def test_probability_zero_never_applies_and_a_half_applies_sometimes():
    never = perturb.wrap(FakeEnv(), {"system": {"p": 0}}, seed=1)
    assert all(never.reset()[1]["perturbation"] == [] for _ in range(5))
    half = perturb.wrap(FakeEnv(), {"families": {"system": {"p": 0.5}}}, seed=1)
    applied = [bool(half.reset()[1]["perturbation"]) for _ in range(40)]
    assert 5 < sum(applied) < 35


def test_a_plugin_by_protocol_and_by_registered_name():
    class Shout:
        name = "shout"

        def sample(self, rng):
            return {"times": rng.randint(1, 3)}

        def apply(self, params, episode):
            episode.rewrite_issue(lambda text: text.upper() + "!" * params["times"])

    assert isinstance(Shout(), perturb.Perturbation)
    obs, info = perturb.wrap(FakeEnv(), [Shout()], seed=2).reset()
    assert "WIDGET() CRASHES" in info["user"] and records(info)["shout"]["params"]["times"] in (1, 2, 3)
    perturb.register("shout", Shout)
    obs, info = perturb.wrap(FakeEnv(), "system,shout", seed=2).reset()
    assert set(records(info)) == {"system", "shout"} and "shout" in perturb.names()


def test_two_families_setting_the_same_field_is_an_error_naming_it():
    class AlsoSystem:
        name = "also_system"

        def sample(self, rng):
            return {}

        def apply(self, params, episode):
            episode.configure(system_prompt="mine {tool_instructions}")

    env = perturb.wrap(FakeEnv(), ["system", AlsoSystem()], seed=1)
    with pytest.raises(PerturbationError, match="system_prompt"):
        env.reset()


def test_rewrite_hook_needs_the_user_family():
    with pytest.raises(PerturbationError, match="user family"):
        perturb.wrap(FakeEnv(), "system", rewrite=str.upper)
    env = perturb.wrap(FakeEnv(), {"user": {"rewrite_p": 1.0, "transforms": ["typos"]}}, seed=1, rewrite=str.upper)
    info = env.reset()[1]
    assert "WIDGET() CRASHES" in info["user"] and records(info)["user"]["params"]["transforms"][0]["name"] == "rewrite"


def test_reset_options_from_the_caller_are_kept_beside_the_perturbation():
    env = perturb.wrap(FakeEnv(), "system", seed=1)
    obs, info = env.reset(options={"config": {"max_steps": 7}})
    assert info["config"].max_steps == 7 and records(info)["system"]
