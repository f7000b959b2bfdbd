"""What needs a struct complete besides a member access (``p->f``): indexing a pointer to it
(``v[i]``), stepping it (``p++``, ``p + n``) and ``sizeof(*p)``, as the compiler says ("invalid
use of undefined type", "invalid application of 'sizeof' to incomplete type"); through a
pointer to a pointer (``pages[i]``, ``sizeof(*pages)``) the struct may stay unknown."""

from __future__ import annotations

from tests.conftest import checked_errors, write_tree

USER = ("#include <linux/fwd.h>\n"                          # 1
        "int count(struct vec *vs, int n)\n"                # 2
        "{\n"
        "\treturn vs[n - 1].len;\n"                         # 4  407_2 vec (indexed)
        "}\n"
        "struct vec *next(struct vec *v)\n"                 # 6
        "{\n"
        "\treturn v + 1;\n"                                 # 8  407_2 vec (stepped)
        "}\n"
        "void walk(struct vec *v, int n)\n"                 # 10
        "{\n"
        "\twhile (n--)\n"
        "\t\tv++;\n"                                        # 13 407_2 vec (stepped)
        "}\n"
        "int size(struct vec *v)\n"                         # 15
        "{\n"
        "\treturn sizeof(*v);\n"                            # 17 407_2 vec (sizeof)
        "}\n"
        "int fine(struct vec **all, struct vec *one, int n)\n"  # 19
        "{\n"
        "\tstruct vec **p = all + n;\n"                     # 21 a pointer to pointers: legal
        "\treturn (all[n] == one) + (int)sizeof(*all) + (p[0] == one);\n"
        "}\n")
TREE = {
    "Kconfig": "",
    "include/linux/fwd.h": "struct vec;\n",  # declared, not defined: pointers only
    "include/linux/vec.h": "struct vec {\n\tint len;\n};\n",
    "lib/vec_user.c": USER,
}
EXPECTED = {("lib/vec_user.c", line, "407_2", "vec") for line in (4, 8, 13, 17)}


def test_indexing_stepping_and_sizeof_through_a_pointer_need_the_struct(tmp_path, capsys):
    assert checked_errors(write_tree(tmp_path, TREE), capsys) == EXPECTED


def test_with_the_definition_included_nothing_is_reported(tmp_path, capsys):
    tree = {**TREE, "lib/vec_user.c": USER.replace("<linux/fwd.h>", "<linux/vec.h>")}
    assert checked_errors(write_tree(tmp_path, tree), capsys) == set()
