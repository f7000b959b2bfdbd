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
        "\treturn (all[n] == one) + (int)sizeof(*all) + (p[0] == one) +\n"
        "\t\t(int)sizeof(struct vec *) + (int)sizeof(struct vec *[2]);\n"  # 23 pointers
        "}\n"
        "int whole(void)\n"                                 # 25
        "{\n"
        "\treturn sizeof(struct vec);\n"                     # 27 407_2 vec (sizeof)
        "}\n")
TREE = {
    "Kconfig": "",
    "include/linux/fwd.h": "struct vec;\n",  # declared, not defined: pointers only
    "include/linux/vec.h": "struct vec {\n\tint len;\n};\n",
    "lib/vec_user.c": USER,
}
EXPECTED = {("lib/vec_user.c", line, "407_2", "vec") for line in (4, 8, 13, 17, 27)}


def test_indexing_stepping_and_sizeof_through_a_pointer_need_the_struct(tmp_path, capsys):
    assert checked_errors(write_tree(tmp_path, TREE), capsys) == EXPECTED


def test_with_the_definition_included_nothing_is_reported(tmp_path, capsys):
    tree = {**TREE, "lib/vec_user.c": USER.replace("<linux/fwd.h>", "<linux/vec.h>")}
    assert checked_errors(write_tree(tmp_path, tree), capsys) == set()


# Through a macro: an iterator that dereferences its cursor, ``container_of`` and ``offsetof``
# with the struct written as an argument. Functions given the same pointers need nothing.
LIST_H = ("#define offsetof(T, m) __builtin_offsetof(T, m)\n"
          "#define container_of(ptr, type, member) \\\n"
          "\t((type *)((char *)(ptr) - offsetof(type, member)))\n"
          "#define list_entry(ptr, type, member) container_of(ptr, type, member)\n"
          "#define list_next_entry(pos, member) \\\n"
          "\tlist_entry((pos)->member.next, typeof(*(pos)), member)\n"
          "#define list_for_each_entry(pos, head, member) \\\n"
          "\tfor (pos = list_entry((head)->next, typeof(*pos), member); \\\n"
          "\t     &pos->member != (head); pos = list_next_entry(pos, member))\n"
          "#define for_each_slot(i, n) for (i = 0; i < (n); i++)\n"
          "#define list_cast(p) ((struct list_head *)(p))\n"
          "struct list_head { struct list_head *next; };\n")
ITER_USER = ("#include <linux/list.h>\n"                            # 1
             "#include <linux/fwd.h>\n"                             # 2
             "void forget(struct vec *v);\n"                        # 3
             "void drain(struct list_head *all, struct vec *v)\n"   # 4
             "{\n"
             "\tlist_for_each_entry(v, all, node)\n"                # 6  407_2 vec (the cursor)
             "\t\tforget(v);\n"
             "}\n"
             "struct vec *owner(struct list_head *node)\n"          # 9
             "{\n"
             "\treturn container_of(node, struct vec, node);\n"     # 11 407_2 vec (the type)
             "}\n"
             "int where(void)\n"                                    # 13
             "{\n"
             "\treturn offsetof(struct vec, node);\n"               # 15 407_2 vec
             "}\n"
             "void pass(struct vec *v, int n)\n"                    # 17
             "{\n"
             "\tint i;\n"
             "\tfor_each_slot(i, n) {\n"                            # 20 a macro that needs nothing
             "\t\tforget(v);\n"                                     # 21 a function: nothing
             "\t\tlist_cast(v);\n"                                  # 22 a cast: nothing
             "\t}\n"
             "}\n")
ITER_TREE = {
    "Kconfig": "",
    "include/linux/list.h": LIST_H,
    "include/linux/fwd.h": "struct vec;\n",
    "include/linux/vec.h": "#include <linux/list.h>\n"
                           "struct vec {\n\tstruct list_head node;\n};\n",
    "lib/drain.c": ITER_USER,
}
ITER_EXPECTED = {("lib/drain.c", line, "407_2", "vec") for line in (6, 11, 15)}


def test_macros_that_dereference_or_measure_their_arguments_need_the_struct(tmp_path, capsys):
    assert checked_errors(write_tree(tmp_path, ITER_TREE), capsys) == ITER_EXPECTED


def test_a_macro_that_is_not_visible_is_reported_itself_not_its_arguments(tmp_path, capsys):
    user = ITER_USER.replace("#include <linux/list.h>\n", "")
    found = checked_errors(write_tree(tmp_path, {**ITER_TREE, "lib/drain.c": user}), capsys)
    assert {f for f in found if f[2] == "407_2"} == {("lib/drain.c", 14, "407_2", "vec")}
    assert {(f[1], f[3]) for f in found if f[2] != "407_2"} >= {(5, "list_for_each_entry"),
                                                               (10, "container_of")}


def test_with_the_struct_included_macros_need_nothing_more(tmp_path, capsys):
    user = ITER_USER.replace("<linux/fwd.h>", "<linux/vec.h>")
    assert checked_errors(write_tree(tmp_path, {**ITER_TREE, "lib/drain.c": user}), capsys) == set()


# What GCC reports of objects whose struct is incomplete (gcc -fsyntax-only, GCC 12): the
# declaration of an object by value (a local, an array of structs, a definition's parameter,
# an enum too), and then nothing of its uses; a member access through a file-scope pointer or
# an extern object by value; an extern array of them.
OBJ_USER = ("#include <linux/fwd.h>\n"                      # 1
            "enum mode;\n"
            "static struct vec *gp;\n"                      # 3
            "extern struct vec gv;\n"                       # 4
            "int a(void)\n"
            "{\n"
            "\tstruct vec q;\n"                             # 7  407_2 vec (storage size)
            "\tq.len = 1;\n"                                # 8  nothing more
            "\treturn q.len;\n"
            "}\n"
            "int b(struct vec s, enum mode m)\n"            # 11 407_2 vec, mode (parameters)
            "{\n"
            "\treturn s.len;\n"                             # 13 nothing more
            "}\n"
            "int c(void)\n"
            "{\n"
            "\treturn gp->len + gv.len;\n"                  # 17 407_2 vec (file-scope objects)
            "}\n"
            "int d(int i)\n"
            "{\n"
            "\tstruct vec arr[4];\n"                        # 21 407_2 vec (array element)
            "\treturn arr[i].len + (int)sizeof(arr[0]);\n"  # 22 nothing more
            "}\n"
            "void e(struct vec s, enum mode m);\n"          # 24 a prototype: legal
            "int f(struct vec *gp)\n"                       # 25 a parameter hides the global
            "{\n"
            "\treturn gp == 0;\n"
            "}\n"
            "extern struct vec table[];\n"                 # 29 407_2 vec (array of them)
            "extern struct vec *ptrs[4];\n")               # 30 pointers: legal
OBJ_TREE = {**TREE, "include/linux/mode.h": "enum mode { M_ON };\n", "lib/vec_user.c": OBJ_USER}
OBJ_EXPECTED = {("lib/vec_user.c", line, "407_2", name)
                for line, name in ((7, "vec"), (11, "vec"), (11, "mode"), (17, "vec"),
                                   (21, "vec"), (29, "vec"))}


def test_objects_of_an_incomplete_struct_are_reported_where_the_compiler_does(tmp_path, capsys):
    assert checked_errors(write_tree(tmp_path, OBJ_TREE), capsys) == OBJ_EXPECTED


# acpica's member-run macros: a struct body that invokes one needs the types of its members
# there (GCC: "unknown type name 'u16'" in the expansion of each invocation).
ACOBJ_H = ("#define OBJECT_COMMON_HEADER \\\n"                          # 1
           "\tunion acpi_object *next_object; \\\n"
           "\tu8 descriptor_type; \\\n"
           "\tu16 reference_count;\n"
           "#define COMMON_BUFFER_INFO(_type) \\\n"                      # 5
           "\t_type *pointer; \\\n"
           "\tu32 length;\n"
           "#define NOTIFY_INFO \\\n"
           "\tunion acpi_object *handler;\t/* no type to know */\n"
           "\n"
           "struct acpi_object_common {\n"                               # 11
           "\tOBJECT_COMMON_HEADER};\n"                                  # 12 u8, u16
           "\n"
           "struct acpi_object_buffer {\n"
           "\tOBJECT_COMMON_HEADER COMMON_BUFFER_INFO(char)\n"           # 15 u8, u16, u32
           "\tchar *aml_start;\n"
           "};\n"
           "\n"
           "struct acpi_object_notify {\n"
           "\tOBJECT_COMMON_HEADER NOTIFY_INFO\n"                        # 20 u8, u16
           "\t/* OBJECT_COMMON_HEADER in a comment is nothing */\n"
           "};\n"
           "#define DISASM_ONLY(a)\n"                                    # 23 (a; when debugging)
           "#define PARSE_COMMON \\\n"
           "\tu8 flags; \\\n"
           "\tDISASM_ONLY(u32 disasm_flags)\n"                          # 26 brings nothing here
           "struct acpi_parse_common {\n"
           "PARSE_COMMON};\n"                                            # 28 u8
           "static inline int parse_flags(struct acpi_parse_common *p)\n"
           "{\n"
           "\treturn p->flags;\n"                                       # 31 the struct survives
           "}\n")
ACOBJ_TREE = {
    "Kconfig": "",
    "include/linux/types.h": "typedef unsigned char u8;\ntypedef unsigned short u16;\n"
                             "typedef unsigned int u32;\n",
    "drivers/acpi/acobj.h": ACOBJ_H,
    "drivers/acpi/user.c": "#include \"acobj.h\"\n\nint acpi_size(void)\n{\n"
                           "\treturn sizeof(struct acpi_object_common);\n}\n",
}


def test_member_run_macros_need_their_members_types_where_invoked(tmp_path, capsys):
    found = checked_errors(write_tree(tmp_path, ACOBJ_TREE), capsys)
    assert {(f[1], f[3]) for f in found if f[2] == "407_2"} == {
        (12, "u8"), (12, "u16"), (15, "u8"), (15, "u16"), (15, "u32"), (20, "u8"), (20, "u16"),
        (28, "u8")}
    tree = {**ACOBJ_TREE, "drivers/acpi/user.c": "#include <linux/types.h>\n"
            + ACOBJ_TREE["drivers/acpi/user.c"]}
    assert checked_errors(write_tree(tmp_path / "fine", tree), capsys) == set()


def test_a_member_run_ending_in_a_macro_is_blanked_for_the_parser_not_read_as_a_type():
    from kernel_lsp.parse.extract import extract
    uses = extract("drivers/acpi/acobj.h", ACOBJ_H.encode()).type_uses
    assert "PARSE_COMMON" not in {u.name for u in uses}
    assert (27, "u8") in {(u.span.line, u.name) for u in uses}  # 0-based line of the invocation


# An unknown type name in a definition's parameter list: GCC reports it and skips the body
# (nothing inside is reported); in the return type the body is still read.
SKIP_USER = ("#include <linux/fwd.h>\n"                         # 1
             "static int first(int a, vec_t v)\n"               # 2  407_2 vec_t
             "{\n"
             "\tstruct vec *p = 0;\n"
             "\tundeclared_call();\n"                           # 5  nothing: the body is skipped
             "\treturn p->len;\n"                               # 6  nothing
             "}\n"
             "static vec_t second(struct vec *p)\n"             # 8  407_2 vec_t
             "{\n"
             "\tundeclared_call();\n"                           # 10 020_2: the body is read
             "\treturn p->len;\n"                               # 11 407_2 vec
             "}\n")
SKIP_TREE = {**TREE, "include/linux/vec.h": "struct vec {\n\tint len;\n};\n"
             "typedef struct vec vec_t;\n", "lib/vec_user.c": SKIP_USER}
SKIP_EXPECTED = {("lib/vec_user.c", 2, "407_2", "vec_t"), ("lib/vec_user.c", 8, "407_2", "vec_t"),
                 ("lib/vec_user.c", 10, "020_2", "undeclared_call"),
                 ("lib/vec_user.c", 11, "407_2", "vec")}


def test_a_body_whose_parameters_the_compiler_cannot_read_is_not_checked(tmp_path, capsys):
    assert checked_errors(write_tree(tmp_path, SKIP_TREE), capsys) == SKIP_EXPECTED


def test_a_macro_standing_for_a_type_is_a_type_name_to_include(tmp_path, capsys):
    tree = {**TREE, "include/linux/mutex.h": "#define vec_mutex void *\n",
            "lib/vec_user.c": "#include <linux/fwd.h>\nstruct holder {\n\tvec_mutex lock;\n};\n"}
    assert checked_errors(write_tree(tmp_path, tree), capsys) == {
        ("lib/vec_user.c", 3, "407_2", "vec_mutex")}
    tree["lib/vec_user.c"] = "#include <linux/mutex.h>\n" + tree["lib/vec_user.c"]
    assert checked_errors(write_tree(tmp_path / "fine", tree), capsys) == set()


def test_a_header_as_a_unit_includes_it_needs_its_type_macros_and_what_its_macros_need(
        tmp_path, capsys):
    """In a header that relies on its includers (checked as each unit sees it): a macro
    standing for a type counts like a typedef, and a struct handed to a macro counts only when
    the macro's body needs it."""
    tree = {**ITER_TREE,
            "include/linux/mutex.h": "#define vec_mutex void *\n",
            "include/linux/holder.h": (
                "#include <linux/list.h>\n"                                   # 1
                "#define vec_walk(v, n) for (v = 0; n; n--)\n"
                "struct holder {\n\tvec_mutex lock;\n};\n"                    # 4 407_2 vec_mutex
                "static inline void holder_walk(struct list_head *all, struct vec *v, int n)\n"
                "{\n"
                "\tint i;\n"
                "\tlist_for_each_entry(v, all, node) {\n"                     # 9 407_2 vec
                "\t\tn--;\n\t}\n"
                "\tfor_each_slot(i, n)\n"                                     # 12 nothing
                "\t\tlist_cast(v);\n"
                "\tvec_walk(v, n) {\n"                                        # 14 nothing
                "\t\tn--;\n\t}\n"
                "}\n"),
            "lib/drain.c": "#include <linux/fwd.h>\n#include <linux/holder.h>\n"}
    found = checked_errors(write_tree(tmp_path, tree), capsys)
    assert found == {("include/linux/holder.h", 4, "407_2", "vec_mutex"),
                     ("include/linux/holder.h", 9, "407_2", "vec")}
