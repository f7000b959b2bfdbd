"""Python's cyclic garbage collector during bulk work (a cold index: extraction, storing, the
cross-file expansion).

That work makes no reference cycles (the workers extracting 1,200 Linux files collected none),
yet by default the collector walks the young objects every 700 allocations, and now and then
every object: 3% of an extracting worker's time, 4% of the storing, 10% of an expanding
worker's, whose include closures are hundreds of MiB of objects. Bulk work walks them every
``BULK_THRESHOLD`` allocations instead; a worker process also freezes what it loaded to keep
(``gc.freeze``: never walked again). Cycles, if some appear, are still collected.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

BULK_THRESHOLD = 20_000


def worker_process() -> None:
    """Set once in a worker process of bulk work, after it has loaded what it keeps."""
    gc.freeze()
    gc.set_threshold(BULK_THRESHOLD, *gc.get_threshold()[1:])


@contextmanager
def bulk_work() -> Iterator[None]:
    """In a process that goes on after the bulk work (the CLI, the editor's index process):
    the collector's thresholds are raised for its duration only. (Nothing is frozen: what
    it holds may become garbage later.)"""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], BULK_THRESHOLD), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
