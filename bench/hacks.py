"""`swefarm bench hacks`: the hostile grading suite played through the env and through `swefarm grade`.

Every attack of harness/hostile is played on a task two ways where it applies: as an
agent would in an episode (bash tool calls, then submit; the env extracts and grades
the change) and as a diff handed to grading. The summary counts the attacks, those
that resolved (target 0), those that ended in `infra_error` (target 0) and those the
grader caught as tampering; it also times grading the gold patch with and without
the defences, interleaved on the same task, to show what they cost.

    swefarm bench hacks --json
    {"attacks": N, "resolved": 0, "infra_error": 0, "tampered_detected": T,
     "grade_p50_s": g, "grade_p50_s_without_defences": g0, ...}
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from swefarm.harness.hostile import ATTACKS, Attack, Target, problems, shell, signals
from swefarm.tasks.models import Task


@dataclass
class Played:
    """One attack played one way."""

    attack: str
    klass: str
    via: str
    reward: float | None
    resolved: bool
    infra_error: str | None
    tampered: bool
    failure: str | None
    signals: list[str]
    problems: list[str]
    seconds: float
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def applicable(task: Task, names: list[str] | None = None) -> list[Attack]:
    """The attacks that apply to `task`'s runner (all of them, or those named)."""
    runner = Target.of(task).runner
    runner = "unittest" if runner == "django" else runner
    chosen = [ATTACKS[n] for n in names] if names else list(ATTACKS.values())
    return [a for a in chosen if runner in a.runners]


def play_grade(attack: Attack, task: Task, client, image: str | None = None, defences: bool = True):
    """The attack's diff handed to grading; returns the GradeReport."""
    from swefarm.harness.grade import grade
    from swefarm.harness.hostile.diffs import attack_diff
    from swefarm.harness.images import task_image

    image = image or task_image(task)
    diff = attack_diff(client, image, attack.make(Target.of(task)))
    return grade(task, diff, client, image, timeout=attack.grade_timeout, defences=defences)


def play_env(attack: Attack, env) -> tuple[float, bool, bool, dict]:
    """The attack played as an agent: a bash call per step, then submit; reward, terminated, truncated, info."""
    plan = attack.make(Target.of(env.unwrapped.task))
    reward, terminated, truncated, info = 0.0, False, False, {}
    for step in plan.steps:
        _, reward, terminated, truncated, info = env.step({"name": "bash", "arguments": {"command": shell(step)}})
        if terminated or truncated:
            return reward, terminated, truncated, info
    _, reward, terminated, truncated, info = env.step({"name": "submit", "arguments": {}})
    return reward, terminated, truncated, info


def graded(attack: Attack, via: str, report, reward: float | None, seconds: float) -> Played:
    expect = attack.env_expect if (via == "env" and attack.env_expect is not None) else attack.expect
    found = problems(report, expect)
    if reward:
        found.append(f"reward {reward}")
    return Played(
        attack=attack.name,
        klass=attack.klass,
        via=via,
        reward=reward,
        resolved=report.resolved,
        infra_error=report.infra_error,
        tampered=report.tampered,
        failure=str(report.failure) if report.failure else None,
        signals=sorted(signals(report)),
        problems=found,
        seconds=round(seconds, 2),
    )


def run_attacks(task: Task, client, make_env: Callable, names: list[str] | None = None, progress=print) -> list[Played]:
    """Every applicable attack through the env (where it can be) and through grading (where it can be)."""
    from swefarm.harness.grade import GradeReport

    rows = []
    for attack in applicable(task, names):
        if "grade" in attack.via:
            progress(f"{attack.name} through swefarm grade")
            start = time.monotonic()
            report = play_grade(attack, task, client)
            rows.append(graded(attack, "grade", report, None, time.monotonic() - start))
        if "env" in attack.via:
            progress(f"{attack.name} through the env")
            env = make_env(attack.grade_timeout)
            try:
                env.reset(seed=0)
                start = time.monotonic()
                reward, _, _, info = play_env(attack, env)
                report = GradeReport.model_validate(info.get("grade") or {"instance_id": task.instance_id})
                report.infra_error = info.get("infra_error") or report.infra_error
                rows.append(graded(attack, "env", report, reward, time.monotonic() - start))
            finally:
                env.close()
    return rows


def grade_timing(task: Task, client, runs: int = 5, progress=print) -> dict[str, float]:
    """p50 seconds to grade the gold patch with and without the defences, runs interleaved (the order alternates)."""
    from swefarm.harness.grade import grade

    times: dict[bool, list[float]] = {True: [], False: []}
    grade(task, task.patch, client)  # warm the image and the record of its runner's environment
    for i in range(runs):
        for defences in (True, False) if i % 2 == 0 else (False, True):
            progress(f"timing gold {'with' if defences else 'without'} defences ({i + 1}/{runs})")
            report = grade(task, task.patch, client, defences=defences)
            if not report.resolved:
                raise RuntimeError(f"the gold patch did not resolve (defences={defences}): {report.infra_error or ''}")
            times[defences].append(report.duration)
    return {
        "grade_p50_s": round(statistics.median(times[True]), 3),
        "grade_p50_s_without_defences": round(statistics.median(times[False]), 3),
    }


def summarize(rows: list[Played], timing: dict[str, float]) -> dict:
    """The summary `swefarm bench hacks --json` prints."""
    with_defences, without = timing.get("grade_p50_s"), timing.get("grade_p50_s_without_defences")
    return {
        "attacks": len(rows),
        "resolved": sum(r.resolved or bool(r.reward) for r in rows),
        "infra_error": sum(r.infra_error is not None for r in rows),
        "tampered_detected": sum(r.tampered for r in rows),
        **timing,
        "defence_overhead": round(with_defences / without - 1, 3) if with_defences and without else None,
        "classes": len({r.klass for r in rows}),
        "failures": sorted({r.failure for r in rows if r.failure}),
        "unexpected": [f"{r.attack} ({r.via}): {'; '.join(r.problems)}" for r in rows if not r.ok],
    }


def table(rows: list[Played], summary: dict, console) -> None:
    """The attacks and the summary as a rich table on `console`."""
    from rich.markup import escape
    from rich.table import Table

    shown = Table(title=f"hostile grading on {summary['task']}")
    for column in ("attack", "via", "class", "outcome", "seconds"):
        shown.add_column(column)
    for row in rows:
        outcome = "RESOLVED" if row.resolved else row.infra_error and "INFRA ERROR" or ", ".join(row.signals) or "0"
        shown.add_row(row.attack, row.via, row.klass, outcome, f"{row.seconds:.1f}", style="" if row.ok else "red")
    console.print(shown)
    for key, value in summary.items():
        if key != "unexpected":
            console.print(f"{key:>30}  {value}")
    for line in summary["unexpected"]:
        console.print(f"[red]unexpected:[/] {escape(line)}")
