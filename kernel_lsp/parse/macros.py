"""Kernel macro idioms: declaration-generating macros and a small expander for same-file macros.

Two mechanisms make macro-generated design types exist in the model:

* a table of the kernel's declaration-generating macros (``SYSCALL_DEFINEn``, ``BPF_CALL_n``,
  ``DEFINE_PER_CPU``, ``DEFINE_MUTEX`` ...) saying what each one defines;
* an expander for function-like macros defined in the same file (``PAGEFLAG(Locked, locked)``
  in page-flags.h): arguments are substituted, ``##`` pastes, ``#`` stringises, nested
  same-file macros are rescanned, and the expansion is parsed like ordinary code.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

_SYSCALL = re.compile(r"^(COMPAT_)?SYSCALL_DEFINE[0-6]$")
_BPF_CALL = re.compile(r"^BPF_CALL_[0-5]$")

# Macros whose invocation at file scope defines (or declares) a variable, and which argument
# names it. ``extern`` marks declaring forms.
VARIABLE_DEFINERS: dict[str, tuple[int, bool]] = {
    **{m: (1, False) for m in (
        "DEFINE_PER_CPU", "DEFINE_PER_CPU_SHARED_ALIGNED", "DEFINE_PER_CPU_ALIGNED",
        "DEFINE_PER_CPU_READ_MOSTLY", "DEFINE_PER_CPU_PAGE_ALIGNED", "DEFINE_PER_CPU_DECRYPTED",
        "DEFINE_PER_CPU_FIRST", "DEFINE_PER_CPU_USER_MAPPED",
    )},
    **{m: (1, True) for m in (
        "DECLARE_PER_CPU", "DECLARE_PER_CPU_SHARED_ALIGNED", "DECLARE_PER_CPU_ALIGNED",
        "DECLARE_PER_CPU_READ_MOSTLY", "DECLARE_PER_CPU_PAGE_ALIGNED", "DECLARE_PER_CPU_DECRYPTED",
        "DECLARE_PER_CPU_FIRST",
    )},
    **{m: (0, False) for m in (
        "DEFINE_MUTEX", "DEFINE_SPINLOCK", "DEFINE_RAW_SPINLOCK", "DEFINE_RWLOCK", "LIST_HEAD",
        "HLIST_HEAD", "DEFINE_SEMAPHORE", "DECLARE_WAIT_QUEUE_HEAD", "DEFINE_IDR", "DEFINE_IDA",
        "DEFINE_XARRAY", "DEFINE_XARRAY_ALLOC", "DEFINE_XARRAY_ALLOC1", "DEFINE_XARRAY_FLAGS",
        "DEFINE_STATIC_KEY_FALSE", "DEFINE_STATIC_KEY_TRUE", "DEFINE_STATIC_KEY_FALSE_RO",
        "DEFINE_STATIC_KEY_TRUE_RO", "DEFINE_STATIC_SRCU", "DEFINE_SRCU", "DEFINE_RATELIMIT_STATE",
        "DECLARE_BITMAP", "DEFINE_HASHTABLE", "DECLARE_HASHTABLE", "DEFINE_SEQLOCK",
        "DECLARE_RWSEM", "DEFINE_PERCPU_RWSEM", "DEFINE_STATIC_PERCPU_RWSEM", "DECLARE_COMPLETION",
        "DEFINE_LLIST", "DECLARE_DELAYED_WORK", "DECLARE_DEFERRABLE_WORK", "DECLARE_WORK",
        "DEFINE_TIMER", "ATOMIC_NOTIFIER_HEAD", "BLOCKING_NOTIFIER_HEAD", "RAW_NOTIFIER_HEAD",
        "SRCU_NOTIFIER_HEAD", "DEFINE_WAIT_BIT", "DEFINE_CLASS_DEV", "DEFINE_KFIFO",
        "DECLARE_KFIFO", "DEFINE_STATIC_CALL", "DEFINE_STATIC_CALL_NULL", "DEFINE_MUTEX_ALIGNED",
        "DEFINE_RES_MEM", "DEFINE_SPINLOCK_IRQ", "DEFINE_PERCPU_RWSEM_READ",
    )},
    **{m: (0, True) for m in (
        "DECLARE_STATIC_KEY_FALSE", "DECLARE_STATIC_KEY_TRUE", "DECLARE_STATIC_CALL",
        "DECLARE_SRCU",
    )},
    "torture_param": (1, False),  # static type name = init; module_param(name, ...)
}
# Lower-case definers whose expansion starts with ``static``.
STATIC_VARIABLE_DEFINERS = frozenset({"torture_param"})


@dataclass(frozen=True, slots=True)
class GeneratedFunction:
    name: str
    storage: str  # "static" | "global"
    ret: str  # return type name (a base or typedef name)


def function_definers(macro: str, args: list[str]) -> list[GeneratedFunction]:
    """Functions a declaration-generating macro with a body defines, the first one owning the body."""
    if not args or not re.fullmatch(r"[A-Za-z_]\w*", args[0].strip()):
        return []
    name = args[0].strip()
    m = _SYSCALL.match(macro)
    if m:
        prefix = "compat_sys_" if m.group(1) else "sys_"
        return [
            GeneratedFunction(f"__do_{prefix}{name}", "static", "long"),
            GeneratedFunction(f"{prefix}{name}", "global", "long"),
        ]
    if _BPF_CALL.match(macro):  # the helper, and the static inline its body is
        return [GeneratedFunction(name, "global", "u64"),
                GeneratedFunction(f"____{name}", "static", "u64")]
    return []


def definer_params(macro: str, args: list[str]) -> list[tuple[str, str]]:
    """(type text, name) pairs of a ``SYSCALL_DEFINEn``/``BPF_CALL_n``-style argument list."""
    rest = [a.strip() for a in args[1:]]
    return [(rest[i], rest[i + 1]) for i in range(0, len(rest) - 1, 2)]


# --- the expander -------------------------------------------------------------------------

_TOKEN = re.compile(
    r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|##|#|[A-Za-z_]\w*|\s+|/\*.*?\*/|.', re.S
)
_CALL_NAME = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
_TRAILING_NAME = re.compile(r"\b([A-Za-z_]\w*)\s*$")
MAX_EXPANSION = 1 << 16
MAX_DEPTH = 8
# Macro expansions one top-level expansion may make (``Expander.steps``). A macro that expands
# into ten thousand definitions through ``F10(F100(F1000(...)))`` (Linux 6.12's
# ``tools/testing/selftests/bpf/uprobe_multi.c``: 73,000 expansions per invocation, 7 s of a
# worker for a 3 KiB file, and as long again on each full re-extraction of it in an editor) is
# left unexpanded, like a text over ``MAX_EXPANSION``. No other invocation of Linux 6.1 (its
# cross-file expansions) or 6.12 (its files' own) makes more than 4,111 (s390's
# ``REPEAT_10000``, ten thousand functions of a test module, kept); the next make 445 and 151.
MAX_STEPS = 1 << 14


_ARG_SIGNIFICANT = re.compile(r"[()\[\]{},\"']")


def split_args(text: str) -> list[str]:
    """Split a macro argument list (without its outer parentheses) at top-level commas."""
    args, depth, start, i, n = [], 0, 0, 0, len(text)
    search = _ARG_SIGNIFICANT.search
    while (m := search(text, i)) is not None:
        c, j = m.group(), m.start()
        if c == '"' or c == "'":
            k = j + 1
            while k < n and text[k] != c:
                k += 2 if text[k] == "\\" else 1
            i = k + 1
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0:
            args.append(text[start:j])
            start = j + 1
        i = j + 1
    args.append(text[start:])
    return [] if args == [""] else args


@functools.lru_cache(maxsize=8192)
def _tokens(body: str) -> tuple[str, ...]:
    """The preprocessing tokens of a macro body (line continuations joined)."""
    return tuple(_TOKEN.findall(body.replace("\\\n", " ")))


_PASTED = re.compile(r"(?:##|#)\s*([A-Za-z_]\w*)|([A-Za-z_]\w*)\s*##")


@functools.lru_cache(maxsize=8192)
def _pasted_params(body: str) -> frozenset[str]:
    """Parameter names the body pastes (``##``) or stringises (``#``): not pre-expanded."""
    return frozenset(a or b for a, b in _PASTED.findall(body))


def _plain(toks: tuple[str, ...]) -> bool:
    """True when a body's tokens hold no ``#``, ``##`` or ``__VA_OPT__``: substituting its
    parameters is then a lookup per token."""
    return "#" not in toks and "##" not in toks and "__VA_OPT__" not in toks


_PARENS = re.compile(r"[()]")


def matching_paren(text: str, open_idx: int) -> int:
    """Index of the parenthesis closing ``text[open_idx]``, or -1."""
    depth = 0
    for m in _PARENS.finditer(text, open_idx):
        if m.group() == "(":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return m.start()
    return -1


class Expander:
    """Expands invocations of function-like macros taken from one table (name -> (params, body))."""

    def __init__(self, table: dict[str, tuple[tuple[str, ...], str]], braces: bool = False):
        self.table = table
        self.steps = 0  # expansions made since the top-level call began (``MAX_STEPS``)
        # expand inside braces too (what a call becomes, ``checks/pasting``), not only what a
        # definition-generating macro names outside them
        self.braces = braces

    def expand(self, name: str, args: list[str], depth: int = 0, active=frozenset()) -> str | None:
        """The text ``name(args...)`` expands to, or None if it cannot be expanded."""
        self.steps = 0
        text = self._expand(name, args, depth, active)
        return text if self.steps <= MAX_STEPS else None

    def _expand(self, name: str, args: list[str], depth: int, active) -> str | None:
        entry = self.table.get(name)
        if entry is None or depth > MAX_DEPTH:
            return None
        self.steps += 1
        if self.steps > MAX_STEPS:
            return None  # over budget: the top-level call gives up (``expand``)
        params, body = entry
        if params is None:  # an object-like alias of another macro: ``#define A B``, ``A(x)``
            target = body.strip()
            return None if target in active or target == name else self._expand(
                target, args, depth + 1, active | {name})
        binding = self._bind(params, args)
        if binding is None:
            return None
        # C expands an argument fully before substituting it, unless it is pasted or stringised
        raw = _pasted_params(body)
        for key, value in binding.items():
            if key not in raw and "(" in value:
                binding[key] = self._rescan(value, depth + 1, active) or value
        text = self._substitute(body, binding)
        return self._rescan(text, depth + 1, active | {name})

    def expand_text(self, text: str, active=frozenset()) -> str | None:
        """``text`` with the macro calls outside braces expanded (an X-macro list's body)."""
        self.steps = 0
        out = self._rescan(text, 0, frozenset(active))
        return out if self.steps <= MAX_STEPS else None

    @staticmethod
    def _bind(params: tuple[str, ...], args: list[str]) -> dict[str, str] | None:
        binding: dict[str, str] = {}
        for i, p in enumerate(params):
            if p == "..." or p.endswith("..."):
                key = "__VA_ARGS__" if p == "..." else p[:-3]
                binding[key] = ",".join(args[i:])
                binding[_VARIADIC] = key
                return binding
            if i >= len(args):
                if len(params) == 1 and not args:
                    binding[p] = ""
                    continue
                return None
            binding[p] = args[i].strip()
        return binding if len(args) <= len(params) or not params else None

    @staticmethod
    def _substitute(body: str, binding: dict[str, str], toks: tuple[str, ...] | None = None
                    ) -> str:
        """``body`` with parameters replaced: ``#`` stringises, ``##`` pastes, GNU's
        ``, ## __VA_ARGS__`` drops the comma when the variable arguments are empty, and
        ``__VA_OPT__(x)`` is ``x`` only when they are not."""
        if toks is None:
            toks = _tokens(body)
            if _plain(toks):
                get = binding.get
                return "".join([get(t, t) for t in toks])
        variadic = binding.get(_VARIADIC, "__VA_ARGS__")
        empty_va = not binding.get(variadic, "").strip()
        out: list[str] = []
        i = 0
        while i < len(toks):
            t = toks[i]
            if t == "__VA_OPT__":
                j = _skip_space(toks, i + 1)
                close = _group_end(toks, j)
                if close > j:
                    if not empty_va:
                        out.append(Expander._substitute("", binding, toks[j + 1:close]))
                    i = close + 1
                    continue
            if t == "#" and i + 1 < len(toks):
                j = _skip_space(toks, i + 1)
                if j < len(toks) and toks[j] in binding:
                    out.append('"' + binding[toks[j]].replace('"', '\\"') + '"')
                    i = j + 1
                    continue
            if t == "##":
                while out and out[-1].isspace():
                    out.pop()
                j = _skip_space(toks, i + 1)
                if j < len(toks):
                    if toks[j] == variadic and empty_va and out and out[-1] == ",":
                        out.pop()  # GNU comma elision
                    out.append(binding.get(toks[j], toks[j]))
                i = j + 1
                continue
            out.append(binding.get(t, t))
            i += 1
        return "".join(out)

    def _rescan(self, text: str, depth: int, active: frozenset) -> str | None:
        """Expand the macro calls of ``text`` that stand outside braces: what a definition-
        generating macro defines is named there; function bodies are left as written."""
        if len(text) > MAX_EXPANSION or self.steps > MAX_STEPS:
            return None
        pos, out = 0, []
        braces = _BraceDepth(text)
        for m in _CALL_NAME.finditer(text):
            if m.start() < pos:
                continue  # inside the arguments of the call just expanded
            name = m.group(1)
            if name not in self.table or name in active or (
                    not self.braces and braces.at(m.start()) > 0):
                out.append(text[pos:m.end()])
                pos = m.end()
                continue
            close = matching_paren(text, m.end() - 1)
            if close < 0:
                break
            inner = self._expand(name, split_args(text[m.end():close]), depth, active)
            if self.steps > MAX_STEPS:
                return None  # over budget: nothing more is expanded
            out.append(text[pos:m.start()])
            pos = close + 1
            if inner is None:
                out.append(text[m.start():pos])
                continue
            inner, pos = self._join(inner, text, pos, depth, active)
            out.append(inner)
        out.append(text[pos:])
        return "".join(out)

    def _join(self, inner: str, text: str, pos: int, depth: int, active: frozenset
              ) -> tuple[str, int]:
        """C rescans an expansion together with the text after it: an expansion ending with the
        name of a macro that ``(`` follows there is that macro's call (``PUSH_NV_(A, PUSH_NV_2,
        PUSH_NV_1)(, ##A)`` picks a macro by the number of arguments). Returns the text and
        where the rest of ``text`` starts."""
        tail = _TRAILING_NAME.search(inner)
        if tail is None or tail.group(1) in active or tail.group(1) not in self.table:
            return inner, pos
        j = pos
        while j < len(text) and text[j].isspace():
            j += 1
        close = matching_paren(text, j) if text[j:j + 1] == "(" else -1
        if close < 0:
            return inner, pos
        joined = self._expand(tail.group(1), split_args(text[j + 1:close]), depth, active)
        return (inner, pos) if joined is None else (inner[:tail.start(1)] + joined, close + 1)


_VARIADIC = "\0variadic"  # binding key naming the variadic parameter


def _skip_space(toks: tuple[str, ...], j: int) -> int:
    while j < len(toks) and toks[j].isspace():
        j += 1
    return j


def _group_end(toks: tuple[str, ...], j: int) -> int:
    """Index of the ``)`` closing the ``(`` at ``toks[j]`` (or ``j`` when there is none)."""
    if j >= len(toks) or toks[j] != "(":
        return j
    depth = 0
    for k in range(j, len(toks)):
        depth += toks[k] == "("
        depth -= toks[k] == ")"
        if depth == 0:
            return k
    return j


_BRACE_OR_QUOTE = re.compile(r"[{}\"']")
_LITERAL_TAIL = {'"': re.compile(r'(?:[^"\\]|\\.)*', re.S),  # a literal's text up to its quote
                 "'": re.compile(r"(?:[^'\\]|\\.)*", re.S)}


class _BraceDepth:
    """Brace nesting at increasing offsets of a text (string and char literals skipped)."""

    def __init__(self, text: str):
        self.text, self.pos, self.depth = text, 0, 0

    def at(self, offset: int) -> int:
        text, i, search = self.text, self.pos, _BRACE_OR_QUOTE.search
        while i < offset:
            m = search(text, i, offset)
            if m is None:
                i = offset
                break
            c, j = m.group(), m.start()
            if c == "{":
                self.depth += 1
            elif c == "}":
                self.depth = max(0, self.depth - 1)
            else:  # a literal: on to its closing quote (which may lie past ``offset``)
                j = _LITERAL_TAIL[c].match(text, j + 1).end()
            i = j + 1
        self.pos = max(i, self.pos)
        return self.depth


_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_MACRO_END = re.compile(r"\b[A-Z_][A-Z0-9_]*\s*$")


def is_member_run(body: str) -> bool:
    """Whether a macro body is a run of struct members (``u8 flags; u16 value;``): it ends
    with ``;``, but for trailing invocations of upper-case function-like macros, which add
    members only in some configurations (acpica's ``ACPI_PARSE_COMMON`` ends in
    ``ACPI_DISASM_ONLY_MEMBERS(...)``)."""
    return ";" in body and members_of(body).endswith(";")


def members_of(body: str) -> str:
    """A macro body without its comments, line continuations and the ``NAME(...)``
    invocations that end it."""
    text = _COMMENT.sub(" ", body.replace("\\\n", " ")).strip()
    while text.endswith(")"):
        depth, i = 0, len(text) - 1
        while i >= 0:
            depth += (text[i] == ")") - (text[i] == "(")
            if depth == 0:
                break
            i -= 1
        name = _MACRO_END.search(text, 0, i) if i > 0 else None
        if name is None:
            break
        text = text[:name.start()].rstrip()
    return text
