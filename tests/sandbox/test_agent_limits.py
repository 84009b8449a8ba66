"""What the agent can do to its own sandbox never stops the host: memory, leftover processes, any text.

Each failure the agent causes either ends as a command result it can read or raises an
`AgentCausedError`, never an infrastructure error; and the host can always stop every
process the agent started before it reads the agent's work.
"""

from __future__ import annotations

import time

import pytest
from swefarm.sandbox.docker_backend import DockerSandbox
from swefarm.sandbox.errors import AgentCausedError, ProcessLimitError, WorkspaceFullError
from swefarm.sandbox.models import SandboxConfig
from test_hostile import PID_HOG, pids_in

pytestmark = pytest.mark.docker

# the agent's processes, counted from a command the agent's processes are not part of
COUNT_AGENT = (
    "n=0; for s in /proc/[0-9]*/status; do grep -q '^Uid:\t1000\t' $s 2>/dev/null && n=$((n+1)); done; echo $n"
)

FILL = "dd if=/dev/zero of={} bs=1M 2>&1; true"
ALLOC = 'python3 -c \'x = bytearray({mb} * 1024 * 1024); x[::4096] = b"y" * len(x[::4096]); print("got", {mb})\''


@pytest.fixture
def small_sandbox(docker_client, base_image):
    config = SandboxConfig(memory="256m", tmp_size="64m", workspace_size="64m", pids_limit=128)
    sb = DockerSandbox(docker_client, base_image, config)
    try:
        yield sb
    finally:
        sb.close()


# -- memory ----------------------------------------------------------------------------------------
def test_full_tmpfs_does_not_starve_the_processes(small_sandbox):
    sb = small_sandbox
    for target in ("/tmp/fill", f"{sb.config.workdir}/fill", "/dev/shm/fill"):
        assert "No space left on device" in sb.run(FILL.format(target), timeout=60).output
    # 192 MB of files in memory, and the processes still get the 256 MB they were promised, nearly all of it
    res = sb.run(ALLOC.format(mb=200), timeout=60)
    assert res.ok and res.output == "got 200\n", res
    # past it, the kernel kills the agent's process, never the command server
    res = sb.run(ALLOC.format(mb=400), timeout=60)
    assert res.exit_code == 137 and "got 400\n" not in res.output, res
    assert sb.run("echo alive").output == "alive\n"
    assert sb.run_stateless("echo stateless-alive").output == "stateless-alive\n"
    assert sb.restarts == 0


def test_many_hogs_die_before_the_server(small_sandbox):
    sb = small_sandbox
    sb.run(FILL.format("/tmp/fill"), timeout=60)
    hog = ALLOC.format(mb=40).replace("print(", "import time; time.sleep(3); print(")
    res = sb.run(f"for i in $(seq 12); do {hog} & done; wait", timeout=60)
    assert "Killed" in res.output or res.output.count("got") < 12, res.output
    assert sb.run("echo alive").output == "alive\n"
    assert sb.restarts == 0


# -- leftover processes ------------------------------------------------------------------------------
UNDUMPABLE = "python3 -c 'import ctypes, time; ctypes.CDLL(None).prctl(4, 0, 0, 0, 0); time.sleep(600)'"


@pytest.mark.slow
def test_kill_agent_processes_ends_everything_the_agent_started(small_sandbox):
    sb = small_sandbox
    sb.run("git init -q . && echo a > a.txt && git add a.txt && git -c user.name=t -c user.email=t@t commit -qm i")
    sb.run(f"setsid nohup {UNDUMPABLE} >/dev/null 2>&1 &")  # out of /proc/<pid>'s ownership: root's
    sb.run("setsid nohup sh -c 'while :; do sleep 0.1; done' >/dev/null 2>&1 &")
    sb.run_stateless("setsid sh -c 'sleep 600' >/dev/null 2>&1 &")
    sb.run("setsid bash -c ':(){ :|:& };:' >/dev/null 2>&1 &", timeout=5)  # a fork bomb filling the pids limit
    time.sleep(1)
    sb.write_file("b.txt", "changed\n")
    killed = sb.kill_agent_processes()
    assert killed >= 5
    assert sb.run_stateless(COUNT_AGENT, user="root").output == "0\n"
    # the final extraction runs: nothing of the agent is left to hold the process limit
    assert "+changed" in sb.diff()
    res = sb.run("echo fresh shell; id -u")
    assert res.output == "fresh shell\n1000\n", res
    assert sb.restarts == 0


def test_a_full_process_table_is_the_agents_error(docker_client, small_sandbox):
    sb = small_sandbox
    sb.run(PID_HOG.format(seconds=60))  # a daemon holding every pid
    deadline = time.monotonic() + 20  # a loaded machine fills the table slowly
    while pids_in(docker_client, sb) < sb.config.pids_limit and time.monotonic() < deadline:
        time.sleep(0.2)
    with pytest.raises(ProcessLimitError, match="process limit") as caught:
        sb.run_stateless("echo again", timeout=10)
    assert isinstance(caught.value, AgentCausedError)
    assert sb.kill_agent_processes() > 100
    assert sb.run("echo recovered").output == "recovered\n"


# -- any text ----------------------------------------------------------------------------------------
def test_lone_surrogates_and_nul_never_raise(sandbox):
    for run in (sandbox.run, sandbox.run_stateless):
        res = run("echo 'a\ud800b' \udcff | od -An -tx1")
        assert res.ok and res.output.split() == ["61", "ef", "bf", "bd", "62", "20", "ff", "0a"], res
        res = run("echo before\0echo after")
        assert res.ok and res.output.startswith("before\n") and "after" not in res.output, res
        assert "NUL" in res.output
    res = sandbox.run_stateless("echo $V", env={"V": "x\ud800"}, cwd="/tmp/\ud800")
    assert res.exit_code == 1 and "cannot start the command" in res.output, res
    res = sandbox.run_stateless('printf %s "$V" | od -An -tx1', env={"V": "x\ud800"})
    assert res.output.split() == ["78", "ef", "bf", "bd"], res
    sandbox.write_file("s.txt", "q\ud800\udc80")
    assert sandbox.read_file("s.txt") == b"q\xef\xbf\xbd\x80"
    with pytest.raises(OSError):
        sandbox.read_file("a\0b")
    sandbox.write_file("\ud800/x", "x")  # a lone surrogate in a path is U+FFFD there too
    assert sandbox.read_file("\ufffd/x") == b"x"


def test_huge_commands_reach_bash_whole(sandbox):
    payload = "x" * 1_000_000
    for run in (sandbox.run, sandbox.run_stateless):
        res = run(f"v='{payload}'; echo ${{#v}}", timeout=60)
        assert res.ok and res.output == "1000000\n", res.output[:200]


def test_a_stopped_shell_cannot_hang_the_server_with_a_big_command(sandbox):
    sandbox.run("(sleep 0.3; kill -STOP $$) >/dev/null 2>&1 &")
    time.sleep(1)  # the shell is stopped: it reads nothing more of its input
    res = sandbox.run("v='" + "y" * 300_000 + "'; echo done", timeout=2)
    assert res.timed_out and res.exit_code == 124
    assert sandbox.run("echo after").output.endswith("after\n")


def test_reads_are_capped(sandbox):
    sandbox.write_file("ten.bin", b"0123456789")
    assert sandbox.read_file("ten.bin", max_bytes=10) == b"0123456789"
    with pytest.raises(OSError, match="larger than"):
        sandbox.read_file("ten.bin", max_bytes=9)


def test_a_workspace_the_agent_locked_is_a_command_result(sandbox):
    sandbox.run(f"chmod 000 {sandbox.config.workdir}")
    res = sandbox.run_stateless("echo hi")
    assert res.exit_code == 1 and "Permission denied" in res.output
    res = sandbox.run_stateless("echo hi", cwd="/tmp")
    assert res.ok and res.output == "hi\n"
    with pytest.raises(PermissionError):
        sandbox.read_file("anything")


def test_a_full_tmpfs_is_the_agents_error(docker_client, base_image):
    config = SandboxConfig(tmp_size="16m", workspace_size="16m")
    with DockerSandbox(docker_client, base_image, config) as sb:
        sb.run(FILL.format(f"{sb.config.workdir}/fill"), timeout=30)
        with pytest.raises(WorkspaceFullError, match="No space left on device") as caught:
            sb.write_file("more.bin", b"x" * 1024 * 1024)
        assert isinstance(caught.value, AgentCausedError) and isinstance(caught.value, OSError)
