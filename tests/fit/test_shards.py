"""A log read in shards of customers gives the in-memory fit's numbers, whatever the number of shards,
the source (a Parquet dataset with hive partitions, a glob of CSV files, a DuckDB database) or where
the shards run (this process, a Dask LocalCluster)."""

import math

import duckdb
import pytest

import motsim
from motsim.errors import DataError
from motsim.fit import journey
from motsim.sim.eventlog import event_log
from tests.conftest import FIXTURES


@pytest.fixture(scope="module")
def log():
    return event_log(motsim.load_scenario(FIXTURES / "journey_truth.toml"))


@pytest.fixture(scope="module")
def in_memory(log):
    return journey(*log)


def same(a, b, path=""):
    """Every number equal to 1e-9 (relative), intervals to 1e-6; everything else equal."""
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{path}[{k}]")
    elif isinstance(a, float) and isinstance(b, (int, float)):
        tol = 1e-6 if path.endswith(("ci_low", "ci_high")) else 1e-9
        assert math.isclose(a, b, rel_tol=tol, abs_tol=1e-12), (path, a, b)
    else:
        assert a == b, (path, a, b)


def numbers(fit):
    d = fit.to_dict()
    d.pop("scenario")
    return d


@pytest.mark.parametrize("shards", [1, 2, 5])
def test_the_number_of_shards_never_changes_a_number(log, in_memory, shards):
    fit = journey(*log, shards=shards)
    same(numbers(in_memory), numbers(fit))
    assert fit.text.split("\n", 2)[2] == in_memory.text.split("\n", 2)[2]  # the same scenario, but its sources


def test_datasets_globs_and_duckdb_sources_read_as_the_file_does(log, in_memory, tmp_path):
    events, customers = log
    # a Parquet dataset with hive partitions (the moment is a partition key) and a glob of CSV files
    events.to_parquet(tmp_path / "events", partition_cols=["moment"])
    for k in range(3):
        customers.iloc[k::3].to_csv(tmp_path / f"customers_{k}.csv", index=False)
    fit = journey(tmp_path / "events", str(tmp_path / "customers_*.csv"))
    same(numbers(in_memory), numbers(fit))
    # a DuckDB database: a table, and a query
    with duckdb.connect(str(tmp_path / "crm.duckdb")) as con:
        con.register("ev", events)
        con.register("cu", customers)
        con.execute("CREATE TABLE events AS SELECT * FROM ev")
        con.execute("CREATE TABLE customers AS SELECT * FROM cu")
    db = tmp_path / "crm.duckdb"
    fit = journey(f"duckdb:{db}?table=events", f"duckdb:{db}?query=SELECT * FROM customers", shards=3)
    same(numbers(in_memory), numbers(fit))


def test_a_dask_local_cluster_runs_the_shards_with_the_same_numbers(log, in_memory):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            fit = journey(*log, shards=4, options=motsim.RunOptions(executor=client))
    same(numbers(in_memory), numbers(fit))


def test_schedules_read_off_a_hash_sample_do_not_depend_on_the_shards(log, monkeypatch):
    import sys

    monkeypatch.setattr(sys.modules["motsim.fit.journey.fitting"], "SAMPLE_CUSTOMERS", 1000)  # a quarter
    one, three = journey(*log, shards=1), journey(*log, shards=3)
    same(numbers(one), numbers(three))
    kinds = {m: f.schedule["kind"] for m, f in one.moments.items()}
    assert kinds == {
        "onboarding": "at",
        "welcome_call": "after",
        "bill": "every",
        "incident": "rate",
        "newsletter": "rate",
    }
    assert one.moments["incident"].schedule["n"] == one.moments["incident"].occurrences  # the whole log's count


def test_a_dataset_without_observed_until_day_is_refused_by_name(log, tmp_path):
    events, customers = log
    events.to_parquet(tmp_path / "e.parquet")
    customers.drop(columns="observed_until_day").to_parquet(tmp_path / "c.parquet")
    with pytest.raises(DataError, match="observed_until_day"):
        journey(tmp_path / "e.parquet", tmp_path / "c.parquet", shards=2)


def test_a_csv_too_large_for_memory_is_read_in_shards(log, in_memory, tmp_path, monkeypatch):
    from motsim.fit import data

    events, customers = log
    events.to_csv(tmp_path / "e.csv", index=False)
    customers.to_csv(tmp_path / "c.csv", index=False)
    monkeypatch.setattr(data, "_available_bytes", lambda: 1000.0)  # nothing fits: DuckDB reads it out of core
    same(numbers(in_memory), numbers(journey(tmp_path / "e.csv", tmp_path / "c.csv")))
