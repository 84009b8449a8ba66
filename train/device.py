"""Where training runs: CUDA (bf16, vLLM for rollouts) when a GPU is there, else the CPU in float32."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TrainingDevice:
    type: str  # "cuda" | "cpu"
    bf16: bool
    vllm: bool  # rollouts through vLLM (TRL's colocated engine) rather than transformers' generate

    @property
    def dtype(self) -> Any:
        import torch

        return torch.bfloat16 if self.bf16 else torch.float32


def training_device(prefer: str | None = None) -> TrainingDevice:
    """CUDA with bf16 (and vLLM when it is importable) when a GPU exists, else the CPU; `prefer="cpu"` forces it."""
    import importlib.util

    import torch

    if prefer != "cpu" and torch.cuda.is_available():
        return TrainingDevice(
            "cuda", bf16=torch.cuda.is_bf16_supported(), vllm=importlib.util.find_spec("vllm") is not None
        )
    return TrainingDevice("cpu", bf16=False, vllm=False)
