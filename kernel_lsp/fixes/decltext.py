"""The text of the declarations fixes insert: prototypes, ``extern`` variables, tags and stubs.

A prototype is the definition's signature (whitespace-normalised in the model) without the
storage class, ``inline`` and the annotations that only belong on a definition (``__init``,
``__weak``, ...), ending with ``;``. Every built declaration is parsed back and rejected unless it
declares exactly the wanted name, so a macro-generated definition never yields a broken line.
"""

from __future__ import annotations

import re

from kernel_lsp.fixes import syntax
from kernel_lsp.fixes.text import SourceText, decode, encode
from kernel_lsp.parse.cnodes import declarator_name

# Words that belong on a definition only: storage class, inlining, section placement, weakness.
DEFINITION_ONLY = frozenset("""
static extern inline __inline __inline__ __always_inline noinline __noinline __weak __init __exit
__initdata __exitdata __initconst __exitcall __meminit __meminitdata __meminitconst __ref __refdata
__refconst __devinit __devexit __devinitdata __cpuinit __cpuinitdata __init_or_module __net_init
__net_exit __initdata_or_module __init_memblock __initdata_memblock __read_mostly __ro_after_init
__used __maybe_unused __always_unused __visible __head __cold __hot __latent_entropy
__no_randomize_layout __page_aligned_data __page_aligned_bss __nosavedata __lsm_ro_after_init
""".split())
_PAREN_DEFINITION_ONLY = ("__section", "__attribute_used__")
# GCC attributes that only concern a definition; an ``__attribute__((...))`` made of them goes.
_DEFINITION_ATTRIBUTES = frozenset({"unused", "used", "section", "noinline", "always_inline",
                                    "cold", "hot", "weak", "externally_visible", "optimize",
                                    "no_instrument_function", "noclone", "aligned"})
_WORD = re.compile(r"[A-Za-z_]\w*")


def strip_definition_words(text: str) -> str:
    """``text`` without the definition-only words (and ``__section(...)``), whitespace-normalised."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        m = _WORD.match(text, i)
        if m is None:
            out.append(text[i])
            i += 1
            continue
        word, i = m.group(0), m.end()
        if word in _PAREN_DEFINITION_ONLY:
            i = _skip_parens(text, i)
            out.append(" ")
        elif word in ("__attribute__", "__attribute") and _definition_attribute(
                text[i:_skip_parens(text, i)]):
            i = _skip_parens(text, i)
            out.append(" ")
        elif word in DEFINITION_ONLY:
            out.append(" ")
        else:
            out.append(word)
    return " ".join("".join(out).split())


def _definition_attribute(group: str) -> bool:
    """Whether ``((a, b(x)))`` lists only attributes that concern a definition."""
    inner = group.strip()[2:-2] if group.strip().startswith("((") else ""
    depth, names, current = 0, [], ""
    for ch in inner + ",":
        if ch == "," and depth == 0:
            names.append(current.strip().split("(")[0].strip().strip("_"))
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(ch, 0)
        current += ch
    return bool(inner) and all(n in _DEFINITION_ATTRIBUTES for n in names)


def _skip_parens(text: str, i: int) -> int:
    j = i
    while j < len(text) and text[j].isspace():
        j += 1
    if j >= len(text) or text[j] != "(":
        return i
    depth = 0
    for k in range(j, len(text)):
        depth += {"(": 1, ")": -1}.get(text[k], 0)
        if depth == 0:
            return k + 1
    return len(text)


def _declares(text: str, name: str, function: bool) -> bool:
    """Whether ``text`` parses as exactly one clean file-scope declaration of ``name``."""
    tree = syntax.tree_of(encode(text))
    root = tree.root_node
    nodes = list(syntax.file_scope_nodes(root))
    if root.has_error or len(nodes) != 1 or nodes[0].type != "declaration":
        return False
    return bool(syntax.declarations_of(root, name, function))


def prototype(signature: str, name: str) -> str | None:
    """A prototype for ``name`` from its definition's signature; None when none can be built."""
    text = strip_definition_words(signature.strip().rstrip(";").strip())
    if not text or "{" in text:
        return None
    text += ";"
    return text if _declares(text, name, True) else None


def extern_variable(source: str, line: int, col: int, name: str) -> str | None:
    """``extern <type> <declarator>;`` for the variable ``name`` defined at (line, col) of
    ``source`` (its name's position): the initializer and other declarators are dropped, and the
    size of a one-dimensional array is left out. None when the definition cannot be read."""
    src = SourceText(source)
    start = src.offset(line, col)
    if start is None:
        return None
    root = syntax.tree_of(src.data).root_node
    node = syntax.top_level_at(root, start)
    while node is not None and node.type == "comment":
        node = node.next_sibling
    if node is None or node.type != "declaration":
        return None
    target = next((d for d in node.children_by_field_name("declarator")
                   if d.start_byte <= start < d.end_byte), None)
    if target is None:
        return None
    if target.type == "init_declarator":
        target = target.child_by_field_name("declarator")
    # Not rebuilt: a variable a macro defines (``DEFINE_SPINLOCK(lock)``), a function pointer.
    ident = declarator_name(target)
    ttype = node.child_by_field_name("type")
    if ident is None or ident.text != name.encode() or ttype is None \
            or ttype.type == "macro_type_specifier" \
            or b"(" in src.data[target.start_byte:ident.start_byte]:
        return None
    first = node.children_by_field_name("declarator")[0]
    specifiers = decode(src.data[node.start_byte:first.start_byte])
    declarator = _declarator_text(src.data, target)
    text = f"extern {strip_definition_words(specifiers)} {declarator};"
    text = " ".join(text.split()).replace(" ;", ";")
    return text if _declares(text, name, False) else None


def _declarator_text(data: bytes, declarator) -> str:
    arrays = [n for n in _walk(declarator) if n.type == "array_declarator"]
    text = decode(data[declarator.start_byte:declarator.end_byte])
    if len(arrays) == 1:
        size = arrays[0].child_by_field_name("size")
        if size is not None:
            a, b = size.start_byte - declarator.start_byte, size.end_byte - declarator.start_byte
            raw = data[declarator.start_byte:declarator.end_byte]
            text = decode(raw[:a] + raw[b:])
    return " ".join(text.split())


def _walk(node):
    yield node
    for c in node.children:
        yield from _walk(c)


def forward_declaration(kind: str, name: str) -> str:
    return f"{kind} {name};"


def stub_definition(kind: str, name: str, newline: str = "\n") -> str:
    """A stub definition that makes the type exist (an enum needs one enumerator)."""
    if kind == "enum":
        return f"enum {name} {{{newline}\t{name.upper()}_TODO,{newline}}};"
    return f"{kind} {name} {{{newline}\t/* TODO */{newline}}};"
