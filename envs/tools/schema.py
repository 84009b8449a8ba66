"""Tool specs as OpenAI function schemas, and a small checker for the arguments an agent sends."""

from __future__ import annotations

from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def function_spec(name: str, description: str, properties: dict[str, dict], required: list[str]) -> dict:
    """An OpenAI function-calling tool spec."""
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


def check_arguments(spec: dict, arguments: Any) -> str | None:
    """None when `arguments` fit the spec's parameters; else a message for the agent saying what is wrong."""
    fn = spec["function"]
    params = fn["parameters"]
    props: dict[str, dict] = params.get("properties", {})
    if not isinstance(arguments, dict):
        return f"the arguments of {fn['name']} must be an object, not {type(arguments).__name__}"
    missing = [k for k in params.get("required", []) if k not in arguments]
    if missing:
        return f"{fn['name']} needs the argument(s) {', '.join(missing)}"
    unknown = [k for k in arguments if k not in props]
    if unknown:
        return f"{fn['name']} has no argument(s) {', '.join(unknown)}; it takes {', '.join(props) or 'none'}"
    for key, value in arguments.items():
        prop = props[key]
        kinds = _TYPES.get(prop.get("type", ""), ())
        bad_bool = isinstance(value, bool) and bool not in kinds  # True is an int to Python, not to JSON
        if kinds and (not isinstance(value, kinds) or bad_bool):
            return f"argument {key} of {fn['name']} must be a {prop['type']}, not {type(value).__name__}"
        if "enum" in prop and value not in prop["enum"]:
            return f"argument {key} of {fn['name']} must be one of {', '.join(map(str, prop['enum']))}"
    return None


def coerce(spec: dict, arguments: dict[str, str]) -> dict[str, Any]:
    """Turn string-valued arguments (as XML formats carry them) into the types the spec declares.

    A value that does not convert is left as it is, so `check_arguments` reports it.
    """
    import json

    props = spec["function"]["parameters"].get("properties", {})
    out: dict[str, Any] = {}
    for key, value in arguments.items():
        kind = props.get(key, {}).get("type")
        out[key] = value
        if not isinstance(value, str) or kind in (None, "string"):
            continue
        text = value.strip()
        try:
            if kind == "integer":
                out[key] = int(text)
            elif kind == "number":
                out[key] = float(text)
            elif kind == "boolean" and text.lower() in ("true", "false"):
                out[key] = text.lower() == "true"
            elif kind in ("array", "object"):
                out[key] = json.loads(text)
        except ValueError:
            pass
    return out
