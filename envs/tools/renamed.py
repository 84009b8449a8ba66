"""A tool under another interface: its arguments renamed and reordered, its description replaced.

Scaffolds name the same capability differently (`command` or `cmd`, `old_str`
or `old_string`), and a model trained on one must cope with the other. The
wrapped tool's spec shows only the new names, so `check_arguments` rejects the
old ones with a message naming the arguments that exist; the call is handed to
the tool under the names it knows. The tool's own refusals (the editor's "needs
old_str") are reworded with the new names.
"""

from __future__ import annotations

import re
from copy import deepcopy
from typing import Any

from swefarm.envs.models import ToolResult
from swefarm.sandbox import Sandbox


class RenamedTool:
    """`tool` whose argument `a` is called `arguments[a]`, listed in that order; the others keep their names."""

    def __init__(self, tool, arguments: dict[str, str] | None = None, description: str | None = None):
        fn = tool.spec["function"]
        props: dict[str, dict] = fn["parameters"].get("properties", {})
        arguments = dict(arguments or {})
        unknown = [a for a in arguments if a not in props]
        if unknown:
            raise ValueError(
                f"tool {tool.name} has no argument(s) {', '.join(unknown)} to rename; it has {', '.join(props)}"
            )
        names = {a: arguments.get(a, a) for a in [*arguments, *(a for a in props if a not in arguments)]}
        if len(set(names.values())) != len(names):
            raise ValueError(f"renaming the arguments of {tool.name} gives two the same name: {names}")
        self.inner, self.name, self.arguments = tool, tool.name, names
        self._canonical = {new: old for old, new in names.items()}
        spec = deepcopy(tool.spec)
        params = spec["function"]["parameters"]
        params["properties"] = {
            new: {**props[old], "description": self.reword(props[old].get("description", ""))}
            for old, new in names.items()
        }
        params["required"] = [names[a] for a in fn["parameters"].get("required", [])]
        spec["function"]["description"] = description if description is not None else self.reword(fn["description"])
        self.spec = spec

    def __call__(self, sandbox: Sandbox, arguments: dict[str, Any]) -> ToolResult:
        result = self.inner(sandbox, {self._canonical.get(k, k): v for k, v in arguments.items()})
        if result.error and result.exit_code is None:  # the tool's own refusal, not a command's output
            result.output = self.reword(result.output)
        return result

    def reword(self, text: str) -> str:
        """`text` with the old argument names replaced: `backticked` ones, and bare ones that hold an underscore.

        A plain word such as "command" or "path" is left alone outside backticks: it is English as often as
        it is an argument's name.
        """
        renamed = {old: new for old, new in self.arguments.items() if old != new}
        if not renamed:
            return text
        pattern = "|".join(re.escape(old) for old in sorted(renamed, key=len, reverse=True))

        def swap(match: re.Match) -> str:
            word = match.group(2) or match.group(3)
            if match.group(2) is None and "_" not in word:
                return match.group(0)
            return match.group(0).replace(word, renamed[word])

        return re.sub(rf"(`({pattern})`)|(?<![\w.])({pattern})(?![\w])", swap, text)
