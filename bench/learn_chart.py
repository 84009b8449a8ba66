"""The learning run as a chart: the SFT loss per step, the GRPO reward per step, and the held-out scores before
and after (an SVG written by hand: no plotting library is needed)."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

_W, _H, _PAD = 300, 200, 36


def _line(values: list[float], x0: int, title: str, colour: str) -> str:
    if not values:
        return f'<text x="{x0 + _W / 2}" y="{_H / 2}" text-anchor="middle">{escape(title)}: no data</text>'
    top, low = max(max(values), 0.0), min(min(values), 0.0)
    span = (top - low) or 1.0
    step = (_W - 2 * _PAD) / max(1, len(values) - 1)
    points = " ".join(
        f"{x0 + _PAD + i * step:.1f},{_H - _PAD - (v - low) / span * (_H - 2 * _PAD):.1f}" for i, v in enumerate(values)
    )
    dots = "".join(
        f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="2.5" fill="{colour}"/>' for p in points.split()
    )
    return (
        f'<text x="{x0 + _W / 2}" y="16" text-anchor="middle" font-weight="bold">{escape(title)}</text>'
        f'<line x1="{x0 + _PAD}" y1="{_H - _PAD}" x2="{x0 + _W - _PAD}" y2="{_H - _PAD}" stroke="#999"/>'
        f'<line x1="{x0 + _PAD}" y1="{_PAD}" x2="{x0 + _PAD}" y2="{_H - _PAD}" stroke="#999"/>'
        f'<text x="{x0 + _PAD - 4}" y="{_PAD + 4}" text-anchor="end">{top:.2f}</text>'
        f'<text x="{x0 + _PAD - 4}" y="{_H - _PAD}" text-anchor="end">{low:.2f}</text>'
        f'<text x="{x0 + _W / 2}" y="{_H - 8}" text-anchor="middle">step (1..{len(values)})</text>'
        f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>{dots}'
    )


def _bars(result: dict[str, Any], x0: int) -> str:
    pairs = [
        ("calls ok", result["well_formed_calls_before"], result["well_formed_calls_after"]),
        ("resolved", result["resolve_rate_before"], result["resolve_rate_after"]),
    ]
    out = [
        f'<text x="{x0 + _W / 2}" y="16" text-anchor="middle" font-weight="bold">held-out: before / after</text>',
        f'<rect x="{x0 + _W - 90}" y="26" width="10" height="10" fill="#bbb"/>'
        f'<text x="{x0 + _W - 76}" y="35">before</text>'
        f'<rect x="{x0 + _W - 90}" y="40" width="10" height="10" fill="#2a7"/>'
        f'<text x="{x0 + _W - 76}" y="49">after</text>',
    ]
    width = (_W - 2 * _PAD) / 5
    for i, (name, before, after) in enumerate(pairs):
        base = x0 + _PAD + i * 2.5 * width
        for j, (value, colour) in enumerate(((before, "#bbb"), (after, "#2a7"))):
            h = value * (_H - 2 * _PAD)
            x = base + j * width
            out.append(
                f'<rect x="{x:.1f}" y="{_H - _PAD - h:.1f}" width="{width - 4:.1f}" height="{h:.1f}" fill="{colour}"/>'
            )
            out.append(
                f'<text x="{x + width / 2 - 2:.1f}" y="{_H - _PAD - h - 4:.1f}" text-anchor="middle">{value:.2f}</text>'
            )
        out.append(f'<text x="{base + width:.1f}" y="{_H - 18}" text-anchor="middle">{name}</text>')
    return "".join(out)


def write_curve(result: dict[str, Any], path: str | Path) -> Path:
    """Three panels side by side; returns the path written."""
    rewards = [float(e["reward"]) for e in result.get("grpo_log", []) if "reward" in e]
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{3 * _W}" height="{_H}" font-family="sans-serif" '
        f'font-size="11"><rect width="100%" height="100%" fill="white"/>'
        f"{_line([float(x) for x in result.get('sft_loss', [])], 0, 'SFT loss (TRL)', '#36c')}"
        f"{_line(rewards, _W, 'GRPO mean reward (TRL)', '#c63')}"
        f"{_bars(result, 2 * _W)}</svg>"
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(svg, encoding="utf-8")
    return path
