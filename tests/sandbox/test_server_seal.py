"""The command server is out of the agent's reach: attacks by the code a sandbox runs, each failing.

The agent's commands and code (the session shell, stateless commands, everything they
start) run as `config.uid`; the command server that answers the host runs as root with
only the capabilities it needs. Each test plays one attack from inside the sandbox, as an
agent's command or the code under test would, and checks both that the attack failed and
that the host still reads only the server's own answers.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.docker

FORGED = "FORGED-BY-THE-AGENT"

# JSON answers for the next request ids, written straight to the server's stdout.
FORGE_ANSWERS = r"""
python3 - "$1" <<'EOF'
import json, sys
pid = sys.argv[1]
lines = b"".join(
    json.dumps({"id": i, "ok": True, "exit_code": 0, "output": "FORGED-BY-THE-AGENT\n", "duration": 0.0}).encode()
    + b"\n"
    for i in range(1, 400)
)
for fd in ("1", "2"):
    try:
        with open("/proc/%s/fd/%s" % (pid, fd), "wb", buffering=0) as out:
            out.write(lines)
        print("WROTE", fd)
    except OSError as exc:
        print("refused", fd, type(exc).__name__)
EOF
"""

PTRACE = r"""
python3 - "$1" <<'EOF'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
pid = int(sys.argv[1])
for name, request in (("attach", 16), ("seize", 0x4206)):
    if libc.ptrace(request, pid, None, None) == 0:
        print(name, "ATTACHED")
        if name == "attach":
            os.waitpid(pid, 0)
        libc.ptrace(17, pid, None, None)  # detach, so a broken seal does not also hang the test
    else:
        print(name, "refused", os.strerror(ctypes.get_errno()))
for path in ("mem", "environ", "fd/0", "fd/1"):
    try:
        with open("/proc/%d/%s" % (pid, path), "rb") as fh:
            fh.read(1)
        print(path, "OPENED")
    except OSError as exc:
        print(path, "refused", type(exc).__name__)
EOF
"""


def server_pid(sandbox) -> int:
    pid = int(sandbox.run("echo $PPID").output)  # the session shell's parent is the server
    assert int(sandbox.run_stateless("echo $PPID").output) == pid
    return pid


def assert_genuine(sandbox) -> None:
    """The host still reads the server's own answers, command after command."""
    for i in range(5):
        for run in (sandbox.run, sandbox.run_stateless):
            res = run(f"echo genuine-{i}; (exit {i})")
            assert FORGED not in res.output, res
            assert res.output == f"genuine-{i}\n" and res.exit_code == i, res


def test_commands_cannot_write_answers_to_the_servers_stdout(sandbox):
    pid = server_pid(sandbox)
    for run in (sandbox.run, sandbox.run_stateless):
        res = run(f"set -- {pid}\n{FORGE_ANSWERS}")
        assert "WROTE" not in res.output and res.output.count("refused") == 2, res.output
        assert FORGED not in res.output
        assert_genuine(sandbox)
    # a daemon that keeps trying while later commands run does no better
    sandbox.run(f"set -- {pid}\n(for i in 1 2 3 4 5; do {{ {FORGE_ANSWERS} }} >/dev/null 2>&1; done) &")
    assert_genuine(sandbox)
    assert sandbox.restarts == 0


def test_the_server_cannot_be_traced_or_read(sandbox):
    pid = server_pid(sandbox)
    for run in (sandbox.run, sandbox.run_stateless):
        res = run(f"set -- {pid}\n{PTRACE}")
        assert "ATTACHED" not in res.output and "OPENED" not in res.output, res.output
        assert res.output.count("refused") == 6, res.output
    res = sandbox.run(f"ls /proc/{pid}/fd 2>&1; cat /proc/{pid}/environ 2>&1; readlink /proc/{pid}/cwd || echo no-cwd")
    assert "Permission denied" in res.output and "no-cwd" in res.output, res.output
    assert_genuine(sandbox)


def test_the_server_cannot_be_signalled(sandbox):
    pid = server_pid(sandbox)
    for sig in ("STOP", "TERM", "KILL", "USR1"):
        res = sandbox.run(f"kill -{sig} {pid}")
        assert res.exit_code != 0 and "not permitted" in res.output, (sig, res.output)
        res = sandbox.run_stateless(f"kill -{sig} {pid}")
        assert res.exit_code != 0 and "not permitted" in res.output, (sig, res.output)
    # nor by killing everything the agent may signal: that ends the agent's other processes, never the server
    sandbox.run("sleep 600 &")
    res = sandbox.run("kill -9 -1; sleep 0.2; jobs -l", timeout=10)
    assert res.exit_code == 0 and "Killed" in res.output, res.output
    res = sandbox.run_stateless("kill -9 -1; echo survived", timeout=10)
    assert res.ok and res.output == "survived\n", res
    res = sandbox.run("echo $PPID")  # the stateless kill ended the session shell too: a new one is started
    assert "new shell" in res.output and int(res.output.split()[-1]) == pid, res.output
    assert sandbox.restarts == 0
    assert_genuine(sandbox)


def test_the_runner_the_shell_sources_cannot_be_rewritten(sandbox):
    pid = server_pid(sandbox)
    attack = (
        (
            "for f in /proc/$$/fd/* /proc/PID/fd/*; do "
            'case "$(readlink "$f" 2>/dev/null)" in *memfd*) '
            "printf 'echo TEXT\\n' > \"$f\" 2>/dev/null && echo TRUNCATED $f; "
            "printf 'echo TEXT\\n' >> \"$f\" 2>/dev/null && echo APPENDED $f; "
            'python3 -c \'import sys; fh = open(sys.argv[1], "r+b"); fh.write(b"echo TEXT;"); fh.close()\' "$f" '
            "2>/dev/null && echo OVERWROTE $f;; esac; done; echo tried"
        )
        .replace("PID", str(pid))
        .replace("TEXT", FORGED)
    )
    res = sandbox.run(attack)
    assert res.output.endswith("tried\n") and not any(w in res.output for w in ("TRUNCATED", "APPENDED", "OVERWROTE"))
    assert_genuine(sandbox)


def test_forged_and_garbage_marks_do_not_confuse_the_session(sandbox):
    # every pipe the shell holds gets exit-code marks for the next request ids, and bytes that are no mark at all
    forge = (
        'for f in /proc/$$/fd/*; do case "$(readlink "$f")" in pipe:*) '
        "for i in $(seq 1 600); do printf '%x 0\\n%d 0\\n' $i $i; done > \"$f\" 2>/dev/null; "
        "printf '\\xff\\xfe \\x80\\nnot-a-mark\\n 7 seven\\n' > \"$f\" 2>/dev/null;; esac; done; echo forged"
    )
    res = sandbox.run(forge)
    assert res.output.endswith("forged\n"), res.output
    for i in range(3):
        res = sandbox.run(f"sleep 0.05; echo real-{i}; false")
        assert res.exit_code == 1 and res.output == f"real-{i}\n", res
    # a background job that keeps forging while later commands run
    sandbox.run(f"({forge}; sleep 0.2; {forge}) >/dev/null 2>&1 &")
    for i in range(10):
        res = sandbox.run(f"echo later-{i}; (exit {i % 3})" if i % 2 else f"echo later-{i}; sh -c 'exit {i % 3}'")
        assert res.output.endswith(f"later-{i}\n") and res.exit_code == i % 3, res
    assert sandbox.restarts == 0


def test_pid_1_and_the_servers_files_are_out_of_reach(sandbox):
    res = sandbox.run("kill -9 1; kill -STOP 1; cat /proc/1/environ; ls /proc/1/fd")
    assert res.exit_code != 0 and res.output.count("not permitted") == 2 and "Permission denied" in res.output
    # a symlink the agent plants does not make the server read or write for it what the agent may not
    sandbox.run("ln -s /proc/1/environ leak; ln -s /proc/$PPID/environ leak2; ln -s /proc/1/oom_score_adj adj")
    for name in ("leak", "leak2"):
        with pytest.raises(PermissionError):
            sandbox.read_file(name)
    with pytest.raises(PermissionError):
        sandbox.write_file("adj", b"-1000")
    # files the host writes belong to the agent; the agent's private files are readable by the host
    sandbox.write_file("made.txt", b"x")
    sandbox.run("echo secret > private.txt && chmod 600 private.txt")
    assert sandbox.run("stat -c '%u %g' made.txt").output == f"{sandbox.config.uid} {sandbox.config.uid}\n"
    assert sandbox.read_file("private.txt") == b"secret\n"


def test_reading_a_fifo_or_a_device_does_not_hang_the_server(sandbox):
    sandbox.run("mkfifo pipe && ln -s /dev/zero zeros && ln -s /dev/urandom noise")
    for name in ("pipe", "zeros", "noise"):
        with pytest.raises(OSError, match="not a regular file"):
            sandbox.read_file(name)
    assert_genuine(sandbox)


def test_the_server_never_opens_its_own_process_files_for_the_agent(sandbox):
    # /proc/self names the server while it reads or writes a file: its stdout, its memory, its environment
    forged = "".join(
        f'{{"id": {i}, "ok": true, "exit_code": 0, "output": "{FORGED}", "duration": 0}}\n' for i in range(1, 300)
    )
    sandbox.run("ln -s /proc/self/fd/1 out; ln -s /proc/self/mem mem; ln -s /proc/self dir; ln -s /sys/fs sysfs")
    for path in ("/proc/self/fd/1", "out", "dir/fd/1", "/proc/self/mem", "mem", "dir/oom_score_adj", "/dev/null"):
        with pytest.raises(OSError):
            sandbox.write_file(path, forged)
    for path in ("/proc/self/environ", "/proc/self/mem", "dir/environ", "/proc/self/fd/0", "/proc/1/cmdline"):
        with pytest.raises(OSError):
            sandbox.read_file(path)
    assert_genuine(sandbox)
    assert sandbox.restarts == 0


def test_a_server_that_dies_anyway_is_started_again(sandbox):
    # only the kernel's OOM killer can end the server now; the engine plays it here
    def kill_server():
        sandbox.container.exec_run(["bash", "-c", f"kill -9 {sandbox._channel.pid}"], user="0")

    sandbox.write_file("kept.txt", "still here\n")
    kill_server()
    res = sandbox.run("echo never-ran")
    assert res.exit_code == 137 and "command server died" in res.output and "never-ran" not in res.output
    assert sandbox.restarts == 1
    kill_server()
    assert sandbox.read_file("kept.txt") == b"still here\n"  # a file request is simply sent again
    assert sandbox.restarts == 2
    assert_genuine(sandbox)
