"""Moment health monitoring: the test martingale's bound, false alarms over clean logs of several
shapes at most at the promised rate, the detection targets of issue 31, incidents that end, the
daily state, and the CLI's contract (exit codes, JSON lines, no NaN, names from data never paths)."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from typer.testing import CliRunner

import motsim
from motsim.cli import app
from motsim.errors import InputError
from motsim.monitor.stats import deskewed, log_mixture, log_scale_mixture, restart_weights
from motsim.monitor.watch import parse_window
from motsim.sim.eventlog import event_log
from motsim.sim.run import with_overrides
from tests.conftest import FIXTURES
from tests.monitor.logs import moment_log, step

TRUTH = FIXTURES / "journey_truth.toml"


def at_least(rate: float, target: float, n: int) -> bool:
    """The observed rate is consistent with a true rate ≥ target (one-sided, 99%, binomial Monte Carlo error)."""
    return rate >= target - 2.33 * math.sqrt(target * (1 - target) / n)


@pytest.fixture(scope="module")
def truth():
    return motsim.load_scenario(TRUTH)


# --- the mathematics ----------------------------------------------------------------------------------


def test_one_sided_mixture_equals_its_integral():
    # the closed form against scipy's quadrature of ∫₀^∞ LR(δ) · half-normal(δ; τ) dδ
    for d, v, tau in [(0.03, 0.001, 0.05), (-0.02, 0.0004, 0.1), (0.4, 0.01, 0.2)]:
        lr = lambda x, d=d, v=v: math.exp(x * d / v - x * x / (2 * v))  # noqa: E731
        num, _ = integrate.quad(lambda x, lr=lr, tau=tau: lr(x) * 2 * stats.norm.pdf(x, scale=tau), 0, np.inf)
        assert log_mixture(d, v, tau) == pytest.approx(math.log(num), rel=1e-6, abs=1e-9)


def test_two_sample_mixture_against_a_fixed_reference_is_a_test_martingale():
    # Gaussian data: a reference mean with its own error, then a stream looked at 60 times. Under no
    # change P(Λ ever ≥ 1/α) ≤ α (Ville), the reference's error carried in the variance.
    rng = np.random.default_rng(0)
    alpha, runs, looks, n0 = 0.05, 20000, 60, 50
    ref = rng.normal(0, 1 / math.sqrt(n0), runs)
    n = np.arange(1, looks + 1)
    means = np.cumsum(rng.normal(size=(runs, looks)), axis=1) / n
    d, v = means - ref[:, None], 1 / n + 1 / n0
    lr = log_scale_mixture(d, np.broadcast_to(v, d.shape), 1 / math.sqrt(n0))
    rate = np.mean((lr >= math.log(1 / alpha)).any(axis=1))
    assert rate <= alpha + 2.33 * math.sqrt(alpha * (1 - alpha) / runs), rate
    # ... and with the reference treated as known the same walk rejects far more often (the term matters)
    known = log_scale_mixture(d, np.broadcast_to(1 / n, d.shape), 1 / math.sqrt(n0))
    assert np.mean((known >= math.log(1 / alpha)).any(axis=1)) > 2 * rate


def test_deskewing_brings_a_small_binomial_sample_near_its_exact_tail():
    # 4 bad of 10 when 10% is normal: the exact upper tail (scipy) is p = 0.0128 (z = 2.23); the plain
    # z says 3.16. Cornish-Fisher with the binomial skewness lands near the exact deviate.
    n, p, k = 10, 0.1, 4
    exact = stats.norm.isf(stats.binom.sf(k - 1, n, p))
    z = (k / n - p) / math.sqrt(p * (1 - p) / n)
    skew = (1 - 2 * p) / math.sqrt(n * p * (1 - p))
    assert abs(float(deskewed(np.array(z), np.array(skew))) - exact) < 0.35 < abs(z - exact)


def test_restart_weights_spend_the_budget_as_stated():
    w = restart_weights(100_000, 26)
    assert w.sum() <= 1 + 1e-12 and w[0] == pytest.approx(0.7)
    assert w[1:27].sum() == pytest.approx(0.15, rel=1e-9)  # half the restarts' 0.3 within the first 26


def test_windows_are_whole_days_and_absurd_ones_are_refused():
    assert parse_window("14") == 14 and parse_window("2w") == 14 and parse_window("1m") == 30
    for bad in ("1e-9", "0.001", "0", "-3", "inf", "nan", "abc", "1e9"):
        with pytest.raises(InputError):
            parse_window(bad)


# --- false alarms ------------------------------------------------------------------------------------

SHAPES = {
    # per week, bad share, weekly profile of volume: busy, with weekend seasonality, rare, never bad
    "busy": dict(per_week=300, bad=0.1),
    "weekly": dict(per_week=60, bad=0.15, weekly=(2.0, 1.5, 1.0, 1.0, 1.0, 0.3, 0.2)),
    "rare": dict(per_week=5, bad=0.1),
    "never bad": dict(per_week=40, bad=0.0),
}


@pytest.mark.slow
def test_clean_logs_of_every_shape_alarm_at_most_at_the_promised_rate():
    # 26 weeks watched after a 4-week reference, restarts weekly, daily looks; alpha 0.1 per moment.
    rng = np.random.default_rng(31)
    moments = alarms = 0
    for _ in range(60):
        frames = [moment_log(rng, name, days=28 + 182, **kw) for name, kw in SHAPES.items()]
        health = motsim.monitor(pd.concat(frames), reference_until=28, window=7)
        moments += len(health.moments)
        alarms += sum(bool(m.episodes) for m in health.moments.values())
    rate = alarms / moments
    assert rate <= 0.1, rate  # the bound itself; its Monte Carlo error is far inside (measured ≈ 1%)


@pytest.mark.slow
def test_simulated_journeys_alarm_at_most_at_the_promised_rate(truth):
    alarms = tests = 0
    for k in range(8):
        events, customers = event_log(with_overrides(truth, seed=900 + k, customers=3000))
        health = motsim.monitor(events, customers, reference_until=240, window=7)
        alarms += sum(bool(m.episodes) for m in health.moments.values())
        tests += len(health.moments)
    assert alarms <= 0.1 * tests + 2.33 * math.sqrt(0.1 * 0.9 * tests), alarms


# --- detection targets (issue 31) -------------------------------------------------------------------


def caught(events: pd.DataFrame, reference_until: int, change_day: int, within: int) -> str | None:
    """The metric that alarmed within `within` days of the change (None: missed; 'early': before it)."""
    m = motsim.monitor(events, reference_until=reference_until, window=7).moments["m"]
    if any(e.alarm_day <= change_day for e in m.episodes):
        return "early"
    hit = [e for e in m.episodes if e.alarm_day - change_day <= within]
    return hit[0].metric if hit else None


def lasting_change_caught(seed: int, n: int, per_week: int, before: float, after: float, reference: int, within: int):
    """Share of n logs whose bad share steps from `before` to `after` at the reference's end that alarm in time."""
    rng = np.random.default_rng(seed)
    days = reference + within
    got = [
        caught(
            moment_log(rng, "m", per_week=per_week, bad=step(before, after, reference), days=days),
            *[reference] * 2,
            within,
        )
        for _ in range(n)
    ]
    return np.mean([g not in (None, "early") for g in got])


@pytest.mark.slow
def test_ten_to_twenty_five_percent_at_fifty_a_week_caught_within_four_weeks():
    rate = lasting_change_caught(1, 200, per_week=50, before=0.10, after=0.25, reference=28, within=28)
    assert at_least(rate, 0.90, 200), rate


@pytest.mark.slow
def test_zero_to_a_third_at_thirty_a_week_caught_within_three_weeks():
    rate = lasting_change_caught(2, 150, per_week=30, before=0.0, after=0.33, reference=14, within=21)
    assert at_least(rate, 0.85, 150), rate


@pytest.mark.slow
def test_a_two_week_incident_at_twenty_a_week_is_caught_while_it_lasts_and_ends():
    # +40 points (10% → 50%) for 14 days starting mid-week, on a moment with 20 a week
    rng = np.random.default_rng(3)
    n, start, end = 120, 56 + 31, 56 + 45
    hits = ends = 0
    for _ in range(n):
        events = moment_log(rng, "m", per_week=20, bad=step(0.10, 0.50, start, end), days=56 + 84)
        m = motsim.monitor(events, reference_until=56, window=7).moments["m"]
        first = [e for e in m.episodes if e.alarm_day > start]
        if first and first[0].alarm_day <= end:
            hits += 1
            ends += first[0].end_day is not None and end <= first[0].end_day <= end + 21
    assert at_least(hits / n, 0.80, n), hits
    assert ends >= 0.8 * hits, (ends, hits)  # an incident that ended is said to have ended, within 3 weeks


@pytest.mark.slow
def test_a_score_drop_and_a_flood_of_contacts_are_caught():
    rng = np.random.default_rng(4)
    n = 100
    drop = [
        caught(moment_log(rng, "m", per_week=50, bad=0.1, score_shift=step(0, -1.5, 28), days=56), 28, 28, 28)
        for _ in range(n)
    ]
    assert at_least(np.mean([g == "score" for g in drop]), 0.85, n)
    flood = [
        caught(moment_log(rng, "m", per_week=50, bad=0.1, volume=step(1, 2, 73, 87), days=140), 56, 73, 14)
        for _ in range(n)
    ]
    assert at_least(np.mean([g == "volume" for g in flood]), 0.90, n)


@pytest.mark.slow
def test_a_ten_point_shift_in_a_simulated_journey_is_caught_and_priced(truth):
    events, customers = event_log(
        with_overrides(truth, customers=20000), degrade={"incident.unresolved": 0.10}, from_day=300
    )
    health = motsim.monitor(events, customers, reference_until=240, window=7, scenario=TRUTH, replications=4)
    m = health.moments["incident"]
    assert m.alarm and m.metric in ("bad_share", "score")
    assert 300 < m.first_alarm_day <= 300 + 28
    assert m.value_at_risk_per_month.ci_low > 0 and m.churn_added.ci_low > 0
    assert health.alarms[0] == "incident"
    assert not any(health.moments[x].episodes for x in ("newsletter", "onboarding", "welcome_call"))


# --- every day, not once -----------------------------------------------------------------------------


def test_a_daily_state_gives_the_batch_answer_and_says_each_alarm_once(tmp_path):
    rng = np.random.default_rng(7)
    events = pd.concat(
        [
            moment_log(rng, "m", per_week=60, bad=step(0.1, 0.5, 50), days=70),
            moment_log(rng, "calm", per_week=60, bad=0.1, days=70),
        ]
    )
    batch = motsim.monitor(events, reference_until=28, window=7)
    state = tmp_path / "state.json"
    new_by_day = {}
    for day in range(40, 71, 3):  # the first run sees days < 40, then three new days at a time
        part = events[(events.day >= day - 3) & (events.day < day)] if day > 40 else events[events.day < 40]
        h = motsim.monitor(part, reference_until=28 if day == 40 else None, state=state)
        state.write_text(h.state)
        new_by_day[day] = h.new_alarms
    assert _same_incidents(h, batch) and _without_news(h) == _without_news(batch)  # every number the same
    assert sum(d == ["m"] for d in new_by_day.values()) == 1  # said once, on the run that saw it
    with pytest.raises(InputError, match="window"):
        motsim.monitor(events[events.day >= 69], window=14, state=state)  # a state's settings stay


def _without_news(health) -> dict:
    """The moments' JSON without the "new" flags, numbers to 9 digits (sums added in another order)."""

    def clean(x):
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items() if k != "new"}
        if isinstance(x, list):
            return [clean(v) for v in x]
        return float(f"{x:.9g}") if isinstance(x, float) else x

    return clean(health.to_dict()["moments"])


def _same_incidents(a, b) -> bool:
    return all(
        [(e.metric, e.start_day, e.alarm_day, e.end_day) for e in a.moments[m].episodes]
        == [(e.metric, e.start_day, e.alarm_day, e.end_day) for e in b.moments[m].episodes]
        for m in b.moments
    )


# --- the command -----------------------------------------------------------------------------------------


def test_cli_contract_exit_codes_and_alarm_lines(tmp_path, truth):
    events, customers = event_log(
        with_overrides(truth, customers=6000), degrade={"incident.unresolved": 0.15}, from_day=300
    )
    events.to_csv(tmp_path / "events.csv", index=False)
    customers.to_csv(tmp_path / "customers.csv", index=False)
    args = ["monitor", str(tmp_path / "events.csv"), "--customers", str(tmp_path / "customers.csv")]
    args += ["--reference-until", "240", "--window", "1w"]
    res = CliRunner().invoke(app, [*args, "-f", "json", "--out", str(tmp_path / "out")])
    assert res.exit_code == 1, res.output  # a new alarm
    data = json.loads(res.stdout)
    inc = data["moments"]["incident"]
    assert set(inc) >= {"alarm", "status", "first_alarm_day", "incident_start_day", "end_day", "metric", "change"}
    assert set(inc["change"]) == {"estimate", "ci_low", "ci_high"} and inc["value_at_risk_per_month"] is None
    assert data["alarms"][0] == "incident" and data["new_alarms"][0] == "incident" and inc["first_alarm_day"] > 300
    assert (tmp_path / "out" / f"control-{inc['index']}.png").stat().st_size > 10_000
    # every day: the state keeps it; the same log again is no news (exit 0), the pager's line written once
    daily = [*args, "--state", str(tmp_path / "state.json"), "--alarms-jsonl", str(tmp_path / "alarms.jsonl")]
    assert CliRunner().invoke(app, daily).exit_code == 1
    again = CliRunner().invoke(app, [*daily[:2], "--state", daily[-3], "--alarms-jsonl", daily[-1]])
    assert again.exit_code == 0, again.output
    lines = (tmp_path / "alarms.jsonl").read_text().splitlines()
    assert [json.loads(x)["moment"] for x in lines] == ["incident"]
    bad = CliRunner().invoke(app, [*args, "--window", "1e-9"])
    assert bad.exit_code == 2 and "--window" in bad.stderr
    late = CliRunner().invoke(app, [*args[:4], "--reference-until", "9999"])
    assert late.exit_code == 2 and "--reference-until" in late.stderr


def test_names_from_data_never_become_paths_formulas_or_nan(tmp_path):
    rng = np.random.default_rng(9)
    names = ["/../../../victim/photo", '=HYPERLINK("http://x")', "nul\x00byte", "x" * 300, "$\\alpha$ cost", "same"]
    frames = [moment_log(rng, n, per_week=40, bad=0.1, days=70) for n in names[:-1]]
    constant = moment_log(rng, "same", per_week=40, bad=0.0, days=70).assign(score=3.0)  # no variance at all
    pd.concat([*frames, constant]).to_csv(tmp_path / "events.csv", index=False)
    out = tmp_path / "report_dir"
    res = CliRunner().invoke(
        app, ["monitor", str(tmp_path / "events.csv"), "--reference-until", "28", "--out", str(out)]
    )
    assert res.exit_code in (0, 1), res.output
    written = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert written == sorted(["events.csv", "monitor.json", "monitor.csv", *[f"control-{k}.png" for k in range(1, 7)]])
    assert not (tmp_path.parent / "victim").exists()
    rows = list(pd.read_csv(out / "monitor.csv", keep_default_na=False)["moment"])
    assert all(not r.startswith(("=", "+", "-", "@")) for r in rows) and '\'=HYPERLINK("http://x")' in rows
    text = (out / "monitor.json").read_text() + res.stdout
    assert "nan" not in text.lower().replace("nul", "")
    same = json.loads((out / "monitor.json").read_text())["moments"]["same"]
    assert "no variance" in same["note"]
    table = CliRunner().invoke(app, ["monitor", str(tmp_path / "events.csv"), "--reference-until", "28"])
    assert "nan%" not in table.stdout and "no variance" in table.stdout


def test_a_moment_first_seen_after_the_reference_is_not_compared_with_nothing():
    rng = np.random.default_rng(10)
    old = moment_log(rng, "old", per_week=40, bad=0.1, days=70)
    new = moment_log(rng, "new", per_week=40, bad=0.1, days=70).query("day >= 40")
    m = motsim.monitor(pd.concat([old, new]), reference_until=28).moments["new"]
    assert m.status == "ok" and m.change.estimate is None and "no occurrences in the reference" in m.note
