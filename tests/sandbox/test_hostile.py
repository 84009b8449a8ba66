"""Hostile commands: each ends with a clear result, the host untouched and no container left behind.

Network traffic from these tests goes only to 127.0.0.1 on the host, or stays inside
the container (which has no network at all).
"""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import subprocess
import threading
import time

import docker.errors
import pytest
from swefarm.sandbox.docker_backend import DockerSandbox
from swefarm.sandbox.errors import SandboxError
from swefarm.sandbox.models import SandboxConfig

pytestmark = pytest.mark.docker


def timed(fn, *args, **kwargs):
    start = time.monotonic()
    result = fn(*args, **kwargs)
    return result, time.monotonic() - start


def pids_in(client, sandbox) -> int:
    return client.api.stats(sandbox.container.id, stream=False)["pids_stats"].get("current", 0)


def host_can_fork() -> bool:
    start = time.monotonic()
    done = subprocess.run(["true"], timeout=10)
    return done.returncode == 0 and time.monotonic() - start < 5


def assert_removed(client, sandbox) -> None:
    cid = sandbox.container.id
    start = time.monotonic()
    sandbox.close()
    assert time.monotonic() - start < 15, "closing took too long"
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(cid)


# -- processes ---------------------------------------------------------------------------------------
@pytest.mark.slow
def test_fork_bomb_in_the_session_is_contained_and_ended(docker_client, sandbox):
    res, elapsed = timed(sandbox.run, ":(){ :|:& };:", timeout=2)
    assert elapsed < 2 + 5, "the fork bomb did not return"
    assert res.timed_out or res.exit_code is not None
    time.sleep(0.5)
    assert pids_in(docker_client, sandbox) <= sandbox.config.pids_limit
    assert host_can_fork()
    # the next command that times out ends the bomb with it: it lives in the session's process session
    res, elapsed = timed(sandbox.run, "sleep 30", timeout=2)
    assert elapsed < 2 + 5 and (res.timed_out or not res.ok), res
    res = sandbox.run("echo alive; ls / > /dev/null && echo can-fork", timeout=10)
    assert res.ok and "can-fork" in res.output, res
    assert pids_in(docker_client, sandbox) < 20
    assert_removed(docker_client, sandbox)
    assert host_can_fork()


@pytest.mark.slow
def test_fork_bomb_in_the_foreground_times_out(docker_client, sandbox):
    res, elapsed = timed(sandbox.run, ":(){ :|:& };:; sleep 30", timeout=2)
    assert res.timed_out and res.exit_code == 124 and elapsed < 2 + 5, res
    assert sandbox.run("ls / > /dev/null && echo can-fork", timeout=10).output.endswith("can-fork\n")
    assert_removed(docker_client, sandbox)


@pytest.mark.slow
def test_fork_bomb_outside_the_session_still_lets_the_sandbox_close(docker_client, sandbox):
    # run_stateless and setsid put the bomb in a session no timeout owns: only closing ends it
    res, elapsed = timed(sandbox.run_stateless, ":(){ :|:& };:", timeout=2)
    assert elapsed < 2 + 5
    try:
        res, elapsed = timed(sandbox.run, "setsid bash -c ':(){ :|:& };:' &", timeout=2)
        assert elapsed < 2 + 10
        res, elapsed = timed(sandbox.run, "echo builtin-still-answers", timeout=2)
        assert elapsed < 2 + 10
        assert "builtin-still-answers" in res.output or "no new shell" in res.output, res
    except SandboxError as exc:  # the shell could not be restarted: said so, not hung
        assert "process limit" in str(exc)
    time.sleep(0.5)
    assert pids_in(docker_client, sandbox) <= sandbox.config.pids_limit
    assert host_can_fork()
    assert_removed(docker_client, sandbox)
    assert host_can_fork()


PID_HOG = """setsid python3 -c '
import os, time
end = time.time() + {seconds}
while time.time() < end:
    try:
        pid = os.fork()
    except BlockingIOError:
        time.sleep(0.001)
        continue
    if pid == 0:
        time.sleep(max(0.0, end - time.time()))
        os._exit(0)
' > /dev/null 2>&1 &
"""


@pytest.mark.slow
def test_shell_restart_when_no_process_can_start_says_so_and_recovers(docker_client, sandbox):
    # a daemon outside the session holds every pid for 8 s; the shell then exits and cannot be replaced
    sandbox.run(PID_HOG.format(seconds=12))
    deadline = time.monotonic() + 8  # a loaded machine fills the table slowly
    while pids_in(docker_client, sandbox) < sandbox.config.pids_limit - 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert pids_in(docker_client, sandbox) >= sandbox.config.pids_limit - 2
    # the exiting shell frees a pid, and the hog (polling each millisecond) or the new shell takes it:
    # on a loaded machine the shell can win that race, so it gets up to five tries (CI once saw one)
    for _ in range(5):
        res, elapsed = timed(sandbox.run, "exit 5", timeout=10)
        assert res.exit_code == 5 and elapsed < 10, res
        if "a new shell was started" not in res.output:
            break
    assert "no new shell could be started" in res.output and "process limit" in res.output, res.output
    # once the pids are free again the next command gets a fresh shell
    res, elapsed = timed(sandbox.run, "echo back; ls / > /dev/null && echo can-fork", timeout=10)
    assert res.ok and res.output.endswith("back\ncan-fork\n"), res
    assert "new shell" in res.output
    assert elapsed < 10
    assert sandbox.run("echo settled").output == "settled\n"


@pytest.mark.slow
def test_endless_output_is_capped_and_returns(sandbox):
    for run in (sandbox.run, sandbox.run_stateless):
        res, elapsed = timed(run, "yes", timeout=1)
        assert res.timed_out and res.timeout_kind == "hard" and res.exit_code == 124
        assert res.truncated and res.output_bytes > 1_000_000
        assert len(res.output) <= sandbox.config.max_output + 500
        assert res.output.startswith("y\ny\n")
        assert elapsed < 1 + 5
    assert sandbox.run("echo after").output == "after\n"


def test_endless_output_on_one_line_is_capped(sandbox):
    res, elapsed = timed(sandbox.run, "tr -d '\\n' < /dev/zero", timeout=1)
    assert res.timed_out and res.truncated and len(res.output) <= sandbox.config.max_output + 500
    assert elapsed < 6


@pytest.mark.slow
def test_sleeping_past_the_timeout(sandbox):
    res, elapsed = timed(sandbox.run, "sleep 600", timeout=1)
    assert res.timed_out and res.exit_code == 124 and 0.9 < elapsed < 5
    res, elapsed = timed(sandbox.run_stateless, "sleep 600", timeout=1)
    assert res.timed_out and res.exit_code == 124 and 0.9 < elapsed < 5
    # ignoring the polite signals does not help: the kill is SIGKILL
    res, elapsed = timed(sandbox.run, "trap '' TERM INT HUP; sh -c 'trap \"\" TERM INT HUP; sleep 600'", timeout=1)
    assert res.timed_out and elapsed < 5
    assert sandbox.run("echo ok").output == "ok\n"


def test_daemons_left_running_do_not_block_later_commands(docker_client, sandbox):
    res = sandbox.run(
        "setsid nohup sh -c 'while :; do date +%s%N >> /tmp/daemon.log; sleep 0.1; done' >/dev/null 2>&1 &\n"
        "nohup sleep 1000 &\n"
        "echo started"
    )
    assert res.ok and "started" in res.output
    for i in range(5):
        res, elapsed = timed(sandbox.run, f"echo cmd-{i}", timeout=5)
        assert res.ok and res.output.endswith(f"cmd-{i}\n") and elapsed < 1
    time.sleep(0.5)
    lines = int(sandbox.run("wc -l < /tmp/daemon.log").output)
    assert lines >= 3  # the daemon kept running between commands
    # a daemon that floods the session's output does not hang later commands either
    sandbox.run("setsid yes &")
    for _ in range(3):
        res, elapsed = timed(sandbox.run, "echo flooded", timeout=5)
        assert res.ok and elapsed < 3, res.model_dump(exclude={"output"})
        assert len(res.output) <= sandbox.config.max_output + 500
    assert_removed(docker_client, sandbox)


def test_killing_the_shell(sandbox):
    sandbox.run("cd /tmp && export KEEP=1")
    res, elapsed = timed(sandbox.run, "kill -9 $$", timeout=5)
    assert elapsed < 3
    assert res.exit_code == 137
    assert "shell exited" in res.output and "new shell" in res.output
    res = sandbox.run("echo works")
    assert res.ok and res.output == "works\n"
    res = sandbox.run("kill -9 $$", timeout=5)
    assert "new shell" in res.output
    assert sandbox.run_stateless("echo stateless-works").output == "stateless-works\n"


def test_killing_everything(sandbox):
    # kill -1 reaches every process of the agent's uid but the caller: never the command server
    sandbox.run("sleep 600 & sleep 600 &")
    res, elapsed = timed(sandbox.run, "kill -9 -1; sleep 0.2; echo shell-survived", timeout=5)
    assert elapsed < 10 and res.ok and res.output.count("Killed") == 2, res
    assert res.output.endswith("shell-survived\n") and "new shell" not in res.output
    res = sandbox.run_stateless("kill -9 -1; echo stateless-survived", timeout=5)
    assert res.ok and res.output == "stateless-survived\n"
    res = sandbox.run("echo works; id -u")  # the stateless kill took the session shell with it
    assert res.ok and res.output.endswith("works\n1000\n") and "new shell" in res.output
    assert sandbox.restarts == 0
    assert sandbox.run_stateless("echo stateless-works").output == "stateless-works\n"


def test_killing_the_command_server_by_name(sandbox):
    res = sandbox.run("kill -9 $PPID", timeout=5)  # the shell's parent is the server, which runs apart
    assert not res.ok and "not permitted" in res.output
    assert sandbox.run("echo works").output == "works\n"
    assert sandbox.restarts == 0


# -- disk --------------------------------------------------------------------------------------------
@pytest.fixture
def small_disk_sandbox(docker_client, base_image):
    sb = DockerSandbox(docker_client, base_image, SandboxConfig(tmp_size="64m", workspace_size="64m"))
    try:
        yield sb
    finally:
        sb.close()


def test_filling_tmp_and_the_workspace_hits_enospc_not_the_host(docker_client, small_disk_sandbox):
    sb = small_disk_sandbox
    docker_root = docker_client.info().get("DockerRootDir", "/var/lib/docker")
    host_free = {path: shutil.disk_usage(path).free for path in {"/", "/tmp", docker_root} if os.path.exists(path)}
    for target in ("/tmp/fill", f"{sb.config.workdir}/fill"):
        res = sb.run(f"dd if=/dev/zero of={target} bs=1M", timeout=30)
        assert res.exit_code != 0 and not res.timed_out
        assert "No space left on device" in res.output, res.output
    # the sandbox is full but still answers; writes through the agent fail clearly
    with pytest.raises(Exception, match="No space left on device"):
        sb.write_file("more.bin", b"x" * 1024 * 1024)
    for path, free in host_free.items():
        assert free - shutil.disk_usage(path).free < 48 * 1024**2, f"host disk at {path} shrank"
    res = sb.run(f"rm /tmp/fill {sb.config.workdir}/fill && echo freed && echo ok > /tmp/after && cat /tmp/after")
    assert res.ok and res.output == "freed\nok\n"
    sb.write_file("more.bin", b"x" * 1024 * 1024)


# -- network -----------------------------------------------------------------------------------------
PYPI_PROBE = (
    "python3 -c \"import urllib.request; urllib.request.urlopen('https://pypi.org/simple/', timeout=3)\" "
    "&& echo REACHED || echo unreachable"
)


def test_package_index_is_unreachable(sandbox):
    res, elapsed = timed(sandbox.run, PYPI_PROBE, timeout=15)
    assert "REACHED" not in res.output and "unreachable" in res.output
    assert elapsed < 10
    res = sandbox.run("getent hosts pypi.org || echo no-dns")
    assert res.output.strip() == "no-dns"


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self):  # noqa: N802 (http.server's naming)
        type(self).hits += 1
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"host-secret-page")

    def log_message(self, *args):
        pass


@pytest.fixture
def host_http_server():
    """An HTTP server on the host's loopback, random port, in a thread."""
    _CountingHandler.hits = 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_host_loopback_server_is_unreachable(sandbox, host_http_server):
    port = host_http_server.server_address[1]
    # the server works, seen from the host
    with socket.create_connection(("127.0.0.1", port), timeout=3) as conn:
        conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
        reply = b""
        while chunk := conn.recv(4096):
            reply += chunk
        assert b"host-secret-page" in reply
    hits_from_host = _CountingHandler.hits
    assert hits_from_host == 1
    # from the sandbox, 127.0.0.1 is the container's own loopback: nothing listens there
    probe = (
        "python3 - <<'EOF'\n"
        "import socket, urllib.request\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n"
        "    print('CONNECTED')\n"
        "except OSError as exc:\n"
        "    print('refused:', type(exc).__name__)\n"
        "try:\n"
        f"    print(urllib.request.urlopen('http://localhost:{port}/', timeout=3).read())\n"
        "except OSError as exc:\n"
        "    print('http failed:', type(exc).__name__)\n"
        "EOF"
    )
    res = sandbox.run(probe, timeout=15)
    assert "CONNECTED" not in res.output and "host-secret-page" not in res.output
    assert "refused: ConnectionRefusedError" in res.output
    assert "http failed" in res.output
    res = sandbox.run(f"exec 3<>/dev/tcp/127.0.0.1/{port} && echo OPENED || echo closed", timeout=10)
    assert "OPENED" not in res.output
    assert _CountingHandler.hits == hits_from_host  # nothing from the sandbox arrived


# -- filesystem --------------------------------------------------------------------------------------
def test_writing_outside_the_workspace_fails(sandbox):
    for target in ("/usr/evil", "/usr/bin/evil", "/etc/evil", "/evil", "/var/evil", "/home/evil"):
        res = sandbox.run(f"echo x > {target}")
        assert res.exit_code != 0, target
        assert "Read-only file system" in res.output, (target, res.output)
    res = sandbox.run("echo x >> /etc/passwd; rm -f /usr/bin/python3")
    assert res.exit_code != 0
    assert sandbox.run("python3 -c 'print(1)'").output == "1\n"
    with pytest.raises(Exception, match="Read-only file system"):
        sandbox.write_file("/etc/evil", b"x")
    # the writable places work
    res = sandbox.run(
        f"echo ws > {sandbox.config.workdir}/ok && echo t > /tmp/ok && cat {sandbox.config.workdir}/ok /tmp/ok"
    )
    assert res.ok and res.output == "ws\nt\n"


def test_host_files_are_invisible(sandbox, tmp_path):
    secret = tmp_path / "host-secret.txt"
    token = os.urandom(16).hex()
    secret.write_text(token)
    res = sandbox.run(f"test -e {secret} && echo VISIBLE || echo absent; cat {secret} 2>&1")
    assert "VISIBLE" not in res.output and token not in res.output and "absent" in res.output
    with pytest.raises(FileNotFoundError):
        sandbox.read_file(str(secret))
    inside_hostname = sandbox.run("cat /etc/hostname").output.strip()
    with open("/etc/hostname") as fh:
        host_hostname = fh.read().strip()
    assert inside_hostname and inside_hostname != host_hostname
    assert inside_hostname != socket.gethostname()
    assert inside_hostname == sandbox.container.id[:12]
    # no engine socket to escape through, and the host's processes are out of sight
    assert sandbox.run("test -e /var/run/docker.sock && echo SOCKET || echo none").output == "none\n"
    res = sandbox.run(f"cat /proc/{os.getpid()}/cmdline 2>/dev/null | tr '\\0' ' '")
    assert "pytest" not in res.output
    count = int(sandbox.run("ls -d /proc/[0-9]* | wc -l").output)
    assert count < 20
