"""What a policy reads of the episode's tool interface from the reset info.

The env says which tool is which (`info["tool_interface"]`: name -> kind and
argument names), since a perturbed episode renames tools and arguments; an
env that does not say gets the default names, found by what they look like.
"""

from __future__ import annotations

from typing import Any

from swefarm.envs.config import call_format


def tool_interface(info: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{tool name: {"kind", "arguments": {argument: name}}} for the episode's tools."""
    if info.get("tool_interface"):
        return info["tool_interface"]
    out = {}
    for spec in info["tools"]:
        name = spec["function"]["name"]
        props = set(spec["function"]["parameters"].get("properties", {}))
        if {"command", "path", "old_str", "new_str"} <= props:
            kind = "editor"
        else:
            kind = next((k for k in ("bash", "submit", "search", "apply_patch") if k in name), name)
        out[name] = {"kind": kind, "arguments": {p: p for p in props}}
    return out


def episode_format(info: dict[str, Any], interface: dict[str, dict[str, Any]] | None = None):
    """The tool-call format the env parses this episode's replies with (told its bash and submit tools)."""
    interface = interface or tool_interface(info)
    names = {entry["kind"]: name for name, entry in interface.items()}
    bash_args: dict[str, str] = next((e["arguments"] for e in interface.values() if e["kind"] == "bash"), {})
    return call_format(info["tool_format"], names, bash_args)
