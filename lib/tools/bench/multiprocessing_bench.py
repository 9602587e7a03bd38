#!/usr/bin/env python3
"""Python multiprocessing equivalents of `multiproc bench` (run by `multiproc bench --python`).

Same loops, same method as the Node suites: a pilot sizes the batches to a time budget, every repetition
starts fresh processes, two-process latencies run in each placement given (pinned with sched_setaffinity),
samples are per-batch means. Prints one JSON object on stdout: {"python": version, "results": [...]}, each
result in the shape of lib/tools/bench/core.ts Result (without the summary fields, which the caller computes).

    python3 multiprocessing_bench.py --budget MS --reps N [--quick] [--placements JSON] [--only WORDS]
"""
import argparse
import json
import multiprocessing as mp
import os
import platform
import sys
import time

now_ns = time.monotonic_ns  # CLOCK_MONOTONIC, as process.hrtime in the Node suites


def die_with_parent():
    """prctl(PR_SET_PDEATHSIG, SIGKILL): no process of this benchmark outlives the one that started it."""
    try:
        import ctypes
        import signal
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)
    except Exception:
        pass


def pin(cpu):
    die_with_parent()
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})


class Pinned:
    def __init__(self, cpu):
        self.cpu = cpu
        self.saved = None

    def __enter__(self):
        if self.cpu is not None:
            self.saved = os.sched_getaffinity(0)
            os.sched_setaffinity(0, {self.cpu})

    def __exit__(self, *exc):
        if self.saved is not None:
            os.sched_setaffinity(0, self.saved)


def size_to(ms, samples, ns_per_op, lo=1, hi=10_000_000):
    n = int(ms * 1e6 / samples / max(ns_per_op, 1))
    return max(lo, min(hi, n))


# ---- the child sides (module level: picklable for any start method) ----

def pipe_child(conn, cpu, total):
    pin(cpu)
    for _ in range(total):
        conn.send_bytes(conn.recv_bytes())


def pipe_obj_child(conn, cpu, total):
    pin(cpu)
    for _ in range(total):
        conn.send(conn.recv())


def queue_child(q_in, q_out, cpu, total):
    pin(cpu)
    for _ in range(total):
        q_out.put(q_in.get())


def barrier_child(barrier, cpu, total):
    pin(cpu)
    for _ in range(total):
        barrier.wait()


def increment_child(value, start, times, i, cpu, n):
    pin(cpu)
    start.wait()
    lock = value.get_lock()
    t0 = now_ns()
    for _ in range(n):
        with lock:
            value.value += 1
    times[2 * i] = t0
    times[2 * i + 1] = now_ns()


def noop():
    pass


def double(x):
    return x * 2


# ---- harnesses ----

def pair_latency(opts, placement, make, parent_rounds):
    """make(cpu, total) -> (process, state); parent_rounds(state, n) -> ns. Returns (samples µs, n)."""
    batches = 10 if opts.quick else 20

    def trial(warmup, nb, n):
        proc, state = make(placement["b"], warmup + nb * n)
        proc.start()
        out = []
        try:
            with Pinned(placement["a"]):
                if warmup:
                    parent_rounds(state, warmup)
                for _ in range(nb):
                    out.append(parent_rounds(state, n) / n)
        finally:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
                proc.join()
        if proc.exitcode != 0:
            raise RuntimeError("the partner process ended with %s" % proc.exitcode)
        return out

    pilot = trial(50 if opts.quick else 300, 1, 200 if opts.quick else 1000)[0]
    n = size_to(opts.budget, opts.reps * batches, pilot, 20)
    samples = []
    for _ in range(opts.reps):
        samples += [ns / 1000 for ns in trial(max(20, n // 4), batches, n)]
    return samples, n


def pipe_make(cpu, total):
    a, b = mp.Pipe()
    return mp.Process(target=pipe_child, args=(b, cpu, total)), a


def pipe_rounds(conn, n):
    msg = b"x"
    t0 = now_ns()
    for _ in range(n):
        conn.send_bytes(msg)
        conn.recv_bytes()
    return now_ns() - t0


def pipe_obj_make(cpu, total):
    a, b = mp.Pipe()
    return mp.Process(target=pipe_obj_child, args=(b, cpu, total)), a


def pipe_obj_rounds(conn, n):
    t0 = now_ns()
    for i in range(n):
        conn.send(i)
        conn.recv()
    return now_ns() - t0


def queue_make(cpu, total):
    q1, q2 = mp.Queue(), mp.Queue()
    return mp.Process(target=queue_child, args=(q1, q2, cpu, total)), (q1, q2)


def queue_rounds(qs, n):
    q1, q2 = qs
    t0 = now_ns()
    for i in range(n):
        q1.put(i)
        q2.get()
    return now_ns() - t0


def barrier_make(cpu, total):
    b = mp.Barrier(2)
    return mp.Process(target=barrier_child, args=(b, cpu, total)), b


def barrier_rounds(b, n):
    t0 = now_ns()
    for _ in range(n):
        b.wait()
    return now_ns() - t0


def increments(placement, n):
    value = mp.Value("i", 0)
    start = mp.Event()
    times = mp.Array("d", 4, lock=False)
    procs = [mp.Process(target=increment_child, args=(value, start, times, i, placement[k], n)) for i, k in enumerate(("a", "b"))]
    for p in procs:
        p.start()
    time.sleep(0.05)  # both are waiting on the event
    start.set()
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise RuntimeError("an increment process failed")
    if value.value != 2 * n:
        raise RuntimeError("expected %d increments, counted %d" % (2 * n, value.value))
    wall = max(times[1], times[3]) - min(times[0], times[2])
    return wall / (2 * n)


def time_each(fn, ms, warmup, lo, hi):
    for _ in range(warmup):
        fn()
    out = []
    t0 = time.monotonic()
    while len(out) < hi and (len(out) < lo or (time.monotonic() - t0) * 1000 < ms):
        s = now_ns()
        fn()
        out.append((now_ns() - s) / 1000)
    return out


def start_join(ctx):
    def run():
        p = ctx.Process(target=noop)
        p.start()
        p.join()
        if p.exitcode != 0:
            raise RuntimeError("Process ended with %s" % p.exitcode)
    return run


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=600)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--placements", default=None)
    ap.add_argument("--only", default="")
    opts = ap.parse_args()
    die_with_parent()
    cpus = sorted(os.sched_getaffinity(0))
    placements = json.loads(opts.placements) if opts.placements else [{"name": "unpinned", "a": None, "b": None}]
    only = [w.lower() for w in opts.only.split(",") if w]
    want = lambda g: not only or any(w in g.lower() for w in only)  # noqa: E731
    mp.set_start_method("fork")
    results = []
    absent = []
    note = "Python %s, multiprocessing start method fork" % platform.python_version()

    def add(group, label, placement, unit, per, better, samples, n, ref=None):
        r = {"group": group, "way": "python", "label": label, "placement": placement, "unit": unit, "per": per,
             "better": better, "samples": samples, "opsPerSample": n, "note": note}
        if ref:
            r["ref"] = ref
        results.append(r)
        print("  %s · python · %s: %.3f %s/%s" % (group, placement, sorted(samples)[len(samples) // 2], unit, per), file=sys.stderr)

    def attempt(what, fn):
        try:
            fn()
        except Exception as e:  # recorded, the run goes on
            absent.append({"what": what, "reason": "failed: %r" % (e,)})

    latency = [
        ("socketpair ping-pong", "multiprocessing.Pipe() send_bytes/recv_bytes, 1 byte", pipe_make, pipe_rounds, "round trip", None),
        ("socketpair ping-pong", "multiprocessing.Pipe() send/recv of a small int (pickle)", pipe_obj_make, pipe_obj_rounds, "round trip", None),
        ("Queue ping-pong", "multiprocessing.Queue put/get of a small int, two queues", queue_make, queue_rounds, "round trip", "pipe ping-pong"),
        ("barrier cycle", "multiprocessing.Barrier(2).wait", barrier_make, barrier_rounds, "cycle", None),
    ]
    for group, label, make, rounds, per, ref in (latency[:1] if opts.quick else latency):
        if not want(group):
            continue
        for pl in placements:
            def one(group=group, label=label, make=make, rounds=rounds, per=per, ref=ref, pl=pl):
                samples, n = pair_latency(opts, pl, make, rounds)
                add(group, label, pl["name"], "µs", per, "lower", samples, n, ref)
            attempt("%s · python · %s" % (group, pl["name"]), one)

    if not opts.quick and want("contended increment"):
        for pl in placements:
            def inc(pl=pl):
                pilot = increments(pl, 2000)
                n = size_to(opts.budget, opts.reps, pilot * 2, 1000, 5_000_000)
                samples = [increments(pl, n) * 1 for _ in range(max(opts.reps, 3))]
                add("contended increment", "multiprocessing.Value('i') get_lock() + value += 1", pl["name"], "ns", "increment", "lower", samples, 2 * n)
            attempt("contended increment · python · %s" % pl["name"], inc)

    if want("fork + exit + wait"):
        def start_fork():
            s = time_each(start_join(mp.get_context("fork")), opts.budget, 2 if opts.quick else 10, 5 if opts.quick else 30, 30 if opts.quick else 2000)
            add("fork + exit + wait", "multiprocessing.Process(target=noop).start(); join() (fork)", "unpinned", "µs", "process", "lower", s, 1)
        attempt("fork + exit + wait · python", start_fork)
    if want("forkserver start + join"):
        def start_forkserver():
            s = time_each(start_join(mp.get_context("forkserver")), opts.budget, 2 if opts.quick else 10, 5 if opts.quick else 30, 30 if opts.quick else 2000)
            add("forkserver start + join", "multiprocessing.Process(target=noop).start(); join() (forkserver)", "unpinned", "µs", "process", "lower", s, 1, "fork + exit + wait")
        attempt("forkserver start + join · python", start_forkserver)
    if not opts.quick and want("spawn a fresh runtime child"):
        def start_spawn():
            s = time_each(start_join(mp.get_context("spawn")), opts.budget * 2, 2, 10, 2000)
            add("spawn a fresh runtime child", "multiprocessing.Process(target=noop) with the spawn start method; join()", "unpinned", "µs", "process", "lower", s, 1, "posix_spawn /bin/true + wait")
        attempt("spawn a fresh runtime child · python", start_spawn)

    if not opts.quick and want("Pool.map per task"):
        for chunk in (1, 64):
            def pool(chunk=chunk):
                with mp.Pool(2) as p:
                    p.map(double, range(200), chunksize=chunk)
                    t0 = now_ns()
                    p.map(double, range(1000), chunksize=chunk)
                    pilot = (now_ns() - t0) / 1000
                    n = max(200, min(1_000_000, int(opts.budget * 1e6 / (opts.reps * 5) / pilot)))
                    samples = []
                    for _ in range(opts.reps * 5):
                        t0 = now_ns()
                        out = p.map(double, range(n), chunksize=chunk)
                        samples.append((now_ns() - t0) / n / 1000)
                        if out[-1] != 2 * (n - 1):
                            raise RuntimeError("Pool.map returned wrong results")
                add("Pool.map per task", "multiprocessing.Pool(2).map(double, range(%d), chunksize=%d)" % (n, chunk), "unpinned", "µs", "task", "lower", samples, n)
            attempt("Pool.map per task · python · chunksize %d" % chunk, pool)

    json.dump({"python": platform.python_version(), "cpus": cpus, "results": results, "absent": absent}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
