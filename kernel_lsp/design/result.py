"""The outcome of a verification run: checked items, level-type elements, invocations, paths,
demands and the run, with their codes (docs/codes.md). Every report format renders this."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from kernel_lsp.findings import CODES

LEVEL_NAMES = {1: "base", 2: "func", 3: "struct", 4: "file", 5: "dentry", 6: "subsys"}


def right(code: str) -> bool:
    """Whether a code is not an error (a ``_1`` code, or a ``_2`` of warning severity)."""
    return code.endswith("_1") or CODES[code].severity != "error"


@dataclass(slots=True)
class Item:
    """One checked element or relationship and its verdict (``code``)."""

    code: str
    subject: str
    message: str
    path: str | None = None
    line: int | None = None  # 0-based
    col: int | None = None
    end_col: int | None = None
    reasons: tuple[str, ...] = ()  # underlying codes of a ``_2`` (020_2, 404_2, ...)

    @property
    def ok(self) -> bool:
        return right(self.code)

    @property
    def failing(self) -> tuple[str, ...]:
        """This item's code and its reasons when it is not right (else nothing)."""
        if self.code.endswith("_1"):
            return ()
        return (self.code, *self.reasons)


@dataclass(slots=True)
class Element:
    """A level type as checked: its existence (00L) and structure (50L) items."""

    key: tuple[str, str]  # (kind, name): ("func", "do_sys_open"), ("type", "struct file")
    level: int
    name: str
    existence: Item
    structure: Item | None = None
    path: str | None = None
    line: int | None = None
    types: list[tuple[str, str]] = field(default_factory=list)  # keys of the types it uses
    file: str | None = None  # the file element it lives in

    @property
    def items(self) -> list[Item]:
        return [self.existence] + ([self.structure] if self.structure else [])


@dataclass(slots=True)
class InvocationResult:
    """One demanding invocation: participating functions, dependent types, the relation."""

    id: str
    caller: str
    callee: str
    require: str
    line: int  # of the callee in the demand file (0-based)
    col: int
    functions: list[tuple[str, str]] = field(default_factory=list)
    types: list[tuple[str, str]] = field(default_factory=list)  # every dependent type
    files: list[tuple[str, str]] = field(default_factory=list)  # files, dentries, subsystems
    dirs: list[Item] = field(default_factory=list)  # structure of the dentries and subsystems
    relation: list[Item] = field(default_factory=list)
    code: str = "403_1"
    reasons: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.code == "403_1"

    def shown(self, elements: dict) -> tuple[list, list, list, int]:
        """What a report lists of this invocation: (types, files, directory items, how many
        dependent elements are right and left out). The types of the two functions' signatures
        and the files of the functions and those types are always listed; of the rest (members,
        recursively) only what is not right."""
        def bad(k) -> bool:
            return any(not i.code.endswith("_1") for i in elements[k].items)

        direct = list(dict.fromkeys(t for k in self.functions for t in elements[k].types
                                    if t in elements))
        types = direct + [k for k in self.types if k not in direct and k in elements and bad(k)]
        near = {elements[k].file for k in (*self.functions, *direct) if elements[k].file}
        files = [k for k in self.files if k in elements and elements[k].level == 4
                 and (k[1] in near or bad(k))]
        dirs = [i for i in self.dirs if not i.code.endswith("_1")
                or any(f[1].startswith(i.subject + "/") for f in files)]
        hidden = (len(self.types) - len(types)) + (
            sum(1 for k in self.files if k in elements and elements[k].level == 4) - len(files))
        return types, files, dirs, hidden


@dataclass(slots=True)
class PathResult:
    id: str
    name: str
    line: int
    invocations: list[InvocationResult] = field(default_factory=list)
    code: str = "402_1"
    reasons: tuple[str, ...] = ()


@dataclass(slots=True)
class DemandResult:
    id: str
    name: str
    file: str
    paths: list[PathResult] = field(default_factory=list)
    problems: list = field(default_factory=list)  # yamlsrc.Problem of an invalid demand file
    code: str = "401_1"
    reasons: tuple[str, ...] = ()


@dataclass(slots=True)
class Run:
    """A whole verification run (``400_1`` / ``400_2``)."""

    demands: list[DemandResult] = field(default_factory=list)
    elements: dict[tuple[str, str], Element] = field(default_factory=dict)
    model_size: dict = field(default_factory=dict)
    policies: list[str] = field(default_factory=list)  # origins of the layer policies applied
    code: str = "400_1"
    reasons: tuple[str, ...] = ()

    def invocations(self) -> list[InvocationResult]:
        return [i for d in self.demands for p in d.paths for i in p.invocations]

    def dependent_elements(self) -> list[Element]:
        """Every element some invocation depends on, by level then name."""
        keys: dict[tuple[str, str], None] = {}
        for inv in self.invocations():
            keys.update((k, None) for k in (*inv.functions, *inv.types, *inv.files))
        found = [self.elements[k] for k in keys if k in self.elements]
        return sorted(found, key=lambda e: (e.level, e.name))

    def level_counts(self) -> dict[str, int]:
        """Dependent level types by level name (the method's "types by level" figure)."""
        counts = Counter(e.level for e in self.dependent_elements())
        return {LEVEL_NAMES[lv]: counts.get(lv, 0) for lv in sorted(LEVEL_NAMES)}

    def relationship_counts(self) -> dict[str, int]:
        """Dependent relationships by kind: the structural ones of the dependent elements and
        the invoking ones of the invocations."""
        counts: Counter = Counter()
        for e in self.dependent_elements():
            if e.key[0] == "func":
                counts["ParamIn/ParamOut"] += len(e.types)
                counts["FuncFile"] += 1 if e.file else 0
            elif e.key[0] == "type":
                counts["VarStruct"] += len(e.types)
                counts["StructFile"] += 1 if e.file else 0
            elif e.level in (4, 5):
                counts["Agg"] += 1
        for inv in self.invocations():
            for item in inv.relation:
                kind = "Invocable" if item.code[:3] in ("404", "405", "403", "408") else \
                    "Accessible"
                counts[kind] += 1
        return dict(sorted(counts.items()))

    def summary(self) -> dict:
        invs = self.invocations()
        paths = [p for d in self.demands for p in d.paths]
        return {
            "demands": len(self.demands),
            "demands_right": sum(1 for d in self.demands if d.code == "401_1"),
            "paths": len(paths),
            "paths_right": sum(1 for p in paths if p.code == "402_1"),
            "invocations": len(invs),
            "invocations_right": sum(1 for i in invs if i.ok),
            "dependent_types": sum(1 for e in self.dependent_elements() if e.level in (1, 3)),
            "dependent_relationships": sum(self.relationship_counts().values()),
        }


def verdict(code: str) -> str:
    return "RIGHT" if code.endswith("_1") else "ERROR"


def merge_reasons(*groups) -> tuple[str, ...]:
    """The distinct codes of ``groups`` (iterables of codes) in code order."""
    return tuple(sorted({c for g in groups for c in g}))
