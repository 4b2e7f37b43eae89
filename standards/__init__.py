"""Standards catalogues as data: BS 11000, ISO 44001, the Trusted Partnership Charter, optional built-in
frameworks (OGC partnering self-assessment, mutuality factors, trust behaviours, the Alliancing Code of Practice)
and user catalogues.

This package imports nothing else of the project; it only reads and validates YAML.
load_catalogue() reads the three default frameworks (BUILTIN_FILES); load_catalogue(frameworks=("OGC", "MUT"))
adds optional built-in ones by id (OPTIONAL_FILES; available_frameworks() lists those installed).

Catalogue format (one YAML file per framework; a user's own framework may use every key; all new keys optional):

    framework:
      id: OGC
      name: "..."
      stage_label: Checklist         # what a group is called on screen (default "Stage")
      description: "..."             # what the framework as a whole is about
      default: false                 # assessed unless the user chooses otherwise (default true)
      assessment: ogc_gates          # the scoring rule: coverage (default), ogc_gates, weighted_index, grid, rag
      scale: [green, amber, red]     # the answer scale, best first: plain ids or {id, label}
      # scale: {min: 0, max: 4, levels: [{value: 0, label: "..."}, ...]}   # or numeric; levels describe points
      rule: {kind: gate, fails: ["no"]}   # as for a stage below
      themes: [{id: "1", title: Behaviour}, ...]   # the columns of a grid framework
    stages:                          # the groups, in order
      - id: OGC-AA-NW
        title: "..."
        scale: ["yes", "no"]         # overrides the framework's scale for this group
        rule: {kind: gate, fails: ["no"]}   # any listed answer fails the whole group: a gate, never an average
        # rule: {kind: flag, flags: [partly, not at all]}   # any listed answer flags that item for attention
        due: 0                       # a gate number: when the relationship is at an earlier gate, not yet due
    requirements:
      - id: OGC-AA-NW.01
        stage: OGC-AA-NW
        title, description, examples, terms, doc_types, crosswalk   # as for BS 11000
        weight: 75                   # a positive number
        theme: "1"                   # one of the framework's themes
        critical: false              # default false

Checks: a rule needs a scale of named answers and every answer it names must be on it; weighted_index needs a
numeric scale and a weight on every requirement; grid needs themes and a theme on every requirement; rag needs a
scale of named answers. Bare yes/no (YAML booleans) on a scale or in a rule mean the words "yes" and "no".
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

BUILTIN_DIR = Path(__file__).parent / "catalogues"
BUILTIN_FILES = ("bs11000.yaml", "iso44001.yaml", "xtp.yaml")
# Built-in frameworks a user opts into (load_catalogue(frameworks=...)); the default load never reads them, so
# its requirements and its version stay what they were. ACOP's file may be absent from a checkout.
OPTIONAL_FILES = {"OGC": "ogc.yaml", "MUT": "mutuality.yaml", "TB": "trust.yaml", "ACOP": "acop.yaml"}
ASSESSMENTS = ("coverage", "ogc_gates", "weighted_index", "grid", "rag")
RULE_KINDS = {"gate": "fails", "flag": "flags"}  # rule kind -> the key listing the answers it reacts to


class CatalogueError(Exception):
    """A catalogue file is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class Scale:
    """An answer scale: named answers best first, or a numeric range with optionally described points."""

    answers: tuple[tuple[str, str], ...] = ()  # (answer id, label), best first; empty when numeric
    min: float | None = None
    max: float | None = None
    levels: tuple[tuple[float, str], ...] = ()  # numeric: (value, what it means), low to high

    @property
    def numeric(self) -> bool:
        return self.min is not None

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(a for a, _ in self.answers)


@dataclass(frozen=True)
class Rule:
    kind: str  # "gate": any of `answers` fails the group; "flag": any of `answers` flags the item
    answers: tuple[str, ...]


@dataclass(frozen=True)
class Stage:
    id: str
    title: str
    scale: Scale | None = None  # None: the framework's
    rule: Rule | None = None  # None: the framework's
    due: int | None = None  # the gate by which its items are due; None: always due


@dataclass(frozen=True)
class Framework:
    id: str
    name: str
    stage_label: str
    stages: tuple[tuple[str, str], ...]  # (stage id, stage title) in order
    source: str
    groups: tuple[Stage, ...] = ()  # the stages with their scales, rules and due order
    default: bool = True
    assessment: str = "coverage"
    scale: Scale | None = None
    rule: Rule | None = None
    themes: tuple[tuple[str, str], ...] = ()  # (theme id, title) in order
    description: str = ""

    def group(self, stage: str) -> Stage:
        return next((g for g in self.groups if g.id == stage), Stage(stage, stage))

    def scale_for(self, stage: str) -> Scale | None:
        return self.group(stage).scale or self.scale

    def rule_for(self, stage: str) -> Rule | None:
        return self.group(stage).rule or self.rule


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
    weight: float | None = None  # weighted_index frameworks: the factor's share of the index
    theme: str | None = None  # grid frameworks: the column (theme id) it sits in
    critical: bool = False


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
        """Every (from, to) crosswalk link, in catalogue order, the way evidence flows: evidence of `from` is
        offered for `to`. A framework the user opts into draws on the default ones (evidence of a BS 11000 item
        is offered for the OGC question that names it as its overlap) and never feeds them: enabling it must not
        change one link of the frameworks already assessed."""
        pairs = []
        for r in self:
            for target in r.crosswalk:
                into_default = self.frameworks[self.requirements[target].framework].default
                opted_in = not self.frameworks[r.framework].default
                pairs.append((target, r.id) if opted_in and into_default else (r.id, target))
        return pairs

    def crosswalk_targets(self) -> dict[str, list[str]]:
        """For each requirement, where its evidence is also offered (`crosswalk_pairs` by source)."""
        targets: dict[str, list[str]] = {}
        for source, target in self.crosswalk_pairs():
            targets.setdefault(source, []).append(target)
        return targets


def load_catalogue(extra: Iterable[str | Path] = (), builtin: bool = True, frameworks: Iterable[str] = ()) -> Catalogue:
    """Load the built-in catalogues plus any user catalogue files, validated as one whole.

    `frameworks` names optional built-in frameworks to add (see OPTIONAL_FILES and available_frameworks()).
    """
    paths = [BUILTIN_DIR / name for name in BUILTIN_FILES] if builtin else []
    if isinstance(frameworks, str):  # frameworks="OGC" means the one framework, not O, G and C
        frameworks = (frameworks,)
    optional = [(fid, _optional_path(fid)) for fid in dict.fromkeys(frameworks)]
    paths += [path for _, path in optional] + [Path(p) for p in extra]
    catalogue = Catalogue()
    digest = hashlib.sha256()
    for path in paths:
        raw, canonical = _read_yaml(path)
        digest.update(path.name.encode() + b"\0" + canonical)
        _add_file(catalogue, raw, path)
    for fid, path in optional:
        if fid not in catalogue.frameworks:  # a file under the wrong name would silently load another framework
            raise CatalogueError(f"{path}: expected framework '{fid}', the file declares another")
    _check_crosswalk(catalogue)
    catalogue.version = digest.hexdigest()[:16]
    return catalogue


def available_frameworks() -> tuple[str, ...]:
    """The optional built-in frameworks this installation has, for load_catalogue(frameworks=...)."""
    return tuple(fid for fid, name in OPTIONAL_FILES.items() if (BUILTIN_DIR / name).is_file())


def _optional_path(framework_id: str) -> Path:
    if framework_id not in OPTIONAL_FILES:
        raise CatalogueError(
            f"unknown optional framework '{framework_id}': choose from {', '.join(OPTIONAL_FILES)}"
        )
    path = BUILTIN_DIR / OPTIONAL_FILES[framework_id]
    if not path.is_file():
        raise CatalogueError(f"{path}: optional framework '{framework_id}' is not installed (catalogue file not found)")
    return path


# libyaml when PyYAML has it: every new database and re-map loads the catalogue, ten times faster in C
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path) -> tuple[dict, bytes]:
    """(the file's mapping, its canonical JSON for the version); the mapping is shared, read it, never change it."""
    try:
        raw, canonical = _parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogueError(f"{path}: catalogue file not found") from None
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("framework"), dict):
        raise CatalogueError(f"{path}: a catalogue needs a 'framework' mapping at the top")
    return raw, canonical


# a watcher, a server and every new database load the same files again: parsed once per content, per process
@functools.lru_cache(maxsize=32)
def _parse(text: str) -> tuple[object, bytes]:
    raw = yaml.load(text, Loader=_LOADER)
    # JSON, not a YAML dump: the same version whichever YAML emitter a machine has
    return raw, json.dumps(raw, sort_keys=True, default=str).encode()


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
    fid = str(fw["id"])
    where = f"{path}: framework '{fid}'"
    stages = raw.get("stages") or []
    try:
        stage_pairs = tuple((str(s["id"]), str(s["title"])) for s in stages)
    except (KeyError, TypeError):
        raise CatalogueError(f"{path}: every stage needs an 'id' and a 'title'") from None
    if not stage_pairs:
        raise CatalogueError(f"{path}: framework '{fid}' declares no stages")
    if len({s for s, _ in stage_pairs}) != len(stage_pairs):  # a stage's scale, rule and due are found by its id
        raise CatalogueError(f"{where}: stage ids must be distinct")
    assessment = str(fw.get("assessment", "coverage"))
    if assessment not in ASSESSMENTS:
        raise CatalogueError(f"{where} has assessment '{assessment}': choose one of {', '.join(ASSESSMENTS)}")
    scale = _scale(fw.get("scale"), where)
    framework = Framework(
        fid, str(fw["name"]), str(fw.get("stage_label", "Stage")), stage_pairs, str(path),
        groups=tuple(_stage(s, scale, where) for s in stages),
        default=_flag(fw, "default", True, where),
        assessment=assessment, scale=scale, rule=_rule(fw.get("rule"), scale, where),
        themes=_themes(fw.get("themes"), where),
        description=" ".join(str(fw.get("description") or "").split()),
    )
    _check_assessment(framework, where)
    return framework


def _stage(entry: dict, framework_scale: Scale | None, where: str) -> Stage:
    here = f"{where}, stage '{entry['id']}'"
    scale = _scale(entry.get("scale"), here)
    due = entry.get("due")
    if due is not None and (isinstance(due, bool) or not isinstance(due, int) or due < 0):
        raise CatalogueError(f"{here} needs 'due' as a whole number from 0 (the gate its items are due by)")
    rule = _rule(entry.get("rule"), scale or framework_scale, here)  # a group's rule may use the framework's scale
    return Stage(str(entry["id"]), str(entry["title"]), scale, rule, due)


def _check_assessment(framework: Framework, where: str) -> None:
    # the scoring rules need their inputs; say so now rather than score nonsense later
    if framework.assessment == "weighted_index" and not (framework.scale and framework.scale.numeric):
        raise CatalogueError(f"{where}: a weighted_index assessment needs a numeric scale ({{min, max}})")
    if framework.assessment == "grid" and not framework.themes:
        raise CatalogueError(f"{where}: a grid assessment needs 'themes'")
    if framework.assessment == "rag" and not (framework.scale and framework.scale.answers):
        raise CatalogueError(f"{where}: a rag assessment needs a scale of named answers, e.g. [green, amber, red]")


def _answer(value) -> str:
    # YAML 1.1 reads bare yes/no as booleans: a scale written [yes, no] means the words
    return ("yes" if value else "no") if isinstance(value, bool) else str(value).strip()


def _scale(value, where: str) -> Scale | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return _numeric_scale(value, where)
    if not isinstance(value, list) or len(value) < 2:
        raise CatalogueError(f"{where} needs 'scale' as a list of two or more answers (best first) or {{min, max}}")
    answers = []
    for item in value:
        if isinstance(item, dict):
            if item.get("id") is None:
                raise CatalogueError(f"{where}: every answer of 'scale' needs an 'id'")
            answers.append((_answer(item["id"]), str(item.get("label") or _answer(item["id"])).strip()))
        else:
            answers.append((_answer(item), _answer(item)))
    ids = [a for a, _ in answers]
    if not all(ids) or len(set(ids)) != len(ids):
        raise CatalogueError(f"{where}: the answers of 'scale' must be distinct and not empty")
    return Scale(answers=tuple(answers))


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _numeric_scale(value: dict, where: str) -> Scale:
    low, high = value.get("min"), value.get("max")
    if not (_number(low) and _number(high) and low < high):
        raise CatalogueError(f"{where} needs a numeric 'scale' with numbers 'min' below 'max'")
    levels = []
    for item in value.get("levels") or []:
        point = item.get("value") if isinstance(item, dict) else None
        if not _number(point) or not low <= point <= high or not str(item.get("label") or "").strip():
            raise CatalogueError(f"{where}: every level of 'scale' needs a 'value' from {low} to {high} and a 'label'")
        levels.append((point, " ".join(str(item["label"]).split())))
    return Scale(min=low, max=high, levels=tuple(sorted(levels)))


def _rule(value, scale: Scale | None, where: str) -> Rule | None:
    if value is None:
        return None
    kind = value.get("kind") if isinstance(value, dict) else None
    if kind not in RULE_KINDS:
        raise CatalogueError(f"{where} needs 'rule' as {{kind: gate, fails: [...]}} or {{kind: flag, flags: [...]}}")
    key = RULE_KINDS[kind]
    answers = value.get(key)
    if not isinstance(answers, list) or not answers:
        raise CatalogueError(f"{where}: a {kind} rule needs '{key}' as a list of answers")
    if scale is None or scale.numeric:
        raise CatalogueError(f"{where}: a {kind} rule needs a scale of named answers")
    for answer in map(_answer, answers):
        if answer not in scale.ids:
            raise CatalogueError(
                f"{where}: the {kind} rule names answer '{answer}', which is not on the scale ({', '.join(scale.ids)})"
            )
    return Rule(kind, tuple(map(_answer, answers)))


def _themes(value, where: str) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    try:
        themes = tuple((str(t["id"]), str(t["title"])) for t in value)
    except (KeyError, TypeError):
        raise CatalogueError(f"{where}: every theme needs an 'id' and a 'title'") from None
    if len({t for t, _ in themes}) != len(themes):
        raise CatalogueError(f"{where}: theme ids must be distinct")
    return themes


def _flag(entry: dict, key: str, default: bool, where: str) -> bool:
    value = entry.get(key)
    if value is None:  # left empty means not said: e.g. critical outcomes whose marks the source lost
        return default
    if not isinstance(value, bool):
        raise CatalogueError(f"{where} needs '{key}' as true or false")
    return value


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
    where = f"{path}: requirement '{rid}'"
    return Requirement(
        id=rid, framework=framework.id, stage=stage,
        title=str(entry["title"]).strip(), description=" ".join(str(entry["description"]).split()),
        examples=tuple(str(e) for e in entry.get("examples") or ()),
        doc_types=tuple(str(d) for d in entry.get("doc_types") or ()),
        crosswalk=tuple(str(c) for c in entry.get("crosswalk") or ()),
        terms=_strings(entry, "terms", rid, path),
        position=position,
        weight=_weight(entry, framework, where),
        theme=_theme(entry, framework, where),
        critical=_flag(entry, "critical", False, where),
    )


def _weight(entry: dict, framework: Framework, where: str) -> float | None:
    weight = entry.get("weight")
    if weight is None:
        if framework.assessment == "weighted_index":
            raise CatalogueError(f"{where} needs a 'weight': framework '{framework.id}' is a weighted index")
        return None
    if not _number(weight) or weight <= 0:
        raise CatalogueError(f"{where} needs 'weight' as a positive number, not {weight!r}")
    return weight


def _theme(entry: dict, framework: Framework, where: str) -> str | None:
    if entry.get("theme") is None:
        if framework.assessment == "grid":
            raise CatalogueError(f"{where} needs a 'theme': framework '{framework.id}' is a grid")
        return None
    theme = str(entry["theme"])
    known = [t for t, _ in framework.themes]
    if theme not in known:
        listed = ", ".join(known) or "none"
        raise CatalogueError(f"{where} has theme '{theme}', which framework '{framework.id}' does not declare ({listed})")
    return theme


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
