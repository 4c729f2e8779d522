"""Whole-command benchmark: what a planner waits for, from process start to exit, side by
side with Ciw (issue 12, items 1 and 2).

Cases (each command in a fresh process, as a user runs it):

- ``startup``: ``ccsim --version``, ``ccsim --help`` and ``ccsim validate
  scenarios/retail.yaml``, each against ``python -c "import ciw"``. Target: each takes at
  most 1.5 times as long as importing Ciw.
- ``run_out``: ``ccsim run mmc.yaml -n 1 --out DIR --quiet`` (the default CSV format, no
  event log) against a Ciw script run as a whole process: the same M/M/50 queue (load 0.9,
  mean handle time 300 s, about ``--chats`` chats, the engine benchmark's case) simulated
  over the same time, collecting every record (``get_all_records``). Target: ccsim at
  least 2 times Ciw's speed (Ciw's seconds / ccsim's seconds).
- ``tables``: the same run once with ``--events`` in CSV and once in Parquet: the rows and
  bytes of every table, i.e. what each table costs. Informative, no target.

Rounds interleave the commands (Ciw, ccsim, Ciw, ...), so a burst of load on a shared
machine hits both sides of a ratio; the fastest of ``--repeat`` rounds counts. Run
``python benchmarks/commands.py`` (``--help`` for sizes, ``--json`` for machine output,
``--strict`` to exit 1 when a target is missed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RETAIL = ROOT / "scenarios" / "retail.yaml"

# The engine benchmark's M/M/c case (benchmarks/engine.py, mmc_scenario), as a file.
AGENTS = 50
LOAD = 0.9
MEAN_HANDLE = 300.0  # seconds
RATE = LOAD * AGENTS / MEAN_HANDLE  # arrivals per second
SEED = 1

TARGET_STARTUP = 1.5  # ccsim's start-up at most 1.5 times `import ciw`
TARGET_RUN_OUT = 2.0  # ccsim run --out at least 2 times the Ciw script's speed
CASES = ("startup", "run_out", "tables")
STARTUP_COMMANDS = {
    "version": ["--version"],
    "help": ["--help"],
    "validate": ["validate", str(RETAIL)],
}

CIW_SCRIPT = """\
import sys
import ciw
rate, handle, servers, until, seed = map(float, sys.argv[1:])
ciw.seed(int(seed))
network = ciw.create_network(
    arrival_distributions=[ciw.dists.Exponential(rate=rate)],
    service_distributions=[ciw.dists.Exponential(rate=1 / handle)],
    number_of_servers=[int(servers)],
)
simulation = ciw.Simulation(network)
simulation.simulate_until_max_time(until)
records = simulation.get_all_records()
print(len(records))
"""


def mmc_yaml(chats: int) -> str:
    """The M/M/50 scenario as YAML, over the time in which about ``chats`` chats arrive."""
    duration = chats / RATE
    return (
        "name: mmc\n"
        f"duration: {duration!r}s\n"
        f"seed: {SEED}\n"
        "directories:\n"
        "  queue:\n"
        f"    arrivals: {RATE * 3600:g}/h\n"
        f"    handle_time: {{dist: exponential, mean: {MEAN_HANDLE:g}s}}\n"
        "agents:\n"
        f"  servers: {{count: {AGENTS}, directories: [queue], max_chats: 1}}\n"
    )


def ccsim_command() -> list[str]:
    """The ``ccsim`` console script next to this interpreter, as a user runs it (or the
    same entry point through ``python -c`` when the script is not installed)."""
    script = Path(sys.executable).with_name("ccsim")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from ccsim.cli import app; sys.exit(app())"]


def ciw_command(chats: int) -> list[str]:
    until = chats / RATE
    return [sys.executable, "-c", CIW_SCRIPT, *map(str, (RATE, MEAN_HANDLE, AGENTS, until, SEED))]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: Sequence[str], cwd: Path) -> tuple[float, float, str]:
    """Wall and CPU seconds of one whole process, and its stdout; a failure stops the
    benchmark. CPU time varies less than the wall clock on a busy shared machine."""
    cpu, start = _children_cpu(), time.perf_counter()
    done = subprocess.run(list(command), capture_output=True, text=True, cwd=cwd, check=False)
    seconds, cpu = time.perf_counter() - start, _children_cpu() - cpu
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    return seconds, cpu, done.stdout


def best_of(times: dict[str, list[tuple[float, float]]]) -> dict[str, dict[str, Any]]:
    """The fastest wall time and the least CPU time of each command, and every wall time."""
    return {
        name: {
            "seconds": min(wall for wall, _ in runs),
            "cpu_seconds": min(cpu for _, cpu in runs),
            "runs": [wall for wall, _ in runs],
        }
        for name, runs in times.items()
    }


def run_startup(repeat: int, workdir: Path) -> dict[str, Any]:
    """``import ciw`` and each ccsim start-up command, interleaved, best of ``repeat``."""
    commands = {"ciw_import": [sys.executable, "-c", "import ciw"]}
    commands |= {name: [*ccsim_command(), *args] for name, args in STARTUP_COMMANDS.items()}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, command in commands.items():
            times[name].append(timed(command, workdir)[:2])
    return best_of(times)


def run_out_command(scenario: Path, out: Path, *extra: str) -> list[str]:
    return [*ccsim_command(), "run", str(scenario), "-n", "1", "--out", str(out), "--quiet", *extra]


def run_run_out(chats: int, repeat: int, workdir: Path) -> dict[str, Any]:
    """The Ciw script and ``ccsim run --out``, interleaved, best of ``repeat``."""
    scenario = workdir / "mmc.yaml"
    scenario.write_text(mmc_yaml(chats))
    out = workdir / "out"
    times: dict[str, list[tuple[float, float]]] = {"ciw": [], "ccsim": []}
    records = 0
    for _ in range(repeat):
        seconds, cpu, printed = timed(ciw_command(chats), workdir)
        times["ciw"].append((seconds, cpu))
        records = int(printed.split()[-1])
        shutil.rmtree(out, ignore_errors=True)
        times["ccsim"].append(timed(run_out_command(scenario, out), workdir)[:2])
    summary = json.loads((out / "summary.json").read_text())
    result = best_of(times)
    result["ccsim"]["chats"] = int(summary["metrics"]["offered"]["mean"])
    result["ccsim"]["files"] = sorted(p.name for p in out.iterdir())
    result["ciw"]["records"] = records
    return result


def table_sizes(folder: Path) -> dict[str, dict[str, float]]:
    """Rows and bytes of every table in a results folder (CSV rows exclude the
    ``# ccsim`` line and the column names)."""
    import pyarrow.parquet as pq

    sizes = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".csv":
            with path.open("rb") as handle:
                rows = sum(1 for _ in handle) - 2
        elif path.suffix == ".parquet":
            rows = pq.ParquetFile(path).metadata.num_rows
        else:
            continue
        sizes[path.name] = {"rows": rows, "bytes": path.stat().st_size}
    return sizes


def run_tables(chats: int, workdir: Path) -> dict[str, Any]:
    """One ``run --out --events`` per format: wall time and every table's rows and bytes."""
    scenario = workdir / "mmc.yaml"
    scenario.write_text(mmc_yaml(chats))
    result = {}
    for fmt in ("csv", "parquet"):
        out = workdir / f"tables-{fmt}"
        shutil.rmtree(out, ignore_errors=True)
        seconds, _, _ = timed(run_out_command(scenario, out, "--events", "--format", fmt), workdir)
        result[fmt] = {"seconds": seconds, "tables": table_sizes(out)}
    return result


def verdicts(cases: dict[str, Any]) -> dict[str, Any]:
    """Each figure against its target: start-up as a multiple of ``import ciw`` (lower is
    better), ``run --out`` as Ciw's seconds over ccsim's (higher is better). The verdict
    uses wall-clock time; the same ratio of CPU times is given beside it."""
    checks: dict[str, Any] = {}
    startup = cases.get("startup")
    if startup:
        ciw = startup["ciw_import"]
        for name in STARTUP_COMMANDS:
            ratio = startup[name]["seconds"] / ciw["seconds"]
            checks[f"startup_{name}"] = {
                "ratio": ratio,
                "cpu_ratio": startup[name]["cpu_seconds"] / ciw["cpu_seconds"],
                "target": f"<= {TARGET_STARTUP}",
                "ok": ratio <= TARGET_STARTUP,
            }
    run_out = cases.get("run_out")
    if run_out:
        ciw, ours = run_out["ciw"], run_out["ccsim"]
        ratio = ciw["seconds"] / ours["seconds"]
        checks["run_out_vs_ciw"] = {
            "ratio": ratio,
            "cpu_ratio": ciw["cpu_seconds"] / ours["cpu_seconds"],
            "target": f">= {TARGET_RUN_OUT}",
            "ok": ratio >= TARGET_RUN_OUT,
        }
    return checks


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    """The CPU's name from /proc/cpuinfo (Linux), else what :mod:`platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "processor": cpu_model(),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        **{name: _version(name) for name in ("ccsim", "ciw", "pandas", "pyarrow", "simpy")},
    }


def report(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"machine: {m['platform']}, {m['cpus']} CPUs ({m['processor']}), Python {m['python']}",
        f"ccsim {m['ccsim']}, Ciw {m['ciw']}, SimPy {m['simpy']}, pandas {m['pandas']}, "
        f"pyarrow {m['pyarrow']}",
        f"best of {results['repeat']} rounds; M/M/50 with about {results['chats']} chats",
    ]
    cases = results["cases"]
    if "startup" in cases:
        lines.append("start-up (whole process):")
        for name, figure in cases["startup"].items():
            shown = "python -c 'import ciw'" if name == "ciw_import" else f"ccsim {name}"
            lines.append(
                f"  {shown:<24} {figure['seconds']:6.2f} s  (CPU {figure['cpu_seconds']:.2f} s)"
            )
    if "run_out" in cases:
        run_out = cases["run_out"]
        lines += [
            "run --out (whole process):",
            f"  {'Ciw script':<24} {run_out['ciw']['seconds']:6.2f} s  "
            f"(CPU {run_out['ciw']['cpu_seconds']:.2f} s; {run_out['ciw']['records']} records)",
            f"  {'ccsim run --out':<24} {run_out['ccsim']['seconds']:6.2f} s  "
            f"(CPU {run_out['ccsim']['cpu_seconds']:.2f} s; {run_out['ccsim']['chats']} chats)",
            f"  files: {', '.join(run_out['ccsim']['files'])}",
        ]
    if "tables" in cases:
        for fmt, figure in cases["tables"].items():
            lines.append(f"tables, --events --format {fmt}: run {figure['seconds']:.2f} s")
            for name, size in figure["tables"].items():
                lines.append(f"  {name:<22} {size['rows']:>10} rows {size['bytes'] / 1e6:8.1f} MB")
    for name, check in results["checks"].items():
        verdict = "PASS" if check["ok"] else "FAIL"
        lines.append(
            f"{name}: {check['ratio']:.2f} (target {check['target']}) {verdict}"
            f"  [CPU time: {check['cpu_ratio']:.2f}]"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=200_000, help="M/M/50 size of run_out")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the fastest counts")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated cases to run")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    cases = args.cases.split(",")
    for case in cases:
        if case not in CASES:
            parser.error(f"unknown case {case!r}; choose from {', '.join(CASES)}")
    if args.repeat < 1 or args.chats < 1:
        parser.error("--repeat and --chats must be at least 1")
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="ccsim-bench-") as folder:
        workdir = Path(folder)
        for case in cases:
            if case == "startup":
                figures[case] = run_startup(args.repeat, workdir)
            elif case == "run_out":
                figures[case] = run_run_out(args.chats, args.repeat, workdir)
            else:
                figures[case] = run_tables(args.chats, workdir)
            if not args.json:
                print(f"{case} done", file=sys.stderr)
    results = {
        "machine": machine(),
        "chats": args.chats,
        "repeat": args.repeat,
        "cases": figures,
        "checks": verdicts(figures),
    }
    print(json.dumps(results, indent=2) if args.json else report(results))
    return 1 if args.strict and not all(c["ok"] for c in results["checks"].values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
