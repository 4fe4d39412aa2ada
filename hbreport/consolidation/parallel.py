"""Reading a list of files on several processes, results in the order of the list.

This process reads from the back of the list and the others from the front, one file at a time,
until they meet: no process waits while files are left. Each other process sends what it read in
one message at the end; if one dies without answering, this process reads again what it had taken.

Given ``crashed``, a reader that dies in native code (a crafted file can make a parser abort the
process) costs only the file it was reading: the files a dead process had taken are read again each
in a fresh process of its own, never here, and the one that kills that process too gets
``crashed(path, exit code)`` as its result. This process still reads its share, as it always did: a
process that only waited would cost one more fork per run for every job (a third more CPU on a
county's consolidation), so what keeps the known crashes out of it is the gate (``hbreport.xlsx.safety``).

Where processes can be forked (Linux), the others start in a few milliseconds and share what this
one has loaded (registry, catalog, parsed form specs, compiled rules), so they start at once.
Where they must be spawned (Windows), each is a fresh interpreter that imports hbreport and loads
the registry and catalog again — about a second of work — so they are started only once the files
left would take this process longer than that to read alone. A county's few dozen workbooks are
then read here without waiting for helpers that would arrive after the work is done.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.sharedctypes  # noqa: F401  (RawArray would import it on first use)
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

R = TypeVar("R")
T = TypeVar("T")
Progress = Callable[[int, int], None]
Crashed = Callable[[str, "int | None"], Any]

SPAWN_SECONDS = 1.0
"""What a spawned reader costs before it reads its first file: interpreter start, imports and loading
the context (0.75 s measured for the real division tree on a 2-core Linux machine with the start
method forced to spawn). Helpers are spawned only when the files left would take longer than this."""

START_METHOD: str | None = None
"""``None``: fork where the platform has it, else spawn. Set to "spawn" to run the Windows way."""


@dataclass
class Reading(Generic[R, T]):
    """What :func:`read_files` returns."""

    results: list[R]  # one per path, in the order of the paths
    meanwhile: T  # what ``meanwhile()`` returned
    helpers: int  # processes started besides this one
    read_elsewhere: int  # files the other processes read


@dataclass(frozen=True)
class _Load:
    """A loaded object sent as how to load it again (a path), not as its pickled contents."""

    kind: str
    args: tuple[str | None, ...]

    def load(self) -> Any:
        if self.kind == "registry":
            from hbreport.registry import load_registry

            return load_registry(*self.args)
        if self.kind == "catalog":
            from hbreport.catalog import load_catalog

            return load_catalog(*self.args)
        from hbreport.baseline import load_baseline

        return load_baseline(*self.args)


def portable(value: Any) -> Any:
    """What to send a spawned process for ``value``: how to load it again when it is exactly what a
    loader gives from its files (the registry of 31,000 units pickles to 3 MB and takes 0.2 s each
    way), else the value itself."""
    from hbreport.baseline import Baseline, load_baseline
    from hbreport.catalog import Catalog, load_catalog
    from hbreport.registry import Registry, load_registry

    if isinstance(value, Registry) and value.source is not None:
        if load_registry(value.source) is value:
            return _Load("registry", (str(value.source),))
    elif isinstance(value, Catalog) and value.path is not None:
        if load_catalog(value.path) is value:
            return _Load("catalog", (str(value.path),))
    elif isinstance(value, Baseline) and value.source is not None and value.counties_source is not None:
        if load_baseline(value.source, value.counties_source) is value:
            return _Load("baseline", (str(value.source), str(value.counties_source)))
    return value


def restore(value: Any) -> Any:
    """The inverse of :func:`portable`, in the receiving process."""
    return value.load() if isinstance(value, _Load) else value


def dealing_order(weights: Sequence[float], workers: int) -> list[int]:
    """Indices of the files in the order to deal them: the heaviest at both ends, the lightest where the
    ends meet. This process takes from the back and the ``workers`` − 1 others from the front, so of
    each ``workers`` files in order of weight, one goes to the back and the rest to the front."""
    ranked = sorted(range(len(weights)), key=lambda i: -weights[i])  # stable: ties keep their order
    front: list[int] = []
    back: list[int] = []
    for k, i in enumerate(ranked):
        (back if k % workers == workers - 1 else front).append(i)
    return front + back[::-1]


class _Counter:
    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total, self.count, self.progress = total, 0, progress
        if progress:
            progress(0, total)

    def done(self, result: R, elsewhere: int = 0) -> R:
        """One more file read here (``elsewhere``: how many the other processes have read so far)."""
        self.count += 1
        if self.progress:
            self.progress(min(self.count + elsewhere, self.total), self.total)
        return result

    def finish(self) -> None:
        if self.progress:
            self.progress(self.total, self.total)


def read_files(
    paths: Sequence[str],
    read: Callable[[str], R],
    *,
    workers: int,
    setup: Callable[..., None],
    context: tuple = (),
    progress: Progress | None = None,
    meanwhile: Callable[[], T] = lambda: None,
    method: str | None = None,
    spawn_seconds: float | None = None,
    crashed: Crashed | None = None,
    weights: Sequence[float] | None = None,
) -> Reading[R, T]:
    """``read(path)`` for every path, here and in up to ``workers`` − 1 other processes.

    ``setup(*context)`` runs here first; spawned processes run it too, with the context sent as
    :func:`portable` makes it. ``read`` and ``setup`` must be module-level functions (a spawned
    process finds them by name). ``meanwhile()`` runs here while the others start. ``read`` must not
    raise: it returns what went wrong as its result, so one file cannot stop the others.

    ``crashed(path, exit code)``: the result for a file whose reading process died (see the module's
    notes); without it this process reads again what a dead process had taken.

    ``weights`` (one per path, such as its size): how long each file takes to read, roughly. The files
    are then dealt heaviest first from both ends, so that the processes finish on light files together
    rather than one waiting while another reads a heavy one; the results keep the order of ``paths``."""
    setup(*context)
    order = dealing_order(weights, workers) if weights is not None and workers > 1 else range(len(paths))
    paths = [str(paths[i]) for i in order]  # in the order they are dealt; the results go back below
    counter = _Counter(len(paths), progress)
    forkable = "fork" in multiprocessing.get_all_start_methods()
    method = method or START_METHOD or ("fork" if forkable else "spawn")
    helpers = min(workers - 1, len(paths) - 1)
    if helpers < 1:
        extra = meanwhile()
        reading = Reading([counter.done(read(p)) for p in paths], extra, 0, 0)
    else:
        dealer = _Dealer(paths, read, setup, context, counter, helpers, method, spawn_seconds, crashed)
        reading = dealer.run(meanwhile)
    results: list[Any] = [None] * len(paths)
    for k, i in enumerate(order):
        results[i] = reading.results[k]
    return replace(reading, results=results)


class _Dealer:
    """One run of :func:`read_files` with other processes."""

    def __init__(self, paths, read, setup, context, counter, helpers, method, spawn_seconds, crashed) -> None:
        self.paths, self.read, self.counter, self.helpers, self.crashed = (
            paths,
            read,
            counter,
            helpers,
            crashed,
        )
        self.ctx = multiprocessing.get_context(method)
        self.forked = method == "fork"
        # forked processes inherit what setup() loaded; spawned ones load it themselves
        self.setup, self.context = (None, ()) if self.forked else (setup, tuple(portable(v) for v in context))
        self.spawn_seconds = SPAWN_SECONDS if spawn_seconds is None else spawn_seconds
        # [next from the front, one past the next from the back, files the other processes have read]
        self.ends = self.ctx.RawArray("i", [0, len(paths), 0])
        self.claimed = self.ctx.RawArray("i", helpers)  # files each other process has taken
        self.lock = self.ctx.Lock()
        self.procs: list[tuple[Any, Any]] = []
        self.started = False

    def start(self, count: int) -> None:
        """Start ``count`` other processes; where the system refuses one (out of memory or processes),
        this process goes on with those that started, or alone."""
        self.started = True
        for k in range(count):
            receive, send = self.ctx.Pipe(duplex=False)
            job = (self.paths, self.read, self.setup, self.context, self.crashed is not None)
            shared = (self.ends, self.claimed, self.lock)
            proc = self.ctx.Process(target=_helper, args=(job, shared, k, send), daemon=True)
            try:
                proc.start()
            except OSError:
                receive.close()
                send.close()
                return
            send.close()
            self.procs.append((proc, receive))

    def worth_spawning(self, began: float, read_here: int) -> bool:
        left = self.ends[1] - self.ends[0]  # nothing else takes files yet: no lock needed
        return left > 1 and (time.perf_counter() - began) / read_here * left > self.spawn_seconds

    def run(self, meanwhile: Callable[[], T]) -> Reading:
        results: dict[int, Any] = {}
        try:
            if self.forked:
                self.start(self.helpers)
            extra = meanwhile()
            began, read_here = time.perf_counter(), 0
            while True:
                with self.lock:
                    if self.ends[0] >= self.ends[1]:
                        break
                    self.ends[1] -= 1
                    i = self.ends[1]
                results[i] = self.counter.done(self.read(self.paths[i]), self.ends[2])
                read_here += 1
                if not self.started and self.worth_spawning(began, read_here):
                    self.start(min(self.helpers, self.ends[1] - self.ends[0] - 1))
            with self.lock:  # every file is taken: a process that has taken none never will
                idle = [self.claimed[k] == 0 for k in range(len(self.procs))]
        except BaseException:  # an error here, or Ctrl-C: the other processes stop too
            self.stop(range(len(self.procs)))
            raise
        self.stop(k for k, unused in enumerate(idle) if unused)
        elsewhere = 0
        for k, (proc, receive) in enumerate(self.procs):
            if idle[k]:
                continue
            try:
                received = receive.recv()
                results.update(received)
                elsewhere += len(received)
            except (EOFError, OSError):
                pass  # the process ended without sending: what it took is read again below
            finally:
                receive.close()
                proc.join()
        return self.finish(results, extra, elsewhere)

    def finish(self, results: dict[int, Any], extra: Any, elsewhere: int) -> Reading:
        """The reading, once the files no process answered for are read again: each in a fresh process
        of its own when isolated, else here."""
        for i, p in enumerate(self.paths):
            if i not in results:
                results[i] = self.read(p) if self.crashed is None else self.alone(p)
        self.counter.finish()
        return Reading([results[i] for i in range(len(self.paths))], extra, len(self.procs), elsewhere)

    def alone(self, path: str) -> Any:
        """``read(path)`` in a fresh process of its own; ``crashed(path, its exit code)`` if it dies."""
        return _in_own_process(self.ctx, (self.read, self.setup, self.context), path, self.crashed)

    def stop(self, which) -> None:
        for k in which:
            proc, receive = self.procs[k]
            proc.terminate()
            receive.close()
            proc.join()


def read_alone(
    path: str,
    read: Callable[[str], R],
    *,
    crashed: Crashed,
    setup: Callable[..., None] | None = None,
    context: tuple = (),
    method: str | None = None,
) -> R:
    """``read(path)`` in a fresh process of its own (forked: it has what this one loaded; spawned:
    ``setup(*context)`` runs there first); ``crashed(path, exit code)`` if that process dies."""
    forkable = "fork" in multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context(method or START_METHOD or ("fork" if forkable else "spawn"))
    forked = ctx.get_start_method() == "fork"
    job = (read, None, ()) if forked else (read, setup, tuple(portable(v) for v in context))
    return _in_own_process(ctx, job, path, crashed)


def _in_own_process(ctx, job: tuple, path: str, crashed: Crashed) -> Any:
    read = job[0]
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_alone, args=(job, path, send), daemon=True)
    try:
        proc.start()
    except OSError:  # no process to be had: read here, as without isolation
        receive.close()
        send.close()
        return read(path)
    send.close()
    try:
        return receive.recv()
    except (EOFError, OSError):
        proc.join()
        return crashed(path, proc.exitcode)
    finally:
        receive.close()
        proc.join()


def _quiet() -> None:
    """An isolated reader writes nothing to the console: what native code prints as it aborts (a Rust
    panic, an allocation failure) is not for the user, who gets the file's refusal instead
    (HBREPORT_DEBUG=1 keeps it)."""
    if os.environ.get("HBREPORT_DEBUG"):
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:
        pass


def _alone(job: tuple, path: str, send) -> None:
    """In a fresh process: ``read(path)``, sent back in one message."""
    read, setup, context = job
    _quiet()
    if setup is not None:
        setup(*(restore(v) for v in context))
    send.send(read(path))
    send.close()


def _helper(job: tuple, shared: tuple, k: int, send) -> None:
    """In another process (the ``k``-th): read files from the front of the list until the two ends
    meet, then send (index, result) for every file read, in one message."""
    paths, read, setup, context, isolated = job
    if isolated:
        _quiet()
    ends, claimed, lock = shared
    if setup is not None:
        setup(*(restore(v) for v in context))
    out: list[tuple[int, Any]] = []
    while True:
        with lock:
            ends[2] += 1 if out else 0  # the file just read counts in this process's progress display
            if ends[0] >= ends[1]:
                break
            i = ends[0]
            ends[0] += 1
            claimed[k] += 1
        out.append((i, read(paths[i])))
    send.send(out)
    send.close()
