"""The HTML report: one self-contained, well-formed page, from a run or a saved folder."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

import ccsim
from ccsim.cli import app
from ccsim.report import format_metric, report_html

ROOT = Path(__file__).resolve().parents[1]
COLD = ROOT / "scenarios" / "transfer_cold.yaml"
SHORT = ["--set", "duration=1h", "--set", "warmup=10m", "--workers", "1"]
runner = CliRunner()
VOID = {"meta", "img", "br", "hr", "link", "input"}


class Checker(HTMLParser):
    """Collects tags, unbalanced closings and every URL-bearing attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.links: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "srcset", "action", "data") and value is not None:
                self.links.append(value)
        if tag == "img":
            self.images.append(dict(attrs).get("src") or "")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()


def check(page: str) -> Checker:
    checker = Checker()
    checker.feed(page)
    checker.close()
    assert checker.problems == [] and checker.stack == []
    return checker


@pytest.fixture(scope="module")
def results() -> ccsim.Results:
    scenario = ccsim.load_scenario(COLD, ["duration=1h", "warmup=10m"])
    return ccsim.simulate(scenario, replications=3, seed=4)


@pytest.fixture(scope="module")
def page(results: ccsim.Results) -> str:
    return report_html(results)


def test_report_is_well_formed_and_self_contained(page: str) -> None:
    checker = check(page)
    assert len(checker.images) == 5
    assert all(src.startswith("data:image/png;base64,") for src in checker.images)
    assert all(link.startswith("data:") for link in checker.links)
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", page.replace("://", ""))
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page


def test_report_holds_the_scenario_and_every_metric_with_its_interval(
    results: ccsim.Results, page: str
) -> None:
    assert "transfer_cold" in page and "cold (inviter leaves at once)" in page
    for metric, estimate in results.summary_table.overall.items():
        assert f"<td>{metric}</td>" in page
        if estimate.n > 1 and estimate.ci_low == estimate.ci_low:
            low = format_metric(metric, estimate.ci_low)
            assert f"[{low}, {format_metric(metric, estimate.ci_high)}]" in page
    for name in ("sales", "support", "sales_team", "support_team"):
        assert f"<th>{name}</th>" in page
    assert "Full resolved scenario" in page


def test_repr_html_shows_directories_groups_and_intervals(results: ccsim.Results) -> None:
    shown = results._repr_html_()
    check(shown)
    assert "3 replications" in shown and "Per agent group" in shown
    sl = results.summary_table.directories["support"]["service_level"]
    assert format_metric("service_level", sl.mean) in shown
    assert f"[{format_metric('service_level', sl.ci_low)}," in shown


def test_run_report_and_report_from_the_saved_folder(tmp_path: Path) -> None:
    written, out = tmp_path / "page.html", tmp_path / "out"
    result = runner.invoke(
        app, ["run", str(COLD), "-n", "2", *SHORT, "--report", str(written), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert f"report written to {written}" in result.stdout
    check(written.read_text())

    result = runner.invoke(app, ["report", str(out), "--figures", str(tmp_path / "png")])
    assert result.exit_code == 0, result.output
    saved = (out / "report.html").read_text()
    check(saved)
    strip = re.compile(r"page made [^.]*\.")
    assert strip.sub("", saved) == strip.sub("", written.read_text())
    pngs = sorted(p.name for p in (tmp_path / "png").iterdir() if p.name != ".ccsim-output")
    assert pngs == [
        "chat_timeline.png",
        "handoff_gaps.png",
        "queue_staffing.png",
        "utilization.png",
        "wait_cdf.png",
    ]
    assert all((tmp_path / "png" / p).read_bytes().startswith(b"\x89PNG") for p in pngs)


def test_run_report_keeps_json_output_clean(tmp_path: Path) -> None:
    written = tmp_path / "page.html"
    result = runner.invoke(
        app, ["run", str(COLD), "-n", "2", *SHORT, "--json", "--report", str(written)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["replications"] == 2
    assert written.exists()


def test_run_report_without_event_log_explains_the_missing_charts(tmp_path: Path) -> None:
    written = tmp_path / "page.html"
    result = runner.invoke(
        app, ["run", str(COLD), "-n", "2", *SHORT, "--no-events", "--report", str(written)]
    )
    assert result.exit_code == 0, result.output
    text = written.read_text()
    check(text)
    assert "not drawn: these results have no event log" in text
    assert len(check(text).images) == 4


def test_report_of_a_folder_that_is_not_results_fails_cleanly(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert "is not a results folder" in " ".join(result.output.split())
    assert not (tmp_path / "report.html").exists()


def write_sweep(path: Path) -> None:
    """A table in the shape ``ccsim sweep --out`` writes."""
    lines = [
        "agents.support_team.count,seed,replications,scenario_sha,"
        "service_level,service_level_ci_low,service_level_ci_high,"
        "wait_p90,wait_p90_ci_low,wait_p90_ci_high"
    ]
    for count in (3, 4, 5):
        level, wait = 0.5 + 0.1 * count, 200.0 / count
        lines.append(
            f"{count},7,5,abc,{level},{level - 0.02},{level + 0.02},{wait},{wait - 4},{wait + 4}"
        )
    path.write_text("\n".join(lines) + "\n")


def test_report_of_a_sweep_csv_draws_its_curves_and_table(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep.csv"
    write_sweep(sweep)
    result = runner.invoke(
        app,
        [
            "report",
            str(sweep),
            "--target",
            "service_level >= 85%",
            "--figures",
            str(tmp_path / "f"),
        ],
    )
    assert result.exit_code == 0, result.output
    page = (tmp_path / "sweep.html").read_text()
    checker = check(page)
    assert len(checker.images) == 2  # the usual metrics the table has
    assert all(src.startswith("data:image/png;base64,") for src in checker.images)
    assert "5 replications per point, seed 7" in page and "3 points over" in page
    assert "<td>80.0%" in page and "[78.0%, 82.0%]" in page
    # the target in check's grammar: where it is met, and a mark where it is missed
    said = " ".join(result.output.split())
    assert (
        "MISS service_level >= 85%: met at 2 of 3 points (agents.support_team.count = 4, 5)" in said
    )
    assert "missed at agents.support_team.count = 3" in said
    assert page.count('class="miss"') == 1
    assert sorted(p.name for p in (tmp_path / "f").iterdir()) == [
        ".ccsim-output",  # the marker of a folder of ccsim's charts
        "sweep_service_level.png",
        "sweep_wait_p90.png",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "wait_p90 <= 80%"], "'%' applies to ratios"),
        (["--target", "service_level"], "expected a comparison"),
        (["--target", "service_level=80%"], "write METRIC OP VALUE as in ccsim check"),
        (["--target", "directories.sales.service_level >= 80%"], "no metric directories.sales"),
        (["-m", "wait_p99"], "unknown metric 'wait_p99'"),
        (["-m", "wait_p95"], "no metric wait_p95"),
    ],
)
def test_report_of_a_sweep_names_a_bad_metric_or_target(
    tmp_path: Path, args: list[str], message: str
) -> None:
    sweep = tmp_path / "sweep.csv"
    write_sweep(sweep)
    result = runner.invoke(app, ["report", str(sweep), *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "sweep.html").exists()


def test_report_opens_with_what_needs_attention_before_the_tables() -> None:
    """shared_fraud misses both of its expect: targets; support has none of its own and
    is under 80%; the generalists are the busiest group."""
    from ccsim.report import attention

    scenario = ccsim.load_scenario(ROOT / "scenarios" / "shared_fraud.yaml")
    run = ccsim.simulate(scenario, replications=3, seed=11)
    items = attention(run)
    subjects = [item.subject for item in items]
    assert "expect: directories.fraud.service_level >= 80%" in subjects
    assert "expect: service_level >= 80%" in subjects
    assert any(i.subject == "directory support" and "under the usual 80%" in i.text for i in items)
    # fraud has a target of its own: judged by it, not again by the usual 80%.
    assert not any(i.subject == "directory fraud" and "usual 80%" in i.text for i in items)
    assert subjects[-1] == "agent group generalists" and "the busiest" in items[-1].text
    page = report_html(run)
    check(page)
    assert page.index('id="attention"') < page.index("<h2>Results</h2>")
    section = page[page.index('id="attention"') : page.index("<h2>Results</h2>")]
    assert section.count('<li class="miss">') == sum(item.miss for item in items)
    assert "fraud.service_level &gt;= 80%" in section


def test_attention_is_calm_when_nothing_is_missed(results: ccsim.Results) -> None:
    from ccsim.report import attention_html

    generous = ccsim.load_scenario(
        COLD, ["duration=1h", "warmup=10m", "agents.support_team.count=30"]
    )
    html = attention_html(ccsim.simulate(generous, replications=2, seed=4))
    assert "No target missed" in html and 'class="miss"' not in html
    assert "the busiest" in html


def test_a_cell_shows_mean_and_interval_in_one_unit() -> None:
    from ccsim.report import estimate_texts
    from ccsim.results import Estimate

    assert estimate_texts("wait_mean", Estimate(590.0, 500.0, 700.0)) == (
        "9.8 min",
        "[8.3 min, 11.7 min]",
    )
    assert estimate_texts("wait_mean", Estimate(59.0, 50.0, 70.0)) == ("59.0 s", "[50.0 s, 70.0 s]")
    assert estimate_texts("wait_mean", Estimate(590.0, float("nan"), float("nan"))) == (
        "590.0 s",
        "",
    )
    assert estimate_texts("service_level", Estimate(0.8, 0.7, 0.9)) == ("80.0%", "[70.0%, 90.0%]")


def test_report_tells_the_scenario_in_clock_times() -> None:
    scenario = ccsim.load_scenario(ROOT / "scenarios" / "daily.yaml")
    from ccsim.report import scenario_html

    html = scenario_html(scenario)
    assert "5 days, the daily pattern below repeated each day" in html
    assert "<td>08:00</td>" in html  # starts at
    assert "7 (08:00–10:00)" in html and "8 (18:00–20:15)" in html
    assert "0/h from 20:00" in html


def test_report_lists_each_interval_with_arrivals_by_clock_time() -> None:
    from ccsim.report import interval_table_html

    scenario = ccsim.load_scenario(ROOT / "scenarios" / "daily.yaml", ["days=2"])
    run = ccsim.simulate(scenario, replications=1, seed=3)
    html = interval_table_html(run, "1h")
    check(html)
    assert "<td>day 1 08:00–09:00</td>" in html and "<td>day 2 19:00–20:00</td>" in html
    assert "20:00–21:00" not in html  # closed: no arrivals, no row
    assert html.count("<tr>") == 1 + 2 * 12  # the header, then 12 open hours a day
