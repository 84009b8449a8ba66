"""An Engine over a vLLM `LLM` object in this process: TRL's colocated engine on a GPU, token ids in and out.

TRL syncs the trainer's weights into its `vllm_generation.llm` before each
rollout; episodes then sample from it through this engine, prompt ids in and
sampled ids with their logprobs out (logprobs of the processed distribution,
temperature applied, as TRL's importance-sampling correction expects). vLLM's
offline `LLM` is not thread-safe, so concurrent episodes take turns through a
lock; the GPU path is selected automatically by `train.device` and is not
exercised on CPU-only machines.
"""

from __future__ import annotations

import threading
import time

from swefarm.policy.chat import end_of_turn_ids
from swefarm.policy.engine import Generation
from swefarm.policy.sampling import SamplingConfig


class ColocatedVLLMEngine:
    name = "vllm-colocated"

    def __init__(self, llm, tokenizer):
        self.llm, self.tokenizer = llm, tokenizer
        self.model = str(getattr(tokenizer, "name_or_path", "") or "vllm")
        config = llm.llm_engine.model_config
        self.context_limit = int(getattr(config, "max_model_len", 0) or 4096)
        self.end_ids = sorted(end_of_turn_ids(tokenizer))
        self._lock = threading.Lock()

    def generate(self, prompt_ids: list[int], sampling: SamplingConfig, max_new_tokens: int) -> Generation:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        params = SamplingParams(
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=max_new_tokens,
            stop=sampling.stop or None,
            stop_token_ids=self.end_ids,
            logprobs=0,
            seed=sampling.seed,
        )
        start = time.perf_counter()
        with self._lock:
            result = self.llm.generate([TokensPrompt(prompt_token_ids=list(prompt_ids))], params, use_tqdm=False)[0]
        completion = result.outputs[0]
        ids = list(completion.token_ids)
        logprobs = [entry[token].logprob for token, entry in zip(ids, completion.logprobs or [], strict=False)]
        return Generation(
            ids=ids,
            logprobs=logprobs if len(logprobs) == len(ids) else None,
            finish_reason="length" if completion.finish_reason == "length" else "stop",
            seconds=time.perf_counter() - start,
            prompt_ids=list(result.prompt_token_ids or prompt_ids),
        )

    def close(self) -> None:
        pass  # TRL owns the LLM
