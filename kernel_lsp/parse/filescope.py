"""File-scope macro uses of one file, for the extractor: ``#include``/``#define`` lines (a text
scan, ``parse/directives.py``), and ``NAME(args)`` lines outside function bodies: exports,
variable definers (``DEFINE_PER_CPU``), function definers (``SYSCALL_DEFINE3``), macros the file
defines above (expanded here) and the rest (recorded as invocations, expanded across files by
``model/expand.py``).
"""

from __future__ import annotations

import re

from kernel_lsp.parse.cnodes import span
from kernel_lsp.parse.directives import directives
from kernel_lsp.parse.facts import (
    BASE,
    EXTERN,
    GLOBAL,
    STATIC,
    TYPEDEF,
    Function,
    Invocation,
    Param,
    Span,
    TypeDecl,
    TypeRef,
    Variable,
)
from kernel_lsp.parse.lines import newline_first
from kernel_lsp.parse.macros import (
    STATIC_VARIABLE_DEFINERS,
    VARIABLE_DEFINERS,
    Expander,
    definer_params,
    function_definers,
    split_args,
)
from kernel_lsp.parse.preprocess import close_paren

MACRO_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
# a name that starts like a macro's and goes on in lower case (``GENL_struct``, ``I_u1u2``)
_MIXED_CASE = re.compile(r"^[A-Z]\w*[a-z]")
# ``[static] [const] [__annotations] NAME(``: annotations are blanked in the parser's text
# only, so the scan skips them itself (``static __read_mostly DEFINE_HASHTABLE(h, 7);``).
# (From the newline before the line: ``lines.newline_first``.)
_INVOCATION = re.compile(
    rb"\n([ \t]*+)(static\s+|extern\s+|typedef\s+)?(?:(?:const|__[a-z]\w*)\s+)*([A-Za-z_]\w*+)"
    rb"[ \t]*\(")
# a comment in a macro's arguments, which the preprocessor removes before it splits them (a
# comma there separates nothing); literals are matched to be kept whole
_ARG_TEXT = re.compile(rb'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|(/\*.*?\*/|//[^\n]*)', re.S)


def _without_comments(raw: bytes) -> bytes:
    if b"/" not in raw:
        return raw
    return _ARG_TEXT.sub(lambda m: b" " if m.group(1) else m.group(0), raw)


# another upper-case use after one on the same line
_SAME_LINE = re.compile(rb"[ \t]+([A-Z_][A-Z0-9_]*)[ \t]*\(")
# An upper-case name alone on its line at column 0: an object-like macro invoked bare, such as
# an X-macro list after the ``#define`` of its item macro (``MBOX_MESSAGES``).
_BARE = re.compile(rb"\n([A-Z_][A-Z0-9_]+)[ \t]*(?=\r?\n)")


def _in_comment(root, pos: int) -> bool:
    node = root.descendant_for_byte_range(pos, pos + 1)
    return node is not None and node.type == "comment"


_CONDITIONAL = re.compile(rb"[ \t]*#[ \t]*(if|ifdef|ifndef|elif|else|endif)\b")


def _after_item(src: bytes, root, pos: int) -> bool:
    """Whether what precedes ``pos`` ends a file-scope item (``;``, ``}``, ``)``), or is a
    ``#define``/``#include`` line, or nothing: never the type of a declaration that the name at
    ``pos`` declares (``static __poll_t\nmISDN_poll(...)``). Comments and conditional
    directives are skipped (``static void\n#ifdef DEBUG\nHFC_outb_pcimem(...)``); after
    ``#else`` comes the alternative of what the other branch holds (a function's name)."""
    while True:
        p = pos - 1
        while p >= 0 and src[p] in b" \t\r\n\f\v":
            p -= 1
        if p < 0:
            return True
        node = root.descendant_for_byte_range(p, p + 1)
        if node is not None and node.type == "comment" and node.start_byte < p:
            pos = node.start_byte
            continue
        line = src.rfind(b"\n", 0, p) + 1
        while line >= 2 and src[line - 2] == 0x5C:  # a continued line: the directive's first
            line = src.rfind(b"\n", 0, line - 1) + 1
        if (cond := _CONDITIONAL.match(src, line)) is not None:
            if cond.group(1) in (b"else", b"elif"):
                return False  # the other branch's text precedes: its alternative, likely
            pos = line
            continue
        return src[p] in b";})" or src[line:p + 1].lstrip().startswith(b"#")


def _body_at(root, pos: int):
    node = root.descendant_for_byte_range(pos, pos + 1)
    while node is not None and not (node.type == "compound_statement" and node.start_byte == pos):
        node = node.parent
    return node


def _join(a: Span, b: Span) -> Span:
    return Span(a.start_byte, b.end_byte, a.line, a.col, b.end_line, b.end_col)


_NESTED = re.compile(r"(static\s+)?(?:const\s+)?([A-Z_][A-Z0-9_]*)\s*\(")


def definer_variable(name: str, args: list[str], where: Span, is_static: bool,
                     storage: str = "") -> Variable | None:
    """The variable an invocation of a ``VARIABLE_DEFINERS`` macro defines or declares
    (``storage``: the ``static`` or ``extern`` before it), None if its argument is no name."""
    index, declarer = VARIABLE_DEFINERS[name]  # declarer: ``DECLARE_PER_CPU``
    if index >= len(args) or not re.fullmatch(r"\s*[A-Za-z_]\w*\s*", args[index]):
        return None
    # ``extern DECLARE_BITMAP(mp_bus_not_pci, MAX_MP_BUSSES);`` declares
    declares = declarer or storage == "extern"
    st = EXTERN if declares else (
        STATIC if is_static or name in STATIC_VARIABLE_DEFINERS else GLOBAL)
    return Variable(args[index].strip(), st, not declares, None, where, where, name)


def nested_invocations(expansion: str, local: dict) -> list[tuple[str, list[str], bool]]:
    """``_nested_invocations``, for the cross-file expansion (``model/expand.py``)."""
    return _nested_invocations(expansion, local)


def _nested_invocations(expansion: str, local: dict) -> list[tuple[str, list[str], bool]]:
    """``[static] NAME(args)`` items at the top level of a same-file macro's expansion whose
    macro this file does not define (``static DEVICE_ATTR_RO(name)`` after the ``name_show``
    function a local macro writes): the cross-file pass expands them as the file's own."""
    out, depth, i = [], 0, 0
    item_start = True
    while i < len(expansion):
        c = expansion[i]
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
            item_start = depth == 0 and c == "}"
        elif c == ";" and depth == 0:
            item_start = True
        elif depth == 0 and item_start and not c.isspace():
            m = _NESTED.match(expansion, i)
            item_start = False
            if m is not None and m.group(2) not in local:
                close = _close(expansion, m.end() - 1)
                if close > 0:
                    out.append((m.group(2), split_args(expansion[m.end():close]), bool(m.group(1))))
                    i = close + 1
                    item_start = True
                    continue
        i += 1
    return out


def _close(text: str, open_idx: int) -> int:
    """Index of the ``)`` closing the ``(`` at ``open_idx`` of an expansion (-1 if none)."""
    depth = 0
    for i in range(open_idx, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return i
    return -1


class FileScopeMacros:
    """The extractor's file-scope macro handling (a mixin of ``extract.Extractor``, whose
    ``src``, ``lines``, ``unsure``, ``facts``, ``funcs``, ``macro_uses``, ``untrusted``,
    ``locals``, ``macros_so_far`` and ``_signature`` it uses)."""

    # -- preprocessor ------------------------------------------------------------------------
    def _preproc(self, root) -> None:
        includes, macros = directives(self.src, self.lines, self.unsure)
        self.facts.includes += includes
        self.facts.macros += macros
        for m in macros:
            if m.params is not None:
                self.macros_so_far[m.name] = (m.params, m.body, m.span.start_byte)

    # -- file-scope macro invocations --------------------------------------------------------
    def _scan_invocations(self, root) -> None:
        """Find ``[static] NAME(args)`` at column 0 outside function bodies: file-scope macro uses
        (and indented ones right after such a use: ``PAGEFLAG(...)`` continued by
        ``\t__CLEARPAGEFLAG(...)``, and upper-case ones after it on its line). A lower-case name
        counts when the file defines it as a function-like macro above
        (``build_mmio_read(readb, ...)``).

        A text scan, because the grammar folds such lines into neighbouring declarations.
        """
        src = self.src
        last_end = -2
        for m in _INVOCATION.finditer(newline_first(src)):
            line, args_at = m.start(), m.end() - 1  # the line's offset, what follows "("
            start = line + len(m.group(1))
            if line <= last_end:
                continue  # inside the arguments of the invocation before
            if line >= 2 and src[line - 2] == 0x5C:  # continuation line of a #define
                continue
            if m.group(1) and (last_end < 0 or src[last_end + 1:line].strip()):
                continue  # indented, and not right after a file-scope invocation
            name = m.group(3).decode()
            if not MACRO_NAME.match(name) and name not in VARIABLE_DEFINERS and (
                    name not in self.macros_so_far or self.macros_so_far[name][2] > start) and (
                    not _MIXED_CASE.match(name) or m.start(3) - 1 != line or (
                        not _after_item(src, root, start))):
                # lower case: only a function-like macro this file defined above; mixed case
                # (``GENL_struct(DRBD_NLA_CFG_REPLY, 1, drbd_cfg_reply, ...)`` in a header an
                # includer reads with its own ``GENL_struct``): also where a new item starts
                continue
            storage = m.group(2).strip().decode() if m.group(2) else ""
            if storage == "typedef" and name not in VARIABLE_DEFINERS:
                continue  # ``typedef DECLARE_BITMAP(mce_banks_t, N);`` only
            if self.funcs.find(start) is not None or _in_comment(root, m.start(3) - 1):
                continue
            close = self._record_use(root, name, start, args_at, storage == "static", storage)
            while close >= 0:  # ``PAGEFLAG(LRU, lru, PF_HEAD) __CLEARPAGEFLAG(LRU, lru, PF_HEAD)``
                last_end = close
                more = _SAME_LINE.match(src, close + 1)
                if more is None:
                    break
                close = self._record_use(root, more.group(1).decode(), more.start(1), more.end(),
                                         False)
        self._scan_bare(root)

    def _record_use(self, root, name: str, start: int, args_at: int, is_static: bool,
                    storage: str = "") -> int:
        """Record the use of ``name`` at ``start`` whose arguments start at ``args_at``: where
        its ``)`` is, or -1 (no ``)``: no use)."""
        src = self.src
        close = close_paren(src, args_at - 1)
        if close < 0:
            return -1
        args = split_args(_without_comments(src[args_at:close]).decode("utf-8", "replace"))
        after = close + 1
        while after < len(src) and src[after] in b" \t\r\n":
            after += 1
        body = _body_at(root, after) if src[after:after + 1] == b"{" else None
        self.macro_uses.add(start, close + 1)
        self.untrusted.add(start, close + 1)
        header = Span(start, close + 1, *self.lines.point(start), *self.lines.point(close + 1))
        self._handle_invocation(name, args, header, is_static, body, storage)
        return close

    def _scan_bare(self, root) -> None:
        """Record the upper-case names alone on a line at column 0 outside function bodies and
        other invocations: the cross-file pass expands those whose visible definition is an
        X-macro list."""
        src, lines = self.src, self.lines
        for m in _BARE.finditer(newline_first(src)):
            start, end = m.start(), m.end() - 1
            if start >= 2 and src[start - 2] == 0x5C:  # continuation line of a #define
                continue
            if self.funcs.find(start) is not None or self.macro_uses.find(start) is not None \
                    or _in_comment(root, start):
                continue
            # (not a macro use that hides declarations: ``INDIRECT_CALLABLE_SCOPE`` alone on
            # the line before a definition is part of that definition)
            self.untrusted.add(start, end)
            where = Span(start, end, *lines.point(start), *lines.point(end))
            self.facts.invocations.append(Invocation(m.group(1).decode(), None, where, False))

    def _handle_invocation(self, name: str, args: list[str], where: Span, is_static: bool,
                           body, storage: str = "") -> None:
        """Record what the invocation of ``name`` defines or declares (``storage``: the
        ``static``, ``extern`` or ``typedef`` before it, if any)."""
        if name.startswith("EXPORT_SYMBOL") and args:
            self.facts.exports.append((args[0].strip(), where))
            return
        if name in VARIABLE_DEFINERS:
            index = VARIABLE_DEFINERS[name][0]
            if index < len(args) and re.fullmatch(r"\s*[A-Za-z_]\w*\s*", args[index]):
                if storage == "typedef":  # ``typedef DECLARE_BITMAP(mce_banks_t, N);``
                    self.facts.types.append(TypeDecl(args[index].strip(), TYPEDEF, True, (),
                                                     where, where, None, name))
                    return
                self.facts.variables.append(definer_variable(name, args, where, is_static,
                                                             storage))
            return
        if function_definers(name, args):
            if body is not None:
                self._definer_body(name, args, where, body)
            return
        entry = self.macros_so_far.get(name)
        if entry is not None and entry[2] < where.start_byte:
            if self._expand_here(name, args, where, body):
                return
        if body is not None:
            self.funcs.add(body.start_byte, body.end_byte, name)
        self.facts.invocations.append(Invocation(name, tuple(a.strip() for a in args), where,
                                                 body is not None))

    def _expand_here(self, name: str, args: list[str], where: Span, body) -> bool:
        table = {n: (p, b) for n, (p, b, start) in self.macros_so_far.items()
                 if start < where.start_byte}
        expansion = Expander(table).expand(name, args)
        if not expansion:
            return False
        if body is not None:
            expansion += " {}"  # the invocation is a function header; its body follows
        sub = type(self)(self.path, expansion.encode(), generated=(name, where)).run()
        self.facts.functions += sub.functions
        self.facts.types += sub.types
        self.facts.variables += sub.variables
        for inner, inner_args, is_static in _nested_invocations(expansion, table):
            self._handle_invocation(inner, inner_args, where, is_static, None)
        if body is not None:
            defined = [f.name for f in sub.functions if f.is_definition]
            self.funcs.add(body.start_byte, body.end_byte, defined[-1] if defined else name)
        return bool(sub.functions or sub.types or sub.variables)

    def _definer_body(self, name: str, args: list[str], node: Span, body) -> None:
        generated = function_definers(name, args)
        params = tuple(Param(n, TypeRef(t.split()[-1].strip("*"), TYPEDEF) if t else None)
                       for t, n in definer_params(name, args))
        sig = self._signature(node.start_byte, node.end_byte)
        for i, g in enumerate(generated):
            self.facts.functions.append(Function(
                g.name, True, g.storage, False, TypeRef(g.ret, BASE if g.ret == "long" else TYPEDEF),
                params, sig, _join(node, span(body)), node, None, name))
            if i == 0:
                self.funcs.add(body.start_byte, body.end_byte, g.name)
                self.locals[g.name] = {n for _, n in definer_params(name, args)}
