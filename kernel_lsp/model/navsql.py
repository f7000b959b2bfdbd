"""SQL for navigation (hover, definitions, references, symbols, call hierarchy): part of Model.

Kept apart from ``store.py`` only to keep modules small; ``Model`` inherits it, so the rule
"one class owns the SQL" holds. Methods use ``self.conn``.
"""

from __future__ import annotations


class NavigationSQL:
    """Navigation queries of the Model (mixed into ``kernel_lsp.model.store.Model``)."""
