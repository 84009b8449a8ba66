"""The openai backend: any OpenAI-compatible server (vLLM, SGLang, our own `swefarm serve-model`, hosted APIs).

Token mode (the default wherever it works): the policy renders the context
itself with the model's tokenizer and sends the prompt as token ids to
`/v1/completions`, asking for the sampled ids and their logprobs (vLLM's
`return_token_ids` and `logprobs`). The context stays token-exact exactly as
with a local model. A server that echoes the prompt ids is checked against
ours. Where a server returns text but no ids, the text is re-tokenised and the
trajectory says so (`token_ids_exact: false`, `token_note`).

The tokenizer is the model's own: `tokenizer=` names it (a local directory or
hub id), else the served model's id is tried (vLLM's id is the path it
loaded, often a local directory).

Chat mode (`mode="chat"`, or automatically when no tokenizer can be loaded,
e.g. a hosted API): `/v1/chat/completions` with the messages, earlier
thinking included verbatim. The server's chat template decides what the model
sees, and the trajectory records that no token ids were available.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from swefarm.policy.engine import Generation
from swefarm.policy.model_policy import ModelFactory, ModelPolicy, split_options
from swefarm.policy.sampling import SamplingConfig
from swefarm.policy.trajectory import TurnRecord

from swefarm.errors import InfrastructureError
from swefarm.settings import current


class ServerError(InfrastructureError, RuntimeError):
    """The server refused or failed a request; the message carries its answer."""


class OpenAIEngine:
    name = "openai"

    def __init__(
        self,
        url: str,
        model: str | None = None,
        tokenizer: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 600.0,
        context_limit: int | None = None,
        mode: str = "auto",
        log=print,
    ):

        if mode not in ("auto", "tokens", "chat"):
            raise ValueError("mode is auto, tokens or chat")
        self.url = url.rstrip("/")
        if not self.url.endswith("/v1"):
            self.url += "/v1"
        key = api_key or current().openai_api_key
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._http = httpx.Client(timeout=timeout_s, headers=headers, limits=httpx.Limits(max_connections=64))
        served = self._models()
        if model is None:
            if not served:
                raise ServerError(f"{self.url}/models lists no model; name one with model=")
            model = served[0]["id"]
        self.model = model
        limit = next((m.get("max_model_len") for m in served if m.get("id") == model), None)
        self.context_limit = int(context_limit or limit or 4096)
        self.tokenizer = None
        self.mode = "chat"
        self.notes: list[str] = []
        if mode in ("auto", "tokens"):
            self.tokenizer, why = _load_tokenizer(tokenizer or model)
            if self.tokenizer is not None:
                self.mode = "tokens"
            elif mode == "tokens":
                raise ValueError(f"token mode needs the model's tokenizer: {why}")
            else:
                log(f"openai backend: chat mode, no token ids ({why})")
                self.notes.append(f"chat mode: no tokenizer for {model} ({why}), so no token ids")

    # -- HTTP ------------------------------------------------------------------------------------
    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._http.post(f"{self.url}{path}", json=body)
        except httpx.HTTPError as exc:
            raise ServerError(f"{self.url}{path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 400:
            raise ServerError(f"{self.url}{path} answered {response.status_code}: {response.text[:500]}")
        return response.json()

    def _models(self) -> list[dict[str, Any]]:
        try:
            response = self._http.get(f"{self.url}/models")
        except httpx.HTTPError as exc:
            raise ServerError(f"cannot reach the server at {self.url}: {exc}") from exc
        if response.status_code >= 400:
            raise ServerError(f"{self.url}/models answered {response.status_code}: {response.text[:300]}")
        return list(response.json().get("data", []))

    def _sampling(self, sampling: SamplingConfig, max_tokens: int, salt: int) -> dict[str, Any]:
        """The request fields every call shares; the seed moves with the context (`salt`) so turns differ."""
        body = {"model": self.model, "max_tokens": int(max_tokens), "temperature": sampling.temperature,
                "top_p": sampling.top_p}  # fmt: skip
        if sampling.stop:
            body["stop"] = list(sampling.stop)
        if sampling.seed is not None:
            body["seed"] = sampling.seed + salt
        return body

    # -- the Engine protocol -----------------------------------------------------------------------
    def generate(self, prompt_ids: list[int], sampling: SamplingConfig, max_new_tokens: int) -> Generation:
        body = {
            **self._sampling(sampling, max_new_tokens, len(prompt_ids)),
            "prompt": list(prompt_ids),
            "logprobs": 1,
            "return_token_ids": True,
            "skip_special_tokens": False,
            "include_stop_str_in_output": True,
        }
        start = time.perf_counter()
        answer = self._post("/completions", body)
        seconds = time.perf_counter() - start
        choice = answer["choices"][0]
        notes = []
        ids = choice.get("token_ids")
        text = choice.get("text") or ""
        exact = ids is not None
        if ids is None:
            ids = list(self.tokenizer.encode(text, add_special_tokens=False))
            notes.append("the server returned no token ids: completions were re-tokenised from text")
        logprobs = (choice.get("logprobs") or {}).get("token_logprobs")
        if logprobs is None or len(logprobs) != len(ids):
            logprobs = None
            notes.append("the server returned no per-token logprobs")
        prompt_echo = choice.get("prompt_token_ids") or answer.get("prompt_token_ids")
        reason = "length" if choice.get("finish_reason") == "length" else "stop"
        return Generation(
            ids=list(ids),
            logprobs=[float(x) for x in logprobs] if logprobs is not None else None,
            finish_reason=reason,
            seconds=seconds,
            prompt_ids=list(prompt_echo) if prompt_echo is not None else None,
            notes=notes,
            exact=exact,
        )

    def chat(self, messages: list[dict[str, Any]], sampling: SamplingConfig) -> tuple[str, float, str]:
        body = {**self._sampling(sampling, sampling.max_new_tokens, len(messages)), "messages": messages}
        start = time.perf_counter()
        answer = self._post("/chat/completions", body)
        choice = answer["choices"][0]
        reason = "length" if choice.get("finish_reason") == "length" else "stop"
        return choice["message"].get("content") or "", time.perf_counter() - start, reason

    def close(self) -> None:
        self._http.close()


class ChatPolicy:
    """Chat mode: messages in, text out; thinking kept verbatim in the history we send."""

    def __init__(self, engine: OpenAIEngine, sampling: SamplingConfig):
        self.engine, self.sampling = engine, sampling

    def begin(self, observation: str, info: dict[str, Any]) -> None:
        self.turns: list[TurnRecord] = []
        self.truncated_by = None

    def act(self, observation: str, info: dict[str, Any]) -> dict[str, Any]:
        if self.turns:
            self.finish(observation, info)
        messages = [{"role": m["role"], "content": m.get("content") or ""} for m in info["messages"]]
        messages = [m if m["role"] != "tool" else {"role": "user", "content": m["content"]} for m in messages]
        prefix = "<think>\n" if self.sampling.think else ""
        if prefix:
            messages.append({"role": "assistant", "content": prefix})  # a prefill, where the server continues it
        text, seconds, reason = self.engine.chat(messages, self.sampling)
        if prefix and not text.lstrip().startswith("<think>"):
            text = prefix + text
        self.turns.append(
            TurnRecord(
                index=len(self.turns),
                prompt_ids=[],
                completion_ids=[],
                text=text,
                finish_reason=reason,
                model_time_s=round(seconds, 6),
            )
        )
        return {"content": text, "model_time_s": seconds}

    def finish(self, observation: str, info: dict[str, Any]) -> None:
        if self.turns:
            self.turns[-1].observation = observation
            self.turns[-1].env_time_s = float(info.get("timing", {}).get("step_s", 0.0))

    def trajectory(self, **fields: Any):
        from swefarm.policy.trajectory import Trajectory

        return Trajectory(
            turns=self.turns,
            model=self.engine.model,
            sampling=self.sampling.model_dump(),
            token_ids_exact=False,
            token_note="; ".join(self.engine.notes) or "chat mode: no token ids",
            model_time_s=round(sum(t.model_time_s for t in self.turns), 6),
            **fields,
        )


class OpenAIFactory(ModelFactory):
    def __init__(self, url: str, **options: Any):
        sampling, rest = split_options(dict(options))
        observation_role = rest.pop("observation_role", "auto")
        super().__init__(OpenAIEngine(url, **rest), sampling, observation_role)

    def new(self, task: Any | None = None) -> ModelPolicy | ChatPolicy:
        if self.engine.mode == "chat":
            return ChatPolicy(self.engine, self.sampling)
        return ModelPolicy(self.engine, self.sampling, self.observation_role)


def _load_tokenizer(name: str):
    """(tokenizer, None) or (None, why): a model's tokenizer from a local directory, or a hub where one answers."""
    from pathlib import Path

    try:
        from transformers import AutoTokenizer
    except ImportError:
        return None, "transformers is not installed"
    try:
        local = Path(name).expanduser().exists()
        tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=local)
    except Exception as exc:
        return None, f"{type(exc).__name__}: {str(exc)[:200]}"
    if not getattr(tokenizer, "chat_template", None):
        return None, f"the tokenizer of {name} has no chat template"
    return tokenizer, None
