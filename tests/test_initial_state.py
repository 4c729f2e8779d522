"""Starting from now: chats waiting and held at time 0, from a snapshot or from the end of
another run, with exact timelines, metrics that say which chats were there, and bad
snapshots refused with their paths (exit 2)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from conftest import agent, chats, times
from typer.testing import CliRunner

from ccsim.api import simulate
from ccsim.cli import app
from ccsim.initial import InitialStateError, parse_initial, read_initial
from ccsim.model import EventKind, Outcome, run_replication
from ccsim.model.start import HeldChat, StartState, WaitingChat
from ccsim.results import replication_metrics
from ccsim.scenario import scenario_from_dict


def center(**extra: Any) -> dict[str, Any]:
    """One agent, one slot, constant handling: every instant can be worked out by hand."""
    data: dict[str, Any] = {
        "duration": 2000,
        "directories": {
            "sales": {"handle_time": 100, "patience": None},
            "support": {"handle_time": 100, "patience": None},
        },
        "agents": {"team": {"directories": ["sales", "support"], "count": 1, "max_chats": 1}},
    }
    data.update(extra)
    return data


def start(data: dict[str, Any], snapshot: dict[str, Any]) -> Any:
    scenario = scenario_from_dict(data)
    return run_replication(scenario, 0, start=parse_initial(snapshot, scenario))


def test_initial_queue_is_served_in_order_of_its_recorded_waits_at_exact_instants() -> None:
    records = start(
        center(),
        {
            "waiting": [
                {"directory": "sales", "waited": 30},
                {"directory": "support", "waited": "2m"},
                {"directory": "sales", "waited": 45},
                {"directory": "sales", "waited": 45},  # a tie keeps the order given
            ]
        },
    )
    rows = chats(records)
    # ids follow the order of service: longest wait first, whatever the directory
    assert [(c.directory, c.arrival, c.connect) for c in rows] == [
        ("support", -120.0, 0.0),
        ("sales", -45.0, 100.0),
        ("sales", -45.0, 200.0),
        ("sales", -30.0, 300.0),
    ]
    assert [c.end for c in rows] == [100.0, 200.0, 300.0, 400.0]
    metrics = replication_metrics(records, {"sales": 60, "support": 60})
    # the time already waited counts in the waits: 120, 145, 245, 330
    assert metrics.overall["wait_mean"] == pytest.approx((120 + 145 + 245 + 330) / 4)
    assert metrics.overall["initial_chats"] == 4
    assert metrics.directories["sales"]["initial_chats"] == 3


def test_held_chat_finishes_at_its_work_left_and_frees_the_slot_at_that_instant() -> None:
    data = center()
    data["directories"]["sales"]["wrap_up"] = 10
    data["directories"]["sales"]["arrivals"] = {"times": [5]}
    records = start(
        data,
        {
            "held": [{"group": "team", "member": 0, "directory": "sales", "work_left": 40}],
            "waiting": [{"directory": "support", "waited": 0}],
        },
    )
    held, waiting, arrived = chats(records)[1], chats(records)[0], chats(records)[2]
    assert (held.arrival, held.connect, held.end) == (
        pytest.approx(math.nan, nan_ok=True),
        0.0,
        40.0,
    )
    assert held.outcome is Outcome.COMPLETED
    a = agent(records, "team")
    assert times(records, EventKind.WRAP_UP_END, agent=a)[0] == 50.0  # wrap-up owed, 10s
    # the queue: the initial chat first (queued before the arrival at 5), then the arrival
    assert (waiting.connect, arrived.connect) == (50.0, 150.0)
    metrics = replication_metrics(records, {"sales": 60, "support": 60})
    assert metrics.overall["offered"] == 2  # the held chat was answered before the run
    assert metrics.overall["initial_chats"] == 1
    assert metrics.overall["utilization"] > 0


def test_agents_off_shift_at_the_start_finish_their_held_chats_closing() -> None:
    data = center()
    data["agents"]["team"] = {
        "directories": ["sales"],
        "max_chats": 2,
        "shifts": [{"from": 500, "to": 1000, "count": 1}],
    }
    records = start(data, {"held": [{"group": "team", "member": 0, "work_left": 60}]})
    a = agent(records, "team")
    assert times(records, EventKind.LEAVE, agent=a) == [60.0]
    rows = [
        (records.interval_start[i], records.interval_end[i], records.interval_state[i])
        for i in range(len(records.interval_agent))
        if records.interval_agent[i] == a
    ]
    assert rows[0] == (0.0, 60.0, 2)  # CLOSING while finishing, then offline until 500


def test_waited_time_counts_toward_patience() -> None:
    data = center()
    data["directories"]["sales"]["patience"] = 100
    records = start(
        data,
        {
            "held": [{"group": "team", "member": 0, "directory": "sales", "work_left": 1000}],
            "waiting": [
                {"directory": "sales", "waited": 30},  # 70s of patience left
                {"directory": "sales", "waited": 120},  # a constant 100s: already used up
            ],
        },
    )
    by_id = {c.id: c for c in chats(records)}
    assert (by_id[0].outcome, by_id[0].end) == (Outcome.ABANDONED, 0.0)
    assert (by_id[1].outcome, by_id[1].end) == (Outcome.ABANDONED, 70.0)


def test_regular_arrivals_draw_as_without_an_initial_state() -> None:
    data = center()
    data["directories"]["sales"]["arrivals"] = "30/h"
    data["directories"]["sales"]["handle_time"] = {"dist": "exponential", "mean": 90}
    scenario = scenario_from_dict(data)
    plain = run_replication(scenario, 3)
    snapshot = {"waiting": [{"directory": "sales", "waited": 10, "count": 5}]}
    started = run_replication(scenario, 3, start=parse_initial(snapshot, scenario))
    regular = sorted(
        t for c, t in zip(started.chat_id, started.chat_arrival, strict=True) if c >= 5
    )
    assert regular == sorted(plain.chat_arrival)  # the same customers, the same instants
    assert len(regular) > 10


def test_tallies_give_the_same_metrics_from_an_initial_state() -> None:
    data = center()
    data["directories"]["sales"]["arrivals"] = "40/h"
    scenario = scenario_from_dict(data)
    state = parse_initial(
        {
            "waiting": [{"directory": "sales", "waited": "3m", "count": 4}],
            "held": [{"group": "team", "count": 1, "work_left": 20, "directory": "sales"}],
        },
        scenario,
    )
    thresholds = {"sales": 60, "support": 60}
    full = replication_metrics(run_replication(scenario, 0, start=state), thresholds)
    tallied = replication_metrics(
        run_replication(scenario, 0, tables=False, start=state), thresholds
    )
    for name in ("offered", "answered", "wait_mean", "initial_chats", "utilization"):
        assert tallied.overall[name] == pytest.approx(full.overall[name], nan_ok=True), name


def test_warmup_leaves_the_initial_chats_out_of_the_metrics() -> None:
    records = start(center(warmup=10), {"waiting": [{"directory": "sales", "waited": 5}]})
    metrics = replication_metrics(records, {"sales": 60, "support": 60})
    assert metrics.overall["offered"] == 0 and metrics.overall["initial_chats"] == 0


def test_simulate_takes_a_state_a_list_a_mapping_or_a_path(tmp_path: Path) -> None:
    scenario = scenario_from_dict(center(replications=2))
    one = StartState(waiting=(WaitingChat("sales", 10.0),))
    two = StartState(held=(HeldChat("team", 0, "sales", 30.0),))
    by_list = simulate(scenario, initial=[one, two])
    assert list(by_list.chats.groupby("replication")["initial"].sum()) == [1, 1]
    assert by_list.chats.loc[by_list.chats["replication"] == 1, "end"].tolist() == [30.0]
    path = tmp_path / "now.json"
    path.write_text(json.dumps({"waiting": [{"directory": "sales", "waited": "1m"}]}))
    from_file = simulate(scenario, initial=path)
    assert from_file.chats["wait"].tolist() == [60.0, 60.0]
    from_mapping = simulate(scenario, initial={"waiting": [{"directory": "sales", "waited": 60}]})
    assert from_mapping.chats["wait"].tolist() == [60.0, 60.0]
    with pytest.raises(InitialStateError, match=r"waiting\.0\.directory: unknown directory"):
        simulate(scenario, initial={"waiting": [{"directory": "nope"}]})


def test_end_state_of_a_run_is_the_initial_state_of_the_next(tmp_path: Path) -> None:
    data = center(duration=250)
    data["directories"]["sales"]["arrivals"] = {"times": [10, 20, 30]}
    (tmp_path / "s.yaml").write_text(json.dumps(data))
    runner = CliRunner()
    first = runner.invoke(app, ["run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    # chat 0 connected at 10 ends at 110, chat 1 at 210, chat 2 connected at 210: at 250
    # it has 60s to go; nobody waits.
    state = json.loads((tmp_path / "a" / "end_state.json").read_text())
    assert state["replications"] == [
        {
            "waiting": [],
            "held": [{"group": "team", "member": 0, "directory": "sales", "work_left": 60.0}],
        }
    ]
    (tmp_path / "s.yaml").write_text(json.dumps(center(duration=250)))
    (scenario,) = [scenario_from_dict(center(duration=250))]
    (resumed,) = read_initial(tmp_path / "a", scenario)
    assert resumed.held == (HeldChat("team", 0, "sales", 60.0),)
    second = runner.invoke(
        app,
        [
            "run",
            str(tmp_path / "s.yaml"),
            "--initial",
            str(tmp_path / "a"),
            "--out",
            str(tmp_path / "b"),
        ],
    )
    assert second.exit_code == 0, second.output
    ends = json.loads((tmp_path / "b" / "summary.json").read_text())["metrics"]
    assert ends["utilization"]["mean"] == pytest.approx(60 / 250)
    # the input folder is never what --out replaces
    third = runner.invoke(
        app,
        [
            "run",
            str(tmp_path / "s.yaml"),
            "--initial",
            str(tmp_path / "b"),
            "--out",
            str(tmp_path / "b"),
            "--force",
        ],
    )
    assert third.exit_code == 2


BAD = [
    ({"waiting": [{"directory": "salse", "waited": 5}]}, "waiting.0.directory: unknown directory"),
    ({"waiting": [{"directory": "sales", "waited": -5}]}, "waiting.0.waited: must not be negative"),
    (
        {"held": [{"group": "team", "member": 0, "work_left": "-1m", "directory": "sales"}]},
        "held.0.work_left: must not be negative",
    ),
    (
        {"held": [{"group": "team", "member": 3, "work_left": 5, "directory": "sales"}]},
        "held.0.member: group 'team' has 1 agent",
    ),
    (
        {"held": [{"group": "team", "count": 2, "work_left": 5, "directory": "sales"}]},
        "held.0.count: 2 chats, more than the 1 free slot",
    ),
    (
        {"held": [{"group": "team", "member": 0, "work_left": 5, "directory": "sales"}] * 2},
        "held.1: member 0 of 'team' would hold 2 chats, more than its 1 slots",
    ),
    ({"held": [{"group": "team", "member": 0, "work_left": 5}]}, "held.0.directory: required"),
    (
        {"held": [{"group": "tema", "member": 0, "work_left": 5}]},
        "held.0.group: unknown agent group 'tema' (did you mean 'team'?)",
    ),
    ({"held": [{"group": "team", "member": 0}]}, "held.0.work_left: required key is missing"),
    (
        {"waiting": [{"directory": "sales", "wated": 5}]},
        "waiting.0.wated: unknown key (did you mean 'waited'?)",
    ),
    ({"waitng": []}, "waitng: unknown key (did you mean 'waiting'?)"),
    ({"waiting": {"directory": "sales"}}, "waiting: must be a list"),
    ({"waiting": [{"directory": "sales", "count": 2_000_000}]}, "waiting.0.count"),
]


@pytest.mark.parametrize(("snapshot", "message"), BAD)
def test_bad_snapshots_exit_2_with_the_path(
    tmp_path: Path, snapshot: dict[str, Any], message: str
) -> None:
    (tmp_path / "s.yaml").write_text(json.dumps(center()))
    (tmp_path / "now.json").write_text(json.dumps(snapshot))
    result = CliRunner().invoke(
        app, ["run", str(tmp_path / "s.yaml"), "--initial", str(tmp_path / "now.json")]
    )
    assert result.exit_code == 2
    assert message in result.output, result.output
    assert "Traceback" not in result.output


def test_every_problem_of_a_snapshot_in_one_report() -> None:
    scenario = scenario_from_dict(center())
    with pytest.raises(InitialStateError) as caught:
        parse_initial(
            {
                "waiting": [{"directory": "x"}, {"directory": "sales", "waited": -1}],
                "held": [{"group": "y", "member": 0, "work_left": 1}],
            },
            scenario,
        )
    assert [line.split(":")[0] for line in caught.value.problems] == [
        "waiting.1.waited",
        "waiting.0.directory",
        "held.0.group",
    ]


def test_a_results_folder_without_an_end_state_and_bad_files_are_refused(tmp_path: Path) -> None:
    scenario = scenario_from_dict(center())
    (tmp_path / "empty").mkdir()
    with pytest.raises(InitialStateError, match=r"without end_state\.json"):
        read_initial(tmp_path / "empty", scenario)
    (tmp_path / "bad.yaml").write_text("waiting: [1, 2\n")
    with pytest.raises(InitialStateError, match="malformed YAML"):
        read_initial(tmp_path / "bad.yaml", scenario)
    (tmp_path / "list.yaml").write_text("- 1\n")
    with pytest.raises(InitialStateError, match="must be a mapping"):
        read_initial(tmp_path / "list.yaml", scenario)


def test_an_initial_state_gives_the_same_numbers_in_a_process_pool() -> None:
    data = center(replications=3)
    data["directories"]["sales"]["arrivals"] = "40/h"
    data["directories"]["sales"]["handle_time"] = {"dist": "exponential", "mean": 80}
    scenario = scenario_from_dict(data)
    snapshot = {
        "waiting": [{"directory": "sales", "waited": "2m", "count": 3}],
        "held": [{"group": "team", "member": 0, "directory": "sales", "work_left": 30}],
    }
    serial = simulate(scenario, initial=snapshot)
    pooled = simulate(scenario, initial=snapshot, workers=2)
    assert serial.per_replication().equals(pooled.per_replication())
    assert (
        serial.per_replication()
        .query("metric == 'initial_chats' and scope == 'overall'")["value"]
        .tolist()
        == [3.0] * 3
    )


def test_end_state_work_left_is_at_normal_speed_with_a_slowdown() -> None:
    data = {
        "duration": 50,
        "directories": {"d": {"handle_time": 100, "arrivals": {"times": [0, 0, 10]}}},
        "agents": {"t": {"directories": ["d"], "count": 1, "max_chats": 2, "slowdown": [1, 2]}},
    }
    scenario = scenario_from_dict(data)
    records = run_replication(scenario)
    # two chats at half speed since 0: 25 of their 100 done at 50; the third waits 40s
    assert records.end_held == [(0, 0, 0, 75.0), (0, 0, 0, 75.0)]
    assert records.end_waiting == [(0, 40.0)]
    state = StartState(held=(HeldChat("t", 0, "d", 75.0), HeldChat("t", 0, "d", 75.0)))
    resumed = run_replication(scenario_from_dict({**data, "duration": 500}), start=state)
    assert sorted(resumed.chat_end)[:2] == [150.0, 150.0]  # at half speed again
