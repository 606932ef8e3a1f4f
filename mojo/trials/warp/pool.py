"""The warp backend's worker processes, for the stages that run user code on the CPU (generators,
metrics, objectives), so that no trial can stop the study.

A worker killed by a trial's code (a segfault in native code, ``os._exit``) breaks the pool
(Python's ``ProcessPoolExecutor`` then fails every task in flight instead of hanging). The tasks
not yet done then run again: the few that were in flight each in a pool of its own, so the one
whose code kills its process is found and recorded (``on_crash``, with its exit code or signal,
as the CPU backend records it), and the rest in a new pool. Costs nothing until a worker dies;
then one fork per task in flight.

The pool's workers are forked from the warp backend's process before it touches the device (and
a new pool after a crash, from a process holding the device: its workers never use it, and
freeze the garbage collector so they never free what they inherited).
"""

from __future__ import annotations

import gc
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Iterator, Sequence, TypeVar

from mojo.trials.batch import describe_exit

Item = TypeVar("Item")
Result = TypeVar("Result")


def _start_worker() -> None:
    from mojo.trials.batch import die_with_parent

    die_with_parent()
    gc.freeze()


def _run_alone(function: Callable, item, send) -> None:
    _start_worker()
    try:
        reply = (False, function(item))
    except Exception as error:  # the pool's way: the caller gets what the task raised
        reply = (True, error)
    send.send(reply)
    send.close()


class Pool:
    """``workers`` processes mapping functions over tasks, robust to tasks that kill them."""

    def __init__(self, workers: int):
        self.workers = max(1, workers)
        self._executor = self._new(self.workers)

    @staticmethod
    def _new(workers: int) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("fork")
        return ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker)

    def map(
        self,
        function: Callable[[Item], Result],
        items: Sequence[Item],
        on_crash: Callable[[Item, str], Result],
        chunksize: int = 1,
    ) -> Iterator[Result]:
        """``function(item)`` for each item, in order; ``on_crash(item, why)`` instead for an
        item whose call killed its worker process."""
        done = 0
        while done < len(items):
            try:
                for result in self._executor.map(function, items[done:], chunksize=chunksize):
                    done += 1
                    yield result
            except BrokenProcessPool:
                self._executor.shutdown(wait=False, cancel_futures=True)
                in_flight = items[done : done + (self.workers + 1) * chunksize]
                for item in in_flight:
                    yield self._alone(function, item, on_crash)
                done += len(in_flight)
                self._executor = self._new(self.workers)

    @staticmethod
    def _alone(function: Callable, item, on_crash: Callable):
        """``function(item)`` in a process of its own, whose exit status names how its code
        killed it (as the CPU backend records it), if it did."""
        context = multiprocessing.get_context("fork")
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=_run_alone, args=(function, item, send))
        process.start()
        send.close()
        try:
            raised, result = receive.recv()
        except EOFError:  # it died before sending
            process.join()
            return on_crash(item, f"its code killed its process ({describe_exit(process.exitcode)})")
        finally:
            receive.close()
        process.join()
        if raised:
            raise result
        return result

    def close(self) -> None:
        self._executor.shutdown(wait=True)
