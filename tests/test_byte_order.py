"""``__LITTLE_ENDIAN`` / ``__BIG_ENDIAN``: Kbuild reads ``include/linux/kconfig.h`` before every
object, and it defines the big one with ``CONFIG_CPU_BIG_ENDIAN``, else the little one. A
condition on them is decided as a compiler building the tree decides it (flexcop's
``#if defined(__LITTLE_ENDIAN)`` / ``#include "flexcop_ibi_value_le.h"``, whose ``#else`` is
another test and an ``#error``: taken for a name nothing defines, its branch was dropped, and
each use of ``flexcop_ibi_value`` was a 407_2 under Debian's .config, 31 of them)."""

from __future__ import annotations

import pytest

from kernel_lsp.parse.macroenv import Configuration
from tests.conftest import checked_errors, write_tree

REG_H = """\
#if defined(__LITTLE_ENDIAN)
typedef struct { int le; } ibi_value;
#else
#if defined(__BIG_ENDIAN)
typedef struct { int be; } ibi_value_be;
#else
#error no endian defined
#endif
#endif
#ifndef __BIG_ENDIAN
struct order { int le; };
#endif
"""
TREE = {
    "Kconfig": "config CPU_BIG_ENDIAN\n\tbool \"big endian\"\nconfig X\n\ttristate \"x\"\n",
    "Makefile": "obj-y += drivers/\n",
    "drivers/Makefile": "obj-y += x/\n",
    "drivers/x/Makefile": "obj-$(CONFIG_X) += x.o\n",
    "drivers/x/reg.h": REG_H,
    "drivers/x/x.c": ("#include \"reg.h\"\nint f(void)\n{\n\tibi_value v;\n\tstruct order o;\n"
                      "\tibi_typo t;\n\treturn v.le + o.le + sizeof(t);\n}\n"),
}


@pytest.mark.parametrize("config, expected", [
    ("CONFIG_X=y\n", {(6, "ibi_typo")}),
    ("CONFIG_X=y\nCONFIG_CPU_BIG_ENDIAN=y\n", {(4, "ibi_value"), (5, "order"), (6, "ibi_typo")}),
])
def test_the_byte_order_is_the_one_kconfig_h_defines(tmp_path, capsys, config, expected):
    got = checked_errors(write_tree(tmp_path, {**TREE, ".config": config}), capsys)
    assert {(line, sym) for _p, line, _code, sym in got} == expected


def test_nothing_known_of_the_configuration_leaves_it_undecided():
    env = Configuration()
    assert env.defined("__LITTLE_ENDIAN") is None and env.value("__BIG_ENDIAN") is None
    known = Configuration(values={"X": "y"}, known=True)
    assert known.defined("__LITTLE_ENDIAN") and not known.defined("__BIG_ENDIAN")
    assert known.value("__LITTLE_ENDIAN") == 1234
