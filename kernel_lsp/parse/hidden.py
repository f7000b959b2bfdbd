"""Names defined in the ``#if`` branches the configuration drops, found by a text scan.

The model holds the branches its configuration keeps, and that configuration is a guess (a
defconfig, undecided options, debug variants avoided). A function, macro or type whose only
definitions sit in dropped branches (``struct lock_class`` under ``#ifdef CONFIG_LOCKDEP``,
``IP_VS_DBG_ADDR`` under ``CONFIG_IP_VS_DEBUG``) is not "defined nowhere": the code that uses
it may be built only in the configuration that keeps it. The checks do not report such a name
as ``020_2``. The scan is deliberately loose (kernel layout: declarations start at column 0);
a name it finds only ever removes a finding.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from kernel_lsp.parse.facts import Span

_MACRO = re.compile(rb"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)", re.M)
_TAG = re.compile(rb"\b(struct|union|enum)\s+([A-Za-z_]\w*)\s*\{")
_TYPEDEF = re.compile(
    rb"\}\s*([A-Za-z_]\w*)\s*(?:\[[^\];{}]*\])?\s*;"  # typedef struct { ... } name;
    rb"|\btypedef\b[^;{}()]*?\b([A-Za-z_]\w*)\s*(?:\[[^\];{}]*\])?\s*;"  # typedef T name;
    rb"|\btypedef\b[^;{}]*\(\s*\*\s*([A-Za-z_]\w*)\s*\)")  # typedef int (*name)(...);
_FUNCTION = re.compile(rb"^(?:[A-Za-z_][\w \t*]*?[ \t*])?([A-Za-z_]\w*)[ \t]*\(", re.M)
# ``extern struct ops *ops;`` / ``extern unsigned int limit[4];``: a variable declared there.
_EXTERN_VARIABLE = re.compile(
    rb"^[ \t]*extern\b[^;(){}=#]*?\b([A-Za-z_]\w*)[ \t]*(?:\[[^\];{}]*\][ \t]*)*;", re.M)
# ``#include "ohci-ps3.c"``: a .c file built only as part of this one, in that configuration.
_INCLUDE_C = re.compile(rb'^[ \t]*#[ \t]*include[ \t]+"([^"\n]+\.c)"', re.M)
# ``#include <linux/dynamic_debug.h>`` under ``#ifdef CONFIG_DYNAMIC_DEBUG``: what that header
# defines is visible to the includer's users in the configuration that keeps the branch.
_INCLUDE_H = re.compile(rb'^[ \t]*#[ \t]*include[ \t]+["<](?:\./)*([^">\n]+\.h)[">]', re.M)
_NOT_FUNCTIONS = frozenset(b"if while for switch return sizeof do else case".split())


def hidden_names(source: bytes, inactive: list[tuple[int, int]]) -> list[tuple[str, str, Span]]:
    """``(name, kind, span)`` of what the dropped ranges ``inactive`` of ``source`` define:
    kind ``macro``, ``function``, ``variable`` (an ``extern`` declaration), ``struct``/``union``/
    ``enum``, ``typedef``, ``include`` (a ``.c`` file included as written) or ``header`` (a
    header included, named as written: ``linux/dynamic_debug.h``); in file order,
    one entry per (name, kind) and range."""
    out: list[tuple[int, str, str]] = []
    for start, end in inactive:
        found = [(m.start(1), m.group(1), "macro") for m in _MACRO.finditer(source, start, end)]
        found += [(m.start(2), m.group(2), m.group(1).decode())
                  for m in _TAG.finditer(source, start, end)]
        for m in _TYPEDEF.finditer(source, start, end):
            i = next(i for i in (1, 2, 3) if m.group(i))
            found.append((m.start(i), m.group(i), "typedef"))
        found += [(m.start(1), m.group(1), "function") for m in _FUNCTION.finditer(source, start, end)
                  if m.group(1) not in _NOT_FUNCTIONS
                  and not source.startswith((b"#", b"typedef"), m.start())]
        found += [(m.start(1), m.group(1), "include")
                  for m in _INCLUDE_C.finditer(source, start, end)]
        found += [(m.start(1), m.group(1), "header")
                  for m in _INCLUDE_H.finditer(source, start, end)]
        found += [(m.start(1), m.group(1), "variable")
                  for m in _EXTERN_VARIABLE.finditer(source, start, end)]
        seen: set[tuple[bytes, str]] = set()
        for pos, name, kind in sorted(found):
            if (name, kind) not in seen:
                seen.add((name, kind))
                out.append((pos, name.decode("ascii", "replace"), kind))
    if not out:
        return []
    out.sort()
    starts = [0] + [m.end() for m in re.finditer(rb"\n", source)]
    spans = []
    for pos, name, kind in out:
        line = bisect_right(starts, pos) - 1
        col = pos - starts[line]
        spans.append((name, kind, Span(pos, pos + len(name), line, col, line, col + len(name))))
    return spans
