"""The HTML report: self-contained, and every chart visible in a real browser where one exists."""

import base64
import re
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from motsim.cli import app

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report.html"
    res = CliRunner().invoke(
        app, ["report", "saas_onboarding", "-n", "600", "-m", "13", "-r", "3", "-w", "1", "--out", str(path)]
    )
    assert res.exit_code == 0, res.output
    return path


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
    assert f"<b>{u.p_npv_positive:.0%}</b>" in answer and "cut: cost_one_off" in answer
    assert "each uncertain input at its 5% and 95% value" in page and "Uncertain inputs" in page
    assert len(data.cash_flows["cut"]) == 36
