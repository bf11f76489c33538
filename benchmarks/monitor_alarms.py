"""False alarms and detection delay of `motsim monitor` on simulated logs.

Clean logs (no change) give the share of moments that alarm anyway over the whole monitoring
period; logs whose moment goes bad at a known day (`incident.unresolved` +10 points at day 300,
20,000 customers) give the detection delay. Scenario: tests/fixtures/journey_truth.toml;
reference until day 240, 14-day windows, alpha 0.05. Writes benchmarks/results/monitor_alarms.json.

Run: python benchmarks/monitor_alarms.py [--clean 40] [--shifted 10]
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np

import motsim
from motsim.sim.eventlog import event_log
from motsim.sim.run import with_overrides

HERE = Path(__file__).resolve().parent
TRUTH = HERE.parent / "tests" / "fixtures" / "journey_truth.toml"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clean", type=int, default=40)
    parser.add_argument("--shifted", type=int, default=10)
    args = parser.parse_args()
    sc = motsim.load_scenario(TRUTH)
    start = time.perf_counter()
    alarms = moments = logs_with_alarm = 0
    for k in range(args.clean):
        health = motsim.monitor(*event_log(with_overrides(sc, seed=2000 + k, customers=5000)), reference_until=240)
        alarms += len(health.alarms)
        moments += len(health.moments)
        logs_with_alarm += bool(health.alarms)
    delays, missed = [], 0
    for k in range(args.shifted):
        log = event_log(
            with_overrides(sc, seed=3000 + k, customers=20000), degrade={"incident.unresolved": 0.10}, from_day=300
        )
        m = motsim.monitor(*log, reference_until=240).moments["incident"]
        if m.alarm:
            delays.append(m.first_alarm_day - 300)
        else:
            missed += 1
    report = {
        "clean_logs": args.clean,
        "customers_clean": 5000,
        "moment_false_alarm_rate": alarms / moments,
        "logs_with_any_false_alarm": logs_with_alarm / args.clean,
        "shifted_logs": args.shifted,
        "customers_shifted": 20000,
        "shift": "incident.unresolved +0.10 from day 300 (30% -> 40%)",
        "detection_delay_days": {
            "min": min(delays, default=None),
            "median": float(np.median(delays)) if delays else None,
            "max": max(delays, default=None),
        },
        "missed": missed,
        "seconds": round(time.perf_counter() - start, 1),
    }
    out = HERE / "results" / "monitor_alarms.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
