"""The command line: the JSON contract, files written, and clear errors with exit code 2."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from motsim.cli import app
from tests.conftest import FIXTURES, write

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("name", ["constant_churn", "sbg_cohort", "erlang_c"])
def test_contract_fixtures_are_accepted(name):
    result = invoke("validate", FIXTURES / f"{name}.toml")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok")


def test_run_json_contract():
    result = invoke(
        "run",
        FIXTURES / "constant_churn.toml",
        "--customers",
        2000,
        "--replications",
        3,
        "--months",
        12,
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in (
        "retention",
        "clv",
        "nps",
        "moments",
        "resources",
        "scenario",
        "customers",
        "replications",
        "months",
        "seed",
        "engine",
        "motsim_version",
    ):
        assert key in data
    ret = data["retention"]
    assert ret["month"] == list(range(13))
    assert ret["mean"][0] == 1.0
    assert all(len(ret[k]) == 13 for k in ("mean", "ci_low", "ci_high"))
    assert (
        set(data["clv"]) == {"mean", "ci_low", "ci_high"}
        and data["clv"]["ci_low"] < data["clv"]["mean"] < data["clv"]["ci_high"]
    )
    assert set(data["nps"]) == {"mean", "ci_low", "ci_high"}
    assert (data["customers"], data["replications"], data["months"], data["seed"]) == (2000, 3, 12, 7)


def test_run_json_moments_and_resources():
    result = invoke("run", FIXTURES / "erlang_c.toml", "--customers", 200, "-r", 2, "-f", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    call = data["moments"]["support_call"]
    assert call["outcome_shares"]["good"] == 1.0 and call["mean_score"] == 1.0
    assert call["occurrences"]["mean"] > 0 and "churn_tipped" in call
    assert set(data["resources"]["support"]) >= {"mean_wait_minutes", "utilization"}


def test_run_out_dir_writes_files(tmp_path):
    out = tmp_path / "out"
    result = invoke("run", "fitness_club", "-n", 300, "-r", 2, "-m", 6, "--out", out)
    assert result.exit_code == 0, result.output
    for name in ("results.json", "retention.csv", "moments.csv", "retention.png"):
        assert (out / name).stat().st_size > 0
    assert (out / "retention.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(out.glob("*.tmp"))
    assert "CLV" in result.stdout and "Retention" in result.stdout


def test_run_csv_is_tidy():
    result = invoke("run", FIXTURES / "constant_churn.toml", "-n", 500, "-r", 2, "-m", 3, "-f", "csv")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "metric,key,mean,ci_low,ci_high"
    assert lines[1].startswith("retention,0,1.0")


def test_scenarios_lists_bundled_and_each_validates():
    result = invoke("scenarios")
    assert result.exit_code == 0
    for name in ("saas_onboarding", "insurance_claims", "healthcare_visit", "fitness_club", "ecommerce_delivery"):
        assert name in result.stdout
        assert invoke("validate", name).exit_code == 0


def test_init_writes_a_valid_starter(tmp_path):
    path = tmp_path / "mine.toml"
    assert invoke("init", path).exit_code == 0
    assert invoke("validate", path).exit_code == 0
    again = invoke("init", path)
    assert again.exit_code == 2 and "already exists" in again.stderr


def test_schema_is_json_schema():
    result = invoke("schema")
    schema = json.loads(result.stdout)
    assert "moments" in schema["properties"]


BASE = """
[scenario]
name = "x"
months = 12
customers = 100
[economics]
monthly_revenue = 1.0
[churn]
baseline_monthly = 0.02
"""

MOMENT = """
[[moments]]
id = "a"
at_day = 0
[moments.outcomes]
good = { p = 0.7, score = 1 }
bad = { p = 0.3, score = -1 }
"""


@pytest.mark.parametrize(
    "text, field, words",
    [
        ("[scenario\nname = 1", "", "TOML syntax error"),
        (BASE + "colour = 'red'\n", "churn.colour", "unknown key"),
        (BASE + MOMENT.replace("p = 0.7", "p = 1.7"), "moments[0] (a).outcomes.good.p", "less than or equal to 1"),
        (BASE + MOMENT.replace("p = 0.7", "p = 0.6"), "moments[0] (a).outcomes", "sum to 0.9"),
        (BASE + MOMENT.replace("at_day = 0", "after = 'ghost'"), "moments[0] (a).after", "no moment 'ghost'"),
        (BASE + MOMENT.replace("at_day = 0", "after = 'a'"), "moments", "cycle"),
        (
            BASE + MOMENT.replace("at_day = 0", "at_day = 0\nuses = 'agents'"),
            "moments[0] (a).uses",
            "no resource 'agents'",
        ),
        (
            BASE + "[[resources]]\nid='s'\ncapacity=-1\nservice_minutes={fixed=1.0}\n",
            "resources[0] (s).capacity",
            "greater than 0",
        ),
        (BASE.replace("months = 12", "months = 0"), "scenario.months", "greater than 0"),
        (BASE.replace("customers = 100", "customers = 0"), "scenario.customers", "greater than 0"),
        (BASE.replace("customers = 100", "customers = 100000000000"), "scenario.customers", "less than or equal"),
        (BASE.replace("[churn]\n", ""), "baseline_monthly", "unknown key"),
        (
            BASE.replace("baseline_monthly = 0.02", "baseline_monthly = 1.5"),
            "churn.baseline_monthly",
            "less than or equal to 1",
        ),
    ],
)
def test_bad_scenarios_get_one_clear_message_and_exit_2(tmp_path, text, field, words):
    path = write(tmp_path, text, "bad.toml")
    for command in ("validate", "run"):
        result = invoke(command, path)
        assert result.exit_code == 2, result.output
        assert str(path) in result.stderr
        assert field in result.stderr and words in result.stderr
        assert "Traceback" not in result.output


def test_error_names_the_toml_line(tmp_path):
    path = write(tmp_path, BASE + MOMENT.replace("p = 0.7", "p = 1.7"), "bad.toml")
    result = invoke("validate", path)
    line = next(n for n, t in enumerate(path.read_text().splitlines(), 1) if "p = 1.7" in t)
    assert f"bad.toml:{line}:" in result.stderr


def test_missing_file_and_bad_options(tmp_path):
    result = invoke("run", tmp_path / "nope.toml")
    assert result.exit_code == 2 and "no such file" in result.stderr
    result = invoke("run", FIXTURES / "constant_churn.toml", "--customers", 0)
    assert result.exit_code == 2 and "customers" in result.stderr


def test_entry_point_has_no_traceback(tmp_path):
    path = write(tmp_path, BASE.replace("months = 12", "months = -3"), "bad.toml")
    proc = subprocess.run([sys.executable, "-m", "motsim.cli", "validate", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "scenario.months" in proc.stderr


def test_compare_json_contract():
    result = invoke(
        "compare", "saas_onboarding", "-n", 400, "-m", 13, "-r", 3, "-w", 1, "-i", "better onboarding", "-f", "json"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"baseline", "variants"}
    v = data["variants"]["better onboarding"]
    for key in ("delta_clv", "delta_nps", "npv", "roi"):
        assert set(v[key]) == {"mean", "ci_low", "ci_high"}
    assert v["delta_retention"]["month"] == list(range(14))
    assert v["payback_month"] is None or isinstance(v["payback_month"], int)
    assert v["p_npv_positive"] is None and v["uncertainty"] is None  # a probability needs uncertain inputs
    assert (
        "P(NPV > 0): not computed"
        in invoke("compare", "saas_onboarding", "-n", 400, "-m", 13, "-r", 2, "-w", 1, "-i", "warm handoff").stdout
    )
    assert data["baseline"]["retention"]["mean"][0] == 1.0


def test_uncertainty_json_contract(tmp_path):
    text = (FIXTURES / "constant_churn.toml").read_text() + (
        '\n[[interventions]]\nname = "cut"\nchanges = { "churn.baseline_monthly" = 0.03 }\ncost_one_off = 100000\n'
        '[interventions.uncertainty]\n"churn.baseline_monthly" = { uniform = [0.025, 0.035] }\n'
        "cost_one_off = { lognormal = [11.5, 0.3] }\n"
    )
    path = tmp_path / "u.toml"
    path.write_text(text)
    result = invoke("roi", str(path), "-i", "cut", "-n", 500, "-r", 2, "-u", 4, "--no-break-even", "-f", "json")
    assert result.exit_code == 0, result.output
    v = json.loads(result.stdout)
    u = v["uncertainty"]
    assert set(u) >= {
        "draws",
        "delta_clv",
        "npv",
        "roi",
        "payback_month",
        "p_npv_positive",
        "share_from_inputs",
        "tornado",
    }
    assert u["draws"] == 4 and v["p_npv_positive"] == u["p_npv_positive"]
    for key in ("delta_clv", "npv", "roi", "payback_month"):
        assert set(u[key]) == {"mean", "p05", "p50", "p95"}
    swings = [abs(t["npv_high"] - t["npv_low"]) for t in u["tornado"]]
    assert {"path", "npv_low", "npv_high"} <= set(u["tornado"][0]) and swings == sorted(swings, reverse=True)
    table = invoke("roi", str(path), "-i", "cut", "-n", 500, "-r", 2, "-u", 4, "--no-break-even")
    assert "chance it pays (NPV > 0)" in table.stdout and "cut: one-off cost" in table.stdout
    bad = invoke("roi", str(path), "-i", "cut", "-n", 500, "-u", 1)
    assert bad.exit_code == 2 and "--uncertainty" in bad.stderr


def test_compare_set_is_validated_like_the_file():
    ok = invoke(
        "compare",
        FIXTURES / "constant_churn.toml",
        "-n",
        500,
        "-m",
        6,
        "-r",
        2,
        "--set",
        "churn.baseline_monthly=0.03",
        "-f",
        "json",
    )
    assert ok.exit_code == 0, ok.output
    bad = invoke("compare", FIXTURES / "constant_churn.toml", "--set", "churn.baseline_monthly=1.5")
    assert bad.exit_code == 2 and "baseline_monthly" in bad.stderr
    missing = invoke("compare", FIXTURES / "constant_churn.toml", "--set", "moments.ghost.cost=1")
    assert missing.exit_code == 2 and "ghost" in missing.stderr
    unknown = invoke("compare", "saas_onboarding", "-i", "no such thing")
    assert unknown.exit_code == 2 and "better onboarding" in unknown.stderr


def test_rank_and_roi_commands(tmp_path):
    ranked = invoke("rank", "healthcare_visit", "-n", 500, "-m", 9, "-r", 3, "-w", 1, "-f", "json", "--out", tmp_path)
    assert ranked.exit_code == 0, ranked.output
    data = json.loads(ranked.stdout)
    assert {r["moment"] for r in data["ranking"]} == {"check_in", "examination", "appointment_end"}
    assert (tmp_path / "rank.csv").exists()
    assert (tmp_path / "tornado.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "tornado.svg").stat().st_size > 0
    priced = invoke(
        "roi",
        "healthcare_visit",
        "-i",
        "end-of-visit debrief",
        "-n",
        500,
        "-m",
        9,
        "-r",
        3,
        "-w",
        1,
        "--no-break-even",
        "--out",
        tmp_path,
    )
    assert priced.exit_code == 0, priced.output
    assert "payback" in priced.stdout
    for name in ("payback.png", "payback.svg", "npv.png", "npv.svg", "roi.json"):
        assert (tmp_path / name).stat().st_size > 0


def test_run_and_rank_uncertainty_json_contracts(tmp_path):
    text = (FIXTURES / "constant_churn.toml").read_text().replace(
        "experience_sensitivity = 0.0", "experience_sensitivity = 0.4"
    ) + (
        '\n[[moments]]\nid = "call"\nrate_per_month = 0.5\n'
        "outcomes = { good = { p = 0.6, score = 2 }, bad = { p = 0.4, score = -4 } }\n"
        '[uncertainty]\n"economics.monthly_revenue" = { uniform = [40, 60] }\n'
        '"moments.call.outcomes.bad.score" = { uniform = [-6, -2] }\n'
    )
    path = tmp_path / "u.toml"
    path.write_text(text)
    run = invoke("run", str(path), "-n", 400, "-m", 6, "-r", 2, "-u", 4, "-w", 1, "-f", "json")
    assert run.exit_code == 0, run.output
    u = json.loads(run.stdout)["uncertainty"]
    assert u["draws"] == 4 and set(u["clv"]) == {"mean", "p05", "p50", "p95"}
    assert {"path", "clv_low", "clv_high"} <= set(u["tornado"][0]) and "share_from_inputs" in u
    ranked = invoke("rank", str(path), "-n", 400, "-m", 6, "-r", 2, "-u", 4, "-w", 1, "-f", "json")
    assert ranked.exit_code == 0, ranked.output
    r = json.loads(ranked.stdout)
    assert {"moment", "lever", "step"} <= set(r["ranking"][0])
    spread = r["uncertainty"]
    assert spread["draws"] == 4 and 0 <= spread["p_top_order_kept"] <= 1
    assert {"moment", "lever", "delta_clv", "rank", "p_first"} <= set(spread["moments"][0])
    plain = invoke("run", str(path), "-n", 400, "-m", 6, "-r", 2, "-u", 0, "-w", 1, "-f", "json")
    assert json.loads(plain.stdout)["uncertainty"] is None
