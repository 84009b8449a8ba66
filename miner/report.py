"""The miner's funnel, told three ways: a terminal table, plain JSON, and one self-contained HTML page.

Everything here reads a `Funnel` (from `MinerState.funnel`) and nothing else, so a report can be
made at any time, even while a run is still going. The HTML page has no scripts and no external
references (inline CSS, inline SVG), and every piece of text in it is escaped: PR titles, problem
statements and rejection details come from the internet.
"""

from __future__ import annotations

import html
from pathlib import Path

from rich.table import Table
from rich.text import Text
from swefarm.miner.models import Stage
from swefarm.miner.state import Funnel, StageCount

STAGE_LABELS: dict[Stage, str] = {
    Stage.CANDIDATE: "candidates (merged PRs and commits)",
    Stage.LINKED: "linked to an issue (where required), in the window",
    Stage.FILTERED: "with tests and code (filters passed)",
    Stage.BUILT: "environment built",
    Stage.VALID: "valid (fail-to-pass tests)",
}


def reason_descriptions() -> dict[str, str]:
    """Reason code -> human description: the filters' reasons, the build and validation outcomes, the
    quality flags."""
    from swefarm.harness.outcomes import DESCRIPTIONS
    from swefarm.miner.filters import REASONS

    return {
        **{str(code): text for code, text in DESCRIPTIONS.items()},
        **REASONS,
        "git_error": "git could not read the change (tried again on the next run)",
        "github_error": "GitHub could not be read (tried again on the next run)",
        **QUALITY_LABELS,
    }


#: Statement quality flags, as `mine report` words them.
QUALITY_LABELS = {
    "ok": "no problem found",
    "not_a_statement": "a merge message, revert or release: no problem described",
    "thin": "too little to act on (e.g. a one-line title)",
    "leaks_fix": "gives the fix away (its code, or what it replaced with what)",
}


def _quality_line(counts: dict[str, int]) -> str:
    if not counts:
        return ""
    parts = [f"{code} {n:,}" for code, n in counts.items() if code != "tasks"]
    return f"{counts['tasks']:,} tasks: " + ", ".join(parts)


def _pct(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def _label(stage: Stage) -> str:
    return STAGE_LABELS.get(stage, str(stage))


def _dropped(count: StageCount) -> int:
    return sum(count.rejected.values())


def _by_count(rejected: dict[str, int]) -> list[tuple[str, int]]:
    """Reasons, most frequent first (ties by code)."""
    return sorted(rejected.items(), key=lambda item: (-item[1], item[0]))


def _top_reasons(rejected: dict[str, int], top: int = 4) -> str:
    reasons = _by_count(rejected)
    text = ", ".join(f"{code} {n:,}" for code, n in reasons[:top])
    return text + ", ..." if len(reasons) > top else text


def _title(funnel: Funnel) -> str:
    return f"Miner funnel: {funnel.repo or 'all repositories'}"


def _summary(funnel: Funnel) -> str:
    parts = [f"yield {funnel.yield_pct:.1f}% ({funnel.valid:,} valid / {funnel.candidates:,} candidates)"]
    if funnel.pending:
        parts.append(f"{funnel.pending:,} pending")
    parts.append(f"{funnel.per_minute:.1f} candidates/min")
    text = " · ".join(parts)
    if funnel.quality:
        text += f"\nstatement quality of {_quality_line(funnel.quality)}"
    if funnel.quality_valid:
        text += f"\nof the valid {_quality_line(funnel.quality_valid)}"
    return text


def funnel_table(funnel: Funnel) -> Table:
    """A rich table: one row per stage (reached, percent of candidates, dropped before it, top reasons)."""
    table = Table(title=Text(_title(funnel)), caption=Text(_summary(funnel)))
    table.add_column("Stage")
    table.add_column("Reached", justify="right")
    table.add_column("% of candidates", justify="right")
    table.add_column("Dropped before", justify="right")
    table.add_column("Top reasons")
    for count in funnel.stages:
        dropped = _dropped(count)
        table.add_row(
            Text(_label(count.stage)),
            f"{count.reached:,}",
            f"{_pct(count.reached, funnel.candidates):.1f}%",
            f"{dropped:,}" if dropped else "",
            Text(_top_reasons(count.rejected)),
        )
    return table


def funnel_json(funnel: Funnel) -> dict:
    """The funnel as plain JSON-able data: stages with reached/rejected, totals, throughput and runs."""
    return {
        "repo": funnel.repo,
        "stages": [
            {
                "stage": str(c.stage),
                "label": _label(c.stage),
                "reached": c.reached,
                "rejected": dict(c.rejected),
            }
            for c in funnel.stages
        ],
        "candidates": funnel.candidates,
        "valid": funnel.valid,
        "yield_pct": round(funnel.yield_pct, 2),
        "pending": funnel.pending,
        "per_minute": round(funnel.per_minute, 2),
        "quality": dict(funnel.quality),
        "quality_valid": dict(funnel.quality_valid),
        "runs": [run.model_dump(mode="json") for run in funnel.runs],
    }


# --- HTML -------------------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 960px; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.summary { display: flex; gap: 2rem; flex-wrap: wrap; }
.summary div { background: #f3f5f8; padding: .6rem 1rem; border-radius: 6px; }
.summary b { display: block; font-size: 1.3rem; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { border-bottom: 1px solid #ddd; padding: .3rem .5rem; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.swatch { display: inline-block; width: .9rem; height: .9rem; border-radius: 2px; }
svg text { font-size: 13px; fill: #222; }
.examples li { margin-bottom: .8rem; }
.examples .status { font-size: .8rem; background: #eef; padding: 0 .4rem; border-radius: 4px; }
.examples .problem { white-space: pre-line; color: #555; margin: .2rem 0 0; }
"""

_LABEL_W, _BAR_W, _ROW_H = 280, 420, 34
_SVG_W = _LABEL_W + _BAR_W + 140


def _e(value: object) -> str:
    """HTML-escape anything (quotes included, so it is safe in attributes too)."""
    return html.escape(str(value), quote=True)


def _color(index: int) -> str:
    """Distinct colors for reasons, spread around the hue circle by the golden angle."""
    return f"hsl({index * 137.5 % 360:.0f}, 55%, 55%)"


def _width(part: int, whole: int, total: float) -> float:
    """Bar width proportional to part/whole; anything non-zero stays visible (1px at least)."""
    if not part or not whole:
        return 0.0
    return max(1.0, round(total * part / whole, 1))


def _funnel_svg(funnel: Funnel) -> str:
    height = _ROW_H * len(funnel.stages) + 10
    rows = []
    for i, count in enumerate(funnel.stages):
        y = 5 + i * _ROW_H
        w = _width(count.reached, funnel.candidates, _BAR_W)
        x = _LABEL_W + (_BAR_W - w) / 2
        pct = _pct(count.reached, funnel.candidates)
        rows.append(
            f'<text x="{_LABEL_W - 10}" y="{y + 19}" text-anchor="end">{_e(_label(count.stage))}</text>'
            f'<rect class="stage-bar" data-stage="{_e(count.stage)}" x="{x:.1f}" y="{y}" width="{w}" '
            f'height="{_ROW_H - 8}" rx="3" fill="#4a7fc1"><title>{_e(count.stage)}: {count.reached:,}</title></rect>'
            f'<text x="{_LABEL_W + _BAR_W + 10}" y="{y + 19}">{count.reached:,} ({pct:.1f}%)</text>'
        )
    return (
        f'<svg class="funnel" width="{_SVG_W}" height="{height}" viewBox="0 0 {_SVG_W} {height}" role="img" '
        f'aria-label="funnel">{"".join(rows)}</svg>'
    )


def _rejections_svg(funnel: Funnel, colors: dict[str, str]) -> str:
    stages = [c for c in funnel.stages if c.rejected]
    if not stages:
        return "<p>No rejections recorded.</p>"
    most = max(_dropped(c) for c in stages)
    height = _ROW_H * len(stages) + 10
    rows = []
    for i, count in enumerate(stages):
        y = 5 + i * _ROW_H
        rows.append(
            f'<text x="{_LABEL_W - 10}" y="{y + 19}" text-anchor="end">before: {_e(_label(count.stage))}</text>'
        )
        x = float(_LABEL_W)
        for code, n in _by_count(count.rejected):
            w = _width(n, most, _BAR_W)
            rows.append(
                f'<rect class="reason-bar" x="{x:.1f}" y="{y}" width="{w}" height="{_ROW_H - 8}" '
                f'fill="{colors[code]}"><title>{_e(code)}: {n:,}</title></rect>'
            )
            label = f"{code} {n:,}"
            if len(label) * 7 + 8 <= w:  # the reason's name inside its segment, where it fits
                rows.append(f'<text class="reason-label" x="{x + 4:.1f}" y="{y + 19}">{_e(label)}</text>')
            x += w
        rows.append(f'<text x="{x + 10:.1f}" y="{y + 19}">{_dropped(count):,} dropped</text>')
    return (
        f'<svg class="rejections" width="{_SVG_W}" height="{height}" viewBox="0 0 {_SVG_W} {height}" role="img" '
        f'aria-label="rejection reasons per stage">{"".join(rows)}</svg>'
    )


def _reasons_table(funnel: Funnel, colors: dict[str, str]) -> str:
    descriptions = reason_descriptions()
    rows = [
        f'<tr><td><span class="swatch" style="background: {colors[code]}"></span></td>'
        f"<td>{_e(_label(count.stage))}</td><td><code>{_e(code)}</code></td>"
        f"<td>{_e(descriptions.get(code, code))}</td>"
        f'<td class="num">{n:,}</td><td class="num">{_pct(n, funnel.candidates):.1f}%</td></tr>'
        for count in funnel.stages
        for code, n in _by_count(count.rejected)
    ]
    if not rows:
        return "<p>No rejections recorded.</p>"
    head = (
        "<tr><th></th><th>Failed to reach</th><th>Reason</th><th>Description</th>"
        "<th>Candidates</th><th>% of candidates</th></tr>"
    )
    return f'<table class="reasons"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _first_lines(text: str, lines: int = 3, chars: int = 300) -> str:
    kept = [line.strip() for line in text.splitlines() if line.strip()][:lines]
    joined = "\n".join(kept)
    return joined[:chars] + "..." if len(joined) > chars else joined


def _examples(examples: list[dict]) -> str:
    items = []
    for ex in examples:
        name = _e(ex.get("instance_id", ""))
        url = str(ex.get("url") or "")
        # Only web links become links: a `javascript:` URL from the internet stays plain text.
        head = f'<a href="{_e(url)}">{name}</a>' if url.startswith(("https://", "http://")) else name
        if ex.get("status"):
            head += f' <span class="status">{_e(ex["status"])}</span>'
        if ex.get("title"):
            head += f" {_e(ex['title'])}"
        problem = _first_lines(str(ex.get("problem_statement") or ""))
        body = f'<p class="problem">{_e(problem)}</p>' if problem else ""
        items.append(f"<li>{head}{body}</li>")
    return f'<h2>Example tasks</h2><ul class="examples">{"".join(items)}</ul>'


def _quality_table(funnel: Funnel) -> str:
    if not funnel.quality:
        return ""
    codes = [c for c in funnel.quality if c != "tasks"]
    rows = "".join(
        f"<tr><td><code>{_e(code)}</code></td><td>{_e(QUALITY_LABELS.get(code, code))}</td>"
        f'<td class="num">{funnel.quality.get(code, 0):,}</td>'
        f'<td class="num">{funnel.quality_valid.get(code, 0):,}</td></tr>'
        for code in codes
    )
    head = "<tr><th>Verdict</th><th>Meaning</th><th>Tasks</th><th>Valid tasks</th></tr>"
    return (
        f"<h2>Problem statements</h2>\n<p>{funnel.quality['tasks']:,} tasks judged "
        f"({funnel.quality_valid.get('tasks', 0):,} valid); a task may carry two flags.</p>\n"
        f'<table class="quality"><thead>{head}</thead><tbody>{rows}</tbody></table>\n'
    )


def render_html(funnel: Funnel, examples: list[dict] | None = None) -> str:
    """The report page as a string (see `write_html`)."""
    all_reasons = {}
    for count in funnel.stages:
        for code, n in count.rejected.items():
            all_reasons[code] = all_reasons.get(code, 0) + n
    colors = {code: _color(i) for i, (code, _) in enumerate(_by_count(all_reasons))}
    title = _e(_title(funnel))
    minutes = sum(r.seconds for r in funnel.runs) / 60
    cards = [
        ("Yield", f"{funnel.yield_pct:.1f}%"),
        ("Valid / candidates", f"{funnel.valid:,} / {funnel.candidates:,}"),
        ("Candidates per minute", f"{funnel.per_minute:.1f}"),
        ("Pending", f"{funnel.pending:,}"),
        ("Runs", f"{len(funnel.runs):,} ({minutes:.1f} min)"),
    ]
    summary = "".join(f"<div>{_e(name)}<b>{_e(value)}</b></div>" for name, value in cards)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{title}</h1>\n"
        f'<section class="summary">{summary}</section>\n'
        f"<h2>Funnel</h2>\n{_funnel_svg(funnel)}\n"
        f"<h2>Rejections by stage</h2>\n{_rejections_svg(funnel, colors)}\n"
        f"<h2>Reasons</h2>\n{_reasons_table(funnel, colors)}\n"
        f"{_quality_table(funnel)}"
        f"{_examples(examples) if examples else ''}\n"
        "</body>\n</html>\n"
    )


def write_html(funnel: Funnel, path: Path, examples: list[dict] | None = None) -> Path:
    """Write the funnel as one self-contained HTML page (inline CSS and SVG, no scripts, no external URLs).

    `examples`: optional tasks to list, each a dict with `instance_id`, `status`, `problem_statement`
    (its first lines are shown), `url` and optionally `title`. Creates parent directories; returns `path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(funnel, examples), encoding="utf-8")
    return path
