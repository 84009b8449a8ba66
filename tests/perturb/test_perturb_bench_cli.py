"""`swefarm bench perturb` end to end: the oracle on a fixture task under every family shows a gap of 0."""

from __future__ import annotations

import json

import pytest
from swefarm.cli.main import app
from swefarm.perturb.report import EpisodeRow, count_calls, summarize, svg
from typer.testing import CliRunner


@pytest.mark.docker
@pytest.mark.slow
def test_bench_perturb_with_the_oracle_shows_no_gap(perturb_store, tmp_path, docker_client):
    chart = tmp_path / "gap.html"
    args = ["bench", "perturb", "--policy", "oracle", "--store", str(perturb_store), "--tasks", "fixture__calc-2"]
    result = CliRunner().invoke(app, [*args, "--json", "--chart", str(chart)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    families = {f["family"]: f for f in report["families"]}
    assert list(families) == ["none", "system", "tools", "user", "layout", "responses", "all"]
    for family in families.values():
        assert family["episodes"] == 1 and family["success_rate"] == 1.0 and family["gap_success"] == 0.0
        assert family["failed"] == 0 and family["mean_steps"] >= 2
        assert family["call_rate"] == 1.0 and family["gap_call_rate"] == 0.0  # every turn a well-formed call
    assert {e["family"] for e in report["episodes"]} == set(families) and report["tasks"] == ["fixture__calc-2"]
    assert "Generalisation gap" in result.output and "100% +0pp" in result.output
    page = chart.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count('class="bar"') == 3 * len(families)


def test_bench_perturb_refuses_an_unknown_family_before_starting_anything():
    result = CliRunner().invoke(app, ["bench", "perturb", "--families", "system,bogus", "--tasks", "x"])
    assert result.exit_code == 2 and "unknown perturbation 'bogus'" in result.output


def test_the_summary_measures_gaps_against_the_unperturbed_run_and_leaves_failures_out():
    def row(family, resolved, steps, wall, calls_ok=0, error=None):
        return EpisodeRow(family, "t", 0, 0, resolved, float(resolved), steps, wall, calls_ok, steps, error=error)

    rows = [
        row("tools", True, 6, 3.0, calls_ok=6),
        row("none", True, 4, 2.0, calls_ok=4),
        row("none", True, 4, 2.0, calls_ok=4),
        row("tools", False, 10, 5.0, calls_ok=2),
        row("tools", False, 0, 0.0, error="RuntimeError: model down"),
    ]
    none, tools = summarize(rows)
    assert (none.family, none.success_rate, none.gap_success) == ("none", 1.0, 0.0)
    # one sign everywhere (perturb.gap): unperturbed minus perturbed, so a loss is positive
    assert (tools.episodes, tools.failed, tools.success_rate, tools.gap_success) == (3, 1, 0.5, 0.5)
    assert (tools.mean_steps, tools.gap_steps, tools.gap_wall_s) == (8.0, -4.0, -2.0)
    assert (none.call_rate, tools.call_rate, tools.gap_call_rate) == (1.0, 0.5, 0.5)
    chart = svg([none, tools])
    assert chart.startswith("<svg") and "50% (+50 pp)" in chart and "stroke-dasharray" in chart


def test_the_farm_and_the_benchmark_report_one_gap_with_one_sign():
    from types import SimpleNamespace

    from swefarm.api.farm.evaluations import summarise

    def item(variant, reward):
        return SimpleNamespace(status="done", infra_error=None, reward=reward, resolved=reward == 1.0, steps=2,
                               variant=variant)  # fmt: skip

    farm = summarise([item("plain", 1.0), item("plain", 1.0), item("perturbed", 1.0), item("perturbed", 0.0)])
    rows = [EpisodeRow(f, "t", k, 0, r, float(r), 2, 1.0) for f, k, r in
            [("none", 0, True), ("none", 1, True), ("all", 0, True), ("all", 1, False)]]  # fmt: skip
    bench = summarize(rows)[1]
    assert farm.generalisation_gap == bench.gap_success == 0.5


def test_the_call_rate_counts_assistant_turns_that_held_a_well_formed_call():
    messages = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "u"},
        {"role": "assistant", "content": "no call here"},
        {"role": "user", "content": "Error: No tool call found."},
        {"role": "assistant", "content": "x", "tool_calls": [{"id": "1"}]},
        {"role": "tool", "content": "ok"},
    ]
    assert count_calls(messages) == (1, 2)
