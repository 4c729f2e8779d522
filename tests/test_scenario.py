"""Scenario files: loading, units, defaults, frozen models, --set overrides, and one clear
ScenarioError line per problem, each starting with the field path people wrote."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from ccsim.scenario import (
    Scenario,
    ScenarioError,
    apply_overrides,
    load_scenario,
    scenario_from_dict,
)
from ccsim.scenario.load import format_validation_error
from ccsim.scenario.schema import (
    Constant,
    DeclineToDirectory,
    Empirical,
    Exponential,
    Gamma,
    LeaveAfter,
    LogNormal,
    ToDirectory,
    ToGroup,
    Uniform,
)

ROOT = Path(__file__).resolve().parents[1]
RETAIL = ROOT / "scenarios" / "retail.yaml"
EXAMPLES = sorted((ROOT / "scenarios").glob("*.yaml"))

# Pydantic's vocabulary, which must never reach a person writing YAML.
JARGON = re.compile(
    r"Input should|Field required|Value error|Extra inputs|PydanticUndefined|function-|"
    r"literal\[|tagged-union|LeaveAfter|ToDirectory|ToGroup|DeclineToDirectory|"
    r"\b(LogNormal|Gamma|Exponential|Uniform|Empirical|Constant)\b|"
    r"\.(constant|exponential|lognormal|gamma|uniform|empirical)\b"
)


def base() -> dict[str, Any]:
    """A small valid scenario as read from YAML: two directories, three groups, two rules."""
    return {
        "duration": "1h",
        "directories": {
            "sales": {"arrivals": "60/h", "handle_time": "3m"},
            "support": {"handle_time": {"dist": "exponential", "mean": "5m"}},
        },
        "agents": {
            "sales_team": {"count": 2, "directories": ["sales"]},
            "support_team": {"count": 1, "directories": ["support"]},
            "supervisors": {"count": 1, "directories": []},
        },
        "transfers": [
            {"from": "sales", "to": {"directory": "support"}, "probability": 0.3},
            {
                "from": "sales",
                "to": {"group": "supervisors"},
                "kind": "conference",
                "probability": 0.1,
                "duration": "1m",
            },
        ],
    }


def problems(*overrides: str, data: dict[str, Any] | None = None) -> list[str]:
    """The problem lines of the ScenarioError that ``base()`` with ``overrides`` raises."""
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(apply_overrides(base() if data is None else data, overrides))
    lines = info.value.problems
    assert lines, "a ScenarioError always has at least one problem"
    for line in lines:
        assert not JARGON.search(line), line
    return lines


def one_problem(*overrides: str, data: dict[str, Any] | None = None) -> str:
    lines = problems(*overrides, data=data)
    assert len(lines) == 1, lines
    return lines[0]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the example


def test_retail_loads_with_values_in_seconds() -> None:
    s = load_scenario(RETAIL)
    assert s.name == "retail"
    assert s.duration == 8 * 3600.0
    assert s.warmup == 1800.0
    assert (s.seed, s.replications, s.max_transfers) == (7, 10, None)

    sales = s.directories["sales"]
    assert sales.arrivals is not None
    assert [(p.start, p.rate) for p in sales.arrivals.schedule] == [(0.0, pytest.approx(0.05))]
    assert sales.patience == Exponential(dist="exponential", mean=240.0)
    assert isinstance(sales.handle_time, LogNormal)
    assert (sales.handle_time.mean, sales.handle_time.cv) == (420.0, 0.8)
    assert sales.service_level == 60.0
    assert sales.routing == "longest_idle"
    assert sales.wrap_up == Constant(value=20.0)
    assert sales.automated_message is False

    support = s.directories["support"]
    assert support.arrivals is not None
    pieces = [(p.start, p.rate) for p in support.arrivals.schedule]
    assert pieces == [
        (0.0, pytest.approx(40 / 3600)),
        (7200.0, pytest.approx(90 / 3600)),
        (21600.0, pytest.approx(30 / 3600)),
    ]
    assert support.arrivals.rate_at(3 * 3600) == pytest.approx(90 / 3600)
    assert support.arrivals.expected_count(0, 8 * 3600) == pytest.approx(80 + 360 + 60)
    assert isinstance(support.handle_time, Gamma)
    assert (support.handle_time.mean, support.handle_time.cv) == (540.0, 0.6)
    assert support.patience is not None and support.patience.mean == 360.0
    assert support.automated_message is True
    assert support.service_level == 120.0
    assert support.wrap_up == Constant(value=0.0)

    team = s.agents["sales_team"]
    assert (team.count, team.directories, team.max_chats, team.slowdown) == (
        14,
        ("sales",),
        3,
        None,
    )
    shifts = s.agents["support_team"].shifts
    assert shifts is not None
    assert [(x.start, x.end, x.count) for x in shifts] == [
        (0.0, 7200.0, 6),
        (7200.0, 21600.0, 11),
        (21600.0, 28800.0, 6),
    ]
    assert s.agents["support_team"].size == 11
    supervisors = s.agents["supervisors"]
    assert (supervisors.count, supervisors.directories, supervisors.max_chats) == (1, (), 4)

    assert s.offer.response_time == Exponential(dist="exponential", mean=5.0)
    assert s.offer.no_answer_timeout == 10.0
    assert s.offer.no_answer_probability == 0.02
    assert s.offer.not_ready_time == 30.0

    first, second = s.transfers
    assert first.source == "sales"
    assert first.to == ToDirectory(directory="support")
    assert (first.kind, first.probability, first.leave) == ("transfer", 0.2, "on_connect")
    assert first.at == Uniform(dist="uniform", low=60.0, high=300.0)
    assert first.at.mean == 180.0
    assert second.to == ToGroup(group="supervisors")
    assert (second.kind, second.probability, second.on_decline) == ("conference", 0.05, "keep")
    assert second.consult == Exponential(dist="exponential", mean=20.0)
    assert second.duration == Exponential(dist="exponential", mean=120.0)
    assert s.transfers_from("sales") == (first, second)
    assert s.transfers_from("support") == ()


def test_retail_example_loads_as_written() -> None:
    """The file's own text, not a copy: edits to the example must keep it valid."""
    data = yaml.safe_load(RETAIL.read_text())
    assert isinstance(scenario_from_dict(data, base_dir=RETAIL.parent), Scenario)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_scenario_loads(path: Path) -> None:
    assert isinstance(load_scenario(path), Scenario)


def test_defaults() -> None:
    s = scenario_from_dict(base())
    sales, support = s.directories["sales"], s.directories["support"]
    assert (s.name, s.description, s.warmup, s.seed, s.replications) == ("scenario", "", 0, 0, 1)
    assert s.max_transfers is None and s.expect == ()
    assert sales.patience is None  # infinite patience
    assert support.arrivals is None  # receives transfers only
    assert sales.handle_time == Constant(value=180.0)
    assert (sales.service_level, sales.routing, sales.automated_message) == (
        60.0,
        "longest_idle",
        False,
    )
    transfer, conference = s.transfers
    assert transfer.at == Constant(value=0.0)
    assert (transfer.leave, transfer.confirm, transfer.consult, transfer.duration) == (
        "on_connect",
        0.0,
        None,
        None,
    )
    assert (transfer.on_decline, transfer.retries) == ("keep", 1)
    assert conference.duration == Constant(value=60.0)


def test_r2_max_chats_defaults_to_four() -> None:
    assert scenario_from_dict(base()).agents["sales_team"].max_chats == 4


def test_r4_offer_defaults() -> None:
    offer = scenario_from_dict(base()).offer
    assert offer.response_time == Constant(value=0.0)
    assert (offer.no_answer_timeout, offer.no_answer_probability, offer.not_ready_time) == (
        10.0,
        0.0,
        30.0,
    )


def test_r5_r11_ramp_up_and_wrap_up_default_to_zero() -> None:
    sales = scenario_from_dict(base()).directories["sales"]
    assert sales.ramp_up == 0.0
    assert sales.wrap_up == Constant(value=0.0)


def test_all_distributions_and_leave_forms() -> None:
    data = base()
    data["directories"]["sales"]["patience"] = {"dist": "gamma", "mean": "2m", "cv": 1.5}
    data["directories"]["sales"]["wrap_up"] = {"dist": "empirical", "values": [10, "20s", "1m"]}
    data["directories"]["support"]["wrap_up"] = {"dist": "constant", "value": "15s"}
    data["transfers"][0]["leave"] = {"after": "30s"}
    data["transfers"][1]["on_decline"] = {"directory": "support", "leave": "immediately"}
    s = scenario_from_dict(data)
    assert s.directories["sales"].patience == Gamma(dist="gamma", mean=120.0, cv=1.5)
    wrap_up = s.directories["sales"].wrap_up
    assert isinstance(wrap_up, Empirical) and wrap_up.values == (10.0, 20.0, 60.0)
    assert wrap_up.mean == pytest.approx(30.0)
    assert s.directories["support"].wrap_up == Constant(value=15.0)
    assert s.transfers[0].leave == LeaveAfter(after=30.0)
    assert s.transfers[1].on_decline == DeclineToDirectory(directory="support", leave="immediately")


def test_models_are_frozen() -> None:
    s = load_scenario(RETAIL)
    with pytest.raises(ValidationError):
        s.duration = 10.0  # type: ignore[misc]
    with pytest.raises(ValidationError):
        s.directories["sales"].service_level = 1.0  # type: ignore[misc]
    with pytest.raises(ValidationError):
        s.agents["sales_team"].count = 3  # type: ignore[misc]
    with pytest.raises(ValidationError):
        s.transfers[0].probability = 0.5  # type: ignore[misc]
    with pytest.raises(ValidationError):
        s.offer.not_ready_time = 0.0  # type: ignore[misc]
    assert isinstance(s.transfers, tuple)
    assert isinstance(s.agents["sales_team"].directories, tuple)


# --------------------------------------------------------------------------- reading files


def test_malformed_yaml_gives_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", "duration: 1h\ndirectories:\n  sales: {handle_time: 3m\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    [line] = info.value.problems
    assert line.startswith("malformed YAML at line 4, column 1: ")
    assert info.value.source == str(path)


def test_malformed_yaml_mapping_in_value(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", "duration: 1h\nname: a: b\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.problems == [
        "malformed YAML at line 2, column 8: mapping values are not allowed here"
    ]


def test_duplicate_yaml_key_is_refused(tmp_path: Path) -> None:
    text = "directories:\n  sales: {handle_time: 3m}\n  sales: {handle_time: 4m}\n"
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path / "dup.yaml", text))
    assert info.value.problems == [
        "malformed YAML at line 3, column 3: duplicate key 'sales' (first given at line 2)"
    ]


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path / "empty.yaml", text))
    [line] = info.value.problems
    assert line.startswith("the file is empty")


@pytest.mark.parametrize(("text", "got"), [("- a\n- b\n", "a list"), ("hello\n", "'hello'")])
def test_file_that_is_not_a_mapping(tmp_path: Path, text: str, got: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path / "list.yaml", text))
    [line] = info.value.problems
    assert line.startswith("the top level must be a mapping of keys")
    assert line.endswith(f"got {got}")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "nope.yaml")
    assert info.value.problems == ["file not found"]
    assert (
        str(info.value) == f"{tmp_path / 'nope.yaml'} is not a valid scenario:\n  - file not found"
    )


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path)
    assert info.value.problems == ["is a directory, not a scenario file"]


def test_scenario_error_is_a_value_error_listing_every_problem(tmp_path: Path) -> None:
    data = base()
    data["duration"] = 0
    data["agents"]["sales_team"]["count"] = -1
    path = write(tmp_path / "two.yaml", yaml.safe_dump(data))
    with pytest.raises(ValueError) as info:
        load_scenario(path)
    error = info.value
    assert isinstance(error, ScenarioError)
    assert error.problems == [
        "duration: must be positive (got 0s)",
        "agents.sales_team.count: must not be negative (got -1)",
    ]
    assert str(error).splitlines() == [
        f"{path} is not a valid scenario:",
        "  - duration: must be positive (got 0s)",
        "  - agents.sales_team.count: must not be negative (got -1)",
    ]


# --------------------------------------------------------------------------- field errors


def test_unknown_top_level_key_with_did_you_mean() -> None:
    data = base()
    data["agnts"] = data.pop("agents")
    # Only the typo is reported, not also "agents: required key is missing".
    assert one_problem(data=data) == "agnts: unknown key (did you mean 'agents'?)"


def test_unknown_nested_key_with_did_you_mean() -> None:
    data = base()
    data["directories"]["sales"]["handel_time"] = data["directories"]["sales"].pop("handle_time")
    assert one_problem(data=data) == (
        "directories.sales.handel_time: unknown key (did you mean 'handle_time'?)"
    )


def test_unknown_key_without_close_match_lists_the_allowed_keys() -> None:
    line = one_problem("agents.sales_team.colour=red")
    assert line == (
        "agents.sales_team.colour: unknown key; "
        "allowed: count, shifts, directories, max_chats, slowdown, shrinkage, preference"
    )


def test_unknown_key_inside_a_distribution_suggests_the_right_one() -> None:
    line = one_problem("directories.sales.handle_time={dist: gamma, mean: 3m, cvv: 2}")
    assert line == "directories.sales.handle_time.cvv: unknown key (did you mean 'cv'?)"


def test_unknown_dist() -> None:
    line = one_problem("directories.sales.handle_time={dist: gama, mean: 3m}")
    assert line.startswith("directories.sales.handle_time: unknown dist 'gama'")
    assert "(did you mean 'gamma'?)" in line


def test_distribution_without_dist() -> None:
    line = one_problem("directories.sales.patience={mean: 3m}")
    assert line.startswith("directories.sales.patience: a distribution needs 'dist'")


def test_distribution_of_the_wrong_type() -> None:
    line = one_problem("directories.sales.handle_time=[1, 2]")
    assert line.startswith("directories.sales.handle_time: expected a duration or a distribution")
    assert line.endswith("got a list")


def test_distribution_missing_parameter() -> None:
    line = one_problem("directories.sales.handle_time={dist: lognormal, mean: 3m}")
    assert line == "directories.sales.handle_time.cv: required key is missing"


def test_required_field_missing() -> None:
    data = base()
    del data["directories"]["sales"]["handle_time"]
    assert one_problem(data=data) == "directories.sales.handle_time: required key is missing"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("directories.sales.arrivals=0/h", "directories.sales.arrivals: must be a positive rate"),
        ("directories.sales.arrivals=-3/h", "directories.sales.arrivals: must be a positive rate"),
        ("directories.sales.arrivals=0", "directories.sales.arrivals: must be a positive rate"),
        (
            "directories.sales.arrivals.schedule=[{from: 0h, rate: 10/h}, {from: 1h, rate: -1/h}]",
            "directories.sales.arrivals.schedule.1.rate: must not be negative",
        ),
        (
            "directories.sales.arrivals={schedule: [{from: 0h, rate: 0/h}]}",
            "directories.sales.arrivals.schedule: at least one piece needs a positive rate",
        ),
        (
            "directories.sales.arrivals=lots",
            "directories.sales.arrivals: expected a rate such as 180/h",
        ),
    ],
)
def test_zero_or_negative_rates(override: str, expected: str) -> None:
    assert one_problem(override).startswith(expected)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("duration=-1h", "duration: must be positive (got -1h)"),
        ("warmup=-5m", "warmup: must not be negative (got -5m)"),
        ("directories.sales.handle_time=-3", "directories.sales.handle_time: must not be negative"),
        (
            "directories.sales.patience={dist: exponential, mean: -1m}",
            "directories.sales.patience.mean: must be positive",
        ),
        (
            "directories.support.handle_time.mean=0",
            "directories.support.handle_time.mean: must be positive (got 0s)",
        ),
        ("directories.sales.wrap_up=-20s", "directories.sales.wrap_up: must not be negative"),
        ("directories.sales.ramp_up=-1s", "directories.sales.ramp_up: must not be negative"),
        ("directories.sales.service_level=0s", "directories.sales.service_level: must be positive"),
        ("transfers.0.confirm=-2s", "transfers.0.confirm: must not be negative"),
        ("transfers.0.leave={after: -30s}", "transfers.0.leave.after: must not be negative"),
        ("offer.no_answer_timeout=0", "offer.no_answer_timeout: must be positive"),
        ("offer.not_ready_time=-1m", "offer.not_ready_time: must not be negative"),
    ],
)
def test_negative_durations(override: str, expected: str) -> None:
    assert one_problem(override).startswith(expected)


def test_unreadable_duration() -> None:
    assert one_problem("directories.sales.handle_time=soon") == (
        "directories.sales.handle_time: expected a duration such as 90, 30s, 4m or 1h30m, "
        "got 'soon'"
    )


@pytest.mark.parametrize(
    ("override", "path"),
    [
        ("offer.no_answer_probability=1.5", "offer.no_answer_probability"),
        ("offer.no_answer_probability=-0.1", "offer.no_answer_probability"),
        ("transfers.0.probability=1.2", "transfers.0.probability"),
        ("transfers.1.probability=-0.5", "transfers.1.probability"),
    ],
)
def test_probabilities_outside_zero_one(override: str, path: str) -> None:
    value = override.split("=")[1]
    assert one_problem(override) == (f"{path}: must be a probability between 0 and 1 (got {value})")


def test_transfer_probabilities_from_one_directory_sum_over_one() -> None:
    assert one_problem("transfers.0.probability=0.95") == (
        "transfers: probabilities from 'sales' (transfers 0, 1) sum to 1.05, more than 1"
    )


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            "transfers.0.to={directory: suport}",
            "transfers.0.to.directory: unknown directory 'suport' (did you mean 'support'?)",
        ),
        (
            "transfers.1.to={group: supervisor}",
            "transfers.1.to.group: unknown agent group 'supervisor' (did you mean 'supervisors'?)",
        ),
        (
            "transfers.0.from=sale",
            "transfers.0.from: unknown directory 'sale' (did you mean 'sales'?)",
        ),
        (
            "transfers.1.on_decline={directory: billing}",
            "transfers.1.on_decline.directory: unknown directory 'billing'",
        ),
        (
            "agents.sales_team.directories=[sales, chat]",
            "agents.sales_team.directories.1: unknown directory 'chat'",
        ),
    ],
)
def test_transfer_to_a_directory_or_group_that_does_not_exist(override: str, expected: str) -> None:
    assert one_problem(override) == expected


def test_directory_that_no_agent_group_serves() -> None:
    assert one_problem("agents.support_team.directories=[]") == (
        "directories.support: no agent group serves this directory"
    )


def test_directory_without_arrivals_or_transfers_needs_no_agents() -> None:
    data = base()
    data["directories"]["spare"] = {"handle_time": "1m"}
    assert "spare" in scenario_from_dict(data).directories


def test_shifts_that_overlap() -> None:
    line = one_problem(
        "agents.support_team={directories: [support], shifts: "
        "[{from: 0h, to: 4h, count: 2}, {from: 3h, to: 8h, count: 3}]}"
    )
    assert line == "agents.support_team.shifts: shifts 0 (0s-4h) and 1 (3h-8h) overlap"


def test_shift_that_ends_before_it_starts() -> None:
    line = one_problem(
        "agents.support_team={directories: [support], shifts: [{from: 2h, to: 1h, count: 2}]}"
    )
    assert line == "agents.support_team.shifts.0.to: must be after 'from' (2h), got 1h"


def test_slowdown_of_the_wrong_length() -> None:
    assert one_problem("agents.sales_team.slowdown=[1.0, 1.2]") == (
        "agents.sales_team.slowdown: needs one factor per number of chats held, "
        "4 (max_chats), got 2"
    )


def test_slowdown_factor_must_be_positive() -> None:
    line = one_problem("agents.sales_team.slowdown=[1, 1.1, 0, 1.3]")
    assert line == "agents.sales_team.slowdown.2: must be positive (got 0)"


def test_count_and_shifts_both_given() -> None:
    line = one_problem("agents.sales_team.shifts=[{from: 0h, to: 1h, count: 2}]")
    assert line == "agents.sales_team: give either 'count' or 'shifts', not both"


def test_neither_count_nor_shifts() -> None:
    line = one_problem("agents.sales_team.count=null")
    assert line.startswith("agents.sales_team: needs 'count'")


def test_conference_without_duration() -> None:
    line = one_problem("transfers.1.duration=null")
    assert line.startswith("transfers.1.duration: a conference needs 'duration'")


def test_conference_to_a_directory() -> None:
    line = one_problem("transfers.0.kind=conference", "transfers.0.duration=1m")
    assert line.startswith("transfers.0.to: a conference invites a group")


def test_duration_on_a_transfer() -> None:
    assert one_problem("transfers.1.kind=transfer") == (
        "transfers.1.duration: applies to kind: conference only"
    )


def test_r9_consult_on_a_directory_transfer() -> None:
    line = one_problem("transfers.0.consult=20s")
    assert line.startswith("transfers.0.consult: applies to invitations of a group")


def test_on_decline_on_a_directory_transfer() -> None:
    line = one_problem("transfers.0.on_decline=retry")
    assert line.startswith("transfers.0.on_decline: applies to invitations of a group")


def test_warmup_not_shorter_than_duration() -> None:
    assert one_problem("warmup=1h") == "warmup: must be shorter than duration"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            "agents.sales_team.count=many",
            "agents.sales_team.count: expected a whole number, got 'many'",
        ),
        (
            "agents.sales_team.count=2.5",
            "agents.sales_team.count: expected a whole number, got 2.5",
        ),
        (
            "agents.sales_team.max_chats=0",
            "agents.sales_team.max_chats: must be at least 1 (got 0)",
        ),
        (
            "agents.sales_team.max_chats=99",
            "agents.sales_team.max_chats: must be at most 64 (got 99)",
        ),
        ("transfers.0.probability=high", "transfers.0.probability: expected a number, got 'high'"),
        ("transfers.1.retries=0", "transfers.1.retries: must be at least 1 (got 0)"),
        (
            "directories.sales.automated_message=maybe",
            "directories.sales.automated_message: expected true or false, got 'maybe'",
        ),
        (
            "agents.sales_team.directories=sales",
            "agents.sales_team.directories: expected a list, got 'sales'",
        ),
        ("transfers.0.from=7", "transfers.0.from: must be NAME or {group: NAME} (got 7)"),
        ("expect=[1]", "expect.0: expected text, got 1"),
        ("seed=-1", "seed: must not be negative (got -1)"),
        ("replications=0", "replications: must be at least 1 (got 0)"),
        ("max_transfers=-2", "max_transfers: must not be negative (got -2)"),
        ("directories=[sales]", "directories: expected a mapping, got a list"),
        (
            "transfers.0=3",
            "transfers.0: expected a mapping of keys (from, to, kind, probability, at, "
            "leave, confirm, consult, duration, on_decline, retries), got 3",
        ),
        (
            "directories.sales.routing=random",
            "directories.sales.routing: must be longest_idle or least_busy (got 'random')",
        ),
        (
            "directories.sales.routing=least_bussy",
            "directories.sales.routing: must be longest_idle or least_busy "
            "(got 'least_bussy'; did you mean 'least_busy'?)",
        ),
        (
            "transfers.0.kind=conferense",
            "transfers.0.kind: must be transfer or conference "
            "(got 'conferense'; did you mean 'conference'?)",
        ),
    ],
)
def test_types_and_bounds_say_what_was_expected_and_given(override: str, expected: str) -> None:
    assert one_problem(override) == expected


def test_expectation_problems_name_their_item() -> None:
    line = one_problem("expect=[service_level >= 80%, directories.sals.wait_p90 <= 45s]")
    assert line.startswith("expect.1: ")


def test_name_keys_must_be_text() -> None:
    data = base()
    data["directories"][1] = {"handle_time": "1m"}
    assert one_problem(data=data).startswith("directories.1: a name must be text")


# ---- unions: one line saying what is accepted


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            "transfers.0.leave=sometimes",
            "transfers.0.leave: must be on_connect, immediately or {after: DURATION} "
            "(got 'sometimes')",
        ),
        (
            "transfers.0.leave=on_conect",
            "transfers.0.leave: must be on_connect, immediately or {after: DURATION} "
            "(got 'on_conect'; did you mean 'on_connect'?)",
        ),
        (
            "transfers.0.leave={aftr: 30s}",
            "transfers.0.leave: must be on_connect, immediately or {after: DURATION}; "
            "unknown key 'aftr' (did you mean 'after'?)",
        ),
        (
            "transfers.0.leave=30",
            "transfers.0.leave: must be on_connect, immediately or {after: DURATION} (got 30)",
        ),
        (
            "transfers.1.to={grp: supervisors}",
            "transfers.1.to: must be {directory: NAME} or {group: NAME}; "
            "unknown key 'grp' (did you mean 'group'?)",
        ),
        (
            "transfers.1.to=supervisors",
            "transfers.1.to: must be {directory: NAME} or {group: NAME} (got 'supervisors')",
        ),
        (
            "transfers.1.to={}",
            "transfers.1.to: must be {directory: NAME} or {group: NAME} (got an empty mapping)",
        ),
        (
            "transfers.1.to={directory: support, group: supervisors}",
            "transfers.1.to: must be {directory: NAME} or {group: NAME} "
            "(got a mapping with keys directory, group)",
        ),
        (
            "transfers.1.on_decline=maybe",
            "transfers.1.on_decline: must be keep, retry or {directory: NAME, leave: ...} "
            "(got 'maybe')",
        ),
        (
            "transfers.1.on_decline={dirctory: support}",
            "transfers.1.on_decline: must be keep, retry or {directory: NAME, leave: ...}; "
            "unknown key 'dirctory' (did you mean 'directory'?)",
        ),
    ],
)
def test_union_fields_give_one_line_saying_what_is_accepted(override: str, expected: str) -> None:
    assert one_problem(override) == expected


def test_union_branch_that_fits_reports_the_inner_field() -> None:
    # The mapping has the right keys, so the problem is inside it.
    assert one_problem("transfers.1.to={group: 7}") == "transfers.1.to.group: expected text, got 7"
    assert one_problem("transfers.1.on_decline={directory: support, leave: x}") == (
        "transfers.1.on_decline.leave: must be on_connect, immediately or {after: DURATION} "
        "(got 'x')"
    )


def test_unions_collapse_without_the_input_data_too() -> None:
    data = apply_overrides(base(), ["transfers.1.to={grp: supervisors}"])
    with pytest.raises(ValidationError) as info:
        Scenario.model_validate(data)
    assert format_validation_error(info.value) == [
        "transfers.1.to: must be {directory: NAME} or {group: NAME}; "
        "unknown key 'grp' (did you mean 'group'?)"
    ]


def test_many_bad_inputs_never_show_pydantic_jargon() -> None:
    bad = [
        "transfers.0.leave=[1]",
        "transfers.1.on_decline={directory: support, leave: {aftr: 3}}",
        "directories.sales.handle_time={dist: uniform, low: 2m, high: 1m}",
        "directories.sales.handle_time={dist: empirical}",
        "directories.sales.handle_time={dist: constant, value: soon}",
        "directories.sales.handle_time=true",
        "directories.sales.patience={dist: lognormal, mean: 3m, cv: 0}",
        "directories.sales.arrivals=[1]",
        "directories.sales=null",
        "agents.sales_team=3",
        "offer=fast",
        "transfers=none",
        "transfers.0.at={dist: exponential, mean: x}",
    ]
    for override in bad:
        for line in problems(override):
            assert re.match(r"^[\w.]+: ", line), line  # every line starts with its path


def test_uniform_high_below_low() -> None:
    line = one_problem("directories.sales.handle_time={dist: uniform, low: 2m, high: 1m}")
    assert line == "directories.sales.handle_time.high: must be at least low (2m), got 1m"


def test_explicit_constant_keeps_its_value_path() -> None:
    line = one_problem("directories.sales.handle_time={dist: constant, value: soon}")
    assert line.startswith("directories.sales.handle_time.value: expected a duration")


# ---- empirical distributions from CSV files


def csv_scenario(tmp_path: Path, dist: dict[str, Any]) -> Path:
    data = base()
    data["directories"]["sales"]["handle_time"] = dist
    (tmp_path / "scenarios").mkdir()
    return write(tmp_path / "scenarios" / "s.yaml", yaml.safe_dump(data))


def test_empirical_csv_is_read_relative_to_the_scenario_file(tmp_path: Path) -> None:
    path = csv_scenario(tmp_path, {"dist": "empirical", "csv": "data/handle.csv", "column": "secs"})
    (tmp_path / "scenarios" / "data").mkdir()
    write(tmp_path / "scenarios" / "data" / "handle.csv", "chat,secs\n1,30\n2,2m\n3,\n4,90s\n")
    handle = load_scenario(path).directories["sales"].handle_time
    assert isinstance(handle, Empirical)
    assert handle.values == (30.0, 120.0, 90.0)  # empty cells skipped, units read
    assert handle.mean == pytest.approx(80.0)


def test_empirical_csv_defaults_to_the_first_column(tmp_path: Path) -> None:
    path = csv_scenario(tmp_path, {"dist": "empirical", "csv": "h.csv"})
    write(tmp_path / "scenarios" / "h.csv", "wrap,other\n10,x\n20,y\n")
    handle = load_scenario(path).directories["sales"].handle_time
    assert isinstance(handle, Empirical) and handle.values == (10.0, 20.0)


def test_empirical_csv_missing_column(tmp_path: Path) -> None:
    path = csv_scenario(tmp_path, {"dist": "empirical", "csv": "h.csv", "column": "second"})
    write(tmp_path / "scenarios" / "h.csv", "seconds,agent\n10,a\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    [line] = info.value.problems
    assert line.startswith("directories.sales.handle_time.column: ")
    assert "has no column 'second' (did you mean 'seconds'?)" in line
    assert line.endswith("it has 'seconds', 'agent'")


def test_empirical_csv_missing_file(tmp_path: Path) -> None:
    path = csv_scenario(tmp_path, {"dist": "empirical", "csv": "nope.csv"})
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    [line] = info.value.problems
    assert line.startswith("directories.sales.handle_time.csv: cannot read ")
    assert "nope.csv" in line


def test_empirical_csv_bad_value(tmp_path: Path) -> None:
    path = csv_scenario(tmp_path, {"dist": "empirical", "csv": "h.csv"})
    write(tmp_path / "scenarios" / "h.csv", "secs\n10\nlong\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    [line] = info.value.problems
    assert line.startswith("directories.sales.handle_time.csv: ")
    assert "line 3, column 'secs': expected a duration" in line


def test_empirical_csv_negative_value(tmp_path: Path) -> None:
    path = csv_scenario(tmp_path, {"dist": "empirical", "csv": "h.csv"})
    write(tmp_path / "scenarios" / "h.csv", "secs\n10\n-4\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.problems[0].startswith("directories.sales.handle_time.csv: ")
    assert "negative" in info.value.problems[0]


def test_empirical_without_values() -> None:
    line = one_problem("directories.sales.handle_time={dist: empirical}")
    assert line.startswith("directories.sales.handle_time: empirical needs")


# --------------------------------------------------------------------------- --set overrides


def test_override_int_value() -> None:
    s = load_scenario(RETAIL, ["agents.sales_team.count=12"])
    count = s.agents["sales_team"].count
    assert count == 12 and isinstance(count, int)


def test_override_rate_string() -> None:
    s = load_scenario(RETAIL, ["directories.sales.arrivals=200/h"])
    arrivals = s.directories["sales"].arrivals
    assert arrivals is not None and arrivals.schedule[0].rate == pytest.approx(200 / 3600)


def test_override_nested_and_typed_values() -> None:
    s = load_scenario(
        RETAIL,
        [
            "directories.sales.patience.mean=5m",
            "directories.sales.automated_message=true",
            "offer.no_answer_probability=0",
            "description=",
        ],
    )
    assert s.directories["sales"].patience == Exponential(dist="exponential", mean=300.0)
    assert s.directories["sales"].automated_message is True
    assert s.offer.no_answer_probability == 0.0
    assert s.description == ""


def test_override_list_index() -> None:
    s = load_scenario(
        RETAIL, ["transfers.0.probability=0.1", "agents.support_team.shifts.1.count=11"]
    )
    assert s.transfers[0].probability == 0.1
    shifts = s.agents["support_team"].shifts
    assert shifts is not None and shifts[1].count == 11


def test_override_replaces_a_plain_value_with_a_mapping() -> None:
    s = load_scenario(RETAIL, ["transfers.0.leave.after=30s"])
    assert s.transfers[0].leave == LeaveAfter(after=30.0)


def test_override_whole_mapping() -> None:
    s = load_scenario(RETAIL, ["directories.sales.handle_time={dist: gamma, mean: 6m, cv: 1}"])
    assert s.directories["sales"].handle_time == Gamma(dist="gamma", mean=360.0, cv=1.0)


def test_override_as_mapping_and_data_left_untouched() -> None:
    data = base()
    before = copy.deepcopy(data)
    changed = apply_overrides(data, {"agents.sales_team.count": 5})
    assert changed["agents"]["sales_team"]["count"] == 5
    assert data == before


def test_override_with_a_bad_index() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(RETAIL, ["transfers.7.probability=0.1"])
    assert info.value.problems == [
        "transfers.7: no item 7; transfers has items 0-1 (--set transfers.7.probability=0.1)"
    ]
    assert info.value.source == str(RETAIL)


def test_override_with_a_word_for_an_index() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(RETAIL, ["transfers.first.probability=0.1"])
    [line] = info.value.problems
    assert line.startswith("transfers.first: transfers is a list; use an item number")


def test_override_indexing_something_that_is_not_a_list() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(RETAIL, ["expect.0=x"])
    [line] = info.value.problems
    assert line.startswith("expect: no item 0")


def test_override_of_an_unknown_top_level_key_is_reported_by_validation() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(RETAIL, ["agnts.x.count=3"])
    assert info.value.problems == ["agnts: unknown key (did you mean 'agents'?)"]


def test_override_of_a_misspelt_name() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(RETAIL, ["agents.sales_tem.count=3"])
    [line] = info.value.problems
    assert line.startswith("agents.sales_tem: no such key (did you mean 'sales_team'?)")


def test_override_of_an_unknown_nested_field_is_reported_by_validation() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(RETAIL, ["directories.sales.paitence=3m"])
    assert info.value.problems == [
        "directories.sales.paitence: unknown key (did you mean 'patience'?)"
    ]


def test_override_values_are_validated() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(RETAIL, ["agents.sales_team.count=-1"])
    assert info.value.problems == ["agents.sales_team.count: must not be negative (got -1)"]


def test_override_without_equals_sign() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(RETAIL, ["seed"])
    [line] = info.value.problems
    assert line.startswith("--set 'seed': write path=value")


def test_override_with_an_empty_path_part() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(RETAIL, ["agents..count=3"])
    [line] = info.value.problems
    assert line.startswith("'agents..count': not a path")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("transfers.1.leave=immediately", "transfers.1.leave: applies to directory transfers"),
        ("transfers.1.retries=3", "transfers.1.retries: applies with on_decline: retry only"),
    ],
)
def test_keys_that_would_be_ignored_are_refused(override: str, message: str) -> None:
    """A planner who writes ``leave`` on an invitation, or ``retries`` without ``retry``,
    is told so instead of getting a silently different model."""
    with pytest.raises(ScenarioError) as caught:
        load_scenario(RETAIL, [override])
    assert any(problem.startswith(message) for problem in caught.value.problems)
