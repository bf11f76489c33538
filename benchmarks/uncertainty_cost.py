"""What uncertain inputs cost: each what-if command with `-u 0` and with `-u 20`, side by side.

    python benchmarks/uncertainty_cost.py [--scenario saas_onboarding] [--draws 20]

The scenario gets an `[uncertainty]` table like the one a user writes first (the sensitivity to
experience, the gross margin and one intervention's one-off cost). Each command runs as a user
types it (the scenario's customers, months and replications, every core), once, timed from the
shell; the ratio is the uncertain run's time over the plain one's. Writes
benchmarks/results/uncertainty_cost.json with the machine and the load average at the start.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import motsim
from motsim.model.source import resolve

HERE = Path(__file__).resolve().parent
TABLE = """
[uncertainty]
"churn.experience_sensitivity" = {{ uniform = [{low:.3g}, {high:.3g}] }}
"economics.gross_margin" = {{ triangular = [{m_low:.3g}, {margin:.3g}, {m_high:.3g}] }}
"interventions.{first}.cost_one_off" = {{ normal = [{cost:.6g}, {cost_sd:.6g}] }}
"""


def wall(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "motsim", *args], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="saas_onboarding")
    parser.add_argument("--draws", type=int, default=20)
    args = parser.parse_args()
    sc = motsim.load_scenario(args.scenario)
    first = sc.interventions[0]
    s, m = sc.churn.experience_sensitivity, sc.economics.gross_margin
    table = TABLE.format(
        low=0.7 * s,
        high=1.3 * s,
        m_low=0.9 * m,
        margin=m,
        m_high=min(1.0, 1.1 * m),
        first=first.name,
        cost=first.cost_one_off or 10_000.0,
        cost_sd=0.2 * (first.cost_one_off or 10_000.0),
    )
    rows = []
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{args.scenario}_uncertain.toml"
        path.write_text(resolve(args.scenario).read_text(encoding="utf-8") + table, encoding="utf-8")
        commands = {
            "run": ["run", str(path)],
            "compare": ["compare", str(path)],
            "rank": ["rank", str(path)],
            "roi (with break-even)": ["roi", str(path), "-i", first.name],
        }
        for command, argv in commands.items():
            plain = wall([*argv, "-u", "0"])
            uncertain = wall([*argv, "-u", str(args.draws)])
            rows.append(
                {
                    "command": command,
                    "plain_seconds": round(plain, 1),
                    "uncertain_seconds": round(uncertain, 1),
                    "ratio": round(uncertain / plain, 2),
                }
            )
            print(
                f"{command:24s} -u 0: {plain:6.1f} s   -u {args.draws}: {uncertain:6.1f} s   ×{uncertain / plain:.2f}"
            )
    out = {
        "scenario": args.scenario,
        "draws": args.draws,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "load_average_at_start": round(load, 2),
        "command": "python benchmarks/uncertainty_cost.py",
        "rows": rows,
    }
    (HERE / "results" / "uncertainty_cost.json").write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
