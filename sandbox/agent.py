"""The command server that runs inside every sandbox container.

Started once per sandbox (one `docker exec`), it reads JSON requests line by
line on stdin and answers one JSON line each on stdout. It keeps a persistent
bash session (cd, export and functions persist) and runs stateless commands in
their own process session. Standard library only, Python 3.9+, because it runs
on whatever Python the image has; the host sends this file's source with
`python3 -c`: `python3 -c SOURCE WORKDIR [UID GID]`.

The server is out of the agent's reach. Started as root with only the
capabilities it needs (SETUID, SETGID, KILL, SETPCAP, and CHOWN to hand files
to root for grading: `seal`), it empties its
capability bounding set and its supplementary groups, and starts every shell
and command as the agent's uid and gid (UID GID), which then hold no
capability: the agent's code cannot signal or trace the server, open its file
descriptors or memory, or write what the host reads. Files are read and written
with the agent's file-system identity, and only regular files outside /proc and
/sys, so a symlink the agent plants cannot make the server open what the agent
may not, nor its own stdout or memory. The shell sources a sealed, read-only
memfd. The agent's processes start with oom_score_adj 1000, so the kernel kills
them before the server when memory runs out (a process may lower its own score
to the server's 0, not below: then the kernel picks the largest process, and if
that is the server the host starts a new one). `kill_agent` SIGKILLs every
process of the agent's uid until none is left. A request may run a stateless
command as root instead ("user": "root"), without any capability: the agent's
processes cannot touch it either. Run as any other user (the local test backend),
the server runs everything as itself and says so ("sealed": false); it then
adopts its orphaned descendants (a subreaper) and `kill_agent` kills those.

Every command is bounded: a hard timeout and a no-output timeout kill the
command's processes (never the server), output is capped head + tail, and
whatever was printed so far is returned. Any text is accepted: lone surrogates
become U+FFFD (surrogate escapes of bytes become those bytes) and a command is
read up to a NUL character, as bash reads it.
"""

import base64
import errno
import fcntl
import io
import json
import os
import select
import signal
import stat
import subprocess
import sys
import tarfile
import time
import zlib

CHUNK = 65536
TIMEOUT_EXIT = 124  # exit code reported for a command that timed out, as GNU timeout does
FORK_RETRY_S = 5.0  # how long a fork refused by the pids limit is retried
KILL_ALL_S = 10.0  # how long kill_agent keeps sweeping
READ_CAP = 256 * 1024 * 1024  # the largest file `read` returns
MARKS_KEPT = 4096  # bytes of the mark pipe kept while waiting for a command's mark
BIG_COMMAND = 100_000  # bytes; a longer stateless command is read from a file (one argument holds 128 KiB)
PIDS_FULL = (
    "cannot start a process: the sandbox's process limit is reached by processes left running outside "
    "the shell session (a daemon or fork bomb started with setsid or run_stateless); close the sandbox"
)
NUL_NOTE = "\n[swefarm: the command held a NUL character; bash read it only up to there]\n"


class Refused(Exception):
    """The request cannot be done because of what is in the sandbox; `kind` tells the host which kind."""

    def __init__(self, kind, message):
        Exception.__init__(self, message)
        self.kind = kind


class NoCwd(Exception):
    """The directory a command should start in cannot be entered by the agent; `args[0]` is the OSError."""


# -- text ----------------------------------------------------------------------------------
def to_bytes(text):
    """UTF-8 for any str: surrogate escapes (U+DC80..U+DCFF) become their bytes, other lone surrogates U+FFFD."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        clean = "".join("\ufffd" if "\ud800" <= ch < "\udc80" or "\udcff" < ch <= "\udfff" else ch for ch in text)
        return clean.encode("utf-8", "surrogateescape")


def command_text(cmd):
    """The command bash will read (up to a NUL) and the note saying it was cut, if it was."""
    if "\0" in cmd:
        return cmd.split("\0", 1)[0], NUL_NOTE
    return cmd, ""


def fs_path(path):
    if not isinstance(path, str) or "\0" in path:
        raise OSError(errno.EINVAL, "a path is text without NUL characters", repr(path)[:200])
    return to_bytes(path)


# -- identity: the agent's uid, and the server's own privileges ---------------------------
class Identity:
    """Who the agent's processes run as, and how the server switches to it for files and children."""

    def __init__(self, uid, gid):
        self.uid, self.gid = uid, gid
        self.sealed = os.geteuid() == 0 and uid not in (None, 0)
        self.bounding_empty = self.subreaper = False
        if self.sealed:
            os.setgroups([])
            self.bounding_empty = drop_bounding_set()
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
            self.subreaper = become_subreaper()
        try:
            self.oom_fd = os.open("/proc/self/oom_score_adj", os.O_RDWR | os.O_CLOEXEC)
            self.oom_own = os.read(self.oom_fd, 16).strip() or b"0"
        except OSError:
            self.oom_fd = None

    def files(self):
        """A context in which file access is checked as the agent's (and new files are the agent's)."""
        return AsAgent(self) if self.sealed else NoSwitch()

    def popen_args(self, as_root=False):
        """Popen's arguments that start a child as the agent (setgroups, setregid, setreuid in the child)."""
        if not self.sealed or as_root:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def set_oom(self, value):
        """The server's own oom_score_adj; the children it forks meanwhile inherit it."""
        if self.oom_fd is not None:
            try:
                os.pwrite(self.oom_fd, value, 0)
            except OSError:
                pass


class AsAgent:
    def __init__(self, ident):
        self.ident = ident

    def __enter__(self):
        os.setegid(self.ident.gid)
        os.seteuid(self.ident.uid)

    def __exit__(self, *exc):
        os.seteuid(0)
        os.setegid(0)


class NoSwitch:
    def __enter__(self):
        pass

    def __exit__(self, *exc):
        pass


def drop_bounding_set():
    """Empty the capability bounding set, so nothing exec'd from here can hold a capability; False if it cannot."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        with open("/proc/sys/kernel/cap_last_cap") as fh:
            last = int(fh.read())
        return all(libc.prctl(24, cap, 0, 0, 0) == 0 for cap in range(last + 1))  # 24: PR_CAPBSET_DROP
    except (ImportError, OSError, ValueError, AttributeError):
        return False


# -- output ----------------------------------------------------------------------------------
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


# -- processes -------------------------------------------------------------------------------
def proc_fields(pid, with_uid):
    """(state, session id, real uid or None, parent pid) of a process, or None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        uid = None
        if with_uid:  # the real uid: /proc/<pid> itself is root's for a process that made itself undumpable
            with open("/proc/%d/status" % pid, "rb") as fh:
                uid = next(int(line.split()[1]) for line in fh if line.startswith(b"Uid:"))
    except (OSError, StopIteration, IndexError, ValueError):
        return None
    return fields[0], int(fields[3]), uid, int(fields[1])


def live_pids(match, exclude, with_uid):
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in exclude:
            continue
        fields = proc_fields(int(name), with_uid)
        if fields is not None and fields[0] != b"Z" and match(fields):
            pids.append(int(name))
    return pids


def kill_matching(match, keep=(), deadline_s=1.0, with_uid=False):
    """SIGSTOP then SIGKILL every live process `match` accepts, sweeping again until none is left.

    Stopping first means a fork bomb cannot outrun the sweep. Returns (killed, left).
    """
    exclude = set(keep) | {os.getpid(), 1}
    deadline = time.monotonic() + deadline_s
    killed = set()
    while True:
        pids = live_pids(match, exclude, with_uid)
        if not pids or time.monotonic() > deadline:
            return len(killed), len(pids)
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
        killed.update(pids)
        time.sleep(0.005)


def kill_session(sid, keep=()):
    """SIGKILL every process of session `sid` but `keep`."""
    kill_matching(lambda fields: fields[1] == sid, keep)


def spawn(ident, cwd, as_root=False, *args, **kwargs):
    """subprocess.Popen as the agent (or root without capabilities), started in `cwd`.

    The server enters `cwd` itself with the agent's file access, so the child starts where the agent
    may go; a fork refused by the pids limit is retried for a while, then refused for good.
    """
    try:
        with ident.files():
            os.chdir(to_bytes(cwd))
    except OSError as exc:
        raise NoCwd(exc) from None
    try:
        deadline = time.monotonic() + FORK_RETRY_S
        while True:
            try:
                if as_root:
                    return subprocess.Popen(*args, **kwargs)
                ident.set_oom(b"1000")  # the child starts first in the OOM killer's order, the server stays last
                try:
                    return subprocess.Popen(*args, **dict(kwargs, **ident.popen_args()))
                finally:
                    ident.set_oom(ident.oom_own)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise Refused("process_limit", PIDS_FULL) from None
                time.sleep(0.05)
            except OSError as exc:
                if exc.errno == errno.ENOMEM:
                    raise Refused("out_of_memory", "cannot start a process: the sandbox is out of memory") from None
                raise
    finally:
        os.chdir("/")


def close_fds(*fds):
    for fd in fds:
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass


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


def send_script(fd, data, out_fd, capture, deadline):
    """Write `data` to the shell's stdin, draining its output meanwhile; False if the shell took none by then."""
    view = memoryview(data)
    while view:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        readable, writable, _ = select.select([out_fd], [fd], [], remaining)
        if readable:
            read_available(out_fd, capture)
        if writable:
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                pass
    return True


def make_runner():
    """A sealed memfd the shell sources to eval each command, or None where memfd is missing.

    Sourcing (rather than a bare eval) lets the shell's SIGUSR1 trap `return` out of
    the command on a timeout, so the rest of a timed-out command line does not run
    while the shell and its state survive. The shell inherits the descriptor; the
    seals keep its content fixed whoever holds it.
    """
    return sealed_memfd("swefarm-run", b'eval "$__swefarm_cmd"\n')


def sealed_memfd(name, data):
    """A memfd holding `data` that nobody can change, or None where memfd or sealing is missing."""
    try:
        fd = os.memfd_create(name, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    except (AttributeError, OSError):
        return None
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        seals = fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
    except (AttributeError, OSError):
        os.close(fd)
        return None
    return fd


# The shell's SIGUSR1 trap, sent on a timeout: return from the sourced command, and
# through a DEBUG trap from every function or sourced file it is inside, so nothing
# after the killed process runs; back at the top level the DEBUG trap removes itself.
ABORT_TRAP = (
    "set -T; trap '[[ ${BASH_SOURCE[0]+x} ]] && return 124 2>/dev/null; trap - DEBUG; set +T' DEBUG; "
    "return 124 2>/dev/null"
)


def find_mark(marks, nonce):
    """The exit code in the line `<nonce> <code>` of `marks`, or None."""
    for line in marks.split(b"\n"):
        parts = line.split(b" ")
        if len(parts) == 2 and parts[0] == nonce and parts[1].isdigit() and len(parts[1]) < 6:
            return int(parts[1])
    return None


class Shell:
    """A persistent bash session; commands are eval'd in it so state persists.

    The shell reports each command's exit code on a pipe of its own, tagged with a random
    nonce; whatever else the agent's code writes there is ignored. The shell is the agent's:
    what it reports is the agent's own account, as in any terminal.
    """

    def __init__(self, workdir, env, ident):
        self.workdir, self.env, self.ident = workdir, env, ident
        self.runner = make_runner()
        self.out_r = self.mark_r = self.in_w = self.pidfd = None
        self.proc = None
        self.start(workdir)

    def start(self, cwd):
        out_r, out_w = os.pipe()
        mark_r, mark_w = os.pipe()
        in_r, in_w = os.pipe()
        keep = (mark_w,) if self.runner is None else (mark_w, self.runner)
        try:
            self.proc = self.spawn_in(
                [cwd, self.workdir, "/"],
                [b"bash", b"--noprofile", b"--norc"],
                stdin=in_r,
                stdout=out_w,
                stderr=out_w,
                pass_fds=keep,
                env=self.env,
                start_new_session=True,
            )
        except BaseException:
            close_fds(out_r, mark_r, in_w)
            raise
        finally:
            close_fds(out_w, mark_w, in_r)
        self.out_r, self.mark_r, self.in_w, self.mark_w_num = out_r, mark_r, in_w, mark_w
        for fd in (out_r, mark_r, in_w):
            os.set_blocking(fd, False)
        self.pidfd = pidfd_or_none(self.proc.pid)
        self.marks = b""
        if self.runner is not None:
            send_script(
                in_w, b"trap %s USR1\n" % to_bytes(ansi_quote(ABORT_TRAP)), out_r, Capture(1), time.monotonic() + 5
            )

    def spawn_in(self, places, *args, **kwargs):
        for place in places[:-1]:
            try:
                return spawn(self.ident, place, False, *args, **kwargs)
            except NoCwd:
                continue
        return spawn(self.ident, places[-1], False, *args, **kwargs)

    def close(self):
        if self.proc is None:
            return
        kill_session(self.proc.pid)
        close_fds(self.out_r, self.mark_r, self.in_w, self.pidfd)
        self.out_r = self.mark_r = self.in_w = self.pidfd = None  # safe to close twice; run() sees the shell is gone
        try:
            self.proc.kill()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass

    def cwd(self):
        try:
            with self.ident.files():
                return os.readlink("/proc/%d/cwd" % self.proc.pid)
        except OSError:
            return self.workdir

    def restart(self, reason):
        cwd = self.cwd()
        self.close()
        try:
            self.start(cwd)
        except (OSError, Refused, NoCwd) as exc:  # the next command tries again
            return "\n[swefarm: %s; no new shell could be started: %s]\n" % (reason, exc)
        if reason is None:
            return ""
        return "\n[swefarm: %s; a new shell was started in %s, earlier variables and functions are gone]\n" % (
            reason,
            self.cwd(),
        )

    def stopped(self):
        """The shell was killed on purpose (kill_agent): the next command starts a fresh one, no note."""
        self.close()
        self.proc = None

    def read_marks(self):
        while True:
            try:
                data = os.read(self.mark_r, CHUNK)
            except BlockingIOError:
                return
            except OSError:
                return
            if not data:
                return
            self.marks += data

    def run(self, req):
        if self.proc is None:  # stopped on purpose
            self.start(self.workdir)
        if self.out_r is None:  # an earlier restart failed
            note = self.restart("the shell was gone")
            if self.out_r is None:
                raise Refused("process_limit", note.strip())
            return self.run_after_restart(req, note)
        nonce = os.urandom(8).hex().encode()
        cap = Capture(req["max_output"])
        read_available(self.out_r, cap)  # output left by earlier background jobs
        cmd, nul_note = command_text(req["cmd"])
        quoted = ansi_quote(cmd)
        if self.runner is not None:
            script = "__swefarm_cmd=%s\n. /proc/self/fd/%d < /dev/null\n" % (quoted, self.runner)
        else:
            script = "eval %s < /dev/null\n" % quoted
        script += "printf '%s %%d\\n' $? >&%d\n" % (nonce.decode(), self.mark_w_num)
        self.read_marks()  # stale or forged marks from before this command
        self.marks = b""
        try:
            sent = send_script(self.in_w, to_bytes(script), self.out_r, cap, time.monotonic() + req["timeout"])
        except OSError:
            note = self.restart("the shell had exited")
            if self.out_r is None:
                raise Refused("process_limit", note.strip()) from None
            return self.run_after_restart(req, note)
        result = {}

        def done():
            self.read_marks()
            code = find_mark(self.marks, nonce)
            if code is not None:
                result["exit_code"] = code
                return True
            if len(self.marks) > MARKS_KEPT:
                self.marks = self.marks[-MARKS_KEPT:]
            if self.proc.poll() is not None:
                result["exit_code"] = self.proc.returncode
                result["shell_died"] = True
                return True
            return False

        if sent:
            kind = collect(self.out_r, cap, done, [self.mark_r, self.pidfd], req["timeout"], req.get("idle_timeout"))
        else:
            kind = "hard"
        note = ""
        if kind:
            # Stop the shell's command line (ABORT_TRAP), then keep killing whatever the rest of
            # the command starts until the shell reports back.
            if self.runner is not None and sent:
                try:
                    os.kill(self.proc.pid, signal.SIGUSR1)
                except OSError:
                    pass
            deadline = time.monotonic() + (1.0 if sent else 0.0)
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
            "output": text + nul_note + note,
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


def run_stateless(req, env, workdir, ident):
    as_root = req.get("user") == "root"
    if as_root and ident.sealed and not ident.bounding_empty:
        raise Refused("unsupported", "commands as root need a capability bounding set the server could empty")
    cmd, nul_note = command_text(req["cmd"])
    cmd_env = dict((to_bytes(k), to_bytes(v)) for k, v in dict(env, **req.get("env", {})).items())
    argv, script = [b"bash", b"-c", to_bytes(cmd)], None
    if len(argv[2]) > BIG_COMMAND:  # past what one argument may hold: bash reads it from a sealed memfd
        script = sealed_memfd("swefarm-cmd", argv[2])
        if script is not None:
            argv = [b"bash", b"/proc/self/fd/%d" % script]
    out_r, out_w = os.pipe()
    os.set_blocking(out_r, False)
    cwd = req.get("cwd") or workdir
    try:
        proc = spawn(
            ident,
            cwd,
            as_root,
            argv,
            pass_fds=() if script is None else (script,),
            stdin=subprocess.DEVNULL,
            stdout=out_w,
            stderr=out_w,
            env=cmd_env,
            start_new_session=True,
        )
    except NoCwd as exc:
        close_fds(out_r)
        message = "swefarm: cannot start the command in %s: %s\n" % (cwd, exc.args[0].strerror)
        return {"exit_code": 1, "output": message, "timed_out": False, "truncated": False, "output_bytes": 0}
    except BaseException:
        close_fds(out_r)
        raise
    finally:
        close_fds(out_w, script)
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
    close_fds(out_r, pidfd)
    text, truncated = cap.text(req["max_output"])
    return {
        "exit_code": code,
        "output": text + nul_note + (timeout_note(kind, req) if kind else ""),
        "timed_out": kind is not None,
        "timeout_kind": kind,
        "truncated": truncated,
        "output_bytes": cap.total,
    }


# -- files -----------------------------------------------------------------------------------
def kernel_devices():
    """The devices of /proc and /sys: files there are the kernel's (and the server's own), never data."""
    devices = set()
    for path in ("/proc", "/sys"):
        try:
            devices.add(os.stat(path).st_dev)
        except OSError:
            pass
    return devices


KERNEL_DEVICES = kernel_devices()


def open_regular(path, flags, mode=0o644):
    """An fd on the regular file at `path`; OSError for anything else (a FIFO, a device, /proc, /sys)."""
    fd = os.open(fs_path(path), flags | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY, mode)
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
        if st.st_dev in KERNEL_DEVICES:
            raise PermissionError(errno.EACCES, "a kernel file under /proc or /sys; the server opens none", path)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def read_regular(path, cap):
    fd, st = open_regular(path, os.O_RDONLY)
    try:
        if st.st_size > cap:
            raise OSError(errno.EFBIG, "larger than the %d bytes the server reads" % cap, path)
        chunks, size = [], 0
        while True:
            data = os.read(fd, CHUNK * 16)
            if not data:
                return b"".join(chunks)
            size += len(data)
            if size > cap:
                raise OSError(errno.EFBIG, "larger than the %d bytes the server reads" % cap, path)
            chunks.append(data)
    finally:
        os.close(fd)


def write_regular(path, data, mode=None):
    fd, _ = open_regular(path, os.O_WRONLY | os.O_CREAT)
    try:
        os.ftruncate(fd, 0)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if mode is not None:
            os.fchmod(fd, mode)
    finally:
        os.close(fd)


def op_read(req):
    return {"data": base64.b64encode(read_regular(req["path"], req.get("max_bytes") or READ_CAP)).decode()}


def op_write(req):
    parent = os.path.dirname(req["path"])
    if parent:
        os.makedirs(fs_path(parent), exist_ok=True)
    write_regular(req["path"], base64.b64decode(req["data"]), req.get("mode"))
    return {}


def op_tar_get(req):
    root = req["path"].rstrip("/") or "/"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        base = os.path.basename(root) or "."
        if not os.path.isdir(fs_path(root)) or os.path.islink(fs_path(root)):
            add_member(tar, root, base)
        else:
            add_member(tar, root, base)
            for top, dirs, files in os.walk(root):
                for name in sorted(dirs) + sorted(files):
                    full = os.path.join(top, name)
                    add_member(tar, full, os.path.join(base, os.path.relpath(full, root)))
    return {"data": base64.b64encode(buf.getvalue()).decode()}


def add_member(tar, path, arcname):
    """One entry: a regular file read through open_regular, anything else as tarfile records it."""
    info = tar.gettarinfo(path, arcname)
    if not info.isreg():
        if info.ischr() or info.isblk() or info.isfifo():
            return
        tar.addfile(info)
        return
    fd, st = open_regular(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as fh:
        info.size = st.st_size
        tar.addfile(info, fh)


def op_tar_put(req):
    os.makedirs(fs_path(req["path"]), exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(req["data"])), mode="r") as tar:
        root = os.path.realpath(req["path"])
        members = tar.getmembers()
        for member in members:
            target = os.path.realpath(os.path.join(root, member.name))
            escapes = os.path.commonpath([root, target]) != root
            if escapes or member.islnk() or (member.issym() and os.path.isabs(member.linkname)):
                raise ValueError("archive member escapes the target directory: %s" % member.name)
        for member in members:
            target = os.path.join(root, member.name)
            if member.isdir():
                os.makedirs(target, exist_ok=True)
            elif member.issym():
                os.symlink(member.linkname, target)
            elif member.isreg():
                os.makedirs(os.path.dirname(target), exist_ok=True)
                write_regular(target, tar.extractfile(member).read(), member.mode & 0o777)
    return {}


# -- fork: a workspace's changes since its seed, and applying them to a sibling (sandbox/fork.py) --------
def op_fork_delta(req):
    """What changed in the workspace `root` since `since` (seconds, as `date +%s.%N` gives them), read as
    the agent: a POSIX tar of the changed entries (zlib-compressed), the names deleted from the seed
    `seed`, and the bytes of the file `dump` (the shell's state; removed once read).

    An entry changed when its inode changed after `since` (its ctime, which no unprivileged process can
    set back). A changed directory the seed also has is compared with it by name and kind: names gone or
    of another kind are deleted; a directory new there, or one moved here whole (its ctime is new, its
    mtime is not), is sent with all it holds, since what was moved along keeps its old ctime."""
    root, seed, since = fs_path(req["root"]), fs_path(req["seed"]) if req.get("seed") else b"", req["since"]
    secs, _, frac = since.partition(".")
    after = int(secs) * 10**9 + int((frac + "000000000")[:9])
    cap = req.get("max_bytes") or READ_CAP
    dump = b""
    if req.get("dump"):  # read and removed first, so that no failure below leaves it behind
        try:
            dump = read_regular(req["dump"], cap)
        finally:
            os.unlink(fs_path(req["dump"]))
    changed = []  # (relative path, kind, mtime new too)
    top = os.lstat(root)
    if top.st_ctime_ns > after:
        changed.append((b".", "d", top.st_mtime_ns > after))
    stack = [b"."]
    while stack:
        rel = stack.pop()
        with os.scandir(os.path.join(root, rel)) as entries:
            for entry in entries:
                st = entry.stat(follow_symlinks=False)
                path = entry.name if rel == b"." else rel + b"/" + entry.name
                if st.st_ctime_ns > after:
                    changed.append((path, file_kind(st.st_mode), st.st_mtime_ns > after))
                if stat.S_ISDIR(st.st_mode):
                    stack.append(path)
    whole, deleted = [], []
    for path, kind, new_mtime in changed if seed else ():
        if kind != "d" or path_kind(os.path.join(seed, path)) != "d":
            continue
        if path != b"." and not new_mtime:
            deleted.append(path)
            whole.append(path)
            continue
        here = os.path.join(root, path)
        for name in os.listdir(os.path.join(seed, path)):
            if path_kind(os.path.join(seed, path, name)) != path_kind(os.path.join(here, name)):
                deleted.append(name if path == b"." else path + b"/" + name)
        for name in os.listdir(here):
            if path_kind(os.path.join(here, name)) == "d" and path_kind(os.path.join(seed, path, name)) != "d":
                whole.append(name if path == b"." else path + b"/" + name)
    tops = sorted(set(w for w in whole if not any(w.startswith(o + b"/") for o in whole)))
    wanted = [p for p, _, _ in changed if not any(p == t or p.startswith(t + b"/") for t in tops)]
    for t in tops:
        wanted.extend(walk_under(root, t))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in wanted:
            add_exact(tar, os.path.join(root, path), path, cap)
            if buf.tell() > cap:
                raise OSError(errno.EFBIG, "the workspace changed by more than %d bytes" % cap, req["root"])
    return {
        "tree": base64.b64encode(zlib.compress(buf.getvalue(), 1)).decode(),
        "deleted": [os.fsdecode(p) for p in dict.fromkeys(deleted)],
        "dump": base64.b64encode(dump).decode(),
    }


def file_kind(mode):
    return "l" if stat.S_ISLNK(mode) else "d" if stat.S_ISDIR(mode) else "f"


def path_kind(path):
    """ "l", "d", "f" (anything else that exists) or "" (nothing there), without following a symbolic link."""
    try:
        return file_kind(os.lstat(path).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        return ""


def walk_under(root, top):
    """`top` and every entry under it (relative to `root`), parents first, never through a symbolic link."""
    out, stack = [], [top]
    while stack:
        rel = stack.pop()
        out.append(rel)
        if path_kind(os.path.join(root, rel)) == "d":
            with os.scandir(os.path.join(root, rel)) as entries:
                stack.extend(rel + b"/" + e.name for e in entries)
    return out


def add_exact(tar, path, arcname, cap):
    """One entry with its mtime to the nanosecond; a regular file's bytes as read now; sockets and devices left out."""
    st = os.lstat(path)
    info = tar.gettarinfo(os.fsdecode(path), os.fsdecode(arcname))
    if info is None or info.ischr() or info.isblk():
        return
    info.pax_headers["mtime"] = "%d.%09d" % divmod(st.st_mtime_ns, 10**9)
    if info.isreg():
        data = read_regular(os.fsdecode(path), cap)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    else:
        tar.addfile(info)


def op_fork_apply(req):
    """Make the workspace `root` (a fresh sibling's, as its seed left it) hold a delta of op_fork_delta (its
    compressed tar and deleted names), as
    the agent: the deleted names removed, then every entry of the tar written with its mode and mtime.
    No entry is written through a symbolic link or outside `root`."""
    root = os.path.realpath(fs_path(req["root"]))
    for rel in req.get("deleted", []):
        path = inside(root, fs_path(rel))
        remove(path)
    dirs = []
    with tarfile.open(fileobj=io.BytesIO(zlib.decompress(base64.b64decode(req["tree"]))), mode="r") as tar:
        for member in tar:
            path = inside(root, os.fsencode(member.name))
            ns = exact_mtime(member)
            mode = member.mode & 0o7777
            if member.isdir():
                if path_kind(path) != "d":
                    if path_kind(path):
                        os.unlink(path)
                    os.mkdir(path, 0o700)
                dirs.append((path, mode, ns))
                continue
            remove(path)
            if member.issym():
                os.symlink(os.fsencode(member.linkname), path)
                os.utime(path, ns=(ns, ns), follow_symlinks=False)
                continue
            if member.islnk():
                os.link(inside(root, os.fsencode(member.linkname)), path, follow_symlinks=False)
                continue
            if member.isfifo():
                os.mkfifo(path, mode)
            elif member.isreg():
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
                try:
                    view = memoryview(tar.extractfile(member).read())
                    while view:
                        view = view[os.write(fd, view) :]
                finally:
                    os.close(fd)
            else:
                continue
            os.chmod(path, mode)  # never a symbolic link here (those went on above); Python 3.9 has no lchmod
            os.utime(path, ns=(ns, ns), follow_symlinks=False)
    for path, mode, ns in reversed(dirs):  # contents first: a read-only directory is made so last
        os.chmod(path, mode)
        os.utime(path, ns=(ns, ns), follow_symlinks=False)
    return {}


def remove(path):
    """Remove what is at `path`, a directory with all it holds, never following a symbolic link (rm -rf)."""
    kind = path_kind(path)
    if kind == "d":
        with os.scandir(path) as entries:
            names = [e.name for e in entries]
        for name in names:
            remove(os.path.join(path, name))
        os.rmdir(path)
    elif kind:
        os.unlink(path)


def exact_mtime(member):
    """A member's mtime in nanoseconds, from its pax header when it has one (op_fork_delta writes it so)."""
    secs, _, frac = member.pax_headers.get("mtime", "%d" % member.mtime).partition(".")
    return int(secs) * 10**9 + int((frac + "000000000")[:9])


def inside(root, rel):
    """`root`/`rel` when no part of it leaves `root` or passes through a symbolic link; else ValueError."""
    parts = [p for p in rel.split(b"/") if p not in (b"", b".")]
    if not parts:
        return root
    if b".." in parts or rel.startswith(b"/"):
        raise ValueError("a fork's entry leaves the workspace: %r" % rel)
    parent = os.path.join(root, *parts[:-1])
    if os.path.realpath(parent) != parent:
        raise ValueError("a fork's entry passes through a symbolic link: %r" % rel)
    return os.path.join(parent, parts[-1])


# -- sealing: files handed to root, read-only to the agent ----------------------------------------
SEAL_KINDS = ("tree", "file", "sticky", "placeholder")


def op_seal(req, ident):
    """Hand paths under `root` to root so that the agent's uid cannot change them (grading, before the tests run).

    Entries are [relative path, kind]: "tree" a directory and everything in it (directories 0555, files 0444,
    executables 0555), "file" one file (0444 or 0555), "sticky" a directory the agent may still add to but
    whose root-owned entries it cannot rename or delete (1777), "placeholder" an empty root-owned directory
    (0555) made where nothing is, so the agent cannot put a file of that name there (what is there already is
    sealed as a tree or a file). The server does it
    itself (it holds CAP_CHOWN; nothing it starts does). A path that is or passes through a symbolic link is
    skipped, never followed; so is one that is missing. Returns how many entries were changed and the paths
    skipped."""
    if not ident.sealed:
        raise Refused("unsupported", "sealing files needs the server to run as root apart from the agent")
    root = os.path.realpath(fs_path(req["root"]))
    changed, skipped = 0, []
    for rel, kind in req.get("entries", []):
        if kind not in SEAL_KINDS:
            raise ValueError("unknown seal kind %r" % (kind,))
        path = _seal_path(root, rel)
        if path is None:
            skipped.append(rel)
            continue
        if kind == "placeholder":
            try:
                os.mkdir(path, 0o555)
                os.chmod(path, 0o555)  # the umask may have taken bits away; no agent process runs now
                changed += 1
                continue
            except FileExistsError:
                kind = "tree"  # something is there already (not in git's tree): sealed as it is
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            skipped.append(rel)
            continue
        if kind == "tree" and stat.S_ISDIR(st.st_mode):
            changed += _seal_tree(path)
        elif kind == "sticky" and stat.S_ISDIR(st.st_mode):
            _own(path, st, 0o1777)
            changed += 1
        elif kind in ("file", "tree") and not stat.S_ISLNK(st.st_mode):
            _own(path, st, None)
            changed += 1
        else:
            skipped.append(rel)
    return {"changed": changed, "skipped": skipped}


def _seal_path(root, rel):
    """`root`/`rel` when no part of it below `root` is a symbolic link and it stays inside `root`, else None."""
    parts = [p for p in to_bytes(rel).split(b"/") if p not in (b"", b".")]
    if any(p == b".." for p in parts):
        return None
    path = root
    for i, part in enumerate(parts):
        path = os.path.join(path, part)
        try:
            if stat.S_ISLNK(os.lstat(path).st_mode):
                return None
        except FileNotFoundError:
            return path if i == len(parts) - 1 else None
    return path


def _own(path, st, mode):
    """Root's, read-only to everyone (`mode` None: 0444, or 0555 for a directory or an executable)."""
    os.lchown(path, 0, 0)
    if mode is None:
        mode = 0o555 if stat.S_ISDIR(st.st_mode) or st.st_mode & 0o111 else 0o444
    os.chmod(path, mode)


def _seal_tree(top):
    """Every entry under `top` (and `top`) root's and read-only; symbolic links are made root's, not followed."""
    count = 0
    stack = [top]
    while stack:
        folder = stack.pop()
        _own(folder, os.lstat(folder), 0o555)
        count += 1
        for entry in os.scandir(folder):
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                stack.append(entry.path)
            elif stat.S_ISLNK(st.st_mode):
                os.lchown(entry.path, 0, 0)
            elif stat.S_ISREG(st.st_mode):
                _own(entry.path, st, None)
                count += 1
    return count


# -- the loop --------------------------------------------------------------------------------
def kill_agent(shell, ident):
    """SIGKILL every process of the agent's uid, the shell included, until none is left.

    Unsealed (the local backend), the agent's processes are the server's descendants instead: the
    server is their subreaper, so none escapes by forking twice.
    """
    if not ident.sealed and not ident.subreaper:
        raise Refused("unsupported", "kill_agent needs the server to run as root apart from the agent")
    shell.stopped()
    if ident.sealed:
        killed, left = kill_matching(lambda fields: fields[2] == ident.uid, deadline_s=KILL_ALL_S, with_uid=True)
    else:
        killed, left = kill_descendants(KILL_ALL_S)
    return {"killed": killed, "left": left}


def kill_descendants(deadline_s):
    """SIGSTOP then SIGKILL every descendant of the server until none is left, then reap them. (killed, left)"""
    me = os.getpid()
    killed, left = kill_matching(lambda fields: descends(fields[3], me), deadline_s=deadline_s)
    while True:  # orphans the server adopted as subreaper are its children now: reap them
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                break
        except ChildProcessError:
            break
    return killed, left


def descends(parent, ancestor):
    """Whether a process whose parent is `parent` descends from `ancestor`."""
    for _ in range(4096):
        if parent == ancestor:
            return True
        fields = parent > 1 and proc_fields(parent, False)
        if not fields:
            return False
        parent = fields[3]
    return False


def become_subreaper():
    """Make orphaned descendants this process's children (PR_SET_CHILD_SUBREAPER); False if it cannot."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0
    except (ImportError, OSError, AttributeError):
        return False


def answer_error(exc):
    res = {"ok": False, "error": exc.__class__.__name__, "message": str(exc)}
    if isinstance(exc, Refused):
        res["kind"] = exc.kind
    elif isinstance(exc, OSError) and exc.errno is not None:
        res.update(errno=exc.errno, strerror=exc.strerror, filename=exc.filename)
        if isinstance(exc.filename, bytes):
            res["filename"] = exc.filename.decode("utf-8", "replace")
    return res


def main():
    workdir = sys.argv[1] if len(sys.argv) > 1 else os.getcwd()
    uid = int(sys.argv[2]) if len(sys.argv) > 2 else None
    gid = int(sys.argv[3]) if len(sys.argv) > 3 else uid
    ident = Identity(uid, gid)
    os.chdir("/")
    env = dict(os.environ)
    env.setdefault("HOME", "/tmp")
    env.setdefault("TERM", "dumb")
    shell = Shell(workdir, env, ident)
    out = sys.stdout.buffer
    ops = {"read": op_read, "write": op_write, "tar_get": op_tar_get, "tar_put": op_tar_put}
    ops.update(fork_delta=op_fork_delta, fork_apply=op_fork_apply)
    hello = {"ready": True, "pid": os.getpid(), "sealed": ident.sealed, "uid": ident.uid}
    hello["bounding_empty"] = ident.bounding_empty
    out.write(json.dumps(hello).encode() + b"\n")
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
                res = run_stateless(req, env, workdir, ident)
            elif op == "kill_agent":
                res = kill_agent(shell, ident)
            elif op == "seal":
                res = op_seal(req, ident)
            elif op == "ping":
                res = {}
            else:
                with ident.files():
                    res = ops[op](req)
            res["ok"] = True
        except Exception as exc:  # reported to the host, never fatal here
            res = answer_error(exc)
        res["id"] = req.get("id")
        res["duration"] = time.monotonic() - start
        out.write(json.dumps(res).encode() + b"\n")
        out.flush()
    shell.close()


if __name__ == "__main__":
    main()
