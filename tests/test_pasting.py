"""A call that is a whole argument of a macro is no call when the macro pastes that argument
(``checks/pasting.py``): each case is the tree's function-like macros, the enclosing macro,
the argument's index and count, and whether the call is unmade."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from kernel_lsp.checks.pasting import Pasting

E1000 = {"er32": [(["reg"], "__er32(hw, E1000_##reg)")],
         "ew32": [(["reg", "val"], "__ew32(hw, E1000_##reg, (val))")]}
CASES = [
    ("prefix paste", E1000, "er32", 0, 1, True),
    ("the pasted one of two", E1000, "ew32", 0, 2, True),
    ("the other argument, used as it is", E1000, "ew32", 1, 2, False),
    ("used as it is", {"rd": [(["r"], "readl(base + (r))")]}, "rd", 0, 1, False),
    ("stringised and used", {"DUMP": [(["r"], 'pr_info("%s %x", #r, rd(r))')]}, "DUMP", 0, 1,
     False),
    ("only stringised", {"NAME": [(["r"], "#r")]}, "NAME", 0, 1, True),
    ("dropped", {"NOP": [(["x"], "")]}, "NOP", 0, 1, True),
    ("GNU comma elision is no paste", {"dbg": [(["fmt", "args..."], "printk(fmt, ##args)")]},
     "dbg", 1, 2, False),
    ("passed on to a macro that pastes", {"A": [(["r"], "B(r)")], "B": [(["r"], "X_##r")]},
     "A", 0, 1, True),
    ("a function, not a macro", {}, "readl", 0, 1, False),
    ("one definition of two pastes", {"rd": [(["r"], "X_##r"), (["r"], "readl(r)")]}, "rd", 0, 1,
     False),
    # (xe's ``XE_RTP_ACTIONS(FIELD_SET(...))``: the list it builds pastes each argument after
    # ``XE_RTP_ACTION_``, inside the braces of a compound literal)
    ("pasted inside braces", {"ACTIONS": [(["..."], ".a = (int[]) { EACH(__VA_ARGS__) }")],
                              "EACH": [(["x"], "ACTION_##x")]}, "ACTIONS", 0, 1, True),
    ("used inside braces", {"ONCE": [(["x"], "do { x; } while (0)")]}, "ONCE", 0, 1, False),
    ("passed on inside braces", {"ONCE": [(["x"], "do { RUN(x); } while (0)")],
                                 "RUN": [(["x"], "(x)")]}, "ONCE", 0, 1, False),
    ("more arguments than parameters", E1000, "er32", 0, 2, False),
    ("an index past the arguments", E1000, "er32", 1, 1, False),
]


def _definitions(macros: dict):
    """``Pasting``'s lookup over ``macros`` (name -> [(params, body)]): files 1, 2, ..."""
    return lambda name: [(i, params, body) for i, (params, body) in
                         enumerate(macros.get(name, []), 1)]


@pytest.mark.parametrize("macros, macro, index, count, unmade",
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_pasted_argument_is_no_call(macros, macro, index, count, unmade):
    pasting = Pasting(_definitions(macros))
    call = SimpleNamespace(via_macro=macro, via_arg=index, via_args=count)
    assert pasting.unmakes(call, lambda fid: True) is unmade


def test_a_call_that_is_no_argument_is_kept():
    pasting = Pasting(_definitions(E1000))
    assert not pasting.unmakes(SimpleNamespace(via_macro=None, via_arg=None, via_args=None),
                               lambda fid: True)


def test_only_the_definitions_the_call_sees_count():
    """e1000e's ``er32`` pastes; a driver's own ``er32`` (file 2) does not: a call that sees
    the first only is unmade, one that sees both or the second only is not."""
    macros = {"er32": [(["reg"], "__er32(hw, E1000_##reg)"), (["reg"], "ioread32(base + (reg))")]}
    pasting = Pasting(_definitions(macros))
    call = SimpleNamespace(via_macro="er32", via_arg=0, via_args=1)
    assert pasting.unmakes(call, lambda fid: fid == 1)
    assert not pasting.unmakes(call, lambda fid: True)
    assert not pasting.unmakes(call, lambda fid: fid == 2)
    assert not pasting.unmakes(call, lambda fid: False)


def test_a_nested_macro_is_the_definition_the_call_sees():
    """mtk_wed_debugfs.c: ``DUMP_WED(WED_TX_MIB(0))``, ``DUMP_WED`` passes its argument on to
    ``DUMP_REG``, which dozens of drivers define; the driver's own pastes and stringises it
    (file 2), another driver's (file 1, first in the tree) calls it."""
    macros = {"DUMP_REG": [(["r", "..."], "{ readl(r), __VA_ARGS__ }"),
                           (["_reg", "..."], "{ #_reg, MTK_##_reg, __VA_ARGS__ }")],
              "DUMP_WED": [(["_reg"], "DUMP_REG(_reg, DUMP_TYPE_WED)")]}
    lookup = _definitions(macros)
    pasting = Pasting(lambda name: [(2, p, b) for _f, p, b in lookup(name)]
                      if name == "DUMP_WED" else lookup(name))
    call = SimpleNamespace(via_macro="DUMP_WED", via_arg=0, via_args=1)
    assert pasting.unmakes(call, lambda fid: fid == 2, 2)
    assert not pasting.unmakes(call, lambda fid: fid == 1, 1)


# nouveau's push macros (nvif/push.h): PUSH_NV picks PUSH_NV_<n> by the number of arguments
# (its expansion ends with the picked name, and ``(, ##A)`` follows it), which pastes each
# method onto the class: ``PUSH_MTHD(push, NV507D, HEAD_SET_CONTROL_CURSOR(i), data)``.
NVIF = {
    "PUSH_MTHD": [(["A..."], "PUSH_NV(NVSQ, ##A)")],
    "PUSH_NV": [(["A..."], "PUSH_NV_(A, PUSH_NV_2, PUSH_NV_2, PUSH_NV_1, PUSH_NV_1)(, ##A)")],
    "PUSH_NV_": [(["A", "B", "C", "D", "E", "F", "G", "H", "IMPL", "..."], "IMPL")],
    "PUSH_NV_1": [(["X", "o", "p", "c", "mA", "d..."], "PUSH_##o(p,c,c##_##mA,d)")],
    "PUSH_NV_2": [(["X", "o", "p", "c", "mA", "dA", "mB", "d..."],
                   "PUSH_##o(p,c,c##_##mA,dA,c##_##mB,d)")],
    "PUSH_NVSQ": [(["A..."], "PUSH(MTHD, ##A)")],
    "PUSH": [(["A..."], "do { push_words(A); } while (0)")],
}


@pytest.mark.parametrize("index, count, unmade", [(2, 4, True), (3, 4, False), (4, 6, True),
                                                  (5, 6, False)])
def test_a_macro_picked_by_the_count_of_arguments_pastes_the_method(index, count, unmade):
    pasting = Pasting(_definitions(NVIF))
    call = SimpleNamespace(via_macro="PUSH_MTHD", via_arg=index, via_args=count)
    assert pasting.unmakes(call, lambda fid: True) is unmade
