"""Make a Linux 6.1 tree a git repository with ten small kernel-like commits, for measuring
``kernel-lsp check --since`` (bench, run by hand; see bench/since_review.py).

    python bench/since_patches.py /path/to/linux      # the tree must be a git work tree
                                                       # whose HEAD is the pristine source

Files are written to a temporary name and renamed over the original, so a tree made with
``cp -al`` (hard links to a read-only source) never changes the linked originals. Each commit
is one edit that a kernel patch series could contain: four introduce design errors (a function
made static while another file still calls it, a dropped include, a call to a helper that does
not exist, a prototype removed from a header), six do not (code moved or re-indented over
existing findings, new functions with their declarations, include reordering).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    tmp = path.with_name(path.name + ".since-tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)  # a new inode: hard-linked originals keep their content


def edit(root: Path, rel: str, old: str, new: str) -> None:
    text = (root / rel).read_text(encoding="utf-8")
    if old not in text:
        raise SystemExit(f"{rel}: the text to replace is not there: {old[:60]!r}")
    write(root, rel, text.replace(old, new, 1))


def move_block(root: Path, rel: str, block_start: str, block_end: str, before: str) -> None:
    """Move the text from ``block_start`` to ``block_end`` (inclusive) before ``before``."""
    text = (root / rel).read_text(encoding="utf-8")
    a = text.index(block_start)
    b = text.index(block_end, a) + len(block_end)
    block, rest = text[a:b], text[:a] + text[b:]
    at = rest.index(before)
    write(root, rel, rest[:at] + block + rest[at:])


PATCHES = [
    ("lib: kstrtox: make _parse_integer() static", lambda r: (
        edit(r, "lib/kstrtox.c", "\nunsigned int _parse_integer(const char *s,",
             "\nstatic unsigned int _parse_integer(const char *s,"),
        edit(r, "lib/kstrtox.h",
             "unsigned int _parse_integer(const char *s, unsigned int base, "
             "unsigned long long *res);\n", ""))),
    ("mm/filemap: move filemap_check_and_keep_errors() next to its users", lambda r:
        move_block(r, "mm/filemap.c", "static int filemap_check_and_keep_errors(",
                   "\treturn 0;\n}\n\n", "/**\n * filemap_fdatawait_keep_errors")),
    ("btrfs: call a search tracing hook", lambda r: edit(
        r, "fs/btrfs/ctree.c", "\tfs_info = root->fs_info;\n\tmight_sleep();\n",
        "\tfs_info = root->fs_info;\n\tmight_sleep();\n\tbtrfs_trace_search_slot(root, key);\n")),
    ("nsfs: sort includes", lambda r: edit(
        r, "fs/nsfs.c", "#include <linux/mount.h>\n#include <linux/pseudo_fs.h>\n"
        "#include <linux/file.h>\n#include <linux/fs.h>\n",
        "#include <linux/file.h>\n#include <linux/fs.h>\n#include <linux/mount.h>\n"
        "#include <linux/pseudo_fs.h>\n")),
    ("hwmon: sht3x: drop an include", lambda r: edit(
        r, "drivers/hwmon/sht3x.c", "#include <linux/crc8.h>\n", "")),
    ("lib/string: strlcpy() with early return", lambda r: edit(
        r, "lib/string.c", "\tsize_t ret = strlen(src);\n\n\tif (size) {\n"
        "\t\tsize_t len = (ret >= size) ? size - 1 : ret;\n\t\tmemcpy(dest, src, len);\n"
        "\t\tdest[len] = '\\0';\n\t}\n\treturn ret;\n",
        "\tsize_t ret = strlen(src);\n\tsize_t len;\n\n\tif (!size)\n\t\treturn ret;\n"
        "\tlen = (ret >= size) ? size - 1 : ret;\n\tmemcpy(dest, src, len);\n"
        "\tdest[len] = '\\0';\n\treturn ret;\n")),
    ("blk-mq: add blk_mq_hctx_busy_count()", lambda r: (
        edit(r, "block/blk-mq.c", "\nstatic void blk_mq_timeout_work(",
             "\nunsigned int blk_mq_hctx_busy_count(struct blk_mq_hw_ctx *hctx)\n{\n"
             "\treturn atomic_read(&hctx->nr_active);\n}\n\n"
             "static void blk_mq_timeout_work("),
        edit(r, "block/blk-mq.h", "\nvoid blk_mq_exit_queue(",
             "\nunsigned int blk_mq_hctx_busy_count(struct blk_mq_hw_ctx *hctx);\n"
             "void blk_mq_exit_queue("))),
    ("sched/core: comment the migration cost", lambda r: edit(
        r, "kernel/sched/core.c", "\n#include <linux/highmem.h>",
        "\n/* migration cost: see sysctl_sched_migration_cost */\n#include <linux/highmem.h>")),
    ("crc8: retire crc8_populate_lsb() from the header", lambda r: edit(
        r, "include/linux/crc8.h",
        "void crc8_populate_lsb(u8 table[CRC8_TABLE_SIZE], u8 polynomial);\n", "")),
    ("lib/bitmap: re-indent bitmap_parse_region()", lambda r: edit(
        r, "lib/bitmap.c", "\tlen = _parse_integer(str, 10, &n);",
        "        len = _parse_integer(str, 10, &n);")),
]


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), "-c", "user.name=bench", "-c",
                           "user.email=bench@example.org", *args], check=True,
                          capture_output=True, text=True).stdout


def main() -> int:
    root = Path(sys.argv[1]).resolve()
    for title, apply in PATCHES:
        apply(root)
        git(root, "commit", "-qam", title)
        print(git(root, "log", "--oneline", "-1").strip(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
