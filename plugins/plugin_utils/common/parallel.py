"""Run a pure function over a long list on every core of the controller, results in order.

The readiness assessment reads, validates and assesses each host on its own: with ``workers`` above 1 the list is cut
into chunks that forked processes work on (they inherit the function and the list; only results travel back, pickled).
Without ``fork`` (not a POSIX controller), with one worker or one chunk, it runs in this process.
"""
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

CHUNK = 1000
_WORK = {}


class ParallelError(RuntimeError):
    """A worker process died (out of memory, killed): the run cannot be completed in parallel."""


def _chunk(bounds):
    function, items = _WORK["function"], _WORK["items"]
    return [function(item) for item in items[bounds[0]:bounds[1]]]


def _can_fork():
    return "fork" in multiprocessing.get_all_start_methods()


def map_ordered(function, items, workers=1, chunk=None, progress=None):
    """``[function(item) for item in items]``; ``progress(done, total)`` after each chunk (of ``chunk`` items, default
    CHUNK). ``function`` must not change shared state (a worker's changes stay in the worker); its results must pickle."""
    chunk = chunk or CHUNK
    bounds = [(start, min(start + chunk, len(items))) for start in range(0, len(items), chunk)]
    results = []
    if workers <= 1 or len(bounds) <= 1 or not _can_fork() or _WORK:
        for start, end in bounds:
            results.extend(function(item) for item in items[start:end])
            if progress:
                progress(end, len(items))
        return results
    _WORK.update(function=function, items=items)
    try:
        with ProcessPoolExecutor(min(workers, len(bounds)), mp_context=multiprocessing.get_context("fork")) as pool:
            for (_start, end), part in zip(bounds, pool.map(_chunk, bounds)):
                results.extend(part)
                if progress:
                    progress(end, len(items))
    except BrokenProcessPool as exc:
        raise ParallelError("a worker process of the assessment died (%s); run again with fewer workers "
                            "(readiness_workers, 1 for none)" % (exc or "killed")) from exc
    finally:
        _WORK.clear()
    return results
