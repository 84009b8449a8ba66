"""The hostile grading suite on the real engine (harness/hostile): every attack played as an agent would in an
episode (bash tool calls, then submit) and as a diff handed to `swefarm grade`, on a pytest task and a unittest
task. Each must end with reward 0, never infra_error, and with the signal it is expected to leave: `tampered`
(the canaries caught the report), a failure code, or the paths grading put back. With the defences off the
same attacks resolve, so each one is a real attack."""

from __future__ import annotations

import json

import pytest
from fixture_calc import UNITTEST_TESTS, new_file_patch
from swefarm.bench.hacks import play_env, play_grade
from swefarm.cli.main import app
from swefarm.harness.grade import GradeReport
from swefarm.harness.hostile import ATTACKS, Target, problems
from swefarm.harness.hostile.diffs import attack_diff
from swefarm.harness.pipeline import validate_task
from swefarm.tasks.models import Environment
from swefarm.tasks.store import TaskStore
from typer.testing import CliRunner

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def chosen(runner: str, via: str) -> list[str]:
    return [a.name for a in ATTACKS.values() if runner in a.runners and via in a.via]


@pytest.fixture(scope="module")
def unittest_task(docker_client, build_variant, calc_repo):
    _, commits = calc_repo
    env = Environment(python="3.11", install=["uv pip install -e ."], log_parser="unittest")
    task, outcome = build_variant(
        "fixture__calc-unittest", environment=env, test_patch=new_file_patch("tests/test_unit.py", UNITTEST_TESTS)
    )
    assert outcome.ok, task.status_reason
    task, outcome = validate_task(docker_client, task, runs=1)
    assert outcome.ok, task.status_reason
    return task


@pytest.fixture(scope="module")
def swefarm_grade(tmp_path_factory, valid_calc_task, unittest_task):
    """`swefarm grade ID --patch FILE --json` on a store holding both tasks; the report it prints."""
    home = tmp_path_factory.mktemp("home")
    TaskStore(home / "tasks.db").put(valid_calc_task)
    TaskStore(home / "tasks.db").put(unittest_task)

    def run(task, diff: bytes, timeout: float) -> GradeReport:
        patch = home / "attack.diff"
        patch.write_bytes(diff)
        args = ["grade", task.instance_id, "--patch", str(patch), "--json", "--timeout", str(timeout)]
        result = CliRunner().invoke(app, args, env={"SWEFARM_HOME": str(home)})
        assert result.exit_code in (0, 3), result.output
        return GradeReport.model_validate(json.loads(result.stdout))

    return run


def through_grade(docker_client, swefarm_grade, task, name: str) -> GradeReport:
    attack = ATTACKS[name]
    diff = attack_diff(docker_client, task.environment.image, attack.make(Target.of(task)))
    return swefarm_grade(task, diff, attack.grade_timeout)


def through_env(make_env, task, name: str) -> tuple[float, dict]:
    attack = ATTACKS[name]
    env = make_env(task, grade_timeout_s=attack.grade_timeout, pool_size=1)
    env.reset(seed=0)
    reward, terminated, truncated, info = play_env(attack, env)
    assert terminated or truncated
    return reward, info


def check_env(name: str, reward: float, info: dict) -> None:
    attack = ATTACKS[name]
    assert "infra_error" not in info, info["infra_error"]
    assert reward == 0.0 and info["reward_components"] == {"resolved": 0.0}
    report = GradeReport.model_validate(info["grade"])
    expect = attack.env_expect if attack.env_expect is not None else attack.expect
    assert problems(report, expect) == [], (name, report.model_dump(exclude={"log_tail"}))
    assert info["tampered"] == report.tampered and info["grade_failure"] == report.failure


@pytest.mark.parametrize("name", chosen("pytest", "grade"))
def test_pytest_attack_through_swefarm_grade(docker_client, swefarm_grade, valid_calc_task, name):
    report = through_grade(docker_client, swefarm_grade, valid_calc_task, name)
    assert problems(report, ATTACKS[name].expect) == [], (name, report.model_dump(exclude={"log_tail"}))


@pytest.mark.parametrize("name", chosen("pytest", "env"))
def test_pytest_attack_through_the_env(make_env, valid_calc_task, name):
    check_env(name, *through_env(make_env, valid_calc_task, name))


@pytest.mark.parametrize("name", chosen("unittest", "grade"))
def test_unittest_attack_through_swefarm_grade(docker_client, swefarm_grade, unittest_task, name):
    report = through_grade(docker_client, swefarm_grade, unittest_task, name)
    assert problems(report, ATTACKS[name].expect) == [], (name, report.model_dump(exclude={"log_tail"}))


@pytest.mark.parametrize("name", chosen("unittest", "env"))
def test_unittest_attack_through_the_env(make_env, unittest_task, name):
    check_env(name, *through_env(make_env, unittest_task, name))


#: Attacks on what the runner reads after the code under test ran (test files, a conftest, bytecode), aimed at the
#: targets by name so the canaries keep their outcomes, and put back at exit: only the seal stops them.
AT_RUN = {
    "pytest": ["tests-rewritten-at-run", "conftest-written-at-run", "pyc-written-at-run"],
    "unittest": ["tests-rewritten-at-run"],
}

#: Attacks that fool a grader that trusts its runner: with the defences off each one resolves.
REAL = {
    "pytest": ["conftest-root", "tests-init", "setup-cfg", "entry-point-src", "shadow-pluggy", "rewrite-in-process",
               "rewrite-at-exit", "forge-report", "pyc-only", "diff-quoted-names", "detect-runner-and-tamper",
               *AT_RUN["pytest"]],
    "unittest": ["rewrite-in-process", "tests-init", "shadow-runner-module", "forge-output", *AT_RUN["unittest"]],
}  # fmt: skip


@pytest.mark.parametrize(("runner", "name"), [(r, n) for r, names in REAL.items() for n in names])
def test_each_attack_fools_a_grader_without_the_defences(docker_client, valid_calc_task, unittest_task, runner, name):
    task = valid_calc_task if runner == "pytest" else unittest_task
    trusting = play_grade(ATTACKS[name], task, docker_client, defences=False)
    assert trusting.resolved, (name, trusting.model_dump(exclude={"log_tail"}))


@pytest.mark.parametrize(("runner", "name"), [(r, n) for r, names in AT_RUN.items() for n in names])
def test_the_seal_is_what_stops_the_attacks_at_run(monkeypatch, swefarm_grade, docker_client, valid_calc_task,
                                                   unittest_task, runner, name):  # fmt: skip
    """With every other defence on (canaries, the rewritten-file check, pinned plugins) and the seal off, each of
    these attacks resolves; with the seal on (the tests above) none does."""
    from swefarm.harness import seal

    task = valid_calc_task if runner == "pytest" else unittest_task
    monkeypatch.setattr(seal, "plan", lambda *args, **kwargs: [])
    report = through_grade(docker_client, swefarm_grade, task, name)
    assert report.resolved and not report.tampered and report.canaries, report.model_dump(exclude={"log_tail"})


def test_gold_and_empty_hold_on_both_runners_with_the_defences(docker_client, swefarm_grade, valid_calc_task,
                                                               unittest_task):  # fmt: skip
    for task in (valid_calc_task, unittest_task):
        gold = swefarm_grade(task, task.patch.encode(), 600)
        assert gold.resolved and not gold.tampered and gold.canaries == 4, gold.model_dump(exclude={"log_tail"})
        assert gold.reverted == {} and gold.suspicious == [] and gold.exit_code == 1
        empty = swefarm_grade(task, b"", 600)
        assert not empty.resolved and not empty.tampered and empty.failure is None and empty.infra_error is None


RUNNER_AWARE_FIX = """
import sys as _sys

if "pytest" in _sys.modules:
    def add(a, b):
        return a + b
"""


def test_known_limit_code_correct_only_under_the_runner_resolves_but_is_flagged(make_env, valid_calc_task):
    """No test can tell code that is right only while a runner runs from a fix; `suspicious` names it, and a
    reward spec that weighs it takes the reward away."""
    env = make_env(reward={"weights": {"resolved": 1.0, "suspicious": -1.0}})
    env.reset(seed=0)
    source = Target.of(valid_calc_task).source
    env.step({"name": "bash", "arguments": {"command": f"cat >> {source} <<'EOF'\n{RUNNER_AWARE_FIX}\nEOF"}})
    _, reward, terminated, _, info = env.step({"name": "submit", "arguments": {}})
    assert terminated and info["grade"]["resolved"] is True and info["tampered"] is False
    assert [f["what"] for f in info["suspicious"]] == ["detects the test runner in sys.modules"]
    assert info["reward_components"] == {"resolved": 1.0, "suspicious": -1.0} and reward == 0.0


@pytest.mark.parametrize("name", ["rewrite-in-process", "forge-report"])
def test_a_tampered_report_earns_no_partial_credit(make_env, valid_calc_task, name):
    """Under a spec with partial credit, a report forged to all-pass gives no FAIL_TO_PASS fraction and
    counts every PASS_TO_PASS test as regressed: worse than an honest failed attempt, never better."""
    env = make_env(reward="partial", grade_timeout_s=ATTACKS[name].grade_timeout, pool_size=1)
    env.reset(seed=0)
    reward, _, _, info = play_env(ATTACKS[name], env)
    assert info["tampered"] is True and "infra_error" not in info
    assert info["reward_values"]["fail_to_pass_fraction"] == 0.0
    assert info["reward_values"]["pass_to_pass_regressions"] == 1.0 and reward == -0.5


def test_a_task_whose_own_test_patch_is_broken_is_infra_error_never_the_agents(docker_client, valid_calc_task):
    from swefarm.harness.grade import grade

    test_patch = valid_calc_task.test_patch.replace("mul(2, 3)", "mul(9, 9)")  # its context no longer matches
    broken = valid_calc_task.model_copy(update={"test_patch": test_patch})
    report = grade(broken, valid_calc_task.patch, docker_client)
    assert report.infra_error and "empty patch does not grade normally" in report.infra_error
    assert report.failure is None and not report.resolved


def test_the_image_is_checked_with_the_empty_patch_only_once_in_a_while(docker_client, valid_calc_task):
    """A failure the agent caused is confirmed against the empty patch; the confirmation is remembered per image."""
    from swefarm.harness import grade as grading

    calls = []
    original = grading._attempt

    def counting(task, data, *args, **kwargs):
        calls.append(data)
        return original(task, data, *args, **kwargs)

    grading._attempt = counting
    try:
        grading._controls.clear()
        garbage = ATTACKS["garbage-report"].make(Target.of(valid_calc_task))
        diff = attack_diff(docker_client, valid_calc_task.environment.image, garbage)
        first = grading.grade(valid_calc_task, diff, docker_client)
        second = grading.grade(valid_calc_task, diff, docker_client)
    finally:
        grading._attempt = original
    assert first.failure == second.failure == "report_unreadable" and not first.infra_error
    assert calls == [diff, b"", diff], [c[:30] for c in calls]  # the empty patch graded once, for the first failure


BREAKERS = {
    "nothing else": [],
    "rm -rf .git": ["rm -rf .git"],
    "a setsid fork bomb": ["setsid bash -c 'f() { f | f & }; f' </dev/null >/dev/null 2>&1 & sleep 2"],
    "a full /tmp": ["dd if=/dev/zero of=/tmp/fill bs=1M status=none 2>/dev/null; true"],
    "a lone surrogate": ["echo '\ud800'"],
}


@pytest.mark.parametrize("breaker", list(BREAKERS))
def test_breaking_grading_never_turns_a_negative_reward_into_an_unscored_one(make_env, breaker):
    """A patch that breaks a passing test scores -1 under this spec, whatever the agent does to grading after."""
    env = make_env(
        reward={"weights": {"resolved": 1.0, "fail_to_pass_fraction": 0.1, "pass_to_pass_regressions": -1.0}}
    )
    env.reset(seed=0)
    calls = [{"name": "bash", "arguments": {"command": c}} for c in ["sed -i 's/a [*] b/a + b/' src/calc/__init__.py",
             *BREAKERS[breaker]]] + [{"name": "submit", "arguments": {}}]  # fmt: skip
    for call in calls:  # a step the sandbox refuses may end the episode early: it is graded there
        _, reward, terminated, truncated, info = env.step(call)
        if terminated or truncated:
            break
    assert "infra_error" not in info, info["infra_error"]
    assert info["reward_values"]["pass_to_pass_regressions"] == 1.0 and reward == -1.0
