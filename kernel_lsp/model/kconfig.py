"""Read a tree's Kconfig files and resolve symbol values from a defconfig and the defaults.

What ``make defconfig`` computes, approximated: every ``config`` entry's type, ``default``s,
``depends on`` (with the ``if``/``menu`` blocks around it), ``select``s and ``choice`` groups,
iterated to a fixed point from the values the defconfig file sets. Toolchain probes
(``$(cc-option,...)``, ``$(success,...)``) are taken as succeeding with GCC. Symbols without a
value are off, as in a real configuration.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass, field
from pathlib import Path

from kernel_lsp.files import read_build_file

# Symbols whose value comes from probing the compiler: what GCC 12 on x86-64 gives.
TOOLCHAIN = {"CC_IS_GCC": "y", "GCC_VERSION": "120200", "CC_IS_CLANG": "n", "CLANG_VERSION": "0",
             "AS_IS_GNU": "y", "AS_IS_LLVM": "n", "LD_IS_BFD": "y", "LD_IS_LLD": "n",
             "LLD_VERSION": "0", "RUST_IS_AVAILABLE": "n", "CC_HAS_KASAN_MEMINTRINSIC_PREFIX": "n"}
_TRI = {"n": 0, "m": 1, "y": 2}
_NUMBER = re.compile(r"-?(0x[0-9a-fA-F]+|\d+)")
_TOKEN = re.compile(r'\s*("(?:\\.|[^"])*"|[A-Za-z0-9_.\-]+|\$\((?:[^()]|\([^()]*\))*\)|'
                    r'!=|<=|>=|&&|\|\||[!=<>()])')


@dataclass
class Symbol:
    name: str
    type: str = "bool"
    defaults: list[tuple[str, str]] = field(default_factory=list)  # (value expr, condition)
    depends: list[str] = field(default_factory=list)
    selects: list[tuple[str, str]] = field(default_factory=list)  # (target, condition)
    implies: list[tuple[str, str]] = field(default_factory=list)  # (target, condition)
    # the dependencies of each further definition of the symbol (``TCP_CONG_CUBIC`` is defined
    # under ``if TCP_CONG_ADVANCED`` and again with ``depends on !TCP_CONG_ADVANCED``): it is
    # visible when the dependencies of any one definition hold
    alternatives: list[list[str]] = field(default_factory=list)
    # which definition (0: the first, k: ``alternatives[k - 1]``) each default belongs to: a
    # default counts only where its own definition's dependencies hold
    default_defs: list[int] = field(default_factory=list)
    choice: int | None = None
    prompt: bool = False  # a user can set it (it has a prompt)


@dataclass
class Kconfig:
    symbols: dict[str, Symbol] = field(default_factory=dict)
    choices: list[dict] = field(default_factory=list)  # {"members": [...], "defaults": [...]}
    files: list[str] = field(default_factory=list)


def _lines(path: Path) -> list[str]:
    try:
        text = read_build_file(path)
    except OSError:
        return []
    return text.replace("\\\n", " ").splitlines()


def _strip_comment(line: str) -> str:
    out, quote = [], False
    for ch in line:
        if ch == '"':
            quote = not quote
        elif ch == "#" and not quote:
            break
        out.append(ch)
    return "".join(out)


def _split_if(text: str) -> tuple[str, str]:
    """``EXPR if COND`` -> (EXPR, COND); COND is "y" when absent."""
    m = re.search(r"\s+if\s+", text)
    if m is None:
        return text.strip(), "y"
    return text[:m.start()].strip(), text[m.end():].strip()


def read_kconfig(root: Path, arch: str = "x86") -> Kconfig:
    """Parse ``root/Kconfig`` and everything it sources for ``arch``. The last parse is given
    again while none of the files it read changed (size and mtime): a run reads it twice (the
    configuration, then Kbuild's judgement of the files), 0.8 s each on Linux. (A new file
    that a ``source`` glob would read is not seen until a read file changes: the editor's
    index runs are processes of their own.) Callers do not change what it returns."""
    key = (str(root), arch)
    if _LAST and _LAST[0] == key and _LAST[1] == _stamps(root, _LAST[2].files):
        return _LAST[2]
    kc = Kconfig()
    _read(root, root / "Kconfig", kc, [], arch, set())
    _LAST[:] = [key, _stamps(root, kc.files), kc]
    return kc


_LAST: list = []  # [(root, arch), the stamps of its files, the Kconfig] of the last parse


def _stamps(root: Path, files: list[str]) -> list[tuple[int, int] | None]:
    """(size, mtime) of each of ``files`` (relative to ``root`` or absolute), None if gone."""
    out = []
    for name in files:
        try:
            st = (root / name).stat()
        except OSError:
            out.append(None)
            continue
        out.append((st.st_size, st.st_mtime_ns))
    return out


def _read(root: Path, path: Path, kc: Kconfig, outer: list[str], arch: str, seen: set) -> None:
    if path in seen:
        return
    seen.add(path)
    kc.files.append(str(path.relative_to(root)) if path.is_relative_to(root) else str(path))
    blocks: list[list[str]] = []  # if/menu conditions opened in this file
    current: Symbol | None = None
    choice: dict | None = None
    owner = None  # the keyword of the entry the following attribute lines belong to
    in_help, help_indent = False, 0
    for raw in _lines(path):
        if in_help:
            indent = len(raw) - len(raw.lstrip())
            if not raw.strip() or indent > help_indent:
                continue
            in_help = False
        line = (_strip_comment(raw) if "#" in raw else raw).strip()
        if not line:
            continue
        word, rest = (line.split(None, 1) + [""])[:2]
        rest = rest.strip()
        deps = outer + [c for b in blocks for c in b]
        if word not in ("depends", "help", "---help---"):
            owner = word
        if word in ("config", "menuconfig"):
            again = rest in kc.symbols
            current = kc.symbols.setdefault(rest, Symbol(rest))
            if again:
                current.alternatives.append(list(deps))
                current_deps = current.alternatives[-1]
            else:
                current.depends += deps
                current_deps = current.depends
            if choice is not None:
                current.choice = len(kc.choices) - 1
                choice["members"].append(rest)
        elif word in ("source", "osource", "rsource", "orsource"):
            target = rest.strip('"').replace("$(SRCARCH)", arch).replace("$(HEADER_ARCH)", arch)
            base = path.parent if word.startswith(("r", "or")) else root
            for hit in sorted(glob.glob(str(base / target))) if "*" in target else [
                    str(base / target)]:
                _read(root, Path(hit), kc, deps, arch, seen)
            current = None
        elif word == "if":
            blocks.append([rest])
            current = None
        elif word == "endif":
            if blocks:
                blocks.pop()
            current = None
        elif word == "menu":
            blocks.append([])
            current = None
        elif word == "endmenu":
            if blocks:
                blocks.pop()
            current = None
        elif word == "choice":
            choice = {"members": [], "defaults": [], "depends": list(deps)}
            kc.choices.append(choice)
            current = None
        elif word == "endchoice":
            choice = None
            current = None
        elif word in ("comment", "mainmenu"):
            current = None
        elif word in ("help", "---help---"):
            in_help, help_indent = True, len(raw) - len(raw.lstrip())
        elif word == "depends" and rest.startswith("on"):
            cond = rest[2:].strip()
            if current is not None:
                current_deps.append(cond)
            elif owner == "choice" and choice is not None:
                choice["depends"].append(cond)
            elif owner == "menu" and blocks:
                blocks[-1].append(cond)  # a menu's own dependency (a comment's: ignored)
        elif current is None and choice is not None and word == "default":
            choice["defaults"].append(_split_if(rest))
        elif current is not None:
            _symbol_line(current, word, rest)
            current.default_defs += [len(current.alternatives)] * (
                len(current.defaults) - len(current.default_defs))


def _symbol_line(sym: Symbol, word: str, rest: str) -> None:
    if word in ("bool", "tristate", "int", "hex", "string"):
        sym.type = word
        sym.prompt = sym.prompt or rest.startswith(('"', "'"))
    elif word == "prompt":
        sym.prompt = True
    elif word in ("def_bool", "def_tristate"):
        sym.type = "bool" if word == "def_bool" else "tristate"
        sym.defaults.append(_split_if(rest))
    elif word == "default":
        sym.defaults.append(_split_if(rest))
    elif word == "select":
        sym.selects.append(_split_if(rest))
    elif word == "imply":
        sym.implies.append(_split_if(rest))


class _Eval:
    """Kconfig expressions over the current values (tristate 0..2, or strings to compare),
    each compiled once into a closure."""

    def __init__(self, values: dict[str, str]):
        self.values = values
        self._compiled: dict[str, object] = {}

    def tri(self, expr: str) -> int:
        fn = self._compiled.get(expr)
        if fn is None:
            try:
                self.toks, self.i = [t for t in _TOKEN.findall(expr) if t], 0
                fn = self._or()
            except (IndexError, ValueError):
                fn = _const(0)
            self._compiled[expr] = fn
        return fn(self.values)

    def _or(self):
        parts = [self._and()]
        while self.i < len(self.toks) and self.toks[self.i] == "||":
            self.i += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda v: max(p(v) for p in parts))

    def _and(self):
        parts = [self._not()]
        while self.i < len(self.toks) and self.toks[self.i] == "&&":
            self.i += 1
            parts.append(self._not())
        return parts[0] if len(parts) == 1 else (lambda v: min(p(v) for p in parts))

    def _not(self):
        if self.toks[self.i] == "!":
            self.i += 1
            inner = self._not()
            return lambda v: 2 - inner(v)
        return self._cmp()

    def _cmp(self):
        if self.toks[self.i] == "(":
            self.i += 1
            inner = self._or()
            self.i += 1  # ")"
            return inner
        left = self._atom()
        if self.i < len(self.toks) and self.toks[self.i] in ("=", "!=", "<", ">", "<=", ">="):
            op = self.toks[self.i]
            self.i += 1
            right = self._atom()
            return lambda v: 2 if _compare(left(v), op, right(v)) else 0
        return lambda v: _TRI.get(left(v), 0)

    def _atom(self):
        tok = self.toks[self.i]
        self.i += 1
        if tok.startswith('"'):
            return _const(tok[1:-1])
        if tok.startswith("$("):
            return _const("y")  # a toolchain probe: taken as succeeding
        if tok in _TRI or re.fullmatch(r"-?(0x[0-9a-fA-F]+|\d+)", tok):
            return _const(tok)
        return lambda v: v.get(tok, "n")


def _const(value):
    return lambda _v: value


def _compare(a: str, op: str, b: str) -> bool:
    try:
        x, y = int(a, 0), int(b, 0)
    except ValueError:
        x, y = a, b
    return {"=": x == y, "!=": x != y, "<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y}[op]


def resolve(kc: Kconfig, explicit: dict[str, str]) -> dict[str, str]:
    """Every symbol's value (``y``/``m``/number/string; off symbols are absent).

    A worklist: a symbol is recomputed when a symbol its expressions name changes."""
    values = {**TOOLCHAIN}
    selectors: dict[str, list[tuple[str, str]]] = {}
    for sym in kc.symbols.values():
        for target, cond in sym.selects:
            selectors.setdefault(target, []).append((sym.name, cond))
    readers = _readers(kc, selectors)
    ev = _Eval(values)
    todo = dict.fromkeys(kc.symbols)
    for _ in range(60):
        while todo:
            name = next(iter(todo))
            del todo[name]
            sym = kc.symbols[name]
            if name in TOOLCHAIN:
                continue
            new = _value(sym, explicit, selectors, ev)
            if values.get(name, "n") != new:
                values[name] = new
                todo.update(dict.fromkeys(readers.get(name, ())))
        changed = _resolve_choices(kc, explicit, values, ev)
        if not changed:
            break
        todo = dict.fromkeys(m for c in kc.choices for m in c["members"]
                             for m in readers.get(m, ()))
    return {k: v for k, v in values.items() if v not in ("n", "")}


def _readers(kc: Kconfig, selectors: dict) -> dict[str, set[str]]:
    """symbol -> the symbols whose value reads it (``9P_FS`` is a name too)."""
    out: dict[str, set[str]] = {}
    for sym in kc.symbols.values():
        exprs = list(sym.depends) + [e for pair in sym.defaults for e in pair]
        exprs += [d for alt in sym.alternatives for d in alt]
        exprs += [e for pair in selectors.get(sym.name, ()) for e in pair]
        for expr in exprs:
            for tok in _TOKEN.findall(expr):
                if tok and (tok[0].isalnum() or tok[0] == "_") and not _NUMBER.fullmatch(tok):
                    out.setdefault(tok, set()).add(sym.name)
    return out


def dependencies_hold(sym: Symbol, tri) -> int:
    """How far the dependencies of ``sym`` hold (0..2): those of its best definition."""
    return max([min([tri(d) for d in deps], default=2)
                for deps in (sym.depends, *sym.alternatives)])


def _defaults(sym: Symbol, tri) -> list[tuple[str, str]]:
    """The defaults of the definitions of ``sym`` whose dependencies hold, in order."""
    if not sym.alternatives:
        return sym.defaults
    held = [min([tri(d) for d in deps], default=2) > 0
            for deps in (sym.depends, *sym.alternatives)]
    defs = sym.default_defs
    return [d for i, d in enumerate(sym.defaults) if held[defs[i] if i < len(defs) else 0]]


def _value(sym: Symbol, explicit: dict, selectors: dict, ev: _Eval) -> str:
    deps = dependencies_hold(sym, ev.tri)
    if sym.type not in ("bool", "tristate"):
        if deps == 0:
            return "n"
        if explicit.get(sym.name, "n") != "n":  # "is not set" means nothing for a number
            return explicit[sym.name]
        for value, cond in _defaults(sym, ev.tri):
            if ev.tri(cond):
                return ev.values.get(value, value.strip('"'))  # a number, or another symbol's
        return "n"
    if sym.choice is not None:
        return ev.values.get(sym.name, "n")
    reverse = max([min(ev.tri(s), ev.tri(c)) for s, c in selectors.get(sym.name, ())], default=0)
    if sym.name in explicit:
        v = _TRI.get(explicit[sym.name], 0)
    else:
        v = next((min(ev.tri(val), 2) for val, cond in _defaults(sym, ev.tri) if ev.tri(cond)),
                 0)
    v = max(min(v, deps), reverse)
    if sym.type == "bool" and v == 1:
        v = 2
    return "nmy"[v]


def _resolve_choices(kc: Kconfig, explicit: dict, values: dict, ev: _Eval) -> bool:
    changed = False
    for choice in kc.choices:
        members = choice["members"]
        live = min([ev.tri(d) for d in choice["depends"]], default=2)
        chosen = next((m for m in members if explicit.get(m) == "y"), None)
        if chosen is None:
            chosen = next((d for d, c in choice["defaults"] if ev.tri(c) and d in members), None)
        if chosen is None:
            chosen = next((m for m in members if dependencies_hold(kc.symbols[m], ev.tri)),
                          None)
        for m in members:
            new = "y" if live and m == chosen else "n"
            if values.get(m, "n") != new:
                values[m] = new
                changed = True
    return changed


def optional_symbols(kc: Kconfig, values: dict[str, str], explicit: dict[str, str]) -> set[str]:
    """Symbols that are off here but that a user could turn on: what an *all-yes*
    configuration (every prompt answered yes, the defconfig's explicit "no"s kept, dependencies
    respected, as ``make allyesconfig`` resolves them) turns on and this one does not. Choice
    members are not among them: a choice has chosen. ``depends on ARM64`` cannot hold on x86."""
    all_yes = {n: "y" for n, sym in kc.symbols.items() if sym.prompt and sym.choice is None}
    all_yes.update((n, v) for n, v in explicit.items() if v == "n")
    reachable = resolve(kc, all_yes)
    return {n for n, v in reachable.items() if v in ("y", "m") and n not in values
            and n in kc.symbols and kc.symbols[n].choice is None
            and kc.symbols[n].type in ("bool", "tristate")}


def debug_variants(kc: Kconfig, explicit: dict[str, str], optional: set[str],
                   is_debug) -> set[str]:
    """Of the ``optional`` symbols, those without a prompt that only debugging options
    (``is_debug("CONFIG_" + name)``: KASAN, KMSAN, ...) can turn on: an all-yes configuration
    that answers those prompts no leaves them off. ``GENERIC_CSUM`` (``default y if KMSAN ||
    KASAN``) swaps x86's checksum code for the generic one in sanitizer builds only."""
    all_yes = {n: "y" for n, sym in kc.symbols.items()
               if sym.prompt and sym.choice is None and not is_debug("CONFIG_" + n)}
    all_yes.update((n, v) for n, v in explicit.items() if v == "n")
    reachable = resolve(kc, all_yes)
    return {n for n in optional if reachable.get(n) not in ("y", "m") and n in kc.symbols
            and not kc.symbols[n].prompt}


def read_config_file(path: Path) -> dict[str, str]:
    """``CONFIG_FOO=y`` lines of a ``.config``/defconfig (``# CONFIG_FOO is not set`` -> n)."""
    out: dict[str, str] = {}
    for line in _lines(path):
        m = re.match(r"CONFIG_([A-Za-z0-9_]+)=(.*)$", line.strip())
        if m:
            out[m.group(1)] = m.group(2).strip().strip('"') if m.group(2).startswith('"') \
                else m.group(2).strip()
            continue
        m = re.match(r"#\s*CONFIG_([A-Za-z0-9_]+) is not set", line.strip())
        if m:
            out[m.group(1)] = "n"
    return out
