"""Planning benchmark: the wall time of the staffing and sweep commands a planner runs
(issue 12, item 6), each as a whole process, as a user runs it.

Cases:

- ``staff_interval``: ``ccsim staff scenarios/retail.yaml --group support_team --target
  'service_level >= 80%' --per-interval 1h``: per-interval staffing of the support team.
- ``staff_all_day``: ``ccsim staff scenarios/retail.yaml --group sales_team --target
  'service_level >= 0.8' --target 'wait_p90 <= 60s'``: the README's all-day example.
- ``sweep``: ``ccsim sweep scenarios/retail.yaml --set agents.sales_team.count=8..12..2
  --set transfers.0.probability=0.1,0.3 -n 10``: the README's 6-point sweep.
- ``schedule``: ``ccsim schedule scenarios/retail.yaml --group support_team --target
  'service_level >= 80%' --templates shift_templates/retail.yaml``: a shift plan
  (per-interval requirements, covering, simulated repairs).

Each runs with ``--quiet`` and the default workers (every core). With ``--before DIR``,
the same commands also run against another copy of the ``ccsim`` package (``DIR`` holds
a ``ccsim/`` folder, e.g. ``git archive COMMIT ccsim | tar -x -C DIR``), put first on
``PYTHONPATH`` (``--after DIR`` does the same for the other side, default this tree);
rounds alternate before and after, so a burst of load on a shared machine hits both
sides, and the fastest of ``--repeat`` rounds counts (the median is shown too).
The figures are wall-clock seconds from process start to exit, imports included, and CPU
seconds (user + system of the command and its pool workers; steadier than the wall clock
on a busy machine, the least of the rounds shown).

    python benchmarks/planning.py                       # this tree, 3 rounds
    python benchmarks/planning.py --before /tmp/before  # before/after, side by side
    python benchmarks/planning.py --list                # the commands, nothing run
    python benchmarks/planning.py --json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RETAIL = ROOT / "scenarios" / "retail.yaml"
#: Commands run from outside the repository: ``python -c`` puts the working folder first on
#: the path, which would load this tree's ``ccsim`` whatever ``PYTHONPATH`` says.
OUTSIDE = Path(tempfile.gettempdir())
LAUNCH = "import sys; from ccsim.cli import app; sys.argv[0] = 'ccsim'; app()"

CASES: dict[str, list[str]] = {
    "staff_interval": [
        "staff", str(RETAIL), "--group", "support_team",
        "--target", "service_level >= 80%", "--per-interval", "1h",
    ],
    "staff_all_day": [
        "staff", str(RETAIL), "--group", "sales_team",
        "--target", "service_level >= 0.8", "--target", "wait_p90 <= 60s",
    ],
    "sweep": [
        "sweep", str(RETAIL), "--set", "agents.sales_team.count=8..12..2",
        "--set", "transfers.0.probability=0.1,0.3", "-n", "10",
    ],
    "schedule": [
        "schedule", str(RETAIL), "--group", "support_team",
        "--target", "service_level >= 80%",
        "--templates", str(ROOT / "shift_templates" / "retail.yaml"),
    ],
}  # fmt: skip


def command(case: str, workers: int | None) -> list[str]:
    extra = ["--quiet"] + (["--workers", str(workers)] if workers else [])
    return [sys.executable, "-c", LAUNCH, *CASES[case], *extra]


def shown(case: str, workers: int | None) -> str:
    """The command as a user types it."""
    import shlex

    extra = ["--quiet"] + (["--workers", str(workers)] if workers else [])
    return "ccsim " + " ".join(shlex.quote(a) for a in [*CASES[case], *extra]).replace(
        str(ROOT) + "/", ""
    )


def run_once(case: str, workers: int | None, package: Path | None) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, the process and its pool workers)."""
    env = dict(os.environ)
    if package is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(package), *filter(None, [env.get("PYTHONPATH")])])
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        command(case, workers), cwd=OUTSIDE, env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
    if done.returncode != 0:
        raise SystemExit(f"{case} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed, cpu


def measure(
    cases: list[str],
    repeat: int,
    workers: int | None,
    before: Path | None,
    after: Path | None = None,
) -> dict[str, dict[str, list[tuple[float, float]]]]:
    sides: dict[str, Path | None] = {"after": after}
    if before is not None:
        sides = {"before": before, "after": after}
    times: dict[str, dict[str, list[tuple[float, float]]]] = {
        c: {s: [] for s in sides} for c in cases
    }
    for _ in range(repeat):
        for case in cases:
            for side, package in sides.items():
                times[case][side].append(run_once(case, workers, package))
    return times


SEARCH = """\
import time
from ccsim.scenario import load_scenario
try:
    from ccsim.planning.staffing import staff_per_interval
except ImportError:  # a --before snapshot older than ccsim/planning/
    from ccsim.staffing import staff_per_interval
scenario = load_scenario({path!r})
cpu, wall = time.process_time(), time.perf_counter()
result = staff_per_interval(scenario, "support_team", ["service_level >= 80%"], 3600, 10, workers=1)
print(time.process_time() - cpu, time.perf_counter() - wall, result.simulations)
"""


def search_once(package: Path | None) -> tuple[float, float, int]:
    """The per-interval search alone, in one process (no pool, imports left out): CPU
    seconds, wall seconds and simulations of the day."""
    env = dict(os.environ)
    if package is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(package), *filter(None, [env.get("PYTHONPATH")])])
    done = subprocess.run(
        [sys.executable, "-c", SEARCH.format(path=str(RETAIL))],
        cwd=OUTSIDE, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    cpu, wall, simulations = done.stdout.split()
    return float(cpu), float(wall), int(simulations)


def machine() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.processor() or platform.machine()}, {cores} cores, "
        f"Python {platform.python_version()}, load average {load:.2f} at the start"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated cases")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (the fastest counts)")
    parser.add_argument("--workers", type=int, default=None, help="--workers for ccsim")
    parser.add_argument("--before", type=Path, default=None, help="folder holding ccsim/")
    parser.add_argument(
        "--after", type=Path, default=None, help="folder holding ccsim/ (default: this tree)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--list", action="store_true", help="print the commands only")
    parser.add_argument(
        "--search",
        action="store_true",
        help="also time the per-interval search alone, in one process (CPU seconds)",
    )
    args = parser.parse_args(argv)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case {unknown[0]!r}; cases: {', '.join(CASES)}")
    for option, folder in (("--before", args.before), ("--after", args.after)):
        if folder is not None and not (folder / "ccsim" / "__init__.py").is_file():
            parser.error(f"{option} {folder}: no ccsim/ package there")
    if args.list:
        for case in cases:
            print(f"{case}: {shown(case, args.workers)}")
        return 0
    where = machine()
    times = measure(cases, max(1, args.repeat), args.workers, args.before, args.after)
    if args.json:
        out: dict[str, Any] = {"machine": where, "cases": {}}
        for case, sides in times.items():
            entry: dict[str, Any] = {"command": shown(case, args.workers)}
            for side, runs in sides.items():
                wall, cpu = [w for w, _ in runs], [c for _, c in runs]
                entry[side] = {
                    "best_s": min(wall),
                    "median_s": statistics.median(wall),
                    "runs_s": wall,
                    "cpu_best_s": min(cpu),
                    "cpu_runs_s": cpu,
                }
            out["cases"][case] = entry
        print(json.dumps(out, indent=2))
        return 0
    print(f"machine: {where}")
    print(f"{'case':<16}{'side':<8}{'best s':>8}{'median s':>10}{'CPU s':>8}  wall s of each run")
    for case, sides in times.items():
        for side, runs in sides.items():
            wall, cpu = [w for w, _ in runs], [c for _, c in runs]
            listed = " ".join(f"{t:.2f}" for t in wall)
            print(
                f"{case:<16}{side:<8}{min(wall):>8.2f}{statistics.median(wall):>10.2f}"
                f"{min(cpu):>8.2f}  {listed}"
            )
        if "before" in sides:
            best = {side: min(w for w, _ in runs) for side, runs in sides.items()}
            cpu = {side: min(c for _, c in runs) for side, runs in sides.items()}
            wall_ratio = best["before"] / best["after"]
            cpu_ratio = cpu["before"] / cpu["after"]
            print(
                f"{'':<16}speed-up, best before / best after: wall {wall_ratio:.2f}x, "
                f"CPU {cpu_ratio:.2f}x"
            )
    if args.search:
        sides = (
            {"before": args.before, "after": args.after} if args.before else {"after": args.after}
        )
        runs: dict[str, list[tuple[float, float, int]]] = {side: [] for side in sides}
        for _ in range(max(1, args.repeat)):
            for side, package in sides.items():
                runs[side].append(search_once(package))
        print("per-interval search alone (staff_per_interval, serial, -n 10):")
        for side, found in runs.items():
            print(
                f"  {side:<7} CPU {min(r[0] for r in found):.2f} s, wall "
                f"{min(r[1] for r in found):.2f} s, {found[0][2]} simulations of the day"
            )
    for case in times:
        print(f"{case}: {shown(case, args.workers)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
