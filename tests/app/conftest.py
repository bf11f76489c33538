"""The page under Streamlit's browserless harness (`streamlit.testing.v1.AppTest`)."""

from pathlib import Path

import pytest

pytest.importorskip("streamlit", reason="the app extra: pip install 'motsim[app]'")

PAGE = Path(__file__).parents[2] / "src" / "motsim" / "app" / "page.py"


@pytest.fixture
def page(monkeypatch):
    """Start a fresh page (on SCENARIO, as `motsim app SCENARIO` does), each test in a new session."""
    from streamlit.testing.v1 import AppTest

    from motsim.app.main import SCENARIO_VARIABLE

    def start(scenario: str = ""):
        monkeypatch.setenv(SCENARIO_VARIABLE, scenario)
        return AppTest.from_file(str(PAGE), default_timeout=600).run()

    return start
