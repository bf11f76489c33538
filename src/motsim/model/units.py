"""Units of time shared by every layer: the engine runs in days, reports in months."""

DAYS_PER_MONTH = 30.4375  # 365.25 / 12
MINUTES_PER_DAY = 1440.0
