"""Nothing an agent sends raises: every action, in every tool-call format and to every tool, is an observation.

Property tests (hypothesis) generate what a model or a buggy trainer can send: text with
lone surrogates, NULs and half-written calls, rendered calls cut anywhere, structured
calls whose arguments hold bytes, sets, NaN, huge integers, 5,000-deep nesting, huge
strings or no dict at all. The decoding layer turns each into a turn or a ParseError
for the agent; the real env (the calc task, a real sandbox) answers each with an
observation and never an infrastructure error. A bug in swefarm's own decoding code is
not the agent's malformed action: it propagates.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from swefarm.envs.actions import decode
from swefarm.envs.formats import FORMATS, get_format, strip_thinking
from swefarm.envs.models import ParseError, ToolCall
from swefarm.envs.tools import make_tools

KINDS = ["bash", "editor", "search", "apply_patch", "submit"]
NAMES = {"editor": "str_replace_editor"}
TOOLS = make_tools(KINDS, NAMES, workdir="/testbed")
SPECS = [tool.spec for tool in TOOLS.values()]
CALLABLE = [name for name in TOOLS if name != "submit"]  # submit ends the episode: tested on its own

ODD = ["\ud800", "\udbff", "\udc00", "\udfff", "\udc80", "\udcff", "\0", "\x7f", "\ufffe", "\U0010ffff"]
MARKUP = ["<tool_call>", "</tool_call>", "<minimax:tool_call>", "</minimax:tool_call>", '<invoke name="bash">']
MARKUP += ["</invoke>", '<parameter name="command">', "</parameter>", "```bash\n", "\n```", "<think>", "</think>"]
CHARS = st.one_of(st.characters(), st.sampled_from(ODD + list("\n\t\"'\\{}[]<>`$;|&")))
TEXT = st.one_of(
    st.text(CHARS, max_size=60),
    st.lists(st.one_of(st.text(CHARS, max_size=12), st.sampled_from(MARKUP)), max_size=12).map("".join),
)
HUGE = st.sampled_from([10**400, -(10**400), 2**63, float("inf"), float("-inf"), float("nan"), "x" * 300_000])


def nested(depth: int, leaf: object = 1) -> object:
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), TEXT, st.binary(max_size=12), HUGE, st.just(object())
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(TEXT, st.integers(), st.tuples(st.integers())), inner, max_size=4),
        st.frozensets(st.integers(), max_size=3),
        st.tuples(inner, inner),
    ),
    max_leaves=12,
)
DEEP = st.sampled_from([200, 999, 1500, 5000]).map(nested)


@st.composite
def arguments(draw, name: str) -> object:
    """Arguments for tool `name`: its own argument names with any values, extra names, or no dict at all."""
    props = list(TOOLS[name].spec["function"]["parameters"]["properties"]) if name in TOOLS else []
    if draw(st.integers(0, 9)) == 0:
        return draw(st.one_of(VALUES, DEEP))
    args = {}
    for prop in props:
        if draw(st.booleans()):
            args[prop] = draw(st.one_of(TEXT, VALUES, DEEP, HUGE, st.sampled_from(["view", "create", "/testbed/a"])))
    if draw(st.integers(0, 4)) == 0:
        args[draw(st.one_of(TEXT, st.integers()))] = draw(VALUES)
    return args


TOOL_NAME = st.one_of(st.sampled_from(CALLABLE), TEXT, st.integers(), st.none(), st.binary(max_size=5))
PATHS = ["/testbed", "src/calc/__init__.py", "/testbed/new.py", "/proc/self/fd/1", "/dev/zero", "/etc/passwd", ".."]
PATH = st.one_of(st.sampled_from(PATHS), TEXT)
PATCH = st.one_of(
    st.builds(
        lambda p, a, b: f"*** Begin Patch\n*** Update File: {p}\n@@\n-{a}\n+{b}\n*** End Patch", PATH, TEXT, TEXT
    ),
    st.builds(lambda p, a: f"*** Begin Patch\n*** Add File: {p}\n+{a}\n*** End Patch", PATH, TEXT),
    st.builds(lambda p, a: f"--- a/{p}\n+++ b/{p}\n@@ -1 +1 @@\n-{a}\n+x\n", PATH, TEXT),
    TEXT,
)
EDITOR_COMMANDS = st.sampled_from(["view", "create", "str_replace", "insert", "undo_edit", "delete"])
PLAUSIBLE = {  # argument values of the types the tools declare, most of them valid: calls that reach the tool
    "bash": {"command": TEXT, "timeout": st.integers(-5, 30)},
    "str_replace_editor": {
        "command": EDITOR_COMMANDS,
        "path": PATH,
        "file_text": TEXT,
        "old_str": TEXT,
        "new_str": TEXT,
        "insert_line": st.integers(-3, 50),
        "view_range": st.lists(st.integers(-3, 50), max_size=3),
    },
    "search": {"pattern": TEXT, "path": PATH, "include": TEXT},
    "apply_patch": {"patch": PATCH},
}


@st.composite
def plausible(draw) -> dict:
    name = draw(st.sampled_from(CALLABLE))
    args = {key: draw(values) for key, values in PLAUSIBLE[name].items() if draw(st.booleans())}
    return {"name": name, "arguments": args}


@st.composite
def structured(draw) -> object:
    """A call the way a trainer passes one: ToolCall, {"name", "arguments"}, OpenAI's shape, a list, a turn."""
    name = draw(TOOL_NAME)
    args = draw(arguments(name if isinstance(name, str) else "bash"))
    shape = draw(st.integers(0, 7))
    if shape == 0:
        return ToolCall(name if isinstance(name, str) else "bash", args)  # a frozen dataclass holds anything
    if shape == 1:
        return {"name": name, "arguments": args}
    if shape == 2:
        try:
            text = json.dumps(args)
        except (TypeError, ValueError, RecursionError, OverflowError):
            text = draw(TEXT)
        return {"type": "function", "function": {"name": name, "arguments": draw(st.sampled_from([text, text[:-1]]))}}
    if shape == 3:
        return {"function": {"name": name, "arguments": "[" * 5000 + "]" * 5000}, "id": draw(VALUES)}
    if shape == 4:
        return [{"name": name, "arguments": args}, draw(st.one_of(VALUES, st.just({"name": "bash"})))]
    if shape == 5:
        calls = draw(st.one_of(st.just([{"name": name, "arguments": args}]), VALUES))
        return {"content": draw(st.one_of(TEXT, VALUES)), "tool_calls": calls}
    if shape == 6:
        return {"content": draw(TEXT)}
    return draw(VALUES)


@st.composite
def rendered(draw, fmt_name: str) -> str:
    """Text a model writes in `fmt_name`: a well-formed call of a real tool, cut or spliced anywhere, or garbage."""
    fmt = get_format(fmt_name)
    name = draw(st.sampled_from(["bash"] if fmt_name == "bash" else CALLABLE))
    props = list(TOOLS[name].spec["function"]["parameters"]["properties"])
    args = {p: draw(st.one_of(TEXT, st.integers(-3, 40))) for p in props if draw(st.booleans())}
    if fmt_name == "bash":
        args = {"command": draw(TEXT.filter(lambda t: t.strip() not in ("", "submit")))}
    try:
        text = fmt.render([ToolCall(name, args)], thinking=draw(st.sampled_from(["", "hmm </think> <tool_call>"])))
    except ValueError:
        text = draw(TEXT)
    cut = draw(st.integers(0, len(text)))
    return draw(st.sampled_from([text, text[:cut], text[:cut] + draw(TEXT) + text[cut:], draw(TEXT) + text]))


def action_for(fmt_name: str) -> st.SearchStrategy:
    return st.one_of(rendered(fmt_name), TEXT, structured(), plausible())


# -- the decoding layer, fast ---------------------------------------------------------------------
@pytest.mark.parametrize("fmt_name", FORMATS)
@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_decoding_any_action_never_raises(fmt_name, data):
    fmt = get_format(fmt_name)
    action = data.draw(action_for(fmt_name))
    turn = decode(action, lambda text: fmt.parse(text, SPECS))
    assert (turn.error is None) != (not turn.calls) or turn.truncate is not None or turn.error is not None
    for call in turn.calls:  # what the env records and hands to the tools is plain JSON
        assert isinstance(call.name, str) and isinstance(call.arguments, dict)
        json.dumps(call.arguments)


@pytest.mark.parametrize("fmt_name", FORMATS)
@settings(max_examples=300, deadline=None, database=None)
@given(text=TEXT)
def test_parsers_raise_only_parse_error(fmt_name, text):
    try:
        get_format(fmt_name).parse(text, SPECS)
    except ParseError:
        pass


def test_huge_and_adversarial_text_is_read_in_linear_time():
    # a quadratic scan over 100,000 openers would not finish; these return at once
    for text in (
        "</think>" + "<think>" * 100_000,
        "```bash\n" * 100_000,
        "<tool_call>" * 100_000,
        "<minimax:tool_call><invoke name='bash'>" * 50_000,
        "<think>" + "x" * 1_000_000,
    ):
        strip_thinking(text)
        for name in FORMATS:
            turn = decode(text, lambda t, name=name: get_format(name).parse(t, SPECS))
            assert turn.error is not None and not turn.calls


@pytest.mark.parametrize(
    "action",
    [
        {"name": "bash", "arguments": {"command": b"ls"}},
        {"name": "bash", "arguments": {"command": nested(5000)}},
        {"name": "bash", "arguments": {"command": "ls", "x": {1, 2}}},
        {"name": "bash", "arguments": {(1,): "tuple key"}},
        {"name": "bash", "arguments": {"command": float("nan")}},
        {"type": "function", "function": {"name": "bash", "arguments": "[" * 5000 + "]" * 5000}},
        {"name": "bash", "arguments": "[" * 100_000},
        {"content": "x", "tool_calls": [{"name": "bash", "arguments": {"command": object()}}]},
        {"model_time_s": "fast", "content": "x"},
        {"tokens": float("inf"), "content": "x"},
        {"truncate": b"full"},
        ToolCall("bash", {"command": b"ls"}),
        b"<tool_call>",
        None,
        42,
    ],
)
def test_malformed_structured_actions_are_the_agents_error(action):
    turn = decode(action, lambda text: get_format("hermes").parse(text, SPECS))
    assert turn.error and not turn.calls, turn


@pytest.mark.parametrize("fmt_name", FORMATS)
def test_numbers_longer_than_python_reads_are_the_agents_error(fmt_name):
    digits = "7" * 5000
    text = {
        "hermes": f'<tool_call>{{"name": "bash", "arguments": {{"command": "ls", "timeout": {digits}}}}}</tool_call>',
        "minimax": '<minimax:tool_call><invoke name="bash"><parameter name="command">ls</parameter>'
        f'<parameter name="timeout">{digits}</parameter></invoke></minimax:tool_call>',
        "bash": f"```bash\necho {digits}\n```",
    }[fmt_name]
    turn = decode(text, lambda t: get_format(fmt_name).parse(t, SPECS))
    if fmt_name == "hermes":
        assert turn.error and "could not be read" in turn.error
    elif fmt_name == "minimax":  # left as text, which the tool's argument check reports to the agent
        assert turn.calls[0].arguments["timeout"] == digits
    else:
        assert turn.calls[0].arguments["command"] == f"echo {digits}"
    turn = decode({"name": "bash", "arguments": '{"timeout": ' + digits + "}"}, None)
    assert turn.error and "not valid JSON" in turn.error


def test_a_bug_in_decoding_propagates_with_its_traceback():
    def buggy_parse(text):
        raise KeyError("a swefarm bug, not the agent's action")

    with pytest.raises(KeyError, match="swefarm bug"):
        decode("<tool_call>{}</tool_call>", buggy_parse)


# -- the real env: every format, every tool ---------------------------------------------------------
ENV_CONFIG = dict(
    tools=KINDS,
    tool_names=NAMES,
    command_timeout_s=5,
    max_steps=1_000_000,
    wall_clock_budget_s=1e9,
    grade_on_truncation=False,
    pool_size=1,
)


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("fmt_name", FORMATS)
def test_env_step_answers_every_action_with_an_observation(make_env, fmt_name):
    env = make_env(tool_format=fmt_name, **ENV_CONFIG)
    env.reset(seed=0)
    reached: dict[str | None, int] = {}

    @settings(
        max_examples=150,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(action=action_for(fmt_name))
    def step_once(action):
        obs, reward, terminated, truncated, info = env.step(action)
        assert isinstance(obs, str) and reward == 0.0
        assert "infra_error" not in info, info.get("infra_error")
        for result in info["tool_results"]:
            reached[result["name"]] = reached.get(result["name"], 0) + 1
        if terminated or truncated:
            env.reset()

    step_once()
    # malformed actions were answered, and well-formed ones reached the tools
    assert reached.get(None, 0) > 0 and sum(n for name, n in reached.items() if name) > 0, reached
    obs, *_ = env.step({"name": "bash", "arguments": {"command": "echo still-here"}})
    assert obs.strip().endswith("still-here")


@pytest.mark.docker
@pytest.mark.parametrize(
    "action",
    [
        {"name": "str_replace_editor", "arguments": {"command": "create", "path": "s.py", "file_text": "x = '\ud800'"}},
        {"name": "str_replace_editor", "arguments": {"command": "create", "path": "b.py", "file_text": b"bytes"}},
        {"name": "str_replace_editor", "arguments": {"command": "view", "path": "/proc/self/fd/1"}},
        {"name": "str_replace_editor", "arguments": {"command": "view", "path": "x", "view_range": [1, 10**400]}},
        {"name": "str_replace_editor", "arguments": {"command": "insert", "path": "a", "insert_line": 10**400}},
        {"name": "bash", "arguments": {"command": "echo \ud800", "timeout": 10**400}},
        {"name": "bash", "arguments": {"command": "echo a\0b"}},
        {"name": "search", "arguments": {"pattern": "\ud800", "path": "\udc80"}},
        {
            "name": "apply_patch",
            "arguments": {"patch": "*** Begin Patch\n*** Add File: /proc/self/fd/1\n+x\n*** End Patch"},
        },
        {"name": "apply_patch", "arguments": {"patch": "*** Begin Patch\n*** Add File: a\0b\n+\ud800\n*** End Patch"}},
        {"name": "apply_patch", "arguments": {"patch": "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-\ud800\n+y\n"}},
        "<tool_call>" + json.dumps({"name": "bash", "arguments": {"command": "echo \ud800"}}) + "</tool_call>",
    ],
)
def test_known_crashers_are_observations(make_env, action):
    env = make_env(**ENV_CONFIG)
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(action)
    assert isinstance(obs, str) and obs and not (terminated or truncated)
    assert "infra_error" not in info
    assert env.step({"name": "bash", "arguments": {"command": "echo alive"}})[0].strip().endswith("alive")
