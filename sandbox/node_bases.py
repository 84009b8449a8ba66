"""Node.js base images: Debian + Debian's `nodejs` + npm, pnpm and yarn from the npm registry, a non-root user.

Built like the Python bases (sandbox/bases.py): debootstrap from the mirror apt uses, a
rootfs tarball cached under $SWEFARM_HOME/cache/bases, imported as `swefarm/base:nodeNN`.
Debian releases give Node versions: bookworm 18, trixie 20. Every base also holds python3
and git, which the sandbox's command server and grading's helpers run on. The package
managers come as the registry's tarballs (checked against the registry's sha512 integrity),
unpacked under /usr/local/lib/node_modules with their commands on PATH: nothing runs
while the base is made but debootstrap.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import io
import json
import ssl
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import docker
from swefarm.sandbox.bases import build_rootfs, cache_dir, image_exists, import_rootfs
from swefarm.sandbox.errors import SetupError

#: Node major version -> the Debian release whose `nodejs` package is that version.
NODE_RELEASES = {"18": "bookworm", "20": "trixie"}
DEFAULT_NODE = "20"
#: The package managers every Node base holds, pinned (npm 10.8 runs on Node >= 18.17; pnpm 9 reads
#: lockfiles v6 and v9; yarn 1 also runs a project's own yarn 2+ release through its `yarnPath`).
TOOLS = {"npm": "10.8.2", "pnpm": "9.15.9", "yarn": "1.22.22"}
REGISTRY = "https://registry.npmjs.org"
#: g++, make and Node's headers (libnode-dev) build native addons: their prebuilt binaries come from
#: GitHub releases, which nothing here reaches, so node-gyp compiles them against the local headers
#: (npm_config_nodedir=/usr in the environment image; without it node-gyp downloads them from nodejs.org).
PACKAGES = ["python3", "git", "ca-certificates", "nodejs", "libnode-dev", "g++", "make"]
#: Bumped when what a Node base holds changes, so a cached rootfs or image made the old way is not used.
#: n2: a compiler, Node's headers and `node-gyp` on PATH for native addons.
NODE_BASE_FORMAT = "n2"
FORMAT_LABEL = "swefarm.node_base_format"


@dataclass(frozen=True)
class NodeBaseSpec:
    node: str  # the major version, "20"
    release: str  # the Debian release that ships it

    @property
    def tag(self) -> str:
        return f"swefarm/base:node{self.node}"

    @property
    def tarball(self) -> Path:
        return cache_dir() / f"node{self.node}-{self.release}-{NODE_BASE_FORMAT}.tar"


NODE_BASES = {major: NodeBaseSpec(major, release) for major, release in NODE_RELEASES.items()}


def node_base_for(node: str | None) -> NodeBaseSpec:
    """The base for a Node version (`"18"`, `"20.11"`, `">=18"`...): the newest base not above its major, else
    the oldest base (a project that needs Node 22 gets 20, the newest here, and may fail on it)."""
    digits = "".join(ch if ch.isdigit() else " " for ch in (node or "")).split()
    if not digits:
        return NODE_BASES[DEFAULT_NODE]
    wanted = int(digits[0])
    majors = sorted(int(m) for m in NODE_BASES)
    below = [m for m in majors if m <= wanted]
    return NODE_BASES[str(max(below) if below else min(majors))]


def ensure_node_base(client: docker.DockerClient, spec: NodeBaseSpec, log=print) -> str:
    """Make sure `spec.tag` exists (import the cached rootfs, else build it); returns how it was obtained.
    Safe from several threads and processes at once: one builds, the others wait for it."""
    if _current(client, spec.tag):
        return "cached"
    with open(cache_dir() / f"node{spec.node}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _current(client, spec.tag):
            return "cached"
        how = "imported from cache"
        if not spec.tarball.exists():
            tools = {name: fetch_tool(name, version) for name, version in TOOLS.items()}
            hint = "Run `sudo swefarm setup` to build it."
            add = lambda root: _add_tools(root, tools)  # noqa: E731
            build_rootfs(spec.tag, spec.release, PACKAGES, spec.tarball, log, hint, add)
            how = "built"
        labels = {"swefarm.node": spec.node, FORMAT_LABEL: NODE_BASE_FORMAT}
        labels.update({f"swefarm.{name}": version for name, version in TOOLS.items()})
        import_rootfs(client, spec.tarball, spec.tag, labels)
        return how


def _current(client: docker.DockerClient, tag: str) -> bool:
    """The base exists and was made the current way (an older one is rebuilt under the same tag)."""
    if not image_exists(client, tag):
        return False
    return (client.images.get(tag).labels or {}).get(FORMAT_LABEL) == NODE_BASE_FORMAT


def fetch_tool(name: str, version: str, registry: str = REGISTRY) -> bytes:
    """A package's tarball from the npm registry, checked against the integrity the registry states for it."""
    try:
        meta = json.loads(_get(f"{registry}/{name}/{version}"))
        data = _get(meta["dist"]["tarball"])
    except (OSError, ValueError, KeyError) as exc:
        raise SetupError(f"cannot download {name}@{version} from {registry}: {exc}") from None
    algorithm, _, expected = meta["dist"].get("integrity", "").partition("-")
    if algorithm != "sha512" or base64.b64decode(expected) != hashlib.sha512(data).digest():
        raise SetupError(f"{name}@{version} from {registry} does not match its sha512 integrity")
    return data


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60, context=ssl.create_default_context()) as answer:
        return answer.read()


def _add_tools(root: Path, tools: dict[str, bytes]) -> None:
    """Unpack each tool under /usr/local/lib/node_modules and link the commands its package.json names."""
    for name, data in tools.items():
        home = root / "usr/local/lib/node_modules" / name
        home.mkdir(parents=True)
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            for member in archive.getmembers():
                member.name = member.name.split("/", 1)[1] if "/" in member.name else ""
                if member.name and (member.isfile() or member.isdir()):
                    archive.extract(member, home, filter="data")
        bins = json.loads((home / "package.json").read_text()).get("bin") or {}
        bins = {name: bins} if isinstance(bins, str) else bins
        for command, rel in bins.items():
            target = home / rel
            target.chmod(0o755)
            link = root / "usr/local/bin" / command
            link.parent.mkdir(parents=True, exist_ok=True)
            link.unlink(missing_ok=True)
            link.symlink_to(Path("/usr/local/lib/node_modules") / name / rel)
    gyp = Path("/usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js")
    if (root / gyp.relative_to("/")).is_file():  # npm's own node-gyp on PATH: yarn 1 and pnpm look for it there
        (root / "usr/local/bin/node-gyp").symlink_to(gyp)
