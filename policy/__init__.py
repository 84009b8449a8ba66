"""Policies with interleaved thinking (transformers, vLLM, OpenAI-compatible backends)."""
