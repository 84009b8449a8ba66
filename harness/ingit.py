"""Git with a pinned configuration, inside a task container: `python3 -I -S -c SOURCE OP ARGS` (or the code
object the image's Python compiled from SOURCE, loaded by harness/incontainer.py's LOADER).

Nothing here trusts the repository in the workspace. Every git command runs with a
git directory of its own made in a fresh temporary directory: the pristine copy of
the repository the task image keeps (/opt/swefarm/repo/.git) lends its objects
(alternates) and its index (a stat cache, so unchanged files are not hashed again),
but no configuration of the workspace's `.git`, of the user (HOME and XDG point into
the temporary directory), of the system, or of the environment (the process gets a
fresh environment) is read; `$GIT_DIR/info/attributes` outranks every in-tree
`.gitattributes` and turns off filters, textconv, diff drivers, end-of-line and
working-tree-encoding conversions; external diff and textconv are refused on the
command line too.

ARGS is the request, marshalled and base64-encoded, or the path of a file holding
that. Operations (each prints one JSON object on stdout; paths are JSON strings
where undecodable bytes are surrogate escapes):

- `extract`: the workspace's change against the base commit as a binary git diff
  written to a file (what an agent hands in at the end of an episode).
- `prepare`: apply the agent's diff to an index of its own (never to the work
  tree) and list what changed against the base commit as trees say (status,
  modes, path), never as diff text says; put back the paths harness/protect.py
  drops (its source, or its code object, comes with the request); apply the test patch; check out
  only the paths that differ between the base commit and the final tree.

Standard library only, Python 3.9+ (it runs on the image's own python3), and only
built-in modules on the grading path (it runs once per grade: every import shows).
"""

import binascii
import marshal
import os
import select
import sys

PRISTINE = "/opt/swefarm/repo/.git"
ATTRIBUTES = "* -text !eol !crlf !filter !diff !merge !ident !working-tree-encoding !export-subst !whitespace !delta\n"
EXCLUDE_COMPILED = "__pycache__/\n*.py[cod]\n"
PINNED = [
    "core.autocrlf=false",
    "core.safecrlf=false",
    "core.checkStat=minimal",
    "core.trustctime=false",
    "core.excludesFile=/dev/null",
    "core.attributesFile=/dev/null",
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "core.untrackedCache=false",
    "core.quotePath=true",
    "core.symlinks=true",
    "core.fileMode=true",
    "core.ignoreCase=false",
    "core.precomposeUnicode=false",
    "core.splitIndex=false",
    "core.sparseCheckout=false",
    "diff.noprefix=false",
    "diff.mnemonicPrefix=false",
    "diff.renames=false",
    "diff.relative=false",
    "diff.ignoreSubmodules=none",
    "apply.whitespace=nowarn",
    "gc.auto=0",
]
DIFF_FLAGS = [
    "--binary",
    "--full-index",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--no-renames",
    "--src-prefix=a/",
    "--dst-prefix=b/",
]
LOW_SPACE = 64 * 1024 * 1024


class Failure(Exception):
    """A step failed; `code` says which, `detail` what git said."""

    def __init__(self, code, detail=""):
        Exception.__init__(self, code)
        self.code, self.detail = code, detail


def fs(text):
    return os.fsencode(text)


def unfs(raw):
    return os.fsdecode(raw)


class Git:
    """A git directory of our own in a fresh temporary directory, over the work tree `work`."""

    def __init__(self, work, excludes=(), pristine=PRISTINE):
        self.work, self.pristine = work, pristine
        self.tmp = os.path.join(_scratch(), "swefarm-git-" + os.urandom(8).hex())
        os.mkdir(self.tmp, 0o700)
        self.dir = os.path.join(self.tmp, "git")
        for sub in ("objects/info", "refs", "info"):
            os.makedirs(os.path.join(self.dir, sub))
        _write(os.path.join(self.dir, "objects/info/alternates"), pristine + "/objects\n")
        _write(os.path.join(self.dir, "config"), "[core]\n\trepositoryformatversion = 0\n\tbare = false\n")
        _write(os.path.join(self.dir, "info/attributes"), ATTRIBUTES)
        _write(os.path.join(self.dir, "info/exclude"), "".join(excludes) + EXCLUDE_COMPILED)
        self.base = _head(pristine) or self.run(["rev-parse", "--verify", "HEAD^{commit}"], git_dir=pristine).decode()
        self.base = self.base.strip()
        _write(os.path.join(self.dir, "HEAD"), self.base + "\n")

    def env(self, index=None, git_dir=None):
        env = {
            "PATH": "/usr/bin:/bin:/usr/local/bin",
            "HOME": self.tmp,
            "XDG_CONFIG_HOME": self.tmp,
            "LC_ALL": "C",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_ATTR_NOSYSTEM": "1",
            "GIT_DIR": git_dir or self.dir,
            "GIT_WORK_TREE": self.work,
            "GIT_LITERAL_PATHSPECS": "1",
            "GIT_OPTIONAL_LOCKS": "0",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_NO_REPLACE_OBJECTS": "1",
        }
        if index:
            env["GIT_INDEX_FILE"] = index
        return env

    def index(self, name):
        """A fresh index holding the base commit, with the pristine copy's stat cache."""
        path = os.path.join(self.tmp, name)
        try:
            with open(os.path.join(self.pristine, "index"), "rb") as src, open(path, "wb") as dst:
                dst.write(src.read())
        except OSError:
            self.run(["read-tree", self.base], index=path)
        return path

    def run(self, args, index=None, git_dir=None, stdin=None, check=True, code="git_failed"):
        cmd = ["git"]
        for item in PINNED:
            cmd += ["-c", item]
        cwd = self.work if os.path.isdir(self.work) else "/"
        returncode, stdout, stderr = _spawn(["git", "-C", cwd] + cmd[1:] + args, self.env(index, git_dir), stdin)
        self.last_error, self.last_code = stderr, returncode
        if check and returncode != 0:
            raise Failure(code, stderr.decode("utf-8", "replace")[-2000:])
        return stdout

    def changes(self, index, against):
        """What the index changes against tree-ish `against`: raw entries (status, modes, object, path), and
        the added lines as a unified diff without context (one git process for both)."""
        flags = [
            "--raw",
            "--no-abbrev",
            "-p",
            "-z",
            "-U0",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--no-renames",
        ]
        return parse_raw(self.run(["diff", "--cached", *flags, against], index=index))

    def close(self):
        _remove_tree(self.tmp)


def _spawn(argv, env, stdin=None):
    """Run argv (found on env's PATH) with stdin fed and stdout/stderr read together; (exit code, out, err)."""
    pipes = [os.pipe() for _ in range(3)]  # stdin, stdout, stderr; not inherited but for the dup2s below
    actions = [(os.POSIX_SPAWN_DUP2, pipes[0][0], 0), (os.POSIX_SPAWN_DUP2, pipes[1][1], 1)]
    actions.append((os.POSIX_SPAWN_DUP2, pipes[2][1], 2))
    try:
        pid = os.posix_spawnp(argv[0], argv, env, file_actions=actions)
    finally:
        for fd in (pipes[0][0], pipes[1][1], pipes[2][1]):
            os.close(fd)
    todo, out, err = stdin or b"", bytearray(), bytearray()
    writing, reading = ([pipes[0][1]] if todo else []), [pipes[1][0], pipes[2][0]]
    if not todo:
        os.close(pipes[0][1])
    while reading or writing:
        ready_r, ready_w, _ = select.select(reading, writing, [])
        for fd in ready_w:
            try:
                todo = todo[os.write(fd, todo[:65536]) :]
            except BrokenPipeError:
                todo = b""
            if not todo:
                os.close(fd)
                writing = []
        for fd in ready_r:
            chunk = os.read(fd, 1 << 20)
            if chunk:
                (out if fd == pipes[1][0] else err).extend(chunk)
            else:
                os.close(fd)
                reading.remove(fd)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), bytes(out), bytes(err)


def dumps(value):
    """`value` (dicts, lists, str, bytes as latin-1, int, bool, None) as JSON, without importing json."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return "[" + ",".join(dumps(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(dumps(str(k)) + ":" + dumps(v) for k, v in value.items()) + "}"
    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return '"' + "".join(_ESCAPES.get(ch) or (ch if " " <= ch < "\x7f" else _escape(ch)) for ch in text) + '"'


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(ch):
    code = ord(ch)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def parse_raw(out):
    """`git diff --raw -p -z` output: the raw entries (meta NUL path NUL ...), a NUL, then the patch."""
    entries, pos = [], 0
    while out.startswith(b":", pos):
        meta_end = out.index(b"\0", pos)
        path_end = out.index(b"\0", meta_end + 1)
        old_mode, new_mode, _old, new, status = out[pos + 1 : meta_end].split(b" ")[:5]
        entry = {"status": status.decode()[:1], "old_mode": old_mode.decode(), "new_mode": new_mode.decode()}
        entries.append(dict(entry, object=new.decode(), path=unfs(out[meta_end + 1 : path_end])))
        pos = path_end + 1
    return entries, out[pos + 1 :] if out.startswith(b"\0", pos) else out[pos:]


def _remove_tree(top):
    for root, dirs, files in os.walk(top, topdown=False):
        for name in files:
            try:
                os.unlink(os.path.join(root, name))
            except OSError:
                pass
        for name in dirs:
            path = os.path.join(root, name)
            try:
                os.unlink(path) if os.path.islink(path) else os.rmdir(path)
            except OSError:
                pass
    try:
        os.rmdir(top)
    except OSError:
        pass


def _head(git_dir):
    """The commit HEAD names in `git_dir`, read from its files (no process); None when that is not simple."""
    try:
        with open(os.path.join(git_dir, "HEAD")) as fh:
            head = fh.read().strip()
        if not head.startswith("ref: "):
            return head if len(head) == 40 else None
        name = head[5:]
        loose = os.path.join(git_dir, name)
        if os.path.isfile(loose):
            with open(loose) as fh:
                return fh.read().strip()
        with open(os.path.join(git_dir, "packed-refs")) as fh:
            for line in fh:
                sha, _, ref = line.strip().partition(" ")
                if ref == name:
                    return sha
    except OSError:
        pass
    return None


def _blank(path):
    with open(path, "rb") as fh:
        return not fh.read().strip()


def _write(path, text):
    with open(path, "w") as fh:
        fh.write(text)


def _scratch():
    """/tmp, emptied first if an agent left it too full to hold a git index (its processes are stopped by then)."""
    try:
        usage = os.statvfs("/tmp")
        low = usage.f_bavail * usage.f_frsize < LOW_SPACE or (usage.f_files and usage.f_favail < 1024)
    except OSError:
        low = False
    if low:
        for name in os.listdir("/tmp"):
            path = os.path.join("/tmp", name)
            if os.path.isdir(path) and not os.path.islink(path):
                _remove_tree(path)
            else:
                try:
                    os.unlink(path)
                except OSError:
                    pass
    return "/tmp"


def _regular_text(path, cap):
    """The head of `path` when it is a regular file (never a FIFO, device or link), else ""."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return ""
    try:
        if not _is_regular(os.fstat(fd).st_mode):
            return ""
        return os.read(fd, cap).decode("utf-8", "replace")
    finally:
        os.close(fd)


def _is_regular(mode):
    import stat

    return stat.S_ISREG(mode)


def _drop_special_files(root):
    """Remove FIFOs, sockets and devices from the work tree (git would block on them, and diffs none of them),
    and `.gitignore` / `.gitattributes` that are links (older git follows them, to /dev/zero say)."""
    import stat

    for top, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in files:
            path = os.path.join(top, name)
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                continue
            linked_rules = stat.S_ISLNK(mode) and name in (".gitignore", ".gitattributes")
            if linked_rules or not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
                try:
                    os.unlink(path)
                except OSError:
                    pass


def op_extract(args):
    work, cap = args["work"], int(args["max_bytes"])
    if not os.path.isdir(work):
        raise Failure("workspace_broken", f"the workspace {work} is gone")
    _drop_special_files(work)
    pristine = args.get("pristine", PRISTINE)
    excludes = [_regular_text(os.path.join(pristine, "info/exclude"), 1 << 20) + "\n"]
    excludes.append(_regular_text(os.path.join(work, ".git/info/exclude"), 1 << 20) + "\n")
    git = Git(work, excludes, pristine)
    try:
        index = git.index("index")
        listed = git.run(["ls-files", "-z", "--others", "--modified", "--exclude-standard"], index=index)
        total = 0
        for raw in set(listed.split(b"\0")) - {b""}:
            try:
                total += os.lstat(os.path.join(fs(work), raw)).st_size
            except OSError:
                pass
        if total > cap:
            raise Failure("patch_too_large", f"the changed files hold {total} bytes (the limit is {cap})")
        git.run(["add", "-A", "--ignore-errors", "--", "."], index=index, check=False)
        diff = git.run(["diff", "--cached"] + DIFF_FLAGS + [git.base], index=index, code="workspace_broken")
        if len(diff) > cap:
            raise Failure("patch_too_large", f"the diff is {len(diff)} bytes (the limit is {cap})")
        return {"diff": binascii.b2a_base64(diff, newline=False).decode(), "base": git.base}
    finally:
        git.close()


def op_prepare(args):
    """Apply the test patch and the agent's diff to indexes, drop what the policy says, check the rest out.

    The policy is harness/protect.py, sent as source (`policy`) with what the host knows (`context`:
    target_files, fix_dirs, modules, roots; `test_paths`, the paths the task's own test patch
    touches); what changed comes from the index against the base commit. Returns the agent's
    changed entries, the dropped paths and why, the added lines (for the suspicious scan), the
    contents of the test files asked for, and every path of the tree checked out (`tree`, directories
    too: what grading seals is chosen from it)."""
    git = Git(args["work"], pristine=args.get("pristine", PRISTINE))
    try:
        return _prepare(git, args)
    finally:
        git.close()


def _prepare(git, args):
    agent_patch, test_patch = os.path.join(git.tmp, "agent.diff"), os.path.join(git.tmp, "tests.diff")
    for path, key in ((agent_patch, "agent_patch"), (test_patch, "test_patch")):
        with open(path, "wb") as fh:
            fh.write(args[key])
    result = {"base": git.base, "test_paths": list(args["test_paths"])}
    agent = git.index("agent.index")
    if not _blank(agent_patch):
        git.run(["apply", "--cached", "--binary", agent_patch], index=agent, check=False)
        if git.last_code != 0:
            return {**result, "applied": False, "message": git.last_error.decode("utf-8", "replace")[-2000:]}
    entries, text = git.changes(agent, git.base)
    symlinks = {
        e["path"]: unfs(git.run(["cat-file", "blob", e["object"]])[:4096]) for e in entries if e["new_mode"] == "120000"
    }
    policy = _policy(args["policy"])
    context = dict(args["context"], test_paths=set(result["test_paths"]), symlink_targets=symlinks)
    context["base_names"] = {root: set(_listdir(os.path.join(git.work, root))) for root in context["roots"]}
    context["roots"] = tuple(context["roots"])
    context["target_files"], context["fix_dirs"] = set(context["target_files"]), set(context["fix_dirs"])
    context["modules"] = frozenset(context["modules"])
    _, dropped = policy.split(entries, policy.Context(**context))
    if dropped:
        spec = b"\0".join(fs(p) for p in dropped) + b"\0"
        git.run(["reset", "-q", "--pathspec-from-file=-", "--pathspec-file-nul", git.base], index=agent, stdin=spec)
    if not _blank(test_patch):
        git.run(["apply", "--cached", "--binary", test_patch], index=agent, code="test_patch_failed")
    final = git.run(["write-tree"], index=agent).decode().strip()
    listing = git.run(["ls-tree", "-r", "-t", "-z", "--name-only", final])
    result["tree"] = [unfs(p) for p in listing.split(b"\0") if p]
    checkout = git.index("checkout.index")
    git.run(["read-tree", "--reset", "-u", git.base, final], index=checkout, code="checkout_failed")
    wanted = [p for p in result["test_paths"] if p.endswith(".py")] + list(args.get("read", []))
    files = {path: _file_b64(os.path.join(git.work, path)) for path in dict.fromkeys(wanted)}
    result.update(applied=True, entries=entries, dropped=dropped, files={k: v for k, v in files.items() if v})
    result["added_text"] = unfs(text[: int(args.get("max_text", 4 << 20))])
    return result


def _policy(source):
    """harness/protect.py, from its source (or its code object, marshalled by this Python), as a module."""
    import types

    module = types.ModuleType("swefarm_protect")
    sys.modules[module.__name__] = module
    code = marshal.loads(source) if isinstance(source, bytes) else compile(source, "protect.py", "exec")
    exec(code, module.__dict__)
    return module


def _listdir(path):
    try:
        return os.listdir(path)
    except OSError:
        return []


def _file_b64(path, cap=4 << 20):
    """A regular file's contents (base64) when it is not too large for planting canaries in, else ""."""
    text = b""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return ""
    try:
        if _is_regular(os.fstat(fd).st_mode) and os.fstat(fd).st_size <= cap:
            text = os.read(fd, cap + 1)
    finally:
        os.close(fd)
    return binascii.b2a_base64(text, newline=False).decode() if text else ""


def main():
    op, arg = sys.argv[1], sys.argv[2]
    if arg.startswith("/"):
        with open(arg, "rb") as fh:
            arg = fh.read()
    args = marshal.loads(binascii.a2b_base64(arg))
    ops = {"extract": op_extract, "prepare": op_prepare}
    try:
        result = ops[op](args)
        result["ok"] = True
    except Failure as exc:
        result = {"ok": False, "code": exc.code, "detail": exc.detail}
    except OSError as exc:
        result = {"ok": False, "code": "os_error", "detail": f"{type(exc).__name__}: {exc}"}
    sys.stdout.write(dumps(result))


if __name__ == "__main__":
    main()
