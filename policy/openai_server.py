"""A small OpenAI-compatible server around the transformers backend (`swefarm serve-model`).

For machines where vLLM does not install, and for tests: it speaks the part of
the API the openai backend uses, the way vLLM speaks it. `/v1/completions`
takes a prompt as text or token ids and, with `return_token_ids`, answers the
prompt and completion ids; `logprobs` gives each sampled token's logprob.
`/v1/chat/completions` applies the model's chat template (a trailing assistant
message is continued, as a prefill). Concurrent requests are batched by the
engine. Bind it to 127.0.0.1 unless you mean to serve a network.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field
from swefarm.policy.sampling import SamplingConfig


class _Sampling(BaseModel):
    model: str | None = None
    max_tokens: int = Field(16, ge=1)
    temperature: float = Field(1.0, ge=0.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    stop: str | list[str] | None = None
    seed: int | None = None

    def config(self) -> SamplingConfig:
        stop = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        return SamplingConfig(
            temperature=self.temperature, top_p=self.top_p, max_new_tokens=self.max_tokens, stop=stop, seed=self.seed
        )


class CompletionRequest(_Sampling):
    prompt: str | list[int]
    logprobs: int | None = None
    return_token_ids: bool = False


class ChatRequest(_Sampling):
    messages: list[dict[str, Any]] = Field(min_length=1)


def create_app(engine) -> FastAPI:
    """The app for a loaded engine (anything with the Engine protocol and a tokenizer)."""
    app = FastAPI(title="swefarm model server", version="1")
    tok = engine.tokenizer

    def run(prompt_ids: list[int], request: _Sampling):
        if not prompt_ids:
            raise HTTPException(400, "the prompt is empty")
        if any(not 0 <= i < len(tok) for i in prompt_ids):
            raise HTTPException(400, f"the prompt holds token ids outside the vocabulary (0..{len(tok) - 1})")
        room = engine.context_limit - len(prompt_ids)
        if room < 1:
            raise HTTPException(
                400, f"the prompt has {len(prompt_ids)} tokens; this model's context is {engine.context_limit}"
            )
        return engine.generate(prompt_ids, request.config(), min(request.max_tokens, room))

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        entry = {"id": engine.model, "object": "model", "owned_by": "swefarm", "max_model_len": engine.context_limit}
        return {"object": "list", "data": [entry]}

    @app.post("/v1/completions")
    def completions(request: CompletionRequest) -> dict[str, Any]:
        if isinstance(request.prompt, str):
            prompt_ids = list(tok.encode(request.prompt, add_special_tokens=False))
        else:
            prompt_ids = list(request.prompt)
        generation = run(prompt_ids, request)
        choice: dict[str, Any] = {
            "index": 0,
            "text": tok.decode(generation.ids, skip_special_tokens=False),
            "finish_reason": generation.finish_reason,
            "logprobs": None,
        }
        if request.logprobs is not None and generation.logprobs is not None:
            choice["logprobs"] = {
                "tokens": [tok.decode([i], skip_special_tokens=False) for i in generation.ids],
                "token_logprobs": generation.logprobs,
            }
        if request.return_token_ids:
            choice["token_ids"] = generation.ids
            choice["prompt_token_ids"] = prompt_ids
        return _answer("text_completion", engine.model, choice, len(prompt_ids), len(generation.ids))

    @app.post("/v1/chat/completions")
    def chat(request: ChatRequest) -> dict[str, Any]:
        messages = request.messages
        prefill = messages[-1]["role"] == "assistant"
        try:
            text = tok.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=not prefill, continue_final_message=prefill
            )
        except Exception as exc:
            raise HTTPException(400, f"the chat template cannot render these messages: {exc}") from exc
        generation = run(list(tok.encode(text, add_special_tokens=False)), request)
        content = tok.decode(generation.ids, skip_special_tokens=True)
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": generation.finish_reason,
        }
        return _answer("chat.completion", engine.model, choice, 0, len(generation.ids))

    return app


def _answer(kind: str, model: str, choice: dict[str, Any], prompt_tokens: int, completion_tokens: int) -> dict:
    return {
        "id": f"swefarm-{uuid.uuid4().hex[:12]}",
        "object": kind,
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def serve(model: str | None = None, host: str = "127.0.0.1", port: int = 8000, device: str | None = None) -> None:
    """Load the model and serve it until interrupted."""
    import uvicorn
    from swefarm.policy.models import resolve_model
    from swefarm.policy.transformers_backend import TransformersEngine

    engine = TransformersEngine(resolve_model(model), device=device)
    try:
        uvicorn.run(create_app(engine), host=host, port=port, log_level="warning")
    finally:
        engine.close()


class BackgroundServer:
    """The server on 127.0.0.1 and a free port, in a thread of this process (tests and benchmarks).

    with BackgroundServer(engine) as server:
        load_policy(f"openai:{server.url}")
    """

    def __init__(self, engine):
        self.engine = engine
        self.url = ""
        self._server = self._thread = self._socket = None

    def start(self) -> BackgroundServer:
        import socket
        import threading

        import uvicorn

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._socket = sock
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
        config = uvicorn.Config(create_app(self.engine), lifespan="off", log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="swefarm-model-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the model server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
