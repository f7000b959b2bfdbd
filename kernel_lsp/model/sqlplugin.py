"""A sqlite-utils and Datasette plugin: the SQL functions the model's views need
(``factlists``).

Installed with kernel-lsp (entry point groups ``sqlite_utils`` and ``datasette``), so that
``sqlite-utils query .kernel-lsp/model.db "select ... from calls"`` and ``datasette
.kernel-lsp/model.db`` read the views of the calls, type uses and variable uses as any table,
in the environment kernel-lsp is installed in (or one where ``sqlite-utils install`` or
``datasette install`` installed kernel-lsp's checkout). Datasette's hook has more arguments;
pluggy gives an implementation only those it names.
"""

from __future__ import annotations

import sqlite3

from pluggy import HookimplMarker
from sqlite_utils import hookimpl

from kernel_lsp.model import factlists

datasette_hookimpl = HookimplMarker("datasette")  # datasette's own marker, without importing it


@datasette_hookimpl
@hookimpl
def prepare_connection(conn: sqlite3.Connection) -> None:
    """Register ``factlists``' functions on each connection sqlite-utils or Datasette opens."""
    factlists.register(conn)
