"""/v1/scaffolds: versioned scaffold configs of the token's own."""

from __future__ import annotations

from fastapi import APIRouter, Path
from swefarm.api.contract.schemas import NAME, ScaffoldCreate, ScaffoldPublic, ScaffoldUpdate
from swefarm.api.server import scaffolds
from swefarm.api.server.deps import Owner, State

router = APIRouter(prefix="/v1/scaffolds", tags=["scaffolds"])
Name = Path(pattern=NAME)
Version = Path(ge=1, le=10**9)


@router.post("", response_model=ScaffoldPublic, status_code=201)
def create(state: State, owner: Owner, body: ScaffoldCreate) -> ScaffoldPublic:
    """A new version of `name` (version 1 when the name is new)."""
    return scaffolds.create(state.database, owner, body, state.settings)


@router.get("", response_model=list[ScaffoldPublic])
def list_latest(state: State, owner: Owner) -> list[ScaffoldPublic]:
    """The latest version of each of the token's scaffolds."""
    return scaffolds.latest_of_each(state.database, owner)


@router.get("/{name}", response_model=ScaffoldPublic)
def latest(state: State, owner: Owner, name: str = Name) -> ScaffoldPublic:
    return scaffolds.get(state.database, owner, name)


@router.get("/{name}/versions", response_model=list[ScaffoldPublic])
def versions(state: State, owner: Owner, name: str = Name) -> list[ScaffoldPublic]:
    return scaffolds.versions(state.database, owner, name)


@router.get("/{name}/versions/{version}", response_model=ScaffoldPublic)
def version(state: State, owner: Owner, name: str = Name, version: int = Version) -> ScaffoldPublic:
    return scaffolds.get(state.database, owner, name, version)


@router.patch("/{name}/versions/{version}", response_model=ScaffoldPublic)
def amend(state: State, owner: Owner, body: ScaffoldUpdate, name: str = Name, version: int = Version) -> ScaffoldPublic:
    """Change a version's note or metadata (what an optimisation loop learnt of it); its config is fixed."""
    return scaffolds.amend(state.database, owner, name, version, body)
