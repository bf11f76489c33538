"""What the product writes: no CSV cell a spreadsheet would run as a formula (OWASP's CSV injection
advice), and `--out` sets that appear whole or not at all, refused before any work when they cannot be
written."""

import csv
import io
import json
import os

import pandas as pd
import pytest
from typer.testing import CliRunner

from motsim.cli import app
from motsim.display import safe_cell
from motsim.output import formats
from motsim.output.formats import file_set, to_csv, write_text
from tests.conftest import write

MOMENT = '=HYPERLINK("http://evil","x")'
INTERVENTION = "+cmd|' /C calc'!A0"
SEGMENT = "@SUM(1+1)"
OUTCOME = "-2+3"
HOSTILE = f"""
[scenario]
name = "=1+1"
months = 4
customers = 300
seed = 3
replications = 2
[economics]
monthly_revenue = 20.0
[churn]
baseline_monthly = 0.05
experience_sensitivity = 0.3
[[segments]]
id = "{SEGMENT}"
share = 0.6
[[segments]]
id = "@plain"
share = 0.4
[[moments]]
id = '{MOMENT}'
at_day = 0
[moments.outcomes]
"{OUTCOME}" = {{ p = 0.6, score = 2.0 }}
"=bad" = {{ p = 0.4, score = -4.0 }}
[[interventions]]
name = "{INTERVENTION}"
changes = {{ 'moments.{MOMENT}.outcomes.{OUTCOME}.p' = 0.8 }}
cost_one_off = 100.0
"""
DANGER = ("=", "+", "-", "@", "\t", "\r")


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.parametrize(
    "value, written",
    [
        ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\nx"),  # a bare CR would start a row: a line break inside the quoted cell
        ("a\r=1+1", "a\n=1+1"),
        ("a=b", "a=b"),
        ("-5", "-5"),  # text that is a plain number is what a spreadsheet reads anyway
        ("-1.5e3", "-1.5e3"),
        (-5, -5),  # a number stays a number
        (-0.25, -0.25),
        (None, None),
    ],
)
def test_a_cell_a_spreadsheet_would_run_gets_a_leading_quote(value, written):
    assert safe_cell(value) == written


def dangerous(text: str) -> list[str]:
    """Cells a spreadsheet would evaluate: starting with = + - @ tab or CR and not a plain number."""
    bad = []
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            if cell.startswith(DANGER):
                try:
                    float(cell)
                except ValueError:
                    bad.append(cell)
    return bad


def test_to_csv_neutralises_cells_and_header_but_keeps_negative_numbers():
    text = to_csv([{"=h": "=1+1", "n": -3.5}, {"=h": "ok", "n": -1}])
    assert dangerous(text) == []
    assert list(csv.reader(io.StringIO(text))) == [["'=h", "n"], ["'=1+1", "-3.5"], ["ok", "-1"]]


def test_every_csv_the_commands_write_is_safe_in_a_spreadsheet(tmp_path):
    scenario = write(tmp_path, HOSTILE)
    out = tmp_path / "out"
    runs = [
        ("run", scenario, "-r", 2, "--out", out / "run", "--events", out / "events"),
        ("compare", scenario, "-r", 2, "--out", out / "compare"),
        ("rank", scenario, "-r", 2, "--out", out / "rank"),
        ("roi", scenario, "-i", INTERVENTION, "-r", 2, "--no-break-even", "--out", out / "roi"),
        ("ab", "simulate", scenario, "-i", INTERVENTION, "--out", out / "ab.csv"),
        ("compare", scenario, "-r", 2, "-f", "csv"),
    ]
    printed = []
    for args in runs:
        result = invoke(*args)
        assert result.exit_code == 0, (args, result.output)
        printed.append(result.stdout)
    files = sorted(out.rglob("*.csv"))
    names = {p.relative_to(out).as_posix() for p in files}
    assert {"run/moments.csv", "events/events.csv", "events/customers.csv", "compare/compare.csv"} <= names
    assert {"rank/rank.csv", "roi/roi.csv", "roi/cashflow.csv", "ab.csv"} <= names
    texts = {p.relative_to(out).as_posix(): p.read_text() for p in files}
    for name, text in [*texts.items(), ("compare -f csv", printed[-1])]:
        assert dangerous(text) == [], name
    # the names are still there, as text
    assert f"'{MOMENT}" in pd.read_csv(out / "run" / "moments.csv")["moment"].tolist()
    events = pd.read_csv(out / "events" / "events.csv")
    assert set(events["moment"]) == {f"'{MOMENT}"} and {f"'{OUTCOME}", "'=bad"} >= set(events["outcome"])
    assert (events["score"] < 0).any()  # negative scores are still numbers
    people = pd.read_csv(out / "events" / "customers.csv")
    assert set(people["segment"]) == {f"'{SEGMENT}", "'@plain"}
    assert f"'{INTERVENTION}" in texts["compare/compare.csv"]
    ab = pd.read_csv(out / "ab.csv")
    assert f"'{MOMENT}_score" in ab.columns  # a column name is neutralised once, at its start
    assert all(not str(c).startswith(DANGER) for c in ab.columns)


def test_a_later_file_that_cannot_be_written_leaves_the_earlier_ones_as_they_were(tmp_path, monkeypatch):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("old a\n")
    real = os.replace

    def replace(src, dst):
        if str(dst) == str(second):
            raise PermissionError(13, "Permission denied")
        real(src, dst)

    monkeypatch.setattr(formats.os, "replace", replace)
    with pytest.raises(OSError) as exc, file_set():
        write_text(first, "new a\n")
        write_text(second, "new b\n")
    assert exc.value.filename == str(second)  # the real target, not a temporary file
    assert first.read_text() == "old a\n" and not second.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]  # no .tmp, no kept copy


def test_a_folder_made_for_a_failed_set_is_removed(tmp_path):
    with pytest.raises(RuntimeError), file_set():
        write_text(tmp_path / "new" / "deeper" / "x.csv", "x\n")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_where_a_file_goes_fails_the_set_before_anything_is_replaced(tmp_path):
    scenario = write(tmp_path, HOSTILE)
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text("earlier\n")
    (out / "retention.png").mkdir()  # a folder where the set writes a file
    result = invoke("run", scenario, "-r", 2, "-f", "json", "--out", out)
    assert result.exit_code == 2, result.output
    assert str(out / "retention.png") in result.stderr
    assert result.stdout == ""  # no answer printed for files that were not written
    assert (out / "results.json").read_text() == "earlier\n"
    assert sorted(p.name for p in out.iterdir()) == ["results.json", "retention.png"]


@pytest.mark.parametrize(
    "args, says",
    [
        (["ab", "simulate", "SC", "-i", INTERVENTION, "--out", "DIR"], "is a folder; --out names the file"),
        (["run", "SC", "--out", "FILE"], "is a file; --out names the folder"),
        (["run", "SC", "--events", "FILE"], "is a file; --out names the folder"),
        (["compare", "SC", "--out", "FILE/sub"], "cannot be made"),
        (["report", "SC", "--out", "DIR"], "is a folder; --out names the file"),
    ],
)
def test_an_out_that_cannot_be_written_is_refused_before_simulating(tmp_path, args, says):
    scenario = write(tmp_path, HOSTILE)
    (tmp_path / "DIR").mkdir()
    (tmp_path / "FILE").write_text("mine\n")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    swap = {"SC": str(scenario), "DIR": str(tmp_path / "DIR"), "FILE": str(tmp_path / "FILE")}
    args = [swap.get(a, a.replace("FILE", str(tmp_path / "FILE"))) for a in args]
    result = invoke(*args, "-n", "5000000")  # a run that would take minutes: refused before it starts
    assert result.exit_code == 2, result.output
    assert says in result.stderr and "wrote" not in result.output
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert (tmp_path / "FILE").read_text() == "mine\n"


def test_json_and_files_agree_when_the_set_is_written(tmp_path):
    scenario = write(tmp_path, HOSTILE)
    result = invoke("compare", scenario, "-r", 2, "-f", "json", "--out", tmp_path / "o")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json.loads((tmp_path / "o" / "compare.json").read_text())
