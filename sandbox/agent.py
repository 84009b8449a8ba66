"""The command server that runs inside every sandbox container.

Started once per sandbox (one `docker exec`), it reads JSON requests line by
line on stdin and answers one JSON line each on stdout. It keeps a persistent
bash session (cd, export and functions persist) and runs stateless commands in
their own process session. Standard library only, Python 3.9+, because it runs
on whatever Python the image has; the host sends this file's source with
`python3 -c`.

Every command is bounded: a hard timeout and a no-output timeout kill the
command's processes (never the server), output is capped head + tail, and
whatever was printed so far is returned.
"""

import base64
import io
import json
import os
import select
import signal
import subprocess
import sys
import tarfile
import time

CHUNK = 65536
TIMEOUT_EXIT = 124  # exit code reported for a command that timed out, as GNU timeout does
FORK_RETRY_S = 5.0  # how long a fork refused by the pids limit is retried
PIDS_FULL = (
    "cannot start a process: the sandbox's process limit is reached by processes left running outside "
    "the shell session (a daemon or fork bomb started with setsid or run_stateless); close the sandbox"
)


class Capture:
    """Keeps the first and last `cap` bytes of a stream and counts the rest."""

    def __init__(self, cap):
        self.half = max(cap // 2, 1)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, data):
        self.total += len(data)
        room = self.half - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > 4 * self.half:
                del self.tail[: len(self.tail) - self.half]

    def text(self, cap_chars):
        tail = bytes(self.tail[-self.half :])
        cut = self.total - len(self.head) - len(tail)
        head_s = self.head.decode("utf-8", "replace")
        tail_s = tail.decode("utf-8", "replace")
        if cut <= 0 and len(head_s) + len(tail_s) <= cap_chars:
            return head_s + tail_s, False
        half = max(cap_chars // 2, 1)
        head_s, tail_s = head_s[:half], tail_s[-half:]
        marker = "\n[... swefarm cut %d bytes of output here; showing the first and last %d characters ...]\n"
        return head_s + marker % (max(cut, 0), half) + tail_s, True


def timeout_note(kind, req):
    if kind == "idle":
        return "\n[swefarm: killed after %gs without output (idle timeout)]\n" % req["idle_timeout"]
    return "\n[swefarm: killed after %gs (timeout)]\n" % req["timeout"]


def read_available(fd, capture):
    """Drain whatever is in a non-blocking fd now; returns False at EOF."""
    while True:
        try:
            data = os.read(fd, CHUNK)
        except BlockingIOError:
            return True
        except OSError:
            return False
        if not data:
            return False
        capture.add(data)


def session_pids(sid, exclude):
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        if pid in exclude:
            continue
        try:
            with open("/proc/%d/stat" % pid, "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != b"Z":
            pids.append(pid)
    return pids


def kill_session(sid, keep=()):
    """SIGKILL every process of session `sid` but `keep`; repeated so forks cannot outrun it."""
    exclude = set(keep) | {os.getpid()}
    for _ in range(50):
        pids = session_pids(sid, exclude)
        if not pids:
            return
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
        time.sleep(0.005)


def spawn(*args, **kwargs):
    """subprocess.Popen, retrying for a while when the pids limit refuses the fork."""
    deadline = time.monotonic() + FORK_RETRY_S
    while True:
        try:
            return subprocess.Popen(*args, **kwargs)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise BlockingIOError(PIDS_FULL) from None
            time.sleep(0.05)


def close_fds(*fds):
    for fd in fds:
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass


def set_nonblocking(fd):
    os.set_blocking(fd, False)


def pidfd_or_none(pid):
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def collect(out_fd, capture, done, extra_fds, timeout, idle_timeout):
    """Read output until done() says the command finished or a timeout hits.

    Returns None when done, or "hard"/"idle" on a timeout.
    """
    start = last = time.monotonic()
    fds = [out_fd] + [fd for fd in extra_fds if fd is not None]
    out_open = True
    while True:
        if done():
            return None
        now = time.monotonic()
        remaining = start + timeout - now
        if remaining <= 0:
            return "hard"
        if idle_timeout and now - last >= idle_timeout:
            return "idle"
        wait = remaining
        if idle_timeout:
            wait = min(wait, last + idle_timeout - now)
        if None in extra_fds:  # no pidfd: poll for process exit
            wait = min(wait, 0.005)
        ready, _, _ = select.select(fds if out_open else fds[1:], [], [], max(wait, 0))
        if out_fd in ready:
            before = capture.total
            out_open = read_available(out_fd, capture)
            if capture.total > before:
                last = time.monotonic()
            if not out_open and len(fds) == 1:
                return None


def make_runner():
    """A file the shell sources to eval each command, or None where memfd is missing.

    Sourcing (rather than a bare eval) lets the shell's SIGUSR1 trap `return` out of
    the command on a timeout, so the rest of a timed-out command line does not run
    while the shell and its state survive. The file lives in the agent's memory and
    is opened through /proc/<agent>/fd, out of the command's reach.
    """
    try:
        fd = os.memfd_create("swefarm-run")
    except (AttributeError, OSError):
        return None
    os.write(fd, b'eval "$__swefarm_cmd"\n')
    return "/proc/%d/fd/%d" % (os.getpid(), fd)


# The shell's SIGUSR1 trap, sent on a timeout: return from the sourced command, and
# through a DEBUG trap from every function or sourced file it is inside, so nothing
# after the killed process runs; back at the top level the DEBUG trap removes itself.
ABORT_TRAP = (
    "set -T; trap '[[ ${BASH_SOURCE[0]+x} ]] && return 124 2>/dev/null; trap - DEBUG; set +T' DEBUG; "
    "return 124 2>/dev/null"
)


class Shell:
    """A persistent bash session; commands are eval'd in it so state persists."""

    def __init__(self, workdir, env):
        self.workdir = workdir
        self.env = env
        self.runner = make_runner()
        self.start(workdir)

    def start(self, cwd):
        out_r, out_w = os.pipe()
        mark_r, mark_w = os.pipe()
        try:
            self.proc = spawn(
                ["bash", "--noprofile", "--norc"],
                stdin=subprocess.PIPE,
                stdout=out_w,
                stderr=out_w,
                pass_fds=(mark_w,),
                cwd=cwd if os.path.isdir(cwd) else self.workdir,
                env=self.env,
                start_new_session=True,
            )
        except OSError:
            close_fds(out_r, mark_r)
            raise
        finally:
            close_fds(out_w, mark_w)
        self.out_r, self.mark_r, self.mark_w_num = out_r, mark_r, mark_w
        set_nonblocking(out_r)
        set_nonblocking(mark_r)
        self.pidfd = pidfd_or_none(self.proc.pid)
        self.marks = b""
        if self.runner:
            self.proc.stdin.write(b"trap %s USR1\n" % ansi_quote(ABORT_TRAP).encode())
            self.proc.stdin.flush()

    def close(self):
        kill_session(self.proc.pid)
        close_fds(self.out_r, self.mark_r, self.pidfd)
        self.out_r = self.mark_r = self.pidfd = None  # safe to close twice; run() sees the shell is gone
        try:
            self.proc.kill()
            self.proc.wait(timeout=2)
        except Exception:
            pass

    def cwd(self):
        try:
            return os.readlink("/proc/%d/cwd" % self.proc.pid)
        except OSError:
            return self.workdir

    def restart(self, reason):
        cwd = self.cwd()
        self.close()
        try:
            self.start(cwd)
        except OSError as exc:  # the next command tries again
            return "\n[swefarm: %s; no new shell could be started: %s]\n" % (reason, exc)
        return "\n[swefarm: %s; a new shell was started in %s, earlier variables and functions are gone]\n" % (
            reason,
            self.cwd(),
        )

    def read_marks(self):
        try:
            while True:
                data = os.read(self.mark_r, 4096)
                if not data:
                    break
                self.marks += data
        except BlockingIOError:
            pass

    def run(self, req):
        if self.out_r is None:  # an earlier restart failed
            note = self.restart("the shell was gone")
            if self.out_r is None:
                raise BlockingIOError(note.strip())
            return self.run_after_restart(req, note)
        nonce = "%x" % req["id"]
        cap = Capture(req["max_output"])
        read_available(self.out_r, cap)  # output left by earlier background jobs
        quoted = ansi_quote(req["cmd"])
        if self.runner:
            script = "__swefarm_cmd=%s\n. %s < /dev/null\n" % (quoted, self.runner)
        else:
            script = "eval %s < /dev/null\n" % quoted
        script += "printf '%s %%d\\n' $? >&%d\n" % (nonce, self.mark_w_num)
        self.marks = b""
        try:
            self.proc.stdin.write(script.encode("utf-8", "surrogateescape"))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            note = self.restart("the shell had exited")
            if self.out_r is None:
                raise BlockingIOError(note.strip()) from None
            return self.run_after_restart(req, note)
        result = {}

        def done():
            self.read_marks()
            for line in self.marks.split(b"\n"):
                parts = line.split()
                if len(parts) == 2 and parts[0].decode() == nonce:
                    result["exit_code"] = int(parts[1])
                    return True
            if self.proc.poll() is not None:
                result["exit_code"] = self.proc.returncode
                result["shell_died"] = True
                return True
            return False

        kind = collect(self.out_r, cap, done, [self.mark_r, self.pidfd], req["timeout"], req.get("idle_timeout"))
        note = ""
        if kind:
            # Stop the shell's command line (ABORT_TRAP), then keep killing whatever the rest of
            # the command starts until the shell reports back.
            if self.runner:
                try:
                    os.kill(self.proc.pid, signal.SIGUSR1)
                except OSError:
                    pass
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline and not done():
                kill_session(self.proc.pid, keep=(self.proc.pid,))
                select.select([self.mark_r], [], [], 0.01)
        read_available(self.out_r, cap)
        if kind and "exit_code" not in result:
            note = self.restart("the command timed out while the shell itself was busy")
        elif result.get("shell_died"):
            code = self.proc.returncode
            result["exit_code"] = 128 - code if code < 0 else code
            note = self.restart("the shell exited")
        if kind:
            result["exit_code"] = TIMEOUT_EXIT
            note = timeout_note(kind, req) + note
        text, truncated = cap.text(req["max_output"])
        return {
            "exit_code": result["exit_code"],
            "output": text + note,
            "timed_out": kind is not None,
            "timeout_kind": kind,
            "truncated": truncated,
            "output_bytes": cap.total,
        }

    def run_after_restart(self, req, note):
        res = self.run(req)
        res["output"] = note + res["output"]
        return res


def ansi_quote(text):
    """`text` as a bash $'...' string."""
    return "$'" + "".join(_ansi_c(ch) for ch in text) + "'"


def _ansi_c(ch):
    if ch == "\\":
        return "\\\\"
    if ch == "'":
        return "\\'"
    code = ord(ch)
    if code < 32 or code == 127:
        return "\\x%02x" % code
    return ch


def run_stateless(req, env, workdir):
    out_r, out_w = os.pipe()
    set_nonblocking(out_r)
    cmd_env = dict(env, **req.get("env", {}))
    try:
        proc = spawn(
            ["bash", "-c", req["cmd"]],
            stdin=subprocess.DEVNULL,
            stdout=out_w,
            stderr=out_w,
            cwd=req.get("cwd") or workdir,
            env=cmd_env,
            start_new_session=True,
        )
    except OSError:
        close_fds(out_r)
        raise
    finally:
        close_fds(out_w)
    pidfd = pidfd_or_none(proc.pid)
    cap = Capture(req["max_output"])
    kind = collect(out_r, cap, lambda: proc.poll() is not None, [pidfd], req["timeout"], req.get("idle_timeout"))
    if kind:
        kill_session(proc.pid)
        proc.wait()
        code = TIMEOUT_EXIT
    else:
        code = proc.returncode
        code = 128 - code if code < 0 else code
    read_available(out_r, cap)
    for fd in (out_r, pidfd):
        if fd is not None:
            os.close(fd)
    text, truncated = cap.text(req["max_output"])
    return {
        "exit_code": code,
        "output": text + (timeout_note(kind, req) if kind else ""),
        "timed_out": kind is not None,
        "timeout_kind": kind,
        "truncated": truncated,
        "output_bytes": cap.total,
    }


def op_read(req):
    with open(req["path"], "rb") as fh:
        return {"data": base64.b64encode(fh.read()).decode()}


def op_write(req):
    path = req["path"]
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(base64.b64decode(req["data"]))
    if req.get("mode") is not None:
        os.chmod(path, req["mode"])
    return {}


def op_tar_get(req):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(req["path"], arcname=os.path.basename(req["path"].rstrip("/")) or ".")
    return {"data": base64.b64encode(buf.getvalue()).decode()}


def op_tar_put(req):
    os.makedirs(req["path"], exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(req["data"])), mode="r") as tar:
        root = os.path.realpath(req["path"])
        for member in tar.getmembers():
            target = os.path.realpath(os.path.join(root, member.name))
            escapes = os.path.commonpath([root, target]) != root
            if escapes or member.islnk() or (member.issym() and os.path.isabs(member.linkname)):
                raise ValueError("archive member escapes the target directory: %s" % member.name)
        tar.extractall(req["path"])
    return {}


def main():
    workdir = sys.argv[1] if len(sys.argv) > 1 else os.getcwd()
    env = dict(os.environ)
    env.setdefault("HOME", "/tmp")
    env.setdefault("TERM", "dumb")
    shell = Shell(workdir, env)
    out = sys.stdout.buffer
    ops = {"read": op_read, "write": op_write, "tar_get": op_tar_get, "tar_put": op_tar_put}
    out.write(b'{"ready": true, "pid": %d}\n' % os.getpid())
    out.flush()
    for line in sys.stdin.buffer:
        try:
            req = json.loads(line)
        except ValueError:
            continue
        start = time.monotonic()
        try:
            op = req.get("op")
            if op == "exec":
                res = shell.run(req)
            elif op == "run":
                res = run_stateless(req, env, workdir)
            elif op == "ping":
                res = {}
            else:
                res = ops[op](req)
            res["ok"] = True
        except Exception as exc:  # reported to the host, never fatal here
            res = {"ok": False, "error": exc.__class__.__name__, "message": str(exc)}
        res["id"] = req.get("id")
        res["duration"] = time.monotonic() - start
        out.write(json.dumps(res).encode() + b"\n")
        out.flush()
    shell.close()


if __name__ == "__main__":
    main()
