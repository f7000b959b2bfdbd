"""The collector's thresholds during bulk work (``model/collector.py``): raised for its duration
only, restored after it whatever happens, and a worker process freezes what it loaded."""

import gc

import pytest

from kernel_lsp.model import collector


@pytest.fixture
def thresholds():
    before = gc.get_threshold()
    yield before
    gc.set_threshold(*before)
    gc.unfreeze()


def test_bulk_work_raises_the_threshold_and_restores_it(thresholds):
    gc.set_threshold(700, 10, 10)
    with collector.bulk_work():
        assert gc.get_threshold() == (collector.BULK_THRESHOLD, 10, 10)
    assert gc.get_threshold() == (700, 10, 10)


def test_bulk_work_restores_the_threshold_after_an_error(thresholds):
    gc.set_threshold(700, 10, 10)
    with pytest.raises(KeyError), collector.bulk_work():
        raise KeyError("x")
    assert gc.get_threshold() == (700, 10, 10)


def test_bulk_work_never_lowers_a_higher_threshold(thresholds):
    gc.set_threshold(10 * collector.BULK_THRESHOLD, 5, 5)
    with collector.bulk_work():
        assert gc.get_threshold() == (10 * collector.BULK_THRESHOLD, 5, 5)


def test_a_decorated_function_runs_under_bulk_work_each_call(thresholds):
    gc.set_threshold(700, 10, 10)

    @collector.bulk_work()
    def seen():
        return gc.get_threshold()[0]

    assert [seen(), seen()] == [collector.BULK_THRESHOLD] * 2
    assert gc.get_threshold() == (700, 10, 10)


def test_a_worker_process_freezes_what_it_holds(thresholds):
    gc.set_threshold(700, 10, 10)
    kept = [[] for _ in range(1000)]
    collector.worker_process()
    assert gc.get_freeze_count() >= len(kept)
    assert gc.get_threshold() == (collector.BULK_THRESHOLD, 10, 10)
