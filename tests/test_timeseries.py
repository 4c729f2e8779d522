"""Per-interval time series: counts add up to the tables, levels are exact time averages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import ccsim
from ccsim.scenario import scenario_from_dict
from ccsim.timeseries import interval_edges, level_integral, queue_spans

TINY: dict[str, Any] = {
    "name": "tiny",
    "duration": "2h",
    "warmup": "10m",
    "seed": 3,
    "replications": 2,
    "directories": {
        "sales": {
            "arrivals": "60/h",
            "patience": {"dist": "exponential", "mean": "3m"},
            "handle_time": {"dist": "exponential", "mean": "5m"},
            "service_level": "30s",
        },
        "support": {
            "arrivals": "20/h",
            "patience": {"dist": "exponential", "mean": "4m"},
            "handle_time": {"dist": "exponential", "mean": "6m"},
            "service_level": "60s",
        },
    },
    "agents": {
        "sales_team": {"count": 3, "directories": ["sales"], "max_chats": 2},
        "support_team": {
            "directories": ["support"],
            "max_chats": 2,
            "shifts": [
                {"from": "0h", "to": "1h", "count": 1},
                {"from": "1h", "to": "2h", "count": 3},
            ],
        },
    },
    "offer": {"response_time": {"dist": "exponential", "mean": "5s"}, "no_answer_timeout": "10s"},
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
    return ccsim.simulate(scenario_from_dict(TINY), replications=2, seed=3)


def test_interval_edges_end_at_the_duration_with_a_shorter_last_interval() -> None:
    assert list(interval_edges(3000, "15m")) == [0, 900, 1800, 2700, 3000]
    assert list(interval_edges(1800, 900)) == [0, 900, 1800]
    with pytest.raises(ValueError):
        interval_edges(1800, "0s")


def test_level_integral_adds_overlapping_pieces_per_interval() -> None:
    # 2 on [0, 10) and 1 on [5, 20): 2*10 + 1*5 in [0, 10), 1*10 in [10, 20), 0 after.
    got = level_integral(
        np.array([0.0, 5.0]),
        np.array([10.0, 20.0]),
        np.array([2.0, 1.0]),
        np.array([0, 10, 20, 25]),
    )
    assert got == pytest.approx([25.0, 10.0, 0.0])


def test_queue_spans_run_from_queue_to_the_next_connect_abandon_or_end() -> None:
    log = [  # a cold transfer, an abandonment, and a chat still waiting at the end
        (1, 0.0, "arrive", "sales"),
        (1, 0.0, "queue", "sales"),
        (1, 2.0, "offer", "sales"),
        (1, 5.0, "connect", "sales"),
        (2, 3.0, "queue", "sales"),
        (2, 8.0, "abandon", "sales"),
        (1, 10.0, "transfer", "sales"),
        (1, 10.0, "queue", "support"),
        (1, 10.0, "leave", "sales"),
        (1, 30.0, "connect", "support"),
        (3, 40.0, "queue", "support"),
        (1, 50.0, "end", "support"),
    ]
    events = pd.DataFrame(log, columns=["chat", "time", "event", "directory"]).assign(
        replication=0, agent=-1
    )
    spans = queue_spans(events, duration=60.0)
    got = sorted(spans[["chat", "directory", "start", "end"]].itertuples(index=False, name=None))
    assert got == [
        (1, "sales", 0.0, 5.0),
        (1, "support", 10.0, 30.0),
        (2, "sales", 3.0, 8.0),
        (3, "support", 40.0, 60.0),
    ]


def test_counts_per_interval_add_up_to_the_chats_table(results: ccsim.Results) -> None:
    series = results.timeseries("15m")
    chats = results.chats
    reps = results.replications
    for name in ("sales", "support"):
        mine = chats[chats["directory"].astype(str) == name]
        assert series["arrivals"][name].sum() * reps == pytest.approx(len(mine))
        assert series["answered"][name].sum() * reps == pytest.approx(mine["answered"].sum())
        gone = chats[
            (chats["final_directory"].astype(str) == name)
            & chats["outcome"].astype(str).str.startswith("abandoned")
        ]
        assert series["abandoned"][name].sum() * reps == pytest.approx(len(gone))
    assert series.index[1] == pd.Timedelta(minutes=15)
    assert len(series) == 8


def test_staffed_agents_and_slots_follow_the_shifts(results: ccsim.Results) -> None:
    series = results.timeseries("30m")
    assert list(series["staffed_agents"]["support_team"]) == pytest.approx([1, 1, 3, 3])
    assert list(series["staffed_slots"]["support_team"]) == pytest.approx([2, 2, 6, 6])
    assert list(series["staffed_agents"]["sales_team"]) == pytest.approx([3] * 4)
    busy, staffed = series["busy_slots"], series["staffed_slots"]
    assert ((busy >= 0) & (busy <= staffed + 1e-9)).all().all()
    assert busy["sales_team"].sum() > 0


def test_queue_length_integrates_to_the_customers_waiting_time() -> None:
    """Without transfers, each chat waits once: from arrival to its first connect, to its
    abandonment, or to the end of the run. The time-average queue length integrated over
    the day must give the same total as the chats table."""
    data = {**TINY, "transfers": []}
    run = ccsim.simulate(scenario_from_dict(data), replications=2, seed=5)
    series = run.timeseries("10m")
    chats = run.chats
    duration = run.scenario.duration
    end = chats["connect"].fillna(chats["end"]).fillna(duration)
    for name in ("sales", "support"):
        mine = chats["directory"].astype(str) == name
        waited = float((end - chats["arrival"])[mine].sum())
        lengths = np.diff(interval_edges(duration, "10m"))
        integral = float((series["queue_length"][name] * lengths).sum()) * run.replications
        assert integral == pytest.approx(waited, rel=1e-9)
        assert waited > 0


def test_without_an_event_log_the_queue_length_is_unknown() -> None:
    run = ccsim.simulate(scenario_from_dict(TINY), replications=1, seed=1, record_events=False)
    series = run.timeseries("30m")
    assert series["queue_length"].isna().all().all()
    assert series["arrivals"]["sales"].sum() > 0


def test_saved_results_give_the_same_series(results: ccsim.Results, tmp_path: Path) -> None:
    ccsim.write_results(results, tmp_path / "out")
    again = ccsim.load_results(tmp_path / "out")
    pd.testing.assert_frame_equal(again.timeseries("20m"), results.timeseries("20m"))


# One agent holding one chat at a time, constant handling of 10m and patience of 10m, so
# every instant below is known by hand (see the comments).
EXACT: dict[str, Any] = {
    "name": "exact",
    "duration": "1h",
    "start": "08:00",
    "directories": {
        "sales": {
            # A at 0 answered at once (wait 0); B at 60 waits for A's end at 600 (wait 540);
            # C at 120 would be answered at 1200, after its patience: abandons at 720.
            # D at 1300: the agent is free since B ended at 1200 (wait 0).
            # F at 3400 answered at once; E at 3500 still waits at the end (100s > 30s: a
            # miss); G at 3590 still waits 10s (< 30s: undecided, left out).
            "arrivals": {"times": [0, 60, 120, 1300, 3400, 3500, 3590]},
            "patience": "10m",
            "handle_time": "10m",
            "service_level": "30s",
        }
    },
    "agents": {"team": {"count": 1, "directories": ["sales"], "max_chats": 1}},
}


def test_service_level_wait_and_abandonment_per_interval_of_an_exact_timeline() -> None:
    run = ccsim.simulate(scenario_from_dict(EXACT), replications=2, seed=1)
    series = run.timeseries("15m")
    nan = float("nan")
    assert list(series["service_level"]["sales"]) == pytest.approx(
        [1 / 3, 1.0, nan, 1 / 2], nan_ok=True
    )
    assert list(series["wait_mean"]["sales"]) == pytest.approx([270.0, 0.0, nan, 0.0], nan_ok=True)
    assert list(series["abandon_rate"]["sales"]) == pytest.approx(
        [1 / 3, 0.0, nan, 0.0], nan_ok=True
    )
    # The same chats, the same pooled shares: both replications replay the instants.
    assert series["arrivals"]["sales"].tolist() == [3.0, 1.0, 0.0, 3.0]


def test_the_index_is_the_clock_and_labels_say_the_interval() -> None:
    from ccsim.timeseries import interval_labels

    run = ccsim.simulate(scenario_from_dict(EXACT), replications=1, seed=1)
    series = run.timeseries("20m")
    assert series.index[0] == pd.Timedelta(hours=8)
    assert interval_labels(series) == ["08:00–08:20", "08:20–08:40", "08:40–09:00"]
    late = scenario_from_dict({**EXACT, "start": "23:30"})
    series = ccsim.simulate(late, replications=1, seed=1).timeseries("20m")
    assert interval_labels(series) == [
        "day 1 23:30–23:50",
        "day 1 23:50–00:10",
        "day 2 00:10–00:30",
    ]
    assert series.index[-1] == pd.Timedelta(days=1, minutes=10)


def test_without_a_threshold_the_per_interval_service_level_is_unknown(
    results: ccsim.Results,
) -> None:
    from ccsim.timeseries import timeseries_from_tables

    frame = timeseries_from_tables(
        results.chats,
        results.agents,
        None,
        duration=results.scenario.duration,
        replications=results.replications,
        directories=["sales"],
        groups=["sales_team"],
        freq="30m",
    )
    assert frame["service_level"]["sales"].isna().all()
    assert frame["abandon_rate"]["sales"].notna().all()
    assert frame.index[0] == pd.Timedelta(0)


def test_labels_of_a_slice_end_where_its_last_interval_ends() -> None:
    from ccsim.timeseries import interval_labels

    series = ccsim.simulate(scenario_from_dict(EXACT), replications=1, seed=1).timeseries("15m")
    assert interval_labels(series)[-1] == "08:45–09:00"
    assert interval_labels(series.iloc[1:3]) == ["08:15–08:30", "08:30–08:45"]
    sales = {**EXACT["directories"]["sales"], "arrivals": {"times": [0, 60]}}
    data = {**EXACT, "duration": "50m", "directories": {"sales": sales}}
    shorter = ccsim.simulate(scenario_from_dict(data), replications=1, seed=1).timeseries("15m")
    assert interval_labels(shorter)[-1] == "08:45–08:50"  # the last interval is shorter


def test_ratio_interval_is_the_ratio_estimators_student_t_interval() -> None:
    from scipy.stats import t

    from ccsim.timeseries import ratio_interval

    numerator = np.array([[1.0, 2.0, 0.0], [3.0, 2.0, 0.0]])
    denominator = np.array([[2.0, 4.0, 0.0], [4.0, 4.0, 0.0]])
    mean, low, high = ratio_interval(numerator, denominator, 0.95)
    # Column 0: ratio 4/6; residuals -1/3 and 1/3; standard error (1/3) / 3 = 1/9.
    half = t.ppf(0.975, 1) / 9
    assert mean[0] == pytest.approx(2 / 3)
    assert (low[0], high[0]) == pytest.approx((2 / 3 - half, 2 / 3 + half))
    assert (mean[1], low[1], high[1]) == pytest.approx((0.5, 0.5, 0.5))  # no spread
    assert np.isnan([mean[2], low[2], high[2]]).all()  # no chats at all
    alone = ratio_interval(numerator[:1], denominator[:1], 0.95)
    assert alone[0][0] == 0.5 and np.isnan(alone[1][0])  # one replication: no interval


def test_per_interval_rates_get_intervals_on_request(results: ccsim.Results) -> None:
    exact = ccsim.simulate(scenario_from_dict(EXACT), replications=2, seed=1)
    series = exact.timeseries("15m", confidence=0.95)
    # Both replications replay the same instants: no spread, the interval is the mean.
    for name in ("service_level", "wait_mean", "abandon_rate"):
        mean = series[name]["sales"].to_numpy()
        low, high = series[f"{name}_ci_low"]["sales"], series[f"{name}_ci_high"]["sales"]
        assert np.allclose(low, mean, equal_nan=True) and np.allclose(high, mean, equal_nan=True)
    assert "service_level_ci_low" not in exact.timeseries("15m").columns.levels[0]
    noisy = results.timeseries("30m", confidence=0.9)["service_level"]["sales"]
    bands = results.timeseries("30m", confidence=0.9)
    low, high = bands["service_level_ci_low"]["sales"], bands["service_level_ci_high"]["sales"]
    assert ((low <= noisy + 1e-12) & (noisy <= high + 1e-12) & (low >= 0) & (high <= 1)).all()
    assert (high - low > 0).any()
    with pytest.raises(ValueError, match="confidence"):
        results.timeseries("30m", confidence=95)
