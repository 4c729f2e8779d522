"""Where replications run: in this process, in a local process pool, or on a Dask cluster.

An executor takes a list of :class:`Task` and yields ``(position, Replication)`` as each
task finishes, in any order. A replication depends only on (scenario, seed, replication
number), so the executor decides where and when it runs, never what it computes: a
serial run, a pool of any size and a Dask cluster give the same numbers.

The local pool forks its workers once, up front (before any progress-bar thread starts),
and reuses them for every call, so a staffing search or a sweep pays process start-up
once. Each distinct scenario is serialised once per call (as JSON, the scenario format
itself) and validated once per worker (a per-worker cache keyed by digest), not once per
task. On Dask each scenario is a task of its own, computed once and fetched by a worker
the first time it needs it; unlike scattered data, the scheduler can compute it again when
the worker holding it dies, so losing a worker costs its tasks' time, not the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

from ccsim.scenario import Scenario

if TYPE_CHECKING:
    from distributed import Client
    from rich.console import Console

    from ccsim.api import Replication
    from ccsim.model.start import StartState

#: Seconds to wait for a Dask scheduler to answer (and to have a worker) before giving up.
CONNECT_TIMEOUT_S = 5.0
#: The default port of a ``dask scheduler``.
DASK_DEFAULT_PORT = 8786


@dataclass(frozen=True)
class Task:
    """One replication to run: everything it depends on, and what to send back."""

    scenario: Scenario
    replication: int
    seed: int
    record_events: bool = True
    keep_records: bool = True
    start: StartState | None = None  # chats in the center at time 0 (an initial state)


class Executor(Protocol):
    """Runs tasks and yields ``(position in tasks, Replication)`` as each finishes."""

    def __call__(self, tasks: Sequence[Task]) -> Iterator[tuple[int, Replication]]: ...


class SchedulerError(RuntimeError):
    """A Dask scheduler that cannot be reached or cannot run tasks (bad input for the CLI)."""


class ClusterLostError(RuntimeError):
    """The Dask scheduler, or the workers holding the run's data, went away mid-run."""


def default_workers() -> int:
    """The cores this process may use (the affinity mask, not just the machine's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def run_task(task: Task) -> Replication:
    """Run one task in this process."""
    from ccsim.api import run_one  # ccsim.api imports this module

    return run_one(
        task.scenario,
        task.replication,
        task.seed,
        task.record_events,
        task.keep_records,
        start=task.start,
    )


def serial(tasks: Sequence[Task]) -> Iterator[tuple[int, Replication]]:
    """Run tasks one after another in this process."""
    for position, task in enumerate(tasks):
        yield position, run_task(task)


# --------------------------------------------------------------------------- local process pool

#: Scenarios a pool worker has already read, by digest of their JSON.
_WORKER_SCENARIOS: dict[str, Scenario] = {}
#: Forget them all beyond this many (a long staffing search makes a scenario per step).
_WORKER_CACHE_SIZE = 64
#: How often a pool worker checks that the process that started it is still there.
PARENT_POLL_S = 0.5


def _worker_init(parent: int) -> None:
    # Ctrl-C reaches the whole process group; the parent alone decides what to do, so
    # workers do not print a traceback each.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER_SCENARIOS.clear()
    _exit_with_parent(parent)


def _exit_with_parent(parent: int) -> None:
    """End this worker when ``parent`` dies (even by SIGKILL, which runs no cleanup).

    A pool worker waits on a pipe whose writing end it inherited itself, so it never sees
    end-of-file: without this it would wait forever. A daemon thread polls the parent id
    (an orphan is adopted by another process); unlike PR_SET_PDEATHSIG it does not fire
    when merely the thread that started the pool ends, and it works on every POSIX system.
    """
    if os.getppid() != parent:  # died before this worker got here
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="ccsim-parent-watch", daemon=True).start()


def _worker_run(
    digest: str,
    scenario_bytes: bytes,
    replication: int,
    seed: int,
    events: bool,
    keep: bool,
    start: StartState | None = None,
) -> Replication:
    scenario = _WORKER_SCENARIOS.get(digest)
    if scenario is None:
        if len(_WORKER_SCENARIOS) >= _WORKER_CACHE_SIZE:
            _WORKER_SCENARIOS.clear()
        scenario = _WORKER_SCENARIOS[digest] = Scenario.model_validate_json(scenario_bytes)
    return run_task(Task(scenario, replication, seed, events, keep, start))


def _start_method() -> str:
    """'fork' where it exists: workers start in milliseconds with ccsim already imported.

    Forking a process with threads is only safe if no other thread holds a lock the child
    needs; the pool therefore forks all its workers in :meth:`LocalPool.start`, which the
    CLI calls before starting the progress bar's thread.
    """
    methods = multiprocessing.get_all_start_methods()
    return "fork" if "fork" in methods else "spawn"


class LocalPool:
    """A pool of worker processes on this machine, started once and reused across calls.

    Use as a context manager, or call :meth:`close`. ``workers=None`` uses all cores.
    """

    def __init__(self, workers: int | None = None, start_method: str | None = None) -> None:
        self.workers = default_workers() if workers is None else max(1, workers)
        self.start_method = start_method or _start_method()
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> Self:
        """Start every worker process now (not lazily at the first task)."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context(self.start_method),
                initializer=_worker_init,
                initargs=(os.getpid(),),
            )
            # With 'fork' the first submit forks all workers; with 'spawn' each submit
            # may start one, so submit one no-op per worker and wait.
            wait([self._pool.submit(os.getpid) for _ in range(self.workers)])
        return self

    def __call__(self, tasks: Sequence[Task]) -> Iterator[tuple[int, Replication]]:
        pool = self.start()._pool
        assert pool is not None
        packed: dict[int, tuple[str, bytes]] = {}  # by id(scenario): serialised once per call
        futures: dict[Future[Replication], int] = {}
        try:
            for position, task in enumerate(tasks):
                key = id(task.scenario)
                if key not in packed:
                    data = task.scenario.model_dump_json(by_alias=True).encode()
                    packed[key] = (hashlib.sha256(data).hexdigest(), data)
                digest, data = packed[key]
                future = pool.submit(
                    _worker_run,
                    digest,
                    data,
                    task.replication,
                    task.seed,
                    task.record_events,
                    task.keep_records,
                    task.start,
                )
                futures[future] = position
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield futures[future], future.result()
        finally:
            for future in futures:
                future.cancel()

    def close(self, terminate: bool = False) -> None:
        """Shut the workers down; ``terminate`` stops running tasks at once (Ctrl-C)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if not terminate:
            pool.shutdown(wait=True)
            return
        # ProcessPoolExecutor has no public way to stop running tasks before Python 3.14.
        processes = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            with contextlib.suppress(Exception):
                process.terminate()
        for process in processes:
            with contextlib.suppress(Exception):
                process.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close(terminate=kind is not None)


# --------------------------------------------------------------------------- Dask


async def _handshake(address: str, timeout: float) -> None:
    from distributed.comm import connect

    comm = await connect(address, timeout=timeout)
    await comm.close()


def _dask_scenario(scenario: Scenario) -> Scenario:
    """The scenario as a task result: kept in the graph, so a lost copy is recomputed."""
    return scenario


def _dask_run(
    scenario: Scenario,
    replication: int,
    seed: int,
    events: bool,
    keep: bool,
    start: StartState | None = None,
) -> Any:
    return run_task(Task(scenario, replication, seed, events, keep, start))


class DaskExecutor:
    """Sends tasks to a ``dask.distributed`` cluster through a client.

    Built from a caller's :class:`distributed.Client` (left open), or by :meth:`connect`
    to a scheduler address (the client is closed with the executor).
    """

    def __init__(self, client: Client, owns_client: bool = False) -> None:
        self.client = client
        self.owns_client = owns_client

    @classmethod
    def connect(cls, address: str, timeout: float | None = None) -> DaskExecutor:
        """Connect to the scheduler at ``address`` and wait for a worker.

        Raises :class:`SchedulerError` within about ``timeout`` seconds (default
        :data:`CONNECT_TIMEOUT_S`) when nothing answers there or it has no worker.
        """
        timeout = CONNECT_TIMEOUT_S if timeout is None else timeout
        address = address.strip()
        try:
            from distributed import Client
            from distributed.comm.addressing import parse_address, parse_host_port
        except ImportError:
            raise SchedulerError(
                "--scheduler needs dask.distributed: pip install 'ccsim[dask]'"
            ) from None
        try:
            protocol, location = parse_address(address)
            if protocol in ("tcp", "tls"):
                host, port = parse_host_port(location, DASK_DEFAULT_PORT)
                # A quick probe first: a refused or unknown address fails now, where the
                # client would retry until its timeout.
                with socket.create_connection((host, port), timeout=timeout):
                    pass
        except ValueError as error:
            raise SchedulerError(f"{address!r} is not a scheduler address: {error}") from None
        except TimeoutError:
            raise SchedulerError(
                f"cannot reach the Dask scheduler at {address}: no answer within {timeout:g}s"
            ) from None
        except OSError as error:
            reason = error.strerror or str(error)
            raise SchedulerError(
                f"cannot reach the Dask scheduler at {address}: {reason}"
            ) from None
        try:
            # The handshake alone, before building a client: something else listening
            # there fails here, without a half-built client left behind to clean up.
            asyncio.run(asyncio.wait_for(_handshake(address, timeout), timeout))
            client = Client(address, timeout=timeout, set_as_default=False)
        except TimeoutError:
            raise SchedulerError(
                f"cannot reach the Dask scheduler at {address}: no answer within {timeout:g}s"
            ) from None
        except Exception as error:  # whatever answered is not a usable scheduler
            detail = f"{type(error).__name__}: {error}"
            raise SchedulerError(
                f"cannot connect to a Dask scheduler at {address}; something answers there "
                f"but the handshake failed (is it a Dask scheduler?): {detail[:160]}"
            ) from None
        try:
            client.wait_for_workers(1, timeout=timeout)
        except TimeoutError:
            client.close()
            raise SchedulerError(
                f"the Dask scheduler at {address} has no worker (waited {timeout:g}s); "
                "start some with: dask worker " + address
            ) from None
        return cls(client, owns_client=True)

    def __call__(self, tasks: Sequence[Task]) -> Iterator[tuple[int, Replication]]:
        """Submit every task, yield results as they finish; a lost scheduler or lost
        workers raise :class:`ClusterLostError` (a task's own error is raised as is)."""
        from distributed import KilledWorker, as_completed

        scenarios: dict[int, Any] = {}  # by id(scenario): one future per distinct scenario
        futures: dict[Any, int] = {}
        try:
            try:
                for position, task in enumerate(tasks):
                    key = id(task.scenario)
                    if key not in scenarios:
                        scenarios[key] = self.client.submit(
                            _dask_scenario, task.scenario, pure=False
                        )
                    future = self.client.submit(
                        _dask_run,
                        scenarios[key],
                        task.replication,
                        task.seed,
                        task.record_events,
                        task.keep_records,
                        task.start,
                        pure=False,
                    )
                    futures[future] = position
            except Exception as error:
                if not _is_cluster_loss(error):
                    raise
                raise ClusterLostError(self._lost_message(error)) from None
            for future in as_completed(list(futures), loop=self.client.loop):
                try:
                    result = future.result()
                except Exception as error:
                    own = future.status == "error" and not isinstance(error, KilledWorker)
                    if own or not _is_cluster_loss(error):
                        raise  # the task's own error, as it is
                    raise ClusterLostError(self._lost_message(error)) from None
                yield futures[future], result
        finally:
            # On a dead connection cancelling may fail too; that must not hide the reason.
            with contextlib.suppress(Exception):
                if futures:
                    self.client.cancel(list(futures))
                if scenarios:
                    self.client.cancel(list(scenarios.values()))

    def _lost_message(self, error: BaseException) -> str:
        try:
            address = self.client.scheduler.address
        except Exception:  # the client may be half closed by now
            address = None
        where = f" at {address}" if address else ""
        detail = " ".join(f"{type(error).__name__}: {error}".split()).rstrip(": ")
        detail = detail if len(detail) <= 160 else detail[:159] + "…"
        return (
            f"lost the Dask cluster{where} in the middle of the run ({detail}); the scheduler "
            "or the workers holding its data went away. Check the cluster and run again."
        )

    def close(self) -> None:
        if self.owns_client:
            with contextlib.suppress(Exception):  # a lost scheduler cannot be told goodbye
                self.client.close(timeout=CONNECT_TIMEOUT_S)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_cluster_loss(error: BaseException | None) -> bool:
    """Errors of the cluster rather than of a task: cancelled futures (the data they need
    was lost with its worker), closed or timed-out connections, workers killed while
    running a task."""
    import concurrent.futures

    from distributed import KilledWorker
    from distributed.comm.core import CommClosedError

    return isinstance(
        error,
        concurrent.futures.CancelledError | CommClosedError | KilledWorker | OSError,
    )


# --------------------------------------------------------------------------- choosing one


@contextlib.contextmanager
def open_executor(
    workers: int | None = 1,
    tasks: int | None = None,
    *,
    executor: Executor | None = None,
    client: Client | None = None,
    scheduler: str | None = None,
) -> Iterator[Executor]:
    """The executor for a run: the caller's, Dask (``client`` or ``scheduler`` address),
    a local pool of ``workers`` processes (``None``: all cores), or serial when one process
    is enough (``workers`` 1 or a single task). Closes what it opened."""
    given = sum(x is not None for x in (executor, client, scheduler))
    if given > 1:
        raise ValueError("give at most one of executor, client and scheduler")
    if executor is not None:
        yield executor
        return
    if client is not None:
        yield DaskExecutor(client)
        return
    if scheduler is not None:
        with DaskExecutor.connect(scheduler) as dask:
            yield dask
        return
    workers = default_workers() if workers is None else max(1, workers)
    if tasks is not None:
        workers = min(workers, tasks)
    if workers <= 1:
        yield serial
        return
    with LocalPool(workers) as pool:
        yield pool


# --------------------------------------------------------------------------- progress


class Progress:
    """Replications done out of a total, with time left, drawn on stderr.

    Drawn only when enabled and stderr is a terminal, so pipes and logs stay clean;
    otherwise every method does nothing. The bar disappears when done.
    """

    def __init__(
        self,
        total: int,
        description: str = "",
        enabled: bool = True,
        console: Console | None = None,
    ) -> None:
        self.total = total
        self.description = description
        self._console = console
        self._enabled = enabled
        self._bar: Any = None
        self._task: Any = None

    @property
    def active(self) -> bool:
        return self._bar is not None

    def __enter__(self) -> Self:
        if not self._enabled:
            return self
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        console = self._console or Console(stderr=True)
        if not console.is_terminal:
            return self
        self._bar = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("replications"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task(self.description, total=self.total)
        return self

    def advance(self, steps: int = 1) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, steps)

    def update(self, description: str | None = None, total: int | None = None) -> None:
        """Change the label or the total (a search that learns how much work is left)."""
        if self._bar is not None:
            self._bar.update(self._task, description=description, total=total)

    def reset(self, description: str, total: int) -> None:
        """Start over at zero with a new label and total (the next step of a search)."""
        if self._bar is not None:
            self._bar.reset(self._task, total=total, description=description)

    def __call__(self, _: object = None) -> None:
        """Advance by one: usable as ``simulate(..., on_replication=progress)``."""
        self.advance()

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


__all__ = [
    "CONNECT_TIMEOUT_S",
    "ClusterLostError",
    "DaskExecutor",
    "Executor",
    "LocalPool",
    "Progress",
    "SchedulerError",
    "Task",
    "default_workers",
    "open_executor",
    "run_task",
    "serial",
]
