"""Standards catalogues as data: BS 11000, ISO 44001, the Trusted Partnership Charter, and user catalogues.

This package imports nothing else of the project; it only reads and validates YAML.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

BUILTIN_DIR = Path(__file__).parent / "catalogues"
BUILTIN_FILES = ("bs11000.yaml", "iso44001.yaml", "xtp.yaml")


class CatalogueError(Exception):
    """A catalogue file is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class Framework:
    id: str
    name: str
    stage_label: str
    stages: tuple[tuple[str, str], ...]  # (stage id, stage title) in order
    source: str


@dataclass(frozen=True)
class Requirement:
    id: str
    framework: str
    stage: str
    title: str
    description: str
    examples: tuple[str, ...] = ()
    doc_types: tuple[str, ...] = ()
    crosswalk: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()  # the standard's own words for it: "SER", "exit strategy"
    position: int = 0  # order within its catalogue file


@dataclass
class Catalogue:
    frameworks: dict[str, Framework] = field(default_factory=dict)
    requirements: dict[str, Requirement] = field(default_factory=dict)
    version: str = ""  # hash of every file's content: changes whenever the catalogue does

    def __iter__(self):
        return iter(self.requirements.values())

    def __len__(self) -> int:
        return len(self.requirements)

    def __getitem__(self, requirement_id: str) -> Requirement:
        return self.requirements[requirement_id]

    def stage_title(self, framework: str, stage: str) -> str:
        return dict(self.frameworks[framework].stages).get(stage, stage)

    def crosswalk_pairs(self) -> list[tuple[str, str]]:
        """Every (from, to) crosswalk link, in catalogue order."""
        return [(r.id, target) for r in self for target in r.crosswalk]


def load_catalogue(extra: Iterable[str | Path] = (), builtin: bool = True) -> Catalogue:
    """Load the built-in catalogues plus any user catalogue files, validated as one whole."""
    paths = [BUILTIN_DIR / name for name in BUILTIN_FILES] if builtin else []
    paths += [Path(p) for p in extra]
    catalogue = Catalogue()
    digest = hashlib.sha256()
    for path in paths:
        raw = _read_yaml(path)
        # JSON, not a YAML dump: the same version whichever YAML emitter a machine has
        digest.update(path.name.encode() + b"\0" + json.dumps(raw, sort_keys=True, default=str).encode())
        _add_file(catalogue, raw, path)
    _check_crosswalk(catalogue)
    catalogue.version = digest.hexdigest()[:16]
    return catalogue


# libyaml when PyYAML has it: every new database and re-map loads the catalogue, ten times faster in C
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path) -> dict:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except FileNotFoundError:
        raise CatalogueError(f"{path}: catalogue file not found") from None
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("framework"), dict):
        raise CatalogueError(f"{path}: a catalogue needs a 'framework' mapping at the top")
    return raw


def _add_file(catalogue: Catalogue, raw: dict, path: Path) -> None:
    framework = _framework(raw, path)
    if framework.id in catalogue.frameworks:
        raise CatalogueError(f"{path}: framework '{framework.id}' is already declared")
    catalogue.frameworks[framework.id] = framework
    stage_ids = {s for s, _ in framework.stages}
    entries = raw.get("requirements")
    if not isinstance(entries, list) or not entries:
        raise CatalogueError(f"{path}: framework '{framework.id}' lists no requirements")
    for position, entry in enumerate(entries):
        requirement = _requirement(entry, framework, stage_ids, path, position)
        if requirement.id in catalogue.requirements:
            raise CatalogueError(f"{path}: requirement '{requirement.id}' is declared twice")
        catalogue.requirements[requirement.id] = requirement


def _framework(raw: dict, path: Path) -> Framework:
    fw = raw["framework"]
    if not fw.get("id") or not fw.get("name"):
        raise CatalogueError(f"{path}: framework needs an 'id' and a 'name'")
    stages = raw.get("stages") or []
    try:
        stage_pairs = tuple((str(s["id"]), str(s["title"])) for s in stages)
    except (KeyError, TypeError):
        raise CatalogueError(f"{path}: every stage needs an 'id' and a 'title'") from None
    if not stage_pairs:
        raise CatalogueError(f"{path}: framework '{fw['id']}' declares no stages")
    return Framework(str(fw["id"]), str(fw["name"]), str(fw.get("stage_label", "Stage")),
                     stage_pairs, str(path))


def _requirement(entry, framework: Framework, stage_ids: set, path: Path, position: int) -> Requirement:
    if not isinstance(entry, dict) or not entry.get("id"):
        raise CatalogueError(f"{path}: requirement #{position + 1} has no 'id'")
    rid = str(entry["id"])
    for key in ("title", "description", "stage"):
        if not str(entry.get(key, "")).strip():
            raise CatalogueError(f"{path}: requirement '{rid}' has no '{key}'")
    stage = str(entry["stage"])
    if stage not in stage_ids:
        raise CatalogueError(
            f"{path}: requirement '{rid}' is under stage '{stage}', "
            f"which framework '{framework.id}' does not declare"
        )
    return Requirement(
        id=rid, framework=framework.id, stage=stage,
        title=str(entry["title"]).strip(), description=" ".join(str(entry["description"]).split()),
        examples=tuple(str(e) for e in entry.get("examples") or ()),
        doc_types=tuple(str(d) for d in entry.get("doc_types") or ()),
        crosswalk=tuple(str(c) for c in entry.get("crosswalk") or ()),
        terms=_strings(entry, "terms", rid, path),
        position=position,
    )


def _strings(entry: dict, key: str, rid: str, path: Path) -> tuple[str, ...]:
    value = entry.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise CatalogueError(f"{path}: requirement '{rid}' needs '{key}' as a list of words or phrases")
    return tuple(v.strip() for v in value)


def _check_crosswalk(catalogue: Catalogue) -> None:
    for requirement in catalogue:
        for target in requirement.crosswalk:
            if target not in catalogue.requirements:
                source = catalogue.frameworks[requirement.framework].source
                raise CatalogueError(
                    f"{source}: requirement '{requirement.id}' has a crosswalk to "
                    f"'{target}', which no loaded catalogue declares"
                )
