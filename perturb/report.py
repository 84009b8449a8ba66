"""The generalisation report: success rate, steps and wall-clock per perturbation family, and the gap to none
(`perturb.gap`: unperturbed minus perturbed, so a positive gap is what the perturbation cost).

Beside them, the call rate: the share of the policy's turns that held a
well-formed call to one of the episode's tools, in the episode's format. A weak
model rarely resolves a task, perturbed or not, but whether it still speaks the
perturbed interface shows at once.

`summarize` turns one row per played episode into one row per family (the
unperturbed baseline first); `table`, `to_json` and `write_chart` show it as a
rich table, JSON, and a self-contained SVG (or an HTML page holding it).
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import fmean
from typing import Any

from swefarm.perturb.gap import generalisation_gap

BASELINE = "none"


@dataclass
class EpisodeRow:
    family: str  # "none", a family name, or a combination such as "all"
    task: str
    episode: int
    seed: int
    resolved: bool
    reward: float
    steps: int
    wall_s: float
    calls_ok: int = 0  # the policy's turns that held a well-formed call for the episode's tools
    turns: int = 0
    infra_error: str | None = None
    error: str | None = None  # an infrastructure failure raised while playing (a model server down, say)


@dataclass
class FamilySummary:
    family: str
    episodes: int
    resolved: int
    success_rate: float
    mean_steps: float
    mean_wall_s: float
    failed: int  # infrastructure or policy failures, left out of the means
    call_rate: float = 0.0  # well-formed calls / turns, over every scored episode's turns
    # gaps to the baseline, `perturb.gap.generalisation_gap(baseline, family)`: 0.25 is 25 points worse
    gap_success: float | None = None
    gap_steps: float | None = None
    gap_wall_s: float | None = None
    gap_call_rate: float | None = None


def count_calls(messages: list[dict[str, Any]]) -> tuple[int, int]:
    """(turns that held a well-formed call, turns) of the assistant in an episode's final `info["messages"]`."""
    turns = [m for m in messages if m.get("role") == "assistant"]
    return sum(1 for m in turns if m.get("tool_calls")), len(turns)


def summarize(rows: list[EpisodeRow]) -> list[FamilySummary]:
    """One summary per family, in the order first seen with the baseline first, with gaps to the baseline."""
    families = sorted(dict.fromkeys(r.family for r in rows), key=lambda f: f != BASELINE)
    out = []
    for family in families:
        played = [r for r in rows if r.family == family]
        scored = [r for r in played if not (r.infra_error or r.error)]
        out.append(
            FamilySummary(
                family=family,
                episodes=len(played),
                resolved=sum(r.resolved for r in scored),
                success_rate=sum(r.resolved for r in scored) / len(scored) if scored else 0.0,
                mean_steps=fmean(r.steps for r in scored) if scored else 0.0,
                mean_wall_s=fmean(r.wall_s for r in scored) if scored else 0.0,
                failed=len(played) - len(scored),
                call_rate=sum(r.calls_ok for r in scored) / max(1, sum(r.turns for r in scored)),
            )
        )
    base = next((s for s in out if s.family == BASELINE), None)
    if base is not None:
        for s in out:
            s.gap_success = generalisation_gap(base.success_rate, s.success_rate)
            s.gap_steps = generalisation_gap(base.mean_steps, s.mean_steps)
            s.gap_wall_s = generalisation_gap(base.mean_wall_s, s.mean_wall_s)
            s.gap_call_rate = generalisation_gap(base.call_rate, s.call_rate)
    return out


def to_json(summary: list[FamilySummary], rows: list[EpisodeRow], meta: dict[str, Any]) -> dict[str, Any]:
    return {**meta, "families": [asdict(s) for s in summary], "episodes": [asdict(r) for r in rows]}


def table(summary: list[FamilySummary], title: str = "Generalisation gap"):
    """A rich table, each measure followed by its gap to the baseline (baseline minus family: + is a loss)."""
    from rich.table import Table

    t = Table(title=title)
    for name in ("family", "n", "success", "steps", "wall s", "calls ok", "failed"):
        t.add_column(name, justify="left" if name == "family" else "right")
    for s in summary:
        t.add_row(
            s.family,
            str(s.episodes),
            f"{s.success_rate:.0%} {_points(s.gap_success).replace(' ', '')}",
            f"{s.mean_steps:.1f} {_signed(s.gap_steps, '{:+.1f}')}",
            f"{s.mean_wall_s:.2f} {_signed(s.gap_wall_s, '{:+.2f}')}",
            f"{s.call_rate:.0%} {_points(s.gap_call_rate).replace(' ', '')}",
            str(s.failed),
        )
    return t


def _points(gap: float | None) -> str:
    return "" if gap is None else f"{gap * 100:+.0f} pp"


def _signed(value: float | None, pattern: str) -> str:
    return "" if value is None else pattern.format(value)


# -- the chart --------------------------------------------------------------------------------------

_LABEL_W, _PANEL_W, _ROW_H, _GAP_W = 120, 240, 26, 110


def svg(summary: list[FamilySummary], title: str = "Generalisation gap") -> str:
    """Panels of horizontal bars per family (success rate, call rate, mean wall-clock), the baseline dashed."""
    height = 50 + _ROW_H * len(summary)
    width = _LABEL_W + 3 * (_PANEL_W + _GAP_W) + 20
    most_wall = max((s.mean_wall_s for s in summary), default=0.0) or 1.0
    base = next((s for s in summary if s.family == BASELINE), None)
    parts = [f'<text x="10" y="18" font-weight="bold">{_e(title)}</text>']
    panels = (
        ("success rate", lambda s: s.success_rate, 1.0, lambda s: f"{s.success_rate:.0%} ({_points(s.gap_success)})"),
        ("well-formed calls", lambda s: s.call_rate, 1.0, lambda s: f"{s.call_rate:.0%} ({_points(s.gap_call_rate)})"),
        ("mean wall-clock", lambda s: s.mean_wall_s, most_wall,
         lambda s: f"{s.mean_wall_s:.2f} s ({_signed(s.gap_wall_s, '{:+.2f}')})"),
    )  # fmt: skip
    for p, (name, value, scale, label) in enumerate(panels):
        x0 = _LABEL_W + p * (_PANEL_W + _GAP_W)
        parts.append(f'<text x="{x0}" y="38" fill="#555">{_e(name)}</text>')
        for i, s in enumerate(summary):
            y = 46 + i * _ROW_H
            w = round(_PANEL_W * value(s) / scale, 1)
            fill = "#9aa5b1" if s.family == BASELINE else "#4a7fc1"
            parts.append(
                f'<rect class="bar" data-family="{_e(s.family)}" data-panel="{p}" x="{x0}" y="{y}" width="{w}" '
                f'height="{_ROW_H - 8}" rx="2" fill="{fill}"><title>{_e(s.family)}: {_e(label(s))}</title></rect>'
                f'<text x="{x0 + w + 4}" y="{y + 14}" font-size="11">{_e(label(s))}</text>'
            )
        if base is not None:
            bx = round(x0 + _PANEL_W * value(base) / scale, 1)
            parts.append(f'<line x1="{bx}" y1="42" x2="{bx}" y2="{height - 4}" stroke="#333" stroke-dasharray="4 3"/>')
    for i, s in enumerate(summary):
        parts.append(f'<text x="{_LABEL_W - 8}" y="{60 + i * _ROW_H}" text-anchor="end">{_e(s.family)}</text>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-family="system-ui, sans-serif" font-size="13" role="img" aria-label="{_e(title)}">'
        f'<rect width="100%" height="100%" fill="white"/>{"".join(parts)}</svg>\n'
    )


def write_chart(summary: list[FamilySummary], path: str | Path, title: str = "Generalisation gap") -> Path:
    """The chart as an SVG file, or as an HTML page holding it when `path` ends in .html; returns `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    chart = svg(summary, title)
    if path.suffix.lower() in (".html", ".htm"):
        chart = (
            f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title></head>'
            f"<body>{chart}</body></html>\n"
        )
    path.write_text(chart, encoding="utf-8")
    return path


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)
