"""The miner counts build and validation outcomes by their codes, never by the words of a message; a state
file from before quality verdicts opens and keeps working."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from swefarm.harness.outcomes import BuildOutcome, ValidationOutcome
from swefarm.harness.pipeline import StepOutcome
from swefarm.miner.models import PullRecord, Stage
from swefarm.miner.pipeline import RETRY_CODES, _rejection
from swefarm.miner.report import reason_descriptions
from swefarm.miner.state import MinerState


@pytest.mark.parametrize("code", [*ValidationOutcome, *BuildOutcome])
def test_a_step_s_code_is_the_rejection_code_whatever_its_reason_says(code):
    outcome = StepOutcome(instance_id="a__b-1", ok=False, status="invalid", code=code, reason="ganz andere Worte")
    rejection = _rejection(Stage.VALID, outcome)
    assert rejection.code == str(code) and rejection.detail == "ganz andere Worte"


def test_only_infrastructure_outcomes_are_tried_again():
    assert {"infra_error", "repo_error", "git_error", "github_error"} == set(RETRY_CODES)


def test_every_outcome_has_a_description_in_the_report():
    descriptions = reason_descriptions()
    for code in [*ValidationOutcome, *BuildOutcome, "no_test_change", "thin", "leaks_fix"]:
        assert descriptions[str(code)] != str(code), code
    assert "environment is broken" in descriptions["environment_broken"]


def test_a_state_file_from_before_quality_verdicts_opens_and_keeps_its_rows(tmp_path):
    path = tmp_path / "miner.db"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE candidates (repo TEXT NOT NULL, key TEXT NOT NULL, source TEXT NOT NULL, stage TEXT NOT NULL,"
        " rejected_stage TEXT, code TEXT, detail TEXT, instance_id TEXT, record TEXT NOT NULL,"
        " updated_at TEXT NOT NULL, PRIMARY KEY (repo, key));"
    )
    when = datetime(2024, 1, 1, tzinfo=UTC)
    record = PullRecord(repo="a/b", kind="pull", number=1, title="t", created_at=when, merged_at=when)
    old.execute(
        "INSERT INTO candidates VALUES (?,?,?,?,?,?,?,?,?,?)",
        ("a/b", "pr-1", "git", "filtered", None, None, None, "a__b-1", record.model_dump_json(), when.isoformat()),
    )
    old.commit()
    old.close()
    state = MinerState(path)
    (row,) = state.rows("a/b")
    assert row.stage == Stage.FILTERED and row.quality is None
    state.save(record, "git", Stage.FILTERED, instance_id="a__b-1", quality=["thin"])
    state.save(record, "git", Stage.BUILT, instance_id="a__b-1")  # a later save keeps the verdict
    assert state.get("a/b", "pr-1").quality == ["thin"]
    assert state.funnel("a/b").quality == {"tasks": 1, "ok": 0, "thin": 1}
    state.close()
