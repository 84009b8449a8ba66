"""Tasks: the schema every part of swefarm shares, the SQLite task store, and dataset importers.

This package depends on nothing else in swefarm.
"""

from swefarm.tasks.importers import FORMATS, ReadReport, TaskFormatError, detect_format, parse_record, read_tasks
from swefarm.tasks.models import Environment, Provenance, Task, TaskStatus, ValidationRun
from swefarm.tasks.store import ImportReport, TaskNotFoundError, TaskStore, default_store_path

__all__ = [
    "FORMATS",
    "Environment",
    "ImportReport",
    "Provenance",
    "ReadReport",
    "Task",
    "TaskFormatError",
    "TaskNotFoundError",
    "TaskStatus",
    "TaskStore",
    "ValidationRun",
    "default_store_path",
    "detect_format",
    "parse_record",
    "read_tasks",
]
