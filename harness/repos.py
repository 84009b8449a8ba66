"""Repository sources: a local clone or mirror, or a clone from a URL kept under $SWEFARM_HOME.

Everything here works offline once a repository is local (`--repo-path owner/name=PATH`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from swefarm.settings import current, swefarm_home

SNAPSHOT_IDENTITY = {
    "GIT_AUTHOR_NAME": "swefarm",
    "GIT_AUTHOR_EMAIL": "swefarm@localhost",
    "GIT_COMMITTER_NAME": "swefarm",
    "GIT_COMMITTER_EMAIL": "swefarm@localhost",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2000-01-01T00:00:00Z",
}


class RepoError(RuntimeError):
    """A repository or commit cannot be found or read."""


def parse_repo_paths(items: list[str]) -> dict[str, Path]:
    """`["owner/name=PATH", ...]` -> {"owner/name": Path}; bad items raise ValueError."""
    out = {}
    for item in items:
        repo, sep, path = item.partition("=")
        if not sep or "/" not in repo or not path:
            raise ValueError(f"--repo-path wants owner/name=PATH, got {item!r}")
        if not Path(path).exists():
            raise ValueError(f"--repo-path {repo}: {path} does not exist")
        out[repo] = Path(path).resolve()
    return out


def git(*args: str, cwd: Path | None = None, env: dict | None = None, check: bool = True) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if check and done.returncode != 0:
        raise RepoError(f"git {' '.join(args[:3])} failed: {done.stderr.strip()[-800:]}")
    return done.stdout


def resolve_repo(repo: str, repo_paths: dict[str, Path] | None = None, log=print, url: str | None = None) -> Path:
    """A local git directory (work tree or bare) holding `repo`'s history (cloned once from `url`,
    default $SWEFARM_GIT_URL's template, into $SWEFARM_HOME/repos)."""
    if repo_paths and repo in repo_paths:
        return repo_paths[repo]
    mirror = swefarm_home() / "repos" / (repo.replace("/", "__") + ".git")
    if not mirror.exists():
        url = url or current().git_url.format(repo=repo)
        log(f"cloning {url} into {mirror}")
        mirror.parent.mkdir(parents=True, exist_ok=True)
        tmp = mirror.with_suffix(".partial")
        shutil.rmtree(tmp, ignore_errors=True)  # what an interrupted clone left
        done = subprocess.run(["git", "clone", "--mirror", "--quiet", url, str(tmp)], capture_output=True, text=True)
        if done.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            raise RepoError(
                f"cannot clone {url}: {done.stderr.strip()[-500:]}. Pass a local clone with --repo-path {repo}=PATH."
            )
        tmp.rename(mirror)
    return mirror


def mirror_path(repo: str, mirrors: Path | None) -> Path | None:
    """`repo`'s git directory in a folder of mirrors (`owner+name/repo`, as `fetch` lays them out, or
    `owner__name`), or None when the folder has none."""
    if not mirrors:
        return None
    base = Path(mirrors) / repo.replace("/", "+")
    for path in (base / "repo" / ".git", base / "repo", base, Path(mirrors) / repo.replace("/", "__")):
        if (path / "HEAD").is_file() or (path / ".git").exists():
            return path.resolve()
    return None


def missing_files(git_dir: Path, commit: str) -> list[str]:
    """Paths of `commit`'s tree whose contents the repository lacks (a partial clone, or a snapshot
    that left out large files)."""
    listing = git("ls-tree", "-r", "-z", commit, cwd=git_dir).split("\0")
    blobs: dict[str, list[str]] = {}
    for entry in filter(None, listing):
        meta, _, path = entry.partition("\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == "blob":
            blobs.setdefault(parts[2], []).append(path)
    done = subprocess.run(["git", "cat-file", "--batch-check"], cwd=git_dir, input="\n".join(blobs),
                          capture_output=True, text=True)  # fmt: skip
    missing = [line.split()[0] for line in done.stdout.splitlines() if line.endswith(" missing")]
    return sorted(p for sha in missing for p in blobs.get(sha, []))


def has_commit(git_dir: Path, commit: str) -> bool:
    probe = subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=git_dir, capture_output=True)
    return probe.returncode == 0


def export_tree(git_dir: Path, commit: str, dest: Path) -> None:
    """Write the files of `commit` into `dest` (no .git), ignoring export-ignore attributes."""
    if not has_commit(git_dir, commit):
        raise RepoError(f"commit {commit} is not in {git_dir}; fetch it or pass an up-to-date --repo-path")
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index"), "GIT_WORK_TREE": str(dest)}
        git("read-tree", commit, cwd=git_dir, env=env)
        try:
            git("checkout-index", "--all", "--force", f"--prefix={dest}/", cwd=git_dir, env=env)
        except RepoError:
            if lost := missing_files(git_dir, commit):
                raise RepoError(
                    f"{git_dir} lacks the contents of {len(lost)} file(s) of commit {commit[:12]} "
                    f"({', '.join(lost[:3])}{', ...' if len(lost) > 3 else ''}): a partial clone, or a snapshot "
                    "without its large files. Use a full clone (git clone --mirror), or fetch the missing objects"
                ) from None
            raise


def snapshot(git_dir: Path, commit: str, dest: Path) -> None:
    """`commit`'s tree as a fresh one-commit repository: no earlier or later history,
    no remotes, tags or reflog, so nothing in it can reveal the fix."""
    export_tree(git_dir, commit, dest)
    git("init", "--quiet", "--initial-branch=main", cwd=dest)
    git("add", "--all", "--force", cwd=dest)
    git("commit", "--quiet", "--no-verify", "-m", "swefarm task snapshot", cwd=dest, env=SNAPSHOT_IDENTITY)
    git("reflog", "expire", "--expire=now", "--all", cwd=dest)
    git("gc", "--quiet", "--prune=now", cwd=dest)
