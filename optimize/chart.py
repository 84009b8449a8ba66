"""The history of a run as a table and a chart: in the terminal (rich), and as an SVG file."""

from __future__ import annotations

from html import escape
from pathlib import Path

from rich.table import Table
from swefarm.optimize.memory import Entry

COLORS = {"baseline": "#4c78a8", "kept": "#54a24b", "reverted": "#e45756", "failed": "#9d9d9d"}


def table(entries: list[Entry]) -> Table:
    out = Table(title="scaffold optimisation")
    for column in ("round", "scaffold", "change", "score", "best before", "gap", "decision"):
        out.add_column(column, overflow="fold")
    for e in entries:
        out.add_row(
            str(e.round), e.scaffold, e.change[:80], _fmt(e.score), _fmt(e.best_before),
            _fmt(e.generalisation_gap), f"[{'green' if e.decision in ('kept', 'baseline') else 'red'}]{e.decision}",
        )  # fmt: skip
    return out


def bars(entries: list[Entry], width: int = 40) -> str:
    """One bar per round, its length the score (0 to the best score seen, or 1)."""
    top = max([abs(e.score) for e in entries if e.score is not None] + [1e-9])
    lines = []
    for e in entries:
        n = 0 if e.score is None else int(round(width * max(e.score, 0) / top))
        mark = {"kept": "+", "baseline": "=", "reverted": "-", "failed": "x"}.get(e.decision, "?")
        lines.append(f"{e.round:>3} {mark} {'█' * n}{' ' * (width - n)} {_fmt(e.score)}")
    return "\n".join(lines)


def svg(entries: list[Entry], path: str | Path) -> Path:
    """A bar chart of every round's score (coloured by decision) and the best-so-far line."""
    w, h, pad = 640, 260, 40
    step = (w - 2 * pad) / max(len(entries), 1)
    top = max([e.score for e in entries if e.score is not None] + [1.0])
    y = lambda v: h - pad - (h - 2 * pad) * max(v, 0) / top  # noqa: E731
    parts, best, line = [], None, []
    for i, e in enumerate(entries):
        x = pad + i * step
        if e.score is not None:
            title = f"{escape(e.scaffold)}: {escape(e.change)} ({e.score:.3f}, {e.decision})"
            parts.append(
                f'<rect x="{x + 4:.1f}" y="{y(e.score):.1f}" width="{step - 8:.1f}" '
                f'height="{h - pad - y(e.score):.1f}" fill="{COLORS.get(e.decision, "#999")}">'
                f"<title>{title}</title></rect>"
            )
        if e.decision in ("baseline", "kept") and e.score is not None:
            best = e.score
        if best is not None:
            line.append(f"{x + step / 2:.1f},{y(best):.1f}")
        parts.append(f'<text x="{x + step / 2:.1f}" y="{h - pad + 14}" text-anchor="middle">{e.round}</text>')
    parts.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="#222" stroke-dasharray="4 3"/>')
    parts.append(f'<text x="{pad}" y="20">score per round (green kept, red reverted; dashed: best so far)</text>')
    body = "".join(parts)
    Path(path).write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" '
        f'font-size="12">{body}</svg>'
    )
    return Path(path)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
