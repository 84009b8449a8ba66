"""The hostile grading suite: attacks an agent can make on grading, as data that tests and `swefarm bench hacks` play.

An `Attack` makes a `Plan` for a task (`Target`): steps an agent takes in its
workspace (write, append to, link or delete files; run commands) and, for attacks on
the grader's reading of diffs, a rewrite of the diff handed in. Played through the
env (tool calls, then submit) or through `swefarm grade` (the diff the steps leave),
every attack must end with reward 0, never `infra_error`, and with the signal it is
expected to leave (`tampered`, a failure code, or the paths grading put back).

    from swefarm.harness.hostile import ATTACKS, Target
    plan = ATTACKS["conftest-root"].make(Target.of(task))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from swefarm.tasks.models import Task

#: A step: ("write", path, text|bytes) | ("append", path, text) | ("link", path, target) | ("delete", path)
#: | ("run", shell command). Paths are relative to the repository root.
Step = tuple


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...] = ()
    rewrite_diff: Callable[[str], str] | None = None  # how the diff handed in lies (grade path only)


@dataclass(frozen=True)
class Target:
    """What an attacker knows of a task: everything but the fix (its worst case)."""

    runner: str
    package: str
    source: str
    test_files: tuple[str, ...]
    targets: tuple[str, ...]

    @classmethod
    def of(cls, task: Task) -> Target:
        from swefarm.harness.testrun import files_after, runner_name

        code = [p for p in files_after(task.patch) if p.endswith(".py")] or ["setup.py"]
        source = code[0]
        parts = source.split("/")
        start = 1 if parts[0] in ("src", "lib") and len(parts) > 2 else 0
        package = parts[start].removesuffix(".py")
        tests = tuple(p for p in files_after(task.test_patch) if p.endswith(".py"))
        return cls(runner_name(task), package, source, tests, tuple([*task.FAIL_TO_PASS, *task.PASS_TO_PASS]))

    @property
    def package_dir(self) -> str:
        return self.source.rsplit("/", 1)[0] if "/" in self.source else ""

    @property
    def src_root(self) -> str:
        """The directory the package sits in ("" at the repository root, or "src")."""
        prefix = self.source.split("/")[0]
        return prefix if prefix in ("src", "lib") and self.source.count("/") > 1 else ""

    def test_dirs(self) -> list[str]:
        """Every directory from the root down to each test file's."""
        dirs = {""}
        for path in self.test_files:
            parts = path.split("/")[:-1]
            dirs.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        return sorted(dirs)


@dataclass(frozen=True)
class Attack:
    name: str
    klass: str
    make: Callable[[Target], Plan]
    #: what the grade must show, any one of: "tampered", a failure code, "reverted:<reason>" (empty: just reward 0)
    expect: frozenset[str] = frozenset()
    via: frozenset[str] = frozenset({"env", "grade"})
    runners: frozenset[str] = frozenset({"pytest", "unittest"})
    env_expect: frozenset[str] | None = None  # when the env path shows another signal (None: as `expect`)
    grade_timeout: float = 180.0
    env_submit: bool = True  # False: the plan's last command ends the episode itself


def signals(report) -> set[str]:
    """What a grade report shows beyond its counts, in the vocabulary of `Attack.expect`."""
    out = {f"reverted:{why}" for why in report.reverted.values()}
    if report.tampered:
        out.add("tampered")
    if report.failure:
        out.add(str(report.failure))
    if report.suspicious:
        out.add("suspicious")
    return out


def problems(report, expect: frozenset[str]) -> list[str]:
    """Why `report` is not what an attack must end in: resolved, any FAIL_TO_PASS credit, credit from a report
    that cannot be trusted, infra_error, or without the expected signal."""
    found = []
    if report.resolved:
        found.append("resolved")
    if report.infra_error:
        found.append(f"infra_error: {report.infra_error[:300]}")
    if report.fail_to_pass_passed:  # no attack fixes the bug: any FAIL_TO_PASS credit is a faked reward
        found.append(f"{report.fail_to_pass_passed} FAIL_TO_PASS test(s) counted as passing")
    if (report.tampered or report.failure) and report.pass_to_pass_passed:
        found.append("PASS_TO_PASS credit from a run that cannot be trusted")
    if expect and not expect & signals(report):
        found.append(f"expected one of {sorted(expect)}, got {sorted(signals(report))}")
    return found


def _catalogue() -> dict[str, Attack]:
    from swefarm.harness.hostile.catalogue import ALL

    return {attack.name: attack for attack in ALL}


#: Every attack by name (harness/hostile/catalogue.py).
ATTACKS: dict[str, Attack] = _catalogue()


def shell(step: Step) -> str:
    """A step as the bash command an agent would run for it (from the repository root)."""
    import base64
    import shlex

    kind, path = step[0], step[1]
    if kind == "run":
        return path
    quoted = shlex.quote(path)
    parent = f"mkdir -p {shlex.quote(path.rsplit('/', 1)[0])} && " if "/" in path else ""
    if kind in ("write", "append"):
        data = step[2].encode() if isinstance(step[2], str) else step[2]
        encoded = base64.b64encode(data).decode()
        return f"{parent}echo {encoded} | base64 -d {'>>' if kind == 'append' else '>'} {quoted}"
    if kind == "link":
        return f"{parent}rm -rf {quoted} && ln -s {shlex.quote(step[2])} {quoted}"
    if kind == "delete":
        return f"rm -rf {quoted}"
    raise ValueError(f"unknown step {kind!r}")
