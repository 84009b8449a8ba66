"""Environment and task images.

Layers: base (`swefarm/base:pyX.Y`) -> environment image per repository recipe
(`swefarm/env:<repo>-<recipe hash>`: a venv at /opt/venv with the repository's
dependencies installed at the environment-setup commit, resolved as of the
task's date with uv's exclude-newer; shared by every task with that recipe) ->
task image (`swefarm/task:<instance id>`: one layer holding the repository at the
base commit as a one-commit snapshot in /opt/swefarm/repo, which sandboxes copy
into their /testbed workspace). Builds use the host network and the host's CA
bundle; sandboxes run later with no network at all.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path

import docker
import docker.errors
from pydantic import BaseModel
from swefarm.harness.recipe import recipe_hash
from swefarm.harness.repos import export_tree, git, snapshot
from swefarm.harness.runner_env import RECORD_STEPS, write_probe
from swefarm.sandbox.bases import base_for, ensure_base, image_exists
from swefarm.sandbox.errors import SetupError
from swefarm.sandbox.labels import IMAGE_LABELS
from swefarm.sandbox.models import SandboxConfig
from swefarm.tasks.models import Environment, Task

REPO_IN_IMAGE = "/opt/swefarm/repo"
TESTBED = "/testbed"
DEFAULT_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


_BUILD_LOCKS: dict[str, threading.Lock] = {}
_BUILD_LOCKS_GUARD = threading.Lock()


class BuildError(RuntimeError):
    """An image build failed; `log_tail` holds the end of its log."""

    def __init__(self, message: str, log_tail: str = ""):
        super().__init__(message)
        self.log_tail = log_tail


class BuildResult(BaseModel):
    tag: str
    cached: bool
    seconds: float
    layer_bytes: int = 0


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_.-]+", "-", text.lower()).strip("-.")[:100]


#: Bumped when the environment Dockerfile changes, so images built the old way are not reused.
#: f2: dependencies are installed with their bytecode compiled (UV_COMPILE_BYTECODE), as pip does:
#: without it a project whose pytest turns warnings into errors fails on a dependency's
#: compile-time SyntaxWarning before any test runs (flask's filterwarnings = error).
ENV_FORMAT = "f2"


def env_image_tag(task: Task, env: Environment) -> str:
    """Keyed by the recipe and the environment-setup commit, so every task of one repository version shares it."""
    env_commit = (task.environment_setup_commit or task.base_commit)[:10]
    return f"swefarm/env:{_slug(task.repo.replace('/', '__'))}-{recipe_hash(env)[:10]}-{env_commit}-{ENV_FORMAT}"


def task_image_tag(task: Task) -> str:
    return f"swefarm/task:{_slug(task.instance_id)}"


def sandbox_config(**overrides) -> SandboxConfig:
    """How a sandbox runs a task image: the snapshot copied into a writable /testbed."""
    fields = dict(workdir=TESTBED, seed_workspace_from=REPO_IN_IMAGE, workspace_size="2g")
    return SandboxConfig(**{**fields, **overrides})


def _env_dockerfile(env: Environment, base: str, date: str) -> str:
    steps = [*env.pre_install, *env.install]
    if env.packages:
        steps.append("uv pip install " + " ".join(json.dumps(p) for p in env.packages))
    env_lines = "".join(f"ENV {k}={json.dumps(v)}\n" for k, v in sorted(env.env_vars.items()))
    run = " && \\\n    ".join(["set -ex", *steps]) if steps else "true"
    return f"""FROM {base}
COPY ca.crt /etc/swefarm/ca.crt
ENV SSL_CERT_FILE=/etc/swefarm/ca.crt PIP_CERT=/etc/swefarm/ca.crt REQUESTS_CA_BUNDLE=/etc/swefarm/ca.crt \\
    VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \\
    PIP_DISABLE_PIP_VERSION_CHECK=1 UV_LINK_MODE=copy UV_NO_CACHE=1 UV_COMPILE_BYTECODE=1
RUN python3 -m venv /opt/venv && pip install -q uv
{env_lines}COPY repo {TESTBED}
COPY tracked.txt /opt/swefarm/env-tracked.txt
WORKDIR {TESTBED}
RUN export UV_EXCLUDE_NEWER={json.dumps(date)}; [ -n "$UV_EXCLUDE_NEWER" ] || unset UV_EXCLUDE_NEWER; \\
    {run}
{RECORD_STEPS}"""


# The snapshot plus the build artefacts the install left in the environment's /testbed
# (egg-info, compiled extensions), which git is told to ignore so diffs never carry them.
_TASK_DOCKERFILE = """FROM {env}
COPY --chown=1000:1000 repo {repo}
RUN cd {testbed} && find . \\( -type f -o -type l \\) -printf '%P\\n' | LC_ALL=C sort > /tmp/all && \\
    LC_ALL=C sort /opt/swefarm/env-tracked.txt > /tmp/tracked && \\
    LC_ALL=C comm -23 /tmp/all /tmp/tracked > /tmp/made && \\
    tar -C {testbed} -cf - -T /tmp/made | tar -C {repo} -xf - --skip-old-files && \\
    sed 's|^|/|' /tmp/made >> {repo}/.git/info/exclude && rm -f /tmp/all /tmp/tracked /tmp/made
"""


def _utc(iso: str) -> str:
    from datetime import UTC, datetime

    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if iso else ""


def _build(client: docker.DockerClient, context: Path, tag: str, labels: dict, network: bool) -> None:
    """Build `context` as `tag`; nothing is tagged unless the whole build succeeded."""
    log: list[str] = []
    try:
        stream = client.api.build(
            path=str(context),
            tag=tag,
            rm=True,
            forcerm=True,
            decode=True,
            labels=labels,
            network_mode="host" if network else "none",
        )
        for chunk in stream:
            if "stream" in chunk:
                log.append(chunk["stream"])
            if "error" in chunk:
                raise BuildError(f"building {tag} failed: {chunk['error'].strip()[-300:]}", "".join(log)[-4000:])
    except docker.errors.APIError as exc:
        raise BuildError(f"building {tag} failed: {exc}", "".join(log)[-4000:]) from None


def build_env_image(
    client: docker.DockerClient,
    task: Task,
    env: Environment,
    git_dir: Path,
    ca_bundle: str | None = DEFAULT_CA_BUNDLE,
    force: bool = False,
    log=print,
) -> BuildResult:
    """The environment image for `task` with recipe `env`, built from the environment-setup commit.

    Tasks that share the image and are built at once wait for one build instead of each making it."""
    tag = env_image_tag(task, env)
    with _BUILD_LOCKS_GUARD:
        lock = _BUILD_LOCKS.setdefault(tag, threading.Lock())
    with lock:
        return _build_env_image(client, task, env, git_dir, tag, ca_bundle, force, log)


def _build_env_image(client, task, env, git_dir, tag, ca_bundle, force, log) -> BuildResult:
    if not force and image_exists(client, tag):
        return BuildResult(tag=tag, cached=True, seconds=0.0)
    spec = base_for(env.python or "3.11")
    try:
        ensure_base(client, spec, log=log)  # built once (about a minute), then cached
    except SetupError as exc:
        raise BuildError(f"base image {spec.tag} is missing and cannot be built: {exc}") from None
    base = spec.tag
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="swefarm-env-") as tmp:
        ctx = Path(tmp)
        env_commit = task.environment_setup_commit or task.base_commit
        export_tree(git_dir, env_commit, ctx / "repo")
        (ctx / "tracked.txt").write_text(git("ls-tree", "-r", "--name-only", env_commit, cwd=git_dir))
        # dependencies resolve as of the environment commit's date (the task's own date when they are one)
        date = git("log", "-1", "--format=%cI", env_commit, cwd=git_dir).strip()
        if ca_bundle and Path(ca_bundle).exists():
            shutil.copyfile(ca_bundle, ctx / "ca.crt")
        else:
            (ctx / "ca.crt").write_text("")
        write_probe(ctx)  # the runner's plugins and modules, recorded for grading
        (ctx / "Dockerfile").write_text(_env_dockerfile(env, base, _utc(date)))
        labels = dict(
            IMAGE_LABELS, **{"swefarm.role": "env", "swefarm.repo": task.repo, "swefarm.recipe": recipe_hash(env)}
        )
        _build(client, ctx, tag, labels, network=True)
    return BuildResult(tag=tag, cached=False, seconds=round(time.monotonic() - start, 2))


def build_task_image(
    client: docker.DockerClient, task: Task, env_tag: str, git_dir: Path, force: bool = False
) -> BuildResult:
    """The task image: one small layer with the base-commit snapshot on top of the environment image.

    An existing image is reused only when it sits on this environment image and holds this commit
    (a task re-mined with a new environment gets a new image)."""
    tag = task_image_tag(task)
    made_from = {"swefarm.env": env_tag, "swefarm.commit": task.base_commit}
    if not force and _labels(client, tag).items() >= made_from.items():
        return BuildResult(tag=tag, cached=True, seconds=0.0, layer_bytes=_layer_bytes(client, tag, env_tag))
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="swefarm-task-") as tmp:
        ctx = Path(tmp)
        snapshot(git_dir, task.base_commit, ctx / "repo")
        (ctx / "Dockerfile").write_text(_TASK_DOCKERFILE.format(env=env_tag, repo=REPO_IN_IMAGE, testbed=TESTBED))
        labels = dict(IMAGE_LABELS, **{"swefarm.role": "task", "swefarm.instance": task.instance_id}, **made_from)
        _build(client, ctx, tag, labels, network=False)
    return BuildResult(
        tag=tag,
        cached=False,
        seconds=round(time.monotonic() - start, 2),
        layer_bytes=_layer_bytes(client, tag, env_tag),
    )


def _labels(client: docker.DockerClient, tag: str) -> dict[str, str]:
    try:
        return client.images.get(tag).labels or {}
    except docker.errors.ImageNotFound:
        return {}


def _layer_bytes(client: docker.DockerClient, tag: str, parent: str) -> int:
    try:
        return client.images.get(tag).attrs["Size"] - client.images.get(parent).attrs["Size"]
    except docker.errors.ImageNotFound:
        return 0
