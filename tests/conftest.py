"""Shared fixtures: the real Docker engine, the base image, a fresh sandbox per test.

Tests marked `docker` run against the engine itself (no mocks); `model`, `vllm` and `farm` mark the
tests that load the real model, start vLLM, or start an API farm (see pyproject's markers; the
fixture-based ones are added here from the fixtures a test uses). When no engine
answers they fail with a message saying so; they never skip (CI always has one).

The session-scoped `docker_client` also checks, at the end of the session, that
no container this test session created is left behind: every sandbox the
registry tracks is recorded, subprocess tests add the ids they saw with the
`record_container_ids` fixture, and any container still carrying this process's owner
label counts too.
"""

from __future__ import annotations

import os
import socket

import docker
import docker.errors
import pytest
from swefarm.sandbox import labels, registry
from swefarm.sandbox.errors import EngineUnavailableError

BASE_IMAGE = "swefarm/base:py3.11"

#: A test that uses one of these fixtures (directly or through another) carries the marker, whatever its
#: module says: the markers mean what they say, and `make test-fast` can trust them.
FIXTURE_MARKERS = {"docker_client": "docker", "model_dir": "model", "make_farm": "farm"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        for fixture, marker in FIXTURE_MARKERS.items():
            if fixture in item.fixturenames and marker not in item.keywords:
                item.add_marker(getattr(pytest.mark, marker))


_created_ids: set[str] = set()


@pytest.fixture
def record_container_ids(docker_client):
    """A function that adds container ids made outside this process (subprocess tests) to the leak check.

    Whatever the test leaves of them (it failed before its own cleanup) is removed at
    teardown, so one failure does not leak containers into later runs.
    """
    recorded: list[str] = []

    def record(*ids: str) -> None:
        recorded.extend(i for i in ids if i)
        _created_ids.update(i for i in ids if i)

    yield record
    for cid in recorded:
        try:
            docker_client.containers.get(cid).remove(force=True)
        except docker.errors.NotFound:
            pass


def _leftovers(client: docker.DockerClient) -> list[str]:
    """Containers this session created that still exist."""
    left = []
    for cid in sorted(_created_ids):
        try:
            container = client.containers.get(cid)
        except docker.errors.NotFound:
            continue
        if container.labels.get(labels.KIND):
            left.append(f"{container.short_id} ({container.status})")
    mine = client.containers.list(
        all=True,
        filters={
            "label": [
                labels.KIND,
                f"{labels.OWNER_PID}={os.getpid()}",
                f"{labels.OWNER_HOST}={socket.gethostname()}",
            ]
        },
    )
    for container in mine:
        entry = f"{container.short_id} ({container.status})"
        if not any(item.startswith(container.short_id) for item in left):
            left.append(entry)
    return left


@pytest.fixture(scope="session")
def docker_client():
    """A client for the real engine; fails (never skips) when none answers."""
    try:
        from swefarm.sandbox.engine import connect

        client = connect()
    except EngineUnavailableError as exc:
        pytest.fail(
            f"these tests need a running Docker engine and none answers: {exc}\n"
            "Start dockerd (`swefarm setup` as root on Debian) or set DOCKER_HOST.",
            pytrace=False,
        )
    original_track = registry.track

    def recording_track(sandbox) -> None:  # passive: records the id, then does what track does
        container = getattr(sandbox, "container", None)
        if container is not None:
            _created_ids.add(container.id)
        original_track(sandbox)

    registry.track = recording_track
    try:
        yield client
    finally:
        registry.track = original_track
        left = _leftovers(client)
        registry.close_all()  # remove what a test left open, after noting it
        client.close()
        assert not left, f"the test session left swefarm containers behind: {', '.join(left)}"


@pytest.fixture(scope="session")
def base_image(docker_client) -> str:
    try:
        docker_client.images.get(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"the base image {BASE_IMAGE} is missing: run `swefarm setup` to build it", pytrace=False)
    return BASE_IMAGE


@pytest.fixture
def sandbox(docker_client, base_image):
    """A fresh sandbox with the default (sealed) configuration, removed after the test."""
    from swefarm.sandbox.docker_backend import DockerSandbox

    sb = DockerSandbox(docker_client, base_image)
    try:
        yield sb
    finally:
        sb.close()


# -- the calc fixture repository and tasks built from it (tests/fixture_calc.py) --------------


@pytest.fixture(scope="session")
def calc_repo(tmp_path_factory):
    from fixture_calc import make_repo

    return make_repo(tmp_path_factory.mktemp("repos"))


@pytest.fixture(scope="session")
def built_calc_task(docker_client, calc_repo):
    """The fixture task with its environment and task images built (cached across runs)."""
    from fixture_calc import make_task
    from swefarm.harness.pipeline import build_task

    repo, commits = calc_repo
    task, outcome = build_task(docker_client, make_task(commits), {"fixture/calc": repo}, log=lambda *a: None)
    assert outcome.ok, task.status_reason
    return task


@pytest.fixture(scope="session")
def valid_calc_task(docker_client, built_calc_task):
    """The fixture task validated for real (one gold run): FAIL_TO_PASS and PASS_TO_PASS filled in."""
    from swefarm.harness.pipeline import validate_task

    task, outcome = validate_task(docker_client, built_calc_task, runs=1)
    assert outcome.ok, task.status_reason
    return task


@pytest.fixture(scope="session")
def build_variant(docker_client, calc_repo):
    """Build a variant of the fixture task (same repository and environment, other tests or recipe)."""
    from fixture_calc import make_task
    from swefarm.harness.pipeline import build_task

    repo, commits = calc_repo

    def build(instance_id: str, **changes):
        task = make_task(commits, instance_id).model_copy(update=changes)
        return build_task(docker_client, task, {"fixture/calc": repo}, log=lambda *a: None)

    return build


# -- a task store holding the validated calc task, and envs on it closed after each test ------------------


@pytest.fixture(scope="session")
def calc_store(tmp_path_factory, valid_calc_task):
    from swefarm.tasks.store import TaskStore

    path = tmp_path_factory.mktemp("store") / "tasks.db"
    TaskStore(path).put(valid_calc_task)
    return path


@pytest.fixture
def make_env(docker_client, valid_calc_task):
    """Make SWEEnvs on the calc task (keyword arguments are config overrides); all closed at teardown."""
    from swefarm.envs.pools import wait_closed
    from swefarm.envs.swe_env import SWEEnv

    made = []

    def make(task=None, **overrides):
        env = SWEEnv(task or valid_calc_task, client=docker_client, **overrides)
        made.append(env)
        return env

    yield make
    for env in made:
        env.close()
    wait_closed()
