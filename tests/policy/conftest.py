"""Fixtures for policy tests: the real small model (converted once), its tokenizer, a store with the calc task."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def model_dir():
    from policy.models import default_model_dir

    return default_model_dir(log=lambda *a: None)


@pytest.fixture(scope="session")
def tokenizer(model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_dir)


@pytest.fixture(scope="session")
def transformers_factory(model_dir):
    """The real SmolLM2 on the CPU (CUDA where present), shared by every test of the session."""
    from policy.factory import load_policy

    factory = load_policy("transformers", temperature=1.0, max_new_tokens=48, seed=7)
    yield factory
    factory.close()


@pytest.fixture(scope="session")
def policy_store(tmp_path_factory, valid_calc_task):
    from tasks.store import TaskStore

    path = tmp_path_factory.mktemp("policy-store") / "tasks.db"
    TaskStore(path).put(valid_calc_task)
    return path


@pytest.fixture
def make_env(docker_client, valid_calc_task):
    """SWEEnvs on the calc task (keyword arguments are config overrides), closed at teardown."""
    from envs.pools import wait_closed
    from envs.swe_env import SWEEnv

    made = []

    def make(**overrides):
        env = SWEEnv(valid_calc_task, client=docker_client, **overrides)
        made.append(env)
        return env

    yield make
    for env in made:
        env.close()
    wait_closed()
