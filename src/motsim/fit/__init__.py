"""Calibration: fit the model to a company's own data.

- `retention(...)`: the shifted-beta-geometric model from a retention table or a customer table;
- `drivers(...)`: the moments of truth in a customer table, by Cox proportional hazards;
- `journey(...)`: the whole journey from an event log, with churn on remembered experience,
  time-varying drivers and a backtest.

Each returns a typed result that prints as a table, converts to dicts and DataFrames, and can
be written into a runnable scenario (`motsim fit ... --write`).
"""

from motsim.fit.drivers import DriversFit, drivers
from motsim.fit.journey import JourneyFit, journey
from motsim.fit.retention import RetentionFit, SegmentedRetentionFit, retention

__all__ = ["DriversFit", "JourneyFit", "RetentionFit", "SegmentedRetentionFit", "drivers", "journey", "retention"]
