"""What the harness runs inside a task container: the pinned-git helper, and stopping the agent's processes."""

from __future__ import annotations

import base64
import binascii
import json
import marshal
import secrets
import shlex
from pathlib import Path

from swefarm.harness.failures import AgentFailure, GradeFailure
from swefarm.harness.testrun import InfraError
from swefarm.sandbox import Sandbox
from swefarm.sandbox.errors import SandboxError

INGIT_SOURCE = Path(__file__).with_name("ingit.py").read_text()
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


def ingit(sb: Sandbox, op: str, args: dict, timeout: float = 300) -> dict:
    """Run an operation of harness/ingit.py in the container; its JSON answer (raises on failure).

    Small arguments go on the command line (nothing is written first: /tmp may be full); large
    ones through a file, as one argument may not pass 128 KiB."""
    text = binascii.b2a_base64(marshal.dumps(args, 4), newline=False).decode()  # built-ins only, in there
    program = f"cd / && python3 -I -S -c {shlex.quote(INGIT_SOURCE)} {op}"
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
