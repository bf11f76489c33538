"""Wall time of the what-if commands a meeting waits for; writes benchmarks/results/whatif_speed.json.

    python benchmarks/whatif_speed.py [--quick] [--out FILE]

Each command runs as a user would type it (`motsim compare|rank|roi|report NAME`, the scenario's
own customers, months and replications, every core), once, timed from the shell. Shapes: the
bundled saas_onboarding (10,000 customers × 36 months, support queue, 10 replications),
ecommerce_delivery (queues with patience, an outage hitting everyone), insurance_claims (a claims
team) and saas_onboarding over 120 months (a long horizon). `--quick` runs saas only.
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

HERE = Path(__file__).resolve().parent
MOTSIM = [sys.executable, "-m", "motsim"]


def wall(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([*MOTSIM, *args], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "whatif_speed.json")
    opts = parser.parse_args()
    quick = opts.quick
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    shapes = {"saas_onboarding": []}
    if not quick:
        shapes |= {"ecommerce_delivery": [], "insurance_claims": [], "saas_onboarding, 120 months": ["-m", "120"]}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, extra in shapes.items():
            name = label.split(",")[0]
            first = next((i.name for i in __import__("motsim").load_scenario(name).interventions), None)
            commands = {
                "run": ["run", name, *extra],
                "compare": ["compare", name, *extra],
                "rank": ["rank", name, *extra],
                "report": ["report", name, "-o", str(Path(tmp) / "r.html"), *extra],
            }
            if first:
                commands["roi (with break-even)"] = ["roi", name, "-i", first, *extra]
            for command, args in commands.items():
                seconds = wall(args)
                rows.append({"scenario": label, "command": command, "seconds": round(seconds, 1)})
                print(f"{label:32s} {command:24s} {seconds:6.1f} s", flush=True)
    out = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "command": "python benchmarks/whatif_speed.py" + (" --quick" if quick else ""),
        "motsim": __import__("motsim").__file__,
        "load_average": {"start": load_at_start, "end": [round(x, 2) for x in os.getloadavg()]},
        "rows": rows,
    }
    opts.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {opts.out}")


if __name__ == "__main__":
    main()
