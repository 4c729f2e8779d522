"""A simulated run as an interaction log (docs/log-format.md): ``ccsim run --log``.

The model keeps compact records (chats, transfer legs, agent state intervals) and, when
asked, an event log; the legs of the log format (each queue stay, each agent's
connection) are rebuilt here from the events, so the model itself stays free of I/O and of
this format. One replication is one day.

Which wrap-up belongs to which leg: ``WRAP_UP_END`` events name the agent and directory
but not the chat, and wrap-ups of one agent may overlap. The model draws a wrap-up at
every ``LEAVE`` from its own stream per directory, so the draws are replayed here in the
same order; the replay is checked against the logged ``WRAP_UP_END`` instants, and if it
ever disagreed (a changed model), ends are matched first-in-first-out per agent and
directory instead, which is exact whenever an agent's wrap-ups do not overlap.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections import Counter, defaultdict, deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ccsim.data.log import CHAT_COLUMNS, LEG_COLUMNS, STATE_COLUMNS, InteractionLog
from ccsim.safe_write import FolderKind, staged_folder

if TYPE_CHECKING:
    import pandas as pd

    from ccsim.api import Results
    from ccsim.model import Records
    from ccsim.scenario import Scenario

#: Results folders are RESULTS; a log folder is its own kind (never confused with results).
LOG = FolderKind("log", "a ccsim interaction log", needs_force=True)
#: The date of replication 0 unless given: a Monday, so that weekday profiles start there.
DEFAULT_START_DATE = dt.date(2026, 1, 5)
LOG_FORMATS = ("csv", "parquet")

_OUTCOME_NAMES = ("completed", "abandoned", "abandoned_in_transfer", "open")
_STATE_NAMES = ("ready", "not_ready", "not_ready", "offline")  # CLOSING: not taking chats
_MODES = ("warm", "cold", "warm", "conference")  # by LegKind


def clock_start(scenario: Scenario) -> float:
    """Seconds after midnight at which the scenario's time 0 falls: its ``start:`` clock
    ("08:00") if the schema has one, else 0 (midnight)."""
    start = getattr(scenario, "start", None)
    if start is None:
        return 0.0
    if isinstance(start, dt.time):
        return start.hour * 3600 + start.minute * 60 + start.second + start.microsecond / 1e6
    if isinstance(start, (int, float)):
        return float(start)
    parts = str(start).strip().split(":")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return 0.0
    return sum(n * f for n, f in zip(numbers, (3600, 60, 1), strict=False))


def replication_date(scenario: Scenario, start_date: dt.date, replication: int) -> dt.date:
    """The date replication ``replication`` starts on: one day each, or as many days as a
    replication lasts (``days: 5``), so that days never overlap."""
    span = max(1, math.ceil(scenario.duration / 86400.0 - 1e-9))
    return start_date + dt.timedelta(days=replication * span)


def _stamps(seconds: Any, origin: Any) -> Any:
    """Simulation seconds as ``datetime64[ns]`` on the day, to the millisecond (nan: NaT)."""
    import numpy as np

    values = np.asarray(seconds, dtype=float)
    millis = np.round(values * 1000.0)
    out = np.full(values.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
    finite = np.isfinite(millis)
    out[finite] = origin + millis[finite].astype("int64").astype("timedelta64[ms]")
    return out


def _agent_ids(records: Records) -> list[str]:
    return [
        f"{records.groups[g]}-{member + 1}"
        for g, member in zip(records.agent_group, records.agent_member, strict=True)
    ]


def _wrap_up_draws(records: Records, scenario: Scenario, seed: int) -> dict[int, deque[float]]:
    """Per directory index, the wrap-ups the model drew, in the order of its LEAVEs."""
    from ccsim.model.randomness import replication_seed, sampler, stream
    from ccsim.model.records import EventKind

    root = replication_seed(seed, records.replication)
    leaves = Counter(
        d
        for kind, d in zip(records.event_kind, records.event_directory, strict=True)
        if kind == EventKind.LEAVE
    )
    draws: dict[int, deque[float]] = {}
    for index, name in enumerate(records.directories):
        draw = sampler(scenario.directories[name].wrap_up, stream(root, "wrap_up", name))
        draws[index] = deque(draw() for _ in range(leaves.get(index, 0)))
    return draws


def _legs_of_day(records: Records, scenario: Scenario, seed: int) -> list[list[Any]]:
    """Rows ``[chat, kind, directory, agent, start, end, ended_by, target_kind, target,
    mode, wrap_up_end, order]`` (indices and seconds) rebuilt from the event log."""
    from ccsim.model.records import EventKind as E
    from ccsim.model.records import LegKind, LegOutcome

    rows: list[list[Any]] = []
    queue_open: dict[int, int] = {}  # chat -> row
    agent_open: dict[tuple[int, int], int] = {}  # (chat, agent) -> row
    alerts: dict[tuple[int, int], tuple[float, int, int]] = {}  # (chat, agent) -> start, dir, order
    alerted: dict[int, set[int]] = defaultdict(set)
    abandoned_at: dict[int, float] = {}
    requests: dict[int, list[tuple[float, int]]] = defaultdict(list)  # chat -> (time, agent)
    leaves: list[tuple[int, int, int, float]] = []  # (row, agent, directory, time) in order
    wrap_ends: dict[tuple[int, int], list[float]] = defaultdict(list)
    nan = float("nan")

    def declined(chat: int, agent: int, now: float) -> None:
        start, directory, order = alerts.pop((chat, agent))
        alerted[chat].discard(agent)
        rows.append(
            [chat, "agent", directory, agent, start, now, "declined", None, None, None, nan, order]
        )

    events = zip(
        records.event_time,
        records.event_chat,
        records.event_kind,
        records.event_agent,
        records.event_directory,
        strict=True,
    )
    for order, (now, chat, kind, agent, directory) in enumerate(events):
        if kind == E.QUEUE:
            queue_open[chat] = len(rows)
            rows.append(
                [chat, "queue", directory, -1, now, nan, "open", None, None, None, nan, order]
            )
        elif kind in (E.OFFER, E.CONSULT, E.INVITE):
            if (chat, agent) not in alerts:
                alerts[(chat, agent)] = (now, directory, order)
                alerted[chat].add(agent)
        elif kind in (E.NO_ANSWER, E.WITHDRAW) or (kind == E.DECLINE and agent >= 0):
            if (chat, agent) in alerts:
                declined(chat, agent, now)
        elif kind == E.CONNECT:
            if (chat, agent) in alerts:
                del alerts[(chat, agent)]
                alerted[chat].discard(agent)
            row = queue_open.pop(chat, None)
            if row is not None:
                rows[row][5], rows[row][6] = now, "answered"
            agent_open[(chat, agent)] = len(rows)
            rows.append(
                [chat, "agent", directory, agent, now, nan, "open", None, None, None, nan, order]
            )
        elif kind == getattr(E, "BALK", -1) and chat not in queue_open:
            # left at once on finding no free agent: a queue stay of no length
            rows.append(
                [chat, "queue", directory, -1, now, now, "abandoned", None, None, None, nan, order]
            )
        elif kind in (E.ABANDON, getattr(E, "BALK", -1)):
            abandoned_at[chat] = now
            row = queue_open.pop(chat, None)
            if row is not None:
                rows[row][5], rows[row][6] = now, "abandoned"
            for ringing in list(alerted.pop(chat, ())):
                alerts.pop((chat, ringing), None)  # withdrawn because the customer left
        elif kind == E.LEAVE:
            row = agent_open.pop((chat, agent), None)
            if row is None:  # not connected in this log (no CONNECT seen): nothing to end
                continue
            rows[row][5] = now
            rows[row][6] = "abandoned" if abandoned_at.get(chat) == now else "completed"
            leaves.append((row, agent, directory, now))
        elif kind == E.WRAP_UP_END:
            wrap_ends[(agent, directory)].append(now)
        elif kind == E.TRANSFER:
            requests[chat].append((now, agent))

    _attach_wrap_ups(rows, leaves, wrap_ends, records, scenario, seed)

    # Transfer legs: which agent leg asked for what, and how its requester left.
    by_chat_agent: dict[tuple[int, int], list[int]] = defaultdict(list)
    by_chat: dict[int, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        if row[1] == "agent" and row[6] != "declined":
            by_chat_agent[(row[0], row[3])].append(index)
            by_chat[row[0]].append(index)
    transfer_legs: dict[int, list[int]] = defaultdict(list)
    for i, chat in enumerate(records.leg_chat):
        transfer_legs[chat].append(i)
    for chat, indices in transfer_legs.items():
        indices.sort(key=lambda i: records.leg_requested[i])  # stable: request order on ties
        for i, (requested, inviter) in zip(indices, requests.get(chat, ()), strict=False):
            kind = LegKind(records.leg_kind[i])
            own = [
                r
                for r in by_chat_agent[(chat, inviter)]
                if rows[r][4] <= requested and not rows[r][5] < requested
            ]
            if not own:
                continue
            row = rows[own[-1]]
            directory = records.leg_target_directory[i]
            if directory >= 0:
                row[7], row[8] = "directory", records.directories[directory]
            else:
                row[7], row[8] = "group", records.groups[records.leg_target_group[i]]
            row[9] = _MODES[kind]
            left, connected = records.leg_inviter_left[i], records.leg_connected[i]
            if left == left and row[5] == left and row[6] == "completed":
                row[6] = "left_after_transfer" if connected <= left else "transferred"
            if kind == LegKind.CONFERENCE and records.leg_outcome[i] == LegOutcome.CONNECTED:
                closed = records.leg_closed[i]
                for r in by_chat[chat]:  # the invitee: joined and left with the leg
                    if (
                        rows[r][3] != inviter
                        and rows[r][4] == connected
                        and rows[r][5] == closed
                        and rows[r][6] == "completed"
                    ):
                        rows[r][6] = "conference_left"
                        break
    return rows


def _attach_wrap_ups(
    rows: list[list[Any]],
    leaves: list[tuple[int, int, int, float]],
    wrap_ends: dict[tuple[int, int], list[float]],
    records: Records,
    scenario: Scenario,
    seed: int,
) -> bool:
    """Set each ended agent leg's wrap-up end (see the module's docstring); False when
    the ends had to be matched first-in-first-out."""
    from ccsim.scenario.schema import ZERO

    has_wrap_up = {
        i
        for i, name in enumerate(records.directories)
        if scenario.directories[name].wrap_up != ZERO
    }
    if not has_wrap_up:
        return True
    draws = _wrap_up_draws(records, scenario, seed)
    predicted: list[tuple[int, tuple[int, int, float]]] = []
    for row, agent, directory, now in leaves:
        wrap = draws[directory].popleft() if draws[directory] else float("nan")
        if directory in has_wrap_up:
            predicted.append((row, (agent, directory, now + wrap if wrap > 0 else now)))
    observed = Counter(
        (agent, directory, t) for (agent, directory), ts in wrap_ends.items() for t in ts
    )
    within = Counter(key for _, key in predicted if key[2] < records.duration)
    at_end = Counter(key for _, key in predicted if key[2] == records.duration)
    if within <= observed and observed - within <= at_end:
        for row, key in predicted:
            if key[2] < records.duration or observed[key] > within[key]:
                rows[row][10] = key[2]
        return True
    queues = {key: deque(sorted(times)) for key, times in wrap_ends.items()}
    for row, agent, directory, now in leaves:  # first in, first out
        pending = queues.get((agent, directory))
        if directory in has_wrap_up and pending and pending[0] >= now:
            rows[row][10] = pending.popleft()
    return False


def day_frames(
    records: Records, scenario: Scenario, seed: int, day: dt.date, start_seconds: float = 0.0
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One replication's chats, legs and agent states as the log's tables, on ``day``."""
    import numpy as np
    import pandas as pd

    if len(records.chat_id) and not len(records.event_time):
        raise ValueError("writing a log needs the event log: simulate(..., record_events=True)")
    origin = np.datetime64(day, "ms") + np.timedelta64(round(start_seconds * 1000), "ms")
    prefix = f"{day:%Y%m%d}-"
    directories = np.array(records.directories, dtype=object)
    agents = np.array(_agent_ids(records), dtype=object)
    groups = np.array([records.groups[g] for g in records.agent_group], dtype=object)

    chat_numbers = np.asarray(records.chat_id, dtype=np.int64)
    chats = pd.DataFrame(
        {
            "chat_id": [f"{prefix}{n}" for n in chat_numbers],
            "directory": directories[np.asarray(records.chat_directory, dtype=np.int64)]
            if len(chat_numbers)
            else np.array([], dtype=object),
            "arrival": _stamps(records.chat_arrival, origin),
            "first_answer": _stamps(records.chat_connect, origin),
            "end": _stamps(records.chat_end, origin),
            "outcome": [_OUTCOME_NAMES[o] for o in records.chat_outcome],
            "_n": chat_numbers,
        }
    )
    # A chat of an --initial state already with an agent at the start arrived at an
    # unknown time, before the log: it is left out with its legs.
    unknown = set(chats.loc[chats["arrival"].isna(), "_n"].tolist())
    chats = chats[chats["arrival"].notna()]
    chats = chats.sort_values(["arrival", "_n"], kind="stable").drop(columns="_n")

    rows = [row for row in _legs_of_day(records, scenario, seed) if row[0] not in unknown]
    rows.sort(key=lambda r: (r[0], r[4], r[11]))
    frame = pd.DataFrame(
        rows,
        columns=[
            "chat",
            "kind",
            "directory",
            "agent",
            "start",
            "end",
            "ended_by",
            "target_kind",
            "target",
            "mode",
            "wrap_up_end",
            "order",
        ],
    )
    chat_index = frame["chat"].to_numpy(dtype=np.int64)
    agent_index = frame["agent"].to_numpy(dtype=np.int64)
    is_agent = agent_index >= 0
    legs = pd.DataFrame(
        {
            "chat_id": [f"{prefix}{n}" for n in chat_index],
            "leg": frame.groupby("chat").cumcount().to_numpy(dtype=np.int64) + 1,
            "kind": frame["kind"].to_numpy(dtype=object),
            "directory": directories[frame["directory"].to_numpy(dtype=np.int64)]
            if len(frame)
            else np.array([], dtype=object),
            "agent_id": np.where(is_agent, agents[np.where(is_agent, agent_index, 0)], None)
            if len(frame)
            else np.array([], dtype=object),
            "group": np.where(is_agent, groups[np.where(is_agent, agent_index, 0)], None)
            if len(frame)
            else np.array([], dtype=object),
            "start": _stamps(frame["start"].to_numpy(dtype=float), origin),
            "end": _stamps(frame["end"].to_numpy(dtype=float), origin),
            "ended_by": frame["ended_by"].to_numpy(dtype=object),
            "target_kind": frame["target_kind"].to_numpy(dtype=object),
            "target": frame["target"].to_numpy(dtype=object),
            "mode": frame["mode"].to_numpy(dtype=object),
            "wrap_up_end": _stamps(frame["wrap_up_end"].to_numpy(dtype=float), origin),
        },
        columns=list(LEG_COLUMNS),
    )

    states = _state_frame(records, origin, agents, groups)
    return (
        chats.reset_index(drop=True)[list(CHAT_COLUMNS)],
        legs,
        states,
    )


def _state_frame(records: Records, origin: Any, agents: Any, groups: Any) -> pd.DataFrame:
    """Agent state intervals merged where only the number of held slots changed."""
    import numpy as np
    import pandas as pd

    agent = np.asarray(records.interval_agent, dtype=np.int64)
    start = np.asarray(records.interval_start, dtype=float)
    end = np.asarray(records.interval_end, dtype=float)
    names = (
        np.array(_STATE_NAMES, dtype=object)[np.asarray(records.interval_state, dtype=np.int64)]
        if len(agent)
        else np.array([], dtype=object)
    )
    order = np.lexsort((start, agent))
    agent, start, end, names = agent[order], start[order], end[order], names[order]
    new = np.ones(len(agent), dtype=bool)
    if len(agent) > 1:
        new[1:] = (agent[1:] != agent[:-1]) | (names[1:] != names[:-1]) | (start[1:] != end[:-1])
    first = np.flatnonzero(new)
    last = np.append(first[1:], len(agent)) - 1
    return pd.DataFrame(
        {
            "agent_id": agents[agent[first]] if len(first) else np.array([], dtype=object),
            "group": groups[agent[first]] if len(first) else np.array([], dtype=object),
            "state": names[first],
            "start": _stamps(start[first], origin),
            "end": _stamps(end[last], origin),
        },
        columns=list(STATE_COLUMNS),
    )


def log_of_results(results: Results, start_date: dt.date = DEFAULT_START_DATE) -> InteractionLog:
    """The run as an :class:`InteractionLog` in memory: replication r on ``start_date`` +
    r days, time 0 at the scenario's clock start."""
    import pandas as pd

    if not results.records:
        raise ValueError("writing a log needs the records: simulate(..., keep_records=True)")
    offset = clock_start(results.scenario)
    parts = [
        day_frames(
            records,
            results.scenario,
            results.seed,
            replication_date(results.scenario, start_date, records.replication),
            offset,
        )
        for records in results.records
    ]
    return InteractionLog(
        chats=pd.concat([p[0] for p in parts], ignore_index=True),
        legs=pd.concat([p[1] for p in parts], ignore_index=True),
        agent_states=pd.concat([p[2] for p in parts], ignore_index=True),
        source=f"simulated: {results.scenario.name}, seed {results.seed}",
    )


def _write_table(frame: pd.DataFrame, stem: Path, fmt: str) -> None:
    """A table through pyarrow's writers; CSV timestamps as ``2026-01-05T08:00:12.345``."""
    import csv
    import io

    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    columns = {}
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_datetime64_any_dtype(series):
            array = pa.array(series.to_numpy(dtype="datetime64[ms]"), type=pa.timestamp("ms"))
            if fmt == "csv":
                array = pc.strftime(array, format="%Y-%m-%dT%H:%M:%S")
        elif name == "leg":
            array = pa.array(series.to_numpy(), type=pa.int64())
        else:
            array = pa.array(
                series.astype(object).where(series.notna(), None).tolist(), type=pa.string()
            )
        columns[name] = array
    table = pa.table(columns)
    if fmt == "parquet":
        pq.write_table(table, stem.with_suffix(".parquet"))
        return
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(table.column_names)
    with stem.with_suffix(".csv").open("wb") as handle:
        handle.write(header.getvalue().encode())
        start = handle.tell()
        try:  # plain values, as exports have them: no quotes around names
            pa_csv.write_csv(
                table, handle, pa_csv.WriteOptions(include_header=False, quoting_style="none")
            )
        except pa.ArrowInvalid:  # a name holds a comma, quote or newline: quote strings
            handle.seek(start)
            handle.truncate()
            pa_csv.write_csv(
                table, handle, pa_csv.WriteOptions(include_header=False, quoting_style="needed")
            )


def write_log(
    results: Results,
    path: str | Path,
    start_date: dt.date = DEFAULT_START_DATE,
    fmt: str = "csv",
    *,
    force: bool = False,
    inputs: tuple[str | Path, ...] | list[str | Path] = (),
    force_hint: str = "force=True",
) -> Path:
    """Write ``results`` (records with events) as a log folder at ``path``: chats, legs and
    agent_states tables plus ``log.json`` (scenario, seed, version, days, runtime). Built
    in a staging folder and moved in whole (:mod:`ccsim.safe_write`): a new folder, or a
    log folder ccsim wrote (with ``force``)."""
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format must be csv or parquet, not {fmt!r}")
    started = time.perf_counter()
    log = log_of_results(results, start_date)
    days = [
        replication_date(results.scenario, start_date, r.replication).isoformat()
        for r in results.records
    ]
    meta = {
        "ccsim_log": 1,
        **results.header(),
        "days": days,
        "clock_start_s": clock_start(results.scenario),
        "format": fmt,
        "log_runtime_s": round(time.perf_counter() - started, 6),
    }
    with staged_folder(path, LOG, force=force, inputs=inputs, force_hint=force_hint) as staging:
        _write_table(log.chats, staging / "chats", fmt)
        _write_table(log.legs, staging / "legs", fmt)
        _write_table(log.agent_states, staging / "agent_states", fmt)
        (staging / "log.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return Path(path)


__all__ = [
    "DEFAULT_START_DATE",
    "LOG",
    "LOG_FORMATS",
    "clock_start",
    "day_frames",
    "log_of_results",
    "replication_date",
    "write_log",
]
