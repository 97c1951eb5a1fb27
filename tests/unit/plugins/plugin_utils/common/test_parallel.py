"""Worker processes give the results of one process, in order; a worker that dies is a clear error."""
import os

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.common import parallel


def test_results_come_in_order_with_progress_after_each_chunk():
    done = []
    results = parallel.map_ordered(lambda n: (n, os.getpid()), list(range(23)), workers=3, chunk=4,
                                   progress=lambda d, t: done.append((d, t)))
    assert [n for n, _pid in results] == list(range(23))
    assert done == [(4, 23), (8, 23), (12, 23), (16, 23), (20, 23), (23, 23)]
    assert {pid for _n, pid in results} - {os.getpid()}, "the chunks ran in worker processes"


def test_one_worker_or_one_chunk_stays_in_this_process():
    for workers, chunk in ((1, 2), (4, 100)):
        results = parallel.map_ordered(lambda n: os.getpid(), list(range(5)), workers=workers, chunk=chunk)
        assert set(results) == {os.getpid()}


def test_an_error_in_a_worker_reaches_the_caller():
    def fail_on_seven(n):
        if n == 7:
            raise ValueError("host 7 is odd")
        return n
    with pytest.raises(ValueError, match="host 7 is odd"):
        parallel.map_ordered(fail_on_seven, list(range(10)), workers=2, chunk=3)


def test_a_worker_that_dies_is_named_and_says_what_to_do():
    def die_on_five(n):
        if n == 5:
            os._exit(9)
        return n
    with pytest.raises(parallel.ParallelError, match="readiness_workers, 1 for none"):
        parallel.map_ordered(die_on_five, list(range(10)), workers=2, chunk=3)
    assert parallel.map_ordered(lambda n: n * 2, [1, 2, 3], workers=2, chunk=1) == [2, 4, 6], "usable again afterwards"


def test_the_readiness_task_takes_one_worker_per_cpu_by_default_and_refuses_a_negative_count():
    from ansible_collections.sms.upgrade.plugins.action.readiness_report import worker_count

    assert worker_count(3) == 3 and worker_count(1) == 1
    assert 1 <= worker_count(0) <= 8 and worker_count(0) == min(os.cpu_count() or 1, 8)
    with pytest.raises(ValueError, match="workers must be 0 .one per CPU. or more, not -2"):
        worker_count(-2)
