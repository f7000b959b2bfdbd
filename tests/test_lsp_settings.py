"""Editor settings (camelCase ``kernelLsp`` tables) map onto the one schema over kernel-lsp.toml."""

from __future__ import annotations

import pytest

from kernel_lsp.lsp.settings import DEFAULT_DEBOUNCE_MS, server_config, snake


@pytest.fixture
def root(tmp_path):
    (tmp_path / "kernel-lsp.toml").write_text('arch = "arm64"\ndisable = ["504_2"]\n')
    (tmp_path / "arch" / "arm64").mkdir(parents=True)
    (tmp_path / "arch" / "riscv").mkdir(parents=True)
    return tmp_path


@pytest.mark.parametrize("key, want", [("includePaths", "include_paths"), ("arch", "arch"),
                                       ("maxFileBytes", "max_file_bytes"),
                                       ("debounceMs", "debounce_ms"), ("max-file-bytes",
                                                                       "max_file_bytes")])
def test_snake(key, want):
    assert snake(key) == want


def test_toml_alone(root):
    config, server, messages = server_config(root, [(None, "init"), (None, "conf")])
    assert (config.arch, config.severity, server.debounce_ms) == (
        "arm64", {"504_2": "off"}, DEFAULT_DEBOUNCE_MS)
    assert messages == []


def test_editor_tables_override_toml_in_order(root):
    config, server, messages = server_config(root, [
        ({"arch": "riscv", "debounceMs": 5, "severity": {"404_2": "warning"}}, "init"),
        ({"kernelLsp": {"debounceMs": 80, "includePaths": ["include"]}}, "conf")])
    assert config.arch == "riscv" and server.debounce_ms == 80
    assert config.severity == {"504_2": "off", "404_2": "warning"}
    assert config.include_paths[0].endswith("include") and messages == []


@pytest.mark.parametrize("table, fragment", [
    ({"debounceMs": -5}, "debounceMs"), ({"debounceMs": "fast"}, "debounceMs"),
    ({"arch": "../x"}, "arch"), ({"colour": "red"}, "colour"), ("nonsense", "object"),
    ({"severity": {"404_2": "loud"}}, "404_2"), ({"includePaths": "include"}, "include_paths"),
])
def test_bad_values_give_a_message_and_the_default(root, table, fragment):
    config, server, messages = server_config(root, [(table, "initializationOptions")])
    assert any(fragment in m for m in messages), messages
    assert server.debounce_ms == DEFAULT_DEBOUNCE_MS and config.arch == "arm64"


def test_client_only_keys_are_ignored_silently(root):
    _config, _server, messages = server_config(root, [
        ({"server": {"path": "/x"}, "trace": {"server": "off"}, "jobs": None}, "init")])
    assert messages == []
