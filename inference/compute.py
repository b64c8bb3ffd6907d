"""One execution seam: run independent tasks in this process (default) or on a Dask cluster.

    scheduler = ""               in-process: tasks run one after another here; Dask is not imported
    scheduler = "local:N"        a LocalCluster of N single-threaded worker processes on 127.0.0.1, started
                                 and closed by ctfp
    scheduler = "tcp://HOST:PORT" an existing cluster (`dask scheduler` + `dask worker`): ctfp starts nothing;
                                 the workers must have ctfp installed (same version) to import the tasks

`open_executor(scheduler)` is a context manager giving an `Executor` whose `map(fn, shared, items)` returns
[fn(shared, item) for item in items] in order, and whose `submit(fn, shared, items)` starts the same tasks
without waiting and gives a `Batch` whose `result()` waits for them (in-process: runs them then), so a driver can
do other work (and submit more tasks) while they run. On Dask, `shared` is scattered to every worker once
(broadcast) and each item is one task; tasks lost with a worker (a killed process, `client.restart()`) are
submitted again, with `shared` scattered again when it was lost too, so a run that loses workers still ends
with complete results. An exception raised by a task itself (a user error) is raised here. A progress bar
(rich, stderr) counts finished tasks.

`shared` may be a tuple of parts, each broadcast on its own; `share(obj)` starts one part's broadcast at once
(in a background thread) and returns the part to put in the tuple, so a driver can overlap sending a large
object with computing a small one (DEA: the problem goes out while the warm start is found).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlparse

from ctfp.core.errors import InputError
from ctfp.core.progress import progress_bar

# For the clusters ctfp starts (an existing cluster keeps its own settings). Dask's nanny sets glibc's
# MALLOC_TRIM_THRESHOLD_ in each worker, which also fixes glibc's mmap threshold at 128 KiB, so every large
# temporary of a task is mapped, page-faulted and unmapped again; and a statistical profiler samples the task's
# thread every 10 ms. For DEA chunks (memory bounded by the chunk) the two cost 5% and 2% of worker time
# (benchmarks/bench_scale.py, 100,000 DMUs on 2 workers: 2.43 -> 2.25 s summed over chunks).
LOCAL_WORKER_CONFIG = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,  # None: not set (Dask's own convention)
    "distributed.worker.profile.enabled": False,
}
MAX_RESUBMITS = 5  # times one task may be lost with its worker before the run gives up
CONNECT_TIMEOUT_S = 3.0


class Executor(Protocol):
    description: str
    n_workers: int

    def map(self, fn: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any], *,
            label: str = "tasks", progress: bool | None = None) -> list[Any]: ...

    def submit(self, fn: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any], *,
               label: str = "tasks", progress: bool | None = None) -> Batch: ...

    def share(self, obj: Any) -> Any: ...


class Batch(Protocol):
    def result(self) -> list[Any]: ...


@dataclass(frozen=True)
class Scheduler:
    kind: str  # "inprocess" | "local" | "tcp"
    workers: int = 1
    address: str = ""

    @property
    def text(self) -> str:
        return {"inprocess": "", "local": f"local:{self.workers}", "tcp": self.address}[self.kind]


def parse_scheduler(text: str | None, *, where: str = "--scheduler") -> Scheduler:
    """'' | 'local:N' | 'tcp://HOST:PORT' -> Scheduler; anything else is one InputError line."""
    s = (text or "").strip()
    if not s:
        return Scheduler("inprocess")
    if s.startswith("local:"):
        try:
            n = int(s.split(":", 1)[1])
        except ValueError:
            n = 0
        if n < 1:
            raise InputError(f"{where} {s!r}: write local:N with N >= 1 worker processes, e.g. local:2")
        return Scheduler("local", n)
    if s.startswith("tcp://"):
        u = urlparse(s)
        if not u.hostname or u.port is None:
            raise InputError(f"{where} {s!r}: write tcp://HOST:PORT, the address `dask scheduler` prints")
        return Scheduler("tcp", 0, f"tcp://{u.hostname}:{u.port}")
    raise InputError(f"{where} {s!r} unknown; use \"\" (in-process), local:N or tcp://HOST:PORT")


@dataclass
class InProcess:
    description: str = "in-process"
    n_workers: int = 1

    def map(self, fn: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any], *,
            label: str = "tasks", progress: bool | None = None) -> list[Any]:
        out = []
        with progress_bar(len(items), progress, label) as advance:
            for it in items:
                out.append(fn(shared, it))
                advance(1)
        return out

    def submit(self, fn: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any], *,
               label: str = "tasks", progress: bool | None = None) -> Batch:
        return _Deferred(lambda: self.map(fn, shared, items, label=label, progress=progress))

    def share(self, obj: Any) -> Any:
        return obj


@dataclass
class _Deferred:
    """In-process tasks run when their results are asked for (one process: nothing could overlap them)."""

    run: Callable[[], list[Any]]

    def result(self) -> list[Any]:
        return self.run()


@dataclass
class DaskExecutor:
    client: Any
    description: str
    resubmitted: int = 0
    lost: list[str] = field(default_factory=list)
    _sender: Any = None  # the thread that sends `share`d objects, started at the first one

    @property
    def n_workers(self) -> int:
        return max(1, len(self.client.scheduler_info(n_workers=-1).get("workers", {})))

    def map(self, fn: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any], *,
            label: str = "tasks", progress: bool | None = None) -> list[Any]:
        return self.submit(fn, shared, items, label=label, progress=progress).result()

    def submit(self, fn: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any], *,
               label: str = "tasks", progress: bool | None = None) -> DaskBatch:
        return DaskBatch(self, fn, shared, list(items), label, progress)

    def share(self, obj: Any) -> Shared:
        if self._sender is None:
            from concurrent.futures import ThreadPoolExecutor

            self._sender = ThreadPoolExecutor(1, thread_name_prefix="ctfp-broadcast")
        return Shared(obj, self._sender.submit(self.broadcast, obj))

    def broadcast(self, obj: Any) -> Any:
        """`obj` on every worker, as one future (a list or tuple is sent whole, not element by element)."""
        return self.client.scatter([obj], broadcast=True, hash=False)[0]

    def close(self) -> None:
        if self._sender is not None:
            self._sender.shutdown()
        self.client.close()


@dataclass
class Shared:
    """A part of `shared` whose broadcast began when `share` was called (it runs in a background thread, so the
    driver can prepare the rest meanwhile); `value` is kept to send again if the workers lose it."""

    value: Any
    sending: Any  # concurrent.futures.Future of the Dask future


def _call(fn: Callable[[Any, Any], Any], packed: bool, item: Any, *parts: Any) -> Any:
    """A task: `fn(shared, item)` with `shared` put back together from its broadcast parts."""
    return fn(tuple(parts) if packed else parts[0], item)


class DaskBatch:
    """Tasks submitted to the cluster; `result()` collects them in order, submitting lost ones again. `shared`
    (or each part of a tuple `shared`, which may come from `share`) is broadcast once."""

    def __init__(self, ex: DaskExecutor, fn: Callable[[Any, Any], Any], shared: Any, items: list[Any], label: str,
                 progress: bool | None) -> None:
        self.ex, self.fn, self.items, self.label, self.progress = ex, fn, items, label, progress
        self.packed = isinstance(shared, tuple)
        self.parts = list(shared) if self.packed else [shared]
        self.handles = [p.sending.result() if isinstance(p, Shared) else ex.broadcast(p) for p in self.parts]
        self.futures = {self._submit(it): i for i, it in enumerate(items)}

    def _submit(self, item: Any) -> Any:
        return self.ex.client.submit(_call, self.fn, self.packed, item, *self.handles, pure=False)

    def result(self) -> list[Any]:
        from distributed import as_completed

        client, items, label = self.ex.client, self.items, self.label
        futures = self.futures
        tries = [0] * len(items)
        results: list[Any] = [None] * len(items)
        done = [False] * len(items)
        with progress_bar(len(items), self.progress, label) as advance:
            pending = as_completed(list(futures), loop=client.loop)
            for fut in pending:
                i = futures.pop(fut)
                if fut.status == "finished":
                    results[i], done[i] = fut.result(), True
                    advance(1)
                    continue
                if fut.status == "error" and not _lost(fut):
                    fut.result()  # the task's own exception (e.g. InputError): raise it here, once
                tries[i] += 1
                if tries[i] > MAX_RESUBMITS:
                    raise RuntimeError(f"{label}: task {i} was lost with its worker {tries[i]} times; "
                                       "the cluster is failing (see the worker logs)")
                self.ex.resubmitted += 1
                for k, h in enumerate(self.handles):
                    if h.status != "finished":  # the broadcast copies went with the workers
                        part = self.parts[k]
                        self.handles[k] = self.ex.broadcast(part.value if isinstance(part, Shared) else part)
                new = self._submit(items[i])
                futures[new] = i
                pending.add(new)
        assert all(done)
        return results


def _lost(fut: Any) -> bool:
    """A task that failed because its worker (or its input) went away, not because of its own code."""
    from distributed import KilledWorker
    from distributed.comm.core import CommClosedError

    exc = fut.exception()
    return isinstance(exc, KilledWorker | CommClosedError | OSError)


def check_reachable(sch: Scheduler) -> None:
    """An existing cluster's scheduler must answer on its port (one InputError line if not); a cheap socket
    connect, no Dask import, so a run can say so before any work."""
    if sch.kind == "tcp":
        _reachable(sch.address)


def _reachable(address: str) -> None:
    u = urlparse(address)
    try:
        with socket.create_connection((u.hostname, u.port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as err:
        why = err.strerror or str(err) or type(err).__name__
        raise InputError(f"--scheduler {address}: no Dask scheduler reachable ({why}); start one with "
                         "`dask scheduler` and `dask worker ADDRESS`, or use --scheduler local:N") from None


class LazyDask:
    """A Dask executor that connects (or starts its LocalCluster) at first use, so input errors found before any
    task is submitted cost no cluster start-up; closed by `open_executor`."""

    def __init__(self, sch: Scheduler) -> None:
        self.sch = sch
        self._ex: DaskExecutor | None = None
        self._cluster: Any = None
        self.description = (f"Dask cluster at {sch.address}" if sch.kind == "tcp"
                            else f"local Dask cluster, {sch.workers} worker processes")

    def _start(self) -> DaskExecutor:
        if self._ex is not None:
            return self._ex
        import logging

        from distributed import Client, LocalCluster

        if self.sch.kind == "tcp":
            _reachable(self.sch.address)
            try:
                client = Client(self.sch.address, timeout=f"{int(CONNECT_TIMEOUT_S * 3)}s", set_as_default=False)
            except OSError as err:
                raise InputError(f"--scheduler {self.sch.address}: could not connect to the Dask scheduler "
                                 f"({err})") from None
        else:
            import copy

            import dask

            # loopback only, no dashboard on a fixed port, one thread per worker (the solver is single-threaded).
            # A nanny reads its workers' environment from the global config when it is made; the config it hands
            # them is a shallow merge whose nested parts are the global config's own, so a value set only while
            # the cluster starts would be gone when a worker restarts: the workers get a deep copy instead.
            with dask.config.set(LOCAL_WORKER_CONFIG):
                worker_config = copy.deepcopy(dask.config.config)
                self._cluster = LocalCluster(n_workers=self.sch.workers, threads_per_worker=1, processes=True,
                                             host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                             silence_logs=logging.ERROR, config=worker_config)
            client = Client(self._cluster, set_as_default=False)
        self._ex = DaskExecutor(client, self.description)
        return self._ex

    @property
    def client(self) -> Any:
        return self._start().client

    @property
    def n_workers(self) -> int:
        if self.sch.kind == "local":
            return self.sch.workers
        return self._start().n_workers

    @property
    def resubmitted(self) -> int:
        return 0 if self._ex is None else self._ex.resubmitted

    def map(self, fn: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any], *,
            label: str = "tasks", progress: bool | None = None) -> list[Any]:
        return self._start().map(fn, shared, items, label=label, progress=progress)

    def submit(self, fn: Callable[[Any, Any], Any], shared: Any, items: Sequence[Any], *,
               label: str = "tasks", progress: bool | None = None) -> Batch:
        return self._start().submit(fn, shared, items, label=label, progress=progress)

    def share(self, obj: Any) -> Any:
        return self._start().share(obj)

    def close(self) -> None:
        if self._ex is not None:
            self._ex.close()
        if self._cluster is not None:
            self._cluster.close()
        self._ex = self._cluster = None


@contextmanager
def open_executor(scheduler: str | Scheduler | None = "") -> Iterator[Executor]:
    """The executor for `scheduler` (see the module docstring); a cluster ctfp started is closed on exit.
    Nothing is started or imported until the first task is submitted."""
    sch = scheduler if isinstance(scheduler, Scheduler) else parse_scheduler(scheduler)
    if sch.kind == "inprocess":
        yield InProcess()
        return
    ex = LazyDask(sch)
    try:
        yield ex
    finally:
        ex.close()
