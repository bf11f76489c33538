"""Where replications run never changes a number: serial, the pool, a thread pool, Dask, any batching."""

from concurrent.futures import ThreadPoolExecutor

import pytest

import motsim
from motsim.errors import InputError
from motsim.sim.run import with_overrides


def small():
    return with_overrides(motsim.load_scenario("saas_onboarding"), customers=400, months=6)


def numbers(**options) -> dict:
    """The numbers of a run that simulates every replication (nothing reused from an earlier call)."""
    return motsim.simulate(small(), replications=4, options=motsim.RunOptions(cache=False, **options)).to_dict()


def test_every_executor_gives_the_same_numbers():
    serial = numbers(executor="serial")
    assert numbers(workers=2) == serial
    assert numbers(executor="processes", workers=2, batch=3) == serial
    with ThreadPoolExecutor(2) as pool:
        assert numbers(executor=pool) == serial
        assert numbers(executor=pool, batch=1) == serial


def test_a_dask_client_object_and_its_address_give_the_same_numbers():
    distributed = pytest.importorskip("distributed")
    serial = numbers(executor="serial")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as c:
        with distributed.Client(c) as client:
            assert numbers(executor=client) == serial
        assert numbers(executor=c.scheduler_address) == serial


def test_options_for_a_block_and_explicit_options_on_top():
    seen = []
    with motsim.options(progress=lambda done, total: seen.append((done, total))):
        motsim.simulate(small(), replications=3)
        assert seen[-1] == (3, 3)
        with motsim.options(workers=2) as inner:
            assert inner.workers == 2 and inner.progress is not None
        mine = motsim.RunOptions(executor="serial")
        assert motsim.run_options.current(mine).progress is not None  # the block's progress stays
    assert motsim.run_options.current().progress is None


@pytest.mark.parametrize(
    "bad",
    [dict(workers=0), dict(workers="2"), dict(batch=-1), dict(progress="yes")],
)
def test_bad_options_are_input_errors(bad):
    with pytest.raises(InputError):
        motsim.RunOptions(**bad)


def test_an_executor_that_is_none_of_the_kinds_is_refused():
    with pytest.raises(InputError, match="executor"):
        numbers(executor=42)
    with pytest.raises(InputError, match="no option"):
        with motsim.options(wrokers=2):
            pass


def test_replications_already_simulated_are_reused_and_change_nothing():
    from motsim.sim import run

    sc = small()
    run._CACHE.clear()
    first = motsim.simulate(sc, replications=3, options=motsim.RunOptions(executor="serial"))
    assert len(run._CACHE) == 3
    ticks = []
    again = motsim.simulate(sc, replications=4, options=motsim.RunOptions(progress=lambda d, t: ticks.append((d, t))))
    assert ticks == [(4, 4)]  # one replication ran: the three reused count as done
    assert again.replications[:3] == first.replications[:3] and again.replications[:3][0] is first.replications[0]
    fresh = motsim.simulate(sc, replications=4, options=motsim.RunOptions(cache=False))
    assert fresh.to_dict() == again.to_dict()
    other_seed = motsim.simulate(sc, replications=1, seed=99)
    assert other_seed.replications[0] is not first.replications[0]


def test_a_pool_started_from_a_thread_that_has_ended_is_started_again():
    import threading

    sc = small()
    expected = motsim.simulate(sc, replications=4, options=motsim.RunOptions(executor="serial", cache=False)).to_dict()
    got = []

    def ask() -> None:  # a web page's request, a notebook callback: a thread that ends after its question
        got.append(motsim.simulate(sc, replications=4, options=motsim.RunOptions(workers=2, cache=False)).to_dict())

    for _ in range(2):
        thread = threading.Thread(target=ask)
        thread.start()
        thread.join()
    assert got == [expected, expected]
    assert motsim.simulate(sc, replications=4, options=motsim.RunOptions(workers=2, cache=False)).to_dict() == expected
