"""Facts extracted from one C file: the plain records the model stores and the checks read.

Every record is position-anchored by a ``Span``: 0-based lines, 0-based *byte* columns and byte
offsets into the file's original bytes (macro blanking never shifts them). Type references are
reduced to (name, kind): ``T *`` and ``T[]`` are ``T`` (docs/model.md).

The records are named tuples: immutable like a frozen dataclass, and made in a third of its
time (a frozen dataclass sets each field through ``object.__setattr__``), which a cold index of
Linux does some 30 million times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

# kinds of type reference / type declaration
BASE, STRUCT, UNION, ENUM, TYPEDEF = "base", "struct", "union", "enum", "typedef"
# storage of functions and variables
STATIC, EXTERN, GLOBAL = "static", "extern", "global"


class Span(NamedTuple):
    start_byte: int
    end_byte: int
    line: int
    col: int
    end_line: int
    end_col: int


class TypeRef(NamedTuple):
    """A type as used: ``name`` with its ``kind`` (base/struct/union/enum/typedef)."""

    name: str
    kind: str


class Param(NamedTuple):
    name: str | None
    type: TypeRef | None  # None for ``...`` or when the type could not be read


class Include(NamedTuple):
    target: str  # as written, without <> or ""
    angled: bool
    span: Span
    # NAME when the innermost branch holding the line is an ``#ifndef NAME`` the configuration
    # does not decide (``conditions.branch_ranges``): a fallback for builds that lack NAME
    guard: str | None = None


class Macro(NamedTuple):
    name: str
    params: tuple[str, ...] | None  # None: object-like macro
    body: str
    span: Span


class Function(NamedTuple):
    """A function definition (``is_definition``) or prototype."""

    name: str
    is_definition: bool
    storage: str  # STATIC / EXTERN / GLOBAL
    inline: bool
    ret: TypeRef | None
    params: tuple[Param, ...]
    signature: str  # the declaration text without body, whitespace-normalised
    span: Span  # the whole definition/declaration
    name_span: Span
    parent: str | None = None  # enclosing function for a block-scope prototype
    generated_by: str | None = None  # macro that generated it (SYSCALL_DEFINE3, PAGEFLAG, ...)


class Member(NamedTuple):
    name: str
    type: TypeRef | None  # None for enumerators
    is_function: bool = False  # function-pointer member = member function (FuncStruct)


class TypeDecl(NamedTuple):
    """A struct/union/enum (``is_definition`` when it has a body) or a typedef (always a definition)."""

    name: str
    kind: str  # STRUCT / UNION / ENUM / TYPEDEF
    is_definition: bool
    members: tuple[Member, ...]
    span: Span
    name_span: Span
    underlying: TypeRef | None = None  # typedefs only
    generated_by: str | None = None


class Variable(NamedTuple):
    name: str
    storage: str  # STATIC / EXTERN / GLOBAL (file scope only)
    is_definition: bool
    type: TypeRef | None
    span: Span
    name_span: Span
    generated_by: str | None = None


class Call(NamedTuple):
    """A call site. ``kind``: "direct" (callee is an identifier that is not a local/parameter),
    or "member" (``x->op(...)``/``x.op(...)``; ``callee`` is the field name)."""

    callee: str
    caller: str | None  # enclosing function, None at file scope
    kind: str
    span: Span  # of the callee name
    # (macro, argument index, argument count) when the call is a whole argument of a call of
    # ``macro`` (``er32(TXDCTL(0))``): a macro that pastes the argument (``E1000_##reg``) makes
    # another name of it, and the call is no call (``checks/pasting.py``)
    via: tuple[str, int, int] | None = None


class TypeUse(NamedTuple):
    """A use of a struct/union/enum/typedef name (not its definition)."""

    name: str
    kind: str
    span: Span
    function: str | None  # enclosing function, None at file scope
    owner: str | None = None  # the function/struct/typedef whose *signature/members* hold it
    need: int = 0  # what the use needs visible: NEED_* below (0: a declaration may be absent)
    # later lines of the same (name, kind, function, owner, need) in this scope, as (line, col):
    # one use per scope is stored and checked, and a finding on it names every line (a compiler
    # reports each); empty at file scope outside any declaration owner (includes may intervene)
    more: tuple[tuple[int, int], ...] = ()
    # (macro, argument index, the argument is the type itself) when the use is an argument of
    # a macro invocation (a pointer to the struct, or ``struct foo`` written as the argument):
    # it needs the type only if that macro's body does (``parse/macroargs.py``)
    via: tuple[str, int, bool] | None = None
    # the return type of ``typedef R (*T)(...)`` (owner T): where R is not a type name, the
    # compiler reads R as the declarator and drops the whole declaration, so T is not declared
    # either (its later uses: "unknown type name 'T'")
    drops_owner: bool = False


# How much of a type a use needs (TypeUse.need): a pointer to an undeclared struct is legal.
NEED_NOTHING, NEED_NAME, NEED_SIZE, NEED_SIZEOF, NEED_MEMBERS = 0, 1, 2, 3, 4


class VarUse(NamedTuple):
    """First use, per function, of an identifier that is not local there (a free identifier)."""

    name: str
    function: str
    span: Span


class Invocation(NamedTuple):
    """A file-scope use of a function-like macro that this file could not expand itself, or of
    an object-like one alone on its line (``args`` None: ``MBOX_MESSAGES``, an X-macro list)."""

    name: str
    args: tuple[str, ...] | None
    span: Span
    has_body: bool = False


@dataclass(slots=True)
class FileFacts:
    """Everything extracted from one file."""

    path: str  # POSIX, relative to the root
    includes: list[Include] = field(default_factory=list)
    macros: list[Macro] = field(default_factory=list)
    functions: list[Function] = field(default_factory=list)
    types: list[TypeDecl] = field(default_factory=list)
    variables: list[Variable] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    type_uses: list[TypeUse] = field(default_factory=list)
    var_uses: list[VarUse] = field(default_factory=list)
    exports: list[tuple[str, Span]] = field(default_factory=list)  # EXPORT_SYMBOL*(name)
    invocations: list[Invocation] = field(default_factory=list)  # file-scope macro uses
    type_use_total: int = 0  # type-name uses before de-duplication (type_uses keeps one per scope)
    # byte ranges of the #if branches the configuration drops (``parse/conditions.py``)
    inactive: list[tuple[int, int]] = field(default_factory=list)
    # (name, kind, span) of what those branches define (``parse/hidden.py``)
    hidden: list[tuple[str, str, Span]] = field(default_factory=list)
    error_nodes: int = 0  # ERROR nodes left after macro handling
    problem: str | None = None  # why the file could not be (fully) read, if it could not
