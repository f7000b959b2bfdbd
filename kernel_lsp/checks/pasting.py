"""Calls that a macro's token pasting turns into other names.

``er32(TXDCTL(0))`` with ``#define er32(reg) __er32(hw, E1000_##reg)`` reads
``__er32(hw, E1000_TXDCTL(0))``: ``TXDCTL`` is a piece of the register macro's name, called
nowhere. The extractor records a call that is a whole argument of another call with that
call's callee, its index and the argument count (``Call.via``); when such a call would be a
finding, ``Pasting.unmakes`` expands the enclosing macro with a probe call in the argument's
place (``parse/macros.Expander``, over the tree's definitions, inside braces too: xe's
``XE_RTP_ACTIONS(FIELD_SET(...))`` pastes each argument inside a compound literal's) and sees
whether the probe is still called in the expansion. Unknown, unexpandable or several-way
cases keep the finding.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from kernel_lsp.parse.macros import Expander

PROBE = "__klsp_probe__"
_PROBE_CALLED = re.compile(r"(?<![\w])" + PROBE + r"\s*\(")
_STRING = re.compile(r'"(?:\\.|[^"\\\n])*"')  # ``#x`` makes the probe a string: no call
MAX_DEFINITIONS = 8  # a macro with more definitions than this is not decided (kept)

# name -> [(file_id, params, body)] of its function-like definitions
Definitions = Callable[[str], list[tuple[int, list[str], str]]]


class _Table:
    """The expander's table over ``definitions``: each name's definition that the call sees
    (``seen``; the first one when it sees none), except ``top``, whose definition is
    ``chosen``. A common name (``DUMP_REG``: dozens of drivers define their own) must be the
    caller's, or its expansion is another driver's."""

    def __init__(self, definitions: Definitions, memo: dict, top: str, chosen: tuple,
                 seen: Callable[[int], bool]):
        self.definitions, self.memo, self.top, self.chosen = definitions, memo, top, chosen
        self.seen = seen

    def get(self, name: str):
        if name == self.top:
            return self.chosen
        if name not in self.memo:
            self.memo[name] = self.definitions(name)
        found = self.memo[name]
        if not found:
            return None
        fid, params, body = next((d for d in found if self.seen(d[0])), found[0])
        return tuple(params), body

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None


class Pasting:
    """``unmakes(call, seen, file_id)``: whether every definition of the macro whose whole
    argument ``call`` (of the file ``file_id``) is that the call sees (``seen(file_id)``;
    ``e1000e.h``'s ``er32`` pastes, a driver's own ``er32`` does not) pastes it (or otherwise
    leaves no call of it)."""

    def __init__(self, definitions: Definitions):
        self.definitions = definitions
        self._tables: dict[str, list] = {}  # name -> its definitions (``_Table``)
        self._memo: dict[tuple, bool] = {}

    def unmakes(self, call, seen: Callable[[int], bool], file_id: int | None = None) -> bool:
        macro, index, count = call.via_macro, call.via_arg, call.via_args
        if macro is None or index is None or count is None or not 0 <= index < count:
            return False
        found = [(params, body) for fid, params, body in self.definitions(macro) if seen(fid)]
        if not found or len(found) > MAX_DEFINITIONS:
            return False
        # the nested macros it expands to are the caller's too: the decision is per file
        key = (macro, index, count, tuple(body for _params, body in found), file_id)
        if key not in self._memo:
            self._memo[key] = self._decide(macro, index, count, found, seen)
        return self._memo[key]

    def _decide(self, macro: str, index: int, count: int, found: list,
                seen: Callable[[int], bool]) -> bool:
        args = [f"_klsp_arg{i}" for i in range(count)]
        args[index] = f"{PROBE}(0)"
        for params, body in found:
            table = _Table(self.definitions, self._tables, macro, (tuple(params), body), seen)
            out = Expander(table, braces=True).expand(  # type: ignore[arg-type]
                macro, list(args))
            if out is None or _PROBE_CALLED.search(_STRING.sub('""', out)):
                return False
        return True
