"""Reading a tree's files for the server and the checks: regular files only, within a size;
and staging a file's new content beside it, to be renamed over it whole (``stage_beside``).

A FIFO (``mkfifo fs/pipe.c``) blocks its reader until someone writes to it, for ever in an
editor session, and a link to ``/dev/zero`` never ends: neither is source. The file is opened
without blocking and looked at before it is read.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from pathlib import Path
from typing import TypeVar

_Text = TypeVar("_Text", str, bytes)
_LONE_CR = {str: re.compile("\r(?!\n)"), bytes: re.compile(b"\r(?!\n)")}
_LF = {str: "\n", bytes: b"\n"}


class NotSource(OSError):
    """The path is no regular file (``too_large`` False), or larger than allowed."""

    def __init__(self, why: str, too_large: bool = False):
        super().__init__(why)
        self.strerror, self.too_large = why, too_large


def read_regular(path: Path | str, limit: int | None = None) -> bytes:
    """The bytes of the regular file ``path`` (at most ``limit`` of them, else ``NotSource``).

    :raises OSError: it cannot be read, is no regular file or is too large."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotSource("not a regular file")
        if limit is not None and st.st_size > limit:
            raise NotSource(f"larger than {limit} bytes", too_large=True)
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(st.st_size + 1 if limit is None else limit + 1)
    finally:
        os.close(fd)
    if limit is not None and len(data) > limit:  # grew since
        raise NotSource(f"larger than {limit} bytes", too_large=True)
    return data


def lone_crs_as_lf(text: _Text) -> _Text:
    """``text`` with each ``\\r`` that no ``\\n`` follows made a ``\\n``: a line end for LSP
    and for GCC, as the analysis counts lines (``\\n`` only). Lengths and offsets stay."""
    cr, crlf = ("\r", "\r\n") if isinstance(text, str) else (b"\r", b"\r\n")
    if cr not in text or text.count(cr) == text.count(crlf):  # (memchr-fast scans)
        return text
    return _LONE_CR[type(text)].sub(_LF[type(text)], text)


BUILD_FILE_BYTES = 16 << 20  # a Makefile, Kbuild or Kconfig file; Linux's largest is 200 KiB


def read_build_file(path: Path | str) -> str:
    """A Makefile, Kbuild, Kconfig or configuration file of the tree as text (undecodable
    bytes replaced): a regular file of at most ``BUILD_FILE_BYTES`` only. A FIFO named
    ``fs/Makefile`` held the index for ever, a link to ``/dev/zero`` filled the memory.

    :raises OSError: it cannot be read, is no regular file or is too large."""
    return read_regular(path, BUILD_FILE_BYTES).decode("utf-8", "replace")


def stage_beside(path: Path, data: bytes, mode: int, suffix: str, sync: bool = False) -> str:
    """A temporary file in ``path``'s directory holding ``data`` with permission bits ``mode``
    (``sync``: on the disk), for the caller to rename over ``path``: a write cut short (a full
    disk) leaves ``path`` as it was. Removed again when writing it fails."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if sync:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, mode)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return tmp
