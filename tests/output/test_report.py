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
    # retention + (payback + NPV) per intervention + tornado
    assert len(images) == 1 + 2 * 3 + 1
    for alt, src in images:
        assert src.startswith("data:image/png;base64,"), alt
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG_MAGIC), alt
    assert not re.search(r'(src|href)="(https?:|//|file:)', page), "the page must not load anything from outside"
    for section in (
        "The baseline",
        "Interventions: what they are worth",
        "Moments of truth",
        "Assumptions",
        "How to read it",
    ):
        assert section in page
    for moment in ("onboarding", "handoff", "renewal"):
        assert f"<td>{moment}</td>" in page


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
    assert "<title>decoded 8 of 8</title>" in dom
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
