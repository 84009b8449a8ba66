"""Versioned scaffolds: each name holds versions 1, 2, ... of a config that never changes once made.

A scaffold belongs to the token that made it. A version records its parent (the version it was
derived from) and a note (what changed and why), which is how an optimisation loop's history
reads back. Limits are checked against the farm's caps when a version is made.
"""

from __future__ import annotations

import json

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from swefarm.api.contract.errors import InvalidRequestError, NotFoundError
from swefarm.api.contract.schemas import ScaffoldChoice, ScaffoldConfig, ScaffoldCreate, ScaffoldPublic, ScaffoldUpdate
from swefarm.api.farm import db
from swefarm.api.farm.settings import Settings

MAX_METADATA = 16 * 1024


def check_limits(config: ScaffoldConfig, settings: Settings) -> None:
    """InvalidRequestError when the scaffold asks for more than the farm allows."""
    over = []
    if config.max_steps > settings.max_steps_cap:
        over.append(f"max_steps {config.max_steps} > {settings.max_steps_cap}")
    if config.wall_clock_budget_s > settings.wall_clock_cap_s:
        over.append(f"wall_clock_budget_s {config.wall_clock_budget_s:g} > {settings.wall_clock_cap_s:g}")
    if config.command_timeout_s > settings.command_timeout_cap_s:
        over.append(f"command_timeout_s {config.command_timeout_s:g} > {settings.command_timeout_cap_s:g}")
    if over:
        raise InvalidRequestError("the scaffold exceeds this farm's limits: " + "; ".join(over))


def _metadata(value: dict) -> str:
    text = json.dumps(value, default=str)
    if len(text) > MAX_METADATA:
        raise InvalidRequestError(f"metadata is at most {MAX_METADATA} bytes of JSON")
    return text


def _public(row) -> ScaffoldPublic:
    from datetime import UTC, datetime

    return ScaffoldPublic(
        name=row.name,
        version=row.version,
        config=ScaffoldConfig.model_validate_json(row.config),
        parent=row.parent,
        note=row.note,
        metadata=json.loads(row.metadata),
        created_at=datetime.fromtimestamp(row.created_at, UTC),
    )


def create(database: db.Database, owner: str, body: ScaffoldCreate, settings: Settings) -> ScaffoldPublic:
    check_limits(body.config, settings)
    meta = _metadata(body.metadata)
    for _ in range(5):  # a concurrent writer on a database without BEGIN IMMEDIATE: take the next number
        try:
            with database.write() as conn:
                where = (db.scaffolds.c.owner == owner) & (db.scaffolds.c.name == body.name)
                latest = conn.execute(select(func.max(db.scaffolds.c.version)).where(where)).scalar() or 0
                if body.parent is not None and body.parent > latest:
                    raise InvalidRequestError(f"scaffold {body.name} has no version {body.parent} to derive from")
                conn.execute(
                    insert(db.scaffolds).values(
                        owner=owner, name=body.name, version=latest + 1, config=body.config.model_dump_json(),
                        parent=body.parent, note=body.note, metadata=meta, created_at=db.now(),
                    )
                )  # fmt: skip
            return get(database, owner, body.name, latest + 1)
        except IntegrityError:
            continue
    raise InvalidRequestError(f"scaffold {body.name} is being changed by several clients at once; try again")


def get(database: db.Database, owner: str, name: str, version: int | None = None) -> ScaffoldPublic:
    where = (db.scaffolds.c.owner == owner) & (db.scaffolds.c.name == name)
    query = select(db.scaffolds).where(where)
    query = query.where(db.scaffolds.c.version == version) if version else query.order_by(db.scaffolds.c.version.desc())
    with database.read() as conn:
        row = conn.execute(query.limit(1)).first()
    if row is None:
        raise NotFoundError(f"no scaffold {name}" + (f" version {version}" if version else ""))
    return _public(row)


def versions(database: db.Database, owner: str, name: str) -> list[ScaffoldPublic]:
    where = (db.scaffolds.c.owner == owner) & (db.scaffolds.c.name == name)
    with database.read() as conn:
        rows = conn.execute(select(db.scaffolds).where(where).order_by(db.scaffolds.c.version)).all()
    if not rows:
        raise NotFoundError(f"no scaffold {name}")
    return [_public(row) for row in rows]


def latest_of_each(database: db.Database, owner: str) -> list[ScaffoldPublic]:
    newest = (
        select(db.scaffolds.c.name, func.max(db.scaffolds.c.version).label("version"))
        .where(db.scaffolds.c.owner == owner)
        .group_by(db.scaffolds.c.name)
        .subquery()
    )
    query = (
        select(db.scaffolds)
        .join(newest, (db.scaffolds.c.name == newest.c.name) & (db.scaffolds.c.version == newest.c.version))
        .where(db.scaffolds.c.owner == owner)
        .order_by(db.scaffolds.c.name)
    )
    with database.read() as conn:
        return [_public(row) for row in conn.execute(query)]


def amend(database: db.Database, owner: str, name: str, version: int, body: ScaffoldUpdate) -> ScaffoldPublic:
    get(database, owner, name, version)
    values = {}
    if body.note is not None:
        values["note"] = body.note
    if body.metadata is not None:
        values["metadata"] = _metadata(body.metadata)
    if values:
        key = (db.scaffolds.c.owner == owner) & (db.scaffolds.c.name == name) & (db.scaffolds.c.version == version)
        with database.write() as conn:
            conn.execute(update(db.scaffolds).where(key).values(**values))
    return get(database, owner, name, version)


def resolve(
    database: db.Database, owner: str, choice: ScaffoldChoice, settings: Settings
) -> tuple[str | None, ScaffoldConfig]:
    """The scaffold a session or evaluation asked for: its `name@version` (None inline) and its config."""
    if choice.scaffold is not None:
        name, _, version = choice.scaffold.partition("@")
        found = get(database, owner, name, int(version) if version else None)
        return found.ref, found.config
    config = choice.config or ScaffoldConfig()
    check_limits(config, settings)
    return None, config
