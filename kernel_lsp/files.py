"""Reading a tree's files for the server and the checks: regular files only, within a size.

A FIFO (``mkfifo fs/pipe.c``) blocks its reader until someone writes to it, for ever in an
editor session, and a link to ``/dev/zero`` never ends: neither is source. The file is opened
without blocking and looked at before it is read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


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
