"""The ``#if`` branches a configuration drops, found by a line scan and blanked before parsing.

A C preprocessor keeps one branch of every ``#if``/``#ifdef``/``#elif``/``#else`` group: the
first whose condition holds. So does this scan, with three-valued conditions
(``parse/cexpr.py``): a true branch is kept; when no branch is known to be true, the first
unknown one is kept (unless that branch is a debug or profiling variant), since one branch parses
where two alternatives (``#ifdef X struct { #else union { #endif``) do not. The other branches
are *inactive*: their bytes (not their directive lines, nor any newline) are blanked, so offsets
and lines stay those of the file.
"""

from __future__ import annotations

import re

from kernel_lsp.parse.cexpr import Macros, evaluate
from kernel_lsp.parse.lines import blank, newline_first

# (From the newline before the line: ``lines.newline_first``.)
_DIRECTIVE = re.compile(rb"\n[ \t]*#[ \t]*(if|ifdef|ifndef|elif|else|endif|define|undef)\b"
                        rb"([^\n]*)")
_COMMENT = re.compile(r"/\*.*?\*/|//.*$", re.S)
_IDENT = re.compile(r"[A-Za-z_]\w*")
# (``CONFIG_FAIL_*``, ``CONFIG_FAILSLAB``: the fault-injection capabilities, which need
# ``CONFIG_FAULT_INJECTION``; not ``CONFIG_FAILOVER``, a network feature)
_DEBUG = re.compile(r"DEBUG|PROFIL|TRACE_BRANCH|LOCKDEP|PROVE_|KASAN|KCSAN|KMSAN|UBSAN|"
                    r"_SANITIZE|FAULT_INJECTION|CONFIG_FAIL_|CONFIG_FAILSLAB")


class _Group:
    """One ``#if`` ... ``#endif`` group: has a branch been taken, is the group itself live, is
    the kept branch kept although its condition is undecided."""

    __slots__ = ("live", "taken", "active", "start", "unsure", "guard", "needs", "assumed",
                 "clause")

    def __init__(self, live: bool):
        self.live, self.taken, self.active, self.start = live, False, False, 0
        self.unsure, self.guard, self.needs, self.clause = False, None, None, None
        self.assumed = None  # NAME of an ``#ifdef NAME`` dropped as ``_assumed_undefined``


def _directive_lines(src: bytes) -> list[tuple[int, int, bytes, int]]:
    """(start of the line, end of its first physical line, kind, start of the argument) of
    each conditional or ``#define``/``#undef`` line of ``src``, in file order."""
    return [(m.start(), m.end() - 1, m.group(1), m.start(2) - 1)
            for m in _DIRECTIVE.finditer(newline_first(src))]


def _directive(src: bytes, line: tuple[int, int, bytes, int]) -> tuple[str, str, int]:
    """(kind, argument text without comments, end offset incl. continuation lines)."""
    _start, end, kind, arg = line
    while end < len(src) and (src[end - 1:end] == b"\\" or src[end - 2:end] == b"\\\r"):
        nxt = src.find(b"\n", end + 1)  # (a backslash at the end of the text ends it)
        end = len(src) if nxt < 0 else nxt
    text = src[arg:end].decode("utf-8", "replace").replace("\\\n", " ")
    return kind.decode(), " ".join(_COMMENT.sub(" ", text).split()), end


def _clause(kind: str, arg: str) -> str:
    if kind in ("ifdef", "ifndef"):
        ident = _IDENT.match(arg)
        name = ident.group() if ident else "__kernel_lsp_nothing__"
        return f"{'!' if kind == 'ifndef' else ''}defined({name})"
    return arg or "0"


_DEFINED = re.compile(r"defined\s*\(?\s*([A-Za-z_]\w*)\s*\)?")
_PARENS = re.compile(r"[()]")
_NOT_DEFINED = re.compile(r"!\s*defined\s*\(?\s*([A-Za-z_]\w*)\s*\)?")


def _verdict(clause: str, macros, known: bool, has_alternative: bool = False
             ) -> tuple[bool | None, str | None]:
    """(the branch's condition: True, False or undecided; NAME when False only because NAME
    is taken to be undefined, ``_assumed_undefined``)."""
    v = evaluate(clause, macros)
    if v is None and is_debug_variant(clause, _env(macros)) and not clause.lstrip().startswith("!"):
        return False, None  # undecided: prefer the branch that is not a debug or profiling variant
    if v is None and (name := _assumed_undefined(clause, macros, has_alternative)) is not None:
        return False, name
    return v, None


_OPTION = re.compile(r"CONFIG_(\w+)")


def is_debug_variant(clause: str, env=None) -> bool:
    """Whether ``clause`` names a debugging, profiling or sanitizer option, or (``env``'s
    ``variants``) a symbol only such options turn on."""
    if _DEBUG.search(clause):
        return True
    variants = getattr(env, "variants", None)
    return bool(variants) and any(m.group(1) in variants for m in _OPTION.finditer(clause))


def _assumed_undefined(clause: str, macros, has_alternative: bool) -> str | None:
    """NAME, when the undecided ``clause`` is ``defined(NAME)`` of a group with an alternative
    and NAME is taken to be undefined: ``#ifdef __ECOS ... #else ... #endif``, a name no
    configuration, no predefined macro, no line of this file above and no Kbuild -D defines is
    undefined for the compiler, and the alternative is what builds. (A file that another one
    includes may still see it defined: ``au8820.c`` defines ``CHIP_AU8820`` before it includes
    ``au88x0_core.c``; the alternative is then kept unsure, guarded by NAME.) So with a
    disjunction of such names (``#if defined(_TEST_HARNESS) || defined(FPGA_USB4)`` in amd's
    ``dmub_cmd.h``, whose ``#else`` includes the kernel's headers); NAME is then its first
    undecided one."""
    if not has_alternative:
        return None
    names = []
    for term in clause.split("||"):  # ``defined(_TEST_HARNESS) || defined(FPGA_USB4)`` too
        m = _DEFINED.fullmatch(_PARENS.sub(" ", term).strip())
        if m is None:
            return None
        names.append(m.group(1))
    command_line = getattr(_env(macros), "command_line", None) or ()
    if any(n.startswith("CONFIG_") or n in command_line for n in names):
        return None
    return next((n for n in names if macros.defined(n) is None), None)


_COMPARISON = re.compile(r"[<>]|[=!]=")
_INT = re.compile(r"\(?\s*(0[xX][0-9a-fA-F]+|[0-9]+)[uUlL]*\s*\)?")


def compares_a_value(clause: str) -> bool:
    """Whether ``clause`` compares the value of a macro that is not a configuration option
    (``HOST1X_HW >= 6``, ``defined(CONFIG_X) && HOST1X_HW < 7``): what a file that includes
    this one may decide with a ``#define`` of its own above the include."""
    rest = _DEFINED.sub(" ", clause)
    return _COMPARISON.search(rest) is not None and any(
        not name.startswith("CONFIG_") for name in _IDENT.findall(rest))


def int_literal(body: str) -> int | None:
    """The number an object-like macro's body is (``6``, ``(0x10U)``), else None."""
    m = _INT.fullmatch(" ".join(_COMMENT.sub(" ", body).split()))
    if m is None:
        return None
    digits = m.group(1)
    try:  # (C's ``010`` is octal)
        return int(digits, 16 if digits[1:2] in ("x", "X") else 8 if digits[0] == "0" else 10)
    except ValueError:  # ``09``
        return None


class _Nothing:
    """Macros of which nothing is known."""

    def defined(self, name: str) -> bool | None:
        return None

    def value(self, name: str) -> int | None:
        return None

    def call(self, name: str, args: list[str]) -> int | None:
        return None


def _env(macros):
    return macros.env if isinstance(macros, _Local) else macros


class _Local:
    """The environment plus what the file itself ``#define``s and ``#undef``s above a point."""

    def __init__(self, env: Macros):
        self.env, self.names = env, {}

    def defined(self, name: str) -> bool | None:
        got = self.names.get(name)
        return got if got is not None else self.env.defined(name)

    def value(self, name: str) -> int | None:
        return None if self.names.get(name) else self.env.value(name)

    def call(self, name: str, args: list[str]) -> int | None:
        return self.env.call(name, args)


def inactive_ranges(src: bytes, macros: Macros, known: bool = True) -> list[tuple[int, int]]:
    """``[(start, end)]`` byte ranges of the branches the configuration drops, in file order.

    ``known``: whether ``macros`` knows the configuration (else debug variants are avoided)."""
    return branch_ranges(src, macros, known)[0]


# (start, end, NAME of an ``#ifndef NAME`` branch, NAME of an ``#ifdef NAME`` / ``#if NAME``
# branch, the branch's condition: ``HOST1X_HW >= 6``, ``1`` for an ``#else``)
Unsure = tuple[int, int, "str | None", "str | None", str]


def branch_ranges(src: bytes, macros: Macros, known: bool = True
                  ) -> tuple[list[tuple[int, int]], list[Unsure]]:
    """(``inactive_ranges``, the branches kept although their condition is undecided, by
    start, nested ones after the branch holding them: ``(start, end, guard, needs, clause)``,
    ``guard`` the NAME of an ``#ifndef NAME`` / ``#if !defined(NAME)`` branch, ``needs`` the
    NAME of an ``#ifdef NAME`` / ``#elif defined(NAME)`` / ``#if NAME`` one, else None;
    ``clause`` the branch's own condition)."""
    stack: list[_Group] = []
    out: list[tuple[int, int]] = []
    unsure: list[Unsure] = []
    macros = _Local(macros)
    found = _directive_lines(src)
    alternatives = _with_alternatives(found)
    for line in found:
        kind, arg, end = _directive(src, line)
        line_end = end + 1 if end < len(src) else end
        if kind in ("define", "undef"):
            name = _IDENT.match(arg)
            if name is not None and _active(stack):
                macros.names[name.group()] = kind == "define"
            continue
        if kind in ("if", "ifdef", "ifndef"):
            group = _Group(live=_active(stack))
            stack.append(group)
            _enter(group, _clause(kind, arg), macros, known, line_end, line[0] in alternatives)
        elif not stack:
            continue
        elif kind in ("elif", "else"):
            group = stack[-1]
            _leave(group, line[0], out, unsure)
            _enter(group, _clause("if", arg) if kind == "elif" else "1", macros, known, line_end)
        else:  # endif
            _leave(stack.pop(), line[0], out, unsure)
    out.sort()
    unsure.sort(key=lambda u: u[0])
    return _merge(out), unsure


def _active(stack: list[_Group]) -> bool:
    """Whether every group of ``stack`` is in a kept branch: the innermost one says, as a
    group is active only when live, and live only when the groups around it were active
    (asking each of them cost the square of the depth: 20,000 nested ``#if``, 6 s)."""
    return not stack or stack[-1].active


def _with_alternatives(found: list[tuple[int, int, bytes, int]]) -> set[int]:
    """Offsets of the ``#if``/``#ifdef``/``#ifndef`` lines (of the ``_directive_lines``
    ``found``) whose group has an ``#elif`` or ``#else``."""
    out: set[int] = set()
    opened: list[int] = []
    for start, _end, kind, _arg in found:
        if kind in (b"if", b"ifdef", b"ifndef"):
            opened.append(start)
        elif kind in (b"elif", b"else") and opened:
            out.add(opened[-1])
        elif kind == b"endif" and opened:
            opened.pop()
    return out


def _enter(group: _Group, clause: str, macros: Macros, known: bool, start: int,
           has_alternative: bool = False) -> None:
    group.start, group.unsure, group.clause = start, False, clause
    if not group.live or group.taken:
        group.active = False
        return
    v, assumed = _verdict(clause, macros, known, has_alternative)
    if assumed is not None:
        group.assumed = assumed
    group.active = v is not False
    group.taken = group.active
    group.unsure = v is None
    guard = _NOT_DEFINED.fullmatch(clause.strip())
    group.guard = guard.group(1) if guard else None
    if clause == "1" and group.assumed is not None:
        # the ``#else`` of an ``#ifdef NAME`` taken as undefined: kept where NAME is not
        group.unsure, group.guard, group.assumed = True, group.assumed, None
    needs = _DEFINED.fullmatch(clause.strip())
    # (``#if NAME``: a macro's value, 0 when nothing defines it)
    group.needs = needs.group(1) if needs else (
        clause.strip() if _IDENT.fullmatch(clause.strip()) else None)


def _leave(group: _Group, end: int, out: list[tuple[int, int]], unsure: list[Unsure]) -> None:
    """Close the current branch (up to the next directive) and record it if it is dropped, or
    kept on an undecided condition."""
    if group.live and end > group.start:
        if not group.active:
            out.append((group.start, end))
        elif group.unsure:
            unsure.append((group.start, end, group.guard, group.needs, group.clause))


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in ranges:
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def blank_ranges(src: bytes, ranges: list[tuple[int, int]]) -> bytes:
    """``src`` with the bytes of ``ranges`` made spaces (newlines kept: lines do not move)."""
    if not ranges:
        return src
    parts, pos = [], 0
    for s, e in ranges:
        parts += [src[pos:s], blank(src[s:e])]
        pos = e
    parts.append(src[pos:])
    return b"".join(parts)


def active_text(source: bytes, env) -> tuple[bytes, list[tuple[int, int]]]:
    """``source`` with the branches ``env`` (a ``macroenv.Configuration``) drops blanked, and
    those branches' ranges; ``source`` unchanged when there is no environment."""
    return active_text_unsure(source, env)[:2]


def active_text_unsure(source: bytes, env) -> tuple[bytes, list[tuple[int, int]],
                                                     list[Unsure]]:
    """``active_text`` and the branches kept on an undecided condition (``branch_ranges``);
    with no environment every branch is kept and each one under a condition is unsure."""
    if env is None:
        dropped, unsure = branch_ranges(source, _Nothing(), False)
        return source, [], sorted(unsure + [(s, e, None, None, "") for s, e in dropped],
                                  key=lambda u: u[0])
    ranges, unsure = branch_ranges(source, env, env.known)
    return blank_ranges(source, ranges), ranges, unsure
