"""Discovery and reading: excludes, symlink loops, bad files, paths outside the root."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from kernel_lsp.config import Config, load_config
from kernel_lsp.model.walk import discover, is_excluded, read_source


def write(path: Path, data: bytes | str = "int x;\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def paths(files) -> list[str]:
    return [sf.path for sf in files]


@pytest.fixture
def tree(tmp_path) -> Path:
    for rel in ("fs/a.c", "fs/a.h", "fs/ext4/b.c", "include/linux/x.h", "README",
                "fs/notes.txt", ".git/objects/z.c", ".kernel-lsp/t.c", "tools/node_modules/m.c",
                "build/out.c", "drivers/foo.mod.c"):
        write(tmp_path / rel)
    return tmp_path


def test_discovers_c_files_minus_default_excludes(tree):
    files, messages = discover(Config(root=tree))
    assert messages == []
    assert paths(files) == ["build/out.c", "drivers/foo.mod.c", "fs/a.c", "fs/a.h",
                            "fs/ext4/b.c", "include/linux/x.h"]
    sf = files[2]
    assert Path(sf.abs) == tree / "fs" / "a.c"
    assert sf.size == len("int x;\n")
    assert sf.mtime_ns == os.stat(tree / "fs" / "a.c").st_mtime_ns


def test_configured_excludes_and_extensions(tree):
    (tree / "kernel-lsp.toml").write_text(
        'exclude = ["build/**", "*.mod.c", "fs/ext?/*.c"]\nextensions = [".c"]\n')
    config, messages = load_config(tree)
    assert messages == []
    assert paths(discover(config)[0]) == ["fs/a.c"]


def test_exclude_pattern_semantics():
    config = Config(root=Path("/r"), exclude=["build/**", "*.mod.c", "drivers/**/gen_*.h",
                                              "[0-9]*.c"])
    assert is_excluded(config, "build", is_dir=True)
    assert is_excluded(config, "build/x/y.c")
    assert not is_excluded(config, "mybuild/y.c")
    assert is_excluded(config, "a/b/foo.mod.c")
    assert is_excluded(config, "drivers/gen_x.h")
    assert is_excluded(config, "drivers/a/b/gen_x.h")
    assert not is_excluded(config, "fs/gen_x.h")
    assert is_excluded(config, "fs/9p.c")
    assert not is_excluded(config, "fs/p9.c")


def test_explicit_paths(tree, monkeypatch):
    monkeypatch.chdir(tree / "fs")
    config = Config(root=tree)
    files, messages = discover(config, [Path("ext4"), tree / "include/linux/x.h",
                                        tree / "build/out.c", Path("a.c")])
    assert paths(files) == ["build/out.c", "fs/a.c", "fs/ext4/b.c", "include/linux/x.h"]
    assert messages == []


def test_explicit_paths_honour_excludes(tree):
    (tree / "kernel-lsp.toml").write_text('exclude = ["build/**", "*.mod.c"]\n')
    config, _ = load_config(tree)
    files, messages = discover(config, [tree / "build/out.c", tree / "drivers/foo.mod.c",
                                        tree / "build", tree / "fs/a.c"])
    assert paths(files) == ["fs/a.c"]
    assert messages == [f"{tree / 'build/out.c'}: excluded by the settings; skipped",
                        f"{tree / 'drivers/foo.mod.c'}: excluded by the settings; skipped"]


def test_explicit_bad_paths_are_messages(tree, tmp_path_factory):
    outside = write(tmp_path_factory.mktemp("elsewhere") / "o.c")
    files, messages = discover(Config(root=tree), [outside, tree / "missing.c",
                                                   tree / "README", tree / "fs/a.c"])
    assert paths(files) == ["fs/a.c"]
    assert len(messages) == 3
    assert "outside the root" in messages[0]
    assert "missing.c" in messages[1] and "No such file" in messages[1]
    assert "not a C file" in messages[2]


def test_missing_root_is_a_message(tmp_path):
    files, messages = discover(Config(root=tmp_path / "nope"))
    assert files == []
    assert messages == [f"root {tmp_path / 'nope'} does not exist"]


def test_symlink_loop_is_not_followed(tmp_path):
    write(tmp_path / "a" / "b" / "x.c")
    os.symlink("../..", tmp_path / "a" / "b" / "loop")
    os.symlink(tmp_path / "a", tmp_path / "self")
    files, messages = discover(Config(root=tmp_path))
    assert paths(files) == ["a/b/x.c"]
    assert len(messages) == 2
    assert all("already visited directory" in m for m in messages)


def test_a_symlink_to_a_directory_holding_the_root_is_not_followed(tmp_path):
    """``ln -s / x`` in a tree: the index walked the whole file system (/proc too) and did
    not end; a link to an ancestor of the root is said and not followed."""
    root = tmp_path / "src" / "linux"
    write(root / "z.c")
    os.symlink("/", root / "slash")
    os.symlink("../..", root / "up")
    t0 = time.perf_counter()
    files, messages = discover(Config(root=root))
    assert time.perf_counter() - t0 < 5
    assert paths(files) == ["z.c"]
    assert sorted(messages) == [
        "slash: symbolic link to a directory that holds the root (/); not followed",
        f"up: symbolic link to a directory that holds the root ({os.path.realpath(tmp_path)});"
        " not followed"]


def test_a_name_that_is_not_utf8_is_skipped_with_a_message(tmp_path):
    """``fs/bad\\xffname.c``: the index ended in "internal error: UnicodeEncodeError" (the
    model stores UTF-8 paths); the file, or a directory of such a name, is skipped."""
    write(tmp_path / "ok.c")
    bad = os.fsdecode(b"bad\xffname")
    write(tmp_path / f"{bad}.c")
    write(tmp_path / bad / "inner.c")
    files, messages = discover(Config(root=tmp_path))
    assert paths(files) == ["ok.c"]
    assert sorted(messages) == ["bad\\xffname.c: a name that is not UTF-8; skipped",
                                "bad\\xffname: a name that is not UTF-8; skipped"]


def test_symlinked_directory_and_file_outside_are_followed_once(tmp_path, tmp_path_factory):
    other = tmp_path_factory.mktemp("other")
    write(other / "y.c")
    root = tmp_path / "root"
    write(root / "z.c")
    os.symlink(other, root / "linked")
    os.symlink(other / "y.c", root / "file.c")
    os.symlink(root / "gone.c", root / "broken.c")
    files, messages = discover(Config(root=root))
    assert paths(files) == ["file.c", "linked/y.c", "z.c"]
    assert messages == ["broken.c: broken symbolic link; skipped"]


def _can_bypass_permissions(path: Path) -> bool:
    """True when chmod 000 does not stop reading (root, CAP_DAC_OVERRIDE)."""
    return os.access(path, os.R_OK)


def test_unreadable_directory_and_file(tmp_path):
    write(tmp_path / "ok.c")
    secret = write(tmp_path / "locked" / "s.c").parent
    bad = write(tmp_path / "bad.c")
    secret.chmod(0)
    bad.chmod(0)
    try:
        if _can_bypass_permissions(bad) or _can_bypass_permissions(secret):
            pytest.skip("running with permission override (root): chmod 000 does not block reads")
        files, messages = discover(Config(root=tmp_path))
        assert paths(files) == ["bad.c", "ok.c"]
        assert messages == ["locked: cannot read directory (Permission denied); skipped"]
        data, problem = read_source(files[0], 1 << 20)
        assert data is None
        assert problem == "bad.c: cannot read (Permission denied); skipped"
    finally:
        secret.chmod(0o755)
        bad.chmod(0o644)


def test_read_error_is_a_message_even_as_root(tmp_path):
    write(tmp_path / "a.c")
    sf = discover(Config(root=tmp_path))[0][0]
    (tmp_path / "a.c").unlink()
    write(tmp_path / "a.c" / "inside.h")  # a directory now: open() fails for any user
    data, problem = read_source(sf, 1 << 20)
    assert data is None
    assert problem.startswith("a.c: cannot read (") and problem.endswith("); skipped")


def test_binary_c_file(tmp_path):
    write(tmp_path / "blob.c", b"\x7fELF\x02\x01\x01\x00" + bytes(100))
    write(tmp_path / "late.c", b"int x;\n" * 2000 + b"\0")  # NUL after the 8 KiB probe
    files, _ = discover(Config(root=tmp_path))
    data, problem = read_source(files[0], 1 << 20)
    assert data is None and problem == "blob.c: binary file (NUL bytes), not C source; skipped"
    data, problem = read_source(files[1], 1 << 20)
    assert data is not None and problem is None


def test_fifty_megabyte_file_is_skipped_without_reading(tmp_path):
    big = tmp_path / "huge.c"
    with open(big, "wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    files, _ = discover(Config(root=tmp_path))
    start = time.perf_counter()
    data, problem = read_source(files[0], 4 * 1024 * 1024)
    assert time.perf_counter() - start < 0.5
    assert data is None
    assert problem == "huge.c: 50.0 MiB is larger than max_file_bytes (4.0 MiB); skipped"


def test_file_that_grew_after_discovery_is_capped(tmp_path):
    write(tmp_path / "g.c", "int a;\n")
    sf = discover(Config(root=tmp_path))[0][0]
    write(tmp_path / "g.c", "x" * 5000)
    data, problem = read_source(sf, 4096)
    assert data is None and "larger than max_file_bytes" in problem


def test_invalid_utf8_is_read_with_a_note(tmp_path):
    raw = b"int a;\n/* caf\xe9 */\nint b;\n"
    write(tmp_path / "latin1.c", raw)
    sf = discover(Config(root=tmp_path))[0][0]
    data, problem = read_source(sf, 1 << 20)
    assert data == raw
    assert problem == "latin1.c:2: note: invalid UTF-8 at byte 13; parsed as bytes"


def test_valid_file_has_no_message(tmp_path):
    write(tmp_path / "u.c", "/* é */ int a;\n")
    sf = discover(Config(root=tmp_path))[0][0]
    assert read_source(sf, 1 << 20) == ("/* é */ int a;\n".encode(), None)


def test_discovery_is_fast(tmp_path):
    for d in range(100):
        for f in range(50):
            write(tmp_path / f"d{d // 10}" / f"s{d}" / f"f{f}.c", "")
    start = time.perf_counter()
    files, _ = discover(Config(root=tmp_path))
    elapsed = time.perf_counter() - start
    assert len(files) == 5000
    assert elapsed < 1.5, f"5000 files took {elapsed:.2f} s"
