"""The embedded demo task (`tasks.demo`), built and validated on this machine when it is not yet.

`swefarm demo` and the benchmarks use it when no task is named: the same pipeline as every
imported or mined task builds its images and validates it, once; later runs find it in the store.
"""

from __future__ import annotations

from types import ModuleType

from swefarm.tasks import demo, demo_js

#: The embedded demo task of each language.
DEMOS: dict[str, ModuleType] = {"python": demo, "javascript": demo_js, "js": demo_js}


def task_for_demo(task_id: str | None, console, language: str = "python"):
    """The valid task `task_id` from the store, or the embedded demo task of `language` (python, js), built and
    validated if need be."""
    from swefarm.tasks.models import TaskStatus
    from swefarm.tasks.store import TaskStore

    store = TaskStore()
    if task_id is not None:
        task = store.get(task_id)
        if task.status != TaskStatus.VALID:
            raise ValueError(
                f"task {task_id} is {task.status.value}; build and validate it first (swefarm build, validate)"
            )
        return task
    if language not in DEMOS:
        raise ValueError(f"no demo task in {language!r}; there is one in {', '.join(DEMOS)}")
    return _demo_task(store, console, DEMOS[language])


def _demo_task(store, console, source: ModuleType = demo):
    from swefarm.harness.pipeline import build_task, validate_task
    from swefarm.sandbox.engine import connect
    from swefarm.tasks.store import TaskNotFoundError

    from swefarm.settings import swefarm_home

    INSTANCE_ID, REPO = source.INSTANCE_ID, source.REPO  # noqa: N806  # the demo module's constants
    try:
        stored = store.get(INSTANCE_ID)
        if stored.status.value == "valid" and _image_exists(stored):
            console.print(f"task [bold]{INSTANCE_ID}[/] is built and valid (from the store)")
            return stored
    except TaskNotFoundError:
        pass
    client = connect()
    repo, commits = source.make_repo(swefarm_home() / "demo")
    with console.status(f"building the images of {INSTANCE_ID} (the first time: about a minute)"):
        task, outcome = build_task(client, source.make_task(commits), {REPO: repo}, log=lambda *a: None)
    if not outcome.ok:
        raise ValueError(f"building the demo task failed: {task.status_reason}")
    console.print(f"built {task.environment.image} in {outcome.seconds:.1f} s")
    with console.status("validating: the tests at the base commit, then with the gold patch"):
        task, outcome = validate_task(client, task, runs=2)
    if not outcome.ok:
        raise ValueError(f"validating the demo task failed: {task.status_reason}")
    console.print(
        f"validated in {outcome.seconds:.1f} s: "
        f"{len(task.FAIL_TO_PASS)} FAIL_TO_PASS, {len(task.PASS_TO_PASS)} PASS_TO_PASS"
    )
    store.put(task)
    return task


def _image_exists(task) -> bool:
    from swefarm.harness.images import task_image
    from swefarm.sandbox.bases import image_exists
    from swefarm.sandbox.engine import connect

    return image_exists(connect(), task_image(task))
