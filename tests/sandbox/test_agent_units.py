"""The command server's pieces without Docker: text it accepts, marks it trusts, files it opens, and its
protocol run locally (unsealed: as the user who starts it, which it says in its greeting)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from swefarm.sandbox.channel import AGENT_SOURCE

SERVER: dict = {"__name__": "swefarm_server"}
exec(compile(AGENT_SOURCE, "agent.py", "exec"), SERVER)  # as the container runs it: one source, no package


@pytest.mark.parametrize(
    "text, raw",
    [
        ("plain ünï", "plain ünï".encode()),
        ("lone \ud800 high", b"lone \xef\xbf\xbd high"),
        ("escaped \udcff byte", b"escaped \xff byte"),
        ("\udfff\udc80", b"\xef\xbf\xbd\x80"),
    ],
)
def test_any_text_becomes_bytes(text, raw):
    assert SERVER["to_bytes"](text) == raw


def test_a_command_ends_at_a_nul_and_says_so():
    assert SERVER["command_text"]("echo a") == ("echo a", "")
    cmd, note = SERVER["command_text"]("echo a\0rm -rf /")
    assert cmd == "echo a" and "NUL" in note


def test_only_the_commands_own_mark_counts():
    find = SERVER["find_mark"]
    nonce = os.urandom(8).hex().encode()
    assert find(b"1 0\n2 0\n" + nonce + b" 3\n", nonce) == 3
    assert find(b"\xff\xfe junk\n" + nonce + b" x\n" + nonce + b" -1\n" + nonce + b" 1234567\n", nonce) is None
    assert find(nonce + b" 0", nonce) == 0


def test_files_that_are_not_regular_or_belong_to_the_kernel_are_refused(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path, match in ((str(fifo), "not a regular file"), ("/dev/zero", "not a regular file")):
        with pytest.raises(OSError, match=match):
            SERVER["read_regular"](path, 1024)
    for path in ("/proc/self/environ", "/proc/self/status", "/sys/kernel/mm/transparent_hugepage/enabled"):
        if os.path.exists(path):
            with pytest.raises(PermissionError, match="kernel file"):
                SERVER["read_regular"](path, 1024)
    with pytest.raises(OSError, match="NUL"):
        SERVER["read_regular"]("a\0b", 10)
    big = tmp_path / "big"
    big.write_bytes(b"x" * 100)
    with pytest.raises(OSError, match="larger than"):
        SERVER["read_regular"](str(big), 99)
    assert SERVER["read_regular"](str(big), 100) == b"x" * 100


def test_the_protocol_unsealed(tmp_path):
    """Started by a user who gives it no uid, the server runs everything as itself, and says so."""
    proc = subprocess.Popen(
        [sys.executable, "-u", "-c", AGENT_SOURCE, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        hello = json.loads(proc.stdout.readline())
        assert hello["ready"] and hello["sealed"] is False and hello["uid"] == os.getuid()
        requests = [
            {
                "id": 1,
                "op": "exec",
                "cmd": "cd sub 2>/dev/null || mkdir sub; echo $((6*7))",
                "timeout": 10,
                "max_output": 100,
            },
            {"id": 2, "op": "run", "cmd": "echo \ud800 | wc -c", "timeout": 10, "max_output": 100},
            {"id": 3, "op": "kill_agent"},
            {"id": 4, "op": "read", "path": "/proc/self/environ"},
        ]
        for req in requests:
            proc.stdin.write(json.dumps(req).encode() + b"\n")
        proc.stdin.flush()
        answers = [json.loads(proc.stdout.readline()) for _ in requests]
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)
    assert answers[0]["ok"] and answers[0]["output"] == "42\n" and answers[0]["exit_code"] == 0
    assert answers[1]["ok"] and answers[1]["output"] == "4\n"  # U+FFFD (3 bytes) and the newline
    assert answers[2]["ok"] and answers[2]["left"] == 0  # unsealed: the server's descendants (the shell) are killed
    assert not answers[3]["ok"] and answers[3]["error"] == "PermissionError" and answers[3]["errno"] == 13
