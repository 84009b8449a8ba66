"""Git with a pinned configuration, inside a task container: `python3 -I -S -c SOURCE OP ARGS` (JSON, or a file of it).

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

Operations (each prints one JSON object on stdout; paths are JSON strings where
undecodable bytes are surrogate escapes):

- `extract`: the workspace's change against the base commit as a binary git diff
  written to a file (what an agent hands in at the end of an episode).
- `changes`: apply the test patch and the agent's diff, each to its own index
  (never to the work tree), and list what changed against the base commit, as
  trees say (raw entries: status, modes, path), never as diff text says.
- `finalise`: reset the dropped paths, apply the test patch, and check out only the
  paths that differ between the base commit and the final tree into the work tree.

Standard library only, Python 3.9+ (it runs on the image's own python3).
"""

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile

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
        self.tmp = tempfile.mkdtemp(prefix="swefarm-git-", dir=_scratch())
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
            shutil.copyfile(os.path.join(self.pristine, "index"), path)
        except OSError:
            self.run(["read-tree", self.base], index=path)
        return path

    def run(self, args, index=None, git_dir=None, stdin=None, check=True, code="git_failed"):
        cmd = ["git"]
        for item in PINNED:
            cmd += ["-c", item]
        proc = subprocess.run(
            cmd + args,
            cwd=self.work if os.path.isdir(self.work) else "/",
            env=self.env(index, git_dir),
            input=stdin,
            capture_output=True,
        )
        self.last_error, self.last_code = proc.stderr, proc.returncode
        if check and proc.returncode != 0:
            raise Failure(code, proc.stderr.decode("utf-8", "replace")[-2000:])
        return proc.stdout

    def raw(self, index, against):
        """Raw entries (status, old mode, new mode, path) of the index against tree-ish `against`."""
        out = self.run(["diff-index", "--cached", "-z", "--no-renames", "--raw", against], index=index)
        return parse_raw(out)

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def parse_raw(out):
    entries, fields, i = [], out.split(b"\0"), 0
    while i + 1 < len(fields):
        meta, path = fields[i], fields[i + 1]
        i += 2
        if not meta.startswith(b":"):
            continue
        old_mode, new_mode, _old, new, status = meta[1:].split(b" ")[:5]
        entries.append(
            {
                "status": status.decode()[:1],
                "old_mode": old_mode.decode(),
                "new_mode": new_mode.decode(),
                "object": new.decode(),
                "path": unfs(path),
            }
        )
    return entries


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


def numstat_paths(out):
    """The paths `git apply --numstat -z` names (both names of a rename)."""
    fields, paths, i = out.split(b"\0"), [], 0
    while i < len(fields):
        counts = fields[i].split(b"\t")
        i += 1
        if len(counts) < 3:
            continue
        if counts[2]:
            paths.append(unfs(counts[2]))
        elif i + 1 < len(fields):
            paths += [unfs(fields[i]), unfs(fields[i + 1])]
            i += 2
    return list(dict.fromkeys(paths))


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
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
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
        return {"diff": base64.b64encode(diff).decode(), "base": git.base}
    finally:
        git.close()


def op_changes(args):
    git = Git(args["work"], pristine=args.get("pristine", PRISTINE))
    result = {"tmp": git.tmp, "base": git.base, "test_paths": []}
    if not _blank(args["test_patch"]):
        out = git.run(["apply", "--numstat", "-z", args["test_patch"]], code="test_patch_failed")
        result["test_paths"] = numstat_paths(out)
    agent = git.index("agent.index")
    if _blank(args["agent_patch"]):
        git.last_code = 0
    else:
        git.run(["apply", "--cached", "--binary", args["agent_patch"]], index=agent, check=False)
    if git.last_code != 0:
        result["applied"] = False
        result["message"] = git.last_error.decode("utf-8", "replace")[-2000:]
        return result
    result["applied"] = True
    result["entries"] = git.raw(agent, git.base)
    result["symlinks"] = {
        e["path"]: unfs(git.run(["cat-file", "blob", e["object"]])[:4096])
        for e in result["entries"]
        if e["new_mode"] == "120000"
    }
    result["base_names"] = base_names(git, args.get("roots", [""]))
    tree = git.run(["write-tree"], index=agent).decode().strip()
    text = git.run(["diff", "-U0", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames", git.base, tree])
    result["added_text"] = unfs(text[: int(args.get("max_text", 4 << 20))])
    return result


def base_names(git, roots):
    """{root: the names at the top of directory `root` in the base commit} (empty for a directory it lacks)."""
    names = {root: [] for root in roots}
    if "" in names:
        names[""] = [unfs(n) for n in git.run(["ls-tree", "-z", "--name-only", git.base]).split(b"\0") if n]
    deeper = [root for root in roots if root]
    if deeper:
        out = git.run(["ls-tree", "-z", "--name-only", git.base, "--"] + [root + "/" for root in deeper])
        for entry in (unfs(n) for n in out.split(b"\0") if n):
            parent, _, name = entry.rpartition("/")
            if parent in names:
                names[parent].append(name)
    return names


def op_finalise(args):
    git = Git.__new__(Git)
    git.work, git.tmp, git.base = args["work"], args["tmp"], args["base"]
    git.pristine = args.get("pristine", PRISTINE)
    git.dir = os.path.join(git.tmp, "git")
    agent = os.path.join(git.tmp, "agent.index")
    drop = args["drop"]
    if drop:
        spec = b"\0".join(fs(p) for p in drop) + b"\0"
        git.run(["reset", "-q", "--pathspec-from-file=-", "--pathspec-file-nul", git.base], index=agent, stdin=spec)
    if not _blank(args["test_patch"]):
        git.run(["apply", "--cached", "--binary", args["test_patch"]], index=agent, code="test_patch_failed")
    final = git.run(["write-tree"], index=agent).decode().strip()
    checkout = git.index("checkout.index")
    git.run(["read-tree", "--reset", "-u", git.base, final], index=checkout, code="checkout_failed")
    return {"final": final}


def main():
    op, arg = sys.argv[1], sys.argv[2]
    if arg.startswith("{"):
        args = json.loads(arg)
    else:
        with open(arg) as fh:
            args = json.load(fh)
    ops = {"extract": op_extract, "changes": op_changes, "finalise": op_finalise}
    try:
        result = ops[op](args)
        result["ok"] = True
    except Failure as exc:
        result = {"ok": False, "code": exc.code, "detail": exc.detail}
    except OSError as exc:
        result = {"ok": False, "code": "os_error", "detail": f"{type(exc).__name__}: {exc}"}
    sys.stdout.write(json.dumps(result))


if __name__ == "__main__":
    main()
