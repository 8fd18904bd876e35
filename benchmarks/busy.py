"""CPU-bound processes that keep the cores busy: the "busy machine" scenario.

Each hog is a separate process (``multiprocessing``, spawn start method)
spinning a pure-Python loop: no torch, no BLAS, next to no memory. They are
started once, then switched on and off, so that quiet and busy passes can be
interleaved without paying for process start-up each time.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from types import TracebackType

# Pure-Python iterations between two looks at the events (a few milliseconds).
_SPIN_CHUNK = 200_000


def spin(run, stop, ready) -> None:
    """Burn CPU while ``run`` is set; return once ``stop`` is set.

    Also returns when the parent is gone (killed before it could set
    ``stop``), so that no hog outlives the benchmark.
    """
    parent = os.getppid()
    ready.release()
    while not stop.is_set() and os.getppid() == parent:
        if not run.wait(timeout=0.1):
            continue
        while run.is_set() and not stop.is_set() and os.getppid() == parent:
            total = 0
            for i in range(_SPIN_CHUNK):
                total += i


class Hogs:
    """``n`` spinning processes, paused until :meth:`busy` switches them on.

    Use as a context manager: the processes stop (and are joined) on exit,
    even after an error.
    """

    # Time for the hogs to be running (and for a cached reading of the
    # machine's load, reused for up to a second, to expire) after a switch.
    SETTLE_SECONDS = 1.5

    def __init__(self, n: int) -> None:
        self.n = n
        context = multiprocessing.get_context("spawn")
        self._run = context.Event()
        self._stop = context.Event()
        self._ready = context.Semaphore(0)
        self._processes = [
            context.Process(
                target=spin, args=(self._run, self._stop, self._ready), daemon=True
            )
            for _ in range(n)
        ]

    def __enter__(self) -> Hogs:
        for process in self._processes:
            process.start()
        # A spawned process imports the main module first (seconds): wait for
        # every hog, so that none is still starting during a measurement.
        started, deadline = 0, time.monotonic() + 120
        while started < self.n:
            if self._ready.acquire(timeout=0.2):
                started += 1
            elif time.monotonic() > deadline or any(
                process.exitcode is not None for process in self._processes
            ):
                self.close()
                raise RuntimeError(
                    "a busy-loop process did not start (a script that starts "
                    "the scenario needs an `if __name__ == '__main__':` guard)"
                )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def busy(self) -> None:
        """Switch the hogs on and wait until they spin."""
        self._run.set()
        time.sleep(self.SETTLE_SECONDS)

    def quiet(self) -> None:
        """Switch the hogs off (they sleep on an event) and let the load settle."""
        self._run.clear()
        time.sleep(self.SETTLE_SECONDS)

    def close(self) -> None:
        self._stop.set()
        self._run.set()  # wake paused hogs so that they see the stop
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
