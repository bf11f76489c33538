from pathlib import Path

import pytest

import motsim

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixture_scenario():
    def load(name: str):
        return motsim.load_scenario(FIXTURES / f"{name}.toml")

    return load


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path
