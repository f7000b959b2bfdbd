"""Settings: root finding, source precedence, validation with messages instead of exceptions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernel_lsp.config import (
    DEFAULT_EXCLUDE,
    DEFAULT_MAX_FILE_BYTES,
    apply_settings,
    find_root,
    linux_include_paths,
    load_config,
    relative_posix,
)
from kernel_lsp.findings import effective


def make_linux_tree(root: Path) -> Path:
    (root / "include" / "linux").mkdir(parents=True)
    (root / "arch" / "x86" / "include" / "asm").mkdir(parents=True)
    (root / "arch" / "arm64" / "include").mkdir(parents=True)
    (root / "Kconfig").write_text("mainmenu \"x\"\n")
    return root


def test_linux_like_tree_needs_no_configuration(tmp_path):
    root = make_linux_tree(tmp_path / "linux")
    config, messages = load_config(root)
    assert messages == []
    assert config.linux_like
    assert config.include_paths == [
        "include", "arch/x86/include", "include/uapi", "arch/x86/include/uapi",
        "arch/x86/include/generated", "arch/x86/include/generated/uapi",
        "include/generated", "include/generated/uapi",
    ]
    assert config.source.startswith("auto-detected")
    assert config.exclude == list(DEFAULT_EXCLUDE)
    assert config.max_file_bytes == DEFAULT_MAX_FILE_BYTES
    assert config.db_path == root / ".kernel-lsp" / "model.db"


def test_arch_argument_overrides_toml(tmp_path):
    root = make_linux_tree(tmp_path)
    (root / "kernel-lsp.toml").write_text('arch = "riscv"\n')
    assert load_config(root)[0].arch == "riscv"
    config, messages = load_config(root, arch="arm64")
    assert config.arch == "arm64"
    assert config.include_paths == linux_include_paths("arm64")
    assert messages == []


def test_missing_arch_directory_is_reported(tmp_path):
    root = make_linux_tree(tmp_path)
    config, messages = load_config(root, arch="sparc")
    assert config.arch == "sparc"
    assert any("arch/sparc" in m for m in messages)


def test_toml_include_paths_win_over_compile_commands(tmp_path):
    root = make_linux_tree(tmp_path)
    (root / "compile_commands.json").write_text(json.dumps(
        [{"directory": str(root), "file": "a.c", "arguments": ["cc", "-Icc_dir", "a.c"]}]))
    (root / "kernel-lsp.toml").write_text('include_paths = ["mine", "arch/{arch}/inc"]\n')
    config, messages = load_config(root)
    assert messages == []
    assert config.include_paths == ["mine", "arch/x86/inc"]
    assert config.source == "kernel-lsp.toml"


def test_pyproject_table_is_read_when_no_toml(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.kernel-lsp]\ninclude-paths = ["inc"]\njobs = 3\n')
    config, messages = load_config(tmp_path)
    assert messages == []
    assert config.include_paths == ["inc"]
    assert config.jobs == 3
    assert config.source == "pyproject.toml [tool.kernel-lsp]"


def test_compile_commands_win_over_autodetection(tmp_path):
    root = make_linux_tree(tmp_path / "src")
    build = tmp_path / "build"
    (root / "compile_commands.json").write_text(json.dumps([
        {"directory": str(root), "file": "a.c",
         "command": "gcc -I./include -isystem arch/x86/include -iquote 'q dir' "
                    "-include ./include/linux/kconfig.h -DX='\"y\"' -c a.c"},
        {"directory": str(root / "fs"), "file": "b.c",
         "arguments": ["gcc", "-I", "../include", "-I" + str(build / "gen"), "-Ilocal", "b.c"]},
    ]))
    config, messages = load_config(root)
    assert messages == []
    assert config.source == "compile_commands.json"
    assert config.include_paths == [
        "include", "arch/x86/include", str(build / "gen"), "fs/local"]
    assert config.quote_paths == ["q dir"]
    assert config.forced_includes == ["include/linux/kconfig.h"]


def test_corrupt_sources_give_messages_and_defaults(tmp_path):
    root = make_linux_tree(tmp_path)
    (root / "kernel-lsp.toml").write_text("arch = [unclosed\n")
    (root / "compile_commands.json").write_text("{not json")
    config, messages = load_config(root)
    assert config.include_paths == linux_include_paths("x86")
    assert any(m.startswith("kernel-lsp.toml: cannot read settings") for m in messages)
    assert any(m.startswith("compile_commands.json: cannot read") for m in messages)


def test_bad_values_keep_defaults_with_one_message_each(tmp_path):
    (tmp_path / "kernel-lsp.toml").write_text(
        'arch = "../x"\nmax_file_bytes = -1\njobs = "many"\nextensions = ["c"]\n'
        'exclude = "build"\nbogus = 1\nlinux_like = "yes"\n'
        '[severity]\n"404_2" = "warning"\n"405_2" = "fatal"\n')
    config, messages = load_config(tmp_path)
    assert config.arch == "x86"
    assert config.max_file_bytes == DEFAULT_MAX_FILE_BYTES
    assert config.jobs is None
    assert config.extensions == (".c", ".h")
    assert config.exclude == list(DEFAULT_EXCLUDE)
    assert config.severity == {"404_2": "warning"}
    keys = ["'arch'", "'max_file_bytes'", "'jobs'", "'extensions'", "'exclude'", "'bogus'",
            "'linux_like'", "'405_2'"]
    for key in keys:
        assert sum(key in m for m in messages) == 1, (key, messages)
    assert len(messages) == len(keys)


def test_severity_and_disable(tmp_path):
    (tmp_path / "kernel-lsp.toml").write_text(
        'disable = ["504_2"]\nexclude = ["build/**"]\n[severity]\n"404_2" = "Note"\n')
    config, messages = load_config(tmp_path)
    assert messages == []
    assert effective("504_2", config.severity) is None
    assert effective("404_2", config.severity) == "note"
    assert effective("020_2", config.severity) == "error"
    assert config.exclude == [*DEFAULT_EXCLUDE, "build/**"]


def test_apply_settings_is_the_shared_validator(tmp_path):
    config, _ = load_config(tmp_path)
    messages = apply_settings(config, {"jobs": 2, "maxFileBytes": 5}, "initializationOptions")
    assert config.jobs == 2
    assert messages == ["initializationOptions: unknown setting 'maxFileBytes' (ignored)"]


def test_plain_directory_has_no_include_paths(tmp_path):
    config, messages = load_config(tmp_path)
    assert (config.include_paths, config.linux_like, config.source) == ([], False, "default")
    assert messages == []


def test_find_root_walks_up_to_kernel_tree(tmp_path):
    root = make_linux_tree(tmp_path / "linux")
    deep = root / "fs" / "ext4"
    deep.mkdir(parents=True)
    (deep / "inode.c").write_text("")
    assert find_root(deep) == root
    assert find_root(deep / "inode.c") == root


def test_find_root_nearest_settings_file_wins(tmp_path):
    make_linux_tree(tmp_path)
    sub = tmp_path / "drivers" / "mine"
    (sub / "deep").mkdir(parents=True)
    (sub / "kernel-lsp.toml").write_text("")
    assert find_root(sub / "deep") == sub


def test_find_root_falls_back_to_start(tmp_path):
    plain = tmp_path / "a" / "b"
    plain.mkdir(parents=True)
    assert find_root(plain) == plain


def test_relative_posix(tmp_path):
    assert relative_posix(tmp_path, tmp_path / "a" / "b.c") == "a/b.c"
    assert relative_posix(tmp_path, tmp_path) == "."
    assert relative_posix(tmp_path / "a", tmp_path / "ab" / "x.c") is None
    assert relative_posix(tmp_path / "a", tmp_path / "a" / ".." / "x.c") is None


@pytest.mark.parametrize("value, url, bad", [
    ("https://example.org/kl/docs/", "https://example.org/kl/docs", False),
    ("file:///opt/kernel-lsp/docs", "file:///opt/kernel-lsp/docs", False),
    ("", None, False), (None, None, False),
    ("kernel-lsp.invalid/docs", None, True), (42, None, True)])
def test_docs_url_is_a_url_or_nothing(tmp_path, value, url, bad):
    config, _ = load_config(tmp_path)
    messages = apply_settings(config, {"docs_url": value}, "kernel-lsp.toml")
    assert config.docs_url == url
    assert bool(messages) == bad and all("docs_url" in m for m in messages)


def test_globs_and_layer_files_that_cannot_be_read_are_messages(tmp_path):
    """An exclude glob that is no glob (``[z-a]``: a bad character range) stopped indexing with
    "internal error"; an absolute layer_files pattern raised NotImplementedError; a layer file
    nested thousands deep, RecursionError. Each is a message, the rest kept."""
    (tmp_path / "kernel-lsp.toml").write_text(
        'exclude = ["[z-a]*.c", "gen/**"]\nlayer_files = ["/etc/*.yaml", "*.layers.yaml"]\n')
    (tmp_path / "deep.layers.yaml").write_text("a: " + "[" * 3000 + "]" * 3000 + "\n")
    config, messages = load_config(tmp_path)
    assert config.exclude == [*DEFAULT_EXCLUDE, "gen/**"]
    assert [m for m in messages if "'[z-a]*.c' is no glob" in m and "ignored" in m]
    assert [m for m in messages if "layer_files: '/etc/*.yaml'" in m and "ignored" in m]
    assert [m for m in messages if m.startswith("deep.layers.yaml:") and "nested too deeply" in m]
    assert len(messages) == 3, messages


def test_jobs_are_at_most_four_per_cpu(tmp_path, monkeypatch):
    """``jobs = 100000`` (a setting, the editor's too) started as many worker processes."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    (tmp_path / "kernel-lsp.toml").write_text("jobs = 100000\n")
    config, messages = load_config(tmp_path)
    assert config.jobs == 8
    assert messages == ["kernel-lsp.toml: 'jobs' 100000 is more than 4 per CPU (2 CPUs): using 8"]
    (tmp_path / "kernel-lsp.toml").write_text("jobs = 8\n")
    config, messages = load_config(tmp_path)
    assert (config.jobs, messages) == (8, [])


def test_max_file_bytes_is_at_most_a_gib(tmp_path):
    """``max_file_bytes = 99999999999999999999999``: each read of a file raised OverflowError
    (an "internal error" ended ``kernel-lsp check``)."""
    (tmp_path / "kernel-lsp.toml").write_text("max_file_bytes = 99999999999999999999999\n")
    config, messages = load_config(tmp_path)
    assert config.max_file_bytes == 1 << 30
    assert messages == ["kernel-lsp.toml: 'max_file_bytes' 99999999999999999999999 is more "
                        "than 1 GiB (no source file is as large): using 1073741824"]
    (tmp_path / "kernel-lsp.toml").write_text(f"max_file_bytes = {1 << 30}\n")
    assert load_config(tmp_path)[1] == []
    (tmp_path / "fs").mkdir()
    (tmp_path / "fs" / "a.c").write_text("int f(void) { return g(); }\n")
    (tmp_path / "kernel-lsp.toml").write_text("max_file_bytes = 99999999999999999999999\n")
    got = subprocess.run([sys.executable, "-m", "kernel_lsp", "check", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert "internal error" not in got.stderr and "fs/a.c:1:" in got.stdout, got.stderr


def test_an_arch_too_long_for_a_file_name_and_a_layer_pattern_of_no_file_are_messages(tmp_path):
    """``arch`` of 300 characters (or ``--arch``) stopped every command with "internal error:
    OSError: File name too long" (the arch/ directory looked up); ``layer_files = ["."]`` with
    "internal error: IndexError" (pathlib's glob of a pattern of no part)."""
    root = make_linux_tree(tmp_path)
    (root / "kernel-lsp.toml").write_text(
        f'arch = "{"a" * 300}"\nlayer_files = [".", "./", "*.layers.yaml"]\n')
    config, messages = load_config(root, arch="b" * 256)
    assert config.arch == "x86"
    assert [m for m in messages if "'arch' must be a directory name" in m]
    assert [m for m in messages if m.startswith("--arch: 'bbb")]
    assert [m for m in messages if "layer_files: '.' names no file" in m]
    assert [m for m in messages if "layer_files: './' names no file" in m]
    assert len(messages) == 4, messages
    assert load_config(root, arch="c" * 255)[0].arch == "c" * 255  # (the longest name there is)
