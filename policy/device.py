"""Where a local model runs: CUDA when a GPU is present, Apple's MPS, else the CPU."""

from __future__ import annotations


def pick_device(requested: str | None = None) -> str:
    """`requested` when given ("cpu", "cuda", "cuda:1", ...); otherwise the best device torch sees."""
    import torch

    if requested and requested != "auto":
        if requested.startswith("cuda") and not torch.cuda.is_available():
            raise RuntimeError(f"device {requested!r} asked for, but torch sees no CUDA GPU here")
        return requested
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(device: str):
    """bfloat16 on GPUs that have it, float16 on other accelerators, float32 on the CPU."""
    import torch

    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return torch.float32
