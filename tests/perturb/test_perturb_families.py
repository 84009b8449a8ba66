"""Each built-in family on its own, without Docker: what it draws and what it does with it."""

from __future__ import annotations

import random
import re

import pytest
from fake_env import FakeEnv
from swefarm.envs.config import EnvConfig
from swefarm.envs.models import ToolResult
from swefarm.envs.tools import make_tools, tool_interface
from swefarm.envs.tools.schema import check_arguments
from swefarm.perturb.layout import LayoutPerturbation, script
from swefarm.perturb.responses import Responder, ResponsesPerturbation
from swefarm.perturb.scaffolds import STYLES
from swefarm.perturb.system_prompt import SystemPromptPerturbation, render
from swefarm.perturb.tools import ARGUMENTS, DEFAULT_NAMES, TOOL_SETS, ToolsPerturbation

from swefarm import perturb

# -- system -----------------------------------------------------------------------------------


def test_six_scaffold_styles_that_really_differ():
    assert {"swe-agent", "openhands", "terminal", "aider", "terse", "verbose"} <= set(STYLES)
    texts = {name: render(_all_rules(style))[0] for name, style in STYLES.items()}
    lengths = sorted(len(t) for t in texts.values())
    assert lengths[-1] > 4 * lengths[0]  # terse vs verbose
    words = {name: set(t.lower().split()) for name, t in texts.items()}
    for a in words:
        for b in words:
            if a < b:
                overlap = len(words[a] & words[b]) / len(words[a] | words[b])
                assert overlap < 0.5, (a, b, overlap)


@pytest.mark.parametrize("style", list(STYLES))
def test_every_variant_of_a_style_fills_in_and_says_how_to_call_tools_and_finish(style):
    family = SystemPromptPerturbation(styles=[style])
    seen = set()
    for seed in range(30):
        system, instance = render(family.sample(random.Random(seed)))
        seen.add(system)
        filled = system.format(workdir="/w", submit="finish_now", tool_instructions="<TOOLS>", tool_list="a, b")
        assert "<TOOLS>" in filled and "finish_now" in filled and "{" not in filled.replace("{n}", "")
        task = instance.format(repo="o/r", workdir="/w", problem_statement="THE ISSUE")
        assert "THE ISSUE" in task
    if STYLES[style].rules or len(STYLES[style].slots) > 1:
        assert len(seen) > 3  # templated variation inside the style


def _all_rules(style):
    return {"style": style.name, "slots": {s: 0 for s in style.slots}, "rules": list(range(len(style.rules))),
            "instance": 0}  # fmt: skip


# -- tools ------------------------------------------------------------------------------------


def test_every_sampled_interface_builds_and_hides_the_old_names():
    family = ToolsPerturbation()
    sets, formats = set(), set()
    for seed in range(60):
        params = family.sample(random.Random(seed))
        episode = perturb.Episode(None, EnvConfig(), seed, "tools")
        family.apply(params, episode)
        config = episode.config
        sets.add(params["tool_set"])
        formats.add(config.tool_format)
        if config.tool_format == "bash":
            assert params["tool_set"] == "bash_only"
        tools = make_tools(config.tools, config.tool_names, config.tool_arguments, config.tool_descriptions)
        interface = tool_interface(tools)
        assert sorted(e["kind"] for e in interface.values()) == sorted(TOOL_SETS[params["tool_set"]])
        for name, entry in interface.items():
            spec = tools[name].spec["function"]
            props = list(spec["parameters"]["properties"])
            assert props == list(entry["arguments"].values())  # listed in the drawn order, by the new names
            for old, new in entry["arguments"].items():
                if old != new and "_" in old:
                    assert not re.search(rf"\b{old}\b", spec["description"])  # it speaks of the new names
    assert sets == set(TOOL_SETS) and formats == {"hermes", "minimax", "bash"}


def test_a_renamed_argument_is_accepted_and_the_old_one_rejected_with_the_names_that_exist():
    params = {
        "tool_format": "hermes",
        "tool_set": "editor",
        "tools": ["editor", "bash", "submit"],
        "tool_names": {"editor": "edit_file", "bash": "shell", "submit": "finish"},
        "tool_arguments": {"bash": {"command": "cmd", "timeout": "timeout"}, "editor": {"old_str": "old_string"}},
        "descriptions": {"editor": 1, "bash": 0, "submit": 0},
    }
    episode = perturb.Episode(None, EnvConfig(), 0, "tools")
    ToolsPerturbation().apply(params, episode)
    cfg = episode.config
    tools = make_tools(cfg.tools, cfg.tool_names, cfg.tool_arguments, cfg.tool_descriptions)
    assert list(tools) == ["edit_file", "shell", "finish"]
    shell = tools["shell"].spec
    assert check_arguments(shell, {"cmd": "ls"}) is None
    problem = check_arguments(shell, {"command": "ls"})
    assert "needs the argument(s) cmd" in problem
    problem = check_arguments(shell, {"cmd": "ls", "command": "ls"})
    assert "has no argument(s) command" in problem and "it takes cmd, timeout" in problem
    editor = tools["edit_file"].spec["function"]
    assert "`old_string`" in editor["description"] and "old_str`" not in editor["description"]
    assert list(editor["parameters"]["properties"])[0] == "old_string"


def test_tool_names_and_arguments_banks_never_collide():
    for kind, names in ARGUMENTS.items():
        options = [a for choices in names.values() for a in choices] + list(names)
        assert len(options) == len(set(options)), kind
    every_name = [n for kind in DEFAULT_NAMES for n in perturb.tools.NAMES[kind]] + list(DEFAULT_NAMES.values())
    assert len(every_name) == len(set(every_name))


# -- responses --------------------------------------------------------------------------------


def _responder(**params):
    base = ResponsesPerturbation(jitter_s=0).sample(random.Random(0))
    return Responder({**base, **params, "jitter_s": 0}, seed=1, limit=30_000)


@pytest.mark.parametrize("style", ["plain", "returncode", "openhands", "codex", "terminal", "json"])
def test_rewording_keeps_the_exit_code_the_flags_and_the_output(style):
    responder = _responder(style=style, ansi=False, warning_p=0, transient_p=0)
    result = ToolResult(output="hello world\n\n[exit code 3]", error=True, exit_code=3)
    out = responder(None, lambda: result)
    assert (out.exit_code, out.error, out.transient) == (3, True, False)
    assert "hello world" in out.output and "3" in out.output.replace("hello world", "")
    ok = responder(None, lambda: ToolResult(output="fine\n", exit_code=0))
    assert "fine" in ok.output and not ok.error


def test_styles_really_change_the_wording():
    result = ToolResult(output="boom\n\n[exit code 2]", error=True, exit_code=2)
    outputs = {_responder(style=s, ansi=False, warning_p=0, transient_p=0)(None, lambda: result).output
               for s in ("plain", "returncode", "openhands", "codex", "terminal", "json")}  # fmt: skip
    assert len(outputs) == 6


def test_errors_get_the_episodes_prefix_and_colour_keeps_the_text():
    responder = _responder(error_prefix="[tool error] ", ansi=True, warning_p=0, transient_p=0)
    out = responder(None, lambda: ToolResult(output="Error: there is no tool 'bash'", error=True))
    assert out.output.startswith("\x1b[31m[tool error]") and "there is no tool 'bash'" in out.output
    from swefarm.perturb.output_text import strip_ansi

    assert strip_ansi(out.output) == "[tool error] there is no tool 'bash'"


def test_transient_failures_are_marked_say_retry_never_run_the_call_and_never_come_twice_running():
    responder = _responder(transient_p=1.0, ansi=False)
    ran = []

    def run():
        ran.append(1)
        return ToolResult(output="ok\n", exit_code=0)

    results = [responder(None, run) for _ in range(6)]
    assert [r.transient for r in results] == [True, False] * 3
    assert len(ran) == 3  # a transient failure runs nothing
    for failed in results[::2]:
        assert failed.error and failed.exit_code is None and "retry" in failed.output.lower()


def test_the_same_seed_gives_the_same_responses_call_by_call():
    def play(seed):
        responder = Responder({**_responder().params, "transient_p": 0.3, "warning_p": 0.5}, seed=seed, limit=30_000)
        result = ToolResult(output="x\n", exit_code=0)
        return [responder(None, lambda: result).output for _ in range(20)]

    assert play(4) == play(4) and play(4) != play(5)


def test_long_output_is_cut_in_the_episodes_style_but_short_output_is_untouched():
    responder = Responder({**_responder().params, "truncation": "head", "warning_p": 0, "transient_p": 0,
                           "style": "plain", "ansi": False}, seed=1, limit=2000)  # fmt: skip
    long = responder(None, lambda: ToolResult(output="y" * 10_000, exit_code=0)).output
    assert len(long) < 2000 and "<output truncated:" in long
    assert responder(None, lambda: ToolResult(output="short\n", exit_code=0)).output == "short\n"


def test_trimmed_tracebacks_keep_the_exception_and_the_innermost_frames():
    frames = "".join(f'  File "m.py", line {i}, in f{i}\n    f{i + 1}()\n' for i in range(8))
    text = f"Traceback (most recent call last):\n{frames}ZeroDivisionError: division by zero\n\n[exit code 1]"
    out = _responder(traceback="trimmed", style="plain", ansi=False, warning_p=0, transient_p=0)(
        None, lambda: ToolResult(output=text, error=True, exit_code=1)
    ).output
    assert "6 frames hidden" in out and "ZeroDivisionError: division by zero" in out and "in f7" in out
    assert "in f0" not in out and "[exit code 1]" in out


# -- layout -----------------------------------------------------------------------------------


def test_layout_scripts_are_deterministic_and_exclude_every_noise_path_from_git():
    family = LayoutPerturbation()
    for seed in range(20):
        params = family.sample(random.Random(seed))
        assert script(params) == script(family.sample(random.Random(seed)))
        assert ".git/info/exclude" in script(params) and "SWEFARM_CWD=" in script(params)
        assert 2 <= len(params["kinds"]) <= 5


def test_layout_runs_its_script_in_the_sandbox_at_reset():
    env = perturb.wrap(FakeEnv(), {"layout": {"kinds": ["notes"], "min_kinds": 1}}, seed=3)
    env.reset()
    commands = env.unwrapped.sandbox.commands
    assert any("NOTES.md" in c or "TODO.txt" in c or "HACKING.txt" in c or "investigation.md" in c for c in commands)
