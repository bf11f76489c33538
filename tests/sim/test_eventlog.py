"""The event log written in chunks is the log held whole, file for file."""

from __future__ import annotations

import pandas as pd
import pytest

import motsim
from motsim.engine import eventlog as engine_eventlog
from motsim.sim.eventlog import event_log, write_event_log
from motsim.sim.run import with_overrides


@pytest.fixture
def small():
    return with_overrides(motsim.load_scenario("saas_onboarding"), customers=300, months=12)


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_chunks_hold_the_same_log(small, tmp_path, monkeypatch, file_format):
    monkeypatch.setattr(engine_eventlog, "CHUNK", 97)  # many chunks, none aligned with a month
    events_path, customers_path = write_event_log(small, tmp_path, file_format=file_format)
    read = pd.read_csv if file_format == "csv" else pd.read_parquet
    events, customers = read(events_path), read(customers_path)
    whole_events, whole_customers = event_log(small)
    assert len(events) == len(whole_events) > 97 * 3
    again = events.sort_values(["customer_id", "day"], kind="stable", ignore_index=True)
    pd.testing.assert_frame_equal(again, whole_events, check_dtype=False)
    pd.testing.assert_frame_equal(customers, whole_customers, check_dtype=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([events_path.name, customers_path.name])


def test_a_failed_write_leaves_nothing(small, tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(engine_eventlog, "CHUNK", 50)
    monkeypatch.setattr(pd.DataFrame, "to_csv", boom)
    with pytest.raises(OSError):
        write_event_log(small, tmp_path)
    assert list(tmp_path.iterdir()) == []
