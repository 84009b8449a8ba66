"""Per-repository corrections to inferred environments, kept in YAML and deep-merged over them.

A table maps "owner/name" to `Environment` fields, with an optional `versions` map of task version
-> fields applied on top of the repository's own:

    django/django:
      install: ["uv pip install -e ."]
      versions:
        "4.2": {python: "3.11"}

Mappings (env_vars) merge key by key; lists and strings replace what inference found. Repository
names match without regard to case. YAML floats stay text, so `3.10` means "3.10", not 3.1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from swefarm.tasks.models import Environment

#: The overrides that ship with swefarm.
BUILTIN_OVERRIDES = Path(__file__).with_name("overrides.yaml")
_FIELDS = frozenset(Environment.model_fields)


class OverrideError(ValueError):
    """An overrides file that cannot be used; the message names the file and the key."""


class _TextLoader(yaml.SafeLoader):
    """Safe YAML that keeps floats as they are written (3.10 is "3.10")."""


_TextLoader.yaml_implicit_resolvers = {
    key: [r for r in resolvers if r[0] != "tag:yaml.org,2002:float"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_overrides(path: str | Path | None = None, *, include_builtin: bool = True) -> dict[str, dict[str, Any]]:
    """The overrides table: the built-in one, with the file at `path` (a user's) merged over it.

    With `include_builtin=False` only `path` is read. Raises OverrideError for a file that is
    missing, not YAML, or shaped wrongly, naming the file and the offending key.
    """
    table = _read(BUILTIN_OVERRIDES) if include_builtin else {}
    if path is not None:
        table = merge_overrides(table, _read(Path(path)))
    return table


def merge_overrides(*tables: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Tables merged left to right (later ones win), repositories matched without regard to case."""
    out: dict[str, dict[str, Any]] = {}
    for table in tables:
        for repo, entry in table.items():
            out[repo.lower()] = deep_merge(out.get(repo.lower(), {}), entry)
    return out


def override_for(repo: str, version: str, table: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The fields to merge for `repo` at task `version`: the repository's, then its version's."""
    entry = next((e for key, e in table.items() if key.lower() == repo.lower()), None) or {}
    patch = {k: v for k, v in entry.items() if k != "versions"}
    versions = entry.get("versions") or {}
    return deep_merge(patch, versions.get(str(version), {})) if str(version) in versions else patch


def apply_overrides(
    env: Environment,
    repo: str,
    version: str,
    table: dict[str, dict[str, Any]] | None = None,
) -> Environment:
    """`env` with the overrides for `repo` and `version` merged over it (`table` None: the built-in one)."""
    patch = override_for(repo, version, load_overrides() if table is None else table)
    if not patch:
        return env
    if unknown := sorted(set(patch) - _FIELDS):
        raise OverrideError(f"overrides for {repo!r}: {', '.join(map(repr, unknown))} not Environment fields")
    try:
        return Environment.model_validate(deep_merge(env.model_dump(), patch))
    except ValidationError as exc:
        raise OverrideError(f"overrides for {repo!r}: {_first_error(exc)}") from None


def deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """`base` with `patch` over it: nested mappings merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _read(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_TextLoader)
    except OSError as exc:
        raise OverrideError(f"overrides file {path}: cannot be read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise OverrideError(f"overrides file {path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise OverrideError(f"overrides file {path}: expected a mapping of 'owner/name' to fields at the top")
    for repo, entry in data.items():
        _check_entry(path, (str(repo),), entry)
    return {str(repo).lower(): _text_versions(entry) for repo, entry in data.items()}


def _text_versions(entry: dict[str, Any]) -> dict[str, Any]:
    if "versions" not in entry:
        return entry
    return {**entry, "versions": {str(v): sub for v, sub in entry["versions"].items()}}


def _check_entry(path: Path, keys: tuple[str, ...], entry: Any) -> None:
    where = " -> ".join(map(repr, keys))
    if not isinstance(entry, dict):
        raise OverrideError(f"overrides file {path}, key {where}: expected a mapping of Environment fields")
    for key, value in entry.items():
        if key == "versions" and len(keys) == 1:
            if not isinstance(value, dict):
                raise OverrideError(f"overrides file {path}, key {where} -> 'versions': expected a mapping")
            for version, sub in value.items():
                _check_entry(path, (*keys, "versions", str(version)), sub)
        elif key not in _FIELDS:
            raise OverrideError(
                f"overrides file {path}, key {where} -> {key!r}: not an Environment field "
                f"(one of {', '.join(sorted(_FIELDS))})"
            )
    try:
        Environment.model_validate({k: v for k, v in entry.items() if k != "versions"})
    except ValidationError as exc:
        raise OverrideError(f"overrides file {path}, key {where} -> {_first_error(exc)}") from None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"])
    return f"{field!r}: {err['msg']}"
