"""What grading found beyond the counts reaches REST clients: `tampered`, the agent's failure code and the
suspicious code of its change, in session step results and evaluation results; never the test names."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from swefarm.api.farm.evaluations import item_public
from swefarm.api.worker.hosting import public_info
from swefarm.harness.hostile import ATTACKS, Target, shell

TASK = "fixture__calc-2"


def test_evaluation_results_carry_tampered_failure_and_suspicious():
    result = {"reward_components": {"resolved": 0.0}, "tampered": True, "grade_failure": "oom",
              "suspicious": [{"path": "src/m.py", "line": 3, "what": "registers code to run at exit (atexit)",
                              "text": "import atexit"}]}  # fmt: skip
    row = SimpleNamespace(id=1, task_id=TASK, variant="plain", repeat=0, status="done", attempts=1, reward=0.0,
                          resolved=False, steps=3, infra_error=None, result=json.dumps(result), started_at=None,
                          finished_at=None)  # fmt: skip
    item = item_public(row)
    assert item.tampered is True and item.grade_failure == "oom" and item.suspicious[0]["line"] == 3
    old = item_public(SimpleNamespace(**{**row.__dict__, "result": json.dumps({"reward_components": {}})}))
    assert old.tampered is None and old.grade_failure is None and old.suspicious == []  # results stored before


def test_a_step_result_keeps_the_verdict_and_hides_what_names_tests():
    info = {"grade": {"resolved": False, "tampered": True, "tampered_reasons": ["a planted pass test was reported "
            "failed, not passed"], "failure": None, "failure_detail": "git apply: tests/test_hidden.py: no such file",
            "suspicious": [], "reverted": {"tests/test_hidden.py": "test_file"}}, "tampered": True}  # fmt: skip
    out = public_info(info)
    assert out["grade"]["tampered"] is True and out["tampered"] is True
    assert "test_hidden" not in json.dumps(out)


@pytest.mark.docker
@pytest.mark.slow
def test_a_tampering_agent_over_rest_gets_zero_and_the_client_sees_why(farm, valid_calc_task):
    attack = ATTACKS["rewrite-in-process"].make(Target.of(valid_calc_task))
    with farm.client() as client:
        env = client.make_env(TASK, seed=1)
        env.reset()
        for step in attack.steps:
            env.step({"name": "bash", "arguments": {"command": shell(step)}})
        _, reward, terminated, _, info = env.step({"name": "submit", "arguments": {}})
        env.close()
    assert terminated and reward == 0.0 and "infra_error" not in info
    assert info["tampered"] is True and info["grade"]["tampered"] is True and info["grade_failure"] is None
    assert {f["what"] for f in info["suspicious"]} >= {"imports pytest's internals (_pytest)"}
    assert "test_add" not in json.dumps(info["grade"])
