"""Node bases: which base a Node version gets, the package managers' integrity check, and the real image."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from swefarm.sandbox.errors import SetupError
from swefarm.sandbox.node_bases import NODE_BASES, TOOLS, _add_tools, ensure_node_base, fetch_tool, node_base_for


@pytest.mark.parametrize(
    "wanted, major",
    [(None, "20"), ("", "20"), ("20", "20"), ("18.19.0", "18"), (">=18", "18"), ("^19", "18"), ("22", "20"),
     ("v16.20", "18"), ("lts/*", "20")],
)  # fmt: skip
def test_a_node_version_gets_the_newest_base_not_above_it(wanted, major):
    assert node_base_for(wanted) == NODE_BASES[major]


def test_bases_come_from_debian_releases():
    assert {spec.release for spec in NODE_BASES.values()} == {"bookworm", "trixie"}
    assert NODE_BASES["20"].tag == "swefarm/base:node20"


def _package(name: str) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for path, text in {"package.json": json.dumps({"name": name, "bin": {name: "bin/cli.js"}}),
                           "bin/cli.js": "console.log(1)\n"}.items():  # fmt: skip
            data = text.encode()
            info = tarfile.TarInfo(f"package/{path}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.fixture
def registry():
    """A registry on 127.0.0.1 serving `good` (its integrity right) and `bad` (its integrity wrong)."""
    data = _package("tool")
    right = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    wrong = "sha512-" + base64.b64encode(hashlib.sha512(b"other").digest()).decode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            routes = {
                "/good/1.0.0": json.dumps({"dist": {"tarball": f"{base}/t.tgz", "integrity": right}}).encode(),
                "/bad/1.0.0": json.dumps({"dist": {"tarball": f"{base}/t.tgz", "integrity": wrong}}).encode(),
                "/t.tgz": data,
            }
            body = routes.get(self.path)
            self.send_response(200 if body else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_tool_is_checked_against_its_integrity(registry, tmp_path):
    data = fetch_tool("good", "1.0.0", registry)
    _add_tools(tmp_path, {"tool": data})
    link = tmp_path / "usr/local/bin/tool"
    assert link.is_symlink() and str(link.readlink()) == "/usr/local/lib/node_modules/tool/bin/cli.js"
    assert (tmp_path / "usr/local/lib/node_modules/tool/bin/cli.js").stat().st_mode & 0o111
    with pytest.raises(SetupError, match="does not match its sha512 integrity"):
        fetch_tool("bad", "1.0.0", registry)
    with pytest.raises(SetupError, match="cannot download missing@1.0.0"):
        fetch_tool("missing", "1.0.0", registry)


@pytest.mark.docker
@pytest.mark.slow
def test_the_node_base_holds_node_the_package_managers_python_and_the_sandbox_user(docker_client):
    spec = NODE_BASES["20"]
    assert ensure_node_base(docker_client, spec, log=lambda *a: None) in ("cached", "imported from cache", "built")
    script = "node --version; npm --version; pnpm --version; yarn --version; python3 -c 'print(1)'; id -u swefarm"
    out = docker_client.containers.run(spec.tag, ["bash", "-c", script], remove=True, network_mode="none").decode()
    lines = out.split()
    assert out.startswith("v20.") and TOOLS["npm"] in lines and TOOLS["pnpm"] in lines and TOOLS["yarn"] in lines
    assert lines[-1] == "1000"
    labels = docker_client.images.get(spec.tag).labels
    assert labels["swefarm.role"] == "base" and labels["swefarm.node"] == "20"
