"""A sqlite-utils plugin: the SQL functions that the model's views need (``factlists``).

Installed with kernel-lsp (entry point group ``sqlite_utils``), so that ``sqlite-utils query
.kernel-lsp/model.db "select ... from calls"`` reads the views of the calls, type uses and
variable uses as any table, in the environment kernel-lsp is installed in (or in the one of a
``sqlite-utils`` that ran ``sqlite-utils install`` of kernel-lsp's checkout).
"""

from __future__ import annotations

import sqlite3

from sqlite_utils import hookimpl

from kernel_lsp.model import factlists


@hookimpl
def prepare_connection(conn: sqlite3.Connection) -> None:
    """Register ``factlists``' functions on each connection sqlite-utils opens."""
    factlists.register(conn)
