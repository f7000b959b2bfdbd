"""Pools of worker processes that start and stop cleanly whatever signal comes meanwhile.

The extraction (``indexer.worker_pool``) and the macro expansion (``expand``) start theirs here:
a pool stopped while its workers start, or a Ctrl-C reaching them, printed their tracebacks.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time


def _start_worker(initializer, arg, started) -> None:
    """A ``started_pool`` process's initializer: ``initializer(arg)``, then ``started``
    released. Ctrl-C in a terminal reaches every process of the group: the pool's owner stops
    the workers, which would each print a KeyboardInterrupt traceback of their own."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    initializer(arg)
    started.release()


STARTING_WITHIN = 10.0  # seconds the workers of a new pool have to start
STOPPING_WITHIN = 30.0  # seconds a pool being stopped waits for its workers still starting
TERMINATING_WITHIN = 10.0  # ... and for its termination


def started_pool(jobs: int, initializer, arg):
    """``jobs`` processes prepared by ``initializer(arg)`` (starting them costs about 0.3 s).
    Ctrl-C, SIGTERM and SIGHUP wait until they have started: a pool stopped before, its
    semaphore gone, left each worker still starting a traceback (FileNotFoundError) on the
    terminal."""
    ctx = multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")
    main = threading.current_thread() is threading.main_thread()
    # Held by handlers that note them, not by the main thread's signal mask: another thread
    # (the progress bar's) took the signal the main thread blocked, Python ran its handler
    # all the same, and a worker still starting printed a FileNotFoundError or EOFError
    # traceback (about one ``kill`` in three while the workers start)
    held: list[int] = []
    before = {}

    def note(signum, _frame):
        held.append(signum)

    if main:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(sig) is not signal.SIG_IGN:
                before[sig] = signal.signal(sig, note)
    try:
        if main and ctx.get_start_method() == "forkserver":
            _start_fork_server()
        started = ctx.Semaphore(0)
        pool = ctx.Pool(jobs, initializer=_start_worker,
                        initargs=(initializer, arg, started))
        deadline = time.monotonic() + STARTING_WITHIN
        waiting = jobs
        while waiting and started.acquire(timeout=max(0.0, deadline - time.monotonic())):
            waiting -= 1
        # (a slow machine: on without them, they start when they can; ``stop_pool`` waits)
        pool.kernel_lsp_starting = (started, waiting)
    finally:
        for sig, handler in before.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
    try:  # what came meanwhile, now that the pool is there to be stopped
        for sig in dict.fromkeys(held):
            signal.raise_signal(sig)
    except BaseException:
        stop_pool(pool)
        raise
    return pool


def _start_fork_server() -> None:
    """Start multiprocessing's fork server (once) with SIGINT blocked, which it keeps through
    its exec: a Ctrl-C to the process group while it imported ended it with a KeyboardInterrupt
    traceback, and the pool starting a worker through it with 'internal error: EOFError'.
    There the Ctrl-C waits until the server ignores SIGINT (then it is dropped); here it waits
    until the mask is back, for the handler ``started_pool`` installed to note it (SIGINT
    ignored instead, as before, lost it: the run went on). The resource tracker is started
    first: its start unblocks SIGINT, whatever the mask was."""
    from multiprocessing import forkserver, resource_tracker

    resource_tracker.ensure_running()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        forkserver.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def stop_pool(pool) -> None:
    """Terminate a ``started_pool`` once the workers it went on without have started (at most
    ``STOPPING_WITHIN`` more): one stopped while it starts prints a FileNotFoundError
    traceback (its semaphore is gone), which a loaded machine showed on Ctrl-C.

    The termination gets ``TERMINATING_WITHIN``, then the workers are killed and the pool
    left to the process's end: a worker killed while it sent a result holds the result
    queue's lock for ever, and the pool's task thread, which puts its last message there,
    with it ``Pool.terminate`` (an index child stopped by SIGTERM hung 40 minutes, its model's
    run lock held: every later run of the tree waited for it)."""
    started, waiting = getattr(pool, "kernel_lsp_starting", (None, 0))
    deadline = time.monotonic() + STOPPING_WITHIN
    while waiting and started.acquire(timeout=max(0.0, deadline - time.monotonic())):
        waiting -= 1
    ended = threading.Event()

    def terminate() -> None:
        try:
            pool.terminate()
        finally:
            ended.set()

    threading.Thread(target=terminate, daemon=True, name="kernel-lsp-pool-stop").start()
    if not ended.wait(TERMINATING_WITHIN):
        for worker in getattr(pool, "_pool", ()):  # (what a terminate that returns does)
            if worker.exitcode is None:
                worker.kill()
