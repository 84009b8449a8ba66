"""Fixtures for policy tests: the real small model (converted once) and its tokenizer (the calc task's store and
envs come from tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def model_dir():
    from swefarm.policy.models import default_model_dir

    return default_model_dir(log=lambda *a: None)


@pytest.fixture(scope="session")
def tokenizer(model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_dir)


@pytest.fixture(scope="session")
def transformers_factory(model_dir):
    """The real SmolLM2 on the CPU (CUDA where present), shared by every test of the session."""
    from swefarm.policy.factory import load_policy

    factory = load_policy("transformers", temperature=1.0, max_new_tokens=48, seed=7)
    yield factory
    factory.close()
