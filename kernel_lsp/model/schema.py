"""The model's SQLite schema: tables, indexes, relationship views, and the migration chain.

The schema is documented in ``docs/model.md``; ``SCHEMA_VERSION`` is stored in ``meta`` and every
change to this file comes with a migration step in ``MIGRATIONS``.
"""

from __future__ import annotations

import zlib
from typing import NamedTuple

from kernel_lsp.model import factlists

SCHEMA_VERSION = 21
APPLICATION_ID = 0x4B4C5350  # "KLSP": marks a database as ours (PRAGMA application_id)
# version 17: pages of 16 KiB (SQLite's default is 4 KiB): the compressed lists of
# ``factlists`` and ``macro_lists`` spill less into overflow pages, and fewer pages keep
# space free; 15 MB less on Linux 6.1 (a migrated model gets them when it is compacted)
PAGE_SIZE = 16384

TABLES: dict[str, str] = {
    "meta": "key TEXT PRIMARY KEY, value TEXT",
    "dirs": "id INTEGER PRIMARY KEY, path TEXT UNIQUE NOT NULL, level INTEGER NOT NULL, "
            "father TEXT",
    "files": "id INTEGER PRIMARY KEY, path TEXT UNIQUE NOT NULL, dir TEXT NOT NULL, "
             "size INTEGER, mtime_ns INTEGER, sha1 TEXT, error_nodes INTEGER, problem TEXT, "
             "type_use_total INTEGER DEFAULT 0, inactive TEXT, expanded INTEGER DEFAULT 0",
    "functions": "id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL, name TEXT NOT NULL, "
                 "is_definition INTEGER, storage TEXT, inline INTEGER, ret_name TEXT, "
                 "ret_kind TEXT, params TEXT, signature TEXT, start_byte INTEGER, "
                 "end_byte INTEGER, line INTEGER, col INTEGER, end_line INTEGER, end_col INTEGER, "
                 "name_line INTEGER, name_col INTEGER, name_end_col INTEGER, parent TEXT, "
                 "generated_by TEXT",
    "types": "id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL, name TEXT NOT NULL, "
             "kind TEXT NOT NULL, is_definition INTEGER, members TEXT, underlying_name TEXT, "
             "underlying_kind TEXT, start_byte INTEGER, line INTEGER, col INTEGER, "
             "end_line INTEGER, end_col INTEGER, name_line INTEGER, name_col INTEGER, "
             "name_end_col INTEGER, generated_by TEXT",
    "variables": "id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL, name TEXT NOT NULL, "
                 "storage TEXT, is_definition INTEGER, type_name TEXT, type_kind TEXT, "
                 "start_byte INTEGER, line INTEGER, col INTEGER, end_col INTEGER, "
                 "generated_by TEXT",
    "calls": "file_id INTEGER NOT NULL, caller TEXT, callee TEXT NOT NULL, kind TEXT, "
             "start_byte INTEGER, line INTEGER, col INTEGER, end_col INTEGER, via_macro TEXT, "
             "via_arg INTEGER, via_args INTEGER",
    "type_uses": "file_id INTEGER NOT NULL, name TEXT NOT NULL, kind TEXT, function TEXT, "
                 "owner TEXT, start_byte INTEGER, line INTEGER, col INTEGER, end_col INTEGER, "
                 "need INTEGER DEFAULT 0, more TEXT, via_macro TEXT, via_arg INTEGER, "
                 "via_type INTEGER, drops_owner INTEGER",
    "var_uses": "file_id INTEGER NOT NULL, function TEXT, name TEXT NOT NULL, "
                "start_byte INTEGER, line INTEGER, col INTEGER, end_col INTEGER",
    "includes": "file_id INTEGER NOT NULL, target TEXT NOT NULL, angled INTEGER, "
                "start_byte INTEGER, line INTEGER, col INTEGER, end_col INTEGER, "
                "resolved_id INTEGER, guard TEXT",
    "macros": "file_id INTEGER NOT NULL, name TEXT NOT NULL, params TEXT, body TEXT, "
              "start_byte INTEGER, line INTEGER, col INTEGER, end_col INTEGER, "
              "name_key INTEGER",
    "exports": "file_id INTEGER NOT NULL, name TEXT NOT NULL, line INTEGER, col INTEGER",
    "invocations": "file_id INTEGER NOT NULL, name TEXT NOT NULL, args TEXT, has_body INTEGER, "
                   "start_byte INTEGER, line INTEGER, col INTEGER",
    # version 5: names defined in the #if branches the configuration drops (``parse/hidden.py``)
    "hidden": "file_id INTEGER NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, "
              "start_byte INTEGER, line INTEGER, col INTEGER, end_col INTEGER, "
              "end_byte INTEGER",  # version 19
    # version 4: derived from types.members by the triggers below (never written directly):
    # how many member lists name ``name`` (``enum`` 1: enumerators, 0: struct/union fields)
    "member_names": "name TEXT NOT NULL, enum INTEGER NOT NULL, n INTEGER NOT NULL, "
                    "PRIMARY KEY (name, enum)",
    # version 13: a file's plain macros (``model/plainmacros.py``) as one compressed list of
    # ``n`` entries, and the files defining a plain macro of each key (``name_key``)
    "macro_lists": "file_id INTEGER PRIMARY KEY, n INTEGER NOT NULL, names BLOB NOT NULL, "
                   "places BLOB NOT NULL",
    "macro_keys": "name_key INTEGER NOT NULL, file_id INTEGER NOT NULL, "
                  "PRIMARY KEY (name_key, file_id)",
    # version 14: the files each callee and each used type name occurs in (``NAME_FILES``)
    "callee_files": "callee INTEGER NOT NULL, file_id INTEGER NOT NULL, "
                    "PRIMARY KEY (callee, file_id)",
    "type_name_files": "name INTEGER NOT NULL, file_id INTEGER NOT NULL, "
                       "PRIMARY KEY (name, file_id)",
    # version 15, 16 and 17: a file's calls, type uses and variable uses as one compressed
    # list of ``n`` rows each (``model/factlists.py``); 17: the files each used variable name
    # occurs in (``NAME_FILES``)
    "call_lists": "file_id INTEGER PRIMARY KEY, n INTEGER NOT NULL, data BLOB NOT NULL",
    "type_use_lists": "file_id INTEGER PRIMARY KEY, n INTEGER NOT NULL, data BLOB NOT NULL",
    "var_use_lists": "file_id INTEGER PRIMARY KEY, n INTEGER NOT NULL, data BLOB NOT NULL",
    "var_name_files": "name INTEGER NOT NULL, file_id INTEGER NOT NULL, "
                      "PRIMARY KEY (name, file_id)",
    # version 18: each distinct parameter list of ``functions`` once (``SHARED``)
    "param_lists": "id INTEGER PRIMARY KEY, params TEXT NOT NULL",
    # version 20: each distinct signature of ``functions``, its function's name cut out, once
    "signature_texts": "id INTEGER PRIMARY KEY, signature TEXT NOT NULL",
}
# Tables stored as their primary key's b-tree (version 11: member_names, which is only ever
# read and updated by its key; a rowid table kept the same names twice, table and index).
WITHOUT_ROWID = frozenset({"member_names", "macro_keys", "callee_files", "type_name_files",
                           "var_name_files"})

# version 11: a table of ``KEYED`` is found by its ``name`` through an integer column ``name_key`` (the
# store fills it, see ``name_key``; no reader writes it) rather than an index of the name text:
# Linux has 2.9 million macros, most of them unique register constants, and an index of their
# names held every name a second time (115 MB of a 1.1 GB model). Readers match the key and the
# name: ``name_key = klsp_name_key(?) AND name = ?`` (``klsp_name_key`` is ``name_key``,
# registered on every connection the store opens); a prefix is a range of keys (``key_range``).
KEYED = frozenset({"macros"})
KEY_COLUMN = "name_key"
_SEVEN_BITS = bytes(min(i, 0x7F) for i in range(256))  # a byte above 0x7F counts as 0x7F
KEY_CHARS, KEY_HASH_BITS = 5, 12  # 5 x 7 + 12 = 47 bits: a 6-byte SQLite integer (``_head``
# is written for five)


def _head(data: bytes, pad: int) -> int:
    """The first ``KEY_CHARS`` bytes of ``data`` as 7-bit digits (``pad`` after its end)."""
    b = data[:KEY_CHARS].translate(_SEVEN_BITS).ljust(KEY_CHARS, bytes((pad,)))
    return (b[0] << 28) | (b[1] << 21) | (b[2] << 14) | (b[3] << 7) | b[4]  # KEY_CHARS digits


def name_key(name: str) -> int:
    """The key of ``name``: its first five bytes (as 7-bit ASCII), so that the names starting
    with a prefix are a range of keys, over 12 bits of its CRC-32, so that names with the same
    first five bytes mostly differ (readers compare the names too). 47 bits: SQLite stores it
    in 6 bytes."""
    data = name.encode("utf-8", "replace")
    return (_head(data, 0) << KEY_HASH_BITS) | (zlib.crc32(data) & 0xFFF)


def name_head(name: str) -> str | None:
    """The first ``KEY_CHARS`` characters of ``name`` when its key keeps them exactly (ASCII,
    none of them NUL or DEL, the name that long); else None. ``key_head`` gives them back from
    the key."""
    head = name[:KEY_CHARS]
    if len(head) < KEY_CHARS or not head.isascii() or "\x00" in head or "\x7f" in head:
        return None
    return head


def key_head(key: int) -> str | None:
    """``name_head`` of every name whose key is ``key``."""
    head = key >> KEY_HASH_BITS
    digits = bytes((head >> (7 * i)) & 0x7F for i in range(KEY_CHARS - 1, -1, -1))
    return None if 0 in digits or 0x7F in digits else digits.decode("ascii")


KEY_FUNCTION = "klsp_name_key"  # ``name_key`` as an SQL function (the store registers it)


def named(alias: str = "") -> str:
    """SQL matching the rows of a ``KEYED`` table (as ``alias``) named parameter ``?1``."""
    p = f"{alias}." if alias else ""
    return f"{p}{KEY_COLUMN} = {KEY_FUNCTION}(?1) AND {p}name = ?1"


def keyed_in(alias: str, n: int) -> str:
    """SQL matching rows of a ``KEYED`` table (as ``alias``) named one of ``n`` names: its
    parameters are the ``n`` keys, then the ``n`` names."""
    marks = ", ".join("?" * n)
    return f"{alias}.{KEY_COLUMN} IN ({marks}) AND {alias}.name IN ({marks})"


def key_range(prefix: str) -> tuple[int, int]:
    """The smallest and largest key of the names that start with ``prefix``."""
    data = prefix.encode("utf-8", "replace")
    return _head(data, 0) << KEY_HASH_BITS, (_head(data, 0x7F) << KEY_HASH_BITS) | 0xFFF


# version 7: the three biggest tables (a whole kernel has millions of calls and uses) hold their
# name-like columns as ids into ``names``; each is stored as ``<table>_interned`` and read through
# a view of its own name that gives the texts back, so every reader sees the columns above. The
# stored tables are clustered by file (``WITHOUT ROWID``, key ``(file_id, seq)``, ``seq`` the
# row's place among its file's rows): a file's rows are one range, with no index of their own.
NAMES_TABLE = "id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE"
INTERNED: dict[str, tuple[str, ...]] = {
    "calls": ("caller", "callee", "kind"),
    "type_uses": ("name", "kind", "function", "owner"),
    "var_uses": ("function", "name"),
}


# version 15 (calls), 16 (type uses) and 17 (variable uses): tables whose rows are stored as
# one compressed list per file (``PACKED[table]``, ``model/factlists.py``), read through a view
# of the table's name as the interned ones.
PACKED: dict[str, str] = {"calls": "call_lists", "type_uses": "type_use_lists",
                          "var_uses": "var_use_lists"}


# version 18: a table of ``SHARED`` keeps the text of some columns (a function's parameter
# list, as JSON; version 20: its signature) once per distinct value, each column in a table of
# its own (``texts``), whose id is the text's ``text_key`` plus a number that tells apart the
# texts of one key. Its rows are stored in ``rows`` with that id in place of the text, and read
# through a view of the table's name that gives the text back (a LEFT JOIN, dropped when the
# column is not read). Linux 6.1 has 880,000 functions but 225,000 distinct parameter lists
# (52.7 MB of text; 25 MB less in all). Texts are never deleted, like ``names``: a writer may
# hold their ids (``Model._text_ids``).
# version 20: the columns of ``names`` are ``names`` ids (a function's name: most are there
# already as callees), and ``cut`` takes the name out of the signature, where ``at`` says:
# 871,641 signatures of Linux 6.1 are 321,131 distinct texts without their function's name
# (``static int (struct platform_device *pdev)``), 728,635 with it: the model 62.7 MB smaller
# (575.9 -> 513.2 million bytes; Linux 6.12: 636.4 -> 566.4).
class Cut(NamedTuple):
    text: str  # a ``texts`` column ...
    name: str  # ... whose text holds the text of this ``names`` column ...
    at: str  # ... at this offset (characters; NULL: the text does not hold it), cut out


class Shared(NamedTuple):
    rows: str  # the table of the rows
    texts: dict[str, str]  # column -> the table of its distinct texts, ``(id, <column>)``
    names: tuple[str, ...] = ()  # columns held as ``names`` ids
    cut: Cut | None = None


SHARED: dict[str, Shared] = {
    "functions": Shared("function_rows", {"params": "param_lists", "signature": "signature_texts"},
                        ("name",), Cut("signature", "name", "name_at"))}
TEXT_KEY_BITS = 8  # the texts of one CRC-32: up to 256
TEXT_KEY_FUNCTION = "klsp_text_key"  # ``text_key`` as an SQL function (the store registers it)


def text_key(text: str | None) -> int | None:
    """The smallest id a ``SHARED`` text may have: its CRC-32 (UTF-8) over ``TEXT_KEY_BITS``
    zero bits; its id is between that and ``text_key + 2**TEXT_KEY_BITS - 1``. None (SQL's
    NULL) for None: no text has no id."""
    if text is None:
        return None
    return zlib.crc32(text.encode("utf-8", "replace")) << TEXT_KEY_BITS


def cut_name(text: str | None, name: str | None) -> tuple[str | None, int | None]:
    """``text`` without the first ``name`` it holds, and where it was (None: not held). The
    view puts it back (``shared_view``); ``cut_sql`` is the same in SQL (migration 20)."""
    at = text.find(name) if text is not None and name else -1
    return (text, None) if at < 0 else (text[:at] + text[at + len(name):], at)


def cut_sql(text: str, name: str) -> tuple[str, str]:
    """``cut_name`` of columns ``text`` and ``name`` in SQL: (the text, the offset); SQLite's
    ``instr`` and ``substr`` count characters as Python does."""
    found = f"instr({text}, {name})"
    held = f"{name} <> '' AND {found} > 0"
    return (f"CASE WHEN {held} THEN substr({text}, 1, {found} - 1) || "
            f"substr({text}, {found} + length({name})) ELSE {text} END",
            f"CASE WHEN {held} THEN {found} - 1 END")


def shared_columns(table: str) -> tuple[str, ...]:
    """The fact columns of a ``SHARED`` table's rows, as stored: ``FACT_COLUMNS`` with the
    ``cut`` offset after its text."""
    cut, out = SHARED[table].cut, []
    for c in FACT_COLUMNS[table]:
        out.append(c)
        if cut is not None and c == cut.text:
            out.append(cut.at)
    return tuple(out)


def shared_view(table: str) -> str:
    """The SELECT of the view ``table`` over its ``SHARED`` rows: the texts and names in place
    of their ids, the cut name back in its text."""
    shared = SHARED[table]
    cut, select, joins = shared.cut, [], []
    for c in columns(table):
        if c in shared.texts:
            value = f"s_{c}.{c}"
            joins.append(f"LEFT JOIN {shared.texts[c]} s_{c} ON s_{c}.id = t.{c}")
        elif c in shared.names:
            value = f"n_{c}.name"
            joins.append(f"JOIN names n_{c} ON n_{c}.id = t.{c}")
        else:
            value = f"t.{c}"
        if cut is not None and c == cut.text:
            value = (f"CASE WHEN t.{cut.at} IS NULL THEN {value} ELSE substr({value}, 1, "
                     f"t.{cut.at}) || n_{cut.name}.name || substr({value}, t.{cut.at} + 1) END")
        select.append(f"{value} AS {c}")
    return f"SELECT {', '.join(select)} FROM {shared.rows} t {' '.join(joins)}"


def row_table(table: str) -> str:
    """The table that stored the rows of ``table`` a row each (itself, its interned table or
    its ``SHARED`` rows table; for a ``PACKED`` table, before version 15)."""
    if table in SHARED:
        return SHARED[table].rows
    return f"{table}_interned" if table in INTERNED else table


def stored(table: str) -> str:
    """The table that stores the rows of ``table`` now: its ``PACKED`` list table, else
    ``row_table``."""
    return PACKED.get(table) or row_table(table)


def create_table_sql(table: str, skip: tuple[str, ...] = ()) -> str:
    """CREATE TABLE of the table that stores ``table``'s rows (interned columns hold ids);
    ``skip``: columns left out (the table of an older version)."""
    if table in WITHOUT_ROWID:
        return f"CREATE TABLE IF NOT EXISTS {table} ({TABLES[table]}) WITHOUT ROWID"
    if table in SHARED:
        shared, cols = SHARED[table], []
        for col in TABLES[table].split(","):
            name, *rest = col.split()
            if name in shared.texts or name in shared.names:
                rest = ["INTEGER", *rest[1:]]
            cols.append(" ".join([name, *rest]))
            if shared.cut is not None and name == shared.cut.text:
                cols.append(f"{shared.cut.at} INTEGER")
        return f"CREATE TABLE IF NOT EXISTS {shared.rows} ({', '.join(cols)})"
    if table not in INTERNED:
        return f"CREATE TABLE IF NOT EXISTS {table} ({TABLES[table]})"
    cols = []
    for col in TABLES[table].split(","):
        name, *rest = col.split()
        if name in skip:
            continue
        if name in INTERNED[table]:
            rest = ["INTEGER", *rest[1:]]
        cols.append(" ".join([name, *rest]))
        if name == "file_id":
            cols.append("seq INTEGER NOT NULL")
    return (f"CREATE TABLE IF NOT EXISTS {row_table(table)} ({', '.join(cols)}, "
            "PRIMARY KEY (file_id, seq)) WITHOUT ROWID")


def interned_view(table: str, skip: tuple[str, ...] = ()) -> str:
    """The SELECT of the view ``table`` over ``stored(table)``: ids turned back into names
    (a nullable column through a LEFT JOIN, which SQLite drops when the column is not read);
    ``skip``: columns left out (the view of an older version)."""
    select, joins = [], []
    for col in TABLES[table].split(","):
        name, *rest = col.split()
        if name in skip:
            continue
        if name in INTERNED[table]:
            join = "JOIN" if "NOT NULL" in " ".join(rest) else "LEFT JOIN"
            select.append(f"n_{name}.name AS {name}")
            joins.append(f"{join} names n_{name} ON n_{name}.id = t.{name}")
        else:
            select.append(f"t.{name} AS {name}")
    return f"SELECT {', '.join(select)} FROM {row_table(table)} t {' '.join(joins)}"


def packed_view(table: str) -> str:
    """The SELECT of the view ``table`` over its ``PACKED`` lists: each file's list unpacked
    by its layout's row function (``factlists``, which the store registers) into JSON rows,
    their ids turned back into names as in ``interned_view``."""
    layout = factlists.LAYOUTS[table]
    select, joins = [], []
    for col in TABLES[table].split(","):
        name, *rest = col.split()
        if name == "file_id":
            select.append("l.file_id AS file_id")
            continue
        value = f"json_extract(j.value, '$[{layout.columns.index(name)}]')"
        if name in INTERNED[table] or name in PACKED_NAMES:
            join = "JOIN" if "NOT NULL" in " ".join(rest) else "LEFT JOIN"
            select.append(f"n_{name}.name AS {name}")
            joins.append(f"{join} names n_{name} ON n_{name}.id = {value}")
        else:
            select.append(f"{value} AS {name}")
    return (f"SELECT {', '.join(select)} FROM {PACKED[table]} l, "
            f"json_each({layout.rows_function}(l.data)) j {' '.join(joins)}")


# Columns of a ``PACKED`` table kept as ``names`` ids besides its ``INTERNED`` ones.
PACKED_NAMES = ("via_macro",)


# Tables holding one file's facts: replaced together when the file changes.
FACT_TABLES = ("functions", "types", "variables", "calls", "type_uses", "var_uses", "includes",
               "macros", "exports", "invocations", "hidden")


def columns(table: str) -> tuple[str, ...]:
    """The column names of ``table``, in order, read from its definition above."""
    return tuple(col.split()[0] for col in TABLES[table].split(","))


# The one column list per fact table that every writer and reader uses: a file's fact rows
# carry these columns (no ``id``, no ``file_id``: the store adds them). ``model/rows.py`` makes
# a named row type of each list.
FACT_COLUMNS: dict[str, tuple[str, ...]] = {
    t: tuple(c for c in columns(t) if c not in ("id", "file_id", KEY_COLUMN)) for t in FACT_TABLES}
# The writer turns names into ids by position: the interned columns come first in each table.
if any(FACT_COLUMNS[t][:len(c)] != c for t, c in INTERNED.items()):
    raise ValueError("the interned columns of a table must be its first fact columns")
if any(FACT_COLUMNS[t] != factlists.LAYOUTS[t].columns for t in PACKED):
    raise ValueError("a packed table's layout must have its fact columns")  # the rows are
    # packed as they are

INDEXES = [
    ("functions", ["name"]), ("functions", ["file_id"]), ("types", ["name"]),
    ("types", ["file_id"]), ("variables", ["name"]), ("variables", ["file_id"]),
    ("calls", ["file_id"]),
    ("type_uses", ["file_id"]), ("var_uses", ["file_id"]), ("includes", ["file_id"]),
    # (version 21: a header's includers in file order, from the index alone)
    ("includes", ["resolved_id", "file_id", "start_byte"]), ("macros", ["file_id"]),
    ("exports", ["file_id"]), ("invocations", ["file_id"]),
    # version 2: navigation (definitions of macros, references to variables; version 14: of
    # calls and types through ``NAME_FILES``)
    ("var_uses", ["name"]),
    # version 3: the files invoking a macro (re-expanded when its definition changes)
    ("invocations", ["name"]),
    # version 5: names of dropped branches, by name
    ("hidden", ["name"]), ("hidden", ["file_id"]),
    # version 11: macros by name, through their keys (``KEYED``)
    ("macros", [KEY_COLUMN]),
]


def index_statements(only: str | None = None) -> list[str]:
    """CREATE INDEX IF NOT EXISTS of the indexes of ``INDEXES`` (of table ``only``): named after
    the table (``idx_var_uses_name``), built on the table that stores its rows; an interned
    table's ``file_id`` index is its key and has none."""
    return [f"CREATE INDEX IF NOT EXISTS idx_{t}_{'_'.join(cols)} "
            f"ON {row_table(t)}({', '.join(cols)})"
            for t, cols in INDEXES
            if only in (None, t) and t not in PACKED
            and not (t in INTERNED and cols == ["file_id"])]


# The level types and relationships of the LMVM model, as views over the fact tables.
VIEWS = {
    "level_types": """
        SELECT 'base' AS level, 1 AS digit, name, NULL AS path, NULL AS father
          FROM (SELECT DISTINCT ret_name AS name FROM functions WHERE ret_kind = 'base')
        UNION ALL
        SELECT 'func', 2, f.name, fl.path, fl.path FROM functions f JOIN files fl ON fl.id = f.file_id
         WHERE f.is_definition = 1
        UNION ALL
        SELECT 'struct', 3, t.name, fl.path, fl.path FROM types t JOIN files fl ON fl.id = t.file_id
         WHERE t.is_definition = 1
        UNION ALL
        SELECT 'file', 4, path, path, dir FROM files
        UNION ALL
        SELECT CASE level WHEN 5 THEN 'dentry' ELSE 'subsys' END, level, path, path, father
          FROM dirs
    """,
    "relationships": """
        SELECT 'FuncFile' AS kind, fl.path AS from_name, 4 AS from_level, f.name AS to_name,
               2 AS to_level, fl.path AS path
          FROM functions f JOIN files fl ON fl.id = f.file_id WHERE f.parent IS NULL
        UNION ALL
        SELECT 'StructFile', fl.path, 4, t.name, 3, fl.path
          FROM types t JOIN files fl ON fl.id = t.file_id WHERE t.is_definition = 1
        UNION ALL
        SELECT 'ParamIn', f.name, 2, json_extract(p.value, '$[1]'), 3, fl.path
          FROM functions f JOIN files fl ON fl.id = f.file_id, json_each(f.params) p
         WHERE f.is_definition = 1 AND json_extract(p.value, '$[1]') IS NOT NULL
        UNION ALL
        SELECT 'ParamOut', f.name, 2, f.ret_name, 3, fl.path
          FROM functions f JOIN files fl ON fl.id = f.file_id
         WHERE f.is_definition = 1 AND f.ret_name IS NOT NULL
        UNION ALL
        SELECT CASE json_extract(m.value, '$[3]') WHEN 1 THEN 'FuncStruct' ELSE 'VarStruct' END,
               t.name, 3, json_extract(m.value, '$[0]'), 
               CASE json_extract(m.value, '$[3]') WHEN 1 THEN 2 ELSE 3 END, fl.path
          FROM types t JOIN files fl ON fl.id = t.file_id, json_each(t.members) m
         WHERE t.is_definition = 1
        UNION ALL
        SELECT 'Agg', father, CASE WHEN father = '' THEN 6 ELSE 5 END, path, level, path
          FROM dirs
        UNION ALL
        SELECT 'Agg', dir, 5, path, 4, path FROM files
        UNION ALL
        SELECT 'Invocable', c.caller, 2, c.callee, 2, fl.path
          FROM calls c JOIN files fl ON fl.id = c.file_id WHERE c.kind = 'direct'
        UNION ALL
        SELECT 'Accessible', u.function, 2, u.name, 3, fl.path
          FROM type_uses u JOIN files fl ON fl.id = u.file_id WHERE u.function IS NOT NULL
        UNION ALL
        SELECT 'Accessible', v.function, 2, v.name, 3, fl.path
          FROM var_uses v JOIN files fl ON fl.id = v.file_id
           JOIN variables g ON g.name = v.name AND g.file_id = v.file_id
    """,
}
# The parts of ``relationships``, one SELECT each: a count of the view counts those that read
# a ``PACKED`` view from the lists (``DesignSQL.relationship_counts``), not through JSON.
RELATIONSHIP_PARTS = [part.strip() for part in VIEWS["relationships"].split("UNION ALL")]

# Triggers that keep derived tables exact whenever fact rows are inserted or deleted (one file's
# replacement, a removal, the cross-file expansion), inside the writer's own transaction.
_MEMBER = "json_extract(m.value, '$[0]')"
TRIGGERS = {
    "member_names_insert": f"""
        CREATE TRIGGER IF NOT EXISTS member_names_insert AFTER INSERT ON types
        WHEN NEW.members IS NOT NULL BEGIN
          INSERT INTO member_names(name, enum, n)
            SELECT {_MEMBER}, NEW.kind = 'enum', count(*) FROM json_each(NEW.members) m
             WHERE {_MEMBER} IS NOT NULL GROUP BY 1
          ON CONFLICT(name, enum) DO UPDATE SET n = n + excluded.n;
        END""",
    "member_names_delete": f"""
        CREATE TRIGGER IF NOT EXISTS member_names_delete AFTER DELETE ON types
        WHEN OLD.members IS NOT NULL BEGIN
          UPDATE member_names SET n = n - (SELECT count(*) FROM json_each(OLD.members) m
                                           WHERE {_MEMBER} = member_names.name)
           WHERE enum = (OLD.kind = 'enum')
             AND name IN (SELECT {_MEMBER} FROM json_each(OLD.members) m);
        END""",
}

# version -> SQL statements that bring a database from version-1 to version.
MIGRATIONS: dict[int, list[str]] = {
    # 2: name indexes for navigation (same names as sqlite-utils gives the INDEXES above)
    2: ["CREATE INDEX IF NOT EXISTS idx_macros_name ON macros(name)",
        "CREATE INDEX IF NOT EXISTS idx_type_uses_name ON type_uses(name)",
        "CREATE INDEX IF NOT EXISTS idx_var_uses_name ON var_uses(name)"],
    # 3: the #if branches the configuration drops; which files the cross-file expansion covered
    3: ["ALTER TABLE files ADD COLUMN inactive TEXT",
        "ALTER TABLE type_uses ADD COLUMN need INTEGER DEFAULT 0",
        "ALTER TABLE files ADD COLUMN expanded INTEGER DEFAULT 0",
        "CREATE INDEX IF NOT EXISTS idx_invocations_name ON invocations(name)"],
    # 4: member and enumerator names by name (406_2 of a few files without reading them all)
    4: [f"CREATE TABLE IF NOT EXISTS member_names ({TABLES['member_names']})",
        *TRIGGERS.values(),
        f"INSERT INTO member_names(name, enum, n) SELECT {_MEMBER}, t.kind = 'enum', count(*) "
        f"FROM types t, json_each(t.members) m WHERE t.members IS NOT NULL "
        f"AND {_MEMBER} IS NOT NULL GROUP BY 1, 2"],
    # 5: names defined in dropped #if branches (filled as files are re-extracted: the
    # extractor version changed with it)
    5: ["CREATE TABLE IF NOT EXISTS hidden (file_id INTEGER NOT NULL, name TEXT NOT NULL, "
        "kind TEXT NOT NULL, start_byte INTEGER, line INTEGER, col INTEGER, end_col INTEGER)",
        "CREATE INDEX IF NOT EXISTS idx_hidden_name ON hidden(name)",
        "CREATE INDEX IF NOT EXISTS idx_hidden_file_id ON hidden(file_id)"],
    # 6: the later lines of a type use in its scope, "lines-below:col ..." (``rows.more_sites``;
    # filled as files are re-extracted: the extractor version changed with it)
    6: ["ALTER TABLE type_uses ADD COLUMN more TEXT"],
}


# Columns of the interned tables that migrations after version 7 add (version 7 makes the
# tables without them).
VIA_COLUMNS = ("via_macro", "via_arg", "via_type")  # version 9
DROPS_COLUMNS = ("drops_owner",)  # version 10
CALL_VIA_COLUMNS = ("via_macro", "via_arg", "via_args")  # version 12
ADDED_AFTER_7: dict[str, tuple[str, ...]] = {"type_uses": VIA_COLUMNS + DROPS_COLUMNS,
                                             "calls": CALL_VIA_COLUMNS}


def _intern_migration() -> list[str]:
    """Version 7: move the rows of the ``INTERNED`` tables into their interned tables (same
    order, so rowid order is kept) and put views in their place."""
    out = [f"CREATE TABLE IF NOT EXISTS names ({NAMES_TABLE})"]
    for table, cols in INTERNED.items():
        out += [f"INSERT OR IGNORE INTO names(name) SELECT {c} FROM {table} WHERE {c} IS NOT NULL"
                for c in cols]
        later = ADDED_AFTER_7.get(table, ())  # added by a later migration
        all_cols = [c for c in columns(table) if c not in later]
        values = [f"(SELECT id FROM names WHERE name = t.{c})" if c in cols else f"t.{c}"
                  for c in all_cols]
        seq = "row_number() OVER (PARTITION BY t.file_id ORDER BY t.rowid) - 1"
        out += [create_table_sql(table, later),
                f"INSERT INTO {row_table(table)} (seq, {', '.join(all_cols)}) "
                f"SELECT {seq}, {', '.join(values)} FROM {table} t ORDER BY t.file_id, t.rowid",
                f"DROP TABLE {table}",
                f"CREATE VIEW {table} AS {interned_view(table, later)}"]
        out += index_statements(table)
    return out


MIGRATIONS[7] = _intern_migration()
# 8: the NAME of the undecided ``#ifndef NAME`` directly holding an include line (filled as
# files are re-extracted: the extractor version changed with it)
MIGRATIONS[8] = ["ALTER TABLE includes ADD COLUMN guard TEXT"]
# 9: a type use that is a macro's argument names the macro and the argument (``TypeUse.via``;
# filled as files are re-extracted: the extractor version changed with it). The view over the
# interned table is made again with the new columns.
MIGRATIONS[9] = [f"ALTER TABLE {row_table('type_uses')} ADD COLUMN via_macro TEXT",
                 f"ALTER TABLE {row_table('type_uses')} ADD COLUMN via_arg INTEGER",
                 f"ALTER TABLE {row_table('type_uses')} ADD COLUMN via_type INTEGER",
                 "DROP VIEW IF EXISTS type_uses",
                 f"CREATE VIEW type_uses AS {interned_view('type_uses', DROPS_COLUMNS)}"]
# 10: the return type of ``typedef R (*T)(...)`` says that the compiler drops the typedef
# where R is unknown (``TypeUse.drops_owner``; filled as files are re-extracted).
MIGRATIONS[10] = [f"ALTER TABLE {row_table('type_uses')} ADD COLUMN drops_owner INTEGER",
                  "DROP VIEW IF EXISTS type_uses",
                  f"CREATE VIEW type_uses AS {interned_view('type_uses')}"]
# 11: macros found through ``name_key`` (``KEYED``; the key of every stored macro computed here,
# by the store's ``klsp_name_key``), no index of their name text; member_names without rowid.
MIGRATIONS[11] = [
    f"ALTER TABLE macros ADD COLUMN {KEY_COLUMN} INTEGER",
    f"UPDATE macros SET {KEY_COLUMN} = {KEY_FUNCTION}(name)",
    "DROP INDEX IF EXISTS idx_macros_name",
    *index_statements("macros"),
    *(f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGERS),
    f"CREATE TABLE member_names_11 ({TABLES['member_names']}) WITHOUT ROWID",
    "INSERT INTO member_names_11 (name, enum, n) SELECT name, enum, n FROM member_names",
    "DROP TABLE member_names",
    "ALTER TABLE member_names_11 RENAME TO member_names",
    *TRIGGERS.values(),
]
# 12: a call that is a whole argument of another call names that call's callee, its index and
# the argument count (``Call.via``; filled as files are re-extracted: the extractor version
# changed with it). The view over the interned table is made again with the new columns.
MIGRATIONS[12] = [*(f"ALTER TABLE {row_table('calls')} ADD COLUMN {column} "
                    f"{'TEXT' if column == 'via_macro' else 'INTEGER'}"
                    for column in CALL_VIA_COLUMNS),
                  "DROP VIEW IF EXISTS calls",
                  f"CREATE VIEW calls AS {interned_view('calls')}"]
# 13: plain macros (object-like, no body kept: ``model/plainmacros.py``) leave ``macros`` for one
# compressed list per file and a (key, file) row per name (``klsp_pack_names`` and
# ``klsp_pack_places`` are the two parts of ``plainmacros.pack``, aggregates the store registers
# like ``klsp_name_key``).
PACK_AGGREGATES = ("klsp_pack_names", "klsp_pack_places")
_SPACES = "char(9, 10, 11, 12, 13, 32)"
PLAIN_MACRO = (f"params IS NULL AND body IS NULL AND name <> '' "
               f"AND name NOT GLOB '*[' || {_SPACES} || ']*'")  # ``plainmacros.is_plain``
MIGRATIONS[13] = [
    create_table_sql("macro_lists"), create_table_sql("macro_keys"),
    "INSERT INTO macro_lists (file_id, n, names, places) SELECT file_id, count(*), "
    + ", ".join(f"{f}(name, start_byte, line, col)" for f in PACK_AGGREGATES)
    + f" FROM macros WHERE {PLAIN_MACRO} GROUP BY file_id",
    f"INSERT OR IGNORE INTO macro_keys (name_key, file_id) SELECT "
    f"coalesce({KEY_COLUMN}, {KEY_FUNCTION}(name)), file_id "
    f"FROM macros WHERE {PLAIN_MACRO}",
    f"DELETE FROM macros WHERE {PLAIN_MACRO}",
]
# 14: calls by callee and type uses by name through the files each name occurs in
# (``NAME_FILES``): an index of the column held a row's key for each of 3.8 million calls and
# 3.1 million uses (89 MB on Linux 6.1); the distinct (name, file) pairs are 2 million.
NAME_FILES: dict[str, tuple[str, str]] = {"calls": ("callee", "callee_files"),
                                          "type_uses": ("name", "type_name_files"),
                                          "var_uses": ("name", "var_name_files")}  # 17
MIGRATIONS[14] = [
    *(sql for table in ("calls", "type_uses") for column, pairs in [NAME_FILES[table]] for sql in (
        create_table_sql(pairs),
        f"INSERT OR IGNORE INTO {pairs} ({column}, file_id) SELECT DISTINCT {column}, file_id "
        f"FROM {row_table(table)}",
        f"DROP INDEX IF EXISTS idx_{table}_{column}")),
]


# 15 and 16: a file's calls, then its type uses, are one compressed list (``PACKED``,
# ``model/factlists.py``): a row each took 120 and 125 MiB on Linux 6.1, most of it SQLite's
# cost per row. The layout's aggregate packs a file's rows (the store registers it);
# ``via_macro`` becomes a names id.
def _pack_migration(table: str) -> list[str]:
    layout, rows = factlists.LAYOUTS[table], row_table(table)
    values = ", ".join(f"(SELECT id FROM names WHERE name = t.{c})" if c in PACKED_NAMES
                       else f"t.{c}" for c in layout.columns)
    return [
        *(f"INSERT OR IGNORE INTO names(name) SELECT DISTINCT {c} FROM {rows} "
          f"WHERE {c} IS NOT NULL" for c in PACKED_NAMES if c in layout.columns),
        f"CREATE TABLE IF NOT EXISTS {PACKED[table]} ({TABLES[PACKED[table]]})",
        f"INSERT INTO {PACKED[table]} (file_id, n, data) SELECT t.file_id, count(*), "
        f"{layout.pack_aggregate}(t.seq, {values}) FROM {rows} t GROUP BY t.file_id",
        f"DROP VIEW IF EXISTS {table}",
        f"DROP TABLE {rows}",
        f"CREATE VIEW {table} AS {packed_view(table)}",
    ]


MIGRATIONS[15] = _pack_migration("calls")
MIGRATIONS[16] = _pack_migration("type_uses")
# 17: variable uses by name through the files each name occurs in, as calls and type uses
# (``NAME_FILES``: the index of the column took 7 MiB on Linux 6.1), and packed as they are;
MIGRATIONS[17] = [
    create_table_sql("var_name_files"),
    "INSERT OR IGNORE INTO var_name_files (name, file_id) SELECT DISTINCT name, file_id "
    "FROM var_uses_interned",
    "DROP INDEX IF EXISTS idx_var_uses_name",
    *_pack_migration("var_uses"),
    # ... and the JSON lists are compact (``rows._json``; 7.9 MB on Linux 6.1)
    *(f"UPDATE {table} SET {column} = json({column}) WHERE {column} IS NOT NULL"
      for table, column in (("functions", "params"), ("types", "members"),
                            ("macros", "params"), ("invocations", "args"))),
]


# 18: the parameter lists of functions once each (``SHARED``): the ids of the distinct texts
# (numbered within each key), then the rows with ids in place of texts, in the same order. The
# tables as they were then (version 20 changes them).
def _numbered_texts_sql(texts: str, column: str, source: str) -> str:
    """INSERT of the distinct non-NULL values of ``source`` (a SELECT of one column ``v``) into
    ``texts``, each at its ``text_key`` plus its rank among the texts of that key."""
    key = f"{TEXT_KEY_FUNCTION}(v)"
    return (f"INSERT INTO {texts} (id, {column}) SELECT {key} + row_number() OVER "
            f"(PARTITION BY {key} ORDER BY v) - 1, v FROM (SELECT DISTINCT v FROM ({source}) "
            "WHERE v IS NOT NULL)")


def _text_id_sql(texts: str, column: str, value: str) -> str:
    """The id in ``texts`` of the text ``value`` (an SQL expression), among its key's ids."""
    key, top = f"{TEXT_KEY_FUNCTION}({value})", (1 << TEXT_KEY_BITS) - 1
    return (f"(SELECT s.id FROM {texts} s WHERE s.id BETWEEN {key} AND {key} + {top} "
            f"AND s.{column} = {value})")


def _share_params_migration() -> list[str]:
    cols = columns("functions")
    defs = ", ".join("params INTEGER" if c.split()[0] == "params" else c.strip()
                     for c in TABLES["functions"].split(","))
    values = ", ".join(_text_id_sql("param_lists", "params", "t.params") if c == "params"
                       else f"t.{c}" for c in cols)
    view = ", ".join("s.params AS params" if c == "params" else f"t.{c} AS {c}" for c in cols)
    return [
        f"CREATE TABLE IF NOT EXISTS param_lists ({TABLES['param_lists']})",
        _numbered_texts_sql("param_lists", "params", "SELECT params AS v FROM functions"),
        f"CREATE TABLE IF NOT EXISTS function_rows ({defs})",
        f"INSERT INTO function_rows ({', '.join(cols)}) SELECT {values} FROM functions t "
        "ORDER BY t.id",
        "DROP TABLE functions",
        f"CREATE VIEW functions AS SELECT {view} FROM function_rows t "
        "LEFT JOIN param_lists s ON s.id = t.params",
        "CREATE INDEX IF NOT EXISTS idx_functions_name ON function_rows(name)",
        "CREATE INDEX IF NOT EXISTS idx_functions_file_id ON function_rows(file_id)",
    ]


MIGRATIONS[18] = _share_params_migration()


# 19: where a hidden row's branch ends (kind ``undecided``: a branch kept on ``#ifdef NAME``;
# filled as files are re-extracted: the extractor version changed with it)
MIGRATIONS[19] = ["ALTER TABLE hidden ADD COLUMN end_byte INTEGER"]


# 20: a function's name is a ``names`` id, and its signature, the name cut out, is the id of a
# row of ``signature_texts`` (``SHARED``): the names, the distinct cut texts (numbered within
# each key), then the rows in the same order, in a table of the new columns.
def _cut_names_migration() -> list[str]:
    shared = SHARED["functions"]
    cut_text, cut_at = cut_sql("signature", "name")
    texts = shared.texts["signature"]
    values = {"name": "(SELECT id FROM names WHERE name = t.name)",
              "signature": _text_id_sql(texts, "signature", "t.cut"), shared.cut.at: "t.cut_at"}
    stored = ("id", "file_id", *shared_columns("functions"))
    return [
        "INSERT OR IGNORE INTO names(name) SELECT DISTINCT name FROM function_rows",
        create_table_sql(texts),
        _numbered_texts_sql(texts, "signature", f"SELECT {cut_text} AS v FROM function_rows"),
        "ALTER TABLE function_rows RENAME TO function_rows_19",
        "DROP VIEW functions",
        create_table_sql("functions"),
        f"INSERT INTO function_rows ({', '.join(stored)}) "
        f"SELECT {', '.join(values.get(c, f't.{c}') for c in stored)} "
        f"FROM (SELECT *, {cut_text} AS cut, {cut_at} AS cut_at FROM function_rows_19) t "
        "ORDER BY t.id",
        "DROP TABLE function_rows_19",  # (and its indexes, made again below)
        f"CREATE VIEW functions AS {shared_view('functions')}",
        *index_statements("functions"),
    ]


MIGRATIONS[20] = _cut_names_migration()

# 21: a header's first includers by one walk of an index (``includers_of``: up to 64 of them,
# in file order; the index on ``resolved_id`` alone read and sorted every include line of
# ``linux/types.h``): 1.1 s -> 0.15 s for the 600 most included headers of Linux 6.1
MIGRATIONS[21] = ["DROP INDEX IF EXISTS idx_includes_resolved_id", *index_statements("includes")]


# Migrations that copy whole tables: the file is compacted after them (``VACUUM``).
REWRITING_MIGRATIONS = frozenset({7, 11, 13, 14, 15, 16, 17, 18, 20})

# version 17: every interned table is packed and found by name through its files (the store
# writes them so)
if set(PACKED) != set(INTERNED) or set(NAME_FILES) != set(PACKED):
    raise ValueError("an interned table is packed, and found by name through its files")
