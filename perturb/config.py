"""Which perturbations an env gets, from whatever a user writes: a keyword, a list, a dict or a YAML file.

    None, "none", ""                      no perturbation
    "all"                                 every built-in family with its defaults
    "system,tools,layout"                 those families (also a list of names)
    {"seed": 7, "families": {"tools": {"formats": ["hermes"]}, "responses": {"p": 0.5}}}
    {"system": {}, "user": {"transforms": ["typos"]}}      (the families straight at the top level)
    "perturb.yaml"                        a file holding one of the above

Each family's options go to its constructor (unknown options are an error),
except `p`, the probability that an episode gets the family at all (default 1).
Perturbation objects (plug-ins) may stand in the list or dict too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator
from swefarm.perturb.base import BUILTIN, Perturbation, PerturbationError, canonical, create, names


class FamilySpec(BaseModel):
    model_config = {"arbitrary_types_allowed": True}

    name: str
    options: dict[str, Any] = Field(default_factory=dict)
    p: float = Field(1.0, ge=0.0, le=1.0)
    instance: Any = None  # a Perturbation object given as is


class PerturbConfig(BaseModel):
    """The families to apply, outermost first, and an optional base seed."""

    seed: int | None = None
    families: list[FamilySpec] = Field(default_factory=list)

    @field_validator("families")
    @classmethod
    def _distinct(cls, families: list[FamilySpec]) -> list[FamilySpec]:
        seen = [f.name for f in families]
        twice = sorted({n for n in seen if seen.count(n) > 1})
        if twice:
            raise ValueError(f"a family may be given once; given twice: {', '.join(twice)}")
        return families

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.families]

    @classmethod
    def load(cls, spec: Any = None) -> PerturbConfig:
        """Parse any accepted spec (see the module docstring); PerturbationError saying what is wrong."""
        try:
            return cls._load(spec)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise PerturbationError(f"invalid perturbation spec: {problems}") from None

    @classmethod
    def _load(cls, spec: Any) -> PerturbConfig:
        if isinstance(spec, PerturbConfig):
            return spec
        if spec is None or spec is False or (isinstance(spec, str) and spec.strip().lower() in ("", "none")):
            return cls()
        if isinstance(spec, Path) or (isinstance(spec, str) and _looks_like_file(spec)):
            return cls._load(_read(Path(spec)))
        if isinstance(spec, str):
            return cls(families=_families(spec.split(",")))
        if isinstance(spec, list | tuple):
            return cls(families=_families(list(spec)))
        if isinstance(spec, Perturbation):
            return cls(families=_families([spec]))
        if not isinstance(spec, dict):
            raise PerturbationError(f"a perturbation spec is names, a dict or a YAML path, not {type(spec).__name__}")
        spec = dict(spec)
        seed = spec.pop("seed", None)
        families = spec.pop("families") if "families" in spec else spec
        if families is not spec and spec:
            raise PerturbationError(f"unknown key(s) beside seed and families: {', '.join(map(str, spec))}")
        if isinstance(families, str):
            families = families.split(",")
        return cls(seed=seed, families=_families(families or []))

    def build(self, **extra: dict[str, Any]) -> list[tuple[Perturbation, float]]:
        """The perturbation objects with their probabilities; `extra[name]` adds options to a family."""
        built = []
        for family in self.families:
            if family.instance is not None:
                built.append((family.instance, family.p))
            else:
                built.append((create(family.name, **{**family.options, **extra.get(family.name, {})}), family.p))
        return built


def _families(items: list | dict) -> list[FamilySpec]:
    """FamilySpecs from names, "all", Perturbation objects, or a {name: options} mapping."""
    pairs: list[tuple[Any, Any]] = list(items.items()) if isinstance(items, dict) else [(i, None) for i in items]
    out: list[FamilySpec] = []
    for key, options in pairs:
        if isinstance(key, Perturbation):
            out.append(FamilySpec(name=key.name, instance=key))
            continue
        if not isinstance(key, str):
            raise PerturbationError(f"a family is named by a string or given as a Perturbation, not {key!r}")
        if not key.strip():
            continue
        name = canonical(key)
        if name == "all":
            out.extend(FamilySpec(name=n) for n in BUILTIN if n not in {f.name for f in out})
            continue
        if name not in names():
            raise PerturbationError(f"unknown perturbation {key!r}; known: all, {', '.join(names())}")
        if options is False:
            continue
        options = dict(options) if isinstance(options, dict) else {}
        p = options.pop("p", 1.0)
        out.append(FamilySpec(name=name, options=options, p=p))
    return out


def _looks_like_file(text: str) -> bool:
    return text.strip().endswith((".yaml", ".yml", ".json")) or ("/" in text and Path(text).is_file())


def _read(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise PerturbationError(f"cannot read the perturbation spec {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise PerturbationError(f"{path} is not valid YAML: {exc}") from None
