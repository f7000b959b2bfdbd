"""Extract the design facts of one C file (functions, types, variables, calls, uses) with tree-sitter.

The grammar sees one file without preprocessing, so extraction is defensive: type names inside
ERROR regions and inside macro invocations are not trusted, file-scope macro invocations are
recognised as such (and expanded when the macro is defined in the same file), and iterator
macros that the grammar misreads as declarations are read back as the calls they are.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from kernel_lsp.parse import cnodes
from kernel_lsp.parse.cnodes import (
    declarator_name,
    function_declarator,
    in_definition,
    indirection,
    object_depth,
    span,
    text,
    type_ref,
)
from kernel_lsp.parse.conditions import active_text_unsure, compares_a_value, int_literal
from kernel_lsp.parse.facts import (
    BASE,
    EXTERN,
    GLOBAL,
    NEED_MEMBERS,
    NEED_NAME,
    NEED_NOTHING,
    NEED_SIZE,
    NEED_SIZEOF,
    STRUCT,
    TYPEDEF,
    UNION,
    Call,
    FileFacts,
    Function,
    Macro,
    Member,
    Param,
    Span,
    TypeDecl,
    TypeRef,
    TypeUse,
    Variable,
)
from kernel_lsp.parse.filescope import MACRO_NAME, FileScopeMacros
from kernel_lsp.parse.hidden import hidden_names
from kernel_lsp.parse.lines import Lines
from kernel_lsp.parse.macros import (
    VARIABLE_DEFINERS,
)
from kernel_lsp.parse.memberruns import MemberRuns
from kernel_lsp.parse.parser import all_captures, parse
from kernel_lsp.parse.preprocess import close_paren, unbraced_iterator_calls
from kernel_lsp.parse.varuse import free_identifiers

# Bump when extraction changes what it produces: the indexer then re-extracts every file.
EXTRACTOR_VERSION = "64"
# Names that look like calls but are operators or compiler keywords.
NOT_CALLS = frozenset("""
sizeof typeof __typeof__ __typeof alignof _Alignof __alignof__ __alignof offsetof
_Static_assert static_assert defined asm __asm__ __asm _Generic __auto_type va_arg
__extension__ __builtin_offsetof return if while for switch
__atomic_load_n __atomic_load __atomic_store_n __atomic_store __atomic_exchange_n
__atomic_exchange __atomic_compare_exchange_n __atomic_compare_exchange __atomic_add_fetch
__atomic_sub_fetch __atomic_and_fetch __atomic_xor_fetch __atomic_or_fetch __atomic_nand_fetch
__atomic_fetch_add __atomic_fetch_sub __atomic_fetch_and __atomic_fetch_xor __atomic_fetch_or
__atomic_fetch_nand __atomic_test_and_set __atomic_clear __atomic_thread_fence
__atomic_signal_fence __atomic_always_lock_free __atomic_is_lock_free
__sync_fetch_and_add __sync_fetch_and_sub __sync_fetch_and_or __sync_fetch_and_and
__sync_fetch_and_xor __sync_fetch_and_nand __sync_add_and_fetch __sync_sub_and_fetch
__sync_or_and_fetch __sync_and_and_fetch __sync_xor_and_fetch __sync_nand_and_fetch
__sync_bool_compare_and_swap __sync_val_compare_and_swap __sync_synchronize
__sync_lock_test_and_set __sync_lock_release
""".split())  # and GCC's atomic built-ins (``__builtin_*`` are skipped by their prefix)


TRUSTED = "trusted"  # an error-free construct inside an ERROR node: its type uses count
_ISLANDS = frozenset({"field_declaration", "declaration", "type_definition",
                      "function_definition"})
# where a statement-like macro (``container_of(p, struct s, m)``, ``for_each_cpu(i)``) reads as a
# declaration: no islands inside
_NO_ISLANDS = frozenset({"compound_statement", "argument_list", "parameter_list",
                         "parenthesized_expression", "call_expression"})


def _islands(err) -> list:
    """The complete, error-free declarations inside an ERROR node (a macro the grammar cannot
    read, ``ACPI_STATE_COMMON u32 index;``, makes the whole rest of a header one ERROR node;
    the members and declarations around it are still read right)."""
    out, stack = [], list(err.named_children)
    while stack:
        node = stack.pop()
        if node.type in _ISLANDS and not node.has_error:
            out.append(node)
        elif node.type not in _NO_ISLANDS:
            stack.extend(node.named_children)
    return out


class _Ranges:
    """Sorted, possibly nested byte ranges with a payload; finds the innermost one holding a byte."""

    def __init__(self) -> None:
        self._items: list[tuple[int, int, object]] = []
        self._starts: list[int] | None = None
        self._reach: list[int] = []

    def add(self, start: int, end: int, payload: object = None) -> None:
        self._items.append((start, end, payload))
        self._starts = None

    def find(self, pos: int):
        """Payload of the innermost range holding byte ``pos`` (True if it has none), or None."""
        item = self.innermost(pos)
        if item is None:
            return None
        return item[2] if item[2] is not None else True

    def innermost(self, pos: int) -> tuple[int, int, object] | None:
        """The innermost (start, end, payload) holding byte ``pos``, or None."""
        if self._starts is None:
            self._items.sort(key=lambda r: (r[0], -r[1]))
            self._starts = [r[0] for r in self._items]
            reach, self._reach = 0, []
            for _, end, _ in self._items:
                reach = max(reach, end)
                self._reach.append(reach)
        i = bisect_right(self._starts, pos) - 1
        while i >= 0 and self._reach[i] > pos:
            if pos < self._items[i][1]:
                return self._items[i]
            i -= 1
        return None

    def items(self) -> list[tuple[int, int, object]]:
        return list(self._items)


# the body of a macro that hands its arguments to a function: ``au0828_writereg(dev, reg, value)``
_FORWARDING = re.compile(r"\s*([A-Za-z_]\w*)\s*\(([\w\s,]*)\)\s*")
# a line that is only ``}`` (a comment may follow)
_CLOSING_LINE = re.compile(rb"\n\}[ \t]*(?:/\*[^\n]*?\*/[ \t]*|//[^\n]*)?(?=\r?\n)")
# (and C's predefined identifiers: ``DBG(__func__)`` as a statement of its own reads as a
# declaration of ``__func__``)
_NOT_TYPES = frozenset("else typeof __typeof__ __typeof return sizeof case goto do __func__ "
                       "__FUNCTION__ __PRETTY_FUNCTION__".split())
# C's keywords, which no object is named
_KEYWORDS = frozenset("auto break case char const continue default do double else enum extern "
                      "float for goto if inline int long register restrict return short signed "
                      "sizeof static struct switch typedef union unsigned void volatile while "
                      "_Bool".split())
_LOCAL_DEFINER = re.compile(r"^(?:DEFINE|DECLARE)_[A-Z0-9_]+$|^H?LIST_HEAD$")


class Extractor(FileScopeMacros):
    """One extraction run over one file's bytes (file-scope macro uses: ``FileScopeMacros``)."""

    def __init__(self, path: str, source: bytes, *, generated: tuple[str, Span] | None = None,
                 tree=None, env=None):
        # the text with the branches the configuration ``env`` drops blanked; ``tree``: a
        # parse of that text
        self.src, inactive, self.unsure = active_text_unsure(source, env)
        self.lines = Lines(self.src)  # rows and columns for the text scans, found once
        self.path, self.tree = path, tree
        self.generated = generated  # (macro, invocation span) when reading a macro expansion
        self.facts = FileFacts(path=path, inactive=inactive,
                               hidden=hidden_names(source, inactive) if not generated else [])
        self.funcs = _Ranges()  # function bodies -> name
        self.owners = _Ranges()  # signatures / members -> owning design type
        self.untrusted = _Ranges()  # ERROR regions and macro invocations: no type uses there
        self.macro_uses = _Ranges()  # file-scope macro invocations: no declarations there
        self.locals: dict[str, set[str]] = {}
        self.local_types: dict[str, dict[str, TypeRef]] = {}  # function -> name -> its type
        # function -> name -> pointer and array levels of its declarator (``cnodes.indirection``)
        self.local_depth: dict[str, dict[str, int | None]] = {}
        self.typedef_name_starts: set[int] = set()
        # file-scope object -> (its struct/union type, ``object_depth``, start, extern)
        self.globals: dict[str, tuple[TypeRef, int | None, int, bool]] = {}
        self.macros_so_far: dict[str, tuple[tuple[str, ...], str, int]] = {}
        self.macros_by_name: dict[str, list[Macro]] | None = None  # ``_macros_by_name``
        self.misread_types: list = []  # type names of declarations read as calls (``_calls``)

    # -- driver ----------------------------------------------------------------------------
    def run(self) -> FileFacts:
        tree = self.tree if self.tree is not None else parse(self.src)
        root = tree.root_node
        self.caps = caps = all_captures(root)
        if not self.generated:
            self._preproc(root)
        for err in caps.get("error", []):
            self.untrusted.add(err.start_byte, err.end_byte)
            self.facts.error_nodes += 1
            for island in _islands(err):
                self.untrusted.add(island.start_byte, island.end_byte, TRUSTED)
        defs = caps
        for node in defs.get("func.def", []):
            self._function_definition(node)
        if not self.generated:
            self._scan_invocations(root)
        if self.generated:
            self._definitions_only(defs)
            return self.facts
        for node in defs.get("typedef", []):
            self._typedef(node)
        for node in defs.get("record.def", []):
            self._record(node)
        self._locals(root)
        for node in defs.get("decl", []):
            self._declaration(node)
        for err in caps.get("error", []):
            if err.parent is not None and err.parent.type in _FILE_SCOPE and (
                    self.funcs.find(err.start_byte) is None):
                self._annotated_prototype(err)
        self._calls(root)
        self._undecided_branches()
        self._values()
        self._template(defs)
        self._type_uses(root)
        self._var_uses()
        return self.facts

    def _definitions_only(self, defs) -> None:
        for node in defs.get("typedef", []):
            self._typedef(node)
        for node in defs.get("record.def", []):
            self._record(node)
        for node in defs.get("decl", []):
            if self.funcs.find(node.start_byte) is None:
                self._file_scope_declaration(node)

    def _span(self, node) -> Span:
        return self.generated[1] if self.generated else span(node)

    # -- definitions -------------------------------------------------------------------------
    def _function_definition(self, node) -> None:
        decl = node.child_by_field_name("declarator")
        fdecl = function_declarator(decl)
        body = node.child_by_field_name("body")
        if fdecl is None or body is None:
            return
        ident = fdecl.child_by_field_name("declarator")
        name = text(ident)
        if name in _KEYWORDS:
            return  # ``CRITEND`` / ``if (...) {`` in a body: no function ``if``
        if not self.generated and _iterator_misread(node):
            self._iterator_statement(node, ident, body)
            return
        if MACRO_NAME.match(name) and not self.generated and (
                node.child_by_field_name("type") is None or name in self.macros_so_far
                or self.macro_uses.find(node.start_byte) is not None):
            return  # ``SYSCALL_DEFINE1(...) {`` read as a definition: the invocation scan owns it
        st, inline = cnodes.storage(node)
        depths: dict[str, int | None] = {}
        params = self._params(fdecl, depths)
        self.facts.functions.append(Function(
            name, True, st, inline, type_ref(node.child_by_field_name("type")), params,
            self._signature(node.start_byte, body.start_byte), self._span(node),
            self._span(ident), None, self.generated[0] if self.generated else None))
        self.funcs.add(body.start_byte, self._body_end(body), name)
        self.owners.add(node.start_byte, body.start_byte, ("func", name))
        self.locals[name] = {p.name for p in params if p.name}
        self.local_types[name] = {p.name: p.type for p in params if p.name and p.type}
        self.local_depth[name] = depths

    def _iterator_statement(self, node, ident, body) -> None:
        """A definition the grammar made of an iterator macro and the statement it runs
        (``for_each_possible_cpu(i)`` / ``sum += cpu_rq(i)->nr;``, with the next function's
        body for its own): the declarator is a call of the enclosing function, as is what that
        body calls (the next function's header was read as old-style parameter
        declarations)."""
        outer = self.funcs.find(node.start_byte)
        if not isinstance(outer, str):
            return
        name = text(ident)
        if name and name not in NOT_CALLS:
            self.facts.calls.append(Call(name, outer, "direct", span(ident)))
        self.funcs.add(node.start_byte, body.end_byte, outer)
        # the statement the iterator runs was read as a declaration (``sum += cpu_rq(i)->nr;``)
        end = self.src.find(b";", ident.end_byte, body.start_byte)
        self.untrusted.add(ident.end_byte, end + 1 if end >= 0 else body.start_byte)

    def _body_end(self, body) -> int:
        """Where a function's body ends: at its ``}``, or, when the grammar read a definition
        inside it, at the first line before that is only ``}``, where the kernel's style closes
        a function. (``for_each_possible_cpu(i)`` then ``sum += ...;`` is an old-style
        definition to the grammar, which takes the next function's body for its own: the outer
        body went on to the end of the file, over file-scope definitions such as
        ``SYSCALL_DEFINE1(nice, ...)``.)"""
        end = body.end_byte
        if self.generated or not any(c.type == "function_definition" for c in body.children):
            return end  # (a body the grammar read right holds no definition)
        for m in _CLOSING_LINE.finditer(self.src, body.start_byte, end - 1):
            if self.src[m.start() - 1:m.start()] != b"\\":  # not a #define's line (``} while (0)``)
                return m.start() + 2
        return end

    def _signature(self, start: int, end: int) -> str:
        return " ".join(self.src[start:end].decode("utf-8", "replace").split()).rstrip(";").strip()

    def _params(self, fdecl, depths: dict[str, int | None] | None = None
                ) -> tuple[Param, ...]:
        """The parameters of a function declarator (``depths``: filled with the
        ``cnodes.indirection`` of each named one)."""
        plist = fdecl.child_by_field_name("parameters")
        out = []
        for p in plist.named_children if plist is not None else ():
            if p.type == "variadic_parameter":
                out.append(Param("...", None))
            elif p.type == "parameter_declaration":
                declarator = p.child_by_field_name("declarator")
                ident = declarator_name(declarator) or cnodes.parenthesized_name(declarator)
                out.append(Param(text(ident) if ident is not None else None,
                                 type_ref(p.child_by_field_name("type"))))
                if depths is not None and ident is not None:
                    depths[text(ident)] = indirection(declarator)
        if len(out) == 1 and out[0].name is None and out[0].type == TypeRef("void", BASE):
            return ()
        return tuple(out)

    def _typedef(self, node) -> None:
        under = type_ref(node.child_by_field_name("type"))
        for d in node.children_by_field_name("declarator"):
            ident = declarator_name(d)
            if ident is not None and ident.type == "primitive_type" and (
                    d.type == "function_declarator"):  # not ``typedef __kernel_size_t size_t;``
                ident = _parenthesized_typedef_name(d)
            if ident is None or not (name := text(ident)):
                continue  # (no name: the parser's recovery, ``typedef DECLARE_BITMAP(t, n);``)
            self.typedef_name_starts.add(ident.start_byte)
            self.facts.types.append(TypeDecl(name, TYPEDEF, True, (), self._span(node),
                                             self._span(ident), under, self._gen_name()))
            self.owners.add(node.start_byte, node.end_byte, ("type", name))

    def _gen_name(self) -> str | None:
        return self.generated[0] if self.generated else None

    def _record(self, node) -> None:
        kind = cnodes.record_kind(node.type)
        name_node = node.child_by_field_name("name")
        body = node.child_by_field_name("body")
        if body is not None and b"struct_group" in self.src[body.start_byte:body.end_byte]:
            self._tagged_groups(body)
        if name_node is None:
            return  # anonymous: its members belong to the enclosing record or typedef
        members = self._members(body) if body is not None else ()
        name = text(name_node)
        self.facts.types.append(TypeDecl(name, kind, True, members, self._span(node),
                                         self._span(name_node), None, self._gen_name()))
        for alias in self._renamed(name, node.start_byte):  # ``#define __tag tag`` above
            self.facts.types.append(TypeDecl(alias, kind, True, members, self._span(node),
                                             self._span(name_node), None, self._gen_name()))
        if body is not None:
            self.owners.add(body.start_byte, body.end_byte, ("type", name))

    def _tagged_groups(self, body) -> None:
        """``struct_group_tagged(tag, name, members...)`` (and ``__struct_group(tag, ...)``,
        ``include/uapi/linux/stddef.h``) in a member list: the members, once more, as the
        definition of ``struct tag`` (``struct cxl_component_regs``, ``struct sk_buff_list``)."""
        for m in _TAGGED_GROUP.finditer(self.src, body.start_byte, body.end_byte):
            opening = self.src.index(b"(", m.start())
            close = close_paren(self.src, opening, body.end_byte - opening)
            if close < 0:
                continue
            members = self._members(body, m.end(), close)
            start, end = m.start(1), m.end(1)
            line, col = self.lines.point(start)
            where = Span(start, end, line, col, line, col + end - start)
            line, col = self.lines.point(m.start())
            eline, ecol = self.lines.point(close + 1)
            whole = Span(m.start(), close + 1, line, col, eline, ecol)
            self.facts.types.append(TypeDecl(m.group(1).decode(), STRUCT, True, members,
                                             self._span_or(whole), self._span_or(where), None,
                                             self._gen_name()))

    def _span_or(self, where: Span) -> Span:
        return self.generated[1] if self.generated else where

    def _renamed(self, name: str, before: int) -> set[str]:
        """What object-like macros of this file defined above ``before`` rename ``name`` to
        (``#define __snd_pcm_mmap_status snd_pcm_mmap_status``: ``struct __snd_pcm_mmap_status
        { ... }`` defines ``struct snd_pcm_mmap_status``)."""
        return {m.body for m in self.facts.macros if m.name == name and m.params is None
                and m.span.start_byte < before and m.body.isidentifier() and m.body != name}

    def _members(self, body, start: int = 0, end: int | None = None) -> tuple[Member, ...]:
        """The members of the list ``body``; those named between the bytes ``start`` and
        ``end`` (the grammar may join a group macro's opening to its first member)."""
        out = []
        for child in body.named_children:
            if end is not None and (child.end_byte < start or child.start_byte > end):
                continue
            if child.type == "enumerator":
                n = child.child_by_field_name("name")
                if n is not None:
                    out.append(Member(text(n), None))
            elif child.type == "field_declaration":
                tref = type_ref(child.child_by_field_name("type"))
                for d in child.children_by_field_name("declarator"):
                    ident = declarator_name(d)
                    if ident is not None and (end is None or start <= ident.start_byte < end):
                        out.append(Member(text(ident), tref, cnodes.is_function_pointer(d)))
        return tuple(out)

    def _declaration(self, node) -> None:
        if self.macro_uses.find(node.start_byte) is not None:
            return
        fn = self.funcs.find(node.start_byte)
        if fn is None:
            self._file_scope_declaration(node)

    def _file_scope_declaration(self, node) -> None:
        ttype = node.child_by_field_name("type")
        declarators = node.children_by_field_name("declarator")
        if ttype is not None and ttype.type == "macro_type_specifier":
            return
        st, inline = cnodes.storage(node)
        if not declarators:
            return  # ``struct foo;`` is recorded with the type uses
        if self._body_from_macro(ttype, declarators):
            return
        for d in declarators:
            self._file_scope_declarator(node, ttype, d, st, inline)

    def _annotated_prototype(self, err) -> None:
        """``int dm_btree_insert(struct dm_btree_info *info, ...) __dm_written_to_disk(value);``:
        a prototype followed by an annotation macro with arguments that is not in
        ``preprocess.PAREN_ANNOTATIONS`` (a header's own), which the grammar reads as an ERROR
        holding the function declarator with a call in its tail, then a lone ``;``. C has nothing
        but attributes between a prototype's parameters and its ``;``."""
        after = err.next_sibling
        if after is None or after.type != "expression_statement" or after.named_child_count or (
                self.macro_uses.find(err.start_byte) is not None):
            return
        kids = err.named_children  # (an ERROR node answers no field names)
        fdecls = [i for i, c in enumerate(kids) if c.type == "function_declarator"]
        if len(fdecls) != 1 or fdecls[0] == 0 or kids[fdecls[0] - 1].type in _NOT_TYPE_NODES:
            return
        ttype, fdecls = kids[fdecls[0] - 1], [kids[fdecls[0]]]
        tail = fdecls[0].named_children[-1]
        params = fdecls[0].child_by_field_name("parameters")
        if tail.type != "call_expression" or params is None or tail.start_byte < params.end_byte:
            return
        callee = tail.child_by_field_name("function")
        if callee is None or callee.type != "identifier":
            return
        st, inline = cnodes.storage(err)
        self._file_scope_declarator(err, ttype, fdecls[0], st, inline)

    def _body_from_macro(self, ttype, declarators) -> bool:
        """``enum port_states PORT_STATES;`` with ``#define PORT_STATES { C(STOPPED), ... }``
        above, or ``struct kfifo __STRUCT_KFIFO_PTR(char, 0, void);`` with a function-like
        macro whose body is ``{ ... }``: a definition whose body a macro of this file writes,
        not a variable or a prototype."""
        if ttype is None or cnodes.record_kind(ttype.type) is None or len(declarators) != 1 or (
                ttype.child_by_field_name("body")):
            return False
        d = declarators[0]
        if d.type == "function_declarator":
            d = d.child_by_field_name("declarator")
        tag = ttype.child_by_field_name("name")
        if tag is None or d is None or d.type != "identifier":
            return False
        macro, like = text(d), declarators[0].type == "function_declarator"
        if not any(m.name == macro and (m.params is not None) == like and m.body.startswith("{")
                   and m.span.start_byte < ttype.start_byte for m in self.facts.macros):
            return False
        self.facts.types.append(TypeDecl(text(tag), cnodes.record_kind(ttype.type), True, (),
                                         self._span(ttype), self._span(tag), None,
                                         self._gen_name()))
        return True

    def _file_scope_declarator(self, node, ttype, d, st: str, inline: bool) -> None:
        fdecl = function_declarator(d)
        if fdecl is not None:
            ident = fdecl.child_by_field_name("declarator")
            name = text(ident)
            if MACRO_NAME.match(name) and (ttype is None or name in self.macros_so_far):
                return
            name = self._forwarded(name, node.start_byte)
            self.facts.functions.append(Function(
                name, False, st, inline, type_ref(ttype), self._params(fdecl),
                self._signature(node.start_byte, node.end_byte), self._span(node),
                self._span(ident), None, self._gen_name()))
            self.owners.add(node.start_byte, node.end_byte, ("proto", name))
            return
        ident = declarator_name(d)
        if ident is None or ident.type != "identifier" or text(ident) in _KEYWORDS:
            return  # (a keyword: the grammar's recovery, ``static __fastpath_inline`` / ``struct``)
        is_def = st != EXTERN or d.type == "init_declarator"
        tref = type_ref(ttype)
        if tref is not None and tref.kind in (STRUCT, UNION) and text(ident) not in self.globals:
            self.globals[text(ident)] = (tref, object_depth(d), node.start_byte, not is_def)
        self.facts.variables.append(Variable(text(ident), st, is_def, tref,
                                             self._span(node), self._span(ident), self._gen_name()))

    def _forwarded(self, name: str, pos: int) -> str:
        """The name a prototype declares when this file defines its name above as a function-like
        macro whose body calls another function with the same arguments (``#define
        au0828_write(dev, reg, value) au0828_writereg(dev, reg, value)`` then ``extern u32
        au0828_write(struct au0828_dev *dev, u16 reg, u32 val);`` declares
        ``au0828_writereg``)."""
        entry = self.macros_so_far.get(name)
        if entry is None or entry[2] > pos:
            return name
        params, body, _start = entry
        m = _FORWARDING.fullmatch(body)
        if m is None or [a.strip() for a in m.group(2).split(",")] != list(params):
            return name
        return m.group(1)

    # -- function bodies ---------------------------------------------------------------------
    def _locals(self, root) -> None:
        caps = self.caps
        for node in caps.get("local.macro_decl", []):
            self.untrusted.add(node.start_byte, node.end_byte, "macro_decl")
        for node in caps.get("local.decl", []):
            fn = self.funcs.find(node.start_byte)
            if fn is None:
                continue
            names = self.locals.setdefault(fn, set())
            ttype = node.child_by_field_name("type")
            tref = type_ref(ttype)
            for d in node.children_by_field_name("declarator"):
                fdecl = function_declarator(d)
                if fdecl is None:
                    ident = declarator_name(d)
                    if ident is not None:
                        names.add(text(ident))
                        if tref is not None:
                            self.local_types.setdefault(fn, {})[text(ident)] = tref
                            self.local_depth.setdefault(fn, {})[text(ident)] = object_depth(d)
                    continue
                ident = fdecl.child_by_field_name("declarator")
                name = text(ident)
                if name in _KEYWORDS:  # ``if (...)`` after a macro read as a type: no function
                    self.untrusted.add(node.start_byte, node.end_byte)
                    continue
                if ttype is None or ttype.type == "macro_type_specifier" or MACRO_NAME.match(name):
                    # ``DEFINE_WAIT(w);`` / ``for_each_cpu(c) f(c);``: a macro, not a prototype
                    self.untrusted.add(node.start_byte, node.end_byte)
                    self._macro_statement(fdecl, fn, names, ttype)
                    continue
                st, inline = cnodes.storage(node)
                self.facts.functions.append(Function(
                    name, False, st if st != GLOBAL else EXTERN, inline, type_ref(ttype),
                    self._params(fdecl), self._signature(node.start_byte, node.end_byte),
                    span(node), span(ident), fn))

    def _macro_statement(self, fdecl, fn: str, names: set[str], ttype) -> None:
        """A block-scope 'declaration' that is really ``MACRO(args)`` or ``iter(x) f(args);``."""
        ident = fdecl.child_by_field_name("declarator")
        name = text(ident)
        if ttype is not None and ttype.type == "macro_type_specifier":
            if name not in NOT_CALLS:  # (``PREAMBLE(len)`` / ``for (...)``: no call of ``for``)
                self.facts.calls.append(Call(name, fn, "direct", span(ident)))
            return
        # DEFINE_WAIT(wait); LIST_HEAD(list); -> the argument is a local the macro defines
        plist = fdecl.child_by_field_name("parameters")
        for p in plist.named_children if plist is not None else ():
            names.add(text(p).strip())

    def _calls(self, root) -> None:
        caps = self.caps
        # ``#elif defined(f)`` -> its branches kept on the undecided condition
        if_defined: dict[str, list[tuple[int, int]]] = {}
        for start, end, _guard, needs, _clause in self.unsure:
            if needs is not None:
                if_defined.setdefault(needs, []).append((start, end))
        for node in caps.get("call.direct", []):
            name = text(node)
            fn = self.funcs.find(node.start_byte)
            if fn is None or name in NOT_CALLS or name.startswith("__builtin_"):
                continue
            if name in if_defined and any(s <= node.start_byte < e for s, e in if_defined[name]):
                # built only where ``f`` is a macro (another architecture's
                # ``arch_atomic_inc_return_relaxed``): never "defined nowhere"
                self.facts.hidden.append((name, "ifdef", span(node)))
            if name in VARIABLE_DEFINERS or _LOCAL_DEFINER.match(name):
                self._macro_local(node, name, fn)
            if name in self.locals.get(fn, ()):
                continue  # a call through a local function pointer or parameter
            call = node.parent  # (a node's parent is a walk from the root: found once)
            holder = call.parent
            declared = _declaration_misread(call, holder)
            if declared is not None:  # ``u8 (*driving)[3];``: a type and a local, no call
                self.locals.setdefault(fn, set()).add(text(declared))
                self.misread_types.append(node)
                continue
            self.facts.calls.append(Call(name, fn, "direct", span(node), _place(call, holder)))
        for node in caps.get("call.member", []):
            fn = self.funcs.find(node.start_byte)
            if fn is not None:
                self.facts.calls.append(Call(text(node), fn, "member", span(node)))
        self.facts.calls.sort(key=lambda c: c.span.start_byte)

    def _macro_local(self, callee, name: str, fn: str) -> None:
        """``LIST_HEAD(list);`` / ``DEFINE_WAIT(w);`` in a body define a local named by an argument."""
        args = callee.parent.child_by_field_name("arguments")
        if args is None or not args.named_children:
            return
        index = VARIABLE_DEFINERS.get(name, (0, False))[0]
        if index < len(args.named_children) and args.named_children[index].type == "identifier":
            self.locals.setdefault(fn, set()).add(text(args.named_children[index]))

    def _type_uses(self, root) -> None:
        seen: dict[tuple, list] = {}
        self._more: dict[int, list] = {}
        invoked: dict[str, int] = {}  # this file's function-like macros: where first defined
        for m in self.facts.macros:
            if m.params is not None:
                invoked.setdefault(m.name, m.span.start_byte)
        for node in self.caps.get("type.name", []):
            if node.start_byte in self.typedef_name_starts:
                continue
            parent = node.parent  # (a node's parent is a walk from the root: found once)
            if parent is not None and parent.type in _NO_TYPE_HERE:
                continue  # ``SIS_CP_INIT301_CP2`` alone on its line in a body: a macro's use
            kind = cnodes.record_kind(parent.type) if parent is not None else None
            holder = None  # the parent of a tag's specifier
            if kind is not None:
                if parent.child_by_field_name("body") is not None:
                    continue  # a definition
                holder = parent.parent
                if self._forward_declaration(parent, kind, holder):
                    continue
            elif parent is not None and parent.type == "type_descriptor" and (
                    (outer := parent.parent) is not None and outer.type == "macro_type_specifier"):
                continue
            if self.untrusted.find(node.start_byte) not in (None, TRUSTED):
                continue
            name = text(node)
            fn = self.funcs.find(node.start_byte)
            if kind is None and (name in _NOT_TYPES or (fn and name in self.locals.get(fn, ()))
                                 or _misread_argument(node, invoked, parent)):
                continue  # an expression the grammar misread as a declaration (``x * y;``)
            self.facts.type_use_total += 1
            owner = self.owners.find(node.start_byte)
            need = NEED_NAME if kind is None else _need(parent, holder)
            self._type_use(seen, TypeUse(name, kind or TYPEDEF, span(node), fn,
                                         owner[1] if owner else None, need,
                                         drops_owner=kind is None and self._drops(node, parent)))
        for node in self.misread_types:
            if self.untrusted.find(node.start_byte) in (None, TRUSTED):
                fn = self.funcs.find(node.start_byte)
                self.facts.type_use_total += 1
                self._type_use(seen, TypeUse(text(node), TYPEDEF, span(node), fn, None, NEED_NAME))
        for cap, need, pointer in (("member.base", NEED_MEMBERS, False),
                                   ("element.base", NEED_MEMBERS, True),
                                   ("sizeof.base", NEED_SIZEOF, True)):
            for node in self.caps.get(cap, []):
                fn = self.funcs.find(node.start_byte)
                tref, depth, extern = self._object(fn, node)
                if tref is None or tref.kind not in (STRUCT, UNION) or (
                        self.untrusted.find(node.start_byte) not in (None, TRUSTED)):
                    continue
                # indexing, stepping or sizeof(*p) need the struct only through one level
                # (``struct page **pages; pages[i]`` is a pointer: legal with the struct
                # unknown); ``s.f`` of an object by value adds nothing to its declaration's
                # finding (the compiler reports the declaration only), unless it is extern
                if depth != 1 and not (depth == 0 and extern and not pointer):
                    continue
                self._type_use(seen, TypeUse(tref.name, tref.kind, span(node), fn, None, need))
        self._macro_arguments(seen, root)
        self._member_runs(seen)
        self._attach_more()

    def _member_runs(self, seen: dict) -> None:
        """The types of the members a member-run macro brings where a struct body invokes it
        (``parse/memberruns.py``), at the macro's name."""
        runs = MemberRuns(self.facts.macros) if self.facts.macros else None
        if runs is None or not runs.macros:
            return
        for node in self.caps.get("record.def", []):
            body = node.child_by_field_name("body")
            if body is None or node.type == "enum_specifier":
                continue
            for name, args, start, end in runs.invocations(self.src, body.start_byte,
                                                           body.end_byte):
                owner = self.owners.find(start)
                line, col = self.lines.point(start)
                where = Span(start, end, line, col, line, col + end - start)
                for tname, kind, need in runs.types(name, args):
                    self._type_use(seen, TypeUse(tname, kind, where, None,
                                                 owner[1] if isinstance(owner, tuple) else None,
                                                 need))

    def _object(self, fn: str | None, node) -> tuple[TypeRef | None, int | None, bool]:
        """(type, ``object_depth``, extern) of the object the name ``node`` denotes in the
        body of ``fn``: a local or parameter, else a file-scope object declared above."""
        if fn is None:
            return None, None, False
        name = text(node)
        if name in self.locals.get(fn, ()):
            return self.local_types.get(fn, {}).get(name), self.local_depth.get(fn, {}).get(
                name), False
        found = self.globals.get(name)
        if found is None or found[2] > node.start_byte:
            return None, None, False
        return found[0], found[1], found[3]

    def _macro_arguments(self, seen: dict, root) -> None:
        """Structs a macro's arguments may need complete (``TypeUse.via``): a local pointer to
        a struct handed to an iterator (``list_for_each_entry(pos, ...) {``), a struct named as
        an argument (``container_of(p, struct foo, member)``). Whether the macro's body needs
        it is decided when checking (``parse/macroargs.py``)."""
        for node in self.caps.get("iter.arg", []) + self._unbraced_iterator_args(root):
            fn = self.funcs.find(node.start_byte)
            tref, depth, _extern = self._object(fn, node)
            if tref is None or tref.kind not in (STRUCT, UNION) or depth != 1:
                continue
            via = _via(node, False)
            if via is not None and self.untrusted.find(node.start_byte) in (None, TRUSTED):
                self._type_use(seen, TypeUse(tref.name, tref.kind, span(node), fn, None,
                                             NEED_MEMBERS, via=via))
        for keyword in self.caps.get("typearg.keyword", []):
            kind = text(keyword).strip()
            after = keyword.next_named_sibling
            fn = self.funcs.find(keyword.start_byte)
            if kind not in (STRUCT, UNION) or fn is None or after is None:
                continue
            # (ERROR struct) name: the name is the argument; struct (ERROR name): the keyword is
            name, arg = (after, after) if keyword.type == "ERROR" else (after.named_child(0), keyword)
            if name is None or name.type != "identifier":
                continue
            via = _via(arg, True)
            if via is not None:
                self._type_use(seen, TypeUse(text(name), kind, span(name), fn, None,
                                             NEED_MEMBERS, via=via))

    def _unbraced_iterator_args(self, root) -> list:
        """The plain-name arguments of the iterators that run an unbraced statement
        (``list_for_each_entry(pos, head, member)`` / ``visit(pos);``), which the parser reads
        as call statements of their own (``preprocess.unbraced_iterators``): what
        ``iter.arg`` captures of an iterator before ``{``."""
        out = []
        for start, _semi in unbraced_iterator_calls(self.src):
            name = root.named_descendant_for_byte_range(start, start + 1)
            call = name.parent if name is not None and name.type == "identifier" else None
            if call is None or call.type != "call_expression" or (
                    call.child_by_field_name("function") != name):
                continue
            args = call.child_by_field_name("arguments")
            out += [a for a in args.named_children if a.type == "identifier"]
        return out

    def _drops(self, node, holder) -> bool:
        """Whether the typedef name ``node`` (whose parent is ``holder``) is the return type of
        ``typedef R (*T)(...)``: the first declarator opens with ``(`` right after it
        (``TypeUse.drops_owner``)."""
        if holder is None or holder.type != "type_definition" or (
                holder.child_by_field_name("type") != node):
            return False
        first = holder.child_by_field_name("declarator")
        return first is not None and self.src[first.start_byte:first.start_byte + 1] == b"(" and (
            not self.src[node.end_byte:first.start_byte].strip())

    def _type_use(self, seen: dict, use: TypeUse) -> None:
        """Record ``use`` unless its (name, kind, scope, owner, need, via) is recorded already; a
        recorded one gains the line of ``use`` (``TypeUse.more``) when it is a new line."""
        if not use.name:
            return  # a name the parser inserted to recover from an error
        key = (use.name, use.kind, use.function, use.owner, use.need, use.via)
        first = seen.get(key)
        if first is None:
            seen[key] = [len(self.facts.type_uses), self._region(use), use.span.line]
            self.facts.type_uses.append(use)
        elif use.span.line != first[-1] and first[1] is not None and (
                first[1] == self._region(use)):
            first.append(use.span.line)
            self._more.setdefault(first[0], []).append((use.span.line, use.span.col))

    def _region(self, use: TypeUse) -> int | None:
        """Start of the one body, member list or signature that holds ``use`` (None at file
        scope): later lines join a use of the same region only, so the rows of a body that an
        edit re-extracts alone never name lines of other bodies."""
        ranges = self.funcs if use.function else self.owners if use.owner else None
        item = ranges.innermost(use.span.start_byte) if ranges is not None else None
        return item[0] if item is not None else None

    def _attach_more(self) -> None:
        uses = self.facts.type_uses
        for i, more in self._more.items():
            line = uses[i].span.line
            uses[i] = uses[i]._replace(more=tuple(sorted({m for m in more if m[0] != line})))

    def _forward_declaration(self, spec, kind: str, gp) -> bool:
        """Record ``struct foo;`` (alone, or as a declaration without declarators; ``gp``: the
        parent of ``spec``)."""
        after = spec.next_sibling
        alone = after is not None and after.type == ";"
        bare = gp is not None and gp.type == "declaration" and not gp.children_by_field_name(
            "declarator")
        if not (alone or bare):
            return False
        name = spec.child_by_field_name("name")
        if self.funcs.find(spec.start_byte) is None:
            self.facts.types.append(TypeDecl(text(name), kind, False, (), span(spec), span(name)))
        return True

    def _undecided_branches(self) -> None:
        """Record each branch kept on an undecided ``#ifdef NAME`` / ``#if defined(NAME)`` /
        ``#if NAME`` (hidden rows of kind ``undecided``, spanning the branch): where no file of
        the tree defines NAME, nor the configuration or a Kbuild ``-D``, the compiler never
        reads it (``#ifdef NOT_YET``), and the checks leave what it holds alone; and of kind
        ``unless`` each kept on an undecided ``#ifndef NAME``: dead in what defines NAME; and
        of kind ``if``, named by the condition, each kept on an undecided comparison of a
        macro's value (``#if HOST1X_HW >= 6`` in ``channel_hw.c``, which ``host1x01.c`` ...
        ``host1x08.c`` include after ``#define HOST1X_HW 1`` ... ``8``: ``value`` rows)."""
        for start, end, guard, needs, clause in self.unsure:
            if needs is not None and not needs.startswith(("CONFIG_", "_")):
                self.facts.hidden.append((needs, "undecided", self._branch_span(start, end)))
            elif guard is None and needs is None and compares_a_value(clause):
                self.facts.hidden.append((clause, "if", self._branch_span(start, end)))
            elif guard is not None and not guard.startswith("CONFIG_"):
                # ``unless``: kept on an undecided ``#ifndef NAME`` (or the ``#else`` of an
                # ``#ifdef NAME`` taken as undefined): a file that defines NAME before it
                # includes this one never reads it (``au8820.c``, ``#define CHIP_AU8820``, of
                # ``au88x0_core.c``'s ``#ifndef CHIP_AU8820`` branches). Not when the branch
                # defines NAME itself: an include guard, or ``#ifndef MAX`` / ``#define MAX``
                if not any(start <= m.span.start_byte < end
                           for m in self._macros_by_name().get(guard, ())):
                    self.facts.hidden.append((guard, "unless", self._branch_span(start, end)))

    def _values(self) -> None:
        """Hidden rows of kind ``value`` (``NAME=number``, at the ``#define``) of the file's
        object-like macros with a number for body above its last ``#include`` of a ``.c``
        file: what the included file's ``if`` rows read (``host1x06.c``: ``#define HOST1X_HW
        6`` above ``#include "channel_hw.c"``). Files that include no ``.c`` file have none."""
        last = max((i.span.start_byte for i in self.facts.includes
                    if not i.angled and i.target.endswith(".c")), default=None)
        if last is None:
            return
        for m in self.facts.macros:
            if m.params is None and m.span.start_byte < last and (
                    (number := int_literal(m.body)) is not None):
                self.facts.hidden.append((f"{m.name}={number}", "value", m.span))

    def _template(self, defs) -> None:
        """A hidden row of kind ``template`` when this file names a function or a struct it
        defines with a macro of its own whose expansion waits for a name the file does not
        define: a header its includers read once per ``#define`` of that name
        (``btree-type.h``: ``BTREE_FN(lookup)`` pastes ``BTREE_TYPE_SUFFIX``, which btree.h
        defines as l, 32, 64 and 128 around four includes; ipset's ``ip_set_hash_gen.h``:
        ``struct htype`` with ``#define htype MTYPE``). What it defines is then known only
        as each includer reads it (``Symbols.templates``, ``inputs.unknown_header_seen``)."""
        own = {name: found[0] for name, found in self._macros_by_name().items()}
        if not own:
            return
        # (a function's name: an object-like macro, or a function-like one invoked there,
        # ``BTREE_FN(lookup)(...)``; a tag: an object-like one, since a function-like macro
        # is not expanded without its parentheses, ``struct nvif_sclass {``)
        named = [function_declarator(node.child_by_field_name("declarator"))
                 for node in defs.get("func.def", [])]
        names = [(f.child_by_field_name("declarator"), f.parent is not None and (
            f.parent.type == "function_declarator")) for f in named if f is not None]
        names += [(n, False) for n in (node.child_by_field_name("name")
                                       for node in defs.get("record.def", [])) if n is not None]
        for ident, invoked in names:
            m = own.get(text(ident))
            if m is not None and (m.params is not None) == invoked and (
                    m.span.start_byte < ident.start_byte) and _waits_for_a_name(m.name, own):
                self.facts.hidden.append((m.name, "template", span(ident)))
                return  # one is enough: the file is a template

    def _macros_by_name(self) -> dict[str, list[Macro]]:
        """The file's ``#define``s by name, in file order (read once, when first asked)."""
        if self.macros_by_name is None:
            self.macros_by_name = {}
            for m in self.facts.macros:
                self.macros_by_name.setdefault(m.name, []).append(m)
        return self.macros_by_name

    def _branch_span(self, start: int, end: int) -> Span:
        line, col = self.lines.point(start)
        eline, ecol = self.lines.point(end)
        return Span(start, end, line, col, eline, ecol)

    def _var_uses(self) -> None:
        bodies = self.funcs.items()
        self.facts.var_uses = free_identifiers(self.src, bodies, self.locals, self.lines)


def extract(path: str, source: bytes, tree=None, env=None) -> FileFacts:
    """Facts of the C file ``path`` (POSIX, root-relative) whose bytes are ``source``, under the
    configuration ``env`` (``macroenv.Configuration``; None keeps every ``#if`` branch).

    ``tree``: an up-to-date parse of the same text (e.g. an editor ``Buffer``'s), if any.
    """
    return Extractor(path, source, tree=tree, env=env).run()


_WORD = re.compile(r"[A-Za-z_]\w*")
_PARAMETER_NAME = re.compile(r"[A-Z][A-Z0-9_]*[A-Z][A-Z0-9_]*")  # upper case, 2 letters or more


def _waits_for_a_name(name: str, own: dict, depth: int = 0) -> bool:
    """Whether the macro ``name`` of a file whose macros are ``own`` expands, through them, to
    an upper-case name the file does not define (``MTYPE``, ``BTREE_TYPE_SUFFIX``, or another
    file's pasting macro, ``IPSET_TOKEN``): a parameter its includers give it."""
    m = own.get(name)
    if m is None or depth > 4:
        return False
    for word in _WORD.findall(m.body):
        if m.params and word in m.params or word in _KEYWORDS or word == "__VA_ARGS__":
            continue
        if word in own:
            if word != name and _waits_for_a_name(word, own, depth + 1):
                return True
        elif _PARAMETER_NAME.fullmatch(word):
            return True
    return False


def _misread_argument(name, invoked: dict[str, int], decl) -> bool:
    """Whether the type name ``name`` stands as a parameter type where C has no parameters:
    a macro's argument the grammar read as a declaration. A parameter list after the name of a
    function-like macro the file defines above it (``invoked``: name -> where) is an
    invocation's arguments (``void DR_STE_CTX_BUILDER(eth_l2_src_dst);``); so are the
    parameters of shapes no C declaration has:

    * ``static int FNAME(walk_addr)(struct x *p)``: a function declarator whose declarator is
      another one (C has no function returning a function), a macro that makes the name; also
      an array's (no function returns an array: ``const char TYPE_NAME(symbol)[] = ...``,
      ``BUILD_BUG_ON(offsetofend(struct s, a[1]) != ...)``), and an initializer's (no function
      has one: ``{ IPP_SIZE_LIMIT(AREA, .h = { 16, 4224, 2 }) },`` in an array's initializer,
      where the grammar's recovery declared ``IPP_SIZE_LIMIT(AREA, h) = { 16, 4224, 2 }``);
      so is ``void (fn)(struct x *)``, a parameter's name in parentheses, which the grammar
      reads as a function type taking the type ``fn`` and returning a function;
    * ``BUILD_BUG_ON(offsetof(struct s, member) != 8);``: the declaration ``T (f(params))``,
      a parenthesized function declarator after a typedef-like name, a call of a call;
    * ``kfree(container_of(p, struct s, member));``: a macro type specifier ``f(g(params))``
      standing as a statement of its own, declaring nothing;
    * ``jme_poll(JME_NAPI_HOLDER(holder), ...)``: a parameter ``MACRO(args)``, an upper-case
      macro making it (``_macro_parameter``);
    * ``sizeof(typeof_member(struct s, m))``, ``(container_of(p, struct s, m))->x``: the type
      ``f(params)`` in a sizeof, a cast or a compound literal (C has none of a function type);
    * a block-scope declaration of a function with a syntax error in it: an expression the
      grammar could not read (``init_bufq(offsetof(struct s, a[i]),`` on one line and
      ``offsetof(struct s, b[i]),`` on the next).

    Struct, union and enum names there are real (``container_of`` needs ``struct s``); a name
    alone is the member or an expression, not a type. ``decl``: the parent of ``name``."""
    if decl is None or decl.type != "parameter_declaration" or (
            decl.child_by_field_name("type") != name):
        return False
    while True:  # through nested lists: ``f(g(container_of(p, struct s, member)));``
        params = decl.parent
        function = params.parent if params is not None else None
        holder = function.parent if function is not None else None
        if holder is None:
            return False
        if function.type == "abstract_function_declarator":  # ``f(g(a, b));``: ``f(type)``
            if cnodes.parenthesized_name(holder) == name:
                return True  # ``void (fn)(struct x *)``: a parameter's name in parentheses
            if holder.type == "parameter_declaration" and _macro_parameter(holder, function):
                return True  # ``f(MCDI_DECLARE_STRUCT_PTR(match_crit), ...)``
            if holder.type == "parameter_declaration":
                decl = holder
                continue
            spec = holder.parent if holder.type == "type_descriptor" else None
            if spec is not None and spec.type in _NO_FUNCTION_TYPE and (
                    holder.child_by_field_name("declarator") == function) and (
                    function.child_by_field_name("declarator") is None):
                return True  # ``sizeof(typeof_member(struct s, m))``: no sizeof of a function
            return spec is not None and spec.type == "macro_type_specifier" and (
                spec.parent is not None and spec.parent.child_by_field_name("type") != spec)
        if function.type != "function_declarator":
            return False
        callee = function.child_by_field_name("declarator") if invoked else None
        if callee is not None and callee.type in ("identifier", "field_identifier") and (
                invoked.get(text(callee), name.start_byte) < name.start_byte):
            return True
        if holder.type == "parameter_declaration":  # a parameter of function type
            decl = holder
            continue
        if holder.type in ("function_declarator", "array_declarator", "init_declarator"):
            return holder.child_by_field_name("declarator") == function
        if holder.type == "declaration" and holder.has_error and _in_body(holder):
            return True  # ``init_bufq(offsetof(struct s, a[i]),`` / ``offsetof(struct s, b[i]),``
        if holder.type != "parenthesized_declarator" or holder.parent is None:
            return False
        outer = holder.parent
        spec = outer.child_by_field_name("type")
        return outer.type == "declaration" and spec is not None and (
            spec.type == "type_identifier" and outer.child_by_field_name("declarator") == holder)


def _macro_parameter(decl, function) -> bool:
    """Whether the parameter ``decl``, whose declarator is the abstract function declarator
    ``function``, is an upper-case macro's use making a parameter (``static int
    jme_poll(JME_NAPI_HOLDER(holder), JME_NAPI_WEIGHT(budget))``): the grammar read an unnamed
    parameter of function type, whose return type is the macro's name."""
    spec = decl.child_by_field_name("type")
    return decl.child_by_field_name("declarator") == function and (
        function.child_by_field_name("declarator") is None) and spec is not None and (
        spec.type == "type_identifier" and MACRO_NAME.match(text(spec)) is not None)


# where a type ``f(params)`` (a function type) cannot stand in C: a macro's use was read as one
_NO_FUNCTION_TYPE = frozenset({"sizeof_expression", "alignof_expression", "cast_expression",
                               "compound_literal_expression"})


def _in_body(node) -> bool:
    """Whether ``node`` stands in a function's body."""
    while (node := node.parent) is not None:
        if node.type == "compound_statement":
            return True
    return False


# a member group that also defines a struct tag: ``struct_group_tagged(tag, name, ...)``
_TAGGED_GROUP = re.compile(rb"\b(?:struct_group_tagged|__struct_group)\s*\(\s*([A-Za-z_]\w*)\s*,")


def _parenthesized_typedef_name(d):
    """The name of ``typedef unsigned char (ak4114_read_t)(void *p, unsigned char a);``, which
    the grammar reads as the function ``char`` taking a parameter of type ``ak4114_read_t``
    (``unsigned`` alone standing as the type), or None."""
    inner = d.child_by_field_name("declarator") if d.type == "function_declarator" else None
    params = inner.child_by_field_name("parameters") if inner is not None and (
        inner.type == "function_declarator") else None
    if params is None or params.named_child_count != 1:
        return None
    only = params.named_children[0]
    name = only.child_by_field_name("type") if only.type == "parameter_declaration" else None
    if name is None or name.type != "type_identifier" or only.named_child_count != 1:
        return None
    return name


# what holds file-scope declarations: the file, and its conditional groups (an include guard)
_FILE_SCOPE = frozenset({"translation_unit", "preproc_ifdef", "preproc_if", "preproc_else",
                         "preproc_elif", "preproc_elifdef"})
# what stands before a declarator but is no type
_NOT_TYPE_NODES = frozenset({"storage_class_specifier", "type_qualifier", "attribute_specifier",
                             "ms_declspec_modifier", "comment"})
# what a statement's first expression may stand in: ``first, other`` and ``first = value``
_LEFT_OF = frozenset({"comma_expression", "assignment_expression"})


def _declaration_misread(call, outer):
    """The name that a block-scope declaration ``T (*name)[N]`` or ``T (*name)(params)``
    declares when the grammar read it as a call of ``T`` with the argument ``*name``, indexed
    or called (``u8 (*driving)[3], drive_sel;``, ``u8 (*reg)(u8) = kpad->var->reg;``); else
    None. The shape counts at the start of a statement of its own (alone, before a comma, or
    on the left of ``=``), where the expression would have no effect or assign to a call's
    result, and for a lower-case ``T`` (an upper-case one is a macro, which may give an
    lvalue). ``call``: the call of ``T``, ``outer``: its parent."""
    if outer is None or outer.type not in ("subscript_expression", "call_expression") or (
            outer.child(0) is None or outer.child(0).start_byte != call.start_byte):
        return None
    args = call.child_by_field_name("arguments")
    callee = call.child_by_field_name("function")
    if args is None or args.named_child_count != 1 or MACRO_NAME.match(text(callee)):
        return None
    name = args.named_children[0]
    if name.type != "pointer_expression":
        return None
    while name is not None and name.type == "pointer_expression":  # ``T (**name)[N]``
        name = name.child_by_field_name("argument")
    if name is None or name.type != "identifier":
        return None
    node = outer
    while (holder := node.parent) is not None and holder.child(0) is not None and (
            holder.child(0).start_byte == node.start_byte):
        if holder.type in ("subscript_expression", "call_expression"):
            node = holder  # ``T (*name)[N][M]``
        elif holder.type in _LEFT_OF and (holder.type != "assignment_expression" or (
                holder.child(1) is not None and holder.child(1).type == "=")):
            node = holder
        else:
            break
    return name if holder is not None and holder.type == "expression_statement" else None


_NOT_A_TYPE = frozenset({"else", "do", "return"})
# where a name the grammar calls a type stands in no declaration (a ``;`` it made up follows)
_NO_TYPE_HERE = frozenset({"compound_statement", "translation_unit"})


def _iterator_misread(node) -> bool:
    """Whether a function definition is an iterator macro and a statement the grammar read as
    one (``for_each_possible_cpu(i)`` then ``sum += cpu_rq(i)->nr;`` in a body: the type
    ``for_each_possible_cpu(i)``, the declarator ``cpu_rq(i)``; ``else`` then
    ``for_each_set_bit(i, &mask, n)``): inside a body, with a macro's use or a keyword for its
    type. C has no definition in a body."""
    ttype = node.child_by_field_name("type")
    if ttype is None or not (ttype.type == "macro_type_specifier" or (
            ttype.type == "type_identifier" and text(ttype) in _NOT_A_TYPE)):
        return False
    return _in_body(node)


def _via(arg, as_type: bool) -> tuple[str, int, bool] | None:
    """``TypeUse.via`` of the argument node ``arg`` of a ``name(...)`` call."""
    place = _place(arg)
    return (place[0], place[1], as_type) if place is not None else None


def _place(arg, args=None) -> tuple[str, int, int] | None:
    """(callee, index, count) of ``arg`` among the arguments of a ``name(...)`` call, or None
    (``args``: the parent of ``arg``, when the caller has it). Comments are no arguments, nor
    is an error node (the grammar makes one of a ``struct`` keyword written as an argument:
    ``arg`` itself may be that node, counted with the next). Of a call, ``Call.via``: it is a
    whole argument of the enclosing call."""
    if args is None:
        args = arg.parent if arg is not None else None
    call = args.parent if args is not None and args.type == "argument_list" else None
    name = call.child_by_field_name("function") if call is not None else None
    if name is None or name.type != "identifier":
        return None
    index, found = 0, None
    for child in args.named_children:
        if child.id == arg.id:
            found = index
        if child.type not in ("comment", "ERROR"):
            index += 1
    return (text(name), found, index) if found is not None else None


def _points(d) -> bool:
    """Whether the abstract declarator ``d`` (of a type name) makes a pointer somewhere."""
    for _ in range(16):
        if d is None:
            return False
        if d.type in ("abstract_pointer_declarator", "abstract_function_declarator"):
            return True
        d = d.child_by_field_name("declarator")
    return False


def _need(spec, holder) -> int:
    """What a struct/union/enum tag use needs of its type, by where the specifier stands
    (``holder``: its parent)."""
    if holder is None:
        return NEED_NOTHING
    outer = holder.parent if holder.type == "type_descriptor" else None
    if outer is not None and outer.type == "offsetof_expression":
        return NEED_MEMBERS  # offsetof(struct foo, member)
    if holder.type == "parameter_declaration":  # by value, in a definition: "has incomplete type"
        d = holder.child_by_field_name("declarator")
        return NEED_SIZE if d is not None and indirection(d) == 0 and in_definition(holder) else (
            NEED_NOTHING)
    if outer is not None and outer.type == "sizeof_expression":
        # ``sizeof(struct clk *)``, ``sizeof(struct s *[4])``: a pointer's size needs nothing
        return NEED_NOTHING if _points(holder.child_by_field_name("declarator")) else (
            NEED_SIZEOF)
    if holder.type in ("declaration", "field_declaration"):
        if holder.type == "declaration" and cnodes.storage(holder)[0] == EXTERN:
            # extern struct foo x; is legal with foo incomplete, extern struct foo v[]; is not
            # (GCC: "array type has incomplete element type")
            return NEED_SIZE if any(cnodes.declares_array(d) for d in holder.children_by_field_name(
                "declarator")) else NEED_NOTHING
        if any(cnodes.declares_object(d) for d in holder.children_by_field_name("declarator")):
            return NEED_SIZE
    return NEED_NOTHING
