"""The language server's settings: the editor's ``kernelLsp`` table mapped onto the one schema.

Editors send camelCase keys (``includePaths``, ``maxFileBytes``) in ``initializationOptions``
and ``workspace/configuration``; they override ``kernel-lsp.toml`` key by key. Keys that only
concern the server (``debounceMs``) live in ``ServerSettings``. Bad values give a message and
the default, as everywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kernel_lsp.config import Config, load_config

SECTION = "kernelLsp"
DEFAULT_DEBOUNCE_MS = 10
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
# editor-only keys the server ignores without a message (they configure the client)
_CLIENT_KEYS = {"server", "trace"}


@dataclass(frozen=True, slots=True)
class ServerSettings:
    debounce_ms: int = DEFAULT_DEBOUNCE_MS


def snake(key: str) -> str:
    return _CAMEL.sub(r"_\1", str(key)).lower().replace("-", "_")


def split_settings(table, where: str) -> tuple[dict, ServerSettings, list[str]]:
    """(schema keys, server settings, messages) from one editor settings table."""
    if table is None:
        return {}, ServerSettings(), []
    if not isinstance(table, Mapping):
        return {}, ServerSettings(), [f"{where}: settings must be an object; using defaults"]
    if SECTION in table and isinstance(table[SECTION], Mapping):
        table = table[SECTION]  # a client that sends the whole settings tree
    schema: dict = {}
    debounce, messages = DEFAULT_DEBOUNCE_MS, []
    for key, value in table.items():
        name = snake(key)
        if name in _CLIENT_KEYS:
            continue
        if name == "debounce_ms":
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 5000:
                debounce = value
            else:
                messages.append(f"{where}: 'debounceMs' must be an integer from 0 to 5000; "
                                f"using {DEFAULT_DEBOUNCE_MS}")
        elif name == "jobs" and value is None:
            continue
        else:
            schema[name] = value
    return schema, ServerSettings(debounce), messages


def server_config(root: Path, tables: list[tuple[object, str]]) -> tuple[Config, ServerSettings,
                                                                          list[str]]:
    """The Config of ``root`` with the editor's tables applied over ``kernel-lsp.toml``."""
    overrides, messages, server = [], [], ServerSettings()
    for table, where in tables:
        schema, got, msgs = split_settings(table, where)
        messages += msgs
        if "debounce_ms" in {snake(k) for k in _keys(table)}:
            server = got  # the last table that sets it wins
        overrides.append((schema, where))
    config, more = load_config(root, overrides=tuple(overrides))
    return config, server, messages + more


def _keys(table) -> list:
    if isinstance(table, Mapping):
        inner = table.get(SECTION)
        return list((inner if isinstance(inner, Mapping) else table).keys())
    return []
