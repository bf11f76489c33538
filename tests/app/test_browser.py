"""A real browser clicks through the what-if: Debian's chromium driven by Playwright (no browser is
downloaded), the page served by `motsim app` itself. It saves screenshots (the docs show them: set
MOTSIM_APP_SCREENSHOTS=docs/img to write them there) and checks the page asks nothing of the internet.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
pytest.importorskip("streamlit", reason="the app extra: pip install 'motsim[app]'")
playwright = pytest.importorskip("playwright.sync_api", reason="the test extra: playwright")
if not Path(CHROMIUM).exists():
    pytest.skip(f"no {CHROMIUM} (Debian's chromium; .ci/run installs it)", allow_module_level=True)

FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    """`motsim app saas_onboarding --port P --no-browser`, until the test ends (its log in server.log)."""
    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "motsim", "app", "saas_onboarding", "--port", str(port), "--no-browser"],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail(f"motsim app did not start: {(tmp_path / 'server.log').read_text()}")
    yield url
    print((tmp_path / "server.log").read_text())  # shown when the test fails
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def _wait_calm(page) -> None:
    """Until the page's script has run to its end (Streamlit marks its root) and the charts have drawn."""
    time.sleep(0.7)  # the rerun an action asks for has begun
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stApp\"]')?.dataset.testScriptState === 'notRunning'",
        timeout=600_000,
    )
    time.sleep(1.5)


def _type(page, label: str, value: str) -> None:
    """Type a number into the field labelled `label` and let the page settle."""
    box = page.get_by_label(label, exact=False)
    box.fill(value)
    box.press("Enter")
    _wait_calm(page)


def _slide(page, label: str, steps: int) -> None:
    """Move the slider labelled `label` right by `steps` with the keyboard."""
    slider = page.get_by_test_id("stSlider").filter(has_text=label).get_by_role("slider")
    slider.focus()
    for _ in range(steps):
        slider.press("ArrowRight")
    _wait_calm(page)


def test_a_browser_clicks_through_the_what_if_offline_and_saves_screenshots(served, tmp_path):
    shots = Path(os.environ.get("MOTSIM_APP_SCREENSHOTS") or tmp_path)  # noqa: SIM108
    shots.mkdir(parents=True, exist_ok=True)
    asked = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.on("request", lambda r: asked.append(r.url))
        page.goto(served)
        run = page.get_by_role("button", name="Run", exact=True)
        run.wait_for(timeout=90_000)
        # the precision of a test: a sample that keeps the support team whole, 4 replications
        page.get_by_text("Precision and seed").click()
        _type(page, "Customers simulated", "3334")
        _type(page, "Replications", "4")
        # onboarding's good share from 70% to 85% (a slider moved with the keyboard), $250k one-off
        _slide(page, "share 'good'", 15)
        _type(page, "one-off cost", "250000")
        # the effect known to ±50%: the page then says the chance it pays and what moves it most
        _slide(page, "How sure is its effect?", 2)
        run.click()
        page.get_by_text(re.compile("^Full answer: ")).wait_for(timeout=300_000)
        page.get_by_text(re.compile("^P\\(NPV > 0\\) and what moves it most")).wait_for(timeout=600_000)
        _wait_calm(page)
        page.screenshot(path=str(shots / "app-whatif.png"))
        page.get_by_text("Every number (exact").scroll_into_view_if_needed()
        time.sleep(1)
        page.screenshot(path=str(shots / "app-charts.png"))
        assert page.get_by_text("Fund ").first.is_visible()
        assert page.get_by_text("NPV for the business").first.is_visible()
        page.get_by_text("Journey", exact=True).click()
        try:
            page.get_by_text("Size: how often").wait_for(timeout=240_000)
        finally:
            page.screenshot(path=str(shots / "app-journey.png"))
        _wait_calm(page)
        page.screenshot(path=str(shots / "app-journey.png"))
        page.get_by_text("Rank", exact=True).click()
        page.get_by_role("button", name="Use it as the intervention").wait_for(timeout=240_000)
        _wait_calm(page)
        page.screenshot(path=str(shots / "app-rank.png"))
        # a bar clicked becomes the what-if's intervention
        chart = page.get_by_test_id("stVegaLiteChart").first.bounding_box()
        page.mouse.click(chart["x"] + 0.45 * chart["width"], chart["y"] + 60)  # the top bar: the widest
        _wait_calm(page)
        assert page.get_by_role("radio", name="What-if").is_checked()
        assert page.get_by_text("Your intervention is set differently").is_visible()  # the old answer is marked
        browser.close()
    for name in ("app-whatif.png", "app-charts.png", "app-journey.png", "app-rank.png"):
        assert (shots / name).stat().st_size > 20_000  # a drawn page, not a blank one
    elsewhere = sorted({u.split("/")[2] for u in asked if u.startswith("http")} - {served.split("/")[2]})
    assert elsewhere == [], f"the page asked the internet for: {elsewhere}"


def test_chromium_is_debians():
    assert shutil.which("chromium") in (CHROMIUM, None) or Path(CHROMIUM).exists()
