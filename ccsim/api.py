"""The Python API: run a scenario's replications and hold the results.

``simulate`` is the one core function that the CLI, notebooks and executors call. Each
replication is independent and seeded by ``SeedSequence(seed).spawn(n)[r]``, so a
replication gives the same bytes whether it runs serially, in a process pool or on a
Dask worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

import pandas as pd

from ccsim.executors import Executor, Task, open_executor
from ccsim.model import Records, run_replication
from ccsim.model.start import StartState
from ccsim.results import (
    METRICS,
    TABLES,
    ReplicationMetrics,
    Summary,
    replication_metrics,
)
from ccsim.scenario import Scenario

if TYPE_CHECKING:
    from pathlib import Path

    from distributed import Client as DaskClient


def ccsim_version() -> str:
    try:
        return version("ccsim")
    except PackageNotFoundError:  # running from a source tree
        return "0+unknown"


@dataclass(frozen=True)
class Replication:
    """What one replication returns to the caller: its records and its metrics."""

    index: int
    records: Records | None
    metrics: ReplicationMetrics
    runtime_s: float


def run_one(
    scenario: Scenario,
    replication: int,
    seed: int,
    record_events: bool = True,
    keep_records: bool = True,
    start: StartState | None = None,
) -> Replication:
    """Simulate replication ``replication`` and compute its metrics (picklable task).

    Without ``keep_records`` the model keeps only what the metrics need, accumulated as
    the run goes (:class:`ccsim.model.Tallies`): the same metrics, in memory that a
    year-long run can afford, but no tables. ``start``: the chats in the center at 0."""
    started = time.perf_counter()
    records = run_replication(
        scenario, replication, seed, record_events, tables=keep_records, start=start
    )
    thresholds = {name: d.service_level for name, d in scenario.directories.items()}
    metrics = replication_metrics(records, thresholds)
    return Replication(
        replication,
        records if isinstance(records, Records) else None,
        metrics,
        time.perf_counter() - started,
    )


def simulate(
    scenario: Scenario,
    replications: int | None = None,
    seed: int | None = None,
    workers: int | None = 1,
    record_events: bool = True,
    keep_records: bool = True,
    on_replication: Callable[[Replication], None] | None = None,
    executor: Executor | None = None,
    client: DaskClient | None = None,
    scheduler: str | None = None,
    initial: StartState | Sequence[StartState] | Mapping[str, Any] | str | Path | None = None,
) -> Results:
    """Run ``replications`` (default: the scenario's) and return :class:`Results`.

    Where replications run changes nothing in the results (same seed, same numbers):
    ``workers`` > 1 runs them in a local process pool (``None``: all cores); ``client``
    (a ``dask.distributed.Client``) or ``scheduler`` (an address such as
    ``tcp://host:8786``) sends them to a Dask cluster; ``executor`` is any
    :class:`ccsim.executors.Executor`, such as a :class:`~ccsim.executors.LocalPool` reused
    across calls. ``on_replication`` is called as each replication finishes (progress).

    ``keep_records=False`` keeps no tables: each replication accumulates only what its
    metrics need as it runs (a year of a 500-agent center fits in well under 1 GB), and
    the metrics are the same. Tables, :meth:`Results.timeseries` and per-interval metrics
    (staffing by hour) need the records, so they need ``keep_records=True``.

    ``initial`` starts every replication from the chats in the center now (see
    :mod:`ccsim.initial`): a snapshot mapping or file, a results folder (the end of each
    of its replications), or :class:`~ccsim.model.start.StartState` values (a list: one
    per replication, cycled). A snapshot that does not fit the scenario raises
    :class:`ccsim.initial.InitialStateError` naming each problem's path.
    """
    replications = scenario.replications if replications is None else replications
    seed = scenario.seed if seed is None else seed
    if replications < 1:
        raise ValueError("replications must be at least 1")
    from ccsim.initial import as_states

    states = as_states(initial, scenario)
    tasks = [
        Task(scenario, r, seed, record_events, keep_records, states[r % len(states)])
        if states
        else Task(scenario, r, seed, record_events, keep_records)
        for r in range(replications)
    ]
    started = time.perf_counter()
    done: list[Replication] = []
    with open_executor(
        workers, len(tasks), executor=executor, client=client, scheduler=scheduler
    ) as run:
        for _, replication in run(tasks):
            done.append(replication)
            if on_replication is not None:
                on_replication(replication)
    done.sort(key=lambda rep: rep.index)
    return Results(
        scenario=scenario,
        seed=seed,
        replication_metrics=[rep.metrics for rep in done],
        records=[rep.records for rep in done if rep.records is not None],
        runtime_s=time.perf_counter() - started,
        version=ccsim_version(),
    )


@dataclass
class Results:
    """The outcome of :func:`simulate`: summary with confidence intervals, and tables.

    Tables are pandas DataFrames built on first access (``chats``, ``transfers``,
    ``agents``, ``events``), each with a ``replication`` column.
    """

    scenario: Scenario
    seed: int
    replication_metrics: list[ReplicationMetrics]
    records: list[Records] = field(default_factory=list, repr=False)
    runtime_s: float = 0.0
    version: str = field(default_factory=ccsim_version)
    loaded_tables: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    @property
    def replications(self) -> int:
        return len(self.replication_metrics)

    @cached_property
    def summary_table(self) -> Summary:
        return Summary.from_replications(self.replication_metrics)

    def summary(self) -> pd.DataFrame:
        """Long table of every metric: scope, name, metric, mean, ci_low, ci_high."""
        return self.summary_table.frame()

    def metric(self, path: str) -> float:
        """The mean of a metric: ``"service_level"``, ``"directories.sales.wait_p90"``."""
        return self.summary_table.lookup(path).mean

    def table(self, name: str) -> pd.DataFrame:
        if name in self.loaded_tables:
            return self.loaded_tables[name]
        if name not in TABLES:
            raise KeyError(f"no table {name!r}; tables are {', '.join(TABLES)}")
        if not self.records:
            raise LookupError("these results kept no records (keep_records=False)")
        frame = pd.concat([TABLES[name](r) for r in self.records], ignore_index=True)
        self.loaded_tables[name] = frame
        return frame

    @property
    def chats(self) -> pd.DataFrame:
        return self.table("chats")

    @property
    def transfers(self) -> pd.DataFrame:
        return self.table("transfers")

    @property
    def agents(self) -> pd.DataFrame:
        return self.table("agents")

    @property
    def events(self) -> pd.DataFrame:
        return self.table("events")

    def timeseries(
        self, freq: str | float = "15m", confidence: float | None = None
    ) -> pd.DataFrame:
        """Per-interval arrivals, answered, abandoned, queue length, service level, mean
        wait and abandonment (per directory) and staffed and busy slots (per group),
        over replications, indexed by clock time; ``confidence`` (e.g. 0.95) adds the
        intervals of the per-interval rates. See :mod:`ccsim.timeseries`."""
        from ccsim.timeseries import timeseries

        return timeseries(self, freq, confidence)

    @property
    def busyness(self) -> pd.Series | None:
        """The day's factor on every arrival rate, per replication (the scenario's
        ``busyness:``; also the ``busyness`` rows of :meth:`per_replication` and of
        ``replications.csv``), or None when the scenario has none."""
        values = [run.overall.get("busyness") for run in self.replication_metrics]
        if all(value is None for value in values):
            return None
        index = pd.RangeIndex(len(values), name="replication")
        return pd.Series(values, index=index, name="busyness", dtype=float)

    def per_replication(self) -> pd.DataFrame:
        """Long table of every metric of every replication (for paired comparisons)."""
        rows = []
        for index, run in enumerate(self.replication_metrics):
            scopes: list[tuple[str, str, Mapping[str, float]]] = [("overall", "all", run.overall)]
            scopes += [("directory", d, m) for d, m in run.directories.items()]
            scopes += [("group", g, m) for g, m in run.groups.items()]
            for scope, name, metrics in scopes:
                for metric, value in metrics.items():
                    rows.append(
                        {
                            "replication": index,
                            "scope": scope,
                            "name": name,
                            "metric": metric,
                            "value": value,
                        }
                    )
        return pd.DataFrame(rows, columns=["replication", "scope", "name", "metric", "value"])

    def header(self) -> dict[str, Any]:
        """What every output file carries: scenario, seed, replications, version, runtime."""
        return {
            "scenario": self.scenario.model_dump(mode="json", by_alias=True),
            "seed": self.seed,
            "replications": self.replications,
            "version": self.version,
            "runtime_s": round(self.runtime_s, 6),
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.header(), **self.summary_table.as_dict()}

    def _repr_html_(self) -> str:
        """Jupyter shows the headline and every metric with its interval, overall, per
        directory and per group (see :func:`ccsim.report.repr_html`)."""
        from ccsim.report import repr_html

        return repr_html(self)

    def __repr__(self) -> str:  # print(results): key metrics, not every field
        return __import__("ccsim.summary_text").summary_text.summary_text(self)


__all__ = ["METRICS", "Replication", "Results", "ccsim_version", "run_one", "simulate"]
