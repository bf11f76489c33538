"""How fast the what-if page answers: from Run to the first number and to the full answer, and a lever
moved with the baselines already simulated.

    python benchmarks/app_speed.py [--scenarios saas_onboarding ecommerce_delivery insurance_claims]

The page runs under Streamlit's own harness (`AppTest`: the page's code, its process pool and
motsim's replication cache, without a browser), each scenario at its own settings (customers,
replications, seed) with every declared intervention and one edited lever, from a cold start (a new
process). The page notes when each answer is on screen (`session_state["timings"]`, seconds since
Run): the first look (two replications of a sample), the quick look, the full answer. Then the lever
moves again and Run, the lever alone: the baseline's replications are reused, so only it runs.
Writes benchmarks/results/app_speed.json with the machine and its load average.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PAGE = HERE.parent / "src" / "motsim" / "app" / "page.py"


def lever(sc) -> str:
    """The best outcome's share of the first moment with two outcomes whose best share can rise by 0.10."""
    for m in sc.moments:
        best = max(m.outcomes, key=lambda k: m.outcomes[k].score)
        if len(m.outcomes) > 1 and m.outcomes[best].p <= 0.9:
            return f"moments.{m.id}.outcomes.{best}.p"
    raise SystemExit("no outcome share to move")


def press_run(at) -> list[tuple[str, float]]:
    started = time.perf_counter()
    at.button(key="run").click().run()
    if at.exception or at.error:
        raise SystemExit(f"the page failed: {[e.value for e in at.exception]} {[e.value for e in at.error]}")
    timings = list(at.session_state["timings"])
    return [*timings, ("page drawn", time.perf_counter() - started)]


def one(name: str) -> dict:
    from streamlit.testing.v1 import AppTest

    import motsim
    from motsim.app.main import SCENARIO_VARIABLE

    os.environ[SCENARIO_VARIABLE] = name
    sc = motsim.load_scenario(name)
    path = lever(sc)
    at = AppTest.from_file(str(PAGE), default_timeout=1800).run()
    at.selectbox(key="moment").set_value(path.split(".")[1]).run()
    start = at.slider(key=f"lever:{path}").value
    at.slider(key=f"lever:{path}").set_value(round(start + 0.05, 2)).run()
    cold = press_run(at)
    at.slider(key=f"lever:{path}").set_value(round(start + 0.10, 2)).run()
    at.multiselect(key="declared").set_value([]).run()  # the lever alone, as a strategist tries values
    warm = press_run(at)
    return {
        "scenario": name,
        "customers": sc.scenario.customers,
        "months": sc.scenario.months,
        "replications": sc.scenario.replications,
        "interventions": len(sc.interventions) + 1,
        "lever": path,
        "cold": [{"answer": label, "seconds": round(s, 2)} for label, s in cold],
        "lever_moved_baselines_simulated": [{"answer": label, "seconds": round(s, 2)} for label, s in warm],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenarios", nargs="+", default=["saas_onboarding", "ecommerce_delivery", "insurance_claims"])
    args = parser.parse_args()
    load = os.getloadavg()
    runs = [one(name) for name in args.scenarios]
    out = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "load_average_at_start": [round(x, 2) for x in load],
        "command": "python benchmarks/app_speed.py --scenarios " + " ".join(args.scenarios),
        "runs": runs,
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "app_speed.json").write_text(json.dumps(out, indent=2) + "\n")
    for r in runs:
        print(r["scenario"])
        for phase in ("cold", "lever_moved_baselines_simulated"):
            print(f"  {phase}: " + "; ".join(f"{t['answer'].split(':')[0]} {t['seconds']} s" for t in r[phase]))


if __name__ == "__main__":
    main()
