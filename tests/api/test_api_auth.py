"""Authentication is a dependency declared in the OpenAPI document, not path matching: an in-process app
(FastAPI's test client; no worker, no Docker) shows every route but health asks for the bearer scheme."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from swefarm.api.farm.settings import Settings
from swefarm.api.server.app import create_app

TOKEN = "t" * 32


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    home = tmp_path_factory.mktemp("auth")
    settings = Settings(database_url=f"sqlite:///{home / 'api.db'}", task_store=str(home / "tasks.db"),
                        api_tokens=[TOKEN], monitor_interval_s=60)  # fmt: skip
    with TestClient(create_app(settings)) as client:
        yield client


def test_the_openapi_document_declares_the_bearer_scheme_on_every_protected_operation(client):
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http", "scheme": "bearer", "description": "a token this farm was given (SWEFARM_API_TOKENS)",
    }  # fmt: skip
    unprotected = [
        f"{method.upper()} {path}"
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if {"HTTPBearer": []} not in operation.get("security", [])
    ]
    assert unprotected == ["GET /v1/health"]


def test_a_protected_route_without_a_known_token_is_a_401_with_the_scheme_named(client):
    for headers in ({}, {"authorization": "Bearer " + "x" * 32}, {"authorization": f"Basic {TOKEN}"}):
        response = client.get("/v1/scaffolds", headers=headers)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"] == "UnauthorizedError"
    assert client.get("/v1/scaffolds", headers={"authorization": f"Bearer {TOKEN}"}).json() == []
    assert client.get("/v1/health").status_code == 200
