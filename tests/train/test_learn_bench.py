"""`swefarm bench learn --quick --json`: the CI-sized learning run on the real model, Docker, TRL SFT and GRPO."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import HELDOUT_TASK, TRAIN_TASK
from swefarm.policy.trajectory import read_jsonl

pytestmark = [pytest.mark.docker, pytest.mark.model, pytest.mark.slow]

KEYS = {
    "well_formed_calls_before",
    "well_formed_calls_after",
    "resolve_rate_before",
    "resolve_rate_after",
    "heldout_tasks",
    "episodes_per_eval",
    "seeds",
    "train_minutes",
}


@pytest.mark.timeout(1800)
def test_quick_learning_run_reaches_trl_unchanged_and_moves_the_loss(family_store, tmp_path):
    out, chart = tmp_path / "learn", tmp_path / "curve.svg"
    cmd = [sys.executable, "-m", "swefarm.cli.main", "bench", "learn", "--quick", "--json"]
    cmd += ["--store", str(family_store), "--out", str(out), "--chart", str(chart)]
    res = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "TRL_EXPERIMENTAL_SILENCE": "1"})
    assert res.returncode == 0, res.stderr[-3000:]
    result = json.loads(res.stdout)
    assert set(result) >= KEYS
    assert result["heldout_tasks"] == 1 and result["episodes_per_eval"] == 1 and result["seeds"] == [0]
    assert result["pass_at_k_before"].keys() == {"pass@1"} and result["masked_episodes"] == 0
    assert result["teacher_resolved"] == 1 and result["sft_examples"] == 1
    assert result["sft_rows_unchanged"] is True  # TRL's SFT rows are the episode's ids, labels on its mask
    assert result["grpo_batches_unchanged"] is True  # TRL's GRPO loss saw the episodes' ids and masks as played
    assert result["loss_moved"] is True and len(result["sft_loss"]) == 3
    assert result["grpo_steps"] == 1 and result["train_minutes"] > 0
    assert chart.read_text().startswith("<svg")
    assert {t.task for t in read_jsonl(out / "eval_before.jsonl")} == {HELDOUT_TASK}  # held out: only evaluated
    assert {t.task for t in read_jsonl(out / "teacher.jsonl")} == {TRAIN_TASK}
    assert {t.task for t in read_jsonl(out / "grpo" / "rollouts.jsonl")} == {TRAIN_TASK}
    assert (out / "grpo" / "model" / "config.json").exists()
