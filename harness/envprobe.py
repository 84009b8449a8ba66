"""What the test runner's environment holds, read inside a task image: run as `python -I -c SOURCE`.

Run with the environment's own interpreter (the venv's `python`) at image build time,
and again at grade time before the agent's change is applied, when only the image
and the repository at the base commit are there. It prints one JSON object:

- `plugins`: the pytest11 entry points installed (name, module, distribution), which
  grading loads by name with autoload off;
- `pytest`: pytest's version, or null;
- `modules`: the top-level module names the runner and its dependencies can import
  from outside the repository (the standard library and every site directory), which
  no file the agent adds may shadow;
- `roots`: the directories of the repository on `sys.path` (relative; "" is the root).

Standard library only.
"""

import json
import os
import sys

REPO = "/testbed"


def _module_name(entry):
    for suffix in (".py", ".pyc", ".pyd", ".so", ".pth"):
        if entry.endswith(suffix):
            return entry.split(".", 1)[0]
    if "." in entry or entry.startswith("__pycache__"):
        return None
    return entry


def site_modules(paths):
    names = set()
    for path in paths:
        if not path or not os.path.isdir(path) or path == REPO or path.startswith(REPO + "/"):
            continue
        try:
            entries = os.listdir(path)
        except OSError:
            continue
        for entry in entries:
            name = _module_name(entry)
            if name and name.isidentifier():
                names.add(name)
    return names


def stdlib_modules():
    names = set(getattr(sys, "stdlib_module_names", ())) | set(sys.builtin_module_names)
    if not getattr(sys, "stdlib_module_names", None):
        import sysconfig

        stdlib = sysconfig.get_paths()["stdlib"]
        names |= site_modules([stdlib, os.path.join(stdlib, "lib-dynload")])
    return names


def plugins():
    try:
        from importlib import metadata
    except ImportError:
        return []
    found = {}
    for dist in metadata.distributions():
        for ep in getattr(dist, "entry_points", ()):
            if ep.group == "pytest11" and ep.name not in found:
                name = dist.metadata["Name"] if dist.metadata else None
                found[ep.name] = {"name": ep.name, "module": ep.value.split(":", 1)[0].strip(), "dist": name}
    return sorted(found.values(), key=lambda p: p["name"])


def pytest_version():
    try:
        from importlib import metadata

        return metadata.version("pytest")
    except Exception:
        return None


def roots():
    out = {""}
    for path in sys.path:
        real = os.path.realpath(path) if path else ""
        if real == REPO:
            out.add("")
        elif real.startswith(REPO + "/"):
            out.add(real[len(REPO) + 1 :])
    return sorted(out)


def main():
    probe = {
        "python": ".".join(str(n) for n in sys.version_info[:3]),
        "pytest": pytest_version(),
        "plugins": plugins(),
        "modules": sorted(site_modules(sys.path) | stdlib_modules()),
        "roots": roots(),
    }
    sys.stdout.write(json.dumps(probe))


if __name__ == "__main__":
    main()
