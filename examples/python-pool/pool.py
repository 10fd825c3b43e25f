"""The Python pool story, beside examples/r-parallel: WORKERS Python
processes (a concurrent.futures.ProcessPoolExecutor, then a
multiprocessing.Pool) each sum their share of the columns of a features
table of doubles (16 columns), which they get either by name from shmpipe
(publish() once, then the opened table passed to the pool as any argument:
it pickles as its name, under 500 bytes, and each worker maps the same
memory) or as Python ships it, pickled by value (a copy per worker).

Prints, side by side: the pool's start-up, the time from submitting the
tasks to every result (the one publish() copy apart: a published table
serves any number of pools), the bytes pickled per worker, and the workers'
total Pss (proportional set size: a page shared by n processes counts 1/n
in each) once they computed, and how much it grew from before the table
was sent. With --json: one JSON line per figure (the benchmark's `pools`
group, scripts/bench/pools.ts).

    PYTHONPATH=ffi/python .venv/bin/python examples/python-pool/pool.py [--mib N] [--workers N] [--json]

The workers start with "spawn" (fresh interpreters, as on macOS and
Windows, and as R's PSOCK workers are): forked workers would share the
parent's private copy of the table until they write to it, which hides
what pickling costs in memory. Tables travel by name with fork and
forkserver as well."""
import argparse
import array
import concurrent.futures
import json
import multiprocessing
import os
import time
from multiprocessing.reduction import ForkingPickler

import pyarrow as pa
import pyarrow.compute as pc

import shmpipe

COLUMNS = 16
SPAWN = multiprocessing.get_context("spawn")


_barrier = None  # each worker's, from the pool's initializer


def start_worker(barrier) -> None:
    global _barrier
    _barrier = barrier


def work(table, columns):
    """A worker's task: the sum of its columns, reading every value. Then it
    waits, holding the table, until the parent has read every worker's Pss
    (two waits on a barrier the parent takes part in)."""
    total = sum(pc.sum(table.column(c)).as_py() for c in columns)
    _barrier.wait(120)  # every worker computed
    _barrier.wait(120)  # the parent read the Pss
    return total


def ready(_=None):
    """A worker's first task: its pid, once it is up (pyarrow and shmpipe loaded)."""
    time.sleep(0.2)  # long enough that every worker gets one
    return os.getpid()


def features(rows: int) -> pa.Table:
    base = pa.Array.from_buffers(pa.float64(), rows, [None, pa.py_buffer(array.array("d", range(rows)))])
    return pa.table({f"f{k:02d}": pc.add(base, float(k)) for k in range(1, COLUMNS + 1)})


def pss(pid: int) -> int:
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no Pss for process {pid}")


class _Counter:
    """A file that only counts what is written to it."""
    def __init__(self):
        self.bytes = 0

    def write(self, data) -> int:
        self.bytes += len(data)
        return len(data)


def pickled_size(obj) -> int:
    """Bytes the pools' pickler (multiprocessing's ForkingPickler) makes of `obj`, counted without keeping them."""
    counter = _Counter()
    ForkingPickler(counter, None).dump(obj)
    return counter.bytes


class Executor:
    label = "ProcessPoolExecutor"

    def __init__(self, workers: int, barrier):
        self.pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=SPAWN, initializer=start_worker,
                                                           initargs=(barrier,))
        self.pids = sorted(set(self.pool.map(ready, range(workers))) | set(self.pool._processes))

    def submit(self, table, shares):
        futures = [self.pool.submit(work, table, share) for share in shares]
        return lambda: [future.result() for future in futures]

    def close(self):
        self.pool.shutdown()


class Pool:
    label = "multiprocessing.Pool"

    def __init__(self, workers: int, barrier):
        self.pool = SPAWN.Pool(workers, initializer=start_worker, initargs=(barrier,))
        self.pool.map(ready, range(workers), chunksize=1)
        self.pids = sorted(process.pid for process in self.pool._pool)

    def submit(self, table, shares):
        result = self.pool.starmap_async(work, [(table, share) for share in shares], chunksize=1)
        return lambda: result.get()

    def close(self):
        self.pool.close()
        self.pool.join()


def main() -> None:
    parser = argparse.ArgumentParser(
        description="WORKERS Python workers sum a features table they get by name (shmpipe) or pickled by value, "
                    "through a ProcessPoolExecutor and a multiprocessing.Pool; prints the times and the workers' "
                    "memory (Pss) side by side. Needs about (WORKERS + 3) x the table's size of memory.")
    parser.add_argument("--mib", type=float, default=64, help="the table's size in MiB (default 64)")
    parser.add_argument("--workers", type=int, default=4, help="worker processes (default 4)")
    parser.add_argument("--json", action="store_true", help="one JSON line per figure, for the benchmark")
    args = parser.parse_args()
    if not args.mib >= 1 or args.workers < 1:
        parser.error("--mib takes a size of at least 1 and --workers a whole number above 0")
    rows = int(args.mib * 2**20) // 8 // COLUMNS
    size = f"{args.mib / 1024:g} GiB" if args.mib >= 1024 else f"{args.mib:g} MiB"
    names = [f"f{k:02d}" for k in range(1, COLUMNS + 1)]
    shares = [names[i::args.workers] for i in range(args.workers)]
    expected = [sum(rows * (rows - 1) / 2 + rows * int(c[1:]) for c in share) for share in shares]
    figures = []

    def figure(way: str, name: str, value: float, unit: str) -> None:
        figures.append((way, name, value, unit))
        if args.json:
            print(json.dumps({"case": f"Python pools, {args.workers} workers, {size} table: {way}: {name}",
                              "value": float(f"{value:.6g}"), "unit": unit}), flush=True)

    def measure(kind, way: str, table) -> None:
        started = time.perf_counter()
        barrier = SPAWN.Barrier(args.workers + 1)
        pool = kind(args.workers, barrier)
        try:
            figure(way, f"{kind.label} start-up", time.perf_counter() - started, "s")
            before = sum(map(pss, pool.pids))
            started = time.perf_counter()
            results = pool.submit(table, shares)
            barrier.wait(600)  # every worker computed, and holds its table
            computed = time.perf_counter()
            after = sum(map(pss, pool.pids))
            resumed = time.perf_counter()
            barrier.wait(600)
            results = results()
            # the time to the results, less the parent's reading of the Pss
            figure(way, f"{kind.label}: submit -> results", time.perf_counter() - resumed + computed - started, "s")
            if any(abs(got - want) > 1e-9 * want for got, want in zip(results, expected)):
                raise SystemExit(f"{kind.label}, {way}: the workers' sums are wrong")
            figure(way, f"{kind.label}: bytes pickled per worker", pickled_size((work, (table, shares[0]))), "B")
            figure(way, f"{kind.label}: workers' total Pss", after / 2**20, "MiB")
            figure(way, f"{kind.label}: workers' Pss growth", (after - before) / 2**20, "MiB")
        finally:
            pool.close()

    data = features(rows)
    name = f"pool-{os.getpid()}"
    started = time.perf_counter()
    published = shmpipe.publish(name, data)
    try:
        figure("shmpipe by name", "publish", time.perf_counter() - started, "s")
        opened = shmpipe.open_table(name)  # its columns pickle by name
        for kind in (Executor, Pool):
            measure(kind, "shmpipe by name", opened)
        del opened
    finally:
        published.unpublish()
    for kind in (Executor, Pool):
        measure(kind, "pickled by value", data)

    if not args.json:
        def shown(value: float, unit: str) -> str:
            return {"s": f"{value:.2f} s", "B": f"{value:,.0f}", "MiB": f"{value:,.0f} MiB"}[unit]

        def cell(way: str, name: str) -> str:
            return next((shown(v, u) for w, n, v, u in figures if w == way and n == name), "-")

        def value(way: str, name: str) -> float:
            return next(v for w, n, v, _ in figures if w == way and n == name)

        print(f"{args.workers} spawned Python workers sum a {size} features table ({COLUMNS} columns x {rows:,} rows); "
              "every answer checked:\n")
        print(f"{'':<50} {'shmpipe by name':>16} {'pickled by value':>17}")
        rows_shown = ["publish"] + [f"{kind.label}{part}" for kind in (Executor, Pool) for part in
                                    (" start-up", ": submit -> results", ": bytes pickled per worker",
                                     ": workers' total Pss", ": workers' Pss growth")]
        for row in rows_shown:
            print(f"{row:<50} {cell('shmpipe by name', row):>16} {cell('pickled by value', row):>17}")
        print()
        for kind in (Executor, Pool):
            time_of = {way: value(way, f"{kind.label}: submit -> results") for way in ("shmpipe by name", "pickled by value")}
            growth = {way: value(way, f"{kind.label}: workers' Pss growth") for way in ("shmpipe by name", "pickled by value")}
            publish = value("shmpipe by name", "publish")
            print(f"{kind.label}: submit -> results {time_of['pickled by value'] / time_of['shmpipe by name']:.0f}x faster by name "
                  f"({time_of['pickled by value'] / (time_of['shmpipe by name'] + publish):.0f}x counting the publish); "
                  f"the table took {growth['pickled by value'] / growth['shmpipe by name']:.1f}x less of the workers' memory.")

if __name__ == "__main__":
    main()
