"""`Sandbox.seal`: the command server hands files to root, out of reach of the agent's uid (the real engine)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.docker

SETUP = (
    "mkdir -p t/sub d && echo a > t/a.py && echo b > t/sub/b.py && printf '#!/bin/sh\\n' > t/run.sh "
    "&& chmod +x t/run.sh && echo c > c.cfg && echo e > d/e.py && ln -s t l && ln -s /etc/passwd t/out "
    "&& mkdir d/__pycache__ && echo p > d/__pycache__/e.pyc"
)
ENTRIES = [
    ("t", "tree"),
    ("c.cfg", "file"),
    ("l/a.py", "file"),
    ("../etc/hostname", "file"),
    ("missing.cfg", "file"),
    ("", "sticky"),
    ("d", "sticky"),
    ("conftest.py", "placeholder"),
    ("c.cfg", "placeholder"),
    ("d/__pycache__", "placeholder"),  # there already: sealed as it is
]


def agent(sb, cmd: str) -> tuple[int, str]:
    res = sb.run_stateless(f"cd /workspace && {cmd}", timeout=30)
    return res.exit_code, res.output


def test_sealed_files_are_roots_and_read_only_to_the_agent(sandbox):
    assert agent(sandbox, SETUP)[0] == 0
    answer = sandbox.seal("/workspace", ENTRIES)
    assert sorted(answer["skipped"]) == ["../etc/hostname", "l/a.py", "missing.cfg"]
    names = "t t/a.py t/sub t/sub/b.py t/run.sh c.cfg . d d/e.py conftest.py d/__pycache__ d/__pycache__/e.pyc"
    listing = agent(sandbox, f"stat -c '%n %u %a' {names}")[1]
    assert listing.splitlines() == [
        "t 0 555", "t/a.py 0 444", "t/sub 0 555", "t/sub/b.py 0 444", "t/run.sh 0 555", "c.cfg 0 444",
        ". 0 1777", "d 0 1777", "d/e.py 1000 644", "conftest.py 0 555", "d/__pycache__ 0 555",
        "d/__pycache__/e.pyc 0 444",
    ]  # fmt: skip
    assert agent(sandbox, "stat -c '%u' -- t/out; readlink t/out")[1].split() == ["0", "/etc/passwd"]
    for attempt in (
        "echo x > t/a.py",  # rewrite a test file
        "echo x >> c.cfg",
        "chmod u+w t/a.py",  # not its owner any more
        "rm -f t/a.py",
        "touch t/new.py",  # nothing new in a test directory
        "mkdir t/__pycache__",
        "mv t t_old",  # the sticky repository root keeps root's entries where they are
        "mv c.cfg c2.cfg",
        "rmdir conftest.py",
        "echo x > conftest.py/x",
        "echo x > conftest.py",
        "echo x > d/__pycache__/e.pyc",
    ):
        code, output = agent(sandbox, attempt)
        assert code != 0, (attempt, output)
    assert agent(sandbox, "cat t/a.py c.cfg")[1] == "a\nc\n"
    # the agent's own files and new files beside the sealed ones stay the agent's
    assert agent(sandbox, "echo f >> d/e.py && echo n > new.txt && echo n > d/new.py && rm new.txt")[0] == 0
