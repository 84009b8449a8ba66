"""Commands in a real sandbox: session state, output handling, timeouts, background jobs, exit codes.

`any_sandbox` tests run on both backends (tests/sandbox/conftest.py); `sandbox` ones on Docker only (files
under /tmp, which a local sandbox shares with the machine)."""

from __future__ import annotations

import time

import pytest
from swefarm.sandbox.docker_backend import DockerSandbox
from swefarm.sandbox.models import SandboxConfig

CUT_MARKER = "swefarm cut"


def timed(fn, *args, **kwargs):
    start = time.monotonic()
    result = fn(*args, **kwargs)
    return result, time.monotonic() - start


# -- session state -------------------------------------------------------------------
def test_cwd_env_and_functions_persist_in_the_session(sandbox):
    res = sandbox.run(
        "mkdir -p /tmp/work/sub && cd /tmp/work/sub && export GREETING='hello there' && greet() { echo \"hi $1\"; }"
    )
    assert res.ok, res
    res = sandbox.run('pwd; echo "$GREETING"; greet you; alias ll="ls -l"; type greet | head -1')
    assert res.ok, res
    assert res.output.splitlines()[:4] == ["/tmp/work/sub", "hello there", "hi you", "greet is a function"]
    # relative paths resolve against the session's cwd
    sandbox.run("echo data > here.txt")
    assert sandbox.read_file("/tmp/work/sub/here.txt") == b"data\n"


def test_run_stateless_shares_nothing_with_the_session(any_sandbox):
    any_sandbox.run("cd /tmp && export GREETING=hello && greet() { echo hi; }")
    res = any_sandbox.run_stateless(
        'pwd; echo "GREETING=${GREETING-unset}"; type greet >/dev/null 2>&1 || echo no-greet'
    )
    assert res.ok, res
    assert res.output == f"{any_sandbox.config.workdir}\nGREETING=unset\nno-greet\n"
    # and its own cwd / env do not leak back into the session
    res = any_sandbox.run_stateless('cd / && export OTHER=1 && echo "$PWD $X"', cwd="/tmp", env={"X": "given"})
    assert res.output == "/ given\n"
    res = any_sandbox.run('pwd; echo "OTHER=${OTHER-unset} GREETING=$GREETING"')
    assert res.output == "/tmp\nOTHER=unset GREETING=hello\n"


def test_quoting_and_multiline_commands_reach_bash_unchanged(any_sandbox):
    tricky = 'it\'s "quoted" \\ $HOME `x` \t tab ünïcödé'
    res = any_sandbox.run("cat <<'EOF'\n" + tricky + "\nEOF")
    assert res.output == tricky + "\n"
    res = any_sandbox.run("for i in 1 2 3\ndo\n  echo line $i\ndone")
    assert res.output == "line 1\nline 2\nline 3\n"


def test_config_env_is_visible_and_home_is_writable(docker_client, base_image):
    with DockerSandbox(docker_client, base_image, SandboxConfig(env={"SWEFARM_TEST_VAR": "set-by-config"})) as sb:
        assert sb.run("echo $SWEFARM_TEST_VAR").output == "set-by-config\n"
        assert sb.run_stateless("echo $SWEFARM_TEST_VAR").output == "set-by-config\n"
        assert sb.run("touch ~/.probe && echo ok").output == "ok\n"


# -- output ----------------------------------------------------------------------------
def test_binary_output_is_decoded_safely(any_sandbox):
    res = any_sandbox.run(r"printf 'nul:\000:bad:\377\376:end\n'")
    assert res.ok, res
    assert isinstance(res.output, str)
    assert res.output.startswith("nul:\x00:bad:")
    assert "\ufffd" in res.output and res.output.endswith(":end\n")
    assert res.output_bytes == len(b"nul:\x00:bad:\xff\xfe:end\n")
    res.model_dump_json()  # serialisable as it is
    res = any_sandbox.run("head -c 200000 /dev/urandom")
    assert res.ok and res.output_bytes == 200000 and res.truncated
    res.model_dump_json()


def test_huge_output_is_capped_head_and_tail_kept(any_sandbox):
    res, elapsed = timed(
        any_sandbox.run, "printf 'HEAD-START\\n'; yes | head -c 100000000; printf 'TAIL-END\\n'", timeout=60
    )
    assert res.ok, res.model_dump(exclude={"output"})
    assert res.truncated
    assert res.output_bytes == 100_000_000 + len("HEAD-START\n") + len("TAIL-END\n")
    cap = any_sandbox.config.max_output
    assert len(res.output) <= cap + 200  # the cap plus the one-line marker
    assert res.output.startswith("HEAD-START\ny\ny\n")
    assert res.output.endswith("y\ny\nTAIL-END\n")
    assert res.output.count(CUT_MARKER) == 1
    assert elapsed < 30


def test_output_under_the_cap_is_untouched(docker_client, base_image):
    with DockerSandbox(docker_client, base_image, SandboxConfig(max_output=100)) as sb:
        res = sb.run("printf '%099d' 0")
        assert not res.truncated and res.output == "0" * 99
        res = sb.run("seq 1 1000")
        assert res.truncated and res.output.startswith("1\n2\n") and res.output.endswith("999\n1000\n")
        assert CUT_MARKER in res.output


# -- timeouts --------------------------------------------------------------------------
def test_hard_timeout_returns_partial_output_and_keeps_the_session(any_sandbox):
    any_sandbox.run("cd /tmp && export KEEP=kept")
    res, elapsed = timed(any_sandbox.run, "echo partial-output; sleep 30; echo never", timeout=1)
    assert res.timed_out and res.timeout_kind == "hard"
    assert res.exit_code == 124
    assert "partial-output" in res.output and "never" not in res.output
    assert "timeout" in res.output  # the note says why it stopped
    assert 0.9 < elapsed < 5
    assert not res.ok
    after = any_sandbox.run("pwd; echo $KEEP")
    assert after.ok and after.output == "/tmp\nkept\n"


ABORTED_LINES = [
    "sleep 30 || echo NEVER-fallback",
    "sleep 30; echo NEVER-after",
    "for i in 1 2 3; do sleep 30; echo NEVER-loop; done",
    "while :; do :; done; echo NEVER-busy-loop",  # the shell itself is busy: no child to kill
    "inner() { sleep 30; echo NEVER-inner; }; outer() { inner; echo NEVER-outer; }; outer; echo NEVER-top",
    "printf 'sleep 30; echo NEVER-sourced\\n' > /tmp/s.sh; . /tmp/s.sh; echo NEVER-after-source",
]


@pytest.mark.slow
def test_nothing_after_a_timed_out_command_runs_and_the_shell_survives(sandbox):
    sandbox.run("cd /tmp && export KEEP=kept && keep_fn() { echo fn-kept; }")
    for cmd in ABORTED_LINES:
        res, elapsed = timed(sandbox.run, cmd, timeout=1)
        assert res.timed_out and res.exit_code == 124, (cmd, res)
        assert "NEVER" not in res.output, (cmd, res.output)
        assert "new shell" not in res.output, (cmd, res.output)  # the session was kept, not restarted
        assert elapsed < 5, cmd
        after = sandbox.run("pwd; echo $KEEP; keep_fn; echo $-")
        assert after.output.splitlines()[:3] == ["/tmp", "kept", "fn-kept"], (cmd, after)
        assert "T" not in after.output.splitlines()[3], cmd  # the abort's `set -T` was undone


@pytest.mark.slow
def test_idle_timeout_fires_on_silence_not_on_steady_output(any_sandbox):
    any_sandbox.run("cd /tmp && export KEEP=kept")
    res, elapsed = timed(any_sandbox.run, "echo before-silence; sleep 30", timeout=30, idle_timeout=1)
    assert res.timed_out and res.timeout_kind == "idle" and res.exit_code == 124
    assert "before-silence" in res.output and "idle timeout" in res.output
    assert elapsed < 5
    # output every 0.3 s keeps a 1 s idle timeout from firing over 2.4 s
    res = any_sandbox.run("for i in 1 2 3 4 5 6 7 8; do echo tick $i; sleep 0.3; done", timeout=30, idle_timeout=1)
    assert res.ok, res
    assert res.output.count("tick") == 8
    assert any_sandbox.run("pwd; echo $KEEP").output == "/tmp\nkept\n"


def test_stateless_timeouts(any_sandbox):
    res, elapsed = timed(any_sandbox.run_stateless, "echo partial; sleep 30", timeout=1)
    assert res.timed_out and res.timeout_kind == "hard" and res.exit_code == 124, res
    assert res.output.startswith("partial\n") and elapsed < 5
    res, elapsed = timed(any_sandbox.run_stateless, "echo partial; sleep 30", timeout=30, idle_timeout=1)
    assert res.timed_out and res.timeout_kind == "idle" and res.exit_code == 124, res
    assert res.output.startswith("partial\n") and elapsed < 5
    assert any_sandbox.run_stateless("echo fine").output == "fine\n"


@pytest.mark.slow
def test_timeout_kills_the_whole_process_tree(sandbox):
    # a child and a grandchild, each would write a file after 2 s if they survived
    cmd = "(sleep 2; touch /tmp/child-survived) & (sh -c 'sleep 2; touch /tmp/grandchild-survived' &) ; sleep 30"
    res = sandbox.run(cmd, timeout=1)
    assert res.timed_out
    time.sleep(2.5)
    # (bash may first report the killed background job; the count is the last line)
    assert sandbox.run("ls /tmp/*-survived 2>/dev/null | wc -l").output.splitlines()[-1] == "0"


def test_default_timeout_comes_from_the_config(docker_client, base_image):
    with DockerSandbox(docker_client, base_image, SandboxConfig(timeout_s=1, idle_timeout_s=None)) as sb:
        res, elapsed = timed(sb.run, "sleep 30")
        assert res.timed_out and res.timeout_kind == "hard" and elapsed < 5


# -- background processes ---------------------------------------------------------------
BACKGROUND_LAUNCHES = [
    "sleep 1000 &",
    "nohup sleep 1000 >/dev/null 2>&1 &",
    "nohup sleep 1000 &",  # stdout still on the session's pipe
    "setsid sleep 1000 &",
    "(sleep 1000 &)",
    "setsid nohup sh -c 'while :; do sleep 1; done' >/dev/null 2>&1 < /dev/null &",  # a proper daemon
]


def test_background_process_does_not_block_the_next_command(any_sandbox):
    for launch in BACKGROUND_LAUNCHES:
        res, elapsed = timed(any_sandbox.run, f"{launch}\necho launched", timeout=10)
        assert res.ok and "launched" in res.output, (launch, res)
        assert elapsed < 1.0, launch
        res, elapsed = timed(any_sandbox.run, "echo next", timeout=10)
        assert res.ok and res.output.endswith("next\n"), (launch, res)
        assert elapsed < 1.0, launch
        res, elapsed = timed(any_sandbox.run_stateless, f"{launch}\necho stateless", timeout=10)
        assert res.ok and "stateless" in res.output, (launch, res)
        assert elapsed < 1.0, launch


def test_output_of_background_jobs_shows_up_later_not_lost(any_sandbox):
    any_sandbox.run("(sleep 0.3; echo from-background) &")
    time.sleep(0.6)
    res = any_sandbox.run("echo foreground")
    assert res.output == "from-background\nforeground\n"


# -- exit codes ----------------------------------------------------------------------------
EXIT_CODES = [
    ("true", 0),
    ("false", 1),
    ("(exit 42)", 42),
    ("sh -c 'exit 7'", 7),
    ("no-such-command-xyz", 127),
    ("sh -c 'kill -9 $$'", 137),
    ("echo out; false", 1),
]


def test_exit_codes_propagate(any_sandbox):
    for cmd, code in EXIT_CODES:
        assert any_sandbox.run(cmd).exit_code == code, cmd
        assert any_sandbox.run_stateless(cmd).exit_code == code, cmd


def test_exit_in_the_session_returns_its_code_and_a_new_shell_follows(any_sandbox):
    res = any_sandbox.run("exit 3")
    assert res.exit_code == 3
    assert "new shell" in res.output
    res = any_sandbox.run("echo works; pwd")
    assert res.ok and res.output == f"works\n{any_sandbox.config.workdir}\n"
    assert any_sandbox.run("exit").exit_code == 0
    assert any_sandbox.run("echo again").output == "again\n"


def test_stdin_is_empty_so_reading_commands_do_not_hang(any_sandbox):
    res, elapsed = timed(any_sandbox.run, "cat; read x; echo done-$?", timeout=5)
    assert res.ok and res.output == "done-1\n" and elapsed < 1
    res, elapsed = timed(any_sandbox.run_stateless, "cat; echo done", timeout=5)
    assert res.ok and res.output == "done\n" and elapsed < 1


def test_closed_sandbox_refuses_commands_and_close_is_idempotent(docker_client, base_image):
    from swefarm.sandbox.errors import SandboxClosedError

    sb = DockerSandbox(docker_client, base_image)
    cid = sb.container.id
    sb.close()
    sb.close()
    with pytest.raises(SandboxClosedError):
        sb.run("echo no")
    import docker.errors

    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(cid)


def test_round_trip_is_fast(any_sandbox):
    any_sandbox.run("true")
    start = time.monotonic()
    for _ in range(50):
        any_sandbox.run("true")
    per_call = (time.monotonic() - start) / 50
    assert per_call < 0.05, f"{per_call * 1000:.1f} ms per command"
