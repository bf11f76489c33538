"""How much narrower is the ΔCLV interval with common random numbers than with independent streams?

    python benchmarks/pairing.py [SCENARIO] [--intervention NAME] [--replications 10]

Writes benchmarks/results/pairing.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import motsim
from motsim.whatif.compare import compare


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", nargs="?", default="saas_onboarding")
    parser.add_argument("--intervention", default="better onboarding")
    parser.add_argument("--replications", type=int, default=10)
    args = parser.parse_args()
    sc = motsim.load_scenario(args.scenario)
    chosen = sc.intervention(args.intervention)
    report = {"scenario": args.scenario, "intervention": chosen.name, "replications": args.replications}
    for label, independent in (("paired", False), ("independent", True)):
        w = compare(sc, [chosen], replications=args.replications, independent=independent)
        d = w.variants[chosen.name].delta_clv.to_dict()
        report[label] = {**d, "width": d["ci_high"] - d["ci_low"]}
    report["width_ratio"] = report["independent"]["width"] / report["paired"]["width"]
    out = Path(__file__).resolve().parent / "results" / "pairing.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
