"""Fixtures for the training tests: two modules of the minilib family built and validated into a fresh store."""

from __future__ import annotations

import pytest

TRAIN_TASK = "swefarm-train__minilib-vowels-1"
HELDOUT_TASK = "swefarm-train__minilib-series-1"


@pytest.fixture(scope="session")
def family_store(tmp_path_factory, docker_client):
    """A store holding the vowels (training) and series (held-out) tasks; images are shared by tag across runs."""
    from swefarm.train.family import ensure_family

    root = tmp_path_factory.mktemp("family")
    tasks = ensure_family(store=root / "tasks.db", client=docker_client, modules=["vowels", "series"], workdir=root)
    assert {t.instance_id for t in tasks} >= {TRAIN_TASK, HELDOUT_TASK}
    return root / "tasks.db"
