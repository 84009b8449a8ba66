"""Tool-call formats: round trips, parallel calls, thinking, malformed replies and garbage never crash the parser."""

from __future__ import annotations

import json
import random

import pytest
from swefarm.envs.formats import FORMATS, get_format, strip_thinking
from swefarm.envs.formats.bash_block import BashBlockFormat
from swefarm.envs.models import ParseError, ToolCall
from swefarm.envs.tools.bash import BashTool
from swefarm.envs.tools.schema import function_spec
from swefarm.envs.tools.submit import SubmitTool

EDITOR = function_spec(
    "str_replace_editor",
    "View, create and edit files.",
    {
        "command": {"type": "string", "enum": ["view", "create", "str_replace", "insert", "undo_edit"]},
        "path": {"type": "string", "description": "absolute path of a file or directory"},
        "old_str": {"type": "string"},
        "new_str": {"type": "string"},
        "insert_line": {"type": "integer"},
        "view_range": {"type": "array", "items": {"type": "integer"}},
    },
    ["command", "path"],
)
TOOLS = [BashTool().spec, EDITOR, SubmitTool().spec]

TRICKY_CODE = (
    "    def render(self) -> str:\n"
    '        return f\'<a href="{self.url}">{self.name!r} &amp; co</a>\' if x < 3 and y > 2 else ""\n'
)
XML_LIKE = '<invoke name="bash">\n<div class="a">rm -rf /</div>\n</invoke>\n</minimax:tool_call>\n<tool_call>'
STRUCTURED_CALLS = [
    ToolCall("bash", {"command": "ls -la"}),
    ToolCall("bash", {"command": 'cd /repo && grep -rn \'a"b\' . | head\necho "done" > /tmp/x\n', "timeout": 30}),
    ToolCall("bash", {"command": "  echo 'ünïcødé ✓ 日本語'  \n\n"}),
    ToolCall("str_replace_editor", {"command": "str_replace", "path": "/repo/a.py", "old_str": TRICKY_CODE}),
    ToolCall("str_replace_editor", {"command": "create", "path": "/repo/p.xml", "new_str": XML_LIKE}),
    ToolCall("str_replace_editor", {"command": "insert", "path": "/repo/a.py", "insert_line": 3, "new_str": "x = 1"}),
    ToolCall("str_replace_editor", {"command": "view", "path": "/repo/a.py", "view_range": [1, 20]}),
    ToolCall("submit", {}),
]
BASH_CALLS = [
    ToolCall("bash", {"command": "ls -la"}),
    ToolCall("bash", {"command": "cat <<'EOF' > /tmp/a.py\n" + TRICKY_CODE + "EOF\npython /tmp/a.py"}),
    ToolCall("bash", {"command": "echo 'ünïcødé ✓' && printf '%s\\n' \"<tag>\" ```inline```"}),
    ToolCall("bash", {"command": "  indented command  \n"}),
    ToolCall("submit", {}),
]


def fmt(name: str):
    return get_format(name)


def calls_for(name: str) -> list[ToolCall]:
    return BASH_CALLS if name == "bash" else STRUCTURED_CALLS


# -- round trips -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FORMATS)
def test_round_trip_one_call_at_a_time(name):
    f = fmt(name)
    for call in calls_for(name):
        assert f.parse(f.render([call]), TOOLS) == [call]


@pytest.mark.parametrize("name", ["hermes", "minimax"])
def test_round_trip_parallel_calls_keep_their_order(name):
    f = fmt(name)
    assert f.parse(f.render(STRUCTURED_CALLS), TOOLS) == STRUCTURED_CALLS


@pytest.mark.parametrize("name", FORMATS)
def test_render_with_thinking_prefixes_it_and_parses_back(name):
    f = fmt(name)
    call = calls_for(name)[0]
    text = f.render([call], thinking="I should list the files.")
    assert text.startswith("<think>\nI should list the files.\n</think>\n\n")
    assert f.parse(text, TOOLS) == [call]


@pytest.mark.parametrize("name", FORMATS)
def test_text_around_the_call_is_allowed(name):
    f = fmt(name)
    call = calls_for(name)[0]
    assert f.parse("Let me look around first.\n\n" + f.render([call]) + "\n\nThen I'll decide.", TOOLS) == [call]


def test_hermes_value_mentioning_its_closing_tag_round_trips():
    f = fmt("hermes")
    call = ToolCall("bash", {"command": "echo '<tool_call>{}</tool_call>'"})
    assert f.parse(f.render([call]), TOOLS) == [call]


def test_hermes_render_is_one_json_block_per_call():
    text = fmt("hermes").render([ToolCall("bash", {"command": "ls"}), ToolCall("submit", {})])
    assert text == (
        '<tool_call>\n{"name": "bash", "arguments": {"command": "ls"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "submit", "arguments": {}}\n</tool_call>'
    )


def test_minimax_render_matches_the_chat_template_layout():
    text = fmt("minimax").render(
        [ToolCall("str_replace_editor", {"command": "view", "path": "/a", "view_range": [1, 2]})]
    )
    assert text == (
        '<minimax:tool_call>\n<invoke name="str_replace_editor">\n<parameter name="command">view</parameter>\n'
        '<parameter name="path">/a</parameter>\n<parameter name="view_range">[1, 2]</parameter>\n</invoke>\n'
        "</minimax:tool_call>"
    )


def test_bash_render_is_one_fenced_block():
    f = fmt("bash")
    assert f.render([ToolCall("bash", {"command": "ls"})]) == "```bash\nls\n```"
    assert f.render([ToolCall("submit", {})]) == "```bash\nsubmit\n```"


# -- lenient reading -----------------------------------------------------------------------------


def test_hermes_arguments_may_be_a_json_string_or_absent():
    f = fmt("hermes")
    text = (
        '<tool_call>{"name": "bash", "arguments": "{\\"command\\": \\"ls\\"}"}</tool_call>\n'
        '<tool_call>{"name": "submit"}</tool_call>'
    )
    assert f.parse(text, TOOLS) == [ToolCall("bash", {"command": "ls"}), ToolCall("submit", {})]


def test_minimax_coerces_values_to_the_schema_types_and_keeps_strings_verbatim():
    text = (
        "<minimax:tool_call>\n<invoke name='str_replace_editor'>\n<parameter name=\"command\">insert</parameter>"
        '<parameter name="path">/a.py</parameter>\n<parameter name="insert_line"> 7 </parameter>\n'
        '<parameter name="new_str">\n    x = "1"\n</parameter>\n</invoke>\n'
        '<invoke name="str_replace_editor"><parameter name="command">view</parameter>'
        '<parameter name="path">/a.py</parameter><parameter name="view_range">[3, -1]</parameter></invoke>\n'
        "</minimax:tool_call>"
    )
    assert fmt("minimax").parse(text, TOOLS) == [
        ToolCall(
            "str_replace_editor", {"command": "insert", "path": "/a.py", "insert_line": 7, "new_str": '\n    x = "1"\n'}
        ),
        ToolCall("str_replace_editor", {"command": "view", "path": "/a.py", "view_range": [3, -1]}),
    ]


def test_minimax_leaves_unconvertible_values_for_the_env_to_report():
    text = (
        '<minimax:tool_call><invoke name="bash"><parameter name="command">ls</parameter>'
        '<parameter name="timeout">soon</parameter></invoke></minimax:tool_call>'
    )
    assert fmt("minimax").parse(text, TOOLS) == [ToolCall("bash", {"command": "ls", "timeout": "soon"})]


def test_minimax_several_blocks_are_several_calls():
    f = fmt("minimax")
    a, b = ToolCall("bash", {"command": "ls"}), ToolCall("submit", {})
    assert f.parse(f.render([a]) + "\nand then\n" + f.render([b]), TOOLS) == [a, b]


@pytest.mark.parametrize("lang", ["bash", "sh", "shell"])
def test_bash_accepts_sh_and_shell_fences(lang):
    assert fmt("bash").parse(f"Look:\n```{lang}\nls\n```\n", TOOLS) == [ToolCall("bash", {"command": "ls"})]


def test_bash_ignores_other_code_blocks_and_reads_submit_loosely():
    text = "The fix:\n```python\nx = 1\n```\nDone.\n```bash\n  submit \n```"
    assert fmt("bash").parse(text, TOOLS) == [ToolCall("submit", {})]


def test_bash_format_uses_the_configured_tool_names():
    f = get_format("bash", bash_tool="shell", submit_tool="finish")
    tools = [BashTool(name="shell").spec, SubmitTool(name="finish").spec]
    assert f.parse("```bash\npwd\n```", tools) == [ToolCall("shell", {"command": "pwd"})]
    assert f.parse("```bash\nsubmit\n```", tools) == [ToolCall("finish", {})]
    assert f.render([ToolCall("finish", {})]) == "```bash\nsubmit\n```"
    assert "submit" in f.instructions(tools)


# -- thinking ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<think>plan</think>\nanswer", "\nanswer"),
        ("a<think>x</think>b<think>y</think>c", "abc"),
        ("the prompt opened it</think>answer", "answer"),
        ("a</think>b<think>c</think>d", "bd"),
        ("answer<think>cut off while thinking", "answer"),
        ("<think>only thinking", ""),
        ("no thinking at all", "no thinking at all"),
    ],
)
def test_strip_thinking(text, expected):
    assert strip_thinking(text) == expected


@pytest.mark.parametrize("name", FORMATS)
def test_calls_inside_thinking_are_not_calls(name):
    f = fmt(name)
    inner = ToolCall("bash", {"command": "rm -rf /repo"})
    outer = calls_for(name)[0]
    assert f.parse(f"<think>\nmaybe {f.render([inner])}?\n</think>\n\n{f.render([outer])}", TOOLS) == [outer]
    assert f.parse(f"maybe {f.render([inner])}?\n</think>\n\n{f.render([outer])}", TOOLS) == [outer]
    assert f.parse(f"{f.render([outer])}\n<think>\n{f.render([inner])}", TOOLS) == [outer]
    with pytest.raises(ParseError):
        f.parse(f"<think>\n{f.render([inner])}\n", TOOLS)


# -- malformed replies ------------------------------------------------------------------------------

MALFORMED = {
    "hermes": [
        ("I think I am done.", "No tool call found"),
        (
            '<tool_call>\n{"name": "bash", "arguments": {"command": "ls"}\n</tool_call>',
            "Expecting ',' delimiter (line 1, column 48 of the JSON)",
        ),
        ('<tool_call>\n{"name": "bash", "arguments": {"command": "ls"}}\n', "not closed"),
        ('{"name": "bash", "arguments": {}}\n</tool_call>', "without an opening"),
        ('<tool_call>["bash", {"command": "ls"}]</tool_call>', "must be a JSON object"),
        ('<tool_call>{"arguments": {"command": "ls"}}</tool_call>', 'no "name"'),
        ('<tool_call>{"name": 3}</tool_call>', 'no "name"'),
        ('<tool_call>{"name": "bash", "arguments": ["ls"]}</tool_call>', '"arguments" of tool call 1'),
        ('<tool_call>{"name": "bash", "arguments": "{command: ls}"}</tool_call>', "arguments string of tool call 1"),
        ('<tool_call>{"name": "python", "arguments": {}}</tool_call>', "bash, str_replace_editor, submit"),
        ("<tool_call>" + "[" * 100_000 + "</tool_call>", "tool call 1"),
        ('<tool_call>{"name": "submit"}</tool_call><tool_call></tool_call>', "JSON of tool call 2"),
    ],
    "minimax": [
        ("I think I am done.", "No tool call found"),
        ('<invoke name="bash"><parameter name="command">ls</parameter></invoke>', "must be inside <minimax:tool_call>"),
        (
            '<minimax:tool_call>\n<invoke name="bash">\n<parameter name="command">ls</parameter>\n</invoke>\n',
            "end the block with </minimax:tool_call>",
        ),
        ('<minimax:tool_call>\n<invoke name="bash">\n<parameter name="command">ls</parameter>\n', "</invoke>"),
        ('<minimax:tool_call>\n<invoke name="bash">\n<parameter name="command">ls -la', "end the value with"),
        ("<minimax:tool_call>\n<invoke>\n</invoke>\n</minimax:tool_call>", "<invoke> has no name"),
        ('<minimax:tool_call>\n<invoke name="">\n</invoke>\n</minimax:tool_call>', "<invoke> has no name"),
        (
            '<minimax:tool_call><invoke name="bash"><parameter>ls</parameter></invoke></minimax:tool_call>',
            "<parameter> has no name",
        ),
        ('<minimax:tool_call><invoke name="bash"', "malformed <invoke> tag"),
        ("<minimax:tool_call>\n</minimax:tool_call>", "holds no <invoke>"),
        ('<minimax:tool_call>\nbash: ls\n<invoke name="bash"></invoke></minimax:tool_call>', "unexpected text"),
        (
            '<minimax:tool_call><invoke name="bash">command=ls</invoke></minimax:tool_call>',
            "holds only <parameter",
        ),
        (
            '<minimax:tool_call><invoke name="bash"><parameter name="command">ls</parameter>'
            '<parameter name="command">pwd</parameter></invoke></minimax:tool_call>',
            "twice",
        ),
        (
            '<minimax:tool_call><invoke name="python"><parameter name="code">1</parameter></invoke>'
            "</minimax:tool_call>",
            "there is no tool called 'python'; the tools are: bash, str_replace_editor, submit",
        ),
        (
            '<minimax:tool_call><invoke name="str_replace_editor"><parameter name="view_range">'
            + "[" * 100_000
            + "</parameter></invoke></minimax:tool_call>",
            "nested too deeply",
        ),
    ],
    "bash": [
        ("I think I am done.", "no ```bash block found"),
        ("```python\nprint(1)\n```", "no ```bash block found"),
        ("```bash\nls\n```\nand\n```bash\npwd\n```", "found 2 ```bash blocks"),
        ("```bash\nls -la\n", "not closed"),
        ("```bash\nls\n```\nthen\n```bash\npwd", "another ```bash block is not closed"),
        ("```bash\n\n```", "empty"),
        ("```bash\nls\n```bash\npwd\n```", "opened inside another"),
    ],
}


@pytest.mark.parametrize(("name", "text", "message"), [(n, t, m) for n, cases in MALFORMED.items() for t, m in cases])
def test_malformed_replies_raise_a_useful_parse_error(name, text, message):
    with pytest.raises(ParseError) as err:
        fmt(name).parse(text, TOOLS)
    assert message in str(err.value)
    assert len(str(err.value)) < 400


def test_bash_format_without_a_bash_tool_says_which_tools_exist():
    with pytest.raises(ParseError, match="no tool called 'bash'; the tools are: submit"):
        fmt("bash").parse("```bash\nls\n```", [SubmitTool().spec])


@pytest.mark.parametrize(
    "calls",
    [
        [],
        [ToolCall("bash", {"command": "ls"}), ToolCall("bash", {"command": "pwd"})],
        [ToolCall("str_replace_editor", {"command": "view", "path": "/a"})],
        [ToolCall("bash", {"command": "ls", "timeout": 5})],
        [ToolCall("bash", {"command": "submit"})],
        [ToolCall("bash", {"command": "cat <<'EOF'\n```\nEOF"})],
    ],
)
def test_bash_render_refuses_what_the_format_cannot_carry(calls):
    with pytest.raises(ValueError):
        BashBlockFormat().render(calls)


def test_minimax_render_refuses_a_value_holding_the_closing_tag():
    with pytest.raises(ValueError, match="</parameter>"):
        fmt("minimax").render([ToolCall("bash", {"command": "echo '</parameter>'"})])


# -- garbage never crashes -------------------------------------------------------------------------

PIECES = [
    "<tool_call>", "</tool_call>", "<minimax:tool_call>", "</minimax:tool_call>", '<invoke name="bash">',
    "<invoke name=", "</invoke>", '<parameter name="command">', '<parameter name="view_range">',
    '<parameter name="insert_line">', "<parameter", "</parameter>", "<think>", "</think>", "```bash\n", "```sh",
    "```", "\n", " ", '{"name": "bash", "arguments": {"command": "ls"}}', '{"name": ', '"arguments": ', "{", "}",
    "[", "]", '"', "'", "\\", ":", ",", "submit", "ls", "null", "1e999", "-0", "\x00", "\ud800", "日本",
    '"name": "str_replace_editor"', '{"name": "submit", "arguments": "{"}', ">", "<", "&amp;",
]  # fmt: skip


@pytest.mark.parametrize("name", FORMATS)
def test_garbage_and_truncated_calls_raise_only_parse_error(name):
    f, rng = fmt(name), random.Random(1234)
    texts = [f.render(calls_for(name)[:3] if name != "bash" else [BASH_CALLS[1]], thinking="hm")]
    texts += [texts[0][:i] for i in range(len(texts[0]))]
    texts += ["".join(rng.choice(PIECES) for _ in range(rng.randint(0, 30))) for _ in range(3000)]
    texts += ["".join(chr(rng.randint(0, 0x2FF)) for _ in range(rng.randint(0, 80))) for _ in range(300)]
    for text in texts:
        try:
            calls = f.parse(text, TOOLS)
        except ParseError as exc:
            assert str(exc)
        else:
            assert calls and all(isinstance(c, ToolCall) and isinstance(c.arguments, dict) for c in calls)


# -- instructions and the registry -----------------------------------------------------------------


def test_hermes_instructions_list_one_json_spec_per_line():
    text = fmt("hermes").instructions(TOOLS)
    listed = text.split("<tools>\n")[1].split("\n</tools>")[0].splitlines()
    assert [json.loads(line) for line in listed] == TOOLS
    assert "<tool_call></tool_call> XML tags" in text


def test_minimax_instructions_mirror_the_m2_template():
    text = fmt("minimax").instructions(TOOLS)
    listed = text.split("<tools>\n")[1].split("</tools>")[0].splitlines()
    assert [json.loads(line.removeprefix("<tool>").removesuffix("</tool>")) for line in listed] == [
        spec["function"] for spec in TOOLS
    ]
    assert '<minimax:tool_call>\n<invoke name="tool-name-1">' in text


def test_bash_instructions_explain_the_block_and_how_to_finish():
    text = fmt("bash").instructions(TOOLS)
    assert "exactly one" in text and "persists" in text and "```bash\nsubmit\n```" in text
    assert "submit" not in fmt("bash").instructions([BashTool().spec])


def test_get_format_names_and_options():
    for name in FORMATS:
        assert get_format(name).name == name
    assert get_format("bash", bash_tool="shell", submit_tool="finish").bash_tool == "shell"
    assert get_format("hermes", bash_tool="shell").name == "hermes"  # options other formats take are ignored
    with pytest.raises(ValueError, match="unknown tool-call format option.*bash_tol"):
        get_format("bash", bash_tol="shell")  # a misspelt option is an error, never dropped
    with pytest.raises(ValueError, match="hermes, minimax, bash"):
        get_format("xml")
