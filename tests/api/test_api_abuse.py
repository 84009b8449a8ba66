"""The API against bad clients, on a real server with no worker: tokens, body sizes, malformed bodies,
another token's resources; every answer a 4xx with a message, never a 500."""

from __future__ import annotations

import httpx
import pytest
from swefarm.api.contract.errors import NotFoundError, UnavailableError
from swefarm.api.local import LocalFarm
from swefarm.tasks.models import Task, TaskStatus
from swefarm.tasks.store import TaskStore

pytestmark = pytest.mark.farm  # a real `swefarm serve` process (no worker, no Docker)

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("abuse")
    store = home / "tasks.db"
    task = Task(
        instance_id="acme__calc-1", repo="acme/calc", base_commit="0" * 40, patch="GOLD PATCH",
        test_patch="TEST PATCH", problem_statement="add() subtracts", FAIL_TO_PASS=["tests/test_calc.py::test_add"],
        status=TaskStatus.VALID,
    )  # fmt: skip
    TaskStore(store).put(task)
    farm = LocalFarm(home, workers=0, tokens=2, task_store=str(store), max_body_bytes=LIMIT, monitor_interval_s=0.5)
    with farm:
        yield farm


@pytest.fixture
def http(server):
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def auth(token: str) -> dict:
    return {"authorization": f"Bearer {token}"}


def check_error(response: httpx.Response, status: int, *words: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"] and body["error"]
    for word in words:
        assert word in body["detail"], body["detail"]
    return body


PROTECTED = [
    ("GET", "/v1/tasks"),
    ("GET", "/v1/tasks/acme__calc-1"),
    ("POST", "/v1/sessions"),
    ("GET", "/v1/sessions/s-1"),
    ("POST", "/v1/sessions/s-1/step"),
    ("DELETE", "/v1/sessions/s-1"),
    ("POST", "/v1/scaffolds"),
    ("GET", "/v1/evaluations"),
    ("GET", "/v1/workers"),
    ("GET", "/metrics"),
]


@pytest.mark.parametrize("method, path", PROTECTED)
def test_a_missing_or_wrong_token_is_a_401(http, server, method, path):
    body = {"task_id": "acme__calc-1"} if method == "POST" else None
    for headers, words in (
        ({}, ["missing bearer token"]),
        (auth("not-the-token-at-all-0000"), ["invalid bearer token"]),
        (auth(server.token + "x"), ["invalid"]),
        ({"authorization": f"Basic {server.token}"}, ["Bearer"]),
        ({"authorization": "Bearer"}, ["Bearer"]),
    ):
        response = http.request(method, path, json=body, headers=headers)
        check_error(response, 401, *words)
        assert response.headers["www-authenticate"] == "Bearer"


def test_health_and_the_openapi_document_need_no_token(http):
    health = http.get("/v1/health").json()
    assert health["database"] == "ok" and health["workers_alive"] == 0 and health["status"] == "degraded"
    spec = http.get("/openapi.json").json()
    assert {"/v1/sessions", "/v1/sessions/{session_id}/step", "/v1/evaluations", "/v1/scaffolds"} <= set(spec["paths"])


def test_an_oversized_body_is_a_413_with_or_without_a_length(http, server):
    big = {"action": "x" * (LIMIT + 10)}
    check_error(http.post("/v1/sessions/s-1/step", json=big, headers=auth(server.token)), 413, "larger than", "bytes")

    def chunks():
        for _ in range(LIMIT // 1000 + 10):
            yield b" " * 1000

    response = http.post(
        "/v1/scaffolds", content=chunks(), headers={**auth(server.token), "content-type": "application/json"}
    )
    check_error(response, 413, "larger than")


MALFORMED = [
    (b"{not json", "not valid JSON"),
    (b"", "body"),
    (b"[1, 2, 3]", "JSON object"),
    (b'"just a string"', "JSON object"),
    (b"{}", "task_id"),
    (b'{"task_id": 7}', "task_id"),
    (b'{"task_id": "acme__calc-1", "seed": 1e400}', "seed"),
    (b'{"task_id": "acme__calc-1", "seed": 99999999999999999999999}', "seed"),
    (b'{"task_id": "acme__calc-1", "bogus": 1}', "bogus"),
    (b'{"task_id": "acme__calc-1", "perturbation": "/etc/passwd"}', "perturbation"),
    (b'{"task_id": "acme__calc-1", "scaffold": "../../etc"}', "scaffold"),
    (b'{"task_id": "acme__calc-1", "config": {"system_prompt": "{workdir.__class__}"}}', "placeholder"),
    (b'{"task_id": "acme__calc-1", "config": {"tools": ["bash", "rm_rf"]}}', "unknown tool"),
    (b'{"task_id": "acme__calc-1", "config": {"tool_format": "xml"}}', "tool format"),
    (b'{"task_id": "acme__calc-1", "config": {"sandbox": {"network": true}}}', "sandbox"),
    (b'{"task_id": "acme__calc-1", "config": {"reward": "/etc/shadow"}}', "reward"),
    (b"[" * 30000 + b"]" * 30000, ""),
    (b'{"task_id": "\\ud800"}', ""),
    (b"\xff\xfe\x00garbage", ""),
]


@pytest.mark.parametrize("body, word", MALFORMED)
def test_a_malformed_body_is_a_4xx_that_says_what_is_wrong(http, server, body, word):
    response = http.post(
        "/v1/sessions", content=body, headers={**auth(server.token), "content-type": "application/json"}
    )
    assert 400 <= response.status_code < 500, response.text
    check_error(response, response.status_code, word)


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("POST", "/v1/sessions/s-nope/step", {"action": "ls"}),
        ("POST", "/v1/sessions/s-nope/step", {"action": 12}),
        ("POST", "/v1/sessions/s-nope/step", {}),
        ("POST", "/v1/sessions/s-nope/reset", {"seed": -1}),
        ("POST", "/v1/evaluations", {"policy": "empty", "tasks": []}),
        ("POST", "/v1/evaluations", {"policy": "empty", "repeats": 10**9}),
        ("POST", "/v1/evaluations", {"policy": "", "tasks": ["acme__calc-1"]}),
        ("POST", "/v1/scaffolds", {"name": "../x"}),
        ("POST", "/v1/scaffolds", {"name": "ok", "config": {"max_steps": 0}}),
        ("POST", "/v1/scaffolds", {"name": "ok", "config": {"max_steps": 10**7}}),
        ("POST", "/v1/scaffolds", {"name": "ok", "metadata": {"x": "y" * 20000}}),
        ("PATCH", "/v1/scaffolds/nope/versions/1", {"note": "n"}),
        ("GET", "/v1/scaffolds/nope/versions/0", None),
        ("GET", "/v1/tasks?limit=100000", None),
        ("GET", "/v1/tasks?status=bogus", None),
        ("GET", "/v1/tasks?created_after=yesterday", None),
        ("GET", "/v1/evaluations/e-nope/trajectories/abc", None),
        ("GET", "/v1/nothing/here", None),
        ("PUT", "/v1/sessions", {"task_id": "x"}),
    ],
)
def test_bad_requests_on_every_resource_are_4xx(http, server, method, path, body):
    response = http.request(method, path, json=body, headers=auth(server.token))
    assert 400 <= response.status_code < 500, response.text
    check_error(response, response.status_code)


def test_the_task_view_hides_the_answer(server):
    with server.client() as client:
        raw = client.request("GET", "/v1/tasks/acme__calc-1")
        listed = client.request("GET", "/v1/tasks")
    text = str(raw) + str(listed)
    assert "GOLD PATCH" not in text and "TEST PATCH" not in text and "test_add" not in text
    assert raw["fail_to_pass_count"] == 1
    with server.client() as client, pytest.raises(NotFoundError):
        client.task("acme__nothing-9")


def test_no_worker_is_a_503_and_records_nothing(server):
    with server.client() as client:
        with pytest.raises(UnavailableError, match="no worker"):
            client.start_session("acme__calc-1")
        assert client.sessions() == []


def test_scaffolds_are_versioned_and_private_to_their_token(server):
    with server.client() as mine, server.client(server.tokens[1]) as theirs:
        first = mine.create_scaffold("agent", {"max_steps": 5}, note="start")
        second = mine.create_scaffold("agent", {"max_steps": 9}, parent=1, note="more steps")
        theirs_first = theirs.create_scaffold("agent", {"max_steps": 3})
        assert (first.version, second.version, theirs_first.version) == (1, 2, 1)
        assert mine.scaffold("agent").config.max_steps == 9 and mine.scaffold("agent", 1).config.max_steps == 5
        assert theirs.scaffold("agent").config.max_steps == 3
        assert [v.note for v in mine.scaffold_versions("agent")] == ["start", "more steps"]
        amended = mine.amend_scaffold("agent", 2, metadata={"score": 0.5})
        assert amended.metadata == {"score": 0.5} and amended.config.max_steps == 9
        assert "agent" in [s.name for s in mine.scaffolds()]
        with pytest.raises(NotFoundError):
            theirs.scaffold("agent", 2)


def test_a_queued_job_is_private_and_can_be_cancelled(server):
    with server.client() as mine, server.client(server.tokens[1]) as theirs:
        job = mine.evaluate("empty", tasks=["acme__calc-1"], repeats=3)
        assert (job.status, job.total, job.progress) == ("queued", 3, 0.0)
        with pytest.raises(NotFoundError):
            theirs.cancel(job.id)
        assert mine.cancel(job.id).status == "cancelled"
        assert [r.status for r in mine.results(job.id)] == ["cancelled"] * 3
