"""The Python client of the swefarm REST API, and a Gymnasium env that plays over it.

    from swefarm.api.client import SwefarmClient

    with SwefarmClient("http://127.0.0.1:8600", token) as farm:
        env = farm.make_env("owner__repo-123", scaffold="mine@2")
        obs, info = env.reset(seed=0)
        obs, reward, terminated, truncated, info = env.step(action)   # exactly as in-process
        env.close()
        job = farm.evaluate(scaffold="mine", policy="openai:http://127.0.0.1:8000/v1", split="test")
        job = farm.wait(job.id)
        print(job.summary.score, job.summary.generalisation_gap)

Errors come back as the classes in `api.contract.errors` (an unknown session is a `NotFoundError`, a
`LookupError`; a bad request an `InvalidRequestError`, a `ValueError`). The URL and token default to
`SWEFARM_API_URL` and `SWEFARM_API_TOKEN`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import httpx
from swefarm.api.contract import NODELAY
from swefarm.api.contract.errors import UnavailableError, error_for
from swefarm.api.contract.schemas import (
    EvaluationPublic,
    ItemPublic,
    ScaffoldConfig,
    ScaffoldPublic,
    SessionPublic,
    SessionStarted,
    StepResult,
    TaskPage,
    TaskPublic,
    Trajectory,
    WorkerPublic,
)

from swefarm.settings import current

DEFAULT_URL = "http://127.0.0.1:8600"


class SwefarmClient:
    def __init__(self, url: str | None = None, token: str | None = None, timeout: float = 7200.0):
        self.url = (url or current().api_url or DEFAULT_URL).rstrip("/")
        token = token or current().api_token
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(
            base_url=self.url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=10.0),
            transport=httpx.HTTPTransport(socket_options=NODELAY),
        )

    def __enter__(self) -> SwefarmClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, body: Any = None, params: dict | None = None) -> Any:
        params = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            content = None if body is None else json.dumps(body, ensure_ascii=True, default=str).encode()
            headers = None if body is None else {"content-type": "application/json"}
            response = self.http.request(method, path, content=content, headers=headers, params=params)
        except httpx.TransportError as exc:
            raise UnavailableError(
                f"the swefarm API at {self.url} does not answer ({type(exc).__name__}: {exc})"
            ) from None
        if response.status_code >= 400:
            try:
                data = response.json()
                detail, name = data.get("detail", response.text), data.get("error")
            except ValueError:
                detail, name = response.text[:1000] or response.reason_phrase, None
            raise error_for(response.status_code, str(detail), name)
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.text

    # -- the farm ---------------------------------------------------------------------------------
    def health(self) -> dict:
        return self.request("GET", "/v1/health")

    def workers(self) -> list[WorkerPublic]:
        return [WorkerPublic.model_validate(w) for w in self.request("GET", "/v1/workers")]

    def metrics(self) -> str:
        return self.request("GET", "/metrics")

    # -- tasks ---------------------------------------------------------------------------------------
    def tasks(self, repo: str | None = None, status: str | None = None, offset: int = 0, limit: int = 100) -> TaskPage:
        params = {"repo": repo, "status": status, "offset": offset, "limit": limit}
        return TaskPage.model_validate(self.request("GET", "/v1/tasks", params=params))

    def task(self, task_id: str) -> TaskPublic:
        return TaskPublic.model_validate(self.request("GET", f"/v1/tasks/{task_id}"))

    # -- scaffolds -----------------------------------------------------------------------------------
    def create_scaffold(
        self,
        name: str,
        config: ScaffoldConfig | dict | None = None,
        parent: int | None = None,
        note: str = "",
        metadata: dict | None = None,
    ) -> ScaffoldPublic:
        if isinstance(config, ScaffoldConfig):
            config = config.model_dump()
        body = {"name": name, "config": config or {}, "parent": parent, "note": note, "metadata": metadata or {}}
        return ScaffoldPublic.model_validate(self.request("POST", "/v1/scaffolds", body))

    def scaffold(self, name: str, version: int | None = None) -> ScaffoldPublic:
        path = f"/v1/scaffolds/{name}" + (f"/versions/{version}" if version else "")
        return ScaffoldPublic.model_validate(self.request("GET", path))

    def scaffolds(self) -> list[ScaffoldPublic]:
        return [ScaffoldPublic.model_validate(s) for s in self.request("GET", "/v1/scaffolds")]

    def scaffold_versions(self, name: str) -> list[ScaffoldPublic]:
        return [ScaffoldPublic.model_validate(s) for s in self.request("GET", f"/v1/scaffolds/{name}/versions")]

    def amend_scaffold(
        self, name: str, version: int, note: str | None = None, metadata: dict | None = None
    ) -> ScaffoldPublic:
        body = {"note": note, "metadata": metadata}
        return ScaffoldPublic.model_validate(self.request("PATCH", f"/v1/scaffolds/{name}/versions/{version}", body))

    # -- sessions --------------------------------------------------------------------------------------
    def start_session(self, task_id: str, **options: Any) -> SessionStarted:
        """options: scaffold ("name" / "name@3"), config (inline), perturbation, seed, idle_timeout_s, messages_from."""
        if isinstance(options.get("config"), ScaffoldConfig):
            options["config"] = options["config"].model_dump()
        body = {"task_id": task_id, **{k: v for k, v in options.items() if v is not None}}
        return SessionStarted.model_validate(self.request("POST", "/v1/sessions", body))

    def step(self, session_id: str, action: Any, messages_from: int | None = None) -> StepResult:
        body = {"action": action, "messages_from": messages_from}
        return StepResult.model_validate(self.request("POST", f"/v1/sessions/{session_id}/step", body))

    def reset_session(self, session_id: str, seed: int | None = None) -> SessionStarted:
        return SessionStarted.model_validate(self.request("POST", f"/v1/sessions/{session_id}/reset", {"seed": seed}))

    def close_session(self, session_id: str) -> SessionPublic:
        return SessionPublic.model_validate(self.request("DELETE", f"/v1/sessions/{session_id}"))

    def session(self, session_id: str) -> SessionPublic:
        return SessionPublic.model_validate(self.request("GET", f"/v1/sessions/{session_id}"))

    def sessions(self, status: str | None = None, limit: int = 100) -> list[SessionPublic]:
        data = self.request("GET", "/v1/sessions", params={"status": status, "limit": limit})
        return [SessionPublic.model_validate(s) for s in data]

    def make_env(self, task_id: str, **options: Any) -> RemoteEnv:
        """A Gymnasium env whose episodes are sessions on this farm (options as for `start_session`)."""
        return RemoteEnv(self, task_id, **options)

    # -- evaluations ----------------------------------------------------------------------------------------
    def evaluate(self, policy: str, **options: Any) -> EvaluationPublic:
        """Queue an evaluation. options: scaffold or config, tasks or split/repo/limit, perturbation, repeats, seed."""
        if isinstance(options.get("config"), ScaffoldConfig):
            options["config"] = options["config"].model_dump()
        body = {"policy": policy, **{k: v for k, v in options.items() if v is not None}}
        return EvaluationPublic.model_validate(self.request("POST", "/v1/evaluations", body))

    def evaluation(self, evaluation_id: str) -> EvaluationPublic:
        return EvaluationPublic.model_validate(self.request("GET", f"/v1/evaluations/{evaluation_id}"))

    def evaluations(self, limit: int = 50) -> list[EvaluationPublic]:
        return [
            EvaluationPublic.model_validate(e) for e in self.request("GET", "/v1/evaluations", params={"limit": limit})
        ]

    def results(self, evaluation_id: str) -> list[ItemPublic]:
        return [ItemPublic.model_validate(i) for i in self.request("GET", f"/v1/evaluations/{evaluation_id}/results")]

    def trajectory(self, evaluation_id: str, item_id: int) -> Trajectory:
        data = self.request("GET", f"/v1/evaluations/{evaluation_id}/trajectories/{item_id}")
        return Trajectory.model_validate(data)

    def cancel(self, evaluation_id: str) -> EvaluationPublic:
        return EvaluationPublic.model_validate(self.request("DELETE", f"/v1/evaluations/{evaluation_id}"))

    def wait(
        self,
        evaluation_id: str,
        timeout: float | None = None,
        poll_s: float = 1.0,
        progress: Callable[[EvaluationPublic], None] | None = None,
    ) -> EvaluationPublic:
        """Poll until the job has ended; TimeoutError after `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.evaluation(evaluation_id)
            if progress is not None:
                progress(job)
            if job.status in ("done", "failed", "cancelled"):
                return job
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(
                    f"evaluation {evaluation_id} still {job.status} ({job.done}/{job.total}) after {timeout} s"
                )
            time.sleep(poll_s)


class RemoteEnv(gym.Env[str, Any]):
    """`reset` starts a session (or a new episode in it), `step` steps it, `close` ends it: SWEEnv's API over REST.

    Only the new chat messages travel on each step; `info["messages"]` is rebuilt here in full.
    """

    metadata = {"render_modes": []}

    def __init__(self, client: SwefarmClient, task_id: str, **options: Any):
        from swefarm.envs.spaces import AnyText
        from swefarm.envs.swe_env import MAX_TEXT

        self.client, self.task_id, self.options = client, task_id, options
        self.observation_space = AnyText(max_length=MAX_TEXT, min_length=0)
        self.action_space = AnyText(max_length=MAX_TEXT, min_length=0)
        self.session: SessionPublic | None = None
        self._messages: list[dict] = []

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[str, dict]:
        super().reset(seed=seed)
        options = {**self.options, **({"seed": seed} if seed is not None else {})}
        if self.session is not None and self.session.status in ("active", "ended"):
            started = self.client.reset_session(self.session.id, seed=options.get("seed"))
        else:
            started = self.client.start_session(self.task_id, **options)
        self.session = started.session
        self._messages = list(started.info.get("messages", []))
        return started.observation, started.info

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict]:
        if self.session is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        result = self.client.step(self.session.id, action, messages_from=len(self._messages))
        info = result.info
        if "messages" in info:
            self._messages.extend(info["messages"])
            info["messages"] = list(self._messages)
            info.pop("messages_from", None)
        if "infra_error" in info and info.get("session_status") == "failed":
            self.session = self.session.model_copy(update={"status": "failed"})
        return result.observation, result.reward, result.terminated, result.truncated, info

    def close(self) -> None:
        if self.session is not None and self.session.status in ("starting", "active", "ended"):
            try:
                self.client.close_session(self.session.id)
            except Exception:
                pass  # the farm expires it anyway
        self.session = None
        super().close()
