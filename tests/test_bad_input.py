"""Every bad input is a clear error in one round, data stays where the user put it, and
warnings come before a run goes wrong (issue 10).

Each class of bad input (scenario files, values past the limits, options, data files,
damaged results folders, names) runs the real command: exit 2, a message naming the field
or file, no traceback, the case's folder exactly as it was. The cases run in one
subprocess, each under an alarm; these timeouts only guard against a hang (a FIFO read
without O_NONBLOCK blocks for ever), they are not a speed check.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from ccsim.api import simulate
from ccsim.cli import app
from ccsim.output import load_results, write_results
from ccsim.scenario import ScenarioError, load_scenario, scenario_from_dict
from ccsim.scenario.limits import MAX_AGENTS, MAX_DURATION_S
from ccsim.scenario.load import read_scenario_data
from ccsim.scenario.warnings import ScenarioWarning, results_warnings, scenario_warnings

#: Guards against a hang only; a healthy case takes a few seconds.
HANG_GUARD_S = 60.0
runner = CliRunner()

BASE = """\
name: t
duration: 2h
directories:
  sales: {arrivals: 30/h, handle_time: 3m}
agents:
  team: {count: 4, directories: [sales]}
"""
#: What every damaged case's output must never contain.
SECRET = "SECRET-CONTENT-7f3a"


def flat(text: str) -> str:
    return " ".join(text.split())


def snapshot(root: Path) -> dict[str, tuple[str, Any]]:
    """Every entry under ``root``: kind and content (links and FIFOs not followed)."""
    tree: dict[str, tuple[str, Any]] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            key = str(path.relative_to(root))
            if path.is_symlink():
                tree[key] = ("link", os.readlink(path))
            elif path.is_dir():
                tree[key] = ("dir", None)
            elif path.is_file():
                tree[key] = ("file", path.read_bytes())
            else:
                tree[key] = ("special", path.lstat().st_mode)
    return tree


def base_with(old: str, new: str) -> str:
    assert old in BASE
    return BASE.replace(old, new)


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


# --------------------------------------------------------------------------- the cases


@dataclass
class Case:
    """One bad input: how to lay out its folder, the command, what the message says."""

    input_class: str
    name: str
    setup: Callable[[Path], list[str]]
    expect: tuple[str, ...]
    never: tuple[str, ...] = ()
    results: bool = False  # the folder gets a copy of a valid results folder ``res``


CASES: list[Case] = []


def case(
    input_class: str, name: str, *expect: str, never: tuple[str, ...] = (), results: bool = False
) -> Callable[[Callable[[Path], list[str]]], Callable[[Path], list[str]]]:
    def register(setup: Callable[[Path], list[str]]) -> Callable[[Path], list[str]]:
        CASES.append(Case(input_class, name, setup, expect, never, results))
        return setup

    return register


def scenario_case(input_class: str, name: str, text: str | bytes, *expect: str) -> None:
    def setup(folder: Path) -> list[str]:
        write(folder / "s.yaml", text)
        return ["validate", "s.yaml"]

    CASES.append(Case(input_class, name, setup, expect))


# ---- scenario files


@case("scenario file", "missing", "s.yaml", "file not found")
def _(folder: Path) -> list[str]:
    return ["validate", "s.yaml"]


@case("scenario file", "directory", "s.yaml", "is a directory")
def _(folder: Path) -> list[str]:
    (folder / "s.yaml").mkdir()
    return ["run", "s.yaml"]


@case("scenario file", "fifo", "s.yaml", "named pipe (FIFO)")
def _(folder: Path) -> list[str]:
    os.mkfifo(folder / "s.yaml")
    return ["run", "s.yaml"]


@case("scenario file", "dev_zero", "/dev/zero", "character device")
def _(folder: Path) -> list[str]:
    return ["validate", "/dev/zero"]


scenario_case("scenario file", "binary", bytes(range(256)) * 8, "s.yaml", "binary file")
scenario_case("scenario file", "not_utf8", b"name: caf\xe9\n", "s.yaml", "not UTF-8")
scenario_case("scenario file", "huge", "#" * (5 * 1024 * 1024), "s.yaml", "larger than 4 MB")
scenario_case("scenario file", "nested", "a: " + "[" * 5000 + "]" * 5000, "nested more than 64")
scenario_case(
    "scenario file",
    "billion_laughs",
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    ),
    "aliases (*name) expand to more than 1,000,000 values",
)
scenario_case("scenario file", "recursive_alias", "a: &a [*a]\n", "refers to a value")
scenario_case("scenario file", "int_5000_digits", "duration: 1" + "0" * 5000, "too many digits")
scenario_case("scenario file", "empty", "", "the file is empty")
scenario_case("scenario file", "not_a_mapping", "- a\n- b\n", "top level must be a mapping")

# ---- values past the limits (``run``: a value that slipped through would hang or eat memory)


def run_case(name: str, text: str, *expect: str) -> None:
    def setup(folder: Path) -> list[str]:
        write(folder / "s.yaml", text)
        return ["run", "s.yaml", "--workers", "1", "--quiet", "--out", "out"]

    CASES.append(Case("value past a limit", name, setup, expect))


run_case(
    "count_10e400", base_with("count: 4", "count: 1" + "0" * 400), "agents.team.count", "1,000,000"
)
run_case(
    "count_digit_string",
    base_with("count: 4", 'count: "1' + "0" * 400 + '"'),
    "agents.team.count",
)
run_case(
    "duration_digit_string",
    base_with("duration: 2h", 'duration: "1' + "0" * 400 + '"'),
    "duration:",
    "too large: a duration is at most 3660d",
)
run_case(
    "rate_digit_string",
    base_with("30/h", "1" + "0" * 400 + "/h"),
    "directories.sales.arrivals",
    "too large",
)
run_case("duration_nan", base_with("duration: 2h", "duration: .nan"), "duration:", "finite")
run_case(
    "duration_3661d",
    base_with("duration: 2h", "duration: 3661d"),
    "duration: must be at most 3660d",
)
run_case("rate_1e7", base_with("30/h", "10000000/s"), "must be at most 1000000/s")
run_case(
    "cv_1e-200",
    base_with("handle_time: 3m", "handle_time: {dist: gamma, mean: 3m, cv: 1.0e-200}"),
    "directories.sales.handle_time.cv: must be at least 0.001",
)
run_case(
    "cv_1e200",
    base_with("handle_time: 3m", "handle_time: {dist: lognormal, mean: 3m, cv: 1.0e+200}"),
    "directories.sales.handle_time.cv: must be at most 100",
)
run_case("replications_1e30", BASE + "replications: 1" + "0" * 30 + "\n", "replications", "100,000")
run_case("seed_1e30", BASE + "seed: 1" + "0" * 30 + "\n", "seed: must be at most")
run_case(
    "slowdown_inf",
    base_with("count: 4,", "count: 4, max_chats: 2, slowdown: [1, .inf],"),
    "agents.team.slowdown.1",
)
run_case(
    "agents_in_all",
    base_with(
        "team: {count: 4,", "b: {count: 600000, directories: [sales]}\n  team: {count: 600000,"
    ),
    "agents: the groups have 1,200,000 agents in all",
)
run_case(
    "arrivals_in_all",
    base_with("duration: 2h", "duration: 3660d").replace("30/h", "20/s"),
    "directories: about 6,324,480,000 arrivals expected",
    "100,000,000",
)

# ---- options


STAFF = ["staff", "s.yaml", "--group", "team", "--target", "service_level >= 0.8"]


def option_case(name: str, args: list[str], *expect: str, text: str = BASE) -> None:
    def setup(folder: Path) -> list[str]:
        write(folder / "s.yaml", text)
        return args

    CASES.append(Case("option", name, setup, expect))


option_case("replications_huge", ["run", "s.yaml", "-n", "100000000"], "--replications", "100000")
option_case(
    "seed_huge", ["run", "s.yaml", "--seed", "1" + "0" * 30], "--seed", "9223372036854775807"
)
option_case("workers_huge", ["run", "s.yaml", "--workers", "100000"], "--workers", "1024")
option_case(
    "staff_per_interval_1ms",
    [*STAFF, "--per-interval", "1ms"],
    "--per-interval must be at least 1m",
)
option_case(
    "staff_per_interval_too_many",
    [*STAFF, "--per-interval", "2m", "--set", "duration=3660d"],
    "2,635,200 intervals, more than the 1,000 allowed",
)
option_case(
    "set_deep",
    ["validate", "s.yaml", "--set", "description=" + "[" * 300 + "]" * 300],
    "--set",
    "nested more than 64 levels",
)
option_case(
    "set_count_10e400",
    ["validate", "s.yaml", "--set", "agents.team.count=1" + "0" * 400],
    "agents.team.count: must be at most 1,000,000",
)
option_case(
    "set_duration_inf", ["validate", "s.yaml", "--set", "duration=.inf"], "duration:", "finite"
)


@case("option", "report_freq_0", "--freq must be at least 1s", results=True)
def _(folder: Path) -> list[str]:
    return ["report", "res", "--freq", "0"]


@case("option", "report_freq_1ms", "--freq must be at least 1s", results=True)
def _(folder: Path) -> list[str]:
    return ["report", "res", "--freq", "1ms"]


@case("option", "report_freq_too_many", "intervals, more than the 100,000 allowed", results=True)
def _(folder: Path) -> list[str]:
    summary = json.loads((folder / "res" / "summary.json").read_text())
    summary["scenario"]["duration"] = 300 * 86400.0
    (folder / "res" / "summary.json").write_text(json.dumps(summary))
    return ["report", "res", "--freq", "1m"]


# ---- data files named in a scenario


def data_case(
    name: str,
    csv: str,
    *expect: str,
    layout: Callable[[Path], None] = lambda folder: None,
    extra: tuple[str, ...] = (),
    never: tuple[str, ...] = (),
) -> None:
    def setup(folder: Path) -> list[str]:
        layout(folder)
        text = base_with("handle_time: 3m", f"handle_time: {{dist: empirical, csv: '{csv}'}}")
        write(folder / "proj" / "s.yaml", text)
        return ["validate", "proj/s.yaml", *extra]

    CASES.append(Case("data file", name, setup, expect, never))


def _outside(folder: Path) -> None:
    write(folder / "outside.csv", f"secs\n30\n{SECRET}\n")


def _link_out(folder: Path) -> None:
    _outside(folder)
    (folder / "proj").mkdir(parents=True, exist_ok=True)
    (folder / "proj" / "h.csv").symlink_to(folder / "outside.csv")


def _fifo(folder: Path) -> None:
    (folder / "proj").mkdir(parents=True, exist_ok=True)
    os.mkfifo(folder / "proj" / "h.csv")


def _zero(folder: Path) -> None:
    (folder / "proj").mkdir(parents=True, exist_ok=True)
    (folder / "proj" / "h.csv").symlink_to("/dev/zero")


def _huge(folder: Path) -> None:
    write(folder / "proj" / "h.csv", "secs\n" + "1234567890\n" * 5_500_000)


def _binary(folder: Path) -> None:
    write(folder / "proj" / "h.csv", bytes(range(256)) * 16)


def _not_csv(folder: Path) -> None:  # shaped like /etc/passwd
    lines = [f"root:x:0:0:{SECRET}:/root:/bin/bash", "daemon:x:1:1::/usr/sbin:/bin/sh"]
    write(folder / "proj" / "h.csv", "\n".join(lines) + "\n")


def _bad_cell(folder: Path) -> None:
    write(folder / "proj" / "h.csv", f"secs\n30\n$({SECRET})\n")


data_case(
    "absolute_path",
    "/etc/passwd",
    "handle_time.csv",
    "outside the scenario's folder",
    "--allow-outside-data",
    never=("root:",),
)
data_case(
    "dot_dot", "../outside.csv", "outside the scenario's folder", layout=_outside, never=(SECRET,)
)
data_case(
    "symlink_out", "h.csv", "outside the scenario's folder", layout=_link_out, never=(SECRET,)
)
data_case("fifo", "h.csv", "handle_time.csv", "named pipe (FIFO)", layout=_fifo)
data_case(
    "dev_zero_allowed", "h.csv", "character device", layout=_zero, extra=("--allow-outside-data",)
)
data_case("huge", "h.csv", "larger than 50 MB", layout=_huge)
data_case("binary", "h.csv", "binary file", layout=_binary)
data_case(
    "not_a_csv_allowed",
    "../outside_pw.csv",
    "does not start with a row of column names",
    layout=lambda f: _not_csv(f) or shutil.move(f / "proj" / "h.csv", f / "outside_pw.csv"),
    extra=("--allow-outside-data",),
    never=(SECRET, "root:"),
)
data_case(
    "bad_cell_not_echoed", "h.csv", "line 3, column 'secs'", layout=_bad_cell, never=(SECRET,)
)
data_case(
    "folder", "data", "is a folder", layout=lambda f: (f / "proj" / "data").mkdir(parents=True)
)

# ---- damaged results folders, given to report, compare and check


def damaged(name: str, damage: Callable[[Path], None], *expect: str, never: tuple[str, ...] = ()):
    for command in ("report", "compare", "check"):

        def setup(folder: Path, damage: Callable[[Path], None] = damage, command: str = command):
            damage(folder / "res")
            if command == "report":
                return ["report", "res", "-o", "page.html"]
            if command == "compare":
                return ["compare", "res", "res"]
            return ["check", "res", "--expect", "service_level >= 0"]

        CASES.append(
            Case("results folder", f"{name}-{command}", setup, expect, never, results=True)
        )


def _edit_summary(change: Callable[[dict[str, Any]], Any]) -> Callable[[Path], None]:
    def damage(res: Path) -> None:
        summary = json.loads((res / "summary.json").read_text())
        (res / "summary.json").write_text(json.dumps(change(summary)))

    return damage


def _truncate(name: str, keep: float) -> Callable[[Path], None]:
    def damage(res: Path) -> None:
        data = (res / name).read_bytes()
        (res / name).write_bytes(data[: int(len(data) * keep)])

    return damage


def _replace_in(name: str, old: str, new: str) -> Callable[[Path], None]:
    def damage(res: Path) -> None:
        text = (res / name).read_text()
        assert old in text
        (res / name).write_text(text.replace(old, new, 1))

    return damage


def _link_table(res: Path) -> None:
    write(res.parent / "elsewhere.csv", f"replication,chat\n{SECRET},1\n")
    (res / "chats.csv").unlink()
    (res / "chats.csv").symlink_to(res.parent / "elsewhere.csv")


def _csv_in_scenario(res: Path) -> None:
    write(res.parent / "h.csv", f"secs\n30\n{SECRET}\n")
    summary = json.loads((res / "summary.json").read_text())
    summary["scenario"]["directories"]["sales"]["handle_time"] = {
        "dist": "empirical",
        "csv": str(res.parent / "h.csv"),
    }
    (res / "summary.json").write_text(json.dumps(summary))


damaged(
    "summary_a_list",
    lambda res: write(res / "summary.json", "[1, 2]"),
    "summary.json",
    "must hold a JSON object",
)
damaged(
    "summary_not_json",
    lambda res: write(res / "summary.json", '{"scenario": '),
    "summary.json",
    "not valid JSON",
)
damaged(
    "summary_without_scenario",
    _edit_summary(lambda s: {**s, "scenario": 3}),
    "summary.json",
    "'scenario' must be an object",
)
damaged(
    "summary_seed_text",
    _edit_summary(lambda s: {**s, "seed": "x"}),
    "summary.json",
    "'seed' must be a whole number",
)
damaged(
    "replications_missing",
    lambda res: (res / "replications.csv").unlink(),
    "replications.csv",
    "missing",
)
damaged("replications_half", _truncate("replications.csv", 0.5), "replications.csv")
damaged(
    "replications_value_text",
    _replace_in("replications.csv", ",all,offered,", ",all,offered,x"),
    "replications.csv",
    "column 'value' holds values that are not numbers",
)
damaged(
    "replications_column_missing",
    _replace_in("replications.csv", "scope,name,metric,value", "scope,name,metric,valeur"),
    "replications.csv",
    "missing column(s) value",
)
damaged("chats_truncated", _truncate("chats.csv", 0.7), "chats.csv", "truncated")
damaged(
    "chats_column_missing",
    _replace_in("chats.csv", ",wait,", ",wiat,"),
    "chats.csv",
    "missing column(s) wait",
)
damaged(
    "chats_linked_elsewhere",
    _link_table,
    "chats.csv",
    "outside the results folder",
    never=(SECRET,),
)
damaged(
    "chats_a_fifo",
    lambda res: (res / "chats.csv").unlink() or os.mkfifo(res / "chats.csv"),
    "chats.csv",
    "named pipe (FIFO)",
)
damaged(
    "summary_a_fifo",
    lambda res: (res / "summary.json").unlink() or os.mkfifo(res / "summary.json"),
    "res",
    "summary.json",
)
damaged(
    "scenario_names_a_csv", _csv_in_scenario, "summary.json", "is not read here", never=(SECRET,)
)

# ---- names that --set and expectations cannot address

for label, name in [
    ("dot", "a.b"),
    ("equals", "a=b"),
    ("space", "a b"),
    ("control", "a\x1bb"),
    ("empty", ""),
    ("too_long", "x" * 101),
]:
    text = base_with(
        "team: {", f"{json.dumps(name)}: {{count: 1, directories: [sales]}}\n  team: {{"
    )
    scenario_case("name", label, text, "agents: ")

# ---- one round: field, cross-field and reference problems together

scenario_case(
    "one round",
    "every_problem_at_once",
    """\
duration: 1h
warmup: 2h
directories:
  sales: {arrivals: 60/h, handle_time: {dist: gamma, mean: 3m, cv: 0}}
agents:
  team: {count: many, directories: [sales, suport]}
  night:
    directories: [sales]
    shifts: [{from: 0h, to: 2h, count: 1}, {from: 1h, to: 3h, count: x}]
transfers:
  - {from: sales, to: {directory: nowhere}, probability: 0.7}
  - {from: sales, to: {group: supervisors}, probability: 0.6, kind: conference, duration: 1m}
""",
    "directories.sales.handle_time.cv: must be at least 0.001",
    "agents.team.count: expected a whole number",
    "agents.night.shifts.1.count",
    "warmup: must be shorter than duration",
    "agents.team.directories.1: unknown directory 'suport'",
    "agents.night.shifts: shifts 0 (0s-2h) and 1 (1h-3h) overlap",
    "transfers.0.to.directory: unknown directory 'nowhere'",
    "transfers.1.to.group: unknown agent group 'supervisors'",
    "transfers: probabilities from 'sales' (transfers 0, 1) sum to 1.3, more than 1",
)


# --------------------------------------------------------------------------- running them


@dataclass
class Outcome:
    code: int | None
    output: str
    before: dict[str, Any]
    after: dict[str, Any] = field(default_factory=dict)


def _results_folder(root: Path) -> Path:
    scenario = scenario_from_dict(yaml.safe_load(BASE))
    return write_results(simulate(scenario, replications=2), root / "res")


#: Runs every case in one fresh process (one import of ccsim, not a hundred), each case
#: in its own folder and under an alarm: a case that blocks is reported as a hang.
DRIVER = """
import json, os, signal, sys, traceback
from typer.testing import CliRunner
from ccsim.cli import app

class Hang(Exception):
    pass

def alarm(*_):
    raise Hang()

signal.signal(signal.SIGALRM, alarm)
jobs, guard = json.load(open(sys.argv[1])), int(sys.argv[3])
found = {}
for key, folder, args in jobs:
    os.chdir(folder)
    signal.alarm(guard)
    try:
        result = CliRunner().invoke(app, args)
    finally:
        signal.alarm(0)
    error, text = result.exception, result.output
    if isinstance(error, Hang):
        found[key] = [None, text + f"no answer within {guard}s (a hang)"]
        continue
    if error is not None and not isinstance(error, SystemExit):
        text += "".join(traceback.format_exception(error))
    found[key] = [result.exit_code, text]
json.dump(found, open(sys.argv[2], "w"))
"""


def key(item: Case) -> str:
    return f"{item.input_class}:{item.name}"


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Every case run once, each in a folder of its own, in one subprocess."""
    root = tmp_path_factory.mktemp("bad_input")
    results = _results_folder(root / "template")
    jobs = []
    found: dict[str, Outcome] = {}
    for number, item in enumerate(CASES):
        folder = root / f"case{number}"
        folder.mkdir()
        if item.results:
            shutil.copytree(results, folder / "res")
        jobs.append((key(item), str(folder), item.setup(folder)))
        found[key(item)] = Outcome(None, "", snapshot(folder))
    (root / "jobs.json").write_text(json.dumps(jobs))
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb"}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            DRIVER,
            str(root / "jobs.json"),
            str(root / "found.json"),
            str(int(HANG_GUARD_S)),
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S * 5,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    for name, (code, output) in json.loads((root / "found.json").read_text()).items():
        found[name].code, found[name].output = code, output
    for name, folder, _args in jobs:
        found[name].after = snapshot(Path(folder))
    return found


@pytest.mark.parametrize("item", CASES, ids=key)
def test_bad_input_exits_2_naming_the_field_or_file(item: Case, outcomes: dict[str, Outcome]):
    outcome = outcomes[key(item)]
    text = flat(outcome.output)
    assert outcome.code == 2, text
    assert "Traceback" not in outcome.output, outcome.output
    for fragment in item.expect:
        assert flat(fragment) in text, text
    for fragment in item.never:
        assert fragment not in outcome.output, text
    assert outcome.after == outcome.before, "the case's files changed"


def test_every_input_class_has_cases() -> None:
    classes = {item.input_class for item in CASES}
    assert classes == {
        "scenario file",
        "value past a limit",
        "option",
        "data file",
        "results folder",
        "name",
        "one round",
    }
    assert len({key(item) for item in CASES}) == len(CASES)


# --------------------------------------------------------------------------- in Python


def test_one_round_lists_cross_field_problems_with_field_errors() -> None:
    data = yaml.safe_load(BASE)
    data["warmup"] = "3h"
    data["agents"]["team"]["count"] = "x"
    data["agents"]["team"]["directories"] = ["sales", "nope"]
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data)
    assert info.value.problems == [
        "agents.team.count: expected a whole number, got 'x'",
        "warmup: must be shorter than duration",
        "agents.team.directories.1: unknown directory 'nope'",
    ]


def test_a_cross_field_problem_alone_is_listed_once() -> None:
    data = yaml.safe_load(BASE)
    data["warmup"] = "3h"
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data)
    assert info.value.problems == ["warmup: must be shorter than duration"]


def test_overlapping_shifts_next_to_a_field_error_are_listed_once() -> None:
    data = yaml.safe_load(BASE)
    data["agents"]["team"] = {
        "directories": ["sales"],
        "shifts": [{"from": 0, "to": "2h", "count": 1}, {"from": "1h", "to": "2h", "count": 1}],
    }
    data["directories"]["sales"]["handle_time"] = "-3m"
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data)
    overlap = "agents.team.shifts: shifts 0 (0s-2h) and 1 (1h-2h) overlap"
    assert info.value.problems.count(overlap) == 1


@pytest.mark.parametrize(
    ("path", "value", "limit"),
    [
        ("duration", f"{int(MAX_DURATION_S) + 1}", "3660d"),
        ("agents.team.count", MAX_AGENTS + 1, "1,000,000"),
        ("directories.sales.arrivals", "2000000/s", "1000000/s"),
        ("replications", 100_001, "100,000"),
        ("directories.sales.handle_time", {"dist": "gamma", "mean": "3m", "cv": 101}, "100"),
    ],
)
def test_limits_are_in_the_message(path: str, value: Any, limit: str) -> None:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(yaml.safe_load(BASE)).with_changes({path: value})
    assert any(limit in line for line in info.value.problems), info.value.problems


def test_values_at_the_limits_load() -> None:
    scenario = scenario_from_dict(yaml.safe_load(BASE)).with_changes(
        {"duration": "3660d", "agents.team.count": MAX_AGENTS, "replications": 100_000}
    )
    assert scenario.duration == MAX_DURATION_S


def test_data_outside_the_folder_loads_when_allowed(tmp_path: Path) -> None:
    write(tmp_path / "data.csv", "secs\n30\n90\n")
    text = base_with("handle_time: 3m", "handle_time: {dist: empirical, csv: ../data.csv}")
    path = write(tmp_path / "proj" / "s.yaml", text)
    with pytest.raises(ScenarioError, match="outside the scenario's folder"):
        load_scenario(path)
    handle = load_scenario(path, allow_outside_data=True).directories["sales"].handle_time
    assert handle.mean == 60.0


def test_a_link_inside_the_folder_is_followed(tmp_path: Path) -> None:
    write(tmp_path / "proj" / "data" / "h.csv", "secs\n30\n90\n")
    (tmp_path / "proj" / "h.csv").symlink_to(tmp_path / "proj" / "data" / "h.csv")
    text = base_with("handle_time: 3m", "handle_time: {dist: empirical, csv: h.csv}")
    path = write(tmp_path / "proj" / "s.yaml", text)
    assert load_scenario(path).directories["sales"].handle_time.mean == 60.0


def test_saved_results_keep_their_values_and_read_no_csv(tmp_path: Path) -> None:
    write(tmp_path / "h.csv", "secs\n30\n90\n")
    text = base_with("handle_time: 3m", "handle_time: {dist: empirical, csv: h.csv}")
    scenario = load_scenario(write(tmp_path / "s.yaml", text))
    folder = write_results(simulate(scenario, replications=2), tmp_path / "res")
    (tmp_path / "h.csv").unlink()
    again = load_results(folder)
    assert again.scenario.directories["sales"].handle_time.mean == 60.0


# --------------------------------------------------------------------------- warnings

WARNED = """\
name: w
duration: 8
directories:
  sales: {arrivals: 40, handle_time: 5, service_level: 0.5s}
  night:
    arrivals: {schedule: [{from: 0h, rate: 10/h}, {from: 9h, rate: 20/h}]}
    handle_time: {dist: exponential, mean: 3}
agents:
  team: {count: 4, directories: [sales]}
  nighters:
    directories: [night]
    shifts: [{from: 0h, to: 4h, count: 1}, {from: 10h, to: 12h, count: 2}]
"""


def warnings_of(text: str) -> list[ScenarioWarning]:
    data = yaml.safe_load(text)
    return scenario_warnings(scenario_from_dict(data), data)


def test_warnings_name_the_field_and_say_what_was_probably_meant() -> None:
    found = {w.path: w.message for w in warnings_of(WARNED)}
    assert "8 seconds; write 8h" in found["duration"]
    assert "40 chats a second (144,000 an hour)" in found["directories.sales.arrivals"]
    assert "5 seconds; write 5m" in found["directories.sales.handle_time"]
    assert "3 seconds" in found["directories.night.handle_time.mean"]
    assert "never applies" in found["directories.night.arrivals.schedule.1.from"]
    assert "never applies" in found["agents.nighters.shifts.1.from"]
    assert "under one second" in found["directories.sales.service_level"]
    assert "exceeds the 16 slots" in found["directories.sales"]


def test_arrivals_while_nobody_is_on_shift() -> None:
    text = WARNED.replace("duration: 8", "duration: 12h")
    found = [w for w in warnings_of(text) if w.path == "directories.night"]
    assert [w.message.split(" (")[0] for w in found] == [
        "chats arrive from 4h to 10h while no agent who serves it is on shift"
    ]


def test_groups_shared_by_directories_are_checked_together() -> None:
    text = """\
duration: 8h
directories:
  a: {arrivals: 60/h, handle_time: 9m}
  b: {arrivals: 60/h, handle_time: 9m}
agents:
  ab: {count: 3, directories: [a, b], max_chats: 2}
  a_only: {count: 2, directories: [a], max_chats: 2}
  b_only: {count: 2, directories: [b], max_chats: 2}
"""
    found = warnings_of(text)
    # each alone fits in 10 slots (9 needed), together 18 > 14
    assert [w.path for w in found] == ["directories"]
    assert found[0].message.startswith("a, b together: offered load 18 slots exceeds the 14")


def test_a_balanced_scenario_has_no_warnings() -> None:
    assert warnings_of(BASE) == []


def test_validate_warns_on_stderr_and_strict_exits_2(tmp_path: Path) -> None:
    path = write(tmp_path / "w.yaml", WARNED)
    warned = runner.invoke(app, ["validate", str(path)])
    assert warned.exit_code == 0
    assert "warning: directories.sales.arrivals:" in flat(warned.stderr)
    assert "valid scenario" in flat(warned.stdout)
    strict = runner.invoke(app, ["validate", str(path), "--strict"])
    assert strict.exit_code == 2
    assert "--strict" in flat(strict.stderr) and "valid scenario" not in strict.stdout
    clean = runner.invoke(app, ["validate", str(write(tmp_path / "ok.yaml", BASE)), "--strict"])
    assert clean.exit_code == 0, clean.output


def test_run_strict_stops_before_running(tmp_path: Path) -> None:
    path = write(tmp_path / "w.yaml", WARNED)
    before = snapshot(tmp_path)
    result = runner.invoke(app, ["run", str(path), "--strict", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "warning:" in result.stderr and "Traceback" not in result.output
    assert snapshot(tmp_path) == before


def test_run_says_when_the_queue_grew_without_bound(tmp_path: Path) -> None:
    text = base_with("30/h", "60/h").replace("count: 4", "count: 1, max_chats: 1")
    path = write(tmp_path / "s.yaml", text)
    result = runner.invoke(app, ["run", str(path), "-n", "2", "--workers", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "exceeds the 1 slots" in flat(result.stderr)  # before the run
    assert "were still waiting for an agent when the run stopped" in flat(result.stderr)


def test_results_warnings_stay_quiet_on_a_stable_queue() -> None:
    scenario = scenario_from_dict(yaml.safe_load(BASE))
    assert results_warnings(simulate(scenario, replications=2)) == []


def test_warnings_read_bare_numbers_from_the_file_and_overrides(tmp_path: Path) -> None:
    path = write(tmp_path / "s.yaml", BASE)
    data = read_scenario_data(path, ["directories.sales.arrivals=3"])
    found = scenario_warnings(scenario_from_dict(data), data)
    assert [w.path for w in found if "a second" in w.message] == ["directories.sales.arrivals"]


def test_settings_that_make_every_alert_fail_are_warned() -> None:
    """Alerts that are never answered, and invitations of a group with nobody in it,
    are warned at the field that causes them (the run would otherwise blame load)."""
    text = BASE.replace(
        "  team: {count: 4, directories: [sales]}",
        "  team: {count: 4, directories: [sales]}\n  sup: {count: 0}\n"
        "offer: {no_answer_probability: 1, response_time: 20s, no_answer_timeout: 10s}\n"
        "transfers: [{from: sales, to: {group: sup}, probability: 0.1}]",
    )
    found = {w.path: w.message for w in warnings_of(text)}
    assert "every offer and invitation is missed" in found["offer.no_answer_probability"]
    assert "exceeds no_answer_timeout" in found["offer.response_time"]
    assert "no agents on shift" in found["transfers.0.to.group"]
