"""How long `validate` takes as a scenario grows: many interventions, a long `after` chain, an
uncertain cost on every intervention (issue 34: 10,000 interventions took > 600 s, a 1,000-long
chain 73 s). In process (`load_scenario`, what `motsim validate` calls), best of three.

Writes benchmarks/results/validate_speed.json with the machine, its load and the command.
Run: python benchmarks/validate_speed.py
"""

import json
import os
import platform
import tempfile
import time
from pathlib import Path

from motsim.model.loading import load_scenario

BASE = """[scenario]
name = "S"
months = 6
customers = 200
[economics]
monthly_revenue = 50.0
[churn]
baseline_monthly = 0.03
experience_sensitivity = 0.4
[[moments]]
id = "m"
at_day = 0
[moments.outcomes]
good = { p = 0.7, score = 3.0 }
bad = { p = 0.3, score = -5.0 }
"""


def interventions(n: int, uncertain: bool = False) -> str:
    extra = '\nuncertainty = { "cost_one_off" = { uniform = [5.0, 15.0] } }' if uncertain else ""
    return BASE + "".join(
        f'[[interventions]]\nname = "i{k}"\nchanges = {{ "moments.m.outcomes.good.p" = 0.8 }}\n'
        f"cost_one_off = 10.0{extra}\n"
        for k in range(n)
    )


def chain(n: int) -> str:
    return BASE + "".join(f'[[moments]]\nid = "c{k}"\nafter = "{"m" if k == 0 else f"c{k - 1}"}"\n' for k in range(n))


def best(text: str, repeat: int = 3) -> float:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.toml"
        path.write_text(text)
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            load_scenario(path)
            times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    cases = {
        "interventions_1000_s": interventions(1000),
        "interventions_10000_s": interventions(10_000),
        "interventions_10000_each_with_an_uncertain_cost_s": interventions(10_000, uncertain=True),
        "after_chain_1000_s": chain(1000),
        "after_chain_10000_s": chain(10_000),
    }
    report = {name: round(best(text, 1 if "10000" in name else 3), 2) for name, text in cases.items()}
    report["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    report["load_average_1min"] = round(os.getloadavg()[0], 2)
    report["command"] = "python benchmarks/validate_speed.py"
    out = Path(__file__).resolve().parent / "results" / "validate_speed.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
