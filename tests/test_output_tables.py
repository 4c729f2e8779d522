"""Results folders as ``ccsim run --out`` writes them (issue 12, item 2): pyarrow's CSV and
Parquet writers, the ``# ccsim {...}`` header line, the event log only when asked for,
and a folder that reads back to the same tables."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import ccsim
from ccsim.cli import app
from ccsim.output import load_results, read_table, write_results

ROOT = Path(__file__).resolve().parents[1]
RETAIL = ROOT / "scenarios" / "retail.yaml"
SHORT = ["--set", "duration=1h", "--set", "warmup=10m"]
runner = CliRunner()


def run_out(out: Path, *extra: str) -> None:
    result = runner.invoke(
        app, ["run", str(RETAIL), "-n", "2", "--workers", "1", "--out", str(out), *SHORT, *extra]
    )
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def results() -> ccsim.Results:
    scenario = ccsim.load_scenario(RETAIL, ["duration=1h", "warmup=10m"])
    return ccsim.simulate(scenario, replications=2, workers=1)


def test_the_event_log_is_written_only_with_events(tmp_path: Path) -> None:
    run_out(tmp_path / "plain")
    assert not (tmp_path / "plain" / "events.csv").exists()
    with pytest.raises(LookupError):
        load_results(tmp_path / "plain").events  # noqa: B018 - the property raises
    run_out(tmp_path / "full", "--events")
    events = load_results(tmp_path / "full").events
    assert len(events) > 0 and set(events["event"]) >= {"arrive", "connect", "end"}


def test_a_report_keeps_the_event_log_unless_told_not_to(tmp_path: Path) -> None:
    """The report's queue chart and chat timeline are drawn from the event log."""
    run_out(tmp_path / "out", "--report", str(tmp_path / "page.html"))
    assert (tmp_path / "out" / "events.csv").is_file()
    run_out(tmp_path / "bare", "--report", str(tmp_path / "bare.html"), "--no-events")
    assert not (tmp_path / "bare" / "events.csv").exists()


def test_csv_tables_start_with_the_header_line_and_read_back_exactly(
    tmp_path: Path, results: ccsim.Results
) -> None:
    out = write_results(results, tmp_path / "out")
    header = results.header()
    for name in ("chats", "transfers", "agents", "events", "replications"):
        first = (out / f"{name}.csv").read_text().splitlines()[0]
        assert first.startswith("# ccsim {")
        assert json.loads(first.removeprefix("# ccsim ")) == json.loads(json.dumps(header))
    again = load_results(out)
    for name in ("chats", "transfers", "agents", "events"):
        written, read = results.table(name), again.table(name)
        assert list(read.columns) == list(written.columns)
        for column in written.columns:
            if pd.api.types.is_float_dtype(written[column]):
                # the shortest exact form, read back as the same float64 (whole numbers too)
                assert read[column].dtype == "float64", (name, column)
                pd.testing.assert_series_equal(read[column], written[column], check_exact=True)
            else:
                assert read[column].astype(str).tolist() == written[column].astype(str).tolist()


def test_parquet_tables_carry_the_header_and_read_back(
    tmp_path: Path, results: ccsim.Results
) -> None:
    import pyarrow.parquet as pq

    out = write_results(results, tmp_path / "pq", "parquet")
    meta = pq.read_schema(out / "chats.parquet").metadata
    assert json.loads(meta[b"ccsim"])["seed"] == results.seed
    again = load_results(out)
    pd.testing.assert_frame_equal(
        again.chats.astype({"directory": str, "outcome": str, "final_directory": str}),
        results.chats.astype({"directory": str, "outcome": str, "final_directory": str}),
    )
    assert len(read_table(out / "events.parquet")) == len(results.events)


def test_a_folder_without_an_event_log_saves_again(tmp_path: Path) -> None:
    """A folder saved without --events re-saves whole (no events table to lose)."""
    run_out(tmp_path / "plain")
    again = write_results(load_results(tmp_path / "plain"), tmp_path / "copy")
    assert sorted(p.name for p in again.glob("*.csv")) == [
        "agents.csv",
        "chats.csv",
        "replications.csv",
        "transfers.csv",
    ]


def test_csv_values_are_plain_unless_a_value_needs_quotes(tmp_path: Path) -> None:
    """Names are written bare, as most tools expect; a value holding a comma, quote or
    newline makes the table quote its strings, and it still reads back the same."""
    from ccsim.output import _write_table

    plain = pd.DataFrame({"name": ["sales", "support"], "wait": [1.5, float("nan")]})
    _write_table(plain, tmp_path / "plain", "csv", {"seed": 1})
    assert (tmp_path / "plain.csv").read_text().splitlines()[1:] == [
        "name,wait",
        "sales,1.5",
        "support,",
    ]
    awkward = pd.DataFrame({"name": ["a,b", 'say "hi"', "two\nlines"], "n": [1, 2, 3]})
    _write_table(awkward, tmp_path / "awkward", "csv", {"seed": 1})
    again = read_table(tmp_path / "awkward.csv")
    assert again["name"].tolist() == awkward["name"].tolist()
    assert again["n"].tolist() == [1, 2, 3]
