"""The byte ranges of a tree's file-scope function bodies (what an edit inside one touches).

Edits inside one body are served from that body alone by ``live/keystroke.py``; any other edit
re-extracts the whole file (re-extracting a *skeleton* of it, the other bodies blanked, was
tried before and gave other facts than the file whenever a blanked body held a directive or
error recovery reached across bodies).
"""

from __future__ import annotations

_DESCEND = ("translation_unit", "preproc_if", "preproc_ifdef", "preproc_else", "preproc_elif",
            "preproc_elifdef", "ERROR", "linkage_specification", "declaration_list")


def body_ranges(tree) -> list[tuple[int, int]]:
    """Byte ranges of the bodies of file-scope function definitions, in file order."""
    out, stack = [], [tree.root_node]
    while stack:
        node = stack.pop()
        for child in reversed(node.children):
            if child.type == "function_definition":
                body = child.child_by_field_name("body")
                if body is not None:
                    out.append((body.start_byte, body.end_byte))
            elif child.type in _DESCEND:
                stack.append(child)
    out.sort()
    return out
