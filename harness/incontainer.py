"""What the harness runs inside a task container: the pinned-git helper, and stopping the agent's processes."""

from __future__ import annotations

import base64
import binascii
import json
import marshal
import secrets
import shlex
import threading
from pathlib import Path

from swefarm.harness.failures import AgentFailure, GradeFailure
from swefarm.harness.testrun import InfraError
from swefarm.sandbox import Sandbox
from swefarm.sandbox.errors import SandboxError

INGIT_SOURCE = Path(__file__).with_name("ingit.py").read_text()
#: The drop policy the helper loads (harness/protect.py), as source.
POLICY_SOURCE = Path(__file__).with_name("protect.py").read_text()
#: Runs the helper from its code object (marshal, base64: the first argument) instead of its source.
LOADER = "import binascii,marshal,sys;exec(marshal.loads(binascii.a2b_base64(sys.argv.pop(1))))"
#: Compiles each NAME=BASE64-SOURCE argument with the image's own Python; one marshalled code object a line.
COMPILER = (
    "import binascii,marshal,sys\n"
    "for arg in sys.argv[1:]:\n"
    "    name, _, text = arg.partition('=')\n"
    "    code = compile(binascii.a2b_base64(text).decode(), name, 'exec', optimize=2)\n"
    "    sys.stdout.write(binascii.b2a_base64(marshal.dumps(code), newline=False).decode() + '\\n')\n"
)
#: Codes the helper reports for a change it cannot handle; any other code is the harness's own failure.
AGENT_CODES = {
    "patch_too_large": GradeFailure.PATCH_TOO_LARGE,
    "workspace_broken": GradeFailure.WORKSPACE_BROKEN,
    "os_error": GradeFailure.WORKSPACE_BROKEN,
    "checkout_failed": GradeFailure.GRADING_ERROR,
}
MAX_ANSWER = 96 * 1024 * 1024
INLINE_ARGS = 64 * 1024
#: The largest change graded (bytes of its git diff); a larger one is graded not resolved (`patch_too_large`).
MAX_PATCH_BYTES = 16 * 1024 * 1024


#: The helper and the policy compiled by each image's Python (marshal's format is the interpreter's), by
#: image id: compiling their source took a third of the helper's own time at every grading. Filled only
#: from a sandbox no agent's code ever ran in (grading's, before the change is applied: `compile_here`),
#: so nothing an agent wrote can reach another grading through it.
_compiled: dict[str, tuple[str, bytes] | None] = {}
_compiled_lock = threading.Lock()


def image_id(sb: Sandbox) -> str | None:
    """The id of the image a Docker sandbox runs (None for other backends)."""
    container = getattr(sb, "container", None)
    return container is not None and container.attrs.get("Image") or None


def ingit(sb: Sandbox, op: str, args: dict, timeout: float = 300, *, compile_here: bool = False) -> dict:
    """Run an operation of harness/ingit.py in the container; its JSON answer (raises on failure).

    Small arguments go on the command line (nothing is written first: /tmp may be full); large
    ones through a file, as one argument may not pass 128 KiB. The helper runs from the code object
    the image's Python compiled once (per image, in this process) where there is one; `compile_here`
    says the sandbox is fresh (no agent's code has run in it), so it may compile that code object."""
    compiled = _compiled_code(sb, compile_here)
    if compiled is not None:
        program = f"cd / && python3 -I -S -c {shlex.quote(LOADER)} {compiled[0]} {op}"
        args = {**args, "policy": compiled[1]} if "policy" in args else args
    else:
        program = f"cd / && python3 -I -S -c {shlex.quote(INGIT_SOURCE)} {op}"
    text = binascii.b2a_base64(marshal.dumps(args, 4), newline=False).decode()  # built-ins only, in there
    if len(text) < INLINE_ARGS:
        cmd = f"{program} {text}"
    else:
        request = f"/tmp/swefarm-req-{secrets.token_hex(8)}"
        sb.write_file(request, text)
        cmd = f"{program} {request}; rc=$?; rm -f {request}; exit $rc"
    res = sb.run_stateless(cmd, timeout=timeout, max_output=MAX_ANSWER)
    if res.timed_out:
        raise AgentFailure(GradeFailure.WORKSPACE_BROKEN, f"git took longer than {timeout:.0f}s ({op})")
    try:
        answer = json.loads(res.output)
    except ValueError:
        raise InfraError(f"the grading helper ({op}) failed: {res.output[-800:]}") from None
    if not answer.get("ok"):
        code, detail = answer.get("code", "?"), answer.get("detail", "")
        if code in AGENT_CODES:
            raise AgentFailure(AGENT_CODES[code], detail)
        raise InfraError(f"the grading helper ({op}) failed: {code}: {detail[-800:]}")
    return answer


def _compiled_code(sb: Sandbox, compile_here: bool) -> tuple[str, bytes] | None:
    """The helper's code object (base64) and the policy's (bytes) for the sandbox's image, compiled in it
    when `compile_here` and not yet done; None where there is none (then the helper runs from source)."""
    image = image_id(sb)
    if image is None:
        return None
    with _compiled_lock:
        if image in _compiled or not compile_here:
            return _compiled.get(image)
    sources = {"ingit.py": INGIT_SOURCE, "protect.py": POLICY_SOURCE}
    encoded = " ".join(f"{name}={base64.b64encode(text.encode()).decode()}" for name, text in sources.items())
    try:
        res = sb.run_stateless(f"cd / && python3 -I -S -c {shlex.quote(COMPILER)} {encoded}", timeout=60)
    except SandboxError:
        return None
    lines = res.output.split()
    code = (lines[0], base64.b64decode(lines[1])) if res.exit_code == 0 and len(lines) == 2 else None
    # (None: an image whose Python cannot do it runs the helper from source, and is not asked again)
    with _compiled_lock:
        _compiled.setdefault(image, code)
    return code


def stop_processes(sb: Sandbox) -> None:
    """Stop every process of the agent's user (what it left running in the background, a fork bomb included):
    the sandbox's command server kills them from outside the agent's reach, with the process limit full too."""
    sb.kill_agent_processes()


def extract_change(sb: Sandbox, max_bytes: int = MAX_PATCH_BYTES) -> bytes:
    """The agent's change in the sandbox's workspace, as a binary git diff against the base commit.

    Every process of the agent is stopped first. Git runs with a pinned configuration and a git
    directory of its own (harness/ingit.py): nothing the agent did to `.git`, its git configuration,
    HOME or `.gitattributes` changes what comes out. Untracked files count unless ignored; bytecode
    never does. Raises AgentFailure (`patch_too_large`, `workspace_broken`) when the workspace gives none."""
    stop_processes(sb)
    answer = ingit(sb, "extract", {"work": sb.config.workdir, "max_bytes": max_bytes})
    return base64.b64decode(answer["diff"])


#: The kernel's count of OOM kills and refused forks in the container's own cgroup (v2, then v1 paths).
_CGROUP_EVENTS = {
    "oom_kill": ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control"),
    "max": ("/sys/fs/cgroup/pids.events", "/sys/fs/cgroup/pids/pids.events"),
}


def limits_hit(sb: Sandbox) -> set[str]:
    """Which of the sandbox's limits the kernel enforced: "memory" (a process was OOM-killed), "processes".

    Read by the command server itself where it can (no process is started, so it works with the process
    limit exhausted); the files are the kernel's, which nothing in the sandbox can write."""
    hit = set()
    for key, paths in _CGROUP_EVENTS.items():
        text = _kernel_file(sb, paths)
        counts = dict(line.split()[:2] for line in text.splitlines() if len(line.split()) >= 2)
        if int(counts.get(key, "0") or 0) > 0:
            hit.add("memory" if key == "oom_kill" else "processes")
    return hit


def _kernel_file(sb: Sandbox, paths: tuple[str, ...]) -> str:
    """The first of `paths` that exists, read by the command server, else by a shell (a backend that reads
    only the workspace's kind of files); "" when neither can."""
    for path in paths:
        try:
            return sb.read_file(path).decode("ascii", "replace")
        except FileNotFoundError:
            continue
        except (OSError, SandboxError):
            break
    res = sb.run_stateless(" || ".join(f"cat {p} 2>/dev/null" for p in paths) + " || true", timeout=30)
    return res.output if res.exit_code == 0 else ""
