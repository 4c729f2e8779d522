"""The interaction log (docs/log-format.md): ``run --log`` writes it, ``read_log`` reads it
back (also a user's export through a column map) and refuses bad logs with row numbers.

The round trip uses an exact timeline (constant times, explicit arrival instants) so that
every timestamp and outcome below is known by hand.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from ccsim.api import simulate
from ccsim.cli import app
from ccsim.data import log_write
from ccsim.data.log import ColumnMap, LogError, column_map_from_options, read_log
from ccsim.data.log_write import log_of_results, write_log
from ccsim.model import EventKind
from ccsim.scenario import scenario_from_dict

runner = CliRunner()

# d: one agent (a-1, one chat at a time, wrap-up 5 s), patience 50 s; every chat is sent
# warm to x after 60 s; x: one agent (gx-1), patience 5 s.
#   chat 0 arrives 10, answered at once, transferred at 70, gx-1 connects 70, done 170.
#   chat 1 arrives 20, a-1 busy until 75 (wrap-up): abandons at 70.
#   chat 2 arrives 100, answered at once, transferred at 160, gx-1 busy until 170:
#   abandons in x at 165 (a-1 still connected: its leg ends abandoned).
EXACT = {
    "name": "exact",
    "duration": 1000,
    "start": "08:00",
    "directories": {
        "d": {
            "arrivals": {"times": [10, 20, 100]},
            "handle_time": 300,
            "patience": 50,
            "wrap_up": 5,
        },
        "x": {"handle_time": 100, "patience": 5},
    },
    "agents": {
        "a": {"count": 1, "directories": ["d"], "max_chats": 1},
        "gx": {"count": 1, "directories": ["x"], "max_chats": 1},
    },
    "transfers": [
        {
            "from": "d",
            "to": {"directory": "x"},
            "probability": 1,
            "at": 60,
            "leave": "on_connect",
        }
    ],
}


def at(seconds: float, day: int = 5) -> pd.Timestamp:
    return pd.Timestamp(2026, 1, day, 8) + pd.Timedelta(seconds=seconds)


def exact_results(replications: int = 1) -> Any:
    return simulate(scenario_from_dict(EXACT), replications=replications, record_events=True)


@pytest.fixture(scope="module")
def exact_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("logs") / "exact"
    write_log(exact_results(2), path)
    return path


def test_round_trip_chats_exact_timestamps_and_outcomes(exact_log: Path) -> None:
    log = read_log(exact_log)
    day1 = log.chats[log.chats["chat_id"].str.startswith("20260105-")]
    assert list(day1["chat_id"]) == ["20260105-0", "20260105-1", "20260105-2"]
    assert list(day1["directory"]) == ["d", "d", "d"]
    assert list(day1["arrival"]) == [at(10), at(20), at(100)]
    assert list(day1["first_answer"].fillna(pd.NaT)) == [at(10), pd.NaT, at(100)]
    assert list(day1["end"]) == [at(170), at(70), at(165)]
    assert list(day1["outcome"]) == ["completed", "abandoned", "abandoned_in_transfer"]
    # replication 1 is the next day, the same timeline (constant times)
    day2 = log.chats[log.chats["chat_id"].str.startswith("20260106-")]
    assert list(day2["end"]) == [at(170, 6), at(70, 6), at(165, 6)]


def test_round_trip_legs_of_a_warm_transfer_and_of_abandons(exact_log: Path) -> None:
    legs = read_log(exact_log).legs
    day1 = legs[legs["chat_id"].str.startswith("20260105-")]
    rows = [
        tuple(None if pd.isna(v) else v for v in row)
        for row in day1.drop(columns=["chat_id"]).itertuples(index=False)
    ]
    n = None
    assert rows == [
        # chat 0: queue d, a-1 warm-transfers to x, queue x, gx-1 completes
        (1, "queue", "d", n, n, at(10), at(10), "answered", n, n, n, n),
        (2, "agent", "d", "a-1", "a", at(10), at(70), "left_after_transfer", "directory", "x", "warm", at(75)),  # noqa: E501
        (3, "queue", "x", n, n, at(70), at(70), "answered", n, n, n, n),
        (4, "agent", "x", "gx-1", "gx", at(70), at(170), "completed", n, n, n, n),
        # chat 1: abandons in its first queue
        (1, "queue", "d", n, n, at(20), at(70), "abandoned", n, n, n, n),
        # chat 2: abandons while queued in x; the waiting inviter's leg ends abandoned
        (1, "queue", "d", n, n, at(100), at(100), "answered", n, n, n, n),
        (2, "agent", "d", "a-1", "a", at(100), at(165), "abandoned", "directory", "x", "warm", at(170)),  # noqa: E501
        (3, "queue", "x", n, n, at(160), at(165), "abandoned", n, n, n, n),
    ]  # fmt: skip
    assert list(day1.loc[:, "chat_id"].iloc[[0, 4, 5]]) == [
        "20260105-0",
        "20260105-1",
        "20260105-2",
    ]


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Values as objects, every missing value None (pandas spells it NaN, NaT or None)."""
    frame = frame.reset_index(drop=True).astype(object)
    return frame.where(frame.notna(), None)


def test_round_trip_equals_the_log_in_memory_csv_and_parquet(tmp_path: Path) -> None:
    results = exact_results(2)
    memory = log_of_results(results)
    for fmt in ("csv", "parquet"):
        write_log(results, tmp_path / fmt, fmt=fmt)
        back = read_log(tmp_path / fmt)
        for table in ("chats", "legs", "agent_states"):
            pd.testing.assert_frame_equal(
                plain(getattr(back, table)), plain(getattr(memory, table))
            )
    assert (tmp_path / "parquet" / "chats.parquet").exists()
    assert (tmp_path / "csv" / "log.json").exists()


def test_agent_states_cover_the_day_from_the_clock_start(exact_log: Path) -> None:
    states = read_log(exact_log).agent_states
    first = states[states["start"] < pd.Timestamp(2026, 1, 6)]
    assert list(first["agent_id"]) == ["a-1", "gx-1"]
    assert list(first["state"]) == ["ready", "ready"]
    assert list(first["start"]) == [at(0), at(0)]
    assert list(first["end"]) == [at(1000), at(1000)]


def test_log_date_and_clock_start_default_to_midnight(tmp_path: Path) -> None:
    data = {k: v for k, v in EXACT.items() if k != "start"}
    results = simulate(scenario_from_dict(data), replications=1, record_events=True)
    log = log_of_results(results, start_date=dt.date(2025, 3, 3))
    assert log.chats["arrival"].iloc[0] == pd.Timestamp(2025, 3, 3, 0, 0, 10)
    assert log.chats["chat_id"].iloc[0] == "20250303-0"


def test_conference_invitee_leaves_conference_left_inviter_keeps_the_chat() -> None:
    data = {
        "duration": 1000,
        "directories": {"d": {"arrivals": {"times": [10]}, "handle_time": 300}},
        "agents": {
            "a": {"count": 1, "directories": ["d"]},
            "sup": {"count": 1, "directories": []},
        },
        "transfers": [
            {
                "from": "d",
                "to": {"group": "sup"},
                "kind": "conference",
                "probability": 1,
                "at": 60,
                "duration": 30,
            }
        ],
    }
    results = simulate(scenario_from_dict(data), replications=1, record_events=True)
    legs = log_of_results(results).legs
    agent = legs[legs["kind"] == "agent"].set_index("agent_id")
    t = pd.Timestamp(2026, 1, 5)
    s = pd.Timedelta(seconds=1)
    assert agent.loc["a-1", "ended_by"] == "completed"
    assert (agent.loc["a-1", "target_kind"], agent.loc["a-1", "target"]) == ("group", "sup")
    assert agent.loc["a-1", "mode"] == "conference"
    assert (agent.loc["a-1", "start"], agent.loc["a-1", "end"]) == (
        t + 10 * s,
        t + 340 * s,
    )  # work waits for the conference
    assert agent.loc["sup-1", "ended_by"] == "conference_left"
    assert (agent.loc["sup-1", "start"], agent.loc["sup-1", "end"]) == (t + 70 * s, t + 100 * s)


def test_cold_transfer_requester_leaves_transferred() -> None:
    data = {**EXACT, "directories": {**EXACT["directories"]}}
    data["transfers"] = [{**EXACT["transfers"][0], "leave": "immediately"}]
    data["directories"] = {
        "d": {"arrivals": {"times": [10]}, "handle_time": 300},
        "x": {"handle_time": 100},
    }
    data["agents"] = {
        "a": {"count": 1, "directories": ["d"]},
        "gx": {"shifts": [{"from": 100, "to": 1000, "count": 1}], "directories": ["x"]},
    }
    results = simulate(scenario_from_dict(data), replications=1, record_events=True)
    legs = log_of_results(results).legs
    requester = legs[legs["agent_id"] == "a-1"].iloc[0]
    assert requester["ended_by"] == "transferred"
    assert requester["mode"] == "cold"
    assert requester["end"] == at(70)
    queue_x = legs[(legs["kind"] == "queue") & (legs["directory"] == "x")].iloc[0]
    assert (queue_x["start"], queue_x["end"], queue_x["ended_by"]) == (at(70), at(100), "answered")
    states = log_of_results(results).agent_states
    gx = states[states["agent_id"] == "gx-1"]
    assert list(gx["state"]) == ["offline", "ready"]
    assert list(gx["end"]) == [at(100), at(1000)]


def test_random_wrap_ups_match_the_models_wrap_up_end_events(monkeypatch) -> None:
    data = {
        "duration": 3600,
        "seed": 3,
        "directories": {
            "d": {
                "arrivals": "120/h",
                "handle_time": {"dist": "exponential", "mean": 120},
                "wrap_up": {"dist": "exponential", "mean": 60},
            }
        },
        "agents": {"a": {"count": 3, "directories": ["d"], "max_chats": 3}},
    }
    results = simulate(scenario_from_dict(data), replications=1, record_events=True)
    replayed = []
    original = log_write._attach_wrap_ups
    monkeypatch.setattr(
        log_write, "_attach_wrap_ups", lambda *a: replayed.append(original(*a)) or replayed[-1]
    )
    legs = log_of_results(results).legs
    assert replayed == [True]  # the draws were replayed, not matched first-in-first-out
    events = results.events
    wrap_events = events[events["event"] == EventKind.WRAP_UP_END.name.lower()]
    assert len(wrap_events) > 50
    logged = legs.dropna(subset=["wrap_up_end"])
    t0 = pd.Timestamp(2026, 1, 5)
    got = Counter(((w - t0).total_seconds()).__round__(3) for w in logged["wrap_up_end"])
    want = Counter(round(t, 3) for t in wrap_events["time"])
    assert got == want
    assert (logged["wrap_up_end"] >= logged["end"]).all()
    # overlapping wrap-ups of one agent exist, so first-in-first-out would not do
    assert not logged.sort_values("end")["wrap_up_end"].is_monotonic_increasing


def test_retail_log_is_consistent_with_the_rules(tmp_path: Path) -> None:
    """Properties of a real mix: declined alerts last the no-answer timeout (or less, when
    withdrawn at a shift end); every chat has a queue leg first; agent legs have agents."""
    from ccsim.scenario import load_scenario

    scenario = load_scenario(Path(__file__).parent.parent / "scenarios" / "retail.yaml")
    log = log_of_results(simulate(scenario, replications=1, record_events=True))
    legs, chats = log.legs, log.chats
    declined = legs[(legs["ended_by"] == "declined") & (legs["group"] != "supervisors")]
    assert len(declined) > 10  # offers; a supervisor's invitation may consult first
    assert ((declined["end"] - declined["start"]).dt.total_seconds() <= 10 + 1e-3).all()
    first = legs[legs["leg"] == 1]
    assert (first["kind"] == "queue").all()
    assert set(first["chat_id"]) == set(chats["chat_id"])
    answered = chats.dropna(subset=["first_answer"]).set_index("chat_id")
    first_agent = legs[(legs["kind"] == "agent") & (legs["ended_by"] != "declined")]
    first_agent = first_agent.groupby("chat_id")["start"].min()
    assert (first_agent.loc[answered.index] == answered["first_answer"]).all()
    assert set(legs["ended_by"]) >= {"answered", "completed", "left_after_transfer", "declined"}
    assert (legs.loc[legs["kind"] == "agent", "agent_id"].notna()).all()
    conference = legs[legs["mode"] == "conference"]
    assert (conference["target"] == "supervisors").all()


# --------------------------------------------------------------------------- the CLI


def test_run_log_writes_a_log_and_refuses_a_folder_of_other_files(tmp_path: Path) -> None:
    scenario = tmp_path / "exact.yaml"
    import yaml

    scenario.write_text(yaml.safe_dump(EXACT))
    result = runner.invoke(
        app,
        ["run", str(scenario), "-n", "2", "--quiet", "--log", str(tmp_path / "log"),
         "--log-date", "2026-02-02"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    log = read_log(tmp_path / "log")
    assert log.chats["arrival"].iloc[0] == pd.Timestamp(2026, 2, 2, 8, 0, 10)
    assert sorted({d.isoformat() for d in log.days}) == ["2026-02-02", "2026-02-03"]
    again = runner.invoke(app, ["run", str(scenario), "--quiet", "--log", str(tmp_path / "log")])
    assert again.exit_code == 2 and "--force" in again.output
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine")
    refused = runner.invoke(app, ["run", str(scenario), "--quiet", "--log", str(theirs)])
    assert refused.exit_code == 2
    assert (theirs / "notes.txt").read_text() == "mine"
    bad_date = runner.invoke(
        app, ["run", str(scenario), "--log", str(tmp_path / "l2"), "--log-date", "5 Jan"]
    )
    assert bad_date.exit_code == 2 and not (tmp_path / "l2").exists()


# --------------------------------------------------------------------------- bad logs


def write_csv(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.csv").write_text(text)


CHATS = (
    "chat_id,directory,arrival,first_answer,end,outcome\n"
    "c1,d,2026-01-05T08:00:00,2026-01-05T08:00:05,2026-01-05T08:05:00,completed\n"
    "c2,d,2026-01-05T08:01:00,,2026-01-05T08:02:00,abandoned\n"
)
LEGS = (
    "chat_id,leg,kind,directory,agent_id,group,start,end,ended_by,target_kind,target,mode,"
    "wrap_up_end\n"
    "c1,1,queue,d,,,2026-01-05T08:00:00,2026-01-05T08:00:05,answered,,,,\n"
    "c1,2,agent,d,a-1,a,2026-01-05T08:00:05,2026-01-05T08:05:00,completed,,,,\n"
    "c2,1,queue,d,,,2026-01-05T08:01:00,2026-01-05T08:02:00,abandoned,,,,\n"
)


def bad_log(tmp_path: Path, chats: str = CHATS, legs: str = LEGS) -> list[str]:
    folder = tmp_path / "bad"
    write_csv(folder, "chats", chats)
    write_csv(folder, "legs", legs)
    with pytest.raises(LogError) as caught:
        read_log(folder)
    return [str(p) for p in caught.value.problems]


def test_a_good_small_log_reads(tmp_path: Path) -> None:
    write_csv(tmp_path / "ok", "chats", CHATS)
    write_csv(tmp_path / "ok", "legs", LEGS)
    log = read_log(tmp_path / "ok")
    assert list(log.chats["chat_id"]) == ["c1", "c2"]
    assert log.legs["leg"].dtype == "int64"
    assert log.agent_states.empty and list(log.agent_states.columns) == [
        "agent_id", "group", "state", "start", "end",
    ]  # fmt: skip


def test_bad_log_missing_required_columns_named_in_one_round(tmp_path: Path) -> None:
    chats = CHATS.replace("arrival,", "created,").replace(",outcome", ",result")
    problems = bad_log(tmp_path, chats=chats)
    assert "chats.csv column arrival: missing required column" in problems
    assert "chats.csv column outcome: missing required column" in problems


def test_bad_log_unparseable_time_with_row_number(tmp_path: Path) -> None:
    chats = CHATS.replace("2026-01-05T08:01:00", "yesterday")
    problems = bad_log(tmp_path, chats=chats)
    assert problems == [
        "chats.csv row 2, column arrival: not an ISO-8601 date-time (2026-01-05T08:00:12)"
    ]


def test_bad_log_end_before_start_with_row_number(tmp_path: Path) -> None:
    legs = LEGS.replace(
        "2026-01-05T08:00:05,2026-01-05T08:05:00,completed",
        "2026-01-05T08:00:05,2026-01-05T08:00:01,completed",
    )
    problems = bad_log(tmp_path, legs=legs)
    assert problems == ["legs.csv row 2, column end: before the leg's start"]


def test_bad_log_chat_end_before_arrival(tmp_path: Path) -> None:
    chats = CHATS.replace(",2026-01-05T08:02:00,abandoned", ",2026-01-05T07:00:00,abandoned")
    assert bad_log(tmp_path, chats=chats) == [
        "chats.csv row 2, column end: before the chat's arrival"
    ]


def test_bad_log_legs_of_unknown_chats(tmp_path: Path) -> None:
    legs = LEGS + "c9,1,queue,d,,,2026-01-05T08:03:00,2026-01-05T08:04:00,abandoned,,,,\n"
    problems = bad_log(tmp_path, legs=legs)
    assert problems == ["legs.csv row 4, column chat_id: a chat that is not in the chats table"]


def test_bad_log_unknown_outcome_value(tmp_path: Path) -> None:
    chats = CHATS.replace(",completed\n", ",resolved\n")
    problems = bad_log(tmp_path, chats=chats)
    assert problems == [
        "chats.csv row 1, column outcome: not one of completed, abandoned, "
        "abandoned_in_transfer, open"
    ]


def test_bad_log_duplicate_chat_ids(tmp_path: Path) -> None:
    chats = CHATS.replace("c2,d,", "c1,d,")
    problems = bad_log(tmp_path, chats=chats)
    assert "chats.csv row 2, column chat_id: duplicate chat id" in problems


def test_bad_log_duplicate_leg_number_and_bad_ended_by(tmp_path: Path) -> None:
    legs = LEGS.replace("c1,2,agent", "c1,1,agent").replace("completed,,,,", "answered,,,,")
    problems = bad_log(tmp_path, legs=legs)
    assert "legs.csv row 2, column leg: duplicate leg number within its chat" in problems
    assert (
        "legs.csv row 2, column ended_by: not how an agent leg ends (answered is for queue legs)"
        in problems
    )


def test_bad_log_missing_table_and_both_formats(tmp_path: Path) -> None:
    folder = tmp_path / "half"
    write_csv(folder, "chats", CHATS)
    (folder / "chats.parquet").write_bytes(b"PAR1")
    with pytest.raises(LogError) as caught:
        read_log(folder)
    text = [str(p) for p in caught.value.problems]
    assert any("both chats.csv and chats.parquet" in t for t in text)
    assert any(t.startswith("legs.csv: missing") for t in text)


def test_bad_log_many_bad_rows_are_listed_then_counted(tmp_path: Path) -> None:
    rows = "".join(f"c{i},d,never,,,open\n" for i in range(3, 30))
    problems = bad_log(tmp_path, chats=CHATS + rows)
    assert len([p for p in problems if " row " in p.split(":")[0]]) == 5
    assert problems[-1].endswith("(also on 22 more rows)")


def test_bad_log_overlapping_agent_states(tmp_path: Path) -> None:
    folder = tmp_path / "states"
    write_csv(folder, "chats", CHATS)
    write_csv(folder, "legs", LEGS)
    write_csv(
        folder,
        "agent_states",
        "agent_id,group,state,start,end\n"
        "a-1,a,ready,2026-01-05T08:00:00,2026-01-05T09:00:00\n"
        "a-1,a,away,2026-01-05T08:30:00,2026-01-05T10:00:00\n",
    )
    with pytest.raises(LogError) as caught:
        read_log(folder)
    assert [str(p) for p in caught.value.problems] == [
        "agent_states.csv row 2, column state: not one of ready, not_ready, offline",
        "agent_states.csv row 2, column start: overlaps the agent's previous period",
    ]


def test_bad_log_binary_and_special_files_refused_without_hanging(tmp_path: Path) -> None:
    import os

    folder = tmp_path / "special"
    folder.mkdir()
    (folder / "chats.csv").write_bytes(b"\x00\x01binary")
    os.mkfifo(folder / "legs.csv")
    with pytest.raises(LogError) as caught:
        read_log(folder)
    text = [str(p) for p in caught.value.problems]
    assert "chats.csv: is a binary file, not a CSV table" in text
    assert any(t.startswith("legs.csv: is a named pipe") for t in text)


# --------------------------------------------------------------------------- column map


EXPORT_CHATS = (
    "conversation_id,queue,created_at,answered_at,closed_at,status\n"
    "c1,d,2026-01-05T08:00:00Z,2026-01-05T08:00:05Z,2026-01-05T08:05:00Z,resolved\n"
    "c2,d,2026-01-05T08:01:00+01:00,,2026-01-05T08:02:00+01:00,missed\n"
)


def test_column_map_from_options_reads_an_export_with_other_names(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    write_csv(folder, "conversations", EXPORT_CHATS)
    write_csv(folder, "legs", LEGS.replace("chat_id,", "conversation_id,", 1))
    map_file = tmp_path / "map.yaml"
    map_file.write_text(
        "files: {chats: conversations.csv}\n"
        "columns: {directory: queue, chats.first_answer: answered_at}\n"
        "values:\n  outcome: {resolved: completed, missed: abandoned}\n"
    )
    column_map = column_map_from_options(
        ["chat_id=conversation_id", "arrival=created_at", "chats.end=closed_at",
         "outcome=status", "legs.directory=directory"],
        map_file,
    )  # fmt: skip
    log = read_log(folder, column_map)
    assert list(log.chats["outcome"]) == ["completed", "abandoned"]
    # a zone suffix is dropped: local wall-clock time
    assert list(log.chats["arrival"]) == [
        pd.Timestamp(2026, 1, 5, 8),
        pd.Timestamp(2026, 1, 5, 8, 1),
    ]
    assert list(log.legs["directory"]) == ["d", "d", "d"]


def test_column_map_names_the_exports_column_when_it_is_missing(tmp_path: Path) -> None:
    write_csv(tmp_path / "m", "chats", CHATS)
    write_csv(tmp_path / "m", "legs", LEGS)
    with pytest.raises(LogError) as caught:
        read_log(tmp_path / "m", {"arrival": "created_at"})
    assert [str(p) for p in caught.value.problems] == [
        "chats.csv column arrival: missing required column (mapped to the export's column "
        "'created_at')"
    ]


def test_column_map_refuses_unknown_columns_values_and_paths(tmp_path: Path) -> None:
    with pytest.raises(LogError) as caught:
        column_map_from_options(["arival=created_at", "nonsense"])
    text = " ".join(str(p) for p in caught.value.problems)
    assert "arival: not a column of the log format" in text
    assert "give COLUMN=NAME" in text
    with pytest.raises(Exception, match="not one of"):
        ColumnMap(values={"outcome": {"ok": "fine"}})
    with pytest.raises(Exception, match="not a path"):
        ColumnMap(files={"chats": "../elsewhere.csv"})


def test_backtest_cli_bad_log_exits_2_with_rows_and_writes_nothing(tmp_path: Path) -> None:
    import yaml

    scenario = tmp_path / "exact.yaml"
    scenario.write_text(yaml.safe_dump(EXACT))
    folder = tmp_path / "bad"
    write_csv(folder, "chats", CHATS.replace("2026-01-05T08:01:00", "soon"))
    write_csv(folder, "legs", LEGS + "zz,1,queue,d,,,2026-01-05T08:03:00,,open,,,,\n")
    result = runner.invoke(
        app,
        ["backtest", str(scenario), str(folder), "--out", str(tmp_path / "out"),
         "--report", str(tmp_path / "bt.html")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "chats.csv row 2, column arrival" in result.output
    assert "legs.csv row 4, column chat_id" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists() and not (tmp_path / "bt.html").exists()


@pytest.mark.skipif(not hasattr(EventKind, "BALK"), reason="the model has no balking")
def test_a_balking_chat_has_a_queue_leg_of_no_length_ended_abandoned() -> None:
    data = {
        "duration": 1000,
        "directories": {
            "d": {"arrivals": {"times": [10, 20]}, "handle_time": 300, "balk": {"probability": 1}}
        },
        "agents": {"a": {"count": 1, "directories": ["d"], "max_chats": 1}},
    }
    log = log_of_results(simulate(scenario_from_dict(data), replications=1, record_events=True))
    balked = log.legs[log.legs["chat_id"] == "20260105-1"]
    t = pd.Timestamp(2026, 1, 5, 0, 0, 20)
    assert balked[["leg", "kind", "start", "end", "ended_by"]].values.tolist() == [
        [1, "queue", t, t, "abandoned"]
    ]
    assert log.chats["outcome"].tolist() == ["completed", "abandoned"]


def test_parquet_export_with_zoned_timestamps_and_numeric_ids(tmp_path: Path) -> None:
    """A Parquet export: integer chat ids read as text, zoned timestamps as local wall-clock
    time, and a leg number stored as float."""
    folder = tmp_path / "pq"
    folder.mkdir()
    zone = "Europe/Paris"
    arrival = pd.Series(pd.to_datetime(["2026-03-29 01:50:00", "2026-03-29 03:01:00"]))
    pd.DataFrame(
        {
            "chat_id": [1, 2],
            "directory": ["d", "d"],
            "arrival": arrival.dt.tz_localize(zone),
            "first_answer": [pd.NaT, pd.NaT],
            "end": (arrival + pd.Timedelta(minutes=1)).dt.tz_localize(zone),
            "outcome": ["abandoned", "abandoned"],
        }
    ).to_parquet(folder / "chats.parquet")
    pd.DataFrame(
        {
            "chat_id": [1, 2],
            "leg": [1.0, 1.0],
            "kind": ["queue", "queue"],
            "directory": ["d", "d"],
            "agent_id": [None, None],
            "group": [None, None],
            "start": arrival.dt.tz_localize(zone),
            "end": (arrival + pd.Timedelta(minutes=1)).dt.tz_localize(zone),
            "ended_by": ["abandoned", "abandoned"],
        }
    ).to_parquet(folder / "legs.parquet")
    log = read_log(folder)
    assert list(log.chats["chat_id"]) == ["1", "2"]
    assert list(log.chats["arrival"]) == list(arrival)  # across the change to summer time
    assert list(log.legs["leg"]) == [1, 1] and log.legs["leg"].dtype == "int64"
    assert log.chats["arrival"].dtype == "datetime64[ns]"


def test_bad_log_a_date_without_a_time_is_not_a_date_time(tmp_path: Path) -> None:
    """``2026-01-05`` alone is refused, not read as midnight nor cut at ``-05`` as a zone."""
    chats = CHATS.replace("2026-01-05T08:01:00,", "2026-01-05,")
    assert bad_log(tmp_path, chats=chats) == [
        "chats.csv row 2, column arrival: not an ISO-8601 date-time (2026-01-05T08:00:12)"
    ]


def test_initial_state_waiting_chats_set_back_held_chats_left_out() -> None:
    """From an initial state: a chat that had waited 30 s arrives 30 s before the day's
    start; a chat already with the agent (arrival unknown) is not in the log."""
    data = {
        "duration": 1000,
        "directories": {"d": {"arrivals": {"times": [500]}, "handle_time": 100}},
        "agents": {"a": {"count": 2, "directories": ["d"], "max_chats": 1}},
    }
    initial = {
        "waiting": [{"directory": "d", "waited": "30s", "count": 1}],
        "held": [{"group": "a", "member": 0, "work_left": "50s"}],
    }
    results = simulate(
        scenario_from_dict(data), replications=1, record_events=True, initial=initial
    )
    log = log_of_results(results)
    t = pd.Timestamp(2026, 1, 5)
    s = pd.Timedelta(seconds=1)
    assert log.chats["arrival"].tolist() == [t - 30 * s, t + 500 * s]
    assert log.chats["first_answer"].tolist() == [t, t + 500 * s]  # a-2 was free at 0
    assert set(log.legs["chat_id"]) == set(log.chats["chat_id"])
    assert len(log.chats) == 2 and len(results.chats) == 3
