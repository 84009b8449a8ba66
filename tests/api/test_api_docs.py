"""/docs and /redoc render with no network beyond 127.0.0.1 (their assets come from the fastapi-offline
package, not a CDN), checked in headless Chromium as a person opens them; the OpenAPI document declares
the bearer scheme, so Swagger UI shows its Authorize button."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

pytestmark = [pytest.mark.browser]

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # a browser with no way out: every host but 127.0.0.1 resolves nowhere
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=127.0.0.1",
]  # fmt: skip


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("these tests need Chromium: apt-get install chromium (make test installs it)")
    return found


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    from swefarm.api.local import LocalFarm

    home = tmp_path_factory.mktemp("docs-farm")
    with LocalFarm(home, workers=0, task_store=str(home / "tasks.db")) as farm:
        yield farm


def render(url: str, profile, screenshot=None) -> str:
    """The page's DOM after its scripts ran (and a screenshot when asked)."""
    args = [chromium(), *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=15000", "--window-size=1280,900"]
    if screenshot is not None:
        subprocess.run([*args, f"--screenshot={screenshot}", url], capture_output=True, timeout=120)
    done = subprocess.run([*args, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_openapi_document_declares_the_bearer_scheme(api):
    with api.client() as client:
        spec = client.request("GET", "/openapi.json")
    assert spec["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http", "scheme": "bearer", "description": "a token this farm was given (SWEFARM_API_TOKENS)",
    }  # fmt: skip
    step = spec["paths"]["/v1/sessions/{session_id}/step"]["post"]
    assert step["security"] == [{"HTTPBearer": []}]
    assert "security" not in spec["paths"]["/v1/health"]["get"]


def test_swagger_ui_renders_offline_with_an_authorize_button(api, tmp_path):
    html = subprocess.run(["curl", "-sS", f"{api.url}/docs"], capture_output=True, text=True, timeout=30).stdout
    assert not re.findall(r'(?:src|href)="https?://(?!127\.0\.0\.1)', html), html  # nothing from elsewhere
    dom = render(f"{api.url}/docs", tmp_path / "profile", screenshot=tmp_path / "docs.png")
    assert 'class="swagger-ui' in dom
    assert "btn authorize" in dom  # the bearer scheme's Authorize button
    for path in ("/v1/sessions", "/v1/sessions/{session_id}/step", "/v1/evaluations", "/v1/tasks"):
        assert f"<span>{path}" in dom or f">{path}<" in dom or path in re.sub(r"<[^>]+>", "", dom), path
    assert (tmp_path / "docs.png").stat().st_size > 10_000  # a page, not a blank


def test_redoc_renders_offline(api, tmp_path):
    html = subprocess.run(["curl", "-sS", f"{api.url}/redoc"], capture_output=True, text=True, timeout=30).stdout
    assert not re.findall(r'(?:src|href)="https?://(?!127\.0\.0\.1)', html), html
    dom = render(f"{api.url}/redoc", tmp_path / "profile")
    text = re.sub(r"<[^>]+>", " ", dom)
    assert "HTTPBearer" in text and "Authorization" in text  # the security section
    assert "/v1/sessions/{session_id}/step" in text and "Something went wrong" not in text
