"""Read task files (JSONL or a JSON list) in SWE-bench, SWE-Gym, SWE-rebench or swefarm's own format.

The format is detected per record unless given. A bad record raises `TaskFormatError` naming its
line and what is wrong, or, with `skip_bad`, is counted in the `ReadReport` and skipped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from swefarm.tasks.importers.swebench import from_swebench
from swefarm.tasks.importers.swerebench import from_swerebench
from swefarm.tasks.models import Task

FORMATS = ("auto", "swebench", "swegym", "swerebench", "swefarm")


class TaskFormatError(ValueError):
    """A record in a task file is not a task: the message names the line and the field."""


@dataclass
class ReadReport:
    """What reading a task file found."""

    read: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def detect_format(record: dict[str, Any]) -> str:
    """The format one record is in: swefarm's own, SWE-rebench (has `install_config`), else SWE-bench."""
    if "provenance" in record or "status" in record or isinstance(record.get("environment"), dict):
        return "swefarm"
    if "install_config" in record:
        return "swerebench"
    return "swebench"


def parse_record(record: Any, fmt: str = "auto", source: str | None = None) -> Task:
    """One record as a Task; `source` (default: the format's dataset name) goes into the provenance."""
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    fmt = detect_format(record) if fmt == "auto" else fmt
    parsers: dict[str, Callable[[], Task]] = {
        "swebench": lambda: from_swebench(record, source or "swe-bench"),
        "swegym": lambda: from_swebench(record, source or "swe-gym"),
        "swerebench": lambda: from_swerebench(record, source or "swe-rebench"),
        "swefarm": lambda: _from_swefarm(record, source),
    }
    if fmt not in parsers:
        raise ValueError(f"unknown task format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return parsers[fmt]()


def read_tasks(
    path: str | Path,
    fmt: str = "auto",
    source: str | None = None,
    skip_bad: bool = False,
    report: ReadReport | None = None,
) -> Iterator[Task]:
    """Tasks from a JSONL file or a JSON list file, one at a time; counts go into `report`."""
    report = report if report is not None else ReadReport()
    for where, record in _records(Path(path)):
        try:
            if isinstance(record, json.JSONDecodeError):
                raise ValueError(f"not valid JSON ({record.msg})")
            task = parse_record(record, fmt, source)
        except (ValidationError, ValueError, TypeError) as exc:
            message = f"{where}: {describe_error(exc)}"
            if not skip_bad:
                raise TaskFormatError(f"{path}: {message}") from None
            report.skipped += 1
            report.errors.append(message)
            continue
        report.read += 1
        yield task


def describe_error(exc: Exception) -> str:
    """A one-line account of a validation error: 'missing field 'base_commit'', 'field 'x': ...'."""
    if not isinstance(exc, ValidationError):
        return str(exc)
    parts = []
    for err in exc.errors():
        name = ".".join(str(p) for p in err["loc"]) or "record"
        parts.append(f"missing field {name!r}" if err["type"] == "missing" else f"field {name!r}: {err['msg']}")
    return "; ".join(parts)


def _from_swefarm(record: dict[str, Any], source: str | None) -> Task:
    task = Task.model_validate(record)
    if source:
        task = task.model_copy(update={"provenance": task.provenance.model_copy(update={"source": source})})
    return task


def _records(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, record) pairs: 'line N' for JSONL, 'item N' for a JSON list; a bad line yields its error."""
    if not path.is_file():
        raise FileNotFoundError(f"no such task file: {path}")
    with path.open(encoding="utf-8") as fh:
        head = fh.read(4096).lstrip()
        fh.seek(0)
        if head.startswith("["):
            try:
                items = json.load(fh)
            except json.JSONDecodeError as exc:
                raise TaskFormatError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
            yield from ((f"item {i}", item) for i, item in enumerate(items, 1))
            return
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                record = exc
            yield f"line {lineno}", record
