"""Build and validate many tasks: resumable steps that record their outcome in the task store."""

from __future__ import annotations

import time
from pathlib import Path

import docker
from pydantic import BaseModel, Field
from swefarm.harness.images import BuildError, build_env_image, build_task_image, task_image_tag
from swefarm.harness.outcomes import BuildOutcome, ValidationOutcome
from swefarm.harness.recipe import infer_recipe
from swefarm.harness.repos import RepoError, export_tree, resolve_repo
from swefarm.harness.validate import validate
from swefarm.tasks.models import Task, TaskStatus


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
) -> tuple[Task, StepOutcome]:
    """Infer the recipe, build the environment and task images; the task comes back with its new status."""
    start = time.monotonic()
    try:
        git_dir = resolve_repo(task.repo, repo_paths, log=log)
        env = task.environment
        if not env.install and not env.raw:
            env = _infer(git_dir, task, overrides)
        env_build = build_env_image(client, task, env, git_dir, force=force, log=log)
        task_build = build_task_image(client, task, env_build.tag, git_dir, force=force)
    except (RepoError, BuildError, ValueError) as exc:
        code = _build_code(exc)
        tail = getattr(exc, "log_tail", "")
        reason = f"{exc}" + (f"\n--- build log tail ---\n{tail[-1500:]}" if tail else "")
        failed = task.model_copy(update={"status": TaskStatus.INVALID, "status_reason": f"build: {reason}"})
        return failed, StepOutcome(
            instance_id=task.instance_id,
            ok=False,
            status="build failed",
            code=code,
            reason=str(exc)[:300],
            seconds=round(time.monotonic() - start, 1),
        )
    env = env.model_copy(update={"image": task_build.tag})
    judged = task.status == TaskStatus.VALID or (task.status_reason or "").startswith("validation:")
    keep = {"status": task.status, "status_reason": task.status_reason} if judged and not force else {}
    built = task.model_copy(update={"environment": env, "status": TaskStatus.BUILT, "status_reason": None, **keep})
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


def _infer(git_dir: Path, task: Task, overrides: dict | None):
    import tempfile

    with tempfile.TemporaryDirectory(prefix="swefarm-recipe-") as tmp:
        export_tree(git_dir, task.environment_setup_commit or task.base_commit, Path(tmp))
        inferred = infer_recipe(Path(tmp), task, overrides)
    return inferred.environment


def validate_task(client: docker.DockerClient, task: Task, runs: int = 3) -> tuple[Task, StepOutcome]:
    """Validate a built task; its test lists become ours (the dataset's are kept in `extra`)."""
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
    report = validate(basis, client, runs=runs, image=task.environment.image or task_image_tag(task))
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
        "status_reason": None if report.valid else f"validation: {report.reason}",
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
        reason=report.reason,
        seconds=round(time.monotonic() - start, 1),
    )
    return task.model_copy(update=update), outcome
