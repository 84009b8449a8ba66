"""Build and validate many tasks: resumable steps that record their outcome in the task store."""

from __future__ import annotations

import time
from pathlib import Path

import docker
from pydantic import BaseModel, Field
from swefarm.harness.build_failures import classify_build_failure, strip_ansi
from swefarm.harness.images import BuildError, build_env_image, build_task_image, env_image_tag, task_image
from swefarm.harness.outcomes import BuildOutcome, ValidationOutcome
from swefarm.harness.overrides import apply_overrides
from swefarm.harness.recipe import infer_recipe
from swefarm.harness.recipe_python import base_for
from swefarm.harness.repos import RepoError, export_tree, resolve_repo
from swefarm.harness.validate import validate
from swefarm.tasks.models import Environment, Task, TaskStatus


class StepOutcome(BaseModel):
    instance_id: str
    ok: bool
    status: str
    code: BuildOutcome | ValidationOutcome = Field(description="how the step ended, as a code")
    reason: str = ""
    seconds: float = 0.0
    layer_mb: float = 0.0
    layer_seconds: float = 0.0
    cached: bool = False


def build_task(
    client: docker.DockerClient,
    task: Task,
    repo_paths: dict[str, Path],
    overrides: dict | None = None,
    force: bool = False,
    log=print,
    python: str | None = None,
) -> tuple[Task, StepOutcome]:
    """Plan the recipe, build the environment and task images; the task comes back with its new status.

    What was decided goes to `task.extra["build"]`: the recipe's path (`spec`: SWE-bench's own
    specification, `inferred`, or `given` by the task's source), the Python and why, the install step
    that worked, the environment image, and on failure its class and reason. `python` forces a
    Python version (a retry on a newer one)."""
    start = time.monotonic()
    info: dict = {}
    try:
        git_dir = resolve_repo(task.repo, repo_paths, log=log)
        env, info = plan_environment(git_dir, task, overrides)
        info["git_dir"] = str(git_dir)
        if python and python != env.python:
            info["python_reason"] = f"{python}: retried on a newer Python ({info.get('python_reason', '')})"
            env = env.model_copy(update={"python": python})
        info.update(python=env.python, env_image=env_image_tag(task, env))
        env_build = build_env_image(client, task, env, git_dir, force=force, log=log)
        task_build = build_task_image(client, task, env_build.tag, git_dir, force=force)
    except (RepoError, BuildError, ValueError) as exc:
        code = _build_code(exc)
        tail = getattr(exc, "log_tail", "")
        reason = strip_ansi(f"{exc}" + (f"\n--- build log tail ---\n{tail[-3000:]}" if tail else ""))
        failure = getattr(exc, "failure_class", "") or classify_build_failure(reason)
        info.update(ok=False, failure_class=failure)
        failed = task.model_copy(
            update={
                "status": TaskStatus.INVALID,
                "status_reason": f"build: {reason}",
                "extra": {**task.extra, "build": info},
            }
        )
        return failed, StepOutcome(
            instance_id=task.instance_id,
            ok=False,
            status="build failed",
            code=code,
            reason=f"[{failure}] {strip_ansi(str(exc))}",
            seconds=round(time.monotonic() - start, 1),
        )
    info.update(ok=True, install_step=env_build.install_step or info.get("install_step", ""))
    env = env.model_copy(update={"image": task_build.tag})
    judged = task.status == TaskStatus.VALID or (task.status_reason or "").startswith("validation:")
    keep = {"status": task.status, "status_reason": task.status_reason} if judged and not force else {}
    extra = {**task.extra, "build": info}
    built = task.model_copy(
        update={"environment": env, "status": TaskStatus.BUILT, "status_reason": None, "extra": extra, **keep}
    )
    return built, StepOutcome(
        instance_id=task.instance_id,
        ok=True,
        status="built",
        code=BuildOutcome.BUILT,
        seconds=round(time.monotonic() - start, 1),
        layer_mb=round(task_build.layer_bytes / 1024**2, 2),
        layer_seconds=task_build.seconds,
        cached=env_build.cached and task_build.cached,
    )


def _build_code(exc: Exception) -> BuildOutcome:
    if isinstance(exc, RepoError):
        return BuildOutcome.REPO_ERROR
    return BuildOutcome.BUILD_FAILED if isinstance(exc, BuildError) else BuildOutcome.RECIPE_ERROR


def plan_environment(git_dir: Path, task: Task, overrides: dict | None = None) -> tuple[Environment, dict]:
    """The environment to build for `task` and how it was decided: the task's own recipe (`given`),
    SWE-bench's specification for its repository and version (`spec`, SWE-bench-format imports only),
    or inference from the checkout (`inferred`)."""
    import tempfile

    env = task.environment
    if env.install or env.raw:  # the source's recipe, or the one an earlier build planned
        before = task.extra.get("build") or {}
        keep = {k: before[k] for k in ("path", "python_reason", "notes") if k in before}
        return env, {"path": "given", "python_reason": "the task's own recipe", **keep}
    with tempfile.TemporaryDirectory(prefix="swefarm-recipe-") as tmp:
        export_tree(git_dir, task.environment_setup_commit or task.base_commit, Path(tmp))
        inferred = infer_recipe(Path(tmp), task, overrides)
        spec = _spec(task)
        if spec is None:
            return inferred.environment, {
                "path": "inferred",
                "python_reason": inferred.python_reason,
                "notes": inferred.notes,
            }
        from swefarm.harness.recipe_swebench import environment_from_spec

        given, notes = environment_from_spec(spec, task.repo)
        fields = ("pre_install", "install", "packages", "env_vars", "requirements_files", "test_command", "log_parser")
        planned = inferred.environment.model_copy(
            update={
                **{k: getattr(given, k) for k in fields},
                "extras": [],
                "python": base_for(given.python) if given.python else inferred.environment.python,
            }
        )
        planned = apply_overrides(planned, task.repo, task.version, overrides)
        why = f"SWE-bench's spec for {task.repo} {task.version}: python {given.python}"
        return planned, {"path": "spec", "python_reason": why, "notes": notes}


def _spec(task: Task) -> dict | None:
    from swefarm.harness.recipe_swebench import SpecsUnavailableError, spec_for

    try:
        return spec_for(task)
    except SpecsUnavailableError:
        return None


def validate_task(
    client: docker.DockerClient, task: Task, runs: int = 3, retry_python: bool = True
) -> tuple[Task, StepOutcome]:
    """Validate a built task; its test lists become ours (the dataset's are kept in `extra`).

    When the task is not valid because its new tests were skipped for a Python-version or
    missing-module reason, it is built again on the next newer Python and validated once more
    (`task.extra["build"]["python_retry"]` records it)."""
    checked, outcome = _validate_once(client, task, runs)
    if outcome.ok or not retry_python:
        return checked, outcome
    return _retry_on_newer_python(client, checked, outcome, runs)


def _retry_on_newer_python(client, task: Task, outcome: StepOutcome, runs: int) -> tuple[Task, StepOutcome]:
    from swefarm.harness.python_retry import skip_reasons, skipped_targets, wants_newer_python
    from swefarm.harness.recipe_python import next_python

    build = task.extra.get("build") or {}
    tests = skipped_targets(task, task.provenance.validation_runs)
    if not (tests and build.get("git_dir") and build.get("python")):
        return task, outcome
    reasons = skip_reasons(client, task_image(task), task, tests)
    newer = next_python(build["python"]) if wants_newer_python(reasons) else None
    if newer is None:
        return task, outcome
    retry = {"from": build["python"], "to": newer, "skip_reasons": reasons[:5]}
    rebuilt, built = build_task(client, task, {task.repo: Path(build["git_dir"])}, python=newer, log=lambda *_: None)
    if built.ok:
        checked, again = _validate_once(client, rebuilt, runs)
        retry["valid"] = again.ok
        if again.ok:
            checked.extra["build"] = {**checked.extra.get("build", {}), "python_retry": retry}
            return checked, again
    else:
        retry["build_failed"] = built.reason
    task.extra["build"] = {**build, "python_retry": retry}
    return task, outcome


def _validate_once(client: docker.DockerClient, task: Task, runs: int) -> tuple[Task, StepOutcome]:
    start = time.monotonic()
    extra = dict(task.extra)
    if (task.FAIL_TO_PASS or task.PASS_TO_PASS) and "dataset_FAIL_TO_PASS" not in extra:
        extra["dataset_FAIL_TO_PASS"], extra["dataset_PASS_TO_PASS"] = task.FAIL_TO_PASS, task.PASS_TO_PASS
    # compared with the dataset's own lists, even when an earlier validation replaced them with ours
    basis = task.model_copy(
        update={
            "FAIL_TO_PASS": extra.get("dataset_FAIL_TO_PASS", []),
            "PASS_TO_PASS": extra.get("dataset_PASS_TO_PASS", []),
        }
    )
    report = validate(basis, client, runs=runs, image=task_image(task))
    extra.pop("validation_disagreement", None)
    if report.dataset_disagreement:
        extra["validation_disagreement"] = report.dataset_disagreement
    excluded = report.flaky + report.order_dependent
    provenance = task.provenance.model_copy(
        update={
            "validation_runs": report.runs,
            "flaky_tests": excluded,
            "validation_outcome": str(report.outcome),
            "dropped_tests": report.dropped,
        }
    )
    update = {
        "status": TaskStatus.VALID if report.valid else TaskStatus.INVALID,
        "status_reason": None if report.valid else f"validation: {strip_ansi(report.reason)}",
        "provenance": provenance,
        "extra": extra,
    }
    if report.valid:
        update.update(FAIL_TO_PASS=report.fail_to_pass, PASS_TO_PASS=report.pass_to_pass)
    outcome = StepOutcome(
        instance_id=task.instance_id,
        ok=report.valid,
        status="valid" if report.valid else "invalid",
        code=report.outcome,
        reason=strip_ansi(report.reason),
        seconds=round(time.monotonic() - start, 1),
    )
    return task.model_copy(update=update), outcome
