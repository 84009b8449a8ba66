"""Perturbation layer: system prompts, tools, layouts, user prompts and tool responses."""
