"""Engine benchmark: ccsim against Ciw and a minimal SimPy loop on the same M/M/c system.

Every case runs in its own child process, one after another, so timings do not compete
for the two cores and each peak-memory figure (the child's peak resident set size) is
that case's alone. Cases:

- ``ccsim``: an M/M/c scenario (50 one-slot agents, load 0.9, exponential times, no
  patience, no transfers) through :func:`ccsim.model.run_replication`, full records;
- ``ciw``: the same queue in Ciw, which keeps a record per customer;
- ``simpy``: a hand-written SimPy loop keeping only the waits, the floor for any SimPy
  model of this system;
- ``retail``: one replication of ``scenarios/retail.yaml``;
- ``million``: the ccsim M/M/c scenario scaled to a million chats (peak memory check).

Run ``python benchmarks/engine.py`` (``--help`` for sizes, ``--json`` for machine output).
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RETAIL = ROOT / "scenarios" / "retail.yaml"

AGENTS = 50
LOAD = 0.9
MEAN_HANDLE = 300.0  # seconds
RATE = LOAD * AGENTS / MEAN_HANDLE  # arrivals per second
SEED = 1
BLOCK = 512

TARGET_VS_CIW = 1.5  # ccsim at least 1.5 times Ciw's chats per second
TARGET_VS_SIMPY = 0.5  # and at least half the minimal SimPy loop's
MEMORY_LIMIT_MB = 1024.0  # a million chats under 1 GB peak


# --------------------------------------------------------------------------- cases (child side)


def mmc_scenario(chats: int) -> Any:
    """The M/M/c scenario sized so that about ``chats`` chats arrive."""
    from ccsim.scenario import scenario_from_dict

    return scenario_from_dict(
        {
            "name": "mmc",
            "duration": chats / RATE,
            "seed": SEED,
            "directories": {
                "queue": {
                    "arrivals": RATE,
                    "handle_time": {"dist": "exponential", "mean": MEAN_HANDLE},
                }
            },
            "agents": {"servers": {"count": AGENTS, "directories": ["queue"], "max_chats": 1}},
        }
    )


def run_ccsim_mmc(chats: int) -> Callable[[], int]:
    from ccsim.model import run_replication

    scenario = mmc_scenario(chats)
    return lambda: run_replication(scenario, 0, record_events=True).chat_count


def run_retail(_chats: int) -> Callable[[], int]:
    from ccsim.model import run_replication
    from ccsim.scenario import load_scenario

    scenario = load_scenario(RETAIL)
    return lambda: run_replication(scenario, 0, record_events=True).chat_count


def run_ciw_mmc(chats: int) -> Callable[[], int]:
    import ciw

    def simulate() -> int:
        ciw.seed(SEED)
        network = ciw.create_network(
            arrival_distributions=[ciw.dists.Exponential(rate=RATE)],
            service_distributions=[ciw.dists.Exponential(rate=1 / MEAN_HANDLE)],
            number_of_servers=[AGENTS],
        )
        simulation = ciw.Simulation(network)
        simulation.simulate_until_max_time(chats / RATE)
        return simulation.nodes[0].number_of_individuals  # customers generated

    return simulate


def run_simpy_mmc(chats: int) -> Callable[[], int]:
    """The least a SimPy model of this queue can do: one process per customer, a
    Resource for the agents, block-drawn numpy times, and a list of waits."""
    import numpy as np
    import simpy

    def simulate() -> int:
        rng = np.random.default_rng(SEED)

        def exponential(mean: float) -> Iterator[float]:
            while True:
                yield from rng.exponential(mean, BLOCK).tolist()

        gaps = exponential(1 / RATE).__next__
        services = exponential(MEAN_HANDLE).__next__
        env = simpy.Environment()
        agents = simpy.Resource(env, capacity=AGENTS)
        waits: list[float] = []

        def customer(service: float) -> Iterator[Any]:
            arrived = env.now
            with agents.request() as request:
                yield request
                waits.append(env.now - arrived)
                yield env.timeout(service)

        def source() -> Iterator[Any]:
            while True:
                yield env.timeout(gaps())
                env.process(customer(services()))

        env.process(source())
        env.run(until=chats / RATE)
        return len(waits) + len(agents.queue)  # served or still waiting: every arrival

    return simulate


CASES: dict[str, Callable[[int], Callable[[], int]]] = {
    "ccsim": run_ccsim_mmc,
    "ciw": run_ciw_mmc,
    "simpy": run_simpy_mmc,
    "retail": run_retail,
    "million": run_ccsim_mmc,
}


def peak_rss_mb() -> float:
    """This process's peak resident set size so far (Linux reports kilobytes)."""
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / 1024**2
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def child(case: str, chats: int, repeat: int) -> dict[str, Any]:
    """Run one case ``repeat`` times in this process; keep the fastest time. CPU time is
    reported too: on a busy machine it varies less than the wall clock."""
    simulate = CASES[case](chats)
    baseline = peak_rss_mb()
    best, best_cpu, count = float("inf"), float("inf"), 0
    for _ in range(repeat):
        gc.collect()
        start, start_cpu = time.perf_counter(), time.process_time()
        count = simulate()
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
        best = min(best, time.perf_counter() - start)
    return {
        "case": case,
        "chats": count,
        "seconds": best,
        "chats_per_second": count / best,
        "cpu_seconds": best_cpu,
        "chats_per_cpu_second": count / best_cpu if best_cpu > 0 else float("inf"),
        "peak_rss_mb": peak_rss_mb(),
        "baseline_rss_mb": baseline,
    }


# --------------------------------------------------------------------------- parent side


def run_case(case: str, chats: int, repeat: int) -> dict[str, Any]:
    """Run ``case`` in a fresh interpreter and read its JSON line."""
    command = [sys.executable, __file__, "--child", case, "--chats", str(chats)]
    command += ["--repeat", str(repeat)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"case {case} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def verdicts(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Ratios against the targets of the scale issue. The verdict uses wall-clock rates;
    the ratio of CPU-time rates is given beside it, as a check on a busy machine."""
    out: dict[str, Any] = {}
    for other, target in (("ciw", TARGET_VS_CIW), ("simpy", TARGET_VS_SIMPY)):
        if "ccsim" in results and other in results:
            ours, theirs = results["ccsim"], results[other]
            ratio = ours["chats_per_second"] / theirs["chats_per_second"]
            cpu_ratio = ours["chats_per_cpu_second"] / theirs["chats_per_cpu_second"]
            out[f"ccsim_vs_{other}"] = {
                "ratio": ratio,
                "cpu_ratio": cpu_ratio,
                "target": target,
                "ok": ratio >= target,
            }
    if "million" in results:
        peak = results["million"]["peak_rss_mb"]
        out["million_memory"] = {
            "peak_rss_mb": peak,
            "limit_mb": MEMORY_LIMIT_MB,
            "ok": peak < MEMORY_LIMIT_MB,
        }
    return out


def report(results: dict[str, dict[str, Any]], checks: dict[str, Any]) -> str:
    lines = [
        f"{'case':<8} {'chats':>9} {'seconds':>8} {'chats/s':>9} {'CPU s':>7} "
        f"{'chats/CPU s':>11} {'peak RSS':>10}"
    ]
    for name, r in results.items():
        lines.append(
            f"{name:<8} {r['chats']:>9} {r['seconds']:>8.2f} {r['chats_per_second']:>9.0f} "
            f"{r['cpu_seconds']:>7.2f} {r['chats_per_cpu_second']:>11.0f} "
            f"{r['peak_rss_mb']:>7.0f} MB"
        )
    for name, check in checks.items():
        verdict = "PASS" if check["ok"] else "FAIL"
        if "ratio" in check:
            lines.append(
                f"{name}: {check['ratio']:.2f} (target >= {check['target']}) {verdict}"
                f"  [CPU time: {check['cpu_ratio']:.2f}]"
            )
        else:
            lines.append(
                f"{name}: {check['peak_rss_mb']:.0f} MB peak "
                f"(limit {check['limit_mb']:.0f} MB) {verdict}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=200_000, help="M/M/c size (ccsim, ciw, simpy)")
    parser.add_argument("--big-chats", type=int, default=1_000_000, help="size of 'million'")
    parser.add_argument("--repeat", type=int, default=1, help="runs per case; the fastest counts")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated cases to run")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--child", choices=tuple(CASES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.chats, args.repeat)))
        return 0
    cases = args.cases.split(",")
    for case in cases:
        if case not in CASES:
            parser.error(f"unknown case {case!r}; choose from {', '.join(CASES)}")
    results: dict[str, dict[str, Any]] = {}
    for case in cases:
        size = args.big_chats if case == "million" else args.chats
        results[case] = run_case(case, size, args.repeat)
        if not args.json:
            print(f"{case} done", file=sys.stderr)
    checks = verdicts(results)
    if args.json:
        print(json.dumps({"python": sys.version.split()[0], "cases": results, "checks": checks}))
    else:
        print(report(results, checks))
    return 1 if args.strict and not all(c["ok"] for c in checks.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
