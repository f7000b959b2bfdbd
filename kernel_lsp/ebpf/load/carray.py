"""Decode ``struct bpf_insn`` initializers written with ``BPF_*`` macros in C sources.

``parse_c_arrays(source, path) -> list[Program]`` finds, with tree-sitter-c,
``struct bpf_insn NAME[] = {...}`` arrays and ``.insns = {...}`` fields of designated
initializers (the ``test_verifier`` form); each slot's ``SourceLoc`` is its ``BPF_*`` element
(for slots produced by a user macro: the macro's invocation). A test case's other fields go to
``Program.meta`` (``description``, ``result``, ``errstr``, ``retval``, ``prog_type``, ``flags``,
``fixup_*`` lists, ``*_unpriv`` ...). ``#define``s of the file itself (and ``macros=`` given by
the caller) are expanded: function-like macros that produce instructions or whole test cases,
object-like ones that produce constants or instruction sequences. Elements that cannot be
decoded become :class:`SourceError` entries in ``meta["errors"]`` and yield no slot.
"""

from __future__ import annotations

import codecs
import re

import tree_sitter_c
from tree_sitter import Language, Parser

from kernel_lsp.ebpf.insn import Insn, Program, SourceLoc
from kernel_lsp.ebpf.load.bpfmacros import MACROS
from kernel_lsp.ebpf.load.cconst import CEvalError, Evaluator, fold_layout_exprs
from kernel_lsp.ebpf.load.raw import join_lddw
from kernel_lsp.ebpf.load.srcerror import SourceError

_PARSER = Parser(Language(tree_sitter_c.language()))
_DIRECTIVE = re.compile(rb"^[ \t]*#(?:[^\n\\]|\\.|\\\n)*", re.M)
_RESULTS = {"ACCEPT", "REJECT", "VERBOSE_ACCEPT", "UNDEF"}
_MAX_DEPTH = 16
# what a block-scope array holds when its values are known only at run time
_RUNTIME = ("unknown name '", "unknown instruction macro '", "cannot evaluate ")


class FuncMacro:
    """A function-like ``#define``: parameter names and body text."""

    def __init__(self, params: list[str], body: str):
        self.params, self.body = params, body

    def expand(self, args: list[str]) -> str:
        if len(args) != len(self.params) and not (not self.params and args == [""]):
            raise CEvalError(f"macro expects {len(self.params)} arguments, got {len(args)}")
        values = dict(zip(self.params, args, strict=False))

        def stringify(m: re.Match) -> str:
            return '"' + values[m.group(1)].replace('"', '\\"') + '"'

        body = re.sub(r"(?<!#)#\s*(\w+)", lambda m: stringify(m) if m.group(1) in values
                      else m.group(0), self.body)
        body = re.sub(r"\b(\w+)\b", lambda m: values.get(m.group(1), m.group(1)), body)
        return re.sub(r"\s*##\s*", "", body)


_LITTLE_ENDIAN_TRUE = re.compile(r"__BYTE_ORDER(__)?\s*==\s*__(ORDER_)?LITTLE_ENDIAN(__)?")


def _condition(expr: str, defined: set[str]) -> bool:
    """Truth of an ``#if`` expression as far as it matters here (little-endian 64-bit host);
    unknown expressions count as true so their first branch is read."""
    expr = expr.strip()
    if _LITTLE_ENDIAN_TRUE.fullmatch(expr):
        return True
    if re.fullmatch(r"__BYTE_ORDER(__)?\s*==\s*__(ORDER_)?BIG_ENDIAN(__)?", expr):
        return False
    m = re.fullmatch(r"(!)?\s*defined\s*\(?\s*(\w+)\s*\)?", expr)
    if m:
        return (m.group(2) in defined) != bool(m.group(1))
    if re.fullmatch(r"\d+", expr):
        return int(expr) != 0
    return True


class _Conditionals:
    """The ``#if``/``#ifdef``/``#else``/``#endif`` stack: which lines are live."""

    def __init__(self):
        self.stack: list[tuple[bool, bool]] = []  # (this branch live, some branch taken)

    @property
    def live(self) -> bool:
        return all(live for live, _ in self.stack)

    def directive(self, word: str, arg: str, defined: set[str]) -> None:
        if word in ("if", "ifdef", "ifndef"):
            cond = (_condition(arg, defined) if word == "if"
                    else (arg.strip() in defined) == (word == "ifdef"))
            self.stack.append((cond, cond))
        elif word == "elif" and self.stack:
            _, taken = self.stack[-1]
            cond = not taken and _condition(arg, defined)
            self.stack[-1] = (cond, taken or cond)
        elif word == "else" and self.stack:
            _, taken = self.stack[-1]
            self.stack[-1] = (not taken, True)
        elif word == "endif" and self.stack:
            self.stack.pop()


def collect_defines(source: bytes) -> tuple[bytes, dict[str, str], dict[str, FuncMacro]]:
    """Blank every preprocessor line and every line of a dead ``#if`` branch (keeping byte
    offsets) and collect the live ``#define``s. ``#undef`` is ignored: expansion happens after
    the whole file is read, and selftests undefine their helper macros at the end."""
    objects: dict[str, str] = {}
    funcs: dict[str, FuncMacro] = {}
    conds = _Conditionals()
    out, pos = [], 0
    for m in _DIRECTIVE.finditer(source):
        chunk = source[pos : m.start()]
        out.append(chunk if conds.live else re.sub(rb"[^\n]", b" ", chunk))
        text = m.group(0)
        flat = re.sub(rb"\\\n", b" ", text).decode(errors="replace").strip()
        word = re.match(r"#\s*(\w*)\s*(.*)", flat, re.S)
        if word.group(1) in ("if", "ifdef", "ifndef", "elif", "else", "endif"):
            conds.directive(word.group(1), word.group(2), set(objects) | set(funcs))
        elif word.group(1) == "define" and conds.live:
            _define(word.group(2), objects, funcs)
        out.append(re.sub(rb"[^\n]", b" ", text))
        pos = m.end()
    tail = source[pos:]
    out.append(tail if conds.live else re.sub(rb"[^\n]", b" ", tail))
    return b"".join(out), objects, funcs


def _define(text: str, objects: dict[str, str], funcs: dict[str, FuncMacro]) -> None:
    m = re.match(r"(\w+)(.*)", text, re.S)
    if not m:
        return
    name, rest = m.group(1), re.sub(r"/\*.*?\*/", " ", m.group(2), flags=re.S)
    if rest.startswith("(") and ")" in rest:
        close = rest.index(")")
        params = [p.strip() for p in rest[1:close].split(",") if p.strip()]
        funcs[name] = FuncMacro(params, rest[close + 1 :].strip())
    else:
        objects[name] = rest.strip()


def _loc(node, path: str) -> SourceLoc:
    (l0, c0), (l1, c1) = node.start_point, node.end_point
    return SourceLoc(path, l0, c0, l1, c1)


def _string(node) -> str:
    parts = [node] if node.type == "string_literal" else [
        c for c in node.named_children if c.type == "string_literal"]
    out = []
    for part in parts:
        raw = part.text[1:-1] if part.text.startswith(b'"') else part.text
        out.append(codecs.decode(raw, "unicode_escape") if b"\\" in raw else raw.decode(
            errors="replace"))
    return "".join(out)


def _elements(list_node) -> list:
    return [c for c in list_node.named_children if c.type != "comment"]


class _Decoder:
    """One source file's decoding state."""

    def __init__(self, path: str, objects: dict[str, str], funcs: dict[str, FuncMacro]):
        self.path = path
        self.objects, self.funcs = objects, funcs
        self.eval = Evaluator(objects, self._parse_expr)
        self.programs: list[Program] = []

    # ---- parsing helpers ---------------------------------------------------------------------
    def _parse_expr(self, text: str):
        tree = _PARSER.parse(b"int __x = (" + fold_layout_exprs(text.encode()) + b");")
        decl = tree.root_node.named_children[0]
        return decl.child_by_field_name("declarator").child_by_field_name("value")

    def _parse_list(self, text: str):
        src = b"int __x[] = {" + fold_layout_exprs(text.encode()) + b"};"
        tree = _PARSER.parse(src)
        for node in _walk(tree.root_node):
            if node.type == "initializer_list":
                return node
        return None

    def _macro_text(self, node) -> str | None:
        """The expansion of a user macro invocation ``node`` (call or identifier), or None."""
        if node.type == "identifier":
            name = node.text.decode()
            body = self.objects.get(name)
            return body
        if node.type == "call_expression":
            name = node.child_by_field_name("function").text.decode()
            macro = self.funcs.get(name)
            if macro is None:
                return None
            args = [a.text.decode() for a in node.child_by_field_name("arguments").named_children
                    if a.type != "comment"]
            return macro.expand(args)
        return None

    # ---- finding programs --------------------------------------------------------------------
    def visit(self, node, loc_override=None, depth=0) -> None:
        if node.type == "initializer_pair" and _designator(node) == "insns":
            value = node.child_by_field_name("value")
            if value is not None and value.type == "initializer_list":
                self._program_from_case(node.parent, value, loc_override, depth)
            return
        if node.type == "init_declarator" and _is_insn_array(node):
            value = node.child_by_field_name("value")
            if value is not None and value.type == "initializer_list":
                self._program_from_array(node, value, loc_override, depth)
            return
        if (node.parent is not None and node.parent.type == "initializer_list"
                and node.type in ("call_expression", "identifier") and depth < _MAX_DEPTH):
            try:
                text = self._macro_text(node)
            except CEvalError:
                text = None
            if text and ".insns" in text:
                expanded = self._parse_list(text)
                if expanded is not None:
                    self.visit(expanded, loc_override or _loc(node, self.path), depth + 1)
                return
        for child in node.named_children:
            self.visit(child, loc_override, depth)

    def _program_from_array(self, decl, value, loc_override, depth) -> None:
        ident = next((n for n in _walk(decl.child_by_field_name("declarator"))
                      if n.type == "identifier"), None)
        name = ident.text.decode() if ident is not None else "insns"
        self._emit(name, value, {}, loc_override, depth, decl)
        program = self.programs[-1]
        if _in_body(decl) and (not program.insns and not program.meta["errors"] or any(
                e.message.startswith(_RUNTIME) for e in program.meta["errors"])):
            # a buffer (``tmp[32] = { }``) or an array a function fills from its variables
            # (the kernel's own patch templates, ``{ BPF_LD_IMM64(BPF_REG_3, (long)prog->aux) }``):
            # not a program
            self.programs.pop()

    def _program_from_case(self, case, value, loc_override, depth) -> None:
        meta = self.case_meta(case)
        name = meta.get("description") or f"{self.path}:{case.start_point[0] + 1}"
        self._emit(name, value, meta, loc_override, depth, case)

    def _emit(self, name, value, meta, loc_override, depth, anchor) -> None:
        insns: list[Insn] = []
        locs: list[SourceLoc | None] = []
        errors: list[SourceError] = []
        self.decode_list(value, insns, locs, errors, loc_override, depth)
        meta["errors"] = errors
        meta.setdefault("line", (loc_override or _loc(anchor, self.path)).line)
        program = Program(name=name, insns=join_lddw(insns), locs=locs, meta=meta,
                          prog_type=meta.get("prog_type"))
        self.programs.append(program)

    # ---- instructions ------------------------------------------------------------------------
    def decode_list(self, list_node, insns, locs, errors, loc_override, depth) -> None:
        for elem in _elements(list_node):
            loc = loc_override or _loc(elem, self.path)
            try:
                out = self.decode_element(elem, insns, locs, errors, loc_override, depth)
            except CEvalError as exc:
                errors.append(SourceError(loc, str(exc)))
                continue
            if out is not None:
                insns.extend(out)
                locs.extend([loc] * len(out))

    def decode_element(self, elem, insns, locs, errors, loc_override, depth):
        """Slots of one element; None when it was expanded in place (already appended)."""
        if elem.type == "ERROR" or elem.has_error:
            raise CEvalError(f"syntax error in '{_short(elem)}'")
        if elem.type == "compound_literal_expression":
            elem = elem.child_by_field_name("value")
        if elem.type == "initializer_list":
            return [self._struct_literal(elem)]
        if elem.type == "call_expression":
            fname = elem.child_by_field_name("function").text.decode()
            if fname in MACROS:
                arity, build = MACROS[fname]
                args = _elements(elem.child_by_field_name("arguments"))
                if len(args) != arity:
                    raise CEvalError(f"{fname} takes {arity} arguments, got {len(args)}")
                return build(*(self.eval.eval(a) for a in args))
        text = self._macro_text(elem) if depth < _MAX_DEPTH else None
        if text is None:
            what = elem.text.decode(errors="replace").split("(")[0]
            raise CEvalError(f"unknown instruction macro '{_short_text(what)}'")
        expanded = self._parse_list(text)
        if expanded is None:
            raise CEvalError(f"cannot parse the expansion of '{_short(elem)}'")
        here = loc_override or _loc(elem, self.path)
        self.decode_list(expanded, insns, locs, errors, here, depth + 1)
        return None

    def _struct_literal(self, node) -> Insn:
        fields = {"code": 0, "dst_reg": 0, "src_reg": 0, "off": 0, "imm": 0}
        order = list(fields)
        for i, item in enumerate(_elements(node)):
            if item.type == "initializer_pair":
                key = _designator(item)
                if key not in fields:
                    raise CEvalError(f"struct bpf_insn has no field '{key}'")
                fields[key] = self.eval.eval(item.child_by_field_name("value"))
            elif i < len(order):
                fields[order[i]] = self.eval.eval(item)
        from kernel_lsp.ebpf.load.bpfmacros import slot

        return slot(fields["code"], fields["dst_reg"], fields["src_reg"], fields["off"],
                    fields["imm"])

    # ---- test-case fields ----------------------------------------------------------------------
    def case_meta(self, case) -> dict:
        meta: dict = {}
        for child in _elements(case):
            if child.type in ("string_literal", "concatenated_string") and "description" not in meta:
                meta["description"] = _string(child)
            elif child.type == "initializer_pair":
                key = _designator(child)
                if key and key != "insns":
                    meta[key] = self.field_value(key, child.child_by_field_name("value"))
        return meta

    def field_value(self, key: str, node):
        if node is None:
            return None
        if node.type in ("string_literal", "concatenated_string"):
            return _string(node)
        if node.type == "null":
            return None
        if node.type == "initializer_list":
            return [self.field_value(key, c) for c in _elements(node)]
        text = node.text.decode(errors="replace")
        if key == "prog_type" and text.startswith("BPF_PROG_TYPE_"):
            return text[len("BPF_PROG_TYPE_"):].lower()
        if text in _RESULTS:
            return text
        try:
            return self.eval.eval(node)
        except CEvalError:
            return text


def _designator(pair) -> str | None:
    for child in pair.children:
        if child.type == "field_designator":
            return child.named_children[0].text.decode() if child.named_children else None
    return None


def _is_insn_array(decl) -> bool:
    """``struct bpf_insn NAME[...] = ...`` (not ``struct bpf_insn_cbs``, not one instruction)."""
    parent = decl.parent
    type_node = parent.child_by_field_name("type") if parent is not None else None
    name = type_node.child_by_field_name("name") if type_node is not None else None
    declarator = decl.child_by_field_name("declarator")
    return (type_node is not None and type_node.type == "struct_specifier" and name is not None
            and name.text == b"bpf_insn" and declarator is not None
            and declarator.type == "array_declarator")


def _in_body(node) -> bool:
    """Whether ``node`` sits inside a function body (a block-scope declaration)."""
    node = node.parent
    while node is not None:
        if node.type == "compound_statement":
            return True
        node = node.parent
    return False


def _walk(node):
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.named_children))


def _short(node) -> str:
    return _short_text(node.text.decode(errors="replace"))


def _short_text(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def parse_c_arrays(source: bytes, path: str, *,
                   macros: dict[str, str] | None = None,
                   func_macros: dict[str, FuncMacro] | None = None) -> list[Program]:
    """Every BPF program in a C source (see the module docstring); never raises on bad input."""
    blanked, objects, funcs = collect_defines(source)
    objects = {**(macros or {}), **objects}
    funcs = {**(func_macros or {}), **funcs}
    for name in MACROS:
        funcs.pop(name, None)
    tree = _PARSER.parse(fold_layout_exprs(blanked))
    decoder = _Decoder(path, objects, funcs)
    decoder.visit(tree.root_node)
    return decoder.programs
