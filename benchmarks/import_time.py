"""How long `import motsim` and `motsim --help` take (fresh interpreters, best of five).

Writes benchmarks/results/import_time.json. Run: python benchmarks/import_time.py
"""

import json
import platform
import subprocess
import sys
import time
from pathlib import Path


def best(cmd: list[str], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    py = sys.executable
    report = {
        "python": platform.python_version(),
        "interpreter_alone_s": round(best([py, "-c", "pass"]), 3),
        "import_motsim_s": round(best([py, "-c", "import motsim"]), 3),
        "motsim_help_s": round(best([py, "-m", "motsim", "--help"]), 3),
        "load_scenario_s": round(best([py, "-c", "import motsim; motsim.load_scenario('saas_onboarding')"]), 3),
    }
    out = Path(__file__).resolve().parent / "results" / "import_time.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
