"""A Dask cluster gives the same numbers as a local run; a bad scheduler exits 2 quickly."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ccsim import executors
from ccsim.api import simulate
from ccsim.cli import app
from ccsim.executors import DaskExecutor, SchedulerError
from ccsim.scenario import Scenario, load_scenario
from ccsim.scenario.load import parse_yaml
from ccsim.sweep import build_points, parse_axis, run_sweep

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]
RETAIL = ROOT / "scenarios" / "retail.yaml"
SHORT = ["duration=2h", "warmup=15m"]
runner = CliRunner()


@pytest.fixture(scope="module")
def cluster() -> Iterator[distributed.LocalCluster]:
    with distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        dashboard_address=":0",
        host="127.0.0.1",
    ) as local_cluster:
        yield local_cluster


@pytest.fixture(scope="module")
def client(cluster: distributed.LocalCluster) -> Iterator[distributed.Client]:
    with distributed.Client(cluster, set_as_default=False) as dask_client:
        yield dask_client


@pytest.fixture(scope="module")
def retail() -> Scenario:
    return load_scenario(RETAIL, SHORT)


def test_client_results_are_the_serial_results(
    client: distributed.Client, retail: Scenario
) -> None:
    local = simulate(retail, replications=4, seed=9, workers=1)
    remote = simulate(retail, replications=4, seed=9, client=client)
    pd.testing.assert_frame_equal(remote.per_replication(), local.per_replication())
    pd.testing.assert_frame_equal(remote.summary(), local.summary())
    pd.testing.assert_frame_equal(remote.chats, local.chats)
    pd.testing.assert_frame_equal(remote.transfers, local.transfers)
    workers = {w["id"] for w in client.scheduler_info()["workers"].values()}
    assert len(workers) == 2


def test_scheduler_address_results_are_the_local_results(
    cluster: distributed.LocalCluster, retail: Scenario
) -> None:
    local = simulate(retail, replications=3, seed=2, workers=2, keep_records=False)
    remote = simulate(
        retail, replications=3, seed=2, scheduler=cluster.scheduler_address, keep_records=False
    )
    pd.testing.assert_frame_equal(remote.per_replication(), local.per_replication())


def test_sweep_points_on_dask_are_the_local_points(client: distributed.Client) -> None:
    data = parse_yaml(RETAIL.read_text())
    data.update(duration="1h", warmup="10m")
    axes = [
        parse_axis("agents.sales_team.count=10..11"),
        parse_axis("transfers.0.probability=0.1,0.3"),
    ]
    points = build_points(data, axes, RETAIL.parent)
    local = run_sweep(points, 2, 5).frame()
    remote = run_sweep(points, 2, 5, executor=DaskExecutor(client)).frame()
    pd.testing.assert_frame_equal(remote, local)


def test_cli_scheduler_option_and_environment_variable(cluster: distributed.LocalCluster) -> None:
    args = ["run", str(RETAIL), "-n", "3", "--json", "--set", SHORT[0], "--set", SHORT[1]]
    outputs = []
    for extra, env in (
        (["--workers", "1"], {}),
        (["--scheduler", cluster.scheduler_address], {}),
        ([], {"CCSIM_SCHEDULER": cluster.scheduler_address}),
    ):
        result = runner.invoke(app, [*args, *extra], env=env)
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        data.pop("runtime_s")
        outputs.append(data)
    assert outputs[0] == outputs[1] == outputs[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    ("address", "message"),
    [
        (f"tcp://127.0.0.1:{_free_port()}", "cannot reach the Dask scheduler"),
        ("nonsense:::", "not a scheduler address"),
        ("no-such-host.invalid:8786", "cannot reach the Dask scheduler"),
    ],
)
def test_unusable_scheduler_exits_2_with_a_message(address: str, message: str) -> None:
    sweep = ["sweep", str(RETAIL), "--set", "agents.sales_team.count=10,11"]
    for command in (["run", str(RETAIL), "-n", "2"], sweep):
        result = runner.invoke(app, [*command, "--scheduler", address])
        assert result.exit_code == 2, result.output
        assert message in result.output
        assert "Traceback" not in result.output


def test_scheduler_with_no_worker_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT_S", 0.5)
    with (
        distributed.LocalCluster(n_workers=0, dashboard_address=":0", host="127.0.0.1") as empty,
        pytest.raises(SchedulerError, match="has no worker"),
    ):
        DaskExecutor.connect(empty.scheduler_address)


def test_losing_every_worker_holding_the_scenario_costs_their_tasks_not_the_run(
    retail: Scenario,
) -> None:
    """The only worker, which holds the scenario, dies after the first result and its nanny
    starts a new one: the scheduler computes the scenario again and reruns the lost tasks,
    and the numbers are the serial numbers. (Scattered data has no recipe: it was lost with
    its worker and the run ended with "lost the Dask cluster".)"""
    import contextlib
    import os

    from ccsim.executors import Task, serial

    short = retail.model_copy(update={"duration": 1800.0, "warmup": 0.0})
    tasks = [Task(short, replication, 5, False, False) for replication in range(8)]
    with (
        distributed.LocalCluster(
            n_workers=1,
            processes=True,
            threads_per_worker=1,
            dashboard_address=":0",
            host="127.0.0.1",
        ) as own_cluster,
        distributed.Client(own_cluster, set_as_default=False) as own_client,
    ):
        results: dict[int, object] = {}
        for position, replication in DaskExecutor(own_client)(tasks):
            if not results:
                with contextlib.suppress(Exception):  # the worker dies before it answers
                    own_client.run(os._exit, 1)
            results[position] = replication
    expected = dict(serial(tasks))
    assert sorted(results) == list(range(8))
    for position, replication in expected.items():
        assert repr(results[position].metrics) == repr(replication.metrics)  # type: ignore[attr-defined]
