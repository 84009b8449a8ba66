"""The diff an attack hands to `swefarm grade`: its steps played in a fresh sandbox, the change read with plain git.

Plain git, as an agent would make its own diff (not the grader's pinned extraction):
ignored files the steps created are added too (bytecode, metadata), and the attack's
`rewrite_diff` then makes the headers lie where it wants to.
"""

from __future__ import annotations

import docker
from swefarm.harness.hostile import Plan, shell
from swefarm.harness.images import sandbox_config
from swefarm.sandbox.provider import SandboxProvider, as_provider

_IGNORED = "git ls-files -z --others --ignored --exclude-standard | sort -z"


def attack_diff(client: docker.DockerClient | SandboxProvider, image: str, plan: Plan) -> bytes:
    """The binary git diff the plan's steps leave in a fresh workspace of `image` (rewritten as the plan says)."""
    with as_provider(client).start(image, sandbox_config()) as sb:
        sb.run_stateless(f"{_IGNORED} > /tmp/ignored-before", timeout=120)
        for step in plan.steps:
            sb.run_stateless(shell(step), timeout=300)
        add = (
            f"git add -A . >/dev/null 2>&1; {_IGNORED} > /tmp/ignored-after; "
            "comm -z -13 /tmp/ignored-before /tmp/ignored-after | xargs -0 -r git add -f -- >/dev/null 2>&1; "
            "git diff --cached --binary HEAD > /tmp/attack.diff"
        )
        res = sb.run_stateless(add, timeout=300)
        if res.exit_code != 0:
            raise RuntimeError(f"making the attack's diff failed: {res.output[-500:]}")
        data = sb.read_file("/tmp/attack.diff")
    if plan.rewrite_diff is not None:
        data = plan.rewrite_diff(data.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
    return data
