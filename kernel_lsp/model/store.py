"""The Model class: the one owner of every SQL statement on the kernel model database."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import time
from array import array
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import NamedTuple

import sqlite_utils

from kernel_lsp.model import factlists, schema
from kernel_lsp.model.designsql import DesignSQL
from kernel_lsp.model.listsql import FactListSQL
from kernel_lsp.model.navsql import NavigationSQL
from kernel_lsp.model.plainmacros import NamesPacker, PlacesPacker, PlainMacro, is_plain
from kernel_lsp.model.plainsql import PlainMacroSQL
from kernel_lsp.model.rows import ROW_TYPES, Definition, FactRows, IncludeEdge, Macro
from kernel_lsp.model.symbolsql import SymbolSQL

_KNOWN_NAMES = 200_000  # name ids a Model remembers between writes (then it starts again)
BULK_CACHE_KIB = 64 * 1024  # SQLite's page cache while a cold index fills the model
# the start of an include edge that a Kbuild ``-include`` makes: before the unit's first line
FORCED_START = -1


def _check_width(table: str, rows: list[tuple]) -> None:
    """Refuse ``rows`` of ``table`` that do not have its fact columns, before any is turned
    into ids (what the insert itself would say)."""
    width = len(schema.FACT_COLUMNS[table])
    if rows and set(map(len, rows)) != {width}:
        raise sqlite3.ProgrammingError(f"a {table} row without its {width} columns")


# The ``hidden`` kinds ``undecided_branches`` reads (``parse/extract._undecided_branches``).
BRANCH_KINDS = ("undecided", "unless", "if", "value")


class ModelError(Exception):
    """The database cannot be used (corrupt, foreign, newer schema)."""


class ModelUnavailable(ModelError):
    """The database cannot be used now (locked by another writer, the disk full, an I/O or
    permission error): it is kept as it is, not set aside and rebuilt."""


# What says the file is no model of ours (it is set aside and rebuilt): SQLite's primary codes
_NOT_A_MODEL = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
# ... and what says the machine cannot give what the model needs now
_OF_THE_MOMENT = (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_BUSY,
                  sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN,
                  sqlite3.SQLITE_PERM, sqlite3.SQLITE_NOMEM)


def _primary_code(exc: BaseException) -> int | None:
    """SQLite's primary result code of ``exc`` (its extended code's low byte), if it has one."""
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def damaged(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite's word for a file that is no (longer a) sound database: a
    page torn or overwritten (``database disk image is malformed``)."""
    return isinstance(exc, sqlite3.DatabaseError) and _primary_code(exc) in _NOT_A_MODEL


def of_the_moment(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite's word for a trouble of the machine (the disk full, a file
    size limit, an I/O error, the model locked by another writer), not of kernel-lsp."""
    return isinstance(exc, sqlite3.Error) and _primary_code(exc) in _OF_THE_MOMENT


def make_model_directory(path: Path) -> None:
    """Create the directory the model file ``path`` goes in (``.kernel-lsp``) if it is missing.

    :raises ModelError: it cannot be made (a file of that name is in the way...)."""
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = "not a directory" if parent.exists() and not parent.is_dir() else exc.strerror
        if parent.is_symlink() and not parent.exists():  # (mkdir said 'File exists')
            why = f"a symbolic link to {os.readlink(parent)}, which does not exist"
        raise ModelError(f"{parent}: cannot hold the model ({why})") from exc


def read_only_reason(path: Path) -> str | None:
    """Why the model file ``path`` cannot be written (its directory, or the file, on a
    read-only file system or not writable by this user), or None."""
    parent = path.parent
    if not parent.is_dir() or (os.access(parent, os.W_OK) and (
            not path.exists() or os.access(path, os.W_OK))):
        return None
    try:
        if os.statvfs(parent).f_flag & os.ST_RDONLY:
            return "on a read-only file system"
    except OSError:
        pass
    return "not writable by this user"


def _read_only_connection(path: Path, reason: str) -> sqlite3.Connection:
    """A connection that reads the complete model at ``path`` without writing anything beside
    it. SQLite opens a WAL database only where it can make the ``-shm`` file, unless one is
    there (a writer's, or one a killed run left: then its ``-wal`` is read too) or the file is
    opened as immutable, which is sound only where nothing can change it (a read-only file
    system) and complete only when no ``-wal`` holds commits the file lacks.

    :raises ModelUnavailable: it cannot be read so (it is missing, or its last commits are in
        a ``-wal`` SQLite cannot read here)."""
    where = f"{path.parent} is {reason}"
    if not path.exists():
        raise ModelUnavailable(f"{where}: there is no model in it, and none can be made")
    wal = path.with_name(path.name + "-wal")
    try:
        logged = wal.stat().st_size > 0
    except OSError:
        logged = False
    fixed = not logged and reason == "on a read-only file system"
    uri = path.absolute().as_uri() + ("?immutable=1" if fixed else "?mode=ro")
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1")
    except sqlite3.OperationalError as exc:
        if _primary_code(exc) != sqlite3.SQLITE_CANTOPEN:
            raise
        what = (f"its last commits are in {wal.name}, which SQLite cannot read" if logged
                else "SQLite cannot read a model in WAL mode")
        raise ModelUnavailable(f"{path}: {where}, and {what} without writing "
                               f"{path.name}-shm beside it") from exc
    return conn


def _no_device(path: Path) -> None:
    """:raises ModelError: ``path`` is (or links to) a FIFO, a device or a socket, which
    SQLite took for a disk failing ('disk I/O error', the model kept as it was for ever), or
    a directory."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # (missing: created; a link that leads nowhere: SQLite says)
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISSOCK(mode):
        raise ModelError(f"{path}: not a regular file (a FIFO, a device or a socket)")
    if stat.S_ISDIR(mode):  # (SQLite: 'unable to open database file', taken for a passing
        # trouble: every run said 'cannot use the model now', the directory kept for ever)
        raise ModelError(f"{path}: a directory, not a model file")


class FileRow(NamedTuple):
    """One ``files`` row (a named tuple: a warm index run reads every one of them)."""

    id: int
    path: str
    size: int | None
    mtime_ns: int | None
    sha1: str | None


class Model(NavigationSQL, SymbolSQL, DesignSQL, PlainMacroSQL, FactListSQL):
    """The kernel model in SQLite (``<root>/.kernel-lsp/model.db``, or in memory for tests)."""

    def __init__(self, path: str | Path | None = None):
        """Open (creating or migrating) the model at ``path``; ``None`` for an in-memory one.

        :raises ModelError: the file is not a database of ours, or is corrupt.
        """
        self.path = Path(path) if path is not None else None
        self._known_names: dict[str, int] = {}  # names ids of committed rows
        self._pending_names: dict[str, int] = {}  # ... of the write transaction under way
        # ids of ``schema.SHARED`` texts by (table, text), as names
        self._known_texts: dict[tuple[str, str], int] = {}
        self._pending_texts: dict[tuple[str, str], int] = {}
        self._batch_seconds: float | None = None  # inside ``batched``
        self._batch_ends = 0.0
        # why the file cannot be written (``read_only_reason``): then it is read as it is
        self.read_only: str | None = None
        try:
            if self.path is None:
                self.db = sqlite_utils.Database(memory=True)
            elif (reason := read_only_reason(self.path)) is not None:
                self.read_only = reason
                _no_device(self.path)
                self.db = sqlite_utils.Database(_read_only_connection(self.path, reason))
            else:
                self._make_directory()
                _no_device(self.path)
                self.db = sqlite_utils.Database(sqlite3.connect(str(self.path), timeout=30,
                                                                isolation_level=None))
            self.conn = self.db.conn
            # the key macros are found by (``schema.KEYED``), for the readers' SQL and migration 11
            self.conn.create_function(schema.KEY_FUNCTION, 1, schema.name_key, deterministic=True)
            self.conn.create_function(schema.TEXT_KEY_FUNCTION, 1, schema.text_key,
                                      deterministic=True)  # migration 18
            for name, packer in zip(schema.PACK_AGGREGATES, (NamesPacker, PlacesPacker),
                                    strict=True):  # migration 13
                self.conn.create_aggregate(name, 4, packer)
            factlists.register(self.conn)  # the views of ``schema.PACKED``, migrations 15-17
            self._setup()
        except sqlite3.DatabaseError as exc:
            code = _primary_code(exc)
            if code is not None and code not in _NOT_A_MODEL:
                # (a lock held past the timeout, SQLITE_FULL...: the model was set aside as
                # corrupt and rebuilt from nothing, under a writer still using it)
                raise ModelUnavailable(f"{path}: cannot use the model now ({exc})") from exc
            raise ModelError(f"{path}: not a usable model database ({exc})") from exc

    def _make_directory(self) -> None:
        make_model_directory(self.path)

    def _setup(self) -> None:
        c = self.conn
        if self.read_only is not None:
            self._check_read_only()
            return
        c.execute(f"PRAGMA page_size={schema.PAGE_SIZE}")  # a new file only (then WAL fixes it)
        self._write_ahead_log()
        c.execute("PRAGMA synchronous=NORMAL")
        c.execute("PRAGMA foreign_keys=OFF")
        if not self.db.table_names():
            self._create()
        app = c.execute("PRAGMA application_id").fetchone()[0]
        if app != schema.APPLICATION_ID:
            raise ModelError(f"{self.path}: a database of another application")
        self._not_newer()
        self._migrate()
        # No integrity scan here: on a 1 GB kernel model it costs more than a whole warm run.
        # A garbage file already failed above; damage deeper in raises on use.

    def _write_ahead_log(self, within: float = 30.0) -> None:
        """``PRAGMA journal_mode=WAL``, again while another process holds the file: SQLite
        answers it 'database is locked' at once, without its busy timeout (processes opening
        one new model together: with twelve, one try in five had one fail, ModelUnavailable)."""
        deadline = time.monotonic() + within
        while True:
            try:
                self.conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if _primary_code(exc) != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def _check_read_only(self) -> None:
        """What ``_setup`` checks, for a model read as it is: one that would need creating or
        migrating cannot be used."""
        if not self.db.table_names():
            raise ModelUnavailable(f"{self.path}: {self.path.parent} is {self.read_only}, and "
                                   "the model in it is empty")
        if self.conn.execute("PRAGMA application_id").fetchone()[0] != schema.APPLICATION_ID:
            raise ModelError(f"{self.path}: a database of another application")
        self._not_newer()
        version = self.schema_version()
        if version < schema.SCHEMA_VERSION:
            raise ModelUnavailable(
                f"{self.path}: written by an older kernel-lsp (schema {version}), and "
                f"{self.path.parent} is {self.read_only}: it cannot be brought to schema "
                f"{schema.SCHEMA_VERSION} here")

    def _not_newer(self) -> None:
        """:raises ModelUnavailable: a newer kernel-lsp wrote the model. It is kept: set aside
        as corrupt and rebuilt (by any command, ``selfcheck`` too), it was lost to the newer
        kernel-lsp, which rebuilt it in turn (two versions on one tree, a CLI and an editor's
        server, took turns indexing it from nothing)."""
        version = self.schema_version()
        if version > schema.SCHEMA_VERSION:
            raise ModelUnavailable(
                f"{self.path}: written by a newer kernel-lsp (schema {version}; this one "
                f"reads up to {schema.SCHEMA_VERSION}): kept as it is; use that kernel-lsp, "
                "or delete the file to index the tree with this one")

    def _create(self) -> None:
        """Create the schema in one transaction, unless another process (a second ``index`` of
        the same tree started at the same time) created it first: statement by statement, its
        half-made schema read as 'a database of another application' (set aside under the
        writer) or its views as 'already exists'."""
        with self.db.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            if self.db.table_names():
                return
            self.conn.execute(f"CREATE TABLE IF NOT EXISTS names ({schema.NAMES_TABLE})")
            for name in schema.TABLES:
                if name in schema.PACKED:
                    self.db.create_view(name, schema.packed_view(name), replace=True)
                    continue
                self.conn.execute(schema.create_table_sql(name))
                if name in schema.INTERNED:
                    self.db.create_view(name, schema.interned_view(name), replace=True)
                if name in schema.SHARED:
                    self.db.create_view(name, schema.shared_view(name), replace=True)
            for sql in schema.index_statements():
                self.conn.execute(sql)
            for name, sql in schema.VIEWS.items():
                self.db.create_view(name, sql, replace=True)
            for sql in schema.TRIGGERS.values():
                self.conn.execute(sql)
            self.conn.execute(f"PRAGMA application_id={schema.APPLICATION_ID}")
            self.set_meta("schema_version", str(schema.SCHEMA_VERSION))

    # -- secondary indexes: built once after a cold load ---------------------------------------
    def _index_names(self) -> set[str]:
        return {r[0] for r in self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_%'")}

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Fill a model that holds no file without its secondary indexes, then build them once
        (sorted: faster than keeping them up to date row by row, and their pages full). A run
        killed inside leaves ``meta.bulk_load`` set; the next ``bulk_load`` builds the indexes
        first, then goes on as usual (or in bulk again if no file was committed)."""
        if self.meta("bulk_load") == "1":
            self.build_indexes()
        if self.conn.execute("SELECT 1 FROM files LIMIT 1").fetchone():
            yield
            return
        with self.conn:
            self.set_meta("bulk_load", "1")
            for name in sorted(self._index_names()):
                self.conn.execute(f"DROP INDEX {name}")
        # a page cache that holds a commit's new pages (SQLite's default, 2 MiB, spills them
        # to the WAL inside the transaction: on Linux 6.1 twice the system time), given back
        # after
        cache = self.conn.execute("PRAGMA cache_size").fetchone()[0]
        self.conn.execute(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
        try:
            yield
            self.build_indexes()
        finally:
            self.conn.execute(f"PRAGMA cache_size={int(cache)}")

    def build_indexes(self) -> None:
        """Create the secondary indexes that are missing and clear ``meta.bulk_load``."""
        with self.conn:
            for sql in schema.index_statements():
                self.conn.execute(sql)
            self.set_meta("bulk_load", "0")

    def _migrate(self) -> None:
        version = self.schema_version()
        moved = False
        while version < schema.SCHEMA_VERSION:
            # one step, one transaction: a run killed inside left the step half done (the next
            # one failed on a column or table that exists, and the model was rebuilt); and a
            # second process waits here and finds the step made
            with self.db.conn:
                self.conn.execute("BEGIN IMMEDIATE")
                version = self.schema_version() + 1
                if version > schema.SCHEMA_VERSION:
                    break
                for sql in schema.MIGRATIONS.get(version, []):
                    self.conn.execute(sql)
                self.set_meta("schema_version", str(version))
            moved = moved or version in schema.REWRITING_MIGRATIONS
        if moved:  # the old tables' pages are free: give them back (once; ~20 s for Linux)
            self.compact()

    def compact(self) -> None:
        """Write the database again with full pages and no free ones (``VACUUM``): b-trees
        filled row by row keep about an eighth of each page empty (on Linux 6.1, 902 MiB
        after a cold index, 851 MiB compacted, in 12 s). A model of smaller pages than
        ``schema.PAGE_SIZE`` (before version 17) gets them then, unless another connection
        holds the file (a page size changes only outside WAL mode): its next compaction
        does it."""
        c = self.conn
        resize = (self.path is not None
                  and c.execute("PRAGMA page_size").fetchone()[0] != schema.PAGE_SIZE)
        try:
            if resize and c.execute("PRAGMA journal_mode=DELETE").fetchone()[0] == "delete":
                c.execute(f"PRAGMA page_size={schema.PAGE_SIZE}")
        except sqlite3.OperationalError:
            pass  # another connection reads or writes it: only VACUUM below
        try:
            c.execute("VACUUM")
        finally:
            if resize:
                c.execute("PRAGMA journal_mode=WAL")

    # -- meta ------------------------------------------------------------------------------
    def schema_version(self) -> int:
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.OperationalError:
            return 0
        return int(row[0]) if row else 0

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def restamp(self, stamp: str) -> None:
        """Record a new extractor stamp and forget every file's size, mtime and hash in the same
        transaction, so a run killed after this re-extracts every file instead of trusting facts
        the old extractor wrote."""
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.execute("UPDATE files SET size = NULL, mtime_ns = NULL, sha1 = NULL")
            self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES "
                              "('extractor_version', ?)", (stamp,))

    def close(self) -> None:
        self.conn.close()

    # -- files -----------------------------------------------------------------------------
    def files(self) -> dict[str, FileRow]:
        """Every indexed file by root-relative path."""
        cur = self.conn.execute("SELECT id, path, size, mtime_ns, sha1 FROM files")
        make = FileRow._make
        return {r[1]: make(r) for r in cur}

    def file_paths(self) -> dict[int, str]:
        return dict(self.conn.execute("SELECT id, path FROM files"))

    def inactive_of(self, path: str) -> list[tuple[int, int]]:
        """Byte ranges of the ``#if`` branches of ``path`` the configuration drops."""
        row = self.conn.execute("SELECT inactive FROM files WHERE path=?", (path,)).fetchone()
        return [tuple(r) for r in json.loads(row[0])] if row and row[0] else []

    def unexpanded_files(self) -> list[int]:
        """Files the cross-file macro expansion has not covered since they were (re)written."""
        return [r[0] for r in self.conn.execute(
            "SELECT id FROM files WHERE expanded = 0 ORDER BY id")]

    def files_invoking(self, names: Iterable[str]) -> set[str]:
        """Paths of the files with a file-scope invocation of one of the macros ``names``."""
        out: set[str] = set()
        names = list(names)
        for i in range(0, len(names), 500):
            chunk = names[i:i + 500]
            out.update(r[0] for r in self.conn.execute(
                "SELECT DISTINCT fl.path FROM invocations v JOIN files fl ON fl.id = v.file_id "
                f"WHERE v.name IN ({','.join('?' * len(chunk))})", chunk))
        return out

    def file_id(self, path: str) -> int | None:
        row = self.conn.execute("SELECT id FROM files WHERE path=?", (path,)).fetchone()
        return row[0] if row else None

    def failure(self, path: str) -> str | None:
        """The problem of ``path`` when it is stored without facts (it could not be read or
        extracted), else None."""
        row = self.conn.execute("SELECT problem FROM files WHERE path=? AND sha1 IS NULL "
                                "AND size IS NOT NULL", (path,)).fetchone()
        return row[0] if row else None

    def touch_file(self, path: str, size: int, mtime_ns: int) -> None:
        """Record a new size/mtime for a file whose content hash did not change."""
        with self._writing():
            self.conn.execute("UPDATE files SET size=?, mtime_ns=? WHERE path=?",
                              (size, mtime_ns, path))

    def replace_file(self, path: str, rows: FactRows, *, size: int, mtime_ns: int,
                     sha1: str | None, error_nodes: int = 0, problem: str | None = None,
                     type_use_total: int = 0, inactive: list | None = None) -> int:
        """Replace everything known about ``path`` by ``rows`` (see ``fact_rows``) atomically.

        ``inactive``: byte ranges of the ``#if`` branches the configuration drops. The file is
        then not yet covered by the cross-file macro expansion (``expanded`` = 0)."""
        directory = path.rsplit("/", 1)[0] if "/" in path else ""
        with self._writing() as c:
            row = c.execute("SELECT id FROM files WHERE path=?", (path,)).fetchone()
            if row is None:
                file_id = c.execute(
                    "INSERT INTO files(path, dir) VALUES (?, ?)", (path, directory)).lastrowid
            else:
                file_id = row[0]
                self._delete_facts(file_id)
            self._insert_rows(file_id, rows)
            c.execute("UPDATE files SET size=?, mtime_ns=?, sha1=?, error_nodes=?, problem=?, "
                      "type_use_total=?, inactive=?, expanded=0 WHERE id=?",
                      (size, mtime_ns, sha1, error_nodes, problem, type_use_total,
                       json.dumps(inactive) if inactive else None, file_id))
            self._ensure_dirs(c, directory)
        return file_id

    @contextmanager
    def batched(self, seconds: float = 2.0) -> Iterator[None]:
        """Fact writes inside share transactions of about ``seconds`` each, every file still
        all or nothing (a savepoint each). A cold index of Linux writes 55,000 files: one commit
        each wrote every index page it touched again, 37 GB through the WAL for a 1.5 GB model.
        A run killed in a batch loses the batch's files, which the next run extracts again."""
        self._batch_seconds = seconds
        try:
            yield
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")
                self._committed(True)
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            self._committed(False)
            raise
        finally:
            self._batch_seconds = None

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One write of fact rows: its own transaction (``BEGIN IMMEDIATE``), or a savepoint of
        the batch's (``batched``); undone on an exception, the names it inserted forgotten."""
        if self._batch_seconds is None:
            ok = False
            try:
                with self.conn:
                    self.conn.execute("BEGIN IMMEDIATE")
                    yield self.conn
                ok = True
            finally:
                self._committed(ok)
            return
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN IMMEDIATE")
            self._batch_ends = time.monotonic() + self._batch_seconds
        marks = [(pending, len(pending)) for pending in (self._pending_names,
                                                           self._pending_texts)]
        self.conn.execute("SAVEPOINT fact_write")
        try:
            yield self.conn
        except BaseException:
            if self.conn.in_transaction:  # (on a full disk or an I/O error SQLite rolls the
                # whole transaction back itself: "no such savepoint" then hid that error)
                self.conn.execute("ROLLBACK TO fact_write")
                self.conn.execute("RELEASE fact_write")
            for pending, mark in marks:
                for text in list(pending)[mark:]:
                    del pending[text]
            raise
        self.conn.execute("RELEASE fact_write")
        if time.monotonic() >= self._batch_ends:
            self.conn.execute("COMMIT")
            self._committed(True)

    @staticmethod
    def _ensure_dirs(c, directory: str) -> None:
        parts = directory.split("/") if directory else []
        for i in range(len(parts)):
            path = "/".join(parts[: i + 1])
            father = "/".join(parts[:i])
            c.execute("INSERT OR IGNORE INTO dirs(path, level, father) VALUES (?, ?, ?)",
                      (path, 6 if i == 0 else 5, father))

    def add_expansions(self, file_ids: list[int], rows: dict[int, FactRows]) -> None:
        """Add what the cross-file macro expansion generated for ``file_ids`` (``rows`` per
        file) and mark those files as covered by it, in one transaction."""
        with self._writing():
            for file_id, file_rows in rows.items():
                self._insert_rows(file_id, file_rows, appended=True)
            self.conn.executemany("UPDATE files SET expanded = 1 WHERE id=?",
                                  ((f,) for f in file_ids))

    def _insert_rows(self, file_id: int, rows: FactRows, appended: bool = False) -> None:
        """Insert ``rows.fact_rows`` rows for ``file_id`` (inside the caller's transaction);
        ``appended``: the file has rows already, these go after them."""
        for table, table_rows in rows.items():
            if not table_rows:
                continue
            cols = schema.FACT_COLUMNS[table]
            if table in schema.INTERNED:
                self._insert_interned(table, file_id, table_rows, appended)
                continue
            if table == "macros":  # the plain ones: the file's list (``model/plainmacros.py``)
                plain, kept = [], []
                for r in map(Macro._make, table_rows):
                    if is_plain(r.params, r.body, r.name):
                        plain.append(PlainMacro(r.name, r.start_byte, r.line, r.col))
                    else:
                        kept.append(r)
                self._write_plain(file_id, plain, appended)
                table_rows = kept
                if not table_rows:
                    continue
            if table in schema.SHARED:
                table_rows = self._shared(table, table_rows)
                cols, table = schema.shared_columns(table), schema.row_table(table)
            if table in schema.KEYED:
                at, key = cols.index("name"), schema.name_key
                self.conn.executemany(
                    f"INSERT INTO {table} (file_id, {', '.join(cols)}, {schema.KEY_COLUMN}) "
                    f"VALUES (?, {', '.join('?' * len(cols))}, ?)",
                    ((file_id, *r, key(r[at])) for r in table_rows))
                continue
            self.conn.executemany(
                f"INSERT INTO {table} (file_id, {', '.join(cols)}) "
                f"VALUES (?, {', '.join('?' * len(cols))})",
                ((file_id, *r) for r in table_rows))

    def _insert_interned(self, table: str, file_id: int, rows: list[tuple],
                         appended: bool) -> None:
        """Insert ``rows`` of an interned table, whose rows are its file's list
        (``schema.PACKED``; after the file's rows, when ``appended``), and the names it now
        has (``schema.NAME_FILES``)."""
        interned = self._interned(table, rows)
        self._write_list(table, file_id, interned, appended)
        column, pairs = schema.NAME_FILES[table]
        at = schema.FACT_COLUMNS[table].index(column)
        self.conn.executemany(
            f"INSERT OR IGNORE INTO {pairs} ({column}, file_id) VALUES (?, ?)",
            ((name, file_id) for name in sorted({r[at] for r in interned})))

    def _delete_facts(self, file_id: int) -> None:
        """Delete ``file_id``'s facts (inside the caller's transaction): its plain macros' list,
        its rows of the ``schema.NAME_FILES`` tables (read from its lists, so first), its
        fact rows and lists."""
        self._delete_plain(file_id)
        for table, (column, pairs) in schema.NAME_FILES.items():
            self.conn.executemany(
                f"DELETE FROM {pairs} WHERE {column}=? AND file_id=?",
                ((name, file_id) for name in sorted(self._list_ids(table, file_id, column))))
        for table in schema.FACT_TABLES:
            self.conn.execute(f"DELETE FROM {schema.stored(table)} WHERE file_id=?", (file_id,))

    def _interned(self, table: str, rows: list[tuple]) -> list[tuple]:
        """``rows`` of ``table`` with their ``schema.INTERNED`` columns (the first columns)
        turned into ``names`` ids (new names inserted, inside the caller's transaction)."""
        _check_width(table, rows)
        k = len(schema.INTERNED[table])
        names = {v for r in rows for v in r[:k]}
        names.discard(None)
        get = self._name_ids(names).get  # None stays None
        return [(*map(get, r[:k]), *r[k:]) for r in rows]

    def _name_ids(self, names: set[str]) -> dict[str, int]:
        """name -> ``names`` id of each of ``names``, inserting the new ones. Ids met before are
        remembered (names are never deleted, and a transaction that rolls back can only have
        added ids this dict does not hold: see ``_committed``)."""
        out = {}
        for n in names:
            got = self._pending_names.get(n) or self._known_names.get(n)
            if got is not None:
                out[n] = got
        new = sorted(names - out.keys())
        if new:
            self.conn.executemany("INSERT OR IGNORE INTO names(name) VALUES (?)",
                                  ((n,) for n in new))
            for i in range(0, len(new), 500):
                chunk = new[i:i + 500]
                got = dict(self.conn.execute(
                    f"SELECT name, id FROM names WHERE name IN ({','.join('?' * len(chunk))})",
                    chunk))
                out.update(got)
                self._pending_names.update(got)
        return out

    def _shared(self, table: str, rows: list[tuple]) -> list[tuple]:
        """``rows`` of a ``schema.SHARED`` table as its rows table stores them
        (``schema.shared_columns``): the ``cut`` name out of its text, the texts turned into
        ids of their texts tables and the names into ``names`` ids (new ones inserted, inside
        the caller's transaction)."""
        _check_width(table, rows)
        shared, cols = schema.SHARED[table], schema.FACT_COLUMNS[table]
        rows, ats = [list(r) for r in rows], []
        if shared.cut is not None:  # (before the names become ids)
            text, name = cols.index(shared.cut.text), cols.index(shared.cut.name)
            for r in rows:
                r[text], at = schema.cut_name(r[text], r[name])
                ats.append(at)
        for column, texts in shared.texts.items():
            at = cols.index(column)
            values = {r[at] for r in rows}
            values.discard(None)
            get = self._text_ids(texts, column, values).get
            for r in rows:
                r[at] = get(r[at])
        for column in shared.names:
            at = cols.index(column)
            get = self._name_ids({r[at] for r in rows} - {None}).get
            for r in rows:
                r[at] = get(r[at])
        if shared.cut is None:
            return [tuple(r) for r in rows]
        return [(*r[:text + 1], at, *r[text + 1:]) for r, at in zip(rows, ats, strict=True)]

    def _text_ids(self, texts: str, column: str, values: set[str]) -> dict[str, int]:
        """text -> id in the table ``texts`` (column ``column``) of each of ``values``,
        inserting the new ones at the first free id of their key (``schema.text_key``);
        remembered as ``_name_ids`` does. The texts not remembered are looked up together, a
        few hundred keys a statement (a cold index of Linux meets half a million)."""
        out, new = {}, []
        for text in values:
            got = self._pending_texts.get((texts, text))
            if got is None:
                got = self._known_texts.get((texts, text))  # (an id may be 0: no ``or`` here)
            if got is None:
                new.append(text)
            else:
                out[text] = got
        if not new:
            return out
        top = (1 << schema.TEXT_KEY_BITS) - 1
        keys = {text: schema.text_key(text) for text in new}
        taken: dict[int, dict[str, int]] = {}  # key -> the texts stored under it, by text
        wanted = sorted(set(keys.values()))
        for i in range(0, len(wanted), 500):
            for got, text in self.conn.execute(
                    f"SELECT s.id, s.{column} FROM json_each(?) k JOIN {texts} s "
                    f"ON s.id BETWEEN k.value AND k.value + {top}",
                    (json.dumps(wanted[i:i + 500]),)):
                taken.setdefault(got & ~top, {})[text] = got
        inserts = []
        for text in sorted(new):
            key, held = keys[text], taken.setdefault(keys[text], {})
            got = held.get(text)
            if got is None:
                used = set(held.values())
                got = next((i for i in range(key, key + top + 1) if i not in used), None)
                if got is None:
                    raise sqlite3.IntegrityError(f"{texts}: no free id for the "
                                                 f"texts of key {key}")
                held[text] = got
                inserts.append((got, text))
            self._pending_texts[(texts, text)] = got
            out[text] = got
        self.conn.executemany(f"INSERT INTO {texts} (id, {column}) VALUES (?, ?)", inserts)
        return out

    def _committed(self, ok: bool) -> None:
        """After a write transaction: remember the ids it inserted if it committed (a bounded
        memory: a whole kernel has millions of names)."""
        for known, pending in ((self._known_names, self._pending_names),
                               (self._known_texts, self._pending_texts)):
            if ok:
                if len(known) + len(pending) > _KNOWN_NAMES:
                    known.clear()
                known.update(pending)
            pending.clear()

    def remove_files(self, paths: Iterable[str]) -> int:
        """Forget deleted files; returns how many were removed."""
        n = 0
        for path in paths:
            with self.conn:
                self.conn.execute("BEGIN IMMEDIATE")
                row = self.conn.execute("SELECT id FROM files WHERE path=?", (path,)).fetchone()
                if row is None:
                    continue
                self._delete_facts(row[0])
                self.conn.execute("DELETE FROM files WHERE id=?", (row[0],))
                self.conn.execute("UPDATE includes SET resolved_id=NULL WHERE resolved_id=?",
                                  (row[0],))
                self._prune_dirs(self.conn, path.rsplit("/", 1)[0] if "/" in path else "")
                n += 1
        return n

    @staticmethod
    def _prune_dirs(c, directory: str) -> None:
        """Forget ``directory`` and its ancestors up to one that still holds a file (a deleted
        or renamed directory stayed a dentry of the model, with its Agg relationship)."""
        while directory:
            # (a path under it sorts between "dir/" and "dir0": '0' follows '/')
            if c.execute("SELECT 1 FROM files WHERE path >= ? AND path < ? LIMIT 1",
                         (directory + "/", directory + "0")).fetchone():
                return
            c.execute("DELETE FROM dirs WHERE path=?", (directory,))
            directory = directory.rsplit("/", 1)[0] if "/" in directory else ""

    # -- includes --------------------------------------------------------------------------
    def object_macro_bodies(self, names: Iterable[str]) -> Iterator[tuple[str, str]]:
        """(name, body) of the object-like definitions of ``names``, in path order."""
        names = sorted(set(names))
        for i in range(0, len(names), 500):
            chunk = names[i:i + 500]
            yield from self.conn.execute(
                "SELECT m.name, m.body FROM macros m JOIN files fl ON fl.id = m.file_id "
                f"WHERE m.params IS NULL AND {schema.keyed_in('m', len(chunk))} "
                "ORDER BY fl.path, m.start_byte", [*map(schema.name_key, chunk), *chunk])

    def include_rows(self) -> Iterator[tuple[int, int, str, int]]:
        """(rowid, file_id, target, angled) of every include line (not the forced ones:
        ``set_forced_includes``)."""
        return self.conn.execute("SELECT rowid, file_id, target, angled FROM includes "
                                 f"WHERE start_byte IS NOT {FORCED_START}")

    def set_forced_includes(self, edges: Iterable[tuple[int, str, int]]) -> None:
        """Replace the include edges of the files a Kbuild file's ``-include`` reads before a
        unit's first line, (unit id, the file's root-relative path, its id): edges at
        ``FORCED_START``, before every line of the unit, resolved already."""
        rows = [(fid, target, 0, FORCED_START, 0, 0, 0, rid) for fid, target, rid in edges]
        have = self.conn.execute("SELECT file_id, target, angled, start_byte, line, col, end_col, "
                                 f"resolved_id FROM includes WHERE start_byte = {FORCED_START} "
                                 "ORDER BY file_id, target").fetchall()
        if have == sorted(rows):
            return
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute(f"DELETE FROM includes WHERE start_byte = {FORCED_START}")
            self.conn.executemany("INSERT INTO includes (file_id, target, angled, start_byte, "
                                  "line, col, end_col, resolved_id) VALUES (?, ?, ?, ?, ?, ?, "
                                  "?, ?)", rows)

    def set_resolved_includes(self, resolved: Iterable[tuple[int | None, int]]) -> None:
        """Store (resolved file id or None, include rowid) pairs in one transaction."""
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.executemany("UPDATE includes SET resolved_id=? WHERE rowid=?", resolved)

    _EDGE = "start_byte, resolved_id, target, line, col, end_col, guard, angled"  # IncludeEdge's

    def include_graph(self) -> dict[int, list[IncludeEdge]]:
        """file id -> its include edges in file order."""
        graph: dict[int, list] = {}
        # one string per distinct target: Linux has 351,351 edges, 21,777 targets (25 MiB less)
        targets: dict[str, str] = {}
        cur = self.conn.execute(f"SELECT file_id, {self._EDGE} FROM includes "
                                "ORDER BY file_id, start_byte")
        for fid, start, resolved, target, *rest in cur:
            graph.setdefault(fid, []).append(IncludeEdge(
                start, resolved, targets.setdefault(target, target), *rest))
        return graph

    def include_graph_of(self, file_id: int) -> list[IncludeEdge]:
        """The include edges of one file, in file order."""
        cur = self.conn.execute(f"SELECT {self._EDGE} FROM includes WHERE file_id=? "
                                "ORDER BY start_byte", (file_id,))
        return [IncludeEdge._make(r) for r in cur]

    # -- queries for the checks --------------------------------------------------------------
    def function_symbols(self) -> Iterator[tuple]:
        """(name, file_id, is_definition, storage, start_byte) of file-scope functions."""
        return self.conn.execute("SELECT name, file_id, is_definition, storage, start_byte "
                                 "FROM functions WHERE parent IS NULL")

    def macro_symbols(self) -> Iterator[tuple]:
        """(name, file_id, function_like, start_byte) of the macro definitions of the names a
        stored fact names (a call's, a type use's or a free identifier's name, the macro of a
        macro argument, an invocation, an include guard): the names the checks look up,
        whichever file they check (any other: ``macro_entries``)."""
        used = {r[0] for r in self.conn.execute(
            "SELECT name FROM names UNION SELECT name FROM invocations UNION SELECT guard FROM "
            "includes WHERE guard IS NOT NULL")}  # ``names``: the macros of macro arguments too
        return chain((r for r in self.conn.execute(
            "SELECT name, file_id, params IS NOT NULL, start_byte FROM macros").fetchall()
            if r[0] in used), self.plain_macros_used(used))

    def macro_rows(self) -> list[tuple[str, int, int, int]]:
        """(name, file_id, function_like, start_byte) of every macro definition, plain ones too,
        by file and position: a whole scan (statistics, tests)."""
        rows = self.conn.execute("SELECT name, file_id, params IS NOT NULL, start_byte "
                                 "FROM macros").fetchall()
        rows += [(m.name, fid, 0, m.start_byte) for fid, m in self.plain_macros_in()]
        return sorted(rows, key=lambda r: (r[1], r[3]))

    def macro_keys(self) -> array:
        """The distinct ``name_key`` of the macros, plain ones too, sorted (``schema.KEYED``)."""
        return array("q", (r[0] for r in self.conn.execute(
            f"SELECT {schema.KEY_COLUMN} FROM macros WHERE {schema.KEY_COLUMN} IS NOT NULL "
            "UNION SELECT name_key FROM macro_keys ORDER BY 1")))

    def hidden_symbols(self) -> Iterator[tuple]:
        """(name, kind) of every name defined in a dropped ``#if`` branch (``parse/hidden.py``)."""
        return self.conn.execute(
            "SELECT DISTINCT name, kind FROM hidden WHERE kind NOT IN "
            "('unless', 'template', 'if', 'value')")

    def hidden_by_file(self) -> Iterator[tuple]:
        """(name, file_id) of the functions, variables and macros declared in a dropped ``#if``
        branch."""
        return self.conn.execute("SELECT DISTINCT name, file_id FROM hidden WHERE kind IN "
                                 "('function', 'variable', 'macro')")

    def c_file_includes(self) -> Iterator[tuple]:
        """(including file, included file) of every ``#include`` of a ``.c`` file by a
        ``.c`` file that resolves (``rwsem.c`` and ``spinlock_rt.c`` read ``rwbase_rt.c``)."""
        # from the .c files to the lines that name them (by the index on resolved_id), not
        # through every include line of the tree: 0.05 s instead of 0.3 s on Linux
        return self.conn.execute(
            "SELECT i.file_id, i.resolved_id FROM files t "
            "CROSS JOIN includes i ON i.resolved_id = t.id JOIN files f ON f.id = i.file_id "
            "WHERE t.path LIKE '%.c' AND f.path LIKE '%.c' AND i.file_id != i.resolved_id")

    def unresolved_includes(self) -> Iterator[tuple]:
        """(file_id, target as written, angled, guard) of every ``#include`` that names no
        indexed file."""
        return self.conn.execute(
            "SELECT file_id, target, angled, guard FROM includes WHERE resolved_id IS NULL")

    def template_files(self) -> set[int]:
        """The files that name what they define with macros their includers parametrize
        (hidden rows of kind ``template``: ``btree-type.h``, ipset's ``ip_set_hash_gen.h``)."""
        return {f for (f,) in self.conn.execute(
            "SELECT DISTINCT file_id FROM hidden WHERE kind = 'template'")}

    def undecided_branches(self, file_ids: Iterable[int] | None = None) -> list[tuple]:
        """(file_id, NAME, start_byte, end_byte, kind) of the branches kept on an undecided
        ``#ifdef NAME`` / ``#if defined(NAME)`` / ``#if NAME`` (kind ``undecided``), on an
        undecided ``#ifndef NAME`` (``unless``) or comparison (``if``, NAME the condition),
        and the numbers a file ``#define``s above its include of a ``.c`` file (``value``,
        ``NAME=number``, at the ``#define``); of ``file_ids`` (None: every file)."""
        sql = ("SELECT file_id, name, start_byte, end_byte, kind FROM hidden "
               f"WHERE kind IN {BRANCH_KINDS!r}")
        if file_ids is None:
            return self.conn.execute(sql).fetchall()
        ids, out = sorted(set(file_ids)), []
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            out += self.conn.execute(f"{sql} AND file_id IN ({','.join('?' * len(chunk))})",
                                     chunk).fetchall()
        return out

    def ifdef_calls(self) -> Iterator[tuple]:
        """(name, file_id, start_byte) of the calls of ``name`` under an undecided ``#if
        defined(name)``: of a macro wherever that code is built."""
        return self.conn.execute(
            "SELECT name, file_id, start_byte FROM hidden WHERE kind = 'ifdef'")

    def dropped_header_includes(self) -> Iterator[tuple]:
        """(file_id, target as written) of every ``#include`` of a header in a dropped ``#if``
        branch."""
        return self.conn.execute("SELECT file_id, name FROM hidden WHERE kind = 'header'")

    def dropped_c_includes(self) -> Iterator[tuple]:
        """(file_id, target as written) of every ``#include "x.c"`` in a dropped ``#if`` branch."""
        return self.conn.execute("SELECT file_id, name FROM hidden WHERE kind = 'include'")

    def function_macros(self) -> Iterator[tuple]:
        """(name, file_id, params JSON, body, start_byte) of every function-like macro, in the
        order of their files' paths and positions (a property of the tree, not of indexing)."""
        return self.conn.execute(
            "SELECT m.name, m.file_id, m.params, m.body, m.start_byte FROM macros m "
            "JOIN files fl ON fl.id = m.file_id WHERE m.params IS NOT NULL "
            "ORDER BY fl.path, m.start_byte")

    def alias_macros(self) -> Iterator[tuple]:
        """(name, file_id, body, start_byte) of every object-like macro that names another
        (its stored body is one identifier), in path and position order."""
        return self.conn.execute(
            "SELECT m.name, m.file_id, trim(m.body), m.start_byte FROM macros m "
            "JOIN files fl ON fl.id = m.file_id WHERE m.params IS NULL AND m.body IS NOT NULL "
            "AND m.body NOT LIKE '%<%' AND m.body NOT LIKE '%\"%' AND instr(m.body, '(') = 0 "
            "ORDER BY fl.path, m.start_byte")

    def list_macros(self) -> Iterator[tuple]:
        """(name, file_id, body, start_byte) of every object-like macro whose stored body is an
        X-macro list (``rows.is_macro_list``), in path and position order."""
        return self.conn.execute(
            "SELECT m.name, m.file_id, m.body, m.start_byte FROM macros m "
            "JOIN files fl ON fl.id = m.file_id WHERE m.params IS NULL AND m.body IS NOT NULL "
            "AND instr(m.body, '(') > 0 ORDER BY fl.path, m.start_byte")

    def forget_invokers(self, paths: list[str]) -> int:
        """Make the files (other than ``paths``) that invoke a function-like macro defined in
        ``paths`` be extracted again: their macro-generated facts came from those definitions.
        Returns how many."""
        names = {name for name, _ in self.function_macro_texts(paths)}
        return self.forget_invoking(names, set(paths))

    def forget_invoking(self, names: set[str], spared: set[str]) -> int:
        """Forget the size, time and hash (as ``restamp`` does) of the files, ``spared``
        excepted, with a file-scope invocation of one of the macros ``names``, so that an
        index extracts them again, in the transaction of the batch when there is one (with
        the rows of the file whose macros changed). Returns how many."""
        invokers = sorted(self.files_invoking(names) - spared) if names else []
        if invokers:
            with self._writing():
                self.conn.executemany("UPDATE files SET size = NULL, mtime_ns = NULL, "
                                      "sha1 = NULL WHERE path = ?", [(p,) for p in invokers])
        return len(invokers)

    def function_macro_texts(self, paths: list[str]) -> set[tuple[str, int]]:
        """{(name, hash of params and body)} of the function-like macros defined in ``paths``
        (to compare before and after a re-extraction, within one process)."""
        out: set[tuple[str, int]] = set()
        for i in range(0, len(paths), 500):
            chunk = paths[i:i + 500]
            out.update((name, hash(text)) for name, text in self.conn.execute(
                "SELECT m.name, m.params || m.body FROM macros m JOIN files fl ON "
                f"fl.id = m.file_id WHERE m.params IS NOT NULL AND fl.path IN "
                f"({','.join('?' * len(chunk))})", chunk))
        return out

    def type_symbols(self) -> Iterator[tuple]:
        """(name, kind, file_id, is_definition, members, start_byte) of every type declaration."""
        return self.conn.execute(
            "SELECT name, kind, file_id, is_definition, members, start_byte FROM types")

    def variable_symbols(self) -> Iterator[tuple]:
        """(name, file_id, storage, is_definition, start_byte, line, col, end_col)."""
        return self.conn.execute("SELECT name, file_id, storage, is_definition, start_byte, line, "
                                 "col, end_col FROM variables")

    def _for_files(self, sql: str, file_ids: Iterable[int]) -> Iterator[tuple]:
        ids = list(file_ids)
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            yield from self.conn.execute(sql.format(",".join("?" * len(chunk))), chunk)

    # -- a file's facts as named rows: the checks' fact source (``checks.inputs.FactSource``) --
    def facts_in(self, table: str, file_ids: Iterable[int], where: str = ""
                 ) -> Iterator[tuple[int, tuple]]:
        """(file_id, row) of the fact ``table`` rows of ``file_ids`` matching SQL ``where``
        (not for a ``schema.PACKED`` table: its reader reads the lists, ``calls_in``)."""
        make = ROW_TYPES[table]._make
        cond = f"{where} AND " if where else ""
        sql = (f"SELECT file_id, {', '.join(schema.FACT_COLUMNS[table])} FROM {table} "
               f"WHERE {cond}file_id IN ({{}})")
        for r in self._for_files(sql, file_ids):
            yield r[0], make(r[1:])

    def calls_in(self, file_ids: Iterable[int]):
        """(file_id, Call) of the direct calls of ``file_ids``."""
        return self.packed_in("calls", file_ids, "direct")

    def type_uses_in(self, file_ids: Iterable[int]):
        """(file_id, TypeUse) of the type uses of ``file_ids``."""
        return self.packed_in("type_uses", file_ids)

    def var_uses_in(self, file_ids: Iterable[int]):
        """(file_id, VarUse) of the variable uses of ``file_ids``."""
        return self.packed_in("var_uses", file_ids)

    def variables_in(self, file_ids: Iterable[int]):
        return self.facts_in("variables", file_ids)

    def local_prototypes(self, file_ids: Iterable[int]):
        """(file_id, Function) of block-scope prototypes (``parent`` is the enclosing function)."""
        return self.facts_in("functions", file_ids, "parent IS NOT NULL")

    def invocations_in(self, file_ids: Iterable[int]):
        """(file_id, Invocation) of the file-scope macro invocations of ``file_ids``."""
        return self.facts_in("invocations", file_ids)

    def invocations(self, file_ids: Iterable[int] | None):
        """(file_id, Invocation) of file-scope macro invocations (of every file when None)."""
        if file_ids is not None:
            return self.facts_in("invocations", file_ids)
        make = ROW_TYPES["invocations"]._make
        cols = ", ".join(schema.FACT_COLUMNS["invocations"])
        return ((r[0], make(r[1:])) for r in self.conn.execute(
            f"SELECT file_id, {cols} FROM invocations"))

    def definitions_in(self, file_ids: Iterable[int]) -> Iterator[tuple[int, Definition]]:
        """(file_id, Definition) of the file-scope functions and the type definitions there."""
        for sql in ("SELECT file_id, 'func', name, name_line, name_col, name_end_col FROM "
                    "functions WHERE parent IS NULL AND file_id IN ({})",
                    "SELECT file_id, kind, name, name_line, name_col, name_end_col FROM types "
                    "WHERE is_definition = 1 AND file_id IN ({})"):
            for r in self._for_files(sql, file_ids):
                yield r[0], Definition._make(r[1:])

    def files_using_type(self, name: str, kind: str) -> set[int]:
        """Ids of the files that use type ``name`` of ``kind`` (``struct bpf_insn``...)."""
        return self.packed_files("type_uses", [name], kind)

    def generated_rows(self, file_id: int) -> FactRows:
        """The function, type and variable rows a macro generated in a file."""
        out: FactRows = {}
        for table in ("functions", "types", "variables"):
            cols = ", ".join(schema.FACT_COLUMNS[table])
            cur = self.conn.execute(f"SELECT {cols} FROM {table} WHERE file_id=? AND "
                                    "generated_by IS NOT NULL", (file_id,))
            out[table] = [ROW_TYPES[table]._make(r) for r in cur]
        return out

    def function_definition(self, name: str) -> tuple | None:
        """(path, signature, storage, line) of a non-static definition of ``name``, if any."""
        return self.conn.execute(
            "SELECT fl.path, f.signature, f.storage, f.name_line FROM functions f "
            "JOIN files fl ON fl.id = f.file_id WHERE f.name=? AND f.parent IS NULL "
            "ORDER BY f.is_definition DESC, f.storage = 'static' LIMIT 1", (name,)).fetchone()

    def counts(self) -> dict[str, int]:
        """Row counts of the main tables (for statistics)."""
        out = {}
        for table in ("files", "dirs", "functions", "types", "variables", "includes", "macros"):
            out[table] = self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        out["macros"] += self.plain_macro_count()
        for table in schema.PACKED:
            out[table] = self.packed_count(table)
        return out

    def level_counts(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT level, count(*) FROM level_types GROUP BY level"))


    # -- queries for fixes -------------------------------------------------------------------
    def function_declarations(self, name: str) -> list[tuple]:
        """(path, is_definition, storage, signature, generated_by, name_line) of every file-scope
        declaration and definition of function ``name``, definitions first."""
        return self.conn.execute(
            "SELECT fl.path, f.is_definition, f.storage, f.signature, f.generated_by, f.name_line "
            "FROM functions f JOIN files fl ON fl.id = f.file_id WHERE f.name=? AND "
            "f.parent IS NULL ORDER BY f.is_definition DESC, fl.path, f.start_byte",
            (name,)).fetchall()

    def variable_declarations(self, name: str) -> list[tuple]:
        """(path, storage, is_definition, line, col, generated_by) of file-scope variable ``name``."""
        return self.conn.execute(
            "SELECT fl.path, v.storage, v.is_definition, v.line, v.col, v.generated_by "
            "FROM variables v JOIN files fl ON fl.id = v.file_id WHERE v.name=? "
            "ORDER BY v.is_definition DESC, fl.path, v.start_byte", (name,)).fetchall()

    def type_definition_paths(self, name: str, kind: str) -> list[str]:
        """Paths of the files that define type ``name`` of ``kind`` (struct/union/enum/typedef)."""
        return [r[0] for r in self.conn.execute(
            "SELECT DISTINCT fl.path FROM types t JOIN files fl ON fl.id = t.file_id "
            "WHERE t.name=? AND t.kind=? AND t.is_definition=1 ORDER BY fl.path", (name, kind))]

    def first_use(self, path: str, name: str, what: str) -> tuple[int, int, int] | None:
        """(start_byte, line, col) of the first ``what`` (call/var/type) of ``name`` in ``path``."""
        table, column = {"call": ("calls", "callee"), "var": ("var_uses", "name"),
                         "type": ("type_uses", "name")}[what]
        # from the file's packed list, the name's rows only: the view (``schema.PACKED``)
        # writes every row of the file as JSON for SQLite to read back, 3 ms per fix planned
        # on a file of 5,000 lines
        file_id, name_id = self.file_id(path), self._name_id(name)
        if file_id is None or name_id is None:
            return None
        columns = factlists.LAYOUTS[table].columns
        at = [columns.index(c) for c in ("start_byte", "line", "col")]
        rows = [r for batch in self._lists_of(table, [file_id], column, {name_id})
                for _f, file_rows in batch for r in file_rows]
        return min((tuple(r[i] for i in at) for r in rows), default=None)

    def resolved_includes(self, path: str) -> list[tuple[int, str]]:
        """(start_byte, included path) of the includes of ``path`` that resolve, in file order."""
        return self.conn.execute(
            "SELECT i.start_byte, r.path FROM includes i JOIN files fl ON fl.id = i.file_id "
            "JOIN files r ON r.id = i.resolved_id WHERE fl.path=? ORDER BY i.start_byte",
            (path,)).fetchall()

