"""PerturbConfig.load: every accepted spec form, and clear errors for the rest."""

from __future__ import annotations

import pytest
from swefarm.perturb import PerturbationError, PerturbConfig

ALL = ["system", "tools", "user", "layout", "responses"]


@pytest.mark.parametrize(
    "spec, names",
    [
        (None, []),
        ("none", []),
        ("all", ALL),
        ("system,tools,layout", ["system", "tools", "layout"]),
        (" tools , system ", ["tools", "system"]),
        (["user", "responses"], ["user", "responses"]),
        ("system_prompt,environment,tool_responses", ["system", "layout", "responses"]),  # aliases
        ({"families": "all", "seed": 3}, ALL),
        ({"system": {}, "tools": {"formats": ["hermes"]}}, ["system", "tools"]),
        ({"families": {"layout": None, "user": False}}, ["layout"]),
    ],
)
def test_spec_forms(spec, names):
    assert PerturbConfig.load(spec).names == names


def test_options_probability_and_seed_reach_the_families():
    config = PerturbConfig.load({"seed": 7, "families": {"tools": {"formats": ["minimax"], "p": 0.25}}})
    assert config.seed == 7
    ((tools, p),) = config.build()
    assert p == 0.25 and tools.options.formats == ["minimax"]


def test_yaml_file(tmp_path):
    path = tmp_path / "perturb.yaml"
    path.write_text("seed: 4\nfamilies:\n  system:\n    styles: [terse, aider]\n  responses:\n    transient_p: 0.2\n")
    config = PerturbConfig.load(str(path))
    assert config.seed == 4 and config.names == ["system", "responses"]
    system, responses = (p for p, _ in config.build())
    assert system.options.styles == ["terse", "aider"] and responses.options.transient_p == 0.2


@pytest.mark.parametrize(
    "spec, message",
    [
        ("system,bogus", "unknown perturbation 'bogus'"),
        ({"tools": {"formats": ["xml"]}}, "unknown format"),
        ({"system": {"stlyes": ["terse"]}}, "stlyes"),
        ({"system": {"p": 2}}, "less than or equal to 1"),
        ({"families": ["system"], "sede": 1}, "sede"),
        ("system,system", "given twice"),
        (42, "not int"),
        ("missing.yaml", "cannot read"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec, message):
    with pytest.raises(PerturbationError, match=message):
        PerturbConfig.load(spec).build()


def test_perturbation_error_is_a_value_error_for_callers_that_catch_those():
    assert issubclass(PerturbationError, ValueError)
