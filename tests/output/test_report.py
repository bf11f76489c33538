"""The HTML report: self-contained, and every chart visible in a real browser where one exists."""

import base64
import json
import re
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from motsim.cli import app
from motsim.display import money

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report.html"
    res = CliRunner().invoke(
        app,
        ["report", "saas_onboarding", "-n", "600", "-m", "13", "-r", "3", "-w", "1", "-f", "json", "--out", str(path)],
    )
    assert res.exit_code == 0, res.output
    return path, json.loads(res.stdout)


@pytest.fixture(scope="module")
def report(run):
    return run[0]


def test_report_is_self_contained(report):
    page = report.read_text(encoding="utf-8")
    images = re.findall(r'<img alt="([^"]*)" src="([^"]*)"', page)
    # the answer's NPV chart + Δ retention + a payback chart per intervention + baseline retention + ranking
    assert len(images) == 1 + 1 + 3 + 1 + 1
    for alt, src in images:
        assert src.startswith("data:image/png;base64,"), alt
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG_MAGIC), alt
    assert not re.search(r'(src|href)="(https?:|//|file:)', page), "the page must not load anything from outside"
    order = [
        page.index(s)
        for s in ("The answer", "Interventions: what they are worth", "The baseline", "Moments of truth", "Assumptions")
    ]
    assert order == sorted(order), "the answer comes first, the assumptions last"
    assert "How to read it" in page
    for moment in ("onboarding", "handoff", "renewal"):
        assert f'<td class="t">{moment}</td>' in page


def test_report_shows_every_effective_input_and_the_money_a_finance_reader_audits(report):
    page = report.read_text(encoding="utf-8")
    answer = page[page.index("The answer") : page.index("Interventions: what they are worth")]
    assert "Fund" in answer or "None of the" in answer
    assert "$" in answer  # the scenario's currency (USD) as its symbol
    # each segment's own revenue (the scenario's 400 is overridden by every one of them)
    for revenue in ("$150", "$600", "$2.5K"):
        assert revenue in page
    assert "1.00% a month" in page  # the enterprise segment's own baseline churn
    assert "year 1 (months 0–11)" in page and "NPV by annual discount rate" in page
    assert "largest one-off spend" in page or "misses by" in page
    assert not re.search(r"\d\.\d+e[+-]\d", page), "no e-notation for a finance reader"


def _browser():
    return next((b for b in map(shutil.which, BROWSERS) if b), None)


@pytest.mark.skipif(
    _browser() is None, reason="no Chromium/Chrome installed (apt install chromium) to render the report"
)
def test_report_renders_every_chart_in_headless_chromium(report, tmp_path):
    flags = [
        _browser(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--allow-file-access-from-files",
    ]
    # A copy that reports, after load, how many images the browser actually decoded.
    probe = tmp_path / "probe.html"
    probe.write_text(
        report.read_text(encoding="utf-8").replace(
            "</body>",
            "<script>addEventListener('load',()=>{const i=[...document.images];"
            "document.title='decoded '+i.filter(x=>x.complete&&x.naturalWidth>0).length"
            "+' of '+i.length;});</script></body>",
        ),
        encoding="utf-8",
    )
    dom = subprocess.run([*flags, "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert "<title>decoded 7 of 7</title>" in dom
    shot = tmp_path / "report.png"
    subprocess.run(
        [*flags, "--window-size=1100,8000", f"--screenshot={shot}", report.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)[..., :3]
    # matplotlib's default line/bar colour (tab:blue, #1f77b4) is on the page only if charts were painted
    blue = (
        (abs(pixels[..., 0] - 0x1F / 255) < 0.05)
        & (abs(pixels[..., 1] - 0x77 / 255) < 0.05)
        & (abs(pixels[..., 2] - 0xB4 / 255) < 0.05)
    )
    assert blue.sum() > 2000


def test_report_with_uncertain_inputs_says_the_chance_and_the_assumption_that_matters(tmp_path):
    import motsim
    from motsim.output.report import report
    from tests.conftest import FIXTURES

    text = (FIXTURES / "constant_churn.toml").read_text() + (
        '\n[[interventions]]\nname = "cut"\nchanges = { "churn.baseline_monthly" = 0.03 }\ncost_one_off = 1000000\n'
        '[uncertainty]\n"interventions.cut.cost_one_off" = { uniform = [500000, 3000000] }\n'
        '"economics.monthly_revenue" = { normal = [50, 2] }\n'
    )
    path = tmp_path / "u.toml"
    path.write_text(text)
    sc = motsim.load_scenario(path)
    page, data = report(sc, list(sc.interventions), step=None, replications=3, draws=8)
    u = data.variants["cut"].uncertainty
    assert u is not None and u.tornado[0].path == "cut: cost_one_off"  # a range of 2.5M outweighs ±4% revenue
    answer = page[page.index("The answer") : page.index("Interventions: what they are worth")]
    paying = round(u.p_npv_positive * 8)
    assert f"about <b>{paying} of 8 parameter sets</b>" in answer and f"a chance of {u.p_npv_positive:.0%}" in answer
    assert f'<dd class="value">{u.p_npv_positive:.0%}</dd>' in answer  # the key figure
    # what was uncertain and what moves it most, in words: never a dotted path
    assert "<b>cut: one-off cost</b>" in answer and "monthly revenue" in answer
    assert "cost_one_off" not in answer and "economics." not in answer
    assert "each uncertain input at its 5% and 95% value" in page and "Uncertain inputs" in page
    assert len(data.cash_flows["cut"]) == 36
    assert data.to_dict()["decision"]["chance"] == {
        **data.to_dict()["decision"]["chance"],
        "draws": 8,
        "paying": paying,
        "top_input": "cut: one-off cost",
    }


def test_the_page_states_the_decision_of_the_data_it_prints(run):
    from motsim.display import money

    path, data = run
    page = path.read_text(encoding="utf-8")
    assert list(data) == ["baseline", "variants", "ranking", "cash_flows", "currency", "decision"]  # and what it says
    variants = data["variants"]
    best = max(variants, key=lambda k: variants[k]["npv"]["mean"])
    answer = page[page.index("The answer") : page.index("Interventions: what they are worth")]
    verdict = f"Fund <b>“{best}”</b>" if variants[best]["npv"]["mean"] > 0 else f"closest is <b>“{best}”</b>"
    assert verdict in answer
    # the total cost is the present value of every cost line (the one-off and each onboarding's), not the one-off
    rows = data["cash_flows"][best]
    one_off = sum(r["cost_one_off"] * r["discount_factor"] for r in rows)
    onboarding = sum(r["cost_per_occurrence:onboarding"] * r["discount_factor"] for r in rows)
    assert one_off == 250_000 and onboarding > 0
    assert variants[best]["cost_pv"]["mean"] == pytest.approx(one_off + onboarding)
    total = f'<dt>Total cost, PV</dt><dd class="value">{money(one_off + onboarding, "USD")}</dd>'
    assert total in answer and f"$250K one-off + {money(onboarding, 'USD')} per onboarding" in answer
    assert "Simulated on a sample of 600 of the business’s 10,000 customers" in answer
    # a sample keeps the business's team (background visits): no note about rounding it any more
    assert "money is for the business" in answer and "team &#39;support&#39;" not in answer


def test_assumptions_are_in_plain_words(report):
    page = report.read_text(encoding="utf-8")
    inputs = page[page.index("Assumptions: every input") :]
    for key in ("paradox =", "paradox_", "True", "w_peak", "half_life", "negativity_bias", "ltr_", "p=", " = "):
        assert key not in inputs, key
    assert "happier than none (the service recovery paradox), for the first failure only" in inputs
    assert "halving every 12 months" in inputs and "only at each renewal" in inputs
    assert "onboarding: share good, from 0.7 to 0.85" in page  # a change in words, with what it was


def test_the_page_is_autoescaped(fixture_scenario):
    from motsim.model.scenario import Intervention
    from motsim.output.report import report

    sc = fixture_scenario("constant_churn")
    odd = Intervention(name="<img src=x onerror=alert(1)> & co", changes={"churn.baseline_monthly": 0.03})
    page, data = report(sc, [odd], step=None, replications=2, draws=0, sample=500)
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; co" in page
    assert "<img src=x" not in page and "<script" not in page
    assert data.decision.verdict == "fund" and data.decision.intervention == odd.name


def test_break_evens_that_cannot_be_reached_are_said_in_words():
    from types import SimpleNamespace

    from motsim.display import money
    from motsim.intervals import Estimate
    from motsim.output.report import break_evens

    pricing = SimpleNamespace(
        break_even_one_off=Estimate(-12_000.0, -15_000.0, -9_000.0),
        break_even_cost_per_occurrence={"onboarding": Estimate(-2.76, -3.1, -2.4), "renewal": Estimate(40.0, 35, 45)},
    )
    said = break_evens(pricing, lambda x: money(x, "GBP"), {"onboarding": 3.0, "renewal": 25.0})
    assert said == [
        "it does not pay even with nothing spent up front: it misses by £12K",
        "it does not pay even at no cost per onboarding: no cost per onboarding is low enough",
        "it pays at a cost of up to £40 per renewal (planned: £25)",
    ]


def test_no_chart_legend_sits_over_its_data(monkeypatch, tmp_path):
    from motsim.output import charts
    from motsim.sim.results import Curve
    from tests.whatif.test_decision import moment, uncertainty, valuation

    keys = []  # per legend: (chart title, area shared with the plot in pixels², gap to the title)
    save = charts._save

    def measure(fig, path):
        fig.tight_layout()  # as _save lays it out
        renderer = fig.canvas.get_renderer()
        for ax in fig.axes:
            legend = ax.get_legend()
            if legend is None:
                continue
            box, plot = legend.get_window_extent(renderer), ax.get_window_extent(renderer)
            shared = max(0, min(box.x1, plot.x1) - max(box.x0, plot.x0)) * max(
                0, min(box.y1, plot.y1) - max(box.y0, plot.y0)
            )
            gap = ax.title.get_window_extent(renderer).y0 - box.y1 if ax.get_title() else 0.0
            keys.append((ax.get_title(), shared, gap))
        save(fig, path)

    monkeypatch.setattr(charts, "_save", measure)
    curve = Curve([0, 1, 2], [0.0, 0.02, 0.03], [0.0, 0.01, 0.02], [0.0, 0.03, 0.04])
    u = uncertainty(0.85)
    variants = {"a": valuation("a", 200_000.0, uncertainty=u), "b": valuation("b", -50_000.0, uncertainty=u)}
    png = tmp_path / "c.png"
    charts.npv_summary_chart(variants, png, "GBP")
    charts.delta_retention_chart({"a": curve, "b": curve, "c": curve, "d": curve}, png)
    charts.retention_chart({"baseline": curve, "other": curve}, png, "Retention")
    charts.inputs_tornado_chart(u, png, "a: which assumption matters", "GBP")
    charts.payback_chart([-100.0, -20.0, 50.0], 2, png, "a", "GBP")
    charts.tornado_chart([moment("onboarding", "outcomes", 30.0), moment("renewal", "failure", 10.0)], png, "t")
    assert len(keys) == 4  # npv summary, Δ retention, retention of two curves, inputs' tornado: a key each
    for title, shared, gap in keys:
        assert shared < 1, f"a legend over the data of '{title}'"
        assert gap >= 0, f"the key runs into the title '{title}'"


def _answer_of(page):
    return page[page.index("The answer") : page.index("motsim ", page.index("The answer"))]


@pytest.mark.parametrize(
    ("npvs", "paying", "says", "never"),
    [
        ((200_000.0, -5_000.0), 17, ["Fund <b>“a”</b>", "17 of 20 parameter sets", "Next best: “b”"], ["disagree"]),
        (
            (200_000.0,),
            6,
            ["Fund <b>“a”</b>", "Most parameter sets disagree: the chance it pays is 30%"],
            ["Next best"],
        ),
        (
            (-20_000.0, -90_000.0),
            2,
            ["Fund none: none of the 2 interventions pays back", "closest is <b>“a”</b>"],
            ["disagree"],
        ),
        ((-20_000.0,), 15, ["the intervention does not pay", "chance it pays is 75%, about 15 of 20"], []),
        ((), 0, ["No interventions to price", "The moment that matters most is <b>onboarding</b>"], ["Total cost"]),
    ],
)
def test_the_answer_says_the_decision_of_constructed_data(fixture_scenario, npvs, paying, says, never):
    from dataclasses import replace

    from motsim.output.report import render
    from tests.whatif.test_decision import appraisal, moment, ranking, uncertainty, valuation

    sc = fixture_scenario("constant_churn")
    variants = [
        valuation(name, npv, uncertainty=uncertainty(paying / 20)) for name, npv in zip("abc", npvs, strict=False)
    ]
    data = replace(appraisal(variants, ranking=ranking(moment("onboarding", "outcomes", 30.0))), scenario=sc)
    answer = _answer_of(render(sc, data))
    for text in says:
        assert text in answer, text
    for text in never:
        assert text not in answer, text


def test_an_answer_without_a_chance_says_why(fixture_scenario):
    from dataclasses import replace

    from motsim.model.scenario import Distribution
    from motsim.output.report import render
    from tests.whatif.test_decision import appraisal, valuation

    plain = fixture_scenario("constant_churn")
    uncertain = plain.model_copy(update={"uncertainty": {"economics.monthly_revenue": Distribution(normal=(50, 2))}})
    data = appraisal([valuation("cut", 200_000.0)])
    said = {
        (name, interrupted): _answer_of(render(sc, replace(data, scenario=sc), partial=interrupted))
        for name, sc in (("plain", plain), ("uncertain", uncertain))
        for interrupted in (False, True)
    }
    assert "No input is marked uncertain" in said["plain", False] and "inputs untested" in said["plain", False]
    assert "uncertain inputs were not drawn (no draws asked for)" in said["uncertain", False]
    assert "No input is marked uncertain" not in said["uncertain", False]
    for name in ("plain", "uncertain"):
        page = said[name, True]
        assert "Interrupted before the uncertain inputs were drawn" in page and "inputs not drawn" in page


def test_a_whole_business_has_its_own_section_and_no_referral_value_apart(report, tmp_path):
    path = tmp_path / "clinic.html"
    args = ["report", "local_clinic", "-n", "300", "-m", "7", "-r", "2", "-u", "0", "-w", "1", "--out", str(path)]
    res = CliRunner().invoke(app, [*args, "-f", "json"])
    assert res.exit_code == 0, res.output
    page, data = path.read_text(encoding="utf-8"), json.loads(res.stdout)
    section = page[page.index("<h2>The business</h2>") : page.index("Moments of truth")]
    for measure in ("Business value", "from new customers", "LTV / CAC", "CAC payback", "joined: paid", "rating"):
        assert measure in section
    assert "The business: customers by source, and its rating" in section  # its chart
    ltv = data["baseline"]["business"]["ltv"]
    assert money(ltv["mean"], data["currency"]) in section  # the data's number, in its currency
    baseline = page[page.index("<h2>The baseline</h2>") : page.index("<h2>The business</h2>")]
    assert "shown apart" not in baseline  # referrals join the business: their value is in its value
    assert "<h2>The business</h2>" not in report.read_text(encoding="utf-8")  # one cohort has none
