"""Charts: each returns a labelled Figure drawn from the right data, without pyplot."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import ccsim
from ccsim import plots
from ccsim.scenario import scenario_from_dict

SCENARIO: dict[str, Any] = {
    "name": "plots",
    "duration": "2h",
    "warmup": "10m",
    "directories": {
        "sales": {
            "arrivals": "60/h",
            "patience": {"dist": "exponential", "mean": "3m"},
            "handle_time": {"dist": "exponential", "mean": "5m"},
            "service_level": "30s",
        },
        "support": {
            "arrivals": "15/h",
            "patience": {"dist": "exponential", "mean": "6m"},
            "handle_time": {"dist": "exponential", "mean": "6m"},
            "service_level": "60s",
        },
    },
    "agents": {
        "sales_team": {"count": 3, "directories": ["sales"], "max_chats": 2},
        "support_team": {"count": 2, "directories": ["support"], "max_chats": 2},
    },
    "offer": {"response_time": {"dist": "exponential", "mean": "5s"}},
    "transfers": [
        {
            "from": "sales",
            "to": {"directory": "support"},
            "probability": 0.3,
            "at": "1m",
            "leave": "immediately",
        }
    ],
}


@pytest.fixture(scope="module")
def results() -> ccsim.Results:
    return ccsim.simulate(scenario_from_dict(SCENARIO), replications=3, seed=2)


def texts(fig: Figure) -> str:
    """Every title, label, legend entry and free text of a figure, joined."""
    found: list[str] = []
    if fig._suptitle is not None:
        found.append(fig._suptitle.get_text())
    for legend in fig.legends:
        found += [t.get_text() for t in legend.get_texts()]
    for ax in fig.axes:
        found += [ax.get_title(loc) for loc in ("left", "center", "right")]
        found += [ax.get_xlabel(), ax.get_ylabel()]
        found += [t.get_text() for t in ax.texts]
        found += [t.get_text() for t in ax.get_yticklabels()]
        if ax.get_legend() is not None:
            found += [t.get_text() for t in ax.get_legend().get_texts()]
    return "\n".join(found)


def renders(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=50)
    return buffer.getvalue()


def test_charts_use_no_pyplot_state_and_render_headless(results: ccsim.Results) -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    charts = plots.standard_charts(results)
    assert [c.name for c in charts] == [
        "utilization",
        "wait_cdf",
        "queue_staffing",
        "handoff_gaps",
        "chat_timeline",
    ]
    for chart in charts:
        assert isinstance(chart.figure, Figure), chart.note
        assert renders(chart.figure).startswith(b"\x89PNG")
        for ax in chart.figure.axes:
            assert ax.get_title() or ax.get_title(loc="left") or chart.figure._suptitle
    assert plt.get_fignums() == before


def test_wait_cdf_marks_each_threshold_at_the_service_level(results: ccsim.Results) -> None:
    fig = plots.wait_cdf(results)
    ax = fig.axes[0]
    chats = results.chats[results.chats["measured"]]
    for name, threshold in (("sales", 30.0), ("support", 60.0)):
        mine = chats[chats["directory"] == name]
        waited = results.scenario.duration - mine["arrival"]
        undecided = (mine["outcome"] == "open") & ~mine["answered"] & (waited <= threshold)
        resolved = mine[~undecided]
        expected = 100 * float((resolved["wait"] <= threshold).sum()) / len(resolved)
        dots = [
            line
            for line in ax.get_lines()
            if line.get_marker() == "o" and line.get_xdata()[0] == threshold
        ]
        assert len(dots) == 1
        assert dots[0].get_ydata()[0] == pytest.approx(expected)
        assert f"{expected:.1f}% within {threshold:g} s" in texts(fig)
    assert "(s)" in ax.get_xlabel() and "(%)" in ax.get_ylabel()


def test_queue_and_staffing_draws_the_time_series(results: ccsim.Results) -> None:
    fig = plots.queue_and_staffing(results, freq="30m")
    top, bottom = fig.axes
    series = results.timeseries("30m")
    drawn = [p.get_data()[0] for p in top.patches if hasattr(p, "get_data")]
    assert any(np.allclose(v, series["queue_length"]["sales"]) for v in drawn)
    staffed = [p.get_data()[0] for p in bottom.patches if hasattr(p, "get_data")]
    assert any(np.allclose(v, [6, 6, 6, 6]) for v in staffed)  # 3 agents x 2 slots
    assert "warm-up" in texts(fig) and bottom.get_xlabel() == "time of day"
    assert bottom.xaxis.get_major_formatter()(1.5, 0) == "01:30"  # clock times


def test_utilization_bars_carry_the_summary_intervals(results: ccsim.Results) -> None:
    fig = plots.utilization(results)
    ax = fig.axes[0]
    heights = sorted(round(p.get_height(), 6) for p in ax.patches)
    expected = sorted(
        round(100 * results.summary_table.groups[g][m].mean, 6)
        for g in ("sales_team", "support_team")
        for m in ("utilization", "occupancy")
    )
    assert heights == expected
    assert len(ax.containers) == 4  # two bar sets, each with its error bars
    assert [t.get_text() for t in ax.get_xticklabels()] == ["sales_team", "support_team"]


def test_handoff_gaps_show_cold_gaps_and_note_the_kinds_absent(results: ccsim.Results) -> None:
    fig = plots.handoff_gaps(results)
    text = texts(fig)
    assert text.count("no legs in these results") == 3  # warm, agent transfer, conference
    assert "cold directory transfer: mean" in text
    legs = plots._measured_legs(results)
    gaps = legs.loc[(legs["outcome"] != "declined") & (legs["handoff_gap"] > 0), "handoff_gap"]
    curve = fig.axes[1].get_lines()[0]
    assert curve.get_xdata()[1:-1] * (60 if "(min)" in fig.axes[1].get_xlabel() else 1) == (
        pytest.approx(np.sort(gaps.to_numpy()))
    )


def test_handoff_gaps_with_no_transfers_say_so() -> None:
    run = ccsim.simulate(scenario_from_dict({**SCENARIO, "transfers": []}), replications=1)
    assert "no transfers or conferences" in texts(plots.handoff_gaps(run))
    assert "no chat with a transfer" in texts(plots.chat_timeline(run))


def test_timeline_picks_transferred_chats_and_shows_the_gap(results: ccsim.Results) -> None:
    picked = plots.pick_transfer_chats(results, count=3)
    assert len(picked) == 3
    chats = results.chats.set_index(["replication", "chat"])
    assert all(chats.loc[key, "transfers"] > 0 for key in picked)
    fig = plots.chat_timeline(results, count=3)
    text = texts(fig)
    assert "queue: support" in text and "support_team #" in text and "gap " in text
    assert "minutes" in fig.axes[-1].get_xlabel()


def test_chat_spans_of_a_cold_transfer() -> None:
    log = pd.DataFrame(
        [
            (0.0, "arrive", -1, "sales"),
            (0.0, "queue", -1, "sales"),
            (1.0, "offer", 4, "sales"),
            (3.0, "connect", 4, "sales"),
            (60.0, "transfer", 4, "sales"),
            (60.0, "queue", -1, "support"),
            (60.0, "leave", 4, "sales"),
            (90.0, "connect", 7, "support"),
            (200.0, "leave", 7, "support"),
            (200.0, "end", -1, "support"),
        ],
        columns=["time", "event", "agent", "directory"],
    )
    spans, requests = plots.chat_spans(log, {4: ("sales_team", 0), 7: ("support_team", 2)}, 999)
    got = sorted((s.row, s.start, s.end) for s in spans)
    assert got == [
        ("queue: sales", 0.0, 3.0),
        ("queue: support", 60.0, 90.0),
        ("sales_team #1", 3.0, 60.0),
        ("support_team #3", 90.0, 200.0),
    ]
    assert requests == [60.0]
    assert plots._uncovered(spans, 3.0, 200.0) == [(60.0, 90.0)]


def sweep_frame() -> pd.DataFrame:
    rows = []
    for leave in ("on_connect", "immediately"):
        for count in (3, 4, 5):
            level = 0.5 + 0.1 * count - (0.05 if leave == "immediately" else 0)
            rows.append(
                {
                    "agents.support_team.count": count,
                    "transfers.0.leave": leave,
                    "seed": 7,
                    "replications": 10,
                    "scenario_sha": "abc123",
                    "service_level": level,
                    "service_level_ci_low": level - 0.03,
                    "service_level_ci_high": level + 0.03,
                }
            )
    return pd.DataFrame(rows)


def test_sweep_curve_draws_one_banded_line_per_policy_and_the_target(tmp_path: Path) -> None:
    frame = sweep_frame()
    assert plots.sweep_parameters(frame) == ["agents.support_team.count", "transfers.0.leave"]
    fig = plots.sweep_curve(frame, "service_level", target=0.8)
    ax = fig.axes[0]
    curves = [line for line in ax.get_lines() if line.get_gid() != "target"]
    assert [line.get_label() for line in curves] == [
        "transfers.0.leave = on_connect",
        "transfers.0.leave = immediately",
    ]
    warm = frame[frame["transfers.0.leave"] == "on_connect"]
    assert curves[0].get_ydata() == pytest.approx(100 * warm["service_level"].to_numpy())
    assert curves[0].get_marker() != curves[1].get_marker()  # visible even if they coincide
    assert len(ax.collections) == 2  # one confidence band per curve
    target = [line for line in ax.get_lines() if line.get_gid() == "target"]
    assert target[0].get_ydata()[0] == pytest.approx(80)
    assert "target 80%" in texts(fig)
    assert ax.get_ylabel() == "service level (%)"
    assert ax.get_xlabel() == "agents.support_team.count"
    path = tmp_path / "sweep.csv"
    frame.to_csv(path, index=False)
    again = plots.sweep_curve(str(path), "service_level", by="transfers.0.leave")
    assert len(again.axes[0].get_lines()) == 2


def test_metric_labels_name_the_scope_and_the_unit() -> None:
    assert plots.metric_label("handoff_gap_mean") == "handoff gap mean (s)"
    assert plots.metric_label("directories.sales.service_level") == "service level, sales (%)"
    assert plots.metric_label("groups.team.utilization") == "utilization, team (%)"
    assert plots.metric_label("offered") == "offered (chats)"


def test_sweep_curve_names_the_metrics_it_has() -> None:
    with pytest.raises(KeyError, match="service_level"):
        plots.sweep_curve(sweep_frame(), "wait_p90")
