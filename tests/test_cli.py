"""The command line: exit codes, readable errors, --json, --out, --set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ccsim.cli import app

ROOT = Path(__file__).resolve().parents[1]
RETAIL = ROOT / "scenarios" / "retail.yaml"
SHORT = ["--set", "duration=1h", "--set", "warmup=10m"]
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_version_prints_the_package_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("ccsim ")


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").rglob("*.yaml")), ids=str)
def test_every_example_scenario_validates(path: Path) -> None:
    result = invoke("validate", str(path))
    assert result.exit_code == 0, result.output


def test_run_prints_every_metric_with_an_interval() -> None:
    result = invoke("run", str(RETAIL), "-n", "3", "--workers", "1", *SHORT)
    assert result.exit_code == 0, result.output
    for metric in ("service_level", "handoff_gap_p95", "utilization", "session_time_mean"):
        assert metric in result.stdout
    assert "95% CI" in result.stdout
    assert "support_team" in result.stdout


def test_run_json_prints_only_json_with_the_header() -> None:
    result = invoke("run", str(RETAIL), "-n", "2", "--workers", "1", "--json", *SHORT)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["seed"] == 7 and data["replications"] == 2
    assert data["scenario"]["duration"] == 3600.0  # the resolved scenario, overrides applied
    assert set(data["metrics"]["service_level"]) == {"mean", "ci_low", "ci_high"}
    assert set(data["directories"]) == {"sales", "support"}
    assert set(data["groups"]) == {"sales_team", "support_team", "supervisors"}
    assert data["version"] and data["runtime_s"] >= 0


def test_run_out_writes_summary_scenario_and_tables(tmp_path: Path) -> None:
    out = tmp_path / "results"
    result = invoke("run", str(RETAIL), "-n", "2", "--workers", "1", "--out", str(out), *SHORT)
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        ".ccsim-output",  # the marker: ccsim replaces only folders that carry it
        "agents.csv",
        "chats.csv",
        "end_state.json",  # where each replication ended: for ccsim run --initial
        "replications.csv",
        "scenario.yaml",
        "summary.json",
        "transfers.csv",
    ]  # the event log (events.csv) only with --events: see tests/test_output_tables.py
    for table in ("chats.csv", "transfers.csv"):
        first = (out / table).read_text().splitlines()[0]
        header = json.loads(first.removeprefix("# ccsim "))
        assert header["seed"] == 7 and header["scenario"]["name"] == "retail"
    # the resolved scenario runs as it is
    assert invoke("validate", str(out / "scenario.yaml")).exit_code == 0


def test_run_parquet_tables_carry_the_header(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "pq"
    result = invoke("run", str(RETAIL), "-n", "1", "--out", str(out), "--format", "parquet", *SHORT)
    assert result.exit_code == 0, result.output
    meta = pq.read_schema(out / "chats.parquet").metadata
    assert json.loads(meta[b"ccsim"])["seed"] == 7


def test_invalid_scenario_exits_2_with_field_paths_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        RETAIL.read_text().replace("mean: 4m", "mean: -4m").replace("count: 14", "cuont: 14")
    )
    result = invoke("run", str(bad))
    assert result.exit_code == 2
    assert "directories.sales.patience.mean: must be positive" in result.output
    assert "agents.sales_team.cuont: unknown key (did you mean 'count'?)" in result.output
    assert "Traceback" not in result.output


def test_malformed_yaml_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ndirectories: {sales: [\n")
    result = invoke("validate", str(bad))
    assert result.exit_code == 2
    assert "malformed YAML" in result.output


def test_set_override_is_validated_like_the_file() -> None:
    result = invoke("validate", str(RETAIL), "--set", "transfers.0.probability=1.5")
    assert result.exit_code == 2
    assert "transfers.0.probability" in result.output


def test_failed_run_leaves_no_half_written_folder(tmp_path: Path) -> None:
    out = tmp_path / "results"
    result = invoke("run", str(RETAIL), "--set", "agents.sales_team.count=-1", "--out", str(out))
    assert result.exit_code == 2
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_bad_format_exits_2() -> None:
    result = invoke("run", str(RETAIL), "--format", "xlsx")
    assert result.exit_code == 2
