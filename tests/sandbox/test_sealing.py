"""A sandbox container is sealed as SandboxConfig says: checked on the engine's own record and from inside."""

from __future__ import annotations

import pytest
from swefarm.sandbox import labels
from swefarm.sandbox.docker_backend import SERVER_CAPS, DockerSandbox
from swefarm.sandbox.models import SandboxConfig

GiB, MiB = 1024**3, 1024**2

pytestmark = pytest.mark.docker


def test_container_attributes_are_sealed(docker_client, sandbox):
    attrs = docker_client.api.inspect_container(sandbox.container.id)
    host = attrs["HostConfig"]
    config = sandbox.config
    assert host["NetworkMode"] == "none"
    assert host["CapDrop"] == ["ALL"] and host["CapAdd"] == SERVER_CAPS == [
        "SETUID",
        "SETGID",
        "KILL",
        "SETPCAP",
        "CHOWN",
    ]
    assert "no-new-privileges" in host["SecurityOpt"]
    assert host["Privileged"] is False
    assert host["PidsLimit"] == config.pids_limit == 256
    # processes get `memory`; /tmp, the workspace and /dev/shm live in memory and come on top
    assert host["Memory"] == 2 * GiB + 512 * MiB + 1 * GiB + 64 * MiB
    assert host["MemorySwap"] == host["Memory"]  # no swap on top
    assert host["ShmSize"] == 64 * MiB
    assert host["NanoCpus"] == int(config.cpus * 1e9)
    assert host["ReadonlyRootfs"] is True
    assert host["Init"] is True
    assert not host["Binds"] and not attrs["Mounts"]  # nothing of the host is mounted
    assert {"Name": "nofile", "Soft": config.nofile, "Hard": config.nofile} in host["Ulimits"]
    assert set(host["Tmpfs"]) == {"/tmp", config.workdir}
    assert "size=512m" in host["Tmpfs"]["/tmp"] and "size=1g" in host["Tmpfs"][config.workdir]
    assert attrs["Config"]["Labels"][labels.KIND] == "sandbox"
    assert attrs["NetworkSettings"]["Networks"].keys() == {"none"}


def test_commands_run_unprivileged(sandbox):
    assert sandbox.run("id -u; id -g").output == "1000\n1000\n"
    assert sandbox.run_stateless("id -u").output == "1000\n"
    status = dict(
        line.split(":\t", 1) for line in sandbox.run("cat /proc/self/status").output.splitlines() if ":\t" in line
    )
    assert status["NoNewPrivs"].strip() == "1"
    for caps in ("CapEff", "CapPrm", "CapBnd", "CapAmb"):
        assert int(status[caps], 16) == 0, caps
    # root's tools do not help: no setuid escalation, no sudo/su success
    res = sandbox.run("su -c id root </dev/null 2>&1; sudo id 2>&1; echo done")
    assert "uid=0" not in res.output
    # PID 1 (docker-init, root) cannot be signalled
    res = sandbox.run("kill -9 1")
    assert res.exit_code != 0 and "not permitted" in res.output
    # the agent's processes are the first the kernel kills when memory runs out
    assert sandbox.run("cat /proc/self/oom_score_adj").output == "1000\n"


def test_the_command_server_holds_only_what_it_needs(sandbox):
    server = sandbox.run("cat /proc/$PPID/status; cat /proc/$PPID/oom_score_adj").output
    status = dict(line.split(":\t", 1) for line in server.splitlines() if ":\t" in line)
    assert status["Uid"].split() == ["0"] * 4 and status["Groups"].strip() == ""
    caps = {"CHOWN": 0, "SETGID": 6, "SETUID": 7, "KILL": 5, "SETPCAP": 8}
    assert int(status["CapEff"], 16) == sum(1 << bit for bit in caps.values())
    assert int(status["CapBnd"], 16) == 0  # nothing it starts can hold a capability
    assert status["NoNewPrivs"].strip() == "1"
    assert server.splitlines()[-1] == "0"  # below the agent's processes in the OOM killer's order
    # a command run as root has no capability either
    res = sandbox.run_stateless("id -u; grep -E '^Cap(Eff|Prm|Bnd)' /proc/self/status", user="root")
    assert res.output.split() == ["0", "CapPrm:", "0" * 16, "CapEff:", "0" * 16, "CapBnd:", "0" * 16], res.output
    # and the agent's processes cannot signal it
    sandbox.run_stateless("setsid sleep 300 >/dev/null 2>&1 & echo $! > /tmp/root.pid", user="root")
    res = sandbox.run("kill -9 $(cat /tmp/root.pid)")
    assert res.exit_code != 0 and "not permitted" in res.output


def test_limits_are_in_force(docker_client, sandbox):
    # cgroup files differ between cgroup v1 and v2 engines; the engine's stats say the same everywhere
    stats = docker_client.api.stats(sandbox.container.id, stream=False)
    assert stats["pids_stats"]["limit"] == 256
    assert stats["memory_stats"]["limit"] == 2 * GiB + 512 * MiB + 1 * GiB + 64 * MiB
    assert sandbox.run("ulimit -n").output == "4096\n"
    assert sandbox.run("ls /sys/class/net").output.split() == ["lo"]
    # the workspace is the sandbox user's, and the root filesystem is not
    res = sandbox.run(f"stat -c '%u %a' {sandbox.config.workdir}; touch /probe 2>&1")
    assert res.output.splitlines()[0] == "1000 755"
    assert "Read-only file system" in res.output


def test_config_changes_the_seal(docker_client, base_image):
    config = SandboxConfig(memory="256m", cpus=0.5, pids_limit=64, tmp_size="16m", workspace_size="32m")
    with DockerSandbox(docker_client, base_image, config) as sb:
        host = docker_client.api.inspect_container(sb.container.id)["HostConfig"]
        assert host["Memory"] == (256 + 16 + 32 + 64) * MiB
        assert host["NanoCpus"] == 500_000_000
        assert host["PidsLimit"] == 64
        sizes = sb.run("df -k --output=size /tmp /workspace | tail -2").output.split()
        assert sizes == [str(16 * 1024), str(32 * 1024)]
