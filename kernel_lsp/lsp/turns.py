"""Turns of the checks on the model thread: one at a time, the newest waiting one next.

The model thread runs what it is given in order. Two thousand buffers opened at once (a
search-and-replace over a directory, ``:args **/*.c``) put two thousand checks in front of the
next hover or keystroke: it waited half a minute. A check now takes its turn before it goes to
the model thread, so a request waits for one check at most; and the check scheduled last (the
buffer being typed in) goes before those that waited longer.
"""

from __future__ import annotations

import asyncio


class Turns:
    """At most one holder; ``acquire`` waits, ``release`` hands the turn to the newest
    waiter. Used on the event loop only."""

    def __init__(self) -> None:
        self.busy = False
        self.waiting: list[asyncio.Future] = []

    async def acquire(self) -> None:
        if not self.busy:
            self.busy = True
            return
        turn = asyncio.get_running_loop().create_future()
        self.waiting.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn in self.waiting:
                self.waiting.remove(turn)
            elif turn.done() and not turn.cancelled():
                self.release()  # handed the turn, cancelled before it ran: the next one
            raise

    def release(self) -> None:
        while self.waiting:
            turn = self.waiting.pop()
            if not turn.done():
                turn.set_result(None)
                return
        self.busy = False
