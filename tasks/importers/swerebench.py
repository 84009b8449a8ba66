"""SWE-rebench records: SWE-bench's fields plus a per-instance `install_config` recipe.

What the recipe holds is mapped into `Task.environment`, and the recipe itself is kept verbatim
in `environment.raw`. The pinned `requirements` and the conda `environment` text, and `meta`,
are kept in `Task.extra` under their own names.
"""

from __future__ import annotations

from typing import Any

from swefarm.tasks.importers.swebench import with_provenance
from swefarm.tasks.models import Environment, Task

# install_config key -> Environment field, for the keys that map one to one
_LIST_KEYS = {
    "install": "install",
    "pip_packages": "packages",
    "pre_install": "pre_install",
    "reqs_path": "requirements_files",
    "env_yml_path": "conda_env_files",
}


def from_swerebench(record: dict[str, Any], source: str = "swe-rebench") -> Task:
    """A task from one SWE-rebench record, with its install recipe as the environment."""
    record = dict(record)
    config = record.pop("install_config", None) or {}
    if not isinstance(config, dict):
        raise ValueError("field 'install_config': expected an object")
    extra = {k: record.pop(k) for k in ("requirements", "environment", "meta") if k in record}
    license_name = record.pop("license_name", None)
    image = record.pop("image_name", None) or record.pop("docker_image", None)
    task = Task.model_validate(record)
    env = environment_from_install_config(config, image=image)
    prov = task.provenance.model_copy(update={"license": license_name or task.provenance.license})
    task = task.model_copy(update={"environment": env, "provenance": prov, "extra": {**task.extra, **extra}})
    return with_provenance(task, source)


def environment_from_install_config(config: dict[str, Any], image: str | None = None) -> Environment:
    """Map a SWE-rebench / SWE-bench install spec onto `Environment`, keeping the spec as `raw`."""
    fields: dict[str, Any] = {"raw": dict(config), "image": image}
    if config.get("python") is not None:
        fields["python"] = str(config["python"])
    for key, name in _LIST_KEYS.items():
        if config.get(key):
            fields[name] = _as_list(config[key], split=key == "pip_packages")
    if config.get("test_cmd"):
        cmd = config["test_cmd"]
        fields["test_command"] = " && ".join(cmd) if isinstance(cmd, list) else str(cmd)
    if config.get("log_parser"):
        fields["log_parser"] = str(config["log_parser"])
    for key in ("env_vars", "env_vars_test"):
        if isinstance(config.get(key), dict):
            fields.setdefault("env_vars", {}).update({str(k): str(v) for k, v in config[key].items()})
    return Environment(**fields)


def _as_list(value: Any, split: bool) -> list[str]:
    if isinstance(value, str):
        return value.split() if split else [value]
    return [str(v) for v in value]
