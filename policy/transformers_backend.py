"""The transformers backend: a local model on CUDA when there is a GPU, else the CPU.

Concurrent episodes call `generate` from their own threads; a batcher thread
gathers the calls that arrive within a few milliseconds of each other and
runs them as one left-padded `model.generate`, so eight episodes cost far
less than eight times one. Logprobs are those of the sampled ids under the
distribution they were sampled from (temperature and top-p applied), as an
RL trainer's importance ratio needs.

Contexts are append-only, so a turn that runs alone reuses the key/value cache
of its episode's previous turn (prefix caching, as vLLM does): only the new
observation is prefilled, not the whole context again. Caches of the most
recent sequences are kept (`cache_entries`); batched turns are prefilled in
full.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from swefarm.policy.chat import end_of_turn_ids
from swefarm.policy.device import pick_device, pick_dtype
from swefarm.policy.engine import Generation
from swefarm.policy.model_policy import ModelFactory, split_options
from swefarm.policy.models import resolve_model
from swefarm.policy.sampling import SamplingConfig


@dataclass
class _Request:
    prompt: list[int]
    sampling: SamplingConfig
    max_new_tokens: int
    future: Future


class TransformersEngine:
    name = "transformers"

    def __init__(
        self,
        model: Any = None,  # a path or hub id, None for the default model, or a loaded model (with tokenizer=)
        device: str | None = None,
        max_batch: int = 8,
        batch_wait_s: float = 0.01,
        cache_entries: int = 4,
        log=print,
        tokenizer=None,
    ):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a per-tensor bar on every load; ours say what is happening

        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        if model is None or isinstance(model, str):
            path = resolve_model(model, log=log)
            self.model = path  # what a client loads the tokenizer from (our server lists it as the model id)
            self.device = pick_device(device)
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            self._model = AutoModelForCausalLM.from_pretrained(path, dtype=pick_dtype(self.device)).to(self.device)
            self._model.eval()
        else:  # a model in memory that a trainer updates between calls: used as it is, never cached from
            if tokenizer is None:
                raise ValueError("an in-memory model needs its tokenizer (tokenizer=...)")
            self._model, self.tokenizer = model, tokenizer
            self.model = str(getattr(model.config, "_name_or_path", "") or "in-memory")
            self.device = str(next(model.parameters()).device)
            cache_entries = 0  # key/value caches go stale when the weights change
        self._torch = torch
        self.context_limit = int(getattr(self._model.config, "max_position_embeddings", 0) or 2048)
        self.end_ids = sorted(end_of_turn_ids(self.tokenizer))
        pad = self.tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else self.end_ids[0]
        self.max_batch, self.batch_wait_s = max_batch, batch_wait_s
        self.batches: list[int] = []  # sizes of the batches taken from the queue (for benchmarks)
        self.cache_entries = cache_entries
        self.cache_hits = 0
        self._caches: OrderedDict[tuple[int, ...], Any] = OrderedDict()  # sequence -> its key/value cache
        self._queue: queue.Queue[_Request | None] = queue.Queue()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="swefarm-transformers", daemon=True)
        self._thread.start()

    # -- the Engine protocol -------------------------------------------------------------------------
    def generate(self, prompt_ids: list[int], sampling: SamplingConfig, max_new_tokens: int) -> Generation:
        if self._closed:
            raise RuntimeError("the transformers engine is closed")
        if not prompt_ids:
            raise ValueError("the prompt is empty")
        request = _Request(list(prompt_ids), sampling, max(1, int(max_new_tokens)), Future())
        self._queue.put(request)
        return request.future.result()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join(timeout=60)

    # -- batching -------------------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            deadline = time.monotonic() + self.batch_wait_s
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # finish this batch, then stop
                    break
                batch.append(item)
            self.batches.append(len(batch))
            groups: dict[Any, list[_Request]] = {}
            for request in batch:
                s = request.sampling
                groups.setdefault((s.temperature, s.top_p, tuple(s.stop), s.seed), []).append(request)
            for group in groups.values():
                try:
                    results = self._run(group, cached=len(group) == 1 and self.cache_entries > 0)
                except Exception as exc:  # the callers see the model's error, the batcher lives on
                    for request in group:
                        request.future.set_exception(exc)
                    continue
                for request, result in zip(group, results, strict=True):
                    request.future.set_result(result)

    def _take_cache(self, prompt: list[int]):
        """The cache of the longest kept sequence that `prompt` extends (removed: the caller extends it)."""
        best = None
        for key in self._caches:
            if len(key) < len(prompt) and (best is None or len(key) > len(best)) and tuple(prompt[: len(key)]) == key:
                best = key
        if best is None:
            return None
        self.cache_hits += 1
        return self._caches.pop(best)

    def _keep_cache(self, ids: list[int], cache) -> None:
        length = min(cache.get_seq_length(), len(ids))
        extra = cache.get_seq_length() - length
        if extra > 0:  # what was generated past the cut is not part of the sequence
            cache.crop(-extra)  # a negative count removes that many (in every transformers version)
        if cache.get_seq_length() != length:
            return  # not a cache we can trust: the next turn prefills in full
        self._caches[tuple(ids[:length])] = cache
        while len(self._caches) > self.cache_entries:
            self._caches.popitem(last=False)

    def _run(self, group: list[_Request], cached: bool = False) -> list[Generation]:
        from transformers import DynamicCache, GenerationConfig

        torch = self._torch
        sampling = group[0].sampling
        width = max(len(r.prompt) for r in group)
        input_ids = torch.full((len(group), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(group), width), dtype=torch.long)
        for row, request in enumerate(group):  # left padding: every prompt ends where generation starts
            input_ids[row, width - len(request.prompt) :] = torch.tensor(request.prompt)
            attention[row, width - len(request.prompt) :] = 1
        sample = sampling.temperature > 0
        config = GenerationConfig(
            max_new_tokens=max(r.max_new_tokens for r in group),
            do_sample=sample,
            temperature=sampling.temperature if sample else None,
            top_p=sampling.top_p if sample else None,
            top_k=0 if sample else None,  # no top-k: logprobs are those of the full distribution
            eos_token_id=self.end_ids,
            pad_token_id=self.pad_id,
            return_dict_in_generate=True,
            output_scores=True,
        )
        if sampling.seed is not None:  # the same context and seed give the same turn
            torch.manual_seed(sampling.seed + len(group[0].prompt))
        start = time.perf_counter()
        extra = {}
        if cached:
            extra["past_key_values"] = self._take_cache(group[0].prompt) or DynamicCache(config=self._model.config)
        with torch.inference_mode():
            out = self._model.generate(
                input_ids=input_ids.to(self.device),
                attention_mask=attention.to(self.device),
                generation_config=config,
                **extra,
            )
            scores = self._model.compute_transition_scores(out.sequences, out.scores, normalize_logits=True)
        seconds = time.perf_counter() - start
        generated = out.sequences[:, width:].tolist()
        logprobs = scores.float().cpu().tolist()
        results = [
            self._trim(ids, lps, request, seconds) for ids, lps, request in zip(generated, logprobs, group, strict=True)
        ]
        if cached:
            self._keep_cache(group[0].prompt + results[0].ids, extra["past_key_values"])
        return results

    def _trim(self, ids: list[int], logprobs: list[float], request: _Request, seconds: float) -> Generation:
        """One row of the batch cut where its own turn ended: an end-of-turn id, a stop sequence, or its limit."""
        end = set(self.end_ids)
        reason = "length"
        cut = min(len(ids), request.max_new_tokens)
        for i, token in enumerate(ids[:cut]):
            if token in end:
                cut, reason = i + 1, "stop"
                break
        stops = request.sampling.stop
        if stops and _holds_stop(self.tokenizer.decode(ids[:cut], skip_special_tokens=False), stops):
            for i in range(cut):  # the shortest prefix that holds a stop sequence
                if _holds_stop(self.tokenizer.decode(ids[: i + 1], skip_special_tokens=False), stops):
                    cut, reason = i + 1, "stop"
                    break
        return Generation(
            ids=ids[:cut], logprobs=logprobs[:cut], finish_reason=reason, seconds=seconds, prompt_ids=request.prompt
        )


def _holds_stop(text: str, stops: list[str]) -> bool:
    return any(stop in text for stop in stops)


class TransformersFactory(ModelFactory):
    def __init__(self, model: str | None = None, **options: Any):
        sampling, rest = split_options(dict(options))
        observation_role = rest.pop("observation_role", "auto")
        super().__init__(TransformersEngine(model, **rest), sampling, observation_role)
