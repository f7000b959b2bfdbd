"""Blank what tree-sitter-c cannot parse around kernel declarations, with spaces.

Two kinds: annotation macros (``__init``, ``__user``, ``__attribute__((...))``), and *bare*
file-scope macro invocations, lines such as ``BTF_ID(func, x)`` with no ``;`` after them, which
the grammar glues onto the next declaration. Byte offsets never move: every replaced byte
becomes a space (newlines are kept), so spans found in the blanked text are spans of the
original. (The extractor reads invocations from the original text, not from this one.)
"""

from __future__ import annotations

import re
from itertools import pairwise

from kernel_lsp.parse.lines import blank, newline_first
from kernel_lsp.parse.macroenv import DECIDED_NAMES
from kernel_lsp.parse.macros import is_member_run

# Identifiers that only annotate a declaration (section, address-space, checker, optimisation
# hints). Kernel headers define them to attributes or nothing; for design extraction they are
# noise that makes tree-sitter-c split declarations.
PLAIN_ANNOTATIONS = """
__init __exit __initdata __exitdata __initconst __exitcall __initcall __init_or_module
__initdata_or_module __meminit __meminitdata __meminitconst __init_memblock __initdata_memblock
__ref __refdata __refconst __net_init __net_exit __net_initdata __user __kernel __iomem __rcu
__percpu __force __bitwise __bitwise__ __safe __nocast __must_check __cold __hot __pure __weak
__used __maybe_unused __always_unused __read_mostly __ro_after_init __cacheline_aligned
__cacheline_aligned_in_smp ____cacheline_aligned ____cacheline_aligned_in_smp
____cacheline_internodealigned_in_smp __cacheline_internodealigned_in_smp __lockfunc __sched
__kprobes notrace __visible __noreturn __packed __naked __nocfi noinstr __noinstr_section
__flatten __deprecated __latent_entropy __randomize_layout __no_randomize_layout
__nostackprotector __irq_entry __softirq_entry __cpuidle __malloc __nonstring __attribute_const__
__gnu_inline __no_sanitize_address __no_kcsan __no_kasan __no_sanitize_undefined
__no_sanitize_thread __no_stack_protector __noinline_for_stack noinline_for_stack asmlinkage
__asmlinkage __extension__ __bpf_kfunc __weak_alias __init_refok __devinit __devexit
__devinitdata __cpuinit __cpuinitdata __ftrace_invalid_address___ __fix_address __noclone
__page_aligned_data __page_aligned_bss __initdata_rodata __mod_init __lsm_ro_after_init
__tracepoint_string __always_used __no_profile __no_kmsan_checks __nocfi_generic __aligned_largest
__refconst __head __cpuidle_data __kmap_atomic_ptr __private __data_racy __landing_pad
noinline __noinline __inline_maybe_unused __nosavedata __nosave __ksym __kconfig __weakref
__sparse_force __overloadable
ACPI_SYSTEM_XFACE ACPI_INIT_FUNCTION ACPI_EXTERNAL_XFACE ACPI_INTERNAL_XFACE ACPI_INTERNAL_VAR_XFACE
INDIRECT_CALLABLE_SCOPE
""".split()

# Replaced by a keyword of the same meaning, padded to the same length.
KEYWORD_ALIASES = {
    "__always_inline": "inline",
    "__inline__": "inline",
    "__inline": "inline",
    "__signed__": "signed",
    "__volatile__": "volatile",
    "__const__": "const",
    "__restrict__": "",
    "__restrict": "",
}

# Annotations that take a parenthesised argument list: blanked with the list.
PAREN_ANNOTATIONS = """
__attribute__ __attribute __printf __scanf __section __aligned __acquires __releases __must_hold
__alloc_size __counted_by __counted_by_le __counted_by_be __counted_by_ptr __alias __cond_acquires
__cond_releases __diag_ignore_all
__assume_aligned __designated_init __nonnull __copy __realloc_size __sized_by __guarded_by
__pt_guarded_by __no_sanitize_or_inline __ALIGN_KERNEL_MASK_UNUSED ____cacheline_aligned_size
__free __cleanup __compiletime_error __compiletime_warning __diagnose_as __pass_object_size __RENAME
__pass_dynamic_object_size __mode
""".split()

_REPLACEMENTS: dict[bytes, bytes] = {w.encode(): b" " * len(w) for w in PLAIN_ANNOTATIONS}
_REPLACEMENTS.update({k.encode(): v.encode().ljust(len(k)) for k, v in KEYWORD_ALIASES.items()})
# One cheap pattern finds every candidate word; the table decides (a long alternation of
# literal words is several times slower in Python's re). Each alternative starts with a literal
# byte and checks the word boundary before it by a lookbehind past that byte: the engine then
# tries only offsets holding one of those bytes, not every offset.
_CANDIDATE_RE = re.compile(
    rb"(?:_(?<!\w_)_{1,3}[a-z]\w*|n(?<!\wn)o(?:inline\w*|trace|instr)|a(?<!\wa)smlinkage|A(?<!\wA)CPI_[A-Z_]+|I(?<!\wI)NDIRECT_CALLABLE_SCOPE)\b")
assert all(w.startswith("__") for w in PAREN_ANNOTATIONS)
_PAREN_RE = re.compile(  # from the literal ``__`` (found by a substring search), then the word
    rb"__(?<!\w__)(?:" + b"|".join(re.escape(w[2:].encode())
                                    for w in sorted(set(PAREN_ANNOTATIONS))) + rb")\s*\("
)


_DIRECTIVE_NAME = re.compile(rb"^[ \t]*#[ \t]*(?:define|undef|ifdef|ifndef)[ \t]+$", re.M)


def _replace(m: re.Match) -> bytes:
    word = m.group(0)
    repl = _REPLACEMENTS.get(word)
    if repl is None:
        return word
    src = m.string
    line_start = src.rfind(b"\n", 0, m.start()) + 1
    if _DIRECTIVE_NAME.match(src, line_start, m.start()):
        return word  # ``#define __init ...``: the macro's own name stays
    return repl


def close_paren(src: bytes | bytearray, open_idx: int, limit: int | None = None) -> int:
    """Index of the ``)`` closing the ``(`` at ``open_idx``, skipping string and character
    literals; -1 when it is not closed (within ``limit`` bytes, if given)."""
    depth, i = 0, open_idx
    n = len(src) if limit is None else min(len(src), open_idx + limit)
    while i < n:
        c = src[i]
        if c == 0x28:  # (
            depth += 1
        elif c == 0x29:  # )
            depth -= 1
            if depth == 0:
                return i
        elif c == 0x22 or c == 0x27:  # " '
            j = i + 1
            while j < n and src[j] != c and src[j] != 0x0A:
                j += 2 if src[j] == 0x5C else 1
            i = j
        i += 1
    return -1


def blank_annotations(src: bytes) -> bytes:
    """Return ``src`` with annotation macros replaced by same-length whitespace."""
    out = _CANDIDATE_RE.sub(_replace, src)
    if _PAREN_RE.search(out) is None:
        return out
    buf = bytearray(out)
    pos = 0
    while (m := _PAREN_RE.search(buf, pos)) is not None:
        close = close_paren(buf, m.end() - 1, 4096)
        end = close + 1 if close >= 0 else m.end()
        buf[m.start():end] = blank(buf[m.start():end])
        pos = end
    return bytes(buf)


# (These two from the newline before the line: ``lines.newline_first``.)
_BARE_START = re.compile(rb"\n([ \t]*)(?:static[ \t]+)?([A-Za-z_]\w*)[ \t]*\(")
_LOCAL_FUNCTION_MACRO = re.compile(rb"\n[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)\(")
_MACRO_CASE = re.compile(rb"^[A-Z_][A-Z0-9_]*$")
_AFTER_BARE = re.compile(rb"[ \t]*(?://[^\n]*)?\n(?:[ \t]*(?:/\*.*?\*/|//[^\n]*)?[ \t]*\n)*[ \t]*",
                         re.S)


def blank_bare_invocations(src: bytes) -> bytes:
    """Blank ``NAME(args)`` lines at column 0 that end without ``;``, ``{`` or ``,`` (a macro
    used as a statement of its own at file scope; ``static DEF_SCSI_QCMD(name)``, ``static``
    included), and the indented ones that continue such a line; the call of a
    definition-generating macro (``SYSCALL_DEFINE3(...)`` then ``{``) stays.
    A lower-case name counts only when the file defined it as a function-like macro above
    (``build_mmio_read(readb, ...)`` in ``asm/io.h``)."""
    buf = None
    last_end = -2
    text = newline_first(src)
    local = {m.group(1): m.start() for m in _LOCAL_FUNCTION_MACRO.finditer(text)}
    for m in _BARE_START.finditer(text):
        name, line = m.group(2), m.start()  # the line's offset in ``src``
        if not _MACRO_CASE.match(name) and local.get(name, len(src)) >= line:
            continue
        if line >= 2 and src[line - 2] == 0x5C:
            continue  # a continuation line of a #define
        if m.group(1) and (last_end < 0 or src[last_end + 1:line].strip()):
            continue  # indented, and not right after a bare invocation
        start = line + len(m.group(1))
        close = close_paren(src, m.end() - 2, 8192)
        if close < 0:
            continue
        after = _AFTER_BARE.match(src, close + 1)
        if after is None or after.end() > len(src):
            continue
        nxt = src[after.end():after.end() + 1]
        if nxt in (b"{", b";", b",", b"=", b")", b"(", b"[") or src[close + 1:close + 2] in (
                b";", b","):
            continue
        if buf is None:
            buf = bytearray(src)
        buf[start:close + 1] = blank(src[start:close + 1])
        last_end = close
    return bytes(buf) if buf is not None else src


# What brace depth sees: comments, string and character literals and whole directive lines (with
# their continuations) are skipped as one token each, so braces inside them do not count; an
# upper-case ``NAME(`` at the start of a line (after ``static``/``const`` at file scope) may be a
# bare invocation.
_DEPTH_TOKEN = re.compile(  # (line-start ones from the newline before: ``lines.newline_first``)
    rb"/\*.*?\*/|//[^\n]*|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'|\{|\}"
    rb"|\n(?:([ \t]*+#[ \t]*(\w*)(?:[^\n]*\\\n)*[^\n]*)"
    rb"|(([ \t]*+(?:(?:static|const)[ \t]+)*)([A-Z_][A-Z0-9_]*)[ \t]*\()"
    rb"|([ \t]*+([A-Z_][A-Z0-9_]*)\b(?![ \t]*\()))", re.S)


def _depth_tokens(src: bytes):
    """``_DEPTH_TOKEN``'s tokens of ``src`` as (start, end, directive word, ``NAME(``'s prefix,
    its name, the name's start, bare ``NAME``, its start), offsets in ``src``; comments and
    literals, which only hide what they hold, are not yielded."""
    for m in _DEPTH_TOKEN.finditer(newline_first(src)):
        if m.group(1) is not None:
            yield (m.start(), m.end() - 1, m.group(2), None, None, -1, None, -1)
        elif m.group(3) is not None:
            yield (m.start(), m.end() - 1, None, m.group(4), m.group(5), m.start(5) - 1, None, -1)
        elif m.group(6) is not None:
            yield (m.start(), m.end() - 1, None, None, None, -1, m.group(7), m.start(7) - 1)
        elif m.end() - m.start() == 1:  # a brace
            yield (m.start() - 1, m.end() - 1, None, None, None, -1, None, -1)


# A ``#define NAME body`` or ``#define NAME(params) body`` (continuation lines included).
_MEMBER_DEFINE = re.compile(rb"^[ \t]*#[ \t]*define[ \t]+(\w+)(\([^)\n]*\))?(?![\w(])"
                            rb"((?:[^\n]*\\\n)*[^\n]*)", re.M)
_NESTED_BLANKED = {b"define", b"undef", b"include", b"include_next", b"pragma", b"error",
                   b"warning", b"line"}
# Text before a ``{`` that opens a member, enumerator or initializer list (not code).
_WORDS_AND_SPACE = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ \t\n"
_RECORD_KEYWORD = re.compile(rb"\b(?:struct|union|enum)\b")
_LINE_REST = re.compile(rb"[ \t]*(?:/\*[^\n]*?\*/|//[^\n]*)?[ \t]*(?:\n|$)")
_NEXT_CHAR = re.compile(rb"[ \t\n]*(.)", re.S)
# What after an upper-case word that starts a member makes it a macro to blank: a tag's keyword
# (no type comes before one: a macro of qualifiers or attributes, ``_BEFORE_TAG``; ``RSS_HDR
# union opcode_tid ot;``), or nothing else on its line and a directive or the list's end next
# (a run of members another header defines: ``struct k_atm_aal_stats { #define __HANDLE_ITEM(i)
# atomic_t i / __AAL_STAT_ITEMS / #undef __HANDLE_ITEM };``, where the grammar ran the list on
# over the next hundred lines).
_NOT_A_MEMBER = re.compile(rb"[ \t]+(?:struct|union|enum)[ \t]+[A-Za-z_]"
                           rb"|[ \t]*(?:/\*[^\n]*?\*/[ \t]*|//[^\n]*)?\n(?:[ \t]*\n)*[ \t]*[#}]")
_SEMICOLON = re.compile(rb"[ \t]*;")
_TRAILING_COMMENT = re.compile(rb"(?:/\*(?:(?!\*/).)*\*/|//[^\n]*)[ \t\n]*$", re.S)
_CONTINUES = frozenset(b"|&+-*/?:^%<>=.)]")


def _own_line(src: bytes, start: int, close: int) -> bool:
    """Whether ``NAME(args)`` at ``start``..``close`` is an item of its own: the text before
    ends a member or item, and the next line does not continue an expression."""
    before = src[max(0, start - 200):start].rstrip()
    if before.endswith(b"*/"):
        before = before[:before.rfind(b"/*")].rstrip()
    if not before or before[-1:] not in (b"{", b",", b";", b")", b"}"):
        return False
    rest = _LINE_REST.match(src, close + 1)
    if rest is None:
        return False
    nxt = _NEXT_CHAR.match(src, rest.end())
    return nxt is None or nxt.group(1)[0] not in _CONTINUES


# A name whose value the configuration gives: an option, or a macro the compiler predefines
# (or leaves undefined) for the architecture (``#if !defined(__i386__) &&
# !defined(__x86_64__)`` in ``sis_main.c``).
_DECIDED_NAME = re.compile(rb"CONFIG_|\b(?:" + b"|".join(
    re.escape(n.encode()) for n in sorted(DECIDED_NAMES, key=len, reverse=True)) + rb")\b")


class _Group:
    """An ``#if`` group seen by ``blank_in_braces``: the brace depth at its ``#if``, its
    directive lines, and how many of its branches hold text."""

    def __init__(self, depth: int, branch_start: int, lines: list[tuple[int, int]],
                 configured: bool, file_scope: bool = False):
        self.depth, self.branch_start, self.lines, self.filled = depth, branch_start, lines, 0
        self.file_scope = file_scope  # opened outside every brace
        # whether its condition names a configuration option (``#ifdef CONFIG_PM``): one the
        # configuration decides, or that some configuration turns on; or a predefined macro
        self.configured = configured

    @property
    def decided(self) -> bool:
        """Whether, once at most one branch holds text (the caller's test), that text is the
        branch a build reads: the group has an ``#else``/``#elif`` whose other branches the
        configuration blanked (``#if 0`` / ``#else``), or its condition names a configuration
        option."""
        return self.configured or len(self.lines) > 2

    def branch(self, src: bytes, start: int, end: int) -> None:
        """The branch before the directive at ``start``..``end`` (an ``#elif``/``#else``/
        ``#endif``) ends there."""
        if src[self.branch_start:start].strip():
            self.filled += 1
        self.lines.append((start, _directive_end(src, start, end)))
        self.branch_start = end


def _directive_end(src: bytes, start: int, end: int) -> int:
    """End of the directive line at ``start``..``end``, or of the block comment that starts
    on it and goes on below (``#if 0 /* Why ...`` then ``* since ... */``)."""
    tok = src[start:end]
    if tok.rfind(b"/*") > tok.rfind(b"*/"):
        close = src.find(b"*/", end)
        return len(src) if close < 0 else close + 2
    return end


def _without_trailing_comments(text: bytes) -> bytes:
    """``text`` without the spaces and comments at its end."""
    text = text.rstrip()
    while (c := _TRAILING_COMMENT.search(text)) is not None and c.start() < len(text):
        text = text[:c.start()].rstrip()
    return text


def _file_scope_item(src: bytes, start: int, close: int) -> int:
    """End (after its ``;``) of ``[static] [const] NAME(args);`` at ``start``..``close`` when it
    stands at file scope as an item of its own (``static SOC_CLK(pll, "pll", 0x10, BIT(3));``):
    a macro that expands to a definition, which the grammar reads as a prototype and, with
    strings or expressions for parameters, as an ERROR swallowing the definitions below. The
    invocation scan reads it from the original text. 0 when it is something else."""
    semi = _SEMICOLON.match(src, close + 1)
    if semi is None:
        return 0
    before = _without_trailing_comments(src[max(0, start - 400):start])
    last_line = before[before.rfind(b"\n") + 1:].lstrip()
    if before and before[-1:] not in (b";", b"}", b")") and not last_line.startswith(b"#"):
        return 0  # the macro continues a declaration (``int x =``, ``static int``)
    return semi.end()


def _item_open(text: bytes) -> bool:
    """Whether a file-scope item is still open at the end of ``text``: its last character
    that is not space or comment ends no declaration (``;``, ``}``) and its last line is no
    directive."""
    text = _without_trailing_comments(text)
    return bool(text) and text[-1:] not in (b";", b"}") and not (
        text[text.rfind(b"\n") + 1:].lstrip().startswith(b"#"))


def _splits_item(text: bytes, lines: list[tuple[int, int]]) -> bool:
    """Whether the ``#if`` group of directive ``lines`` (at file scope, one branch left with
    text) stands inside a declaration or definition: ``static void`` / ``#ifdef DEBUG`` /
    ``f(int a, const char *where)`` / ``#else`` / ``f(int a)`` / ``#endif`` / ``{``, where the
    grammar cannot place the directives and made the rest of the file an ``ERROR``
    (``hfcmulti.c``, 5,297 lines). A group between items keeps its lines: tree-sitter's
    recovery stops at its ``#endif`` (an interpreter's labels and jump tables under
    ``#ifndef CONFIG_BPF_JIT_ALWAYS_ON`` stay inside it)."""
    first = lines[0][0]
    if _item_open(text[max(0, first - 400):first]):
        return True
    kept = b"".join(text[a[1]:b[0]] for a, b in pairwise(lines))
    return _item_open(kept[-400:])


_CODE, _MEMBERS, _ITEMS = 0, 1, 2  # what a ``{`` opens: a block, a member list, an initializer


def _list_brace(src: bytes, pos: int, inside_list: bool) -> int:
    """What the ``{`` at ``pos`` opens: an initializer's items when the 160 bytes before it
    end with ``=``, or (inside a list) with ``{`` or ``,``, and then spaces; members or
    enumerators when they end with ``struct``/``union``/``enum`` and then only words and
    spaces; else a block of code (0: a list is what is true)."""
    before = src[max(0, pos - 160):pos]
    last = before.rstrip(b" \t\n")[-1:]
    if last == b"=" or (inside_list and last in (b"{", b",")):
        return _ITEMS
    tail = before[len(before.rstrip(_WORDS_AND_SPACE)):]
    return _MEMBERS if _RECORD_KEYWORD.search(tail) is not None else _CODE


def blank_in_braces(src: bytes) -> bytes:
    """Blank every ``#define``/``#undef`` (the extractor reads them by a text scan; the grammar
    ends a ``#define`` at a comment inside its body, or reads the next line as the body of one
    left empty by the blanking of its annotations, and takes the rest for code), and, inside
    braces, what the grammar cannot place there:

    * ``#define``/``#undef``/``#include``... lines (``enum nvkm_subdev_type { #define ...
      #include <core/layout.h> ... }`` became an ``ERROR`` and the enum was lost; the extractor
      reads directives by a text scan, so the parser needs none of them);
    * in a member, enumerator or initializer list, a line that is only an upper-case
      ``NAME(args)`` with no ``;`` or ``,`` after it, a macro that expands to members or items
      (``struct clk_mgr_shift { CLK_REG_FIELD_LIST(uint8_t) ... }``);
    * in such a list, an upper-case ``NAME`` starting a line that the text defines as a run of
      members (``member_macros``);

    and, at file scope, ``[static] [const] NAME(args);`` items (``_file_scope_item``).

    Across ``#if``/``#else`` branches each branch starts with the braces open at the ``#if``.
    Inside braces, the lines of an ``#if`` group with at most one branch left that holds text
    (the configuration blanked the others) are blanked too: the grammar cannot place a
    directive between ``if (...) ...;`` and its ``else`` (the rest of the file became an
    ``ERROR``)."""
    buf = None
    stack: list[int] = []  # per open brace: what it opens (``_list_brace``)
    members: set[bytes] | None = None  # the text's member-run macros, found when first needed
    labels: set[bytes] | None = None  # the text's label macros, found when first needed
    at_if: list[list[bool]] = []
    groups: list[_Group] = []
    skip = 0
    for start, end, word, prefix, name, name_start, bare, bare_start in _depth_tokens(src):
        if start < skip:
            continue
        if word is None and name is None and bare is None:  # a brace
            if src[start] == 0x7B:  # {
                stack.append(_list_brace(src, start, bool(stack) and stack[-1]))
            elif stack:  # }
                stack.pop()
        elif word is not None:
            if word in (b"if", b"ifdef", b"ifndef"):
                at_if.append(list(stack))
                # in code and initializers only: a member list's ``#ifdef PAD`` / ``PAD`` /
                # ``#endif`` would be glued on
                groups.append(_Group(len(stack) if stack and stack[-1] != _MEMBERS else 0, end,
                                     [(start, _directive_end(src, start, end))],
                                     _DECIDED_NAME.search(src, start, end) is not None,
                                     not stack))
            elif word in (b"elif", b"else", b"elifdef", b"elifndef"):
                if at_if:
                    stack = list(at_if[-1])
                    groups[-1].branch(src, start, end)
            elif word == b"endif":
                if at_if:
                    at_if.pop()
                    group = groups.pop()
                    group.branch(src, start, end)
                    # (a branch of a decided group may open or close a brace of code:
                    # ``#ifdef CONFIG_PM`` / ``if (!fw_loaded) {`` / ``#endif``, ``#if 0`` /
                    # ``if (a) {`` / ``#else`` / ``if (b) {`` / ``#endif``; the text left is
                    # what the preprocessor reads in a build. Alone under another macro,
                    # ``#ifdef STORED_FILE_OK``, it may be what no build reads.)
                    if group.filled <= 1 and ((group.file_scope and not stack and _splits_item(
                            buf if buf is not None else src, group.lines)) or (
                            group.depth and (group.depth == len(stack) or (
                                group.decided and stack and stack[-1] != _MEMBERS)))):
                        buf = buf if buf is not None else bytearray(src)
                        for line_start, line_end in group.lines:
                            buf[line_start:line_end] = blank(src[line_start:line_end])
            elif word in _NESTED_BLANKED and (stack or word in (b"define", b"undef")):
                tok = src[start:end]
                if tok.rfind(b"/*") > tok.rfind(b"*/"):  # a comment that goes on below
                    close = src.find(b"*/", end)
                    end = len(src) if close < 0 else close + 2
                    skip = end
                buf = buf if buf is not None else bytearray(src)
                buf[start:end] = blank(src[start:end])
        elif name is not None and stack and stack[-1] == _CODE and not prefix.strip() and (
                name in (labels if labels is not None else (labels := label_macros(src)))):
            buf = buf if buf is not None else bytearray(src)
            skip = _blank_label_run(src, buf, name_start, labels)
        elif name is not None and stack and stack[-1] and not prefix.strip():
            close = close_paren(src, end - 1, 8192)
            if close < 0 or not _own_line(src, name_start, close):
                continue
            buf = buf if buf is not None else bytearray(src)
            buf[name_start:close + 1] = blank(src[name_start:close + 1])
            skip = close + 1
        elif name is not None and not stack and not src[start:start + 1].isspace():
            close = close_paren(src, end - 1, 8192)
            item_end = _file_scope_item(src, start, close) if close >= 0 else 0
            if item_end:
                buf = buf if buf is not None else bytearray(src)
                buf[start:item_end] = blank(src[start:item_end])
                skip = item_end
        elif bare is not None and stack and stack[-1]:
            if members is None:
                members = member_macros(src)
            if (bare, False) in members:
                buf = buf if buf is not None else bytearray(src)
                skip = _blank_member_run(src, buf, bare_start, members)
            elif _NOT_A_MEMBER.match(src, bare_start + len(bare)):
                buf = buf if buf is not None else bytearray(src)
                _blank(buf, bare_start, bare_start + len(bare))
    return bytes(buf) if buf is not None else src


_NEXT_MEMBER_MACRO = re.compile(rb"[ \t]*([A-Z_][A-Z0-9_]*)\b")


def _blank_member_run(src: bytes, buf: bytearray, start: int,
                      members: set[tuple[bytes, bool]]) -> int:
    """Blank the member-run macros from ``start`` on along their line, each name and the
    arguments of a function-like one (``ACPI_OBJECT_COMMON_HEADER ACPI_COMMON_BUFFER_INFO(char)``
    in acpica's ``acobject.h``); returns where the run ends."""
    pos = start
    while (m := _NEXT_MEMBER_MACRO.match(src, pos)) is not None and (
            m.group(1), src[m.end():m.end() + 1] == b"(") in members:
        end = m.end()
        if src[end:end + 1] == b"(":
            close = close_paren(src, end, 8192)
            if close < 0 or b"\n" in src[end:close]:
                break
            end = close + 1
        buf[m.start(1):end] = blank(src[m.start(1):end])
        pos = end
    return pos


# Words that may stand before ``struct``/``union``/``enum`` in a declaration.
_DECL_KEYWORDS = frozenset(b"typedef static extern const volatile register auto inline".split())
_IDENT = rb"[A-Za-z_]\w*"
# ``_packed struct smt_header {`` / ``struct __ec_align4 ec_param {``: the words that cannot be
# the tag are macros (attributes), as is an upper-case word between two declarators of a list
# after ``}`` (``} PAGE_HEADER, MPI_POINTER PTR_PAGE_HEADER;``). Before the tag's keyword, at the
# start of a file-scope line, C has no type either: ``STATIC struct xfs_dquot *``, ``XZ_EXTERN
# enum xz_ret``, ``INDIRECT_CALLABLE_SCOPE struct rt6_info *`` are macros of storage classes
# (the grammar read them as the type and the tag's name as a second one; the storage class
# they stand for is lost either way).
# The line may start with spaces: ``__visible __notrace_funcgraph struct task_struct *``, whose
# first word is a known annotation, blanked before (``parser_text``).
# (From the newline before the line: ``lines.newline_first``.)
_BEFORE_TAG = re.compile(rb"\n *((?:" + _IDENT + rb"[ \t]+)+)(?=(?:struct|union|enum)[ \t]+"
                         + _IDENT + rb"\b)")
# ``MEM_STATIC U32 FSE_getMaxNbBits(``, ``STORAGE_CLASS_SP_C hrt_data sp_ctrl_load(``,
# ``XZ_EXTERN uint32_t xz_crc32(``: an upper-case word at the start of a file-scope line, then
# a type name and the function's: C has no third name there, so the first is a storage-class or
# visibility macro (the grammar read it as the type and lost the function when the type is a
# typedef name; a keyword after it is read right and left alone).
_BEFORE_TYPE_NAME = re.compile(
    rb"\n([A-Z][A-Z0-9_]*[A-Z0-9])[ \t]+(?!(?:" + b"|".join(sorted(_DECL_KEYWORDS)) +
    rb"|struct|union|enum|unsigned|signed|int|char|short|long|void|float|double|bool|_Bool)\b)"
    + _IDENT + rb"[ \t]+\**[ \t]*" + _IDENT + rb"[ \t]*\(")
# (One per keyword, each starting with it and looking behind for a word character: a regex that
# starts with a literal is searched for as a string, where ``\b(?:struct|union|enum)`` was tried
# at every s, u and e, three times the time. No match of one holds one of another's.)
_TAG_ATTRIBUTES = tuple(re.compile(keyword + rb"(?<!\w" + keyword + rb")[ \t]+(" + _IDENT
                                   + rb")[ \t\n]+" + _IDENT + rb"[ \t\n]*\{")
                        for keyword in (b"struct", b"union", b"enum"))
# ``__no_sanitize_memory`` / ``static inline`` / ``struct page *rmqueue(...)``: ``__`` words alone
# on the line before one that starts with ``static``, ``extern`` or ``inline`` (C puts the storage
# class first) are attribute macros; the grammar read the first as the type and the struct's tag
# as another (from the newline before the line)
_BEFORE_STORAGE = re.compile(rb"\n(__[A-Za-z]\w*(?:[ \t]+__[A-Za-z]\w*)*)[ \t]*\n[ \t]*"
                             rb"(?=(?:static|extern|inline)\b)")
# ``EXPORT_FOR_TESTS`` / ``struct btrfs_chunk_map *btrfs_alloc_chunk_map(...)``, ``VISIBLE_IF_KUNIT``
# / ``const struct ...``: an upper-case word alone on a line at column 0, then a declaration that
# starts with a keyword or a type and a name, is a storage or visibility macro (the grammar read
# it as the type and the tag's name as another); a return type on its own line, ``STATUS`` /
# ``foo_init(void)``, is followed by the function's name (from the newline before the line)
_MACRO_LINE = re.compile(
    rb"\n([A-Z_][A-Z0-9_]*)[ \t]*\n(?=(?:static|extern|inline|const|volatile|struct|union|enum"
    rb"|void|char|short|int|long|unsigned|signed|float|double|bool)\b|[a-z_]\w*[ \t]+\**[ \t]*"
    + _IDENT + rb")")
# ``void __no_caller_saved_registers stackleak_track_stack(void)``: a run of ``__`` words between
# a line's type and a function's name; C has one type there, so they are attribute macros (with a
# long one, tree-sitter's recovery read it as a declarator and the function's name as a type).
# The type before them must be sure (``_SURE_TYPE``, or a tag): in ``STATIC __u32 f(`` the first
# word is the macro. (From the newline before the line; it may start with blanked annotations:
# spaces, where code is indented with tabs.)
_ATTRIBUTE_RUN = re.compile(
    rb"\n *(?:(?:static|inline|extern|const|volatile|unsigned|signed|long|short)[ \t]+)*"
    rb"(?:(struct|union|enum)[ \t]+)?(" + _IDENT + rb")[ \t]+\**[ \t]*"
    rb"(__[A-Za-z]\w*(?:[ \t]+__[A-Za-z]\w*)*)(?=[ \t\n]+\**[ \t\n]*" + _IDENT + rb"[ \t]*\()")
_SURE_TYPE = re.compile(rb"(?:void|char|short|int|long|float|double|signed|unsigned|bool|_Bool"
                        rb"|\w+_t|(?:__)?[us](?:8|16|32|64)|__(?:le|be)(?:16|32|64))\Z")
# ``typedef efi_status_t (__efiapi *efi_event_notify_t)(efi_event_t, void *);``: a ``__`` word
# before the ``*`` of a function pointer's parenthesized declarator is a calling-convention
# macro (the grammar lost the typedef's name); a cast ``(__u32 *)p`` has no name before ``)``
_PAREN_ATTRIBUTE = re.compile(rb"\((__[A-Za-z]\w*)[ \t]+\*[ \t]*" + _IDENT + rb"[ \t]*\)[ \t]*\(")
_DECLARATOR_LIST = re.compile(rb"\}[ \t]*(" + _IDENT + rb"[^;{}()]*);")
_LIST_MACRO = re.compile(rb"(?:^|,)[ \t\n]*([A-Z_][A-Z0-9_]*)[ \t\n]+(?=\**[ \t\n]*" + _IDENT
                         + rb"[ \t\n]*(?:,|$))")


def _blank(buf: bytearray, start: int, end: int) -> None:
    buf[start:end] = blank(buf[start:end])


def blank_declaration_macros(src: bytes) -> bytes:
    """Blank the attribute macros the grammar takes for names in a declaration (see
    ``_BEFORE_TAG``, ``_BEFORE_TYPE_NAME``, ``_BEFORE_STORAGE``, ``_MACRO_LINE``,
    ``_ATTRIBUTE_RUN`` and ``_PAREN_ATTRIBUTE``)."""
    buf = None
    lines = newline_first(src)  # one copy for the line-start scans
    for m in _BEFORE_TAG.finditer(lines):
        words = m.start(1) - 1  # in ``src``
        for w in re.finditer(_IDENT, m.group(1)):
            if w.group() not in _DECL_KEYWORDS:
                buf = buf if buf is not None else bytearray(src)
                _blank(buf, words + w.start(), words + w.end())
    for m in _BEFORE_TYPE_NAME.finditer(lines):
        buf = buf if buf is not None else bytearray(src)
        _blank(buf, m.start(1) - 1, m.end(1) - 1)
    for pattern in (_BEFORE_STORAGE, _MACRO_LINE):
        for m in pattern.finditer(lines):
            buf = buf if buf is not None else bytearray(src)
            _blank(buf, m.start(1) - 1, m.end(1) - 1)
    for m in _ATTRIBUTE_RUN.finditer(lines):
        if (m.group(1) or _SURE_TYPE.match(m.group(2))) and not m.group(3).startswith(b"__int"):
            buf = buf if buf is not None else bytearray(src)
            _blank(buf, m.start(3) - 1, m.end(3) - 1)
    for m in _PAREN_ATTRIBUTE.finditer(src):
        buf = buf if buf is not None else bytearray(src)
        _blank(buf, m.start(1), m.end(1))
    for pattern in _TAG_ATTRIBUTES:
        for m in pattern.finditer(src):
            buf = buf if buf is not None else bytearray(src)
            _blank(buf, m.start(1), m.end(1))
    for m in _DECLARATOR_LIST.finditer(src):
        for w in _LIST_MACRO.finditer(m.group(1)):
            buf = buf if buf is not None else bytearray(src)
            _blank(buf, m.start(1) + w.start(1), m.start(1) + w.end(1))
    return bytes(buf) if buf is not None else src


# ``#define N(val) case NETDEV_##val: return ...;``, ``#define ALU(OP, op) ALU_##OP##_X: ...``:
# a function-like macro that expands to a case label or a label (``label_macros``)
_LABEL_DEFINE = re.compile(rb"^[ \t]*#[ \t]*define[ \t]+([A-Z_][A-Z0-9_]*)\([^)\n]*\)"
                           rb"[ \t]*(?:\\\r?\n[ \t]*)?(?:case\b|[A-Za-z_][\w#]*[ \t]*:(?!:))", re.M)
_NEXT_INVOCATION = re.compile(rb"[ \t]*;?[ \t]*([A-Z_][A-Z0-9_]*)[ \t]*\(")


def label_macros(src: bytes) -> set[bytes]:
    """Names of the function-like macros the text defines as a ``case`` label or a label."""
    return {m.group(1) for m in _LABEL_DEFINE.finditer(src)}


def _blank_label_run(src: bytes, buf: bytearray, start: int, labels: set[bytes]) -> int:
    """Blank the invocations of label macros (``label_macros``) that start a line of code
    at ``start``, with the ones after them on the line (``switch (cmd) { N(UP) N(DOWN) ...``:
    no ``;`` between them, and the grammar read them as the header of a definition that took
    the next function for its body, an ``ERROR`` to the end of ``net/core/dev.c``); where
    the blanking ended."""
    pos = start
    while True:
        close = close_paren(src, src.index(b"(", pos), 4096)
        if close < 0:
            return pos
        _blank(buf, pos, close + 1)
        more = _NEXT_INVOCATION.match(src, close + 1)
        if more is None or more.group(1) not in labels:
            return close + 1
        pos = more.start(1)


def member_macros(src: bytes) -> set[tuple[bytes, bool]]:
    """(name, function-like) of the macros the text defines as a run of members
    (``macros.is_member_run``):
    ``#define ACPI_STATE_COMMON void *next; u8 flags;`` then ``struct s { ACPI_STATE_COMMON
    u32 index; }``, where the grammar reads the name as a type and loses the struct; also
    function-like ones (``#define ACPI_COMMON_BUFFER_INFO(_type) _type *pointer; u32 length;``),
    blanked with their arguments after such a name on its line (``_blank_member_run``)."""
    out = set()
    for m in _MEMBER_DEFINE.finditer(src):
        if is_member_run(m.group(3).decode("latin-1")):
            out.add((m.group(1), m.group(2) is not None))
    return out


_DO_WHILE_MACRO = re.compile(rb"\}[ \t\n]*(while_\w+)(?=[ \t]*\()")


def plain_do_while(src: bytes) -> bytes:
    """``do { ... } while_each_thread(g, t);``: a macro standing for the ``while (...)`` of a
    do-loop reads as ``while (g, t);`` (same length), or the grammar loses the rest of the
    function and a few thousand lines after it (``kernel/cgroup/cgroup.c``)."""
    if b"while_" not in src:
        return src
    return _DO_WHILE_MACRO.sub(
        lambda m: m.group(0)[:m.start(1) - m.start(0)] + b"while" + b" " * (len(m.group(1)) - 5),
        src)


# an indented iterator macro alone on its line, ``for_each_zone(zone)`` (from the newline
# before the line: ``lines.newline_first``), and what may follow its ``)`` on the line
_ITERATOR_LINE = re.compile(rb"\n[ \t]+((?=[a-z_])\w*for_each\w*)[ \t]*\(")
_ITERATOR_REST = re.compile(rb"[ \t]*(?:/\*[^\n]*?\*/[ \t]*|//[^\n]*)?\n[ \t]")
# the start of the statement on the next line: not a brace, a directive or a comment
_STATEMENT_START = re.compile(rb"[ \t]*[^{}#/\s]")


def _ends_unbraced_head(before: bytes) -> bool:
    """Whether the text ``before`` a line ends with the head of a statement whose body is
    that line (``if (x)``, ``else``): a ``;`` there would end the body early (``if (x)
    for_each_cpu(c) ; bar(c); else ...`` reads no more)."""
    before = _without_trailing_comments(before)
    return not before or before[-1:] not in (b";", b"{", b"}", b":")


def unbraced_iterator_calls(src: bytes) -> list[tuple[int, int]]:
    """(start of the iterator's name, the byte that ``unbraced_iterators`` makes ``;``) of each
    iterator alone on its line before an unbraced statement."""
    if b"for_each" not in src:
        return []
    out = []
    for m in _ITERATOR_LINE.finditer(newline_first(src)):
        close = close_paren(src, m.end() - 2, 4096)
        rest = _ITERATOR_REST.match(src, close + 1) if close >= 0 else None
        if rest is None or _STATEMENT_START.match(src, rest.end()) is None or (
                _ends_unbraced_head(src[max(0, m.start() - 200):m.start()])):
            continue
        out.append((m.start(1) - 1, rest.end() - 1))
    return out


def unbraced_iterators(src: bytes) -> bytes:
    """``for_each_zone(zone)`` then, indented on the next line, the one statement it runs
    (``zone->managed += n;``, ``if (...) c->unblank();``): the grammar read the pair as a
    declaration or a definition, lost the iterator's call and made one of the statement's
    (``unblank``). The statement's first indenting byte becomes ``;``, so the iterator reads
    as a call statement of its own and the statement as the next one: the same calls, in the
    same function, and no line or column moves. (The extractor finds these calls again with
    ``unbraced_iterator_calls``: their arguments are an iterator's, ``TypeUse.via``.)"""
    calls = unbraced_iterator_calls(src)
    if not calls:
        return src
    buf = bytearray(src)
    for _name, semi in calls:
        buf[semi] = 0x3B  # ;
    return bytes(buf)


def parser_text(src: bytes) -> bytes:
    """What the parser reads for ``src``: annotations, bare invocations, attribute macros of
    declarations, and directives, member-list macros and label macros inside braces blanked
    (and the directives of a one-branch group inside a file-scope declaration); do-loops
    closed by a macro made plain; an iterator's unbraced statement made a statement of its
    own."""
    return unbraced_iterators(plain_do_while(blank_in_braces(blank_declaration_macros(
        blank_bare_invocations(blank_annotations(src))))))
