"""Host side of the agent protocol: JSON lines to the command server; for Docker, one long-lived `docker exec`
stream per sandbox (the local backend has its own pipes: sandbox/local_backend.py).

The agent (sandbox/agent.py) is started once with its source passed to
`python3 -c`; requests and answers are JSON lines over the exec's stdin and
Docker's multiplexed stdout. A round trip costs well under a millisecond,
where a fresh `docker exec` costs tens. The exec runs as root, so the server
can start every command as the agent's uid and stay out of its reach; its
greeting says whether it did (`sealed`), and a server that did not is refused.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from pathlib import Path

import docker
from swefarm.sandbox.errors import SandboxError

AGENT_SOURCE = Path(__file__).with_name("agent.py").read_text()


class ChannelClosed(SandboxError, ConnectionError):
    """The agent's stream ended (the agent or the container died)."""


class ServerChannel:
    """A JSON-lines request/response stream to one command server; backends say how bytes travel.

    A backend's channel sends with `_send` and reads lines with `_read_line`, then calls `_greet` once.
    """

    stderr: bytearray
    pid: int
    _lines: bytearray

    def _start(self) -> None:
        self._next_id = 0
        self._lock = threading.Lock()

    def _greet(self, uid: int | None) -> None:
        """Read the server's greeting; with `uid`, refuse a server that does not run commands apart as `uid`."""
        hello = self._read_line(timeout=30)
        try:
            greeting = json.loads(hello)
            ready = greeting.get("ready")
        except (ValueError, AttributeError):
            ready = False  # the engine or the shell wrote an error where the greeting belongs
        if not ready:
            detail = (hello + bytes(self.stderr)).decode(errors="replace").strip()[-500:]
            raise ChannelClosed(f"agent did not start: {detail}")
        if uid is not None and not (greeting.get("sealed") and greeting.get("uid") == uid):
            self.close()
            raise SandboxError(f"the command server could not run commands apart from itself as uid {uid}: {greeting}")
        self.pid = greeting["pid"]

    def request(self, op: str, wait_s: float, **fields) -> dict:
        """Send one request and wait up to wait_s seconds for its answer."""
        with self._lock:
            self._next_id += 1
            req = {"id": self._next_id, "op": op, **fields}
            self._send(json.dumps(req).encode() + b"\n")
            while True:
                line = self._read_line(wait_s)
                try:
                    answer = json.loads(line)
                except ValueError:
                    raise ChannelClosed(f"the sandbox agent sent garbage: {line[:200]!r}") from None
                if isinstance(answer, dict) and answer.get("id") == req["id"]:
                    return answer

    def _read_line(self, timeout: float) -> bytes:
        while True:
            nl = self._lines.find(b"\n")
            if nl >= 0:
                line = bytes(self._lines[: nl + 1])
                del self._lines[: nl + 1]
                return line
            self._receive(timeout)

    def _send(self, data: bytes) -> None:
        raise NotImplementedError

    def _receive(self, timeout: float) -> None:
        """Add what the server wrote next to `_lines`, waiting up to `timeout` seconds."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class AgentChannel(ServerChannel):
    """The channel to the agent in a container: one `docker exec` stream, Docker's multiplexed frames."""

    def __init__(self, api: docker.APIClient, container_id: str, workdir: str, uid: int, env: dict[str, str]):
        exec_id = api.exec_create(
            container_id,
            ["python3", "-u", "-c", AGENT_SOURCE, workdir, str(uid), str(uid)],
            stdin=True,
            stdout=True,
            stderr=True,
            user="0",  # the server itself; it runs every command as `uid`
            environment=env,
            workdir="/",
        )["Id"]
        response = api.exec_start(exec_id, socket=True)
        self._sock: socket.socket = getattr(response, "_sock", response)
        self._sock.settimeout(None)
        self._buf = bytearray()
        self._lines = bytearray()
        self.stderr = bytearray()
        self._start()
        self._greet(uid)

    def _send(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise ChannelClosed(f"cannot reach the sandbox agent: {exc}") from None

    def _receive(self, timeout: float) -> None:
        """One frame of Docker's multiplexed stream: stdout to `_lines`, stderr kept apart."""
        header = self._recv_exact(8, timeout)
        stream, size = header[0], struct.unpack(">I", header[4:])[0]
        payload = self._recv_exact(size, timeout)
        if stream == 1:
            self._lines += payload
        else:
            self.stderr += payload
            del self.stderr[:-8192]

    def _recv_exact(self, n: int, timeout: float) -> bytes:
        self._sock.settimeout(timeout)
        while len(self._buf) < n:
            try:
                chunk = self._sock.recv(max(65536, n - len(self._buf)))
            except TimeoutError:
                raise ChannelClosed(f"the sandbox agent did not answer within {timeout:.0f}s") from None
            except OSError as exc:
                raise ChannelClosed(f"the sandbox agent's stream failed: {exc}") from None
            if not chunk:
                detail = self.stderr.decode(errors="replace")[-500:]
                raise ChannelClosed("the sandbox agent's stream ended" + (f": {detail}" if detail else ""))
            self._buf += chunk
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass
