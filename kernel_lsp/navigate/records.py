"""The plain, frozen result records of navigation (no LSP types: the server converts them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Location:
    """A range in a root-relative POSIX file: 0-based lines, 0-based byte columns, end exclusive."""

    path: str
    line: int
    col: int
    end_line: int
    end_col: int


@dataclass(frozen=True, slots=True)
class SymbolAt:
    """The symbol under the cursor.

    ``kind``: ``call`` ``func`` ``type:struct`` ``type:union`` ``type:enum`` ``type:typedef``
    ``type:base`` ``var`` ``macro`` ``enumerator`` ``field`` ``local`` ``include``.
    ``decl`` is the declarator of a ``local`` (variable or parameter of the enclosing function),
    found in the buffer itself because the model does not record locals.
    """

    name: str
    kind: str
    span: Location
    decl: Location | None = None


@dataclass(frozen=True, slots=True)
class DocSymbol:
    """An outline entry; ``kind`` is one of function struct union enum typedef variable macro
    field enumerator; ``range`` holds ``selection`` and every child."""

    name: str
    kind: str
    detail: str
    range: Location
    selection: Location
    children: tuple[DocSymbol, ...] = ()


@dataclass(frozen=True, slots=True)
class SymbolInfo:
    """A workspace symbol: ``kind`` as for ``DocSymbol``, ``container`` the defining file."""

    name: str
    kind: str
    location: Location
    container: str | None


@dataclass(frozen=True, slots=True)
class CallItem:
    """A function in the call hierarchy: its whole definition (``range``) and its name."""

    name: str
    kind: str
    path: str
    range: Location
    selection: Location
    detail: str
