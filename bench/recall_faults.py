"""Recall harness faults: seeded generators of the five fault kinds over files defconfig compiles.

Every edit keeps the line count of the file it touches (a deleted line becomes an empty line; a
renamed name grows in place; kind ``e`` appends at the end), so GCC's and kernel-lsp's lines
before and after the edit are directly comparable. Candidates are found with a bare tree-sitter
parse of the pristine sources (not with kernel-lsp: it is the system under test).

kinds: ``a`` delete an ``#include`` line of a .c file; ``b`` delete a function prototype from a
subsystem header (units: .c files that include it and call the function); ``c`` misspell a call;
``d`` misspell a struct/typedef name used by value (local variable, ``sizeof``); ``e`` add an
``extern`` prototype and a call of a function that is ``static`` in another file.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import tree_sitter_c
from tree_sitter import Language, Parser

KINDS = {
    "a": "deleted #include",
    "b": "deleted prototype in a subsystem header",
    "c": "misspelled call",
    "d": "misspelled type used by value",
    "e": "extern + call of a static function",
}
SUFFIX = "_rclq"  # appended to misspell a name: no identifier of Linux 6.1 ends with it
UNITS_PER_PROTOTYPE = 3
STATIC_SAMPLE_FILES = 600
_INCLUDE = re.compile(rb"^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]+)[>\"]", re.M)
_PREPROC_BLOCKS = {"preproc_if", "preproc_ifdef", "preproc_else", "preproc_elif",
                   "preproc_elifdef"}
_BY_VALUE = {"identifier", "init_declarator", "array_declarator"}


@dataclass
class Fault:
    """One injected fault: byte edits of pristine files and the units GCC and kernel-lsp see."""

    id: str
    kind: str
    units: list[str]
    edits: list[dict]  # {"path", "start", "end", "text"}: replace bytes [start, end) by text
    symbol: str
    where: str  # path:line of the edit (1-based)
    expect: dict | None = field(default=None)  # kind e: the 405_2 the method requires
    reach: list[str] = field(default_factory=list)  # other files the edit may affect (kind b)

    def to_json(self) -> dict:
        return asdict(self)


class Sources:
    """Pristine sources of the tree, their tree-sitter parses and include maps (memoised)."""

    def __init__(self, tree, seed: int):
        self.tree = tree
        self.seed = seed
        self._parser = Parser(Language(tree_sitter_c.language()))
        self._bytes: dict[str, bytes] = {}
        # faults go into files that no other file includes (their effects stay in one unit)
        included = set(self.include_map()["sources"])
        self.units = sorted(u for u in tree.commands if u not in included)

    def read(self, rel: str) -> bytes:
        if rel not in self._bytes:
            self._bytes[rel] = (self.tree.source / rel).read_bytes()
        return self._bytes[rel]

    def parse(self, rel: str):
        return self._parser.parse(self.read(rel)).root_node

    def include_dirs(self, unit: str) -> list[str]:
        """The unit's -I/-iquote directories, root-relative, in order."""
        argv, out = self.tree.commands[unit], []
        for i, arg in enumerate(argv):
            for flag in ("-I", "-iquote"):
                if arg == flag and i + 1 < len(argv):
                    out.append(os.path.normpath(argv[i + 1]))
                elif arg.startswith(flag) and len(arg) > len(flag):
                    out.append(os.path.normpath(arg[len(flag):]))
        return out

    def resolve(self, unit: str, target: str, quoted: bool) -> str | None:
        dirs = ([os.path.dirname(unit)] if quoted else []) + self.include_dirs(unit)
        for d in dirs:
            rel = os.path.normpath(os.path.join(d, target))
            if not rel.startswith("..") and (self.tree.source / rel).is_file():
                return rel
        return None

    def include_map(self) -> dict:
        """``headers``: subsystem header -> units that include it directly; ``sources``: .c
        files that some unit includes (cached in the work dir)."""
        cache = self.tree.work / "include-map.json"
        if cache.exists():
            return json.loads(cache.read_text())
        headers: dict[str, list[str]] = {}
        sources: set[str] = set()
        for unit in sorted(self.tree.commands):
            data = self.read(unit)
            for m in _INCLUDE.finditer(data):
                quoted = data[m.start(1) - 1:m.start(1)] == b'"'
                rel = self.resolve(unit, m.group(1).decode(errors="replace"), quoted)
                if rel and rel.endswith(".c"):
                    sources.add(rel)
                elif rel and is_subsystem_header(rel):
                    headers.setdefault(rel, []).append(unit)
        out = {"headers": headers, "sources": sorted(sources)}
        cache.write_text(json.dumps(out, sort_keys=True))
        return out


def is_subsystem_header(rel: str) -> bool:
    """A header private to a subsystem: not under include/ or an arch's include/ directory."""
    parts = rel.split("/")
    shared = parts[0] == "include" or (parts[0] == "arch" and parts[2:3] == ["include"])
    return rel.endswith(".h") and not shared


def line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def blank(data: bytes, start: int, end: int) -> bytes:
    """The replacement of ``data[start:end]`` that keeps only its newlines."""
    return b"\n" * data.count(b"\n", start, end)


def walk(node) -> Iterator:
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


def function_bodies(root) -> Iterator:
    for n in walk(root):
        if n.type == "function_definition" and n.child_by_field_name("body") is not None:
            yield n.child_by_field_name("body")


def _edit(path: str, start: int, end: int, text: bytes) -> dict:
    return {"path": path, "start": start, "end": end, "text": text.decode("latin-1")}


# ---------------------------------------------------------------- (a) deleted #include


def gen_include(src: Sources, rng: random.Random) -> Iterator[Fault]:
    while True:
        unit = rng.choice(src.units)
        data = src.read(unit)
        found = list(_INCLUDE.finditer(data))
        if not found:
            continue
        m = rng.choice(found)
        end = data.find(b"\n", m.start())
        end = len(data) if end < 0 else end
        line = line_of(data, m.start())
        yield Fault(f"a:{unit}:{line}", "a", [unit], [_edit(unit, m.start(), end, b"")],
                    m.group(1).decode(errors="replace"), f"{unit}:{line}")


# ---------------------------------------------------------------- (b) deleted prototype


def _prototype_name(decl) -> str | None:
    declarators = decl.children_by_field_name("declarator")
    if len(declarators) != 1 or any(c.type == "storage_class_specifier" and c.text in (
            b"static", b"typedef") for c in decl.children):
        return None
    d = declarators[0]
    while d.type == "pointer_declarator":
        d = d.child_by_field_name("declarator")
    if d is None or d.type != "function_declarator":
        return None
    name = d.child_by_field_name("declarator")
    return name.text.decode() if name is not None and name.type == "identifier" else None


def prototypes(root) -> Iterator[tuple[str, object]]:
    """File-scope prototypes (also inside #if blocks) as (name, declaration node)."""
    stack = list(reversed(root.children))
    while stack:
        n = stack.pop()
        if n.type in _PREPROC_BLOCKS:
            stack.extend(reversed(n.children))
        elif n.type == "declaration":
            name = _prototype_name(n)
            if name:
                yield name, n


def called_names(src: Sources, unit: str) -> set[str]:
    names = set()
    for body in function_bodies(src.parse(unit)):
        for n in walk(body):
            fn = n.child_by_field_name("function") if n.type == "call_expression" else None
            if fn is not None and fn.type == "identifier":
                names.add(fn.text.decode())
    return names


def gen_prototype(src: Sources, rng: random.Random) -> Iterator[Fault]:
    includers = src.include_map()["headers"]
    headers = sorted(includers)
    calls: dict[str, set[str]] = {}
    while True:
        header = rng.choice(headers)
        protos = list(prototypes(src.parse(header)))
        rng.shuffle(protos)
        for name, decl in protos:
            users = [u for u in includers[header]
                     if name in calls.setdefault(u, called_names(src, u))]
            if not users:
                continue
            data = src.read(header)
            start = data.rfind(b"\n", 0, decl.start_byte) + 1
            if data[start:decl.start_byte].strip():
                start = decl.start_byte
            units = sorted(rng.sample(users, min(UNITS_PER_PROTOTYPE, len(users))))
            line = line_of(data, decl.start_byte)
            yield Fault(f"b:{header}:{line}:{name}", "b", units,
                        [_edit(header, start, decl.end_byte, blank(data, start, decl.end_byte))],
                        name, f"{header}:{line}", reach=sorted(includers[header]))
            break


# ---------------------------------------------------------------- (c) misspelled call


def call_sites(root) -> list:
    out = []
    for body in function_bodies(root):
        for n in walk(body):
            fn = n.child_by_field_name("function") if n.type == "call_expression" else None
            if fn is not None and fn.type == "identifier":
                out.append(fn)
    return out


def gen_call(src: Sources, rng: random.Random) -> Iterator[Fault]:
    while True:
        unit = rng.choice(src.units)
        sites = call_sites(src.parse(unit))
        if not sites:
            continue
        ident = rng.choice(sites)
        name = ident.text.decode()
        line = ident.start_point[0] + 1
        yield Fault(f"c:{unit}:{ident.start_byte}:{name}", "c", [unit],
                    [_edit(unit, ident.end_byte, ident.end_byte, SUFFIX.encode())],
                    name + SUFFIX, f"{unit}:{line}")


# ---------------------------------------------------------------- (d) misspelled type


def _type_name(type_node):
    """The name node of ``struct X`` (no body), ``union X`` (no body) or a typedef name."""
    if type_node is None:
        return None
    if type_node.type == "type_identifier":
        return type_node
    if type_node.type in ("struct_specifier", "union_specifier") and \
            type_node.child_by_field_name("body") is None:
        return type_node.child_by_field_name("name")
    return None


def type_sites(root) -> list:
    """Type names used by value in local declarations and in ``sizeof(type)``."""
    out = []
    for body in function_bodies(root):
        for n in walk(body):
            if n.type == "declaration":
                declarators = n.children_by_field_name("declarator")
                if declarators and all(d.type in _BY_VALUE for d in declarators) and all(
                        d.type != "init_declarator" or d.child_by_field_name("declarator").type
                        in _BY_VALUE for d in declarators):
                    name = _type_name(n.child_by_field_name("type"))
                    if name is not None:
                        out.append(name)
            elif n.type == "type_descriptor" and n.parent is not None and \
                    n.parent.type == "sizeof_expression" and \
                    n.child_by_field_name("declarator") is None:
                name = _type_name(n.child_by_field_name("type"))
                if name is not None:
                    out.append(name)
    return out


def gen_type(src: Sources, rng: random.Random) -> Iterator[Fault]:
    while True:
        unit = rng.choice(src.units)
        sites = type_sites(src.parse(unit))
        if not sites:
            continue
        ident = rng.choice(sites)
        name = ident.text.decode()
        line = ident.start_point[0] + 1
        yield Fault(f"d:{unit}:{ident.start_byte}:{name}", "d", [unit],
                    [_edit(unit, ident.end_byte, ident.end_byte, SUFFIX.encode())],
                    name + SUFFIX, f"{unit}:{line}")


# ---------------------------------------------------------------- (e) extern + static


def static_definitions(root) -> list[str]:
    out = []
    for n in root.children:
        if n.type != "function_definition":
            continue
        words = {c.text for c in n.children if c.type == "storage_class_specifier"}
        d = n.child_by_field_name("declarator")
        while d is not None and d.type == "pointer_declarator":
            d = d.child_by_field_name("declarator")
        if b"static" in words and b"inline" not in words and d is not None and \
                d.type == "function_declarator":
            name = d.child_by_field_name("declarator")
            if name is not None and name.type == "identifier":
                out.append(name.text.decode())
    return out


def unique_statics(src: Sources, rng: random.Random) -> list[tuple[str, str]]:
    """(name, file) of static functions whose name occurs in no other file of the tree."""
    cache = src.tree.work / f"static-candidates-{src.seed}.json"
    if cache.exists():
        return [tuple(x) for x in json.loads(cache.read_text())]
    home: dict[str, str] = {}
    for unit in rng.sample(src.units, min(STATIC_SAMPLE_FILES, len(src.units))):
        for name in static_definitions(src.parse(unit)):
            home.setdefault(name, unit)
    names = src.tree.work / "static-names.txt"
    names.write_text("".join(n + "\n" for n in sorted(home)))
    proc = subprocess.run(["grep", "-rowF", "--include=*.c", "--include=*.h", "-f", str(names),
                           "."], cwd=src.tree.source, capture_output=True, text=True,
                          errors="replace")
    seen: dict[str, set[str]] = {}
    for line in proc.stdout.splitlines():
        path, _, name = line.rpartition(":")
        seen.setdefault(name, set()).add(os.path.normpath(path))
    out = sorted((n, f) for n, f in home.items() if seen.get(n) == {f})
    cache.write_text(json.dumps(out))
    return out


def probe(name: str) -> bytes:
    return (f"\nextern void {name}(void);\n"
            f"static void __attribute__((unused)) recall_probe_{name}(void)\n{{\n"
            f"\t{name}();\n}}\n").encode()


def gen_static(src: Sources, rng: random.Random) -> Iterator[Fault]:
    candidates = unique_statics(src, rng)
    if not candidates:
        return
    while True:
        name, home = rng.choice(candidates)
        unit = rng.choice(src.units)
        if os.path.dirname(unit) == os.path.dirname(home):
            continue
        data = src.read(unit)
        text = (b"" if data.endswith(b"\n") else b"\n") + probe(name)
        new = data + text
        call_line = new.count(b"\n", 0, new.rindex(f"\t{name}();".encode())) + 1
        expect = {"path": unit, "line": call_line, "code": "405_2", "symbol": name,
                  "static_in": home}
        yield Fault(f"e:{unit}:{name}", "e", [unit], [_edit(unit, len(data), len(data), text)],
                    name, f"{unit}:{call_line}", expect)


GENERATORS = {"a": gen_include, "b": gen_prototype, "c": gen_call, "d": gen_type,
              "e": gen_static}


def faults(src: Sources, kind: str, seed: int) -> Iterator[Fault]:
    """The seeded, endless (or exhausted) sequence of distinct faults of one kind."""
    rng = random.Random(f"{seed}:{kind}")
    seen: set[str] = set()
    for fault in GENERATORS[kind](src, rng):
        if fault.id not in seen:
            seen.add(fault.id)
            yield fault


def apply(root: Path, source: Path, edits: list[dict]) -> None:
    """Write the edited files into the copy (new files, replaced atomically)."""
    by_path: dict[str, list[dict]] = {}
    for e in edits:
        by_path.setdefault(e["path"], []).append(e)
    for path, group in by_path.items():
        data = (source / path).read_bytes()
        for e in sorted(group, key=lambda e: e["start"], reverse=True):
            data = data[:e["start"]] + e["text"].encode("latin-1") + data[e["end"]:]
        _write(root / path, data)


def restore(root: Path, source: Path, paths) -> None:
    """Put the pristine bytes back (a fresh mtime, so the indexer sees the change)."""
    for path in paths:
        _write(root / path, (source / path).read_bytes())


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".recall-tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
