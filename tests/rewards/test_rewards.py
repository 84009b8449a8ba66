"""The rewards package: every component, the speed gating, RewardSpec scoring, presets, loading, errors."""

from __future__ import annotations

import json
import math

import pytest
import yaml
from pydantic import ValidationError
from swefarm.rewards import COMPONENTS, PRESETS, EpisodeOutcome, RewardBreakdown, RewardSpec
from swefarm.rewards import components as comp

from swefarm import rewards

SPEC = RewardSpec()


def outcome(**kw) -> EpisodeOutcome:
    return EpisodeOutcome(**kw)


def resolved_outcome(**kw) -> EpisodeOutcome:
    base = dict(
        resolved=True,
        fail_to_pass_passed=2,
        fail_to_pass_total=2,
        pass_to_pass_passed=5,
        pass_to_pass_total=5,
        submitted=True,
    )
    return EpisodeOutcome(**(base | kw))


# --- EpisodeOutcome -------------------------------------------------------------------------


def test_outcome_defaults_and_wall_time():
    o = outcome(env_time_s=1.5, model_time_s=2.5)
    assert o.resolved is False and o.infra_error is None and o.steps == 0
    assert o.wall_time_s == 4.0


@pytest.mark.parametrize(
    "kw",
    [
        {"fail_to_pass_passed": 3, "fail_to_pass_total": 2},
        {"pass_to_pass_passed": 1, "pass_to_pass_total": 0},
        {"tool_calls": -1},
        {"tokens": -5},
        {"env_time_s": -0.1},
        {"model_time_s": math.inf},
        {"env_time_s": math.nan},
        {"bogus": 1},
    ],
)
def test_outcome_rejects_bad_values(kw):
    with pytest.raises(ValidationError):
        EpisodeOutcome(**kw)


# --- components -----------------------------------------------------------------------------


def test_registry_names():
    assert list(COMPONENTS) == [
        "resolved",
        "fail_to_pass_fraction",
        "pass_to_pass_regressions",
        "speed",
        "tool_calls",
        "tokens",
        "suspicious",
        "tampered",
    ]


def test_suspicious_and_tampered_are_flags_a_spec_can_weigh():
    spec = RewardSpec(weights={"resolved": 1.0, "suspicious": -1.0, "tampered": -0.5})
    flagged = spec.score(EpisodeOutcome(resolved=True, fail_to_pass_passed=1, fail_to_pass_total=1, suspicious=3))
    assert flagged.values["suspicious"] == 1.0 and flagged.total == 0.0  # a runner-aware "fix" earns nothing
    caught = spec.score(EpisodeOutcome(fail_to_pass_total=1, tampered=True, grade_failure=None))
    assert caught.components == {"resolved": 0.0, "suspicious": 0.0, "tampered": -0.5} and caught.total == -0.5
    clean = spec.score(EpisodeOutcome(resolved=True, fail_to_pass_passed=1, fail_to_pass_total=1))
    assert clean.total == 1.0 and clean.values["tampered"] == 0.0


def test_resolved():
    assert comp.resolved(outcome(resolved=True), SPEC) == 1.0
    assert comp.resolved(outcome(resolved=False), SPEC) == 0.0


@pytest.mark.parametrize(("passed", "total", "want"), [(0, 4, 0.0), (1, 4, 0.25), (4, 4, 1.0), (0, 0, 0.0)])
def test_fail_to_pass_fraction(passed, total, want):
    o = outcome(fail_to_pass_passed=passed, fail_to_pass_total=total)
    assert comp.fail_to_pass_fraction(o, SPEC) == want


@pytest.mark.parametrize(("passed", "total", "want"), [(10, 10, 0.0), (7, 10, 0.3), (0, 10, 1.0), (0, 0, 0.0)])
def test_pass_to_pass_regressions(passed, total, want):
    o = outcome(pass_to_pass_passed=passed, pass_to_pass_total=total)
    assert comp.pass_to_pass_regressions(o, SPEC) == pytest.approx(want)


@pytest.mark.parametrize(
    ("env_s", "model_s", "want"),
    [
        (0.0, 0.0, 1.0),  # T = 0
        (100.0, 0.0, 0.9),
        (0.0, 100.0, 0.9),  # model time counts the same as env time
        (250.0, 250.0, 0.5),
        (600.0, 400.0, 0.0),  # T = budget
        (5000.0, 0.0, 0.0),  # T > budget: clipped, never negative
    ],
)
def test_speed_resolved(env_s, model_s, want):
    spec = RewardSpec(speed_budget_s=1000.0)
    o = resolved_outcome(env_time_s=env_s, model_time_s=model_s)
    assert comp.speed(o, spec) == pytest.approx(want)


@pytest.mark.parametrize("t", [0.0, 10.0, 5000.0])
def test_speed_is_gated_on_resolution(t):
    o = outcome(resolved=False, fail_to_pass_passed=1, fail_to_pass_total=2, env_time_s=t)
    assert comp.speed(o, SPEC) == 0.0


def test_speed_uses_spec_budget():
    o = resolved_outcome(env_time_s=900.0)
    assert comp.speed(o, RewardSpec()) == pytest.approx(0.5)  # default budget 1800
    assert comp.speed(o, RewardSpec(speed_budget_s=3600.0)) == pytest.approx(0.75)


def test_costs():
    o = outcome(tool_calls=12, tokens=3456)
    assert comp.tool_calls(o, SPEC) == 12.0
    assert comp.tokens(o, SPEC) == 3456.0
    assert comp.tool_calls(outcome(), SPEC) == 0.0
    assert comp.tokens(outcome(), SPEC) == 0.0


# --- scoring --------------------------------------------------------------------------------


def test_default_spec_is_swebench():
    spec = RewardSpec.load(None)
    assert spec.weights == {"resolved": 1.0} and spec.speed_budget_s == 1800.0
    assert spec.score(resolved_outcome()).total == 1.0
    assert spec.score(outcome()).total == 0.0


def test_score_breakdown_fields():
    spec = RewardSpec(weights={"resolved": 1.0, "speed": 0.5, "tool_calls": -0.01, "tokens": 0.0})
    b = spec.score(resolved_outcome(env_time_s=600.0, model_time_s=300.0, tool_calls=10, tokens=99))
    assert isinstance(b, RewardBreakdown) and b.scored
    assert b.components == pytest.approx({"resolved": 1.0, "speed": 0.25, "tool_calls": -0.1})
    assert "tokens" not in b.components  # zero weight: no contribution listed
    assert set(b.values) == set(COMPONENTS)  # every raw value, weighted or not
    assert b.values["tokens"] == 99.0 and b.values["fail_to_pass_fraction"] == 1.0
    assert b.total == pytest.approx(1.15)


@pytest.mark.parametrize("name", list(PRESETS))
@pytest.mark.parametrize(
    "o",
    [
        resolved_outcome(env_time_s=123.4, model_time_s=56.7, tool_calls=17, tokens=12345),
        outcome(fail_to_pass_passed=1, fail_to_pass_total=3, pass_to_pass_passed=4, pass_to_pass_total=9, tool_calls=3),
        outcome(),
    ],
)
def test_components_sum_exactly_to_total(name, o):
    b = RewardSpec.load(name).score(o)
    assert sum(b.components.values()) == b.total
    for key, contribution in b.components.items():
        assert contribution == PRESETS[name][key] * b.values[key]


def test_unresolved_fast_give_up_earns_nothing_from_speed():
    b = RewardSpec.load("fast").score(outcome(resolved=False, submitted=True, env_time_s=1.0))
    assert b.components == {"resolved": 0.0, "speed": 0.0}
    assert b.total == 0.0


def test_fast_rewards_finishing_sooner():
    spec = RewardSpec.load("fast")
    quick = spec.score(resolved_outcome(env_time_s=60.0)).total
    slow = spec.score(resolved_outcome(env_time_s=1200.0)).total
    late = spec.score(resolved_outcome(env_time_s=4000.0)).total
    assert quick > slow > late == 1.0


def test_partial_credit_and_regression_penalty():
    spec = RewardSpec.load("partial")
    b = spec.score(outcome(fail_to_pass_passed=1, fail_to_pass_total=2, pass_to_pass_passed=8, pass_to_pass_total=10))
    assert b.components == pytest.approx(
        {"resolved": 0.0, "fail_to_pass_fraction": 0.25, "pass_to_pass_regressions": -0.1}
    )
    assert b.total == pytest.approx(0.15)


def test_negative_weight_on_zero_value_is_plain_zero():
    b = RewardSpec.load("partial").score(resolved_outcome())
    assert math.copysign(1.0, b.components["pass_to_pass_regressions"]) == 1.0


def test_infra_error_is_never_scored():
    o = outcome(resolved=True, fail_to_pass_passed=1, fail_to_pass_total=1, infra_error="sandbox died")
    for name in PRESETS:
        b = RewardSpec.load(name).score(o)
        assert b == RewardBreakdown(total=0.0, components={}, values={}, scored=False)


# --- presets and describe -------------------------------------------------------------------


def test_presets():
    assert PRESETS["swebench"] == {"resolved": 1}
    assert PRESETS["partial"] == {"resolved": 1, "fail_to_pass_fraction": 0.5, "pass_to_pass_regressions": -0.5}
    assert PRESETS["fast"] == {"resolved": 1, "speed": 0.5}
    assert PRESETS["shaped"] == {
        "resolved": 1,
        "fail_to_pass_fraction": 0.5,
        "pass_to_pass_regressions": -0.5,
        "speed": 0.25,
        "tool_calls": -0.002,
        "tokens": -0.00001,
    }
    for name, weights in PRESETS.items():
        spec = RewardSpec.load(name)
        assert spec.weights == weights and spec.speed_budget_s == 1800.0


def test_preset_specs_do_not_share_state():
    RewardSpec.load("fast").weights["speed"] = 99.0
    assert PRESETS["fast"]["speed"] == 0.5
    assert RewardSpec.load("fast").weights["speed"] == 0.5


def test_describe():
    assert RewardSpec().describe() == "1*resolved"
    assert RewardSpec.load("fast").describe() == "1*resolved + 0.5*speed (budget 1800 s)"
    assert RewardSpec.load("partial").describe() == (
        "1*resolved + 0.5*fail_to_pass_fraction - 0.5*pass_to_pass_regressions"
    )
    assert RewardSpec(weights={"speed": 0.25}, speed_budget_s=600).describe() == "0.25*speed (budget 600 s)"
    assert RewardSpec(weights={"tool_calls": -0.002, "resolved": 0}).describe() == "-0.002*tool_calls"
    assert RewardSpec(weights={}).describe() == "0"


# --- validation -----------------------------------------------------------------------------


def test_unknown_component_lists_known_ones():
    with pytest.raises(ValueError, match="unknown reward component") as exc:
        RewardSpec(weights={"resolved": 1.0, "speedy": 0.5})
    msg = str(exc.value)
    assert "speedy" in msg
    for name in COMPONENTS:
        assert name in msg


@pytest.mark.parametrize("w", [math.inf, -math.inf, math.nan])
def test_non_finite_weights_rejected(w):
    with pytest.raises(ValueError, match="finite"):
        RewardSpec(weights={"resolved": w})


@pytest.mark.parametrize("budget", [0.0, -1.0, math.inf, math.nan])
def test_bad_speed_budget_rejected(budget):
    with pytest.raises(ValueError):
        RewardSpec(speed_budget_s=budget)


def test_unknown_field_rejected():
    with pytest.raises(ValueError):
        RewardSpec.load({"weights": {"resolved": 1}, "speed_budget": 60})


# --- loading --------------------------------------------------------------------------------


def test_load_spec_is_returned_as_is():
    spec = RewardSpec(weights={"speed": 1.0})
    assert RewardSpec.load(spec) is spec


def test_load_dict():
    spec = RewardSpec.load({"weights": {"resolved": 1, "speed": 0.5}, "speed_budget_s": 900})
    assert spec == RewardSpec(weights={"resolved": 1.0, "speed": 0.5}, speed_budget_s=900.0)


@pytest.mark.parametrize("name", list(PRESETS))
def test_round_trip_through_model_dump(name, tmp_path):
    spec = RewardSpec(weights=PRESETS[name], speed_budget_s=321.5)
    assert RewardSpec.load(spec.model_dump()) == spec
    path = tmp_path / "spec.json"
    path.write_text(spec.model_dump_json())
    assert RewardSpec.load(path) == spec
    ypath = tmp_path / "spec.yaml"
    ypath.write_text(yaml.safe_dump(spec.model_dump()))
    assert RewardSpec.load(str(ypath)) == spec


def test_load_yaml_file(tmp_path):
    path = tmp_path / "reward.yaml"
    path.write_text("weights:\n  resolved: 1\n  speed: 0.5\nspeed_budget_s: 600\n")
    spec = RewardSpec.load(path)
    assert spec.weights == {"resolved": 1.0, "speed": 0.5} and spec.speed_budget_s == 600.0
    assert RewardSpec.load(str(path)) == spec


def test_load_yml_and_json_files(tmp_path):
    yml = tmp_path / "r.yml"
    yml.write_text("weights: {tokens: -0.001}\n")
    assert RewardSpec.load(yml).weights == {"tokens": -0.001}
    js = tmp_path / "r.json"
    js.write_text(json.dumps({"weights": {"resolved": 2}}))
    assert RewardSpec.load(js).weights == {"resolved": 2.0}


def test_load_empty_file_gives_default(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert RewardSpec.load(path) == RewardSpec()


def test_load_bad_preset_name():
    with pytest.raises(ValueError, match="unknown reward preset 'speedy'") as exc:
        RewardSpec.load("speedy")
    for name in PRESETS:
        assert name in str(exc.value)


@pytest.mark.parametrize("name", ["missing.yaml", "sub/dir/spec.json"])
def test_load_missing_file(tmp_path, name):
    path = tmp_path / name
    with pytest.raises(FileNotFoundError, match="reward spec file not found"):
        RewardSpec.load(path)
    with pytest.raises(FileNotFoundError, match="reward spec file not found"):
        RewardSpec.load(str(path))


def test_load_bad_yaml(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("weights: {resolved: 1\n  speed: [\n")
    with pytest.raises(ValueError, match="not valid YAML") as exc:
        RewardSpec.load(path)
    assert "bad.yaml" in str(exc.value)


def test_load_bad_json(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"weights": {"resolved": 1,}}')
    with pytest.raises(ValueError, match="not valid JSON"):
        RewardSpec.load(path)


def test_load_file_not_a_mapping(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- resolved\n- speed\n")
    with pytest.raises(ValueError, match="must be a mapping, got list"):
        RewardSpec.load(path)


def test_load_file_with_invalid_spec_names_the_file(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("weights:\n  resolvd: 1\n")
    with pytest.raises(ValueError, match="unknown reward component") as exc:
        RewardSpec.load(path)
    assert "typo.yaml" in str(exc.value) and "resolved" in str(exc.value)


def test_load_dict_with_invalid_spec():
    with pytest.raises(ValueError, match="finite"):
        RewardSpec.load({"weights": {"speed": "nan"}})


def test_load_wrong_type():
    with pytest.raises(TypeError, match="cannot load a RewardSpec from int"):
        RewardSpec.load(42)


def test_package_exports():
    for name in rewards.__all__:
        assert hasattr(rewards, name)
    assert {"EpisodeOutcome", "RewardSpec", "RewardBreakdown", "COMPONENTS", "PRESETS"} <= set(rewards.__all__)
