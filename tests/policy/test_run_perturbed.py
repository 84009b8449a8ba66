"""`swefarm run --perturb`: every episode's trajectory records the perturbation it played under, and the oracle
still resolves the task through the perturbed interface."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_run_with_perturbations_records_them_per_episode(calc_store, valid_calc_task, tmp_path):
    from swefarm.cli.main import app
    from typer.testing import CliRunner

    out = tmp_path / "run"
    result = CliRunner().invoke(app, [
        "run", valid_calc_task.instance_id, "--policy", "oracle", "--perturb", "system,tools,layout",
        "--episodes", "3", "--concurrency", "2", "--store", str(calc_store), "--out", str(out), "--seed", "11",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (out / "trajectories.jsonl").read_text().splitlines()]
    assert len(records) == 3
    for record in records:
        assert record["resolved"] and record["reward"] == 1.0
        assert [p["family"] for p in record["perturbation"]] == ["system", "tools", "layout"]
        assert all("seed" in p and "params" in p for p in record["perturbation"])
    # seeded per episode: the episodes do not all get the same perturbation
    assert len({json.dumps(r["perturbation"], sort_keys=True) for r in records}) > 1
