"""Files are never destroyed or changed behind the user's back (issue 10).

Every output path ccsim refuses exits 2 before any work, with a message naming the path,
no traceback, and the file system exactly as it was. Only ccsim's own outputs are replaced
(results folders only with --force); killed writers leave nothing that the next write
does not tidy; pool workers die with their parent; a lost Dask cluster is one line.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

import ccsim
import ccsim.output
from ccsim.api import Results
from ccsim.cli import app
from ccsim.commands.check import junit_report, junit_text
from ccsim.expect import Expectation, Verdict
from ccsim.output import load_results, write_results
from ccsim.safe_write import MARKER, OutputRefused, exclusive_lock, read_marker
from ccsim.sweep import SweepError, SweepFile

ROOT = Path(__file__).resolve().parents[1]
RETAIL = ROOT / "scenarios" / "retail.yaml"
QUICK = ["--set", "duration=1h", "--set", "warmup=10m", "-n", "2", "--workers", "1", "--quiet"]
CCSIM = Path(sys.executable).with_name("ccsim")
#: Bounds a wait for a subprocess so a broken test fails instead of hanging (not a speed check).
PATIENCE_S = 300.0
runner = CliRunner()


def flat(text: str) -> str:
    return " ".join(text.split())


def snapshot(root: Path) -> dict[str, tuple[str, bytes | str]]:
    """Every entry under ``root`` with its kind and content (links not followed)."""
    tree: dict[str, tuple[str, bytes | str]] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            key = str(path.relative_to(root))
            if path.is_symlink():
                tree[key] = ("link", os.readlink(path))
            elif path.is_dir():
                tree[key] = ("dir", "")
            else:
                tree[key] = ("file", path.read_bytes())
    return tree


def litter(folder: Path) -> list[str]:
    """Names ccsim uses for staging, set-aside and temporary entries."""
    return sorted(p.name for p in folder.iterdir() if ".ccsim-" in p.name and p.name != MARKER)


@pytest.fixture(scope="module")
def results() -> Results:
    scenario = ccsim.load_scenario(RETAIL, ["duration=1h", "warmup=10m"])
    return ccsim.simulate(scenario, replications=1, seed=3)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user's working folder: a project with its scenario and data, and documents."""
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "s.yaml").write_text(RETAIL.read_text())
    (tmp_path / "proj" / "data.csv").write_text("x\n1\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "letter.txt").write_text("Dear planner,\n")
    (tmp_path / "docs" / "sub").mkdir()
    (tmp_path / "docs" / "sub" / "budget.xlsx").write_bytes(b"PK\x03\x04")
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    return tmp_path


@pytest.fixture
def no_simulation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a command simulates: refusals must come before any work."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the simulation ran before the output path was checked")

    # every command imports ccsim.api's simulate when it runs (start-up stays light)
    monkeypatch.setattr("ccsim.api.simulate", refuse)
    monkeypatch.setattr("ccsim.output.load_results", refuse)


def assert_refused(result: Any, path: str, reason: str) -> None:
    assert result.exit_code == 2, result.output
    message = flat(result.output)
    assert path in message and reason in message, message
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------- refusals


def _ccsim_results(base: Path, results: Results) -> str:
    write_results(results, base / "old")
    return str(base / "old")


def _ccsim_results_with_notes(base: Path, results: Results) -> str:
    write_results(results, base / "old")
    (base / "old" / "notes.txt").write_text("my conclusions\n")
    return str(base / "old")


def _link(base: Path, results: Results) -> str:
    write_results(results, base / "real")
    (base / "link").symlink_to(base / "real")
    return str(base / "link")


OUT_CASES: dict[str, tuple[Callable[[Path, Results], str], list[str], str]] = {
    # case: (make the --out path, extra options, reason in the message)
    "current folder": (lambda base, _: ".", [], "is the current folder"),
    "a folder holding the current one": (lambda base, _: str(base), [], "holds the current one"),
    "the scenario's own folder": (
        lambda base, _: str(base / "proj"),
        ["--force"],
        "holds the input",
    ),
    "a folder of user files": (lambda base, _: str(base / "docs"), ["--force"], "did not write"),
    "a file": (lambda base, _: str(base / "docs" / "letter.txt"), [], "is a file, not a folder"),
    "a path under a file": (
        lambda base, _: str(base / "docs" / "letter.txt" / "results"),
        [],
        "nothing can be written under it",
    ),
    "an unwritable place": (lambda base, _: "/proc/ccsim-results", [], "cannot create files in"),
    "a symbolic link": (_link, ["--force"], "is a symbolic link"),
    "ccsim results without --force": (_ccsim_results, [], "add --force to replace them"),
    "ccsim results holding user files": (
        _ccsim_results_with_notes,
        ["--force"],
        "also files ccsim did not write (notes.txt)",
    ),
}


@pytest.mark.parametrize("case", list(OUT_CASES))
@pytest.mark.usefixtures("no_simulation")
def test_run_out_refuses_before_running_and_changes_nothing(
    case: str, workspace: Path, results: Results
) -> None:
    make, extra, reason = OUT_CASES[case]
    if case == "an unwritable place" and not Path("/proc").is_dir():
        pytest.skip("no /proc here")
    out = make(workspace, results)
    before = snapshot(workspace)
    result = runner.invoke(
        app, ["run", str(workspace / "proj" / "s.yaml"), *QUICK, "--out", out, *extra]
    )
    assert_refused(result, f"--out {out}", reason)
    assert snapshot(workspace) == before


def test_a_folder_holding_the_scenario_is_refused(workspace: Path, no_simulation: None) -> None:
    (workspace / "area").mkdir()
    os.rename(workspace / "proj", workspace / "area" / "proj")
    before = snapshot(workspace)
    scenario = workspace / "area" / "proj" / "s.yaml"
    result = runner.invoke(
        app, ["run", str(scenario), *QUICK, "--out", str(workspace / "area"), "--force"]
    )
    assert_refused(result, str(workspace / "area"), "never replaces the folder of its own input")
    assert snapshot(workspace) == before


FILE_CASES: dict[str, tuple[list[str], str, str]] = {
    # case: (command after the scenario or results, option shown, reason)
    "run --report on a folder": (["--report", "{docs}"], "--report {docs}", "is a folder"),
    "run --report on a user file": (
        ["--report", "{letter}"],
        "--report {letter}",
        "is not an HTML report written by ccsim",
    ),
    "run --report under a file": (
        ["--report", "{letter}/r.html"],
        "--report {letter}/r.html",
        "nothing can be written under it",
    ),
    "check --junit on a user file": (
        ["--junit", "{letter}"],
        "--junit {letter}",
        "is not a JUnit report written by ccsim",
    ),
    "check --junit on a folder": (["--junit", "{docs}"], "--junit {docs}", "is a folder"),
    "report -o on a user file": (
        ["-o", "{letter}"],
        "--output {letter}",
        "is not an HTML report written by ccsim",
    ),
    "report --figures on a user folder": (
        ["--figures", "{docs}"],
        "--figures {docs}",
        "did not write",
    ),
    "report --figures on the results folder": (
        ["--figures", "{saved}"],
        "--figures {saved}",
        "is the input",
    ),
}


@pytest.mark.parametrize("case", list(FILE_CASES))
def test_file_outputs_refuse_what_ccsim_did_not_write(
    case: str, workspace: Path, results: Results, no_simulation: None
) -> None:
    saved = workspace / "saved"
    write_results(results, saved)
    options, shown, reason = FILE_CASES[case]
    names = {
        "docs": str(workspace / "docs"),
        "letter": str(workspace / "docs" / "letter.txt"),
        "saved": str(saved),
    }
    options = [option.format(**names) for option in options]
    command = case.split(" ", 1)[0]
    source = str(saved) if command == "report" else str(workspace / "proj" / "s.yaml")
    args = [command, source, *options]
    if command == "run":
        args += QUICK
    elif command == "check":
        args += ["-e", "service_level >= 0"]
    before = snapshot(workspace)
    result = runner.invoke(app, args)
    assert_refused(result, shown.format(**names), reason)
    assert snapshot(workspace) == before


def test_run_report_and_out_on_the_same_path_are_refused(workspace: Path) -> None:
    result = runner.invoke(
        app,
        ["run", str(workspace / "proj" / "s.yaml"), *QUICK, "--out", "x", "--report", "x"],
    )
    assert_refused(result, "--report x", "also the --out folder")
    assert list((workspace / "work").iterdir()) == []


# --------------------------------------------------------------------------- replacing


def test_only_ccsim_outputs_are_replaced_and_results_only_with_force(workspace: Path) -> None:
    scenario = str(workspace / "proj" / "s.yaml")
    outputs = ["--out", "res", "--report", "page.html"]
    first = runner.invoke(app, ["run", scenario, *QUICK, *outputs])
    assert first.exit_code == 0, first.output
    summary = (workspace / "work" / "res" / "summary.json").read_bytes()
    assert read_marker(workspace / "work" / "res")["ccsim_output"] == "results"

    again = runner.invoke(app, ["run", scenario, *QUICK, *outputs, "--seed", "99"])
    assert_refused(again, "--out res", "holds ccsim results from an earlier run")
    assert (workspace / "work" / "res" / "summary.json").read_bytes() == summary

    forced = runner.invoke(app, ["run", scenario, *QUICK, *outputs, "--seed", "99", "--force"])
    assert forced.exit_code == 0, forced.output
    assert load_results(workspace / "work" / "res").seed == 99
    assert sorted(os.listdir(workspace / "work")) == ["page.html", "res"]

    # derived files ccsim wrote are replaced without --force: a page, charts, a JUnit file
    for _ in range(2):
        page = runner.invoke(app, ["report", "res", "--figures", "res/png"])
        assert page.exit_code == 0, page.output
        check = runner.invoke(app, ["check", scenario, *QUICK[:4], "-e", "offered >= 0"])
        junit = runner.invoke(
            app, ["check", scenario, *QUICK[:4], "-e", "offered >= 0", "--junit", "ci.xml"]
        )
        assert check.exit_code == junit.exit_code == 0, junit.output
    ET.parse(workspace / "work" / "ci.xml")
    # a page and charts inside a results folder are ccsim's: --force still replaces it
    forced = runner.invoke(app, ["run", scenario, *QUICK, "--out", "res", "--force"])
    assert forced.exit_code == 0, forced.output
    assert litter(workspace / "work") == []


def test_write_results_follows_the_same_rules(workspace: Path, results: Results) -> None:
    before = snapshot(workspace)
    for target in (workspace / "docs", workspace / "proj", workspace / "docs" / "letter.txt"):
        with pytest.raises(OutputRefused) as refused:
            write_results(results, target, force=True)
        assert str(target) in str(refused.value)
    assert snapshot(workspace) == before
    out = workspace / "fresh"
    write_results(results, out)
    with pytest.raises(OutputRefused, match="force=True"):
        write_results(results, out)
    write_results(results, out, force=True)
    assert load_results(out).seed == results.seed
    empty = workspace / "empty"
    empty.mkdir()
    write_results(results, empty)  # an empty folder holds nothing to lose
    assert (empty / "summary.json").is_file()


def test_run_out_on_user_and_scenario_folders_deletes_nothing(workspace: Path) -> None:
    """The acceptance test of issue 10: the folders survive byte for byte, even with
    --force, and the run that follows with a proper --out works."""
    scenario = workspace / "proj" / "s.yaml"
    before = snapshot(workspace)
    for out in (workspace / "proj", workspace / "docs"):
        for force in ([], ["--force"]):
            result = runner.invoke(app, ["run", str(scenario), *QUICK, "--out", str(out), *force])
            assert result.exit_code == 2, result.output
            assert "Traceback" not in result.output
    assert snapshot(workspace) == before
    result = runner.invoke(
        app, ["run", str(scenario), *QUICK, "--out", str(workspace / "proj" / "results")]
    )
    assert result.exit_code == 0, result.output
    after = snapshot(workspace)
    assert {k: v for k, v in after.items() if not k.startswith("proj/results")} == before


# --------------------------------------------------------------------------- killed writers


WRITER = """
import os, sys, time
import ccsim.output
import ccsim.safe_write

pause = sys.argv[1]
real_table, real_rename = ccsim.output._write_table, os.rename

def table_then_pause(frame, stem, fmt, header):
    real_table(frame, stem, fmt, header)
    if pause == "tables":
        print("PAUSED", flush=True)
        time.sleep(3600)

def rename(source, target, *args, **kwargs):
    if pause == "swap" and ".ccsim-staging-" in os.fspath(source):
        print("PAUSED", flush=True)
        time.sleep(3600)
    return real_rename(source, target, *args, **kwargs)

ccsim.output._write_table = table_then_pause
ccsim.safe_write.os.rename = rename
from ccsim.cli import app
app(sys.argv[2:])
"""


def kill_when_paused(pause: str, args: list[str], cwd: Path) -> None:
    """Run the CLI in a child that stops at ``pause``, then SIGKILL it there."""
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, pause, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    guard = threading.Timer(PATIENCE_S, child.kill)  # a hung child fails the test instead
    guard.start()
    try:
        line = child.stdout.readline() if child.stdout else ""
        assert line.strip() == "PAUSED", f"the child did not pause: {child.stderr.read()}"
        child.send_signal(signal.SIGKILL)
        child.wait()
    finally:
        guard.cancel()
        child.kill()
        child.wait()
        for stream in (child.stdout, child.stderr):
            if stream:
                stream.close()


def test_a_run_killed_while_writing_leaves_no_litter_after_the_next_run(tmp_path: Path) -> None:
    args = ["run", str(RETAIL), *QUICK, "--out", "res"]
    kill_when_paused("tables", args, tmp_path)
    assert not (tmp_path / "res").exists()
    (staging,) = litter(tmp_path)
    assert ".res.ccsim-staging-" in staging and (tmp_path / staging / MARKER).is_file()

    result = runner.invoke(app, ["run", str(RETAIL), *QUICK, "--out", str(tmp_path / "res")])
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(tmp_path)) == ["res"]
    marker = read_marker(tmp_path / "res")
    assert marker is not None
    assert sorted(p.name for p in (tmp_path / "res").iterdir()) == sorted(
        [MARKER, *marker["files"]]
    )
    assert load_results(tmp_path / "res").replications == 2


def test_a_replacement_killed_midway_keeps_the_old_results_recoverable(
    tmp_path: Path, results: Results
) -> None:
    old = tmp_path / "res"
    write_results(results, old)
    summary = (old / "summary.json").read_bytes()
    args = ["run", str(RETAIL), *QUICK, "--out", "res", "--force"]
    kill_when_paused("swap", args, tmp_path)
    # killed between moving the old results aside and the new ones in: the old are kept
    assert not old.exists()
    aside = [name for name in litter(tmp_path) if ".res.ccsim-old-" in name]
    assert len(aside) == 1 and (tmp_path / aside[0] / "summary.json").read_bytes() == summary

    # the next write puts them back (and, without --force, refuses to replace them)
    refused = runner.invoke(app, ["run", str(RETAIL), *QUICK, "--out", str(old)])
    assert_refused(refused, str(old), "add --force")
    assert (old / "summary.json").read_bytes() == summary
    assert litter(tmp_path) == []

    forced = runner.invoke(app, ["run", str(RETAIL), *QUICK, "--out", str(old), "--force"])
    assert forced.exit_code == 0, forced.output
    assert sorted(os.listdir(tmp_path)) == ["res"]
    assert load_results(old).replications == 2


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_only_leftovers_of_dead_ccsim_writers_are_removed(tmp_path: Path, results: Results) -> None:
    dead, alive = _dead_pid(), os.getpid()
    stale = tmp_path / f".res.ccsim-staging-{dead}-abcd1234"
    stale.mkdir()
    (stale / MARKER).write_text('{"ccsim_output": "results", "files": []}')
    (tmp_path / f".res.ccsim-tmp-{dead}-abcd1234").write_text("half a file")
    running = tmp_path / f".res.ccsim-staging-{alive}-abcd1234"  # a live writer's
    running.mkdir()
    unmarked = tmp_path / f".res.ccsim-staging-{dead}-zzzz0000"  # not recognisably ccsim's
    unmarked.mkdir()
    (unmarked / "mine.txt").write_text("keep me")
    other = tmp_path / f".other.ccsim-staging-{dead}-abcd1234"  # another target's
    other.mkdir()
    write_results(results, tmp_path / "res")
    assert not stale.exists() and not (tmp_path / f".res.ccsim-tmp-{dead}-abcd1234").exists()
    assert running.is_dir() and (unmarked / "mine.txt").is_file() and other.is_dir()


# --------------------------------------------------------------------------- sweeps


def test_sweep_out_never_touches_a_file_that_is_not_a_sweep_csv(workspace: Path) -> None:
    scenario = workspace / "proj" / "s.yaml"
    target = workspace / "docs" / "plan.yaml"
    target.write_bytes(b"name: x\nlast: rule without a newline")
    for out in (target, workspace / "docs"):
        before = snapshot(workspace)
        axis = ["--set", "agents.sales_team.count=10,11"]
        result = runner.invoke(app, ["sweep", str(scenario), *axis, *QUICK, "--out", str(out)])
        assert_refused(result, str(out), "not a ccsim sweep CSV" if out == target else "folder")
        assert snapshot(workspace) == before


def test_a_second_sweep_on_the_same_csv_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "sweep.csv"
    args = ["sweep", str(RETAIL), "--set", "agents.sales_team.count=10,11", *QUICK]
    with exclusive_lock(out):  # what a running sweep holds
        result = runner.invoke(app, [*args, "--out", str(out)])
        assert_refused(result, str(out), "another sweep is writing")
        assert not out.exists()
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = out.read_text().splitlines()
    assert len(rows) == 3  # the header and one row per point, none twice
    assert sorted(os.listdir(tmp_path)) == ["sweep.csv"]  # the lock file is gone


def test_the_sweep_lock_is_held_while_the_sweep_runs(tmp_path: Path) -> None:
    sweep_file = SweepFile(tmp_path / "s.csv", ["x", "seed", "replications", "scenario_sha"], "d")
    with (
        sweep_file.lock(),
        sweep_file.lock(),  # re-entrant within one sweep
        pytest.raises(OutputRefused, match="another ccsim process"),
        exclusive_lock(tmp_path / "s.csv"),
    ):
        pass


@pytest.mark.parametrize(("axis", "hint"), [("seed=1,2", "--seed"), ("replications=2..4", "-n")])
def test_seed_and_replications_are_not_sweep_axes(tmp_path: Path, axis: str, hint: str) -> None:
    out = tmp_path / "sweep.csv"
    result = runner.invoke(app, ["sweep", str(RETAIL), "--set", axis, *QUICK, "--out", str(out)])
    assert_refused(result, f"--set {axis.split('=')[0]}", "cannot be swept")
    assert hint in flat(result.output)
    assert not out.exists()


# --------------------------------------------------------------------------- JUnit


def test_junit_xml_stays_valid_with_control_characters_in_names() -> None:
    expectation = Expectation(
        "directories.sa\x01les.wait_p90 < 1m", "directories", "sa\x01les", "wait_p90", "<", 60.0
    )
    verdicts = [
        Verdict(expectation, True, 30.0, 20.0, 40.0, 5, False, ""),
        Verdict(expectation, False, 90.0, 80.0, 99.0, 5, False, "the mean is \x1b[31mnot\x00"),
    ]
    text = junit_text(junit_report(verdicts, "bad\x0bname\ufffe", {"scenario": "a\x07b"}, 1.0))
    root = ET.fromstring(text.encode("utf-8"))
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == "bad\\x0bname\\ufffe"
    assert [case.get("name") for case in suite.iter("testcase")] == [
        "directories.sa\\x01les.wait_p90 < 1m"
    ] * 2
    assert "\\x1b[31mnot\\x00" in text


def test_check_junit_with_a_control_character_in_the_scenario_path(tmp_path: Path) -> None:
    folder = tmp_path / "qa\x01\x1b[1m"
    folder.mkdir()
    scenario = folder / "s.yaml"
    scenario.write_text(RETAIL.read_text())
    report = tmp_path / "ci.xml"
    result = runner.invoke(
        app, ["check", str(scenario), *QUICK[:4], "-e", "offered >= 0", "--junit", str(report)]
    )
    assert result.exit_code == 0, result.output
    properties = {p.get("name"): p.get("value") for p in ET.parse(report).iter("property")}
    assert properties["scenario"].endswith("qa\\x01\\x1b[1m/s.yaml")


# --------------------------------------------------------------------------- processes


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie may wait for a reaper that never comes)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _poll(condition: Callable[[], bool]) -> bool:
    """Whether ``condition`` becomes true within the patience bound."""
    done = threading.Event()
    timer = threading.Timer(PATIENCE_S, done.set)
    timer.start()
    try:
        while not done.is_set():
            if condition():
                return True
            done.wait(0.1)
        return condition()
    finally:
        timer.cancel()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_pool_workers_exit_when_the_main_process_is_killed(tmp_path: Path) -> None:
    main = subprocess.Popen(
        [str(CCSIM), "run", str(RETAIL), "-n", "40", "--workers", "2", "--quiet"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert _poll(lambda: len(_children(main.pid)) >= 2), "the pool did not start"
        workers = _children(main.pid)
    finally:
        main.send_signal(signal.SIGKILL)
        main.wait()
    assert _poll(lambda: not any(_running(pid) for pid in workers)), "workers outlived the run"


def test_a_dask_cluster_lost_mid_run_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    distributed = pytest.importorskip("distributed")
    from ccsim.executors import Progress

    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0", host="127.0.0.1"
    )

    def close_cluster_once(self: Progress, _: object = None) -> None:
        if cluster.status.name != "closed":
            cluster.close()

    monkeypatch.setattr(Progress, "__call__", close_cluster_once)
    try:
        address = ["--scheduler", cluster.scheduler_address]
        result = runner.invoke(
            app, ["run", str(RETAIL), "-n", "12", "--set", "duration=2h", *address, "--quiet"]
        )
    finally:
        cluster.close()
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "lost the Dask cluster" in errors[0], result.output
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------- QA attack round


def _copy_of_safe_write(path: Path) -> None:
    path.write_bytes((ROOT / "ccsim" / "safe_write.py").read_bytes())


def _note_mentioning_ccsim(path: Path) -> None:
    path.write_text(
        '# My notes\n\nccsim pages carry `<meta name="generator" content="ccsim 1.0">` and '
        "JUnit files `<?xml version='1.0' encoding='utf-8'?>\n<!-- generator: ccsim 1.0 "
        "(JUnit report of ccsim check) -->` somewhere.\n"
    )


@pytest.mark.parametrize("content", [_copy_of_safe_write, _note_mentioning_ccsim])
@pytest.mark.parametrize("command", ["run --report", "check --junit", "report -o"])
def test_a_file_that_merely_mentions_ccsim_is_never_replaced(
    command: str,
    content: Callable[[Path], None],
    workspace: Path,
    results: Results,
    no_simulation: None,
) -> None:
    """P1: only a file that starts with ccsim's exact document head is ccsim's."""
    saved = workspace / "saved"
    write_results(results, saved)
    target = workspace / "docs" / "notes.md"
    content(target)
    name, option = command.split(" ")
    args = [name, str(saved) if name == "report" else str(workspace / "proj" / "s.yaml")]
    args += [option, str(target)]
    args += QUICK if name == "run" else ["-e", "service_level >= 0"] if name == "check" else []
    before = snapshot(workspace)
    result = runner.invoke(app, args)
    shown = "--output" if option == "-o" else option
    assert_refused(result, f"{shown} {target}", "written by ccsim")
    assert snapshot(workspace) == before


def _sweep(scenario: Path, out: Path, axis: str = "agents.sales_team.count=10,11") -> Any:
    return runner.invoke(app, ["sweep", str(scenario), "--set", axis, *QUICK, "--out", str(out)])


def test_a_torn_sweep_file_is_checked_before_its_last_line_is_cut(workspace: Path) -> None:
    """P2: a file of another sweep (or scenario) with a torn last line stays byte for byte."""
    scenario = workspace / "proj" / "s.yaml"
    own = workspace / "docs" / "own.csv"
    assert _sweep(scenario, own).exit_code == 0
    whole = own.read_bytes()
    torn = whole + b"12,7,2,0.95,abc"  # a last line without newline

    edited = workspace / "docs" / "edited.yaml"
    data = yaml.safe_load(scenario.read_text())
    data["name"] = f"{data['name']} edited"
    edited.write_text(yaml.safe_dump(data, sort_keys=False))
    other_scenario = workspace / "docs" / "other-scenario.csv"
    other_scenario.write_bytes(torn)
    result = _sweep(edited, other_scenario)
    assert_refused(result, str(other_scenario), "different scenario")
    assert other_scenario.read_bytes() == torn

    # this sweep's own file: the torn line is repaired and the sweep resumes
    own.write_bytes(torn)
    result = _sweep(scenario, own)
    assert result.exit_code == 0, result.output
    assert own.read_bytes() == whole


def test_a_sweep_file_of_another_sweep_with_a_torn_line_is_left_whole(tmp_path: Path) -> None:
    out = tmp_path / "s.csv"
    columns = ["x", "seed", "replications", "confidence", "scenario_sha", "m", "m_ci_low"]
    columns.append("m_ci_high")
    text = ",".join(columns) + "\n1,1,2,0.95,d,0.5,0.4,0.6\n2,1,2,0.9"
    out.write_text(text)
    for mine, digest in ((["y", *columns[1:]], "d"), (columns, "other")):
        with pytest.raises(SweepError):
            SweepFile(out, mine, digest).load()
        assert out.read_text() == text
    assert len(SweepFile(out, columns, "d").load()) == 1
    assert out.read_text() == text.rsplit("\n", 1)[0] + "\n"


def _forged(folder: Path, kind: str, files: object) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    marker = {"ccsim_output": kind, "format": 2, "ccsim": ccsim.__version__, "files": files}
    (folder / MARKER).write_text(json.dumps(marker))


@pytest.mark.parametrize(
    "files",
    [["thesis.docx"], {"thesis.docx": "0" * 64}, {"thesis.docx": True}],
    ids=["list", "wrong hash", "no hash"],
)
def test_a_forged_marker_never_makes_user_files_deletable(
    workspace: Path, results: Results, files: object
) -> None:
    """P4: a marker's word alone deletes nothing, at the top or in a nested folder."""
    scenario = str(workspace / "proj" / "s.yaml")
    forged = workspace / "forged"
    _forged(forged, "results", files)
    (forged / "thesis.docx").write_bytes(b"PK\x03\x04 four years of work")
    nested = workspace / "nested"
    write_results(results, nested)
    _forged(nested / "old", "results", files)
    (nested / "old" / "thesis.docx").write_bytes(b"PK\x03\x04 four years of work")
    figures = workspace / "figs"
    _forged(figures, "figures", ["photo.png"] if isinstance(files, list) else {"photo.png": "0"})
    (figures / "photo.png").write_bytes(b"\x89PNG holiday")
    before = snapshot(workspace)
    for out, shown in ((forged, "thesis.docx"), (nested, "old")):
        result = runner.invoke(app, ["run", scenario, *QUICK, "--out", str(out), "--force"])
        assert_refused(result, str(out), f"did not write ({shown})")
    result = runner.invoke(app, ["report", str(nested), "--figures", str(figures)])
    assert_refused(result, f"--figures {figures}", "did not write (photo.png)")
    assert snapshot(workspace) == before


def test_only_regular_litter_files_and_ccsim_pages_are_ccsims(
    workspace: Path, results: Results
) -> None:
    """P5: a folder named like litter holds user data; a page is ccsim's only by its hash."""
    scenario = str(workspace / "proj" / "s.yaml")
    res = workspace / "res"
    write_results(results, res)
    for name in (".DS_Store", "Thumbs.db", "desktop.ini"):
        (res / name).mkdir()
        (res / name / "mine.txt").write_text("user data\n")
        before = snapshot(workspace)
        result = runner.invoke(app, ["run", scenario, *QUICK, "--out", str(res), "--force"])
        assert_refused(result, str(res), f"did not write ({name})")
        assert snapshot(workspace) == before
        (res / name / "mine.txt").unlink()
        (res / name).rmdir()
    page = runner.invoke(app, ["report", str(res)])  # a page ccsim writes into the folder
    assert page.exit_code == 0, page.output
    (res / "notes.html").write_text(
        (res / "report.html").read_text().replace("</body>", "<p>my notes</p></body>")
    )
    before = snapshot(workspace)
    result = runner.invoke(app, ["run", scenario, *QUICK, "--out", str(res), "--force"])
    assert_refused(result, str(res), "did not write (notes.html)")
    assert snapshot(workspace) == before
    (res / "notes.html").unlink()
    (res / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")  # a regular litter file
    result = runner.invoke(app, ["run", scenario, *QUICK, "--out", str(res), "--force"])
    assert result.exit_code == 0, result.output
    assert (res / ".DS_Store").read_bytes() == b"\x00\x00\x00\x01Bud1"  # kept, not deleted
    assert not (res / "report.html").exists()  # ccsim's own page went with the old results
    assert litter(workspace) == []


def _fill(folder: Path) -> None:
    descriptor = os.open(folder / "filler.bin", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        with contextlib.suppress(OSError):
            while os.write(descriptor, b"\0" * 512):
                pass
    finally:
        os.close(descriptor)


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A small tmpfs filled to the last byte (root only, where mounting is allowed)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or not sys.platform.startswith("linux"):
        pytest.skip("mounting a small file system needs root on Linux")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        _fill(disk)
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_outputs_on_a_full_disk_are_one_error_line(full_disk: Path, workspace: Path) -> None:
    """P6: every output on a full disk: one error line, no traceback, nothing left."""
    scenario = str(workspace / "proj" / "s.yaml")
    before = snapshot(full_disk)
    commands = {
        "--out": ["run", scenario, *QUICK, "--out", str(full_disk / "res")],
        "--report": ["run", scenario, *QUICK, "--report", str(full_disk / "r.html")],
        "--junit": [
            *["check", scenario, *QUICK[:4], "-e", "offered >= 0"],
            *["--junit", str(full_disk / "ci.xml")],
        ],
        "sweep --out": [
            *["sweep", scenario, "--set", "agents.sales_team.count=10", *QUICK],
            *["--out", str(full_disk / "sweep.csv")],
        ],
    }
    for name, args in commands.items():
        result = runner.invoke(app, args)
        assert result.exit_code in (1, 2), (name, result.output)
        assert "No space left on device" in flat(result.output), (name, result.output)
        assert "Traceback" not in result.output, (name, result.output)
        assert isinstance(result.exception, SystemExit), (name, result.exception)
        assert snapshot(full_disk) == before, name


def test_a_sweep_row_is_written_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """P6, P7: short writes are continued; a failed write is undone, with one error line."""
    out = tmp_path / "sweep.csv"
    real_write = os.write
    calls = {"n": 0}

    def short(descriptor: int, data: bytes) -> int:
        return real_write(descriptor, bytes(data[:7]))  # a few bytes at a time

    monkeypatch.setattr("ccsim.sweep.os.write", short)
    result = _sweep(RETAIL, out)
    assert result.exit_code == 0, result.output
    whole = out.read_bytes()
    assert whole.endswith(b"\n") and len(whole.splitlines()) == 3

    out.unlink()

    def full_after_first_row(descriptor: int, data: bytes) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            return real_write(descriptor, data)
        real_write(descriptor, bytes(data[:5]))  # part of the second row, then the disk is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("ccsim.sweep.os.write", full_after_first_row)
    result = _sweep(RETAIL, out)
    assert result.exit_code in (1, 2), result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "No space left on device" in flat(result.output)
    assert "Traceback" not in result.output
    assert out.read_bytes() == b"".join(whole.splitlines(keepends=True)[:2])  # no torn row
    assert sorted(os.listdir(tmp_path)) == ["sweep.csv"]

    monkeypatch.setattr("ccsim.sweep.os.write", real_write)
    assert _sweep(RETAIL, out).exit_code == 0  # resumes the point that was not written
    assert len(out.read_bytes().splitlines()) == 3


def test_any_name_the_os_accepts_is_a_good_output_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """P10: the names of ccsim's temporary siblings stay short when the output's is long."""
    monkeypatch.chdir(tmp_path)
    long = "r" * 235
    args = ["run", str(RETAIL), *QUICK, "--out", long, "--report", f"{long}.html"]
    for extra in ([], ["--force"]):
        result = runner.invoke(app, [*args, *extra], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    result = _sweep(RETAIL, tmp_path / f"{long}.csv")
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(tmp_path)) == sorted([long, f"{long}.html", f"{long}.csv"])


def test_no_folder_the_user_did_not_name_is_created(
    workspace: Path, results: Results, monkeypatch: pytest.MonkeyPatch
) -> None:
    """P11: ``x/../res`` creates no ``x``; a failed write removes the folders it made."""
    work = workspace / "work"
    result = runner.invoke(
        app, ["run", str(RETAIL), *QUICK, "--out", "x/../res", "--report", "y/../page.html"]
    )
    assert result.exit_code == 0, result.output
    assert _sweep(RETAIL, Path("z/../sweep.csv")).exit_code == 0
    assert sorted(os.listdir(work)) == ["page.html", "res", "sweep.csv"]

    def fail(*args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("ccsim.output._write_table", fail)
    with pytest.raises(OSError):
        write_results(results, work / "a" / "b" / "res")
    assert sorted(os.listdir(work)) == ["page.html", "res", "sweep.csv"]


def test_a_concurrent_run_loser_is_told_the_option(
    workspace: Path, results: Results, monkeypatch: pytest.MonkeyPatch
) -> None:
    """P12: the command line says --force, not the API's force=True."""
    real_table = ccsim.output._write_table
    out = workspace / "work" / "res"

    def another_run_finishes_first(*args: Any) -> None:
        if not out.exists():
            out.mkdir()  # claimed first, so the other run writes its tables unpatched
            monkeypatch.setattr("ccsim.output._write_table", real_table)
            write_results(results, out)
        real_table(*args)

    monkeypatch.setattr("ccsim.output._write_table", another_run_finishes_first)
    result = runner.invoke(app, ["run", str(RETAIL), *QUICK, "--out", str(out)])
    assert_refused(result, f"--out {out}", "add --force")
    assert "force=True" not in result.output
