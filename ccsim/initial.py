"""Initial states: start a run from the chats in the center now (``ccsim run --initial``).

An operations team at 2 pm asks "given the queue right now, what happens in the next two
hours, and what if we add three agents?". A snapshot says what is in the center when the
run starts, in YAML or JSON::

    waiting:                       # chats in a queue, and how long they have waited
      - {directory: sales, waited: 4m}
      - {directory: sales, waited: 30s, count: 3}
    held:                          # chats agents are handling, with the work left
      - {group: sales_team, member: 0, work_left: 2m}
      - {group: sales_team, count: 4, work_left: 5m, directory: sales}

or it is the end of another run: ``--initial results/`` reads the ``end_state.json`` that
``ccsim run --out`` writes, one state per replication (replication r of the new run
starts from state r, cycling when the new run has more replications).

A snapshot is checked against the scenario like a scenario is checked: every problem in
one report, each with its path (``waiting.2.directory: unknown directory 'salse' (did
you mean 'sales'?)``), exit 2 on the command line. The model receives the resolved
:class:`ccsim.model.start.StartState` only: names that exist, a member for every held
chat, seconds.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, model_validator

from ccsim.model.start import HeldChat, StartState, WaitingChat
from ccsim.safe_read import FileProblem, read_text
from ccsim.scenario.limits import MAX_AGENTS, MAX_SCENARIO_BYTES, MAX_SUMMARY_BYTES
from ccsim.scenario.load import ScenarioError
from ccsim.scenario.schema import Duration, Model, Scenario

#: Chats in one initial state, waiting and held together: bounded like a scenario.
MAX_INITIAL_CHATS = 1_000_000
#: The file ``ccsim run --out`` writes the end state of each replication to.
END_STATE_FILE = "end_state.json"

Count = Annotated[int, Field(ge=1, le=MAX_INITIAL_CHATS)]


class InitialStateError(ScenarioError):
    """An initial state that cannot be read or does not fit the scenario; ``problems``
    is one line per fault, each starting with its path."""

    def __str__(self) -> str:
        lines = [f"{self.source} is not a valid initial state:"]
        lines += [f"  - {problem}" for problem in self.problems]
        return "\n".join(lines)


class Waiting(Model):
    """``count`` chats in ``directory``'s queue that have waited ``waited`` so far."""

    directory: str
    waited: Duration = 0.0
    count: Count = 1


class Held(Model):
    """Chats a group's agents are handling: one for ``member`` (0, 1, ... as in the
    agents table), or ``count`` chats spread over the members on shift at the start, one
    each in turn. ``directory`` may be left out when the group serves one directory."""

    group: str
    member: Annotated[int, Field(ge=0, le=MAX_AGENTS)] | None = None
    count: Count | None = None
    directory: str | None = None
    work_left: Duration

    @model_validator(mode="after")
    def _one_form(self) -> Held:
        if (self.member is None) == (self.count is None):
            raise ValueError(
                "give either 'member' (one chat of that agent) or 'count' (chats spread over "
                "the agents on shift)"
            )
        return self


class Snapshot(Model):
    """What is in the center when the run starts."""

    description: str = ""
    waiting: tuple[Waiting, ...] = ()
    held: tuple[Held, ...] = ()


def _suggest(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _error_lines(error: ValidationError, prefix: str = "") -> list[str]:
    """One line per pydantic error, starting with the path as written in the file."""
    lines = []
    for item in error.errors(include_url=False):
        path = (prefix + ".".join(str(part) for part in item["loc"])).rstrip(".")
        kind, ctx = item["type"], item.get("ctx") or {}
        if kind == "missing":
            text = "required key is missing"
        elif kind == "extra_forbidden":
            fields = list(_owner(error).model_fields)
            hint = _suggest(str(item["loc"][-1]), fields) or f"; allowed: {', '.join(fields)}"
            text = f"unknown key{hint}"
        elif kind == "greater_than_equal" and ctx.get("ge") == 0:
            text = f"must not be negative (got {item.get('input')})"
        elif kind == "value_error":
            text = str(item["msg"]).removeprefix("Value error, ")
        else:
            text = str(item["msg"])
            text = text[:1].lower() + text[1:]
        line = f"{path}: {text}" if path else text
        if line not in lines:
            lines.append(line)
    return lines


def _owner(error: ValidationError) -> type[Model]:
    """The model whose validation failed (an item's, in :func:`parse_initial`)."""
    return {"Waiting": Waiting, "Held": Held}.get(error.title, Snapshot)


def _on_shift_at_start(scenario: Scenario, group: str) -> int:
    spec = scenario.agents[group]
    if spec.shifts is None:
        return spec.on_shift(spec.size)
    return spec.on_shift(sum(s.count for s in spec.shifts if s.start <= 0 < s.end))


def resolve(
    snapshot: Snapshot,
    scenario: Scenario,
    prefix: str = "",
    positions: Mapping[str, Sequence[int]] | None = None,
) -> StartState:
    """The snapshot as the model takes it, checked against ``scenario``: every problem
    is collected and raised at once (:class:`InitialStateError`). ``positions`` are the
    items' places in the file (when some were left out), for the paths."""
    problems: list[str] = []
    places = positions or {}
    directories = list(scenario.directories)
    groups = list(scenario.agents)
    served = {d for spec in scenario.agents.values() for d in spec.directories}
    total = sum(item.count for item in snapshot.waiting) + sum(
        item.count or 1 for item in snapshot.held
    )
    if total > MAX_INITIAL_CHATS:
        problems.append(
            f"{prefix or 'snapshot'}: {total:,} chats, more than the {MAX_INITIAL_CHATS:,} "
            "an initial state may hold"
        )
        raise InitialStateError(problems)
    waiting: list[WaitingChat] = []
    for n, item in enumerate(snapshot.waiting):
        where = f"{prefix}waiting.{places['waiting'][n] if 'waiting' in places else n}"
        if item.directory not in scenario.directories:
            problems.append(
                f"{where}.directory: unknown directory {item.directory!r}"
                f"{_suggest(item.directory, directories)}"
            )
        elif item.directory not in served:
            problems.append(
                f"{where}.directory: no agent group serves {item.directory!r}: its chats "
                "would wait for ever"
            )
        else:
            waiting += [WaitingChat(item.directory, item.waited)] * item.count
    held: list[HeldChat] = []
    load: dict[tuple[str, int], int] = {}  # chats per (group, member)
    for n, item in enumerate(snapshot.held):
        where = f"{prefix}held.{places['held'][n] if 'held' in places else n}"
        if item.group not in scenario.agents:
            problems.append(
                f"{where}.group: unknown agent group {item.group!r}{_suggest(item.group, groups)}"
            )
            continue
        spec = scenario.agents[item.group]
        if item.directory is None:
            if len(spec.directories) != 1:
                problems.append(
                    f"{where}.directory: required: group {item.group!r} serves "
                    f"{len(spec.directories)} directories ({', '.join(spec.directories)})"
                )
                continue
            directory = spec.directories[0]
        elif item.directory not in spec.directories:
            known = item.directory in scenario.directories
            problems.append(
                f"{where}.directory: "
                + (
                    f"group {item.group!r} does not serve {item.directory!r}"
                    if known
                    else f"unknown directory {item.directory!r}"
                    f"{_suggest(item.directory, list(spec.directories))}"
                )
            )
            continue
        else:
            directory = item.directory
        if item.count is None:  # one chat for one member
            member = item.member
            assert member is not None
            if member >= spec.size:
                problems.append(
                    f"{where}.member: group {item.group!r} has {spec.size} agent(s) "
                    f"(members 0-{spec.size - 1}), not a member {member}"
                    if spec.size
                    else f"{where}.member: group {item.group!r} has no agents"
                )
                continue
            members = [member]
        else:  # spread over the members on shift at the start, least loaded first
            on_shift = min(_on_shift_at_start(scenario, item.group), spec.size)
            free = sum(spec.max_chats - load.get((item.group, m), 0) for m in range(on_shift))
            if item.count > free:
                problems.append(
                    f"{where}.count: {item.count} chats, more than the {free} free slot(s) of "
                    f"the {on_shift} agent(s) of {item.group!r} on shift at the start "
                    f"({spec.max_chats} each)"
                )
                continue
            members = []
            for _ in range(item.count):
                member = min(range(on_shift), key=lambda m: (load.get((item.group, m), 0), m))
                load[(item.group, member)] = load.get((item.group, member), 0) + 1
                members.append(member)
            held += [HeldChat(item.group, m, directory, item.work_left) for m in members]
            continue
        key = (item.group, members[0])
        load[key] = load.get(key, 0) + 1
        if load[key] > spec.max_chats:
            problems.append(
                f"{where}: member {members[0]} of {item.group!r} would hold {load[key]} chats, "
                f"more than its {spec.max_chats} slots (max_chats)"
            )
            continue
        held.append(HeldChat(item.group, members[0], directory, item.work_left))
    if problems:
        raise InitialStateError(problems)
    return StartState(tuple(waiting), tuple(held))


def parse_initial(
    data: Any, scenario: Scenario, source: str = "snapshot", prefix: str = ""
) -> StartState:
    """A snapshot mapping (as read from YAML or JSON), validated and resolved. Each item
    is validated on its own, so that one report lists the problems of every item, those
    of its fields and those against the scenario."""
    if not isinstance(data, Mapping):
        raise InitialStateError(
            [f"{prefix or 'the top level'}: must be a mapping with waiting: and held: lists"],
            source,
        )
    problems: list[str] = []
    items: dict[str, list[Any]] = {"waiting": [], "held": []}
    for key, value in data.items():
        if key not in items and key != "description":
            hint = _suggest(str(key), list(Snapshot.model_fields))
            problems.append(
                f"{prefix}{key}: unknown key{hint or '; allowed: description, waiting, held'}"
            )
        elif key in items and value is not None and not isinstance(value, list):
            problems.append(f"{prefix}{key}: must be a list")
    for key, model in (("waiting", Waiting), ("held", Held)):
        value = data.get(key)
        for i, item in enumerate(value if isinstance(value, list) else []):
            try:
                items[key].append(model.model_validate(item))
            except ValidationError as error:
                problems += _error_lines(error, f"{prefix}{key}.{i}.")
                items[key].append(None)
    snapshot = Snapshot.model_construct(
        waiting=tuple(item for item in items["waiting"] if item is not None),
        held=tuple(item for item in items["held"] if item is not None),
    )
    # keep the items' positions in the paths of the scenario checks
    try:
        state = resolve(snapshot, scenario, prefix, _positions(items))
    except InitialStateError as error:
        problems += error.problems
        state = None
    if problems or state is None:
        raise InitialStateError(problems, source)
    return state


def _positions(items: dict[str, list[Any]]) -> dict[str, list[int]]:
    """For each list, the position as written of each item that parsed."""
    return {
        key: [i for i, item in enumerate(values) if item is not None]
        for key, values in items.items()
    }


def _read_mapping(path: Path, limit: int, what: str) -> Any:
    try:
        text = read_text(path, limit, what)
    except FileProblem as problem:
        raise InitialStateError([str(problem)], str(path)) from None
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise InitialStateError(
                [f"not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"],
                str(path),
            ) from None
        except RecursionError:
            raise InitialStateError(["not valid JSON (nested too deeply)"], str(path)) from None
    from ccsim.scenario.load import _safe_yaml  # bounded YAML, as for scenarios

    try:
        data = _safe_yaml(text, str(path))
    except ScenarioError as error:
        raise InitialStateError(error.problems, str(path)) from None
    return {} if data is None else data


def read_initial(path: str | Path, scenario: Scenario) -> list[StartState]:
    """The initial state(s) at ``path``: a snapshot file (one state for every
    replication), or a results folder of ``ccsim run --out`` (its ``end_state.json``:
    the state at the end of each of its replications)."""
    path = Path(path)
    if path.is_dir():
        state_path = path / END_STATE_FILE
        if not state_path.is_file():
            raise InitialStateError(
                [
                    f"a folder without {END_STATE_FILE}: give a snapshot file, or the --out "
                    "folder of a ccsim run"
                ],
                str(path),
            )
        data = _read_mapping(state_path, MAX_SUMMARY_BYTES, "an end state file")
        states = data.get("replications") if isinstance(data, Mapping) else None
        if not isinstance(states, list) or not states:
            raise InitialStateError(
                ["replications: must be a non-empty list of states"], str(state_path)
            )
        resolved, problems = [], []
        for r, state in enumerate(states):
            try:
                resolved.append(
                    parse_initial(state, scenario, str(state_path), f"replications.{r}.")
                )
            except InitialStateError as error:
                problems += error.problems
            if len(problems) > 50:
                break
        if problems:
            raise InitialStateError(problems, str(state_path))
        return resolved
    data = _read_mapping(path, MAX_SCENARIO_BYTES, "an initial state file")
    return [parse_initial(data, scenario, str(path))]


def end_state(records: Any) -> dict[str, Any]:
    """The end of one replication in the snapshot form (seconds), for ``end_state.json``."""
    r = records
    return {
        "waiting": [
            {"directory": r.directories[d], "waited": round(waited, 9)}
            for d, waited in r.end_waiting
        ],
        "held": [
            {
                "group": r.groups[g],
                "member": member,
                "directory": r.directories[d],
                "work_left": round(left, 9),
            }
            for g, member, d, left in r.end_held
        ],
    }


def as_states(
    initial: StartState | Sequence[StartState] | Mapping[str, Any] | str | Path | None,
    scenario: Scenario,
) -> list[StartState]:
    """What :func:`ccsim.api.simulate` accepts as ``initial``, as a list of states (one,
    or one per replication, cycled)."""
    if initial is None:
        return []
    if isinstance(initial, StartState):
        return [initial]
    if isinstance(initial, str | Path):
        return read_initial(initial, scenario)
    if isinstance(initial, Mapping):
        return [parse_initial(initial, scenario)]
    states = list(initial)
    if not all(isinstance(state, StartState) for state in states):
        raise TypeError("initial: a StartState, a list of them, a snapshot mapping or a path")
    return states
