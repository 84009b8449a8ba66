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
from swefarm.harness.build_failures import classify_build_failure, strip_ansi
from swefarm.harness.build_memory import forget_failure, record_failure, recorded_failure
from swefarm.harness.images_js import js_env_dockerfile, js_install_script
from swefarm.harness.install_script import SIMD_MARKER, STEP_MARKER, ScriptInputs, install_script
from swefarm.harness.recipe import ProjectFiles, recipe_hash
from swefarm.harness.recipe_build import build_requirement_names, needs_compiler, python_matured, vcs_version
from swefarm.harness.repos import export_tree, git, snapshot
from swefarm.harness.runner_env import RECORD_STEPS, write_probe
from swefarm.harness.runners import runner_of
from swefarm.harness.toolchain import ensure_toolchain, toolchain_tag
from swefarm.sandbox.bases import base_for, ensure_base, image_exists
from swefarm.sandbox.errors import SetupError
from swefarm.sandbox.labels import IMAGE_LABELS
from swefarm.sandbox.models import SandboxConfig
from swefarm.sandbox.node_bases import ensure_node_base, node_base_for
from swefarm.tasks.models import Environment, Task

REPO_IN_IMAGE = "/opt/swefarm/repo"
TESTBED = "/testbed"
DEFAULT_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


_BUILD_LOCKS: dict[str, threading.Lock] = {}
_BUILD_LOCKS_GUARD = threading.Lock()


class BuildError(RuntimeError):
    """An image build failed; `log_tail` holds the end of its log, `failure_class` its class."""

    def __init__(self, message: str, log_tail: str = "", failure_class: str = ""):
        super().__init__(message)
        self.log_tail = log_tail
        self.failure_class = failure_class or classify_build_failure(f"{message}\n{log_tail}")


class BuildResult(BaseModel):
    tag: str
    cached: bool
    seconds: float
    layer_bytes: int = 0
    install_step: str = ""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_.-]+", "-", text.lower()).strip("-.")[:100]


#: Bumped when the environment Dockerfile changes, so images built the old way are not reused.
#: f2: dependencies are installed with their bytecode compiled (UV_COMPILE_BYTECODE), as pip does:
#: without it a project whose pytest turns warnings into errors fails on a dependency's
#: compile-time SyntaxWarning before any test runs (flask's filterwarnings = error).
#: f3: the install runs harness/install_script.py's steps (fallbacks, versions from git, a toolchain
#: when needed, the runner started once); uv lives outside the project's venv.
#: f4: every command of a step is checked (f3 could count a step whose install failed).
#: f5: the runner's start is checked beside every conftest.py (an environment whose test modules cannot
#: import is no environment), and the later-deps step; projects that compile C build on the toolchain layer.
#: f6: numpy's AVX-512 kernels are turned off in the image (NPY_DISABLE_CPU_FEATURES).
#: f7: a runner plugin the tests import (hypothesis) is upgraded within its major version (if it imports).
#: f8: package-only keeps the pytest plugins that the dropped requirement files name.
#: f9: the unpinned step (requirement files without their pins) before package-only.
ENV_FORMAT = "f9"


def env_image_tag(task: Task, env: Environment) -> str:
    """Keyed by the recipe and the environment-setup commit, so every task of one repository version shares it."""
    env_commit = (task.environment_setup_commit or task.base_commit)[:10]
    return f"swefarm/env:{_slug(task.repo.replace('/', '__'))}-{recipe_hash(env)[:10]}-{env_commit}-{ENV_FORMAT}"


def task_image_tag(task: Task) -> str:
    return f"swefarm/task:{_slug(task.instance_id)}"


def task_image(task: Task) -> str:
    """The image a task's sandboxes start from: the one the task names, else its task image's tag. The only rule."""
    return task.environment.image or task_image_tag(task)


def sandbox_config(**overrides) -> SandboxConfig:
    """How a sandbox runs a task image: the snapshot copied into a writable /testbed."""
    fields = dict(workdir=TESTBED, seed_workspace_from=REPO_IN_IMAGE, workspace_size="2g")
    return SandboxConfig(**{**fields, **overrides})


def _env_dockerfile(env: Environment, base: str) -> str:
    env_lines = "".join(f"ENV {k}={json.dumps(v)}\n" for k, v in sorted(env.env_vars.items()))
    return f"""FROM {base}
COPY ca.crt /etc/swefarm/ca.crt
ENV SSL_CERT_FILE=/etc/swefarm/ca.crt PIP_CERT=/etc/swefarm/ca.crt REQUESTS_CA_BUNDLE=/etc/swefarm/ca.crt \\
    VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \\
    PIP_DISABLE_PIP_VERSION_CHECK=1 UV_LINK_MODE=copy UV_NO_CACHE=1 UV_COMPILE_BYTECODE=1
RUN python3 -m venv /opt/swefarm/uv && /opt/swefarm/uv/bin/pip install -q uv && \\
    ln -s /opt/swefarm/uv/bin/uv /usr/local/bin/uv
{env_lines}COPY repo {TESTBED}
COPY tracked.txt /opt/swefarm/env-tracked.txt
COPY install.sh /opt/swefarm/install.sh
WORKDIR {TESTBED}
RUN bash /opt/swefarm/install.sh
{RECORD_STEPS}"""


# The snapshot plus the build artefacts the install left in the environment's /testbed
# (egg-info, compiled extensions), which git is told to ignore so diffs never carry them.
# No future information: the environment was built at the environment-setup commit, which can
# be later than the base commit. So the task layer (with harness/image_scrub.py) drops the
# artefacts that copy or compile later sources (bytecode, build/, dist/, .eggs/), keeps in the
# kept egg-info and the editable install's metadata only what the base tree says (no later
# file names, no later README or changelog), takes the environment's /testbed tree (the later
# commit) out of the image, and makes its list of tracked files and its install script (written
# from the later tree's configuration) root's alone. What remains of
# the later commit: the project's version string, the names of its top-level packages and
# entry points in the venv, and compiled extensions (they are not rebuilt at the base commit).
_TASK_DOCKERFILE = """FROM {env}
COPY --chown=1000:1000 repo {repo}
COPY image_scrub.py /tmp/swefarm-scrub.py
RUN cd {testbed} && find . \\( -type f -o -type l \\) -printf '%P\\n' | LC_ALL=C sort > /tmp/all && \\
    LC_ALL=C sort /opt/swefarm/env-tracked.txt > /tmp/tracked && \\
    LC_ALL=C comm -23 /tmp/all /tmp/tracked > /tmp/made && \\
    python3 /tmp/swefarm-scrub.py keep /tmp/made > /tmp/kept && \\
    tar -C {testbed} -cf - -T /tmp/kept | tar -C {repo} -xf - --skip-old-files && \\
    sed 's|^|/|' /tmp/kept >> {repo}/.git/info/exclude && \\
    python3 /tmp/swefarm-scrub.py scrub {repo} /tmp/kept "$VIRTUAL_ENV" && \\
    rm -rf /tmp/all /tmp/tracked /tmp/made /tmp/kept /tmp/swefarm-scrub.py {testbed} && mkdir -m 755 {testbed} && \\
    chmod 600 /opt/swefarm/env-tracked.txt /opt/swefarm/install.sh
"""
#: Bumped when the task Dockerfile changes, so task images built the old way are not reused.
#: t2: no future information (the artefacts and files above); t3: the install script root's alone too.
TASK_FORMAT = "t3"


def _utc(iso: str) -> str:
    from datetime import UTC, datetime

    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if iso else ""


def _build(client: docker.DockerClient, context: Path, tag: str, labels: dict, network: bool) -> str:
    """Build `context` as `tag` and return its log; nothing is tagged unless the whole build succeeded."""
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
                text = strip_ansi("".join(log))
                raise BuildError(
                    f"building {tag} failed: {_why(text) or strip_ansi(chunk['error']).strip()[-300:]}",
                    text[-6000:],
                    classify_build_failure(text[-20000:]),
                )
    except docker.errors.APIError as exc:
        raise BuildError(f"building {tag} failed: {exc}", strip_ansi("".join(log))[-6000:]) from None
    return "".join(log)


def _why(log: str) -> str:
    """What went wrong, whole (never cut mid-word): the first failed install step and its telling error line."""
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    start = next((i for i, ln in enumerate(lines) if re.match(r"^== step \S+: ", ln)), None)
    scope = lines[start + 1 :] if start is not None else lines
    found = ""
    for pattern in (
        r"^(error|ERROR)\b.*",
        r"^(E\s+)?[\w.]*(Error|Exception|Interrupt): .+",
        r"^(×|╰─▶|Because|hint:|cause:) .+",
    ):
        found = next((ln for ln in scope[:80] if re.match(pattern, ln)), "")
        if found:
            break
    head = lines[start].removeprefix("== ").rstrip(":") if start is not None else ""
    return "; ".join(x for x in (head, found[:500]) if x)


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
        return BuildResult(tag=tag, cached=True, seconds=0.0, install_step=_labels(client, tag).get("swefarm.step", ""))
    if not force and (failed := recorded_failure(tag)):
        raise BuildError(
            f"{failed.reason} [failed before, at {failed.at}: this recipe (hash {failed.recipe_hash}) is not "
            "built again; pass --force to retry it, or change the recipe]",
            log_tail=failed.log_tail,
            failure_class=failed.failure_class,
        )
    try:
        result = _make_env_image(client, task, env, git_dir, tag, ca_bundle, log)
    except BuildError as exc:
        record_failure(tag, recipe_hash(env), exc.failure_class, str(exc), exc.log_tail)
        raise
    forget_failure(tag)
    return result


def _make_js_env_image(client, task, env, git_dir, tag, ca_bundle, log) -> BuildResult:
    """A JavaScript/TypeScript task's environment: a Node base and the project's dependencies (harness/images_js.py)."""
    spec = node_base_for(env.node)
    try:
        ensure_node_base(client, spec, log=log)
    except SetupError as exc:
        raise BuildError(f"base image {spec.tag} is missing and cannot be built: {exc}") from None
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="swefarm-env-") as tmp:
        ctx = Path(tmp)
        env_commit = task.environment_setup_commit or task.base_commit
        export_tree(git_dir, env_commit, ctx / "repo")
        (ctx / "tracked.txt").write_text(git("ls-tree", "-r", "--name-only", env_commit, cwd=git_dir))
        ca = Path(ca_bundle) if ca_bundle else None
        (ctx / "ca.crt").write_bytes(ca.read_bytes() if ca and ca.exists() else b"")
        (ctx / "install.sh").write_text(js_install_script(env, STEP_MARKER))
        (ctx / "Dockerfile").write_text(js_env_dockerfile(env, spec.tag))
        labels = dict(
            IMAGE_LABELS, **{"swefarm.role": "env", "swefarm.repo": task.repo, "swefarm.recipe": recipe_hash(env)}
        )
        text = _build(client, ctx, tag, labels, network=True)
    step = next(iter(re.findall(rf"{STEP_MARKER} (\S+)", text)), "")
    return BuildResult(tag=tag, cached=False, seconds=round(time.monotonic() - start, 2), install_step=step)


def _make_env_image(client, task, env, git_dir, tag, ca_bundle, log) -> BuildResult:
    if task.language != "python":
        return _make_js_env_image(client, task, env, git_dir, tag, ca_bundle, log)
    spec = base_for(env.python or "3.11")
    try:
        ensure_base(client, spec, log=log)  # built once (about a minute), then cached
    except SetupError as exc:
        raise BuildError(f"base image {spec.tag} is missing and cannot be built: {exc}") from None
    start = time.monotonic()
    base = spec.tag
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
        project = ProjectFiles.read(ctx / "repo")
        inputs = ScriptInputs(
            date=_utc(date),
            python_floor=python_matured(spec.version),
            vcs_version=vcs_version(git_dir, env_commit),
            runner=runner_of(env.log_parser or "pytest"),
            build_requires=build_requirement_names(project),
        )
        (ctx / "install.sh").write_text(install_script(env, inputs))
        if needs_compiler(project):  # the toolchain layer, made once per base (swefarm setup makes it ahead)
            try:
                ensure_toolchain(client, spec, log=log)
                base = toolchain_tag(spec)
            except SetupError as exc:  # the install script still installs a compiler when a step needs one
                log(f"no toolchain layer ({exc}); the install installs a compiler if a step needs one")
        (ctx / "Dockerfile").write_text(_env_dockerfile(env, base))
        labels = dict(
            IMAGE_LABELS, **{"swefarm.role": "env", "swefarm.repo": task.repo, "swefarm.recipe": recipe_hash(env)}
        )
        text = _build(client, ctx, tag, labels, network=True)
        step = next(iter(re.findall(rf"{STEP_MARKER} (\S+)", text)), "")
        simd = next(iter(re.findall(rf"{SIMD_MARKER} ([A-Z0-9_ ]+)", text)), "").strip()
        if step:  # kept on the image too, for builds that find it cached
            label = ctx / "label"
            label.mkdir()
            # numpy's AVX-512 kernels off: the same results on every machine that runs the tests
            no_simd = f'ENV NPY_DISABLE_CPU_FEATURES="{simd}"\n' if simd else ""
            (label / "Dockerfile").write_text(f"FROM {tag}\n{no_simd}")
            _build(client, label, tag, {**labels, "swefarm.step": step}, network=False)
    return BuildResult(tag=tag, cached=False, seconds=round(time.monotonic() - start, 2), install_step=step)


def build_task_image(
    client: docker.DockerClient, task: Task, env_tag: str, git_dir: Path, force: bool = False
) -> BuildResult:
    """The task image: one small layer with the base-commit snapshot on top of the environment image.

    An existing image is reused only when it sits on this environment image (by id: an environment
    rebuilt under the same tag gets new task images) and holds this commit."""
    tag = task_image_tag(task)
    try:  # the image id, not only the tag: an environment rebuilt under its tag makes new task images
        env_id = client.images.get(env_tag).id
    except docker.errors.ImageNotFound:
        raise BuildError(f"environment image {env_tag} is missing; build the task again") from None
    made_from = {"swefarm.env": env_tag, "swefarm.env_id": env_id, "swefarm.commit": task.base_commit,
                 "swefarm.task_format": TASK_FORMAT}  # fmt: skip
    if not force and _labels(client, tag).items() >= made_from.items():
        return BuildResult(tag=tag, cached=True, seconds=0.0, layer_bytes=_layer_bytes(client, tag, env_tag))
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="swefarm-task-") as tmp:
        ctx = Path(tmp)
        snapshot(git_dir, task.base_commit, ctx / "repo")
        shutil.copyfile(Path(__file__).with_name("image_scrub.py"), ctx / "image_scrub.py")
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
