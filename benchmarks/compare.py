"""microgradnn against micrograd 0.1.0, side by side: speed, depth and memory.

    pip install -e '.[bench]'          # brings micrograd==0.1.0; this script installs nothing
    python benchmarks/compare.py       # the full run: 3 rounds, about 4 minutes
    python benchmarks/compare.py --quick

Timings: each round is one fresh process that runs every workload on both engines, one after
the other, alternating which engine goes first from round to round (A B, then B A, ...). The
ratio is micrograd's time divided by microgradnn's (how many times faster microgradnn is),
taken within each round and reported as the median over the rounds, next to the median time of
each engine. Every timing is taken twice: with Python's cyclic garbage collector running, as
users run, and with it disabled during the timed code (micrograd's graphs are reference
cycles that only the collector frees; microgradnn's are freed by reference counting).

What a timing includes: for op throughput, building the graph (forward) and backward, and
apart from them dropping the graph; for a training step, everything: forward over the batch,
backward, SGD update, zero_grad, dropping the graph. Each workload runs back to back after one
untimed warm-up run, as a training loop runs, so freeing old graphs is paid where a loop pays
it: microgradnn frees a graph at once, by reference counting, when it is dropped; micrograd
leaves it to the cyclic collector, which runs during later forward passes.

Depth and memory run in their own processes: depth with Python's default recursion limit (as
users have it); memory with tracemalloc, which would distort timings.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import workloads

ENGINES = ("micrograd", "microgradnn")
# micrograd's backward sorts the graph recursively; the timing processes raise the recursion
# limit so that it can backpropagate the 100,000-operation graph at all (the depth test does not).
TIMING_RECURSION_LIMIT = 1_000_000
# The op-throughput phases reported; "fwd+bwd+free" adds dropping the graph, which frees it at
# once in microgradnn and leaves it to the collector in micrograd (paid in its next forward).
PHASES = ("fwd+bwd", "forward", "backward", "fwd+bwd+free")

# Workload sizes and repetitions: the full run, a quicker look, and tiny sizes for a smoke test.
# micrograd's runs take seconds and stop at min_reps; microgradnn's repeat until min_time.
SIZES: dict[str, dict[str, Any]] = {
    "full": {
        "rounds": 3, "ops": 100_000, "moons": 100, "mlp": 64, "depth": [10**3, 10**4, 10**5, 10**6],
        "memory_ops": 100_000, "cycles": 100, "cycle_ops": 1_000,
        "min_reps": {"dag": 2, "moons": 2, "mlp": 1}, "min_time": 0.3, "max_reps": 10,
    },
    "quick": {
        "rounds": 2, "ops": 20_000, "moons": 100, "mlp": 16, "depth": [10**3, 10**4, 10**5],
        "memory_ops": 20_000, "cycles": 100, "cycle_ops": 1_000,
        "min_reps": {"dag": 1, "moons": 1, "mlp": 1}, "min_time": 0.2, "max_reps": 5,
    },
    "smoke": {
        "rounds": 1, "ops": 1_000, "moons": 20, "mlp": 2, "depth": [100, 1_000],
        "memory_ops": 1_000, "cycles": 10, "cycle_ops": 200,
        "min_reps": {"dag": 1, "moons": 1, "mlp": 1}, "min_time": 0.0, "max_reps": 1,
    },
}  # fmt: skip
# CPU time of this process by default: on a shared machine other processes then slow a
# measurement down (through caches) but do not add their own running time to it.
clock = time.process_time


# ---------------------------------------------------------------------- engines
def engine(name: str) -> tuple[type, type]:
    """``(Value, MLP)`` of the named engine."""
    if name == "micrograd":
        try:
            from micrograd.engine import Value
            from micrograd.nn import MLP
        except ImportError:
            sys.exit("micrograd is not installed: pip install 'microgradnn[bench]' (or micrograd==0.1.0)")
        return Value, MLP
    from microgradnn.engine import Value
    from microgradnn.nn import MLP

    return Value, MLP


def make_models(nin: int, nouts: list[int], seed: int) -> dict[str, Any]:
    """The same network on both engines: micrograd's random weights copied into microgradnn's."""
    import random

    random.seed(seed)
    models = {name: engine(name)[1](nin, nouts) for name in ENGINES}
    workloads.copy_parameters(models["micrograd"], models["microgradnn"])
    return models


# ---------------------------------------------------------------------- measuring
def measure(
    run: Callable[[], dict[str, float]], gc_on: bool, min_reps: int, min_time: float, max_reps: int
) -> dict:
    """Mean phase timings (seconds) of ``run()`` repeated as a loop repeats it: one untimed
    warm-up run, then at least ``min_reps`` timed runs, more until ``min_time`` has passed or
    there are ``max_reps``. Nothing is collected between runs, so each engine pays in its
    own runs for freeing the previous run's graph, as in a training loop: by reference
    counting, or by the cyclic collector (with the collector disabled, micrograd's graphs
    pile up until the end of the measurement).
    """
    gc.collect()
    if not gc_on:
        gc.disable()
    try:
        run()
        samples = []
        started = clock()
        while len(samples) < min_reps or (clock() - started < min_time and len(samples) < max_reps):
            samples.append(run())
    finally:
        gc.enable()
    gc.collect()
    means = {phase: statistics.fmean(s[phase] for s in samples) for phase in samples[0]}
    return means | {"reps": len(samples)}


def dag_run(Value: type, program: workloads.Program) -> Callable[[], dict[str, float]]:
    """One op-throughput run: build the program's graph, backpropagate, drop it."""

    def run() -> dict[str, float]:
        t0 = clock()
        root = workloads.replay(Value, program)
        t1 = clock()
        root.backward()
        t2 = clock()
        del root
        t3 = clock()
        return {"forward": t1 - t0, "backward": t2 - t1, "fwd+bwd": t2 - t0, "fwd+bwd+free": t3 - t0}

    return run


def step_run(model: Any, step: Callable[[], float]) -> Callable[[], dict[str, float]]:
    """A training step on ``model``, each time from the same starting parameters."""
    start = [p.data for p in model.parameters()]

    def run() -> dict[str, float]:
        for p, x in zip(model.parameters(), start):
            p.data = x
        t0 = clock()
        step()
        return {"total": clock() - t0}

    return run


def timing_round(round_index: int, size: dict[str, Any]) -> dict:
    """One round: every timed workload on every engine (and variant), both gc settings."""
    sys.setrecursionlimit(TIMING_RECURSION_LIMIT)
    min_time, max_reps, min_reps = size["min_time"], size["max_reps"], size["min_reps"]
    n_ops = size["ops"]
    results: dict[str, Any] = {}

    # 1. op throughput
    program = workloads.make_program(n_ops)
    roots = {name: workloads.replay(engine(name)[0], program) for name in ENGINES}
    nodes = {name: workloads.count_nodes(root) for name, root in roots.items()}
    values = {name: root.data for name, root in roots.items()}
    if nodes["micrograd"] != nodes["microgradnn"] or values["micrograd"] != values["microgradnn"]:
        raise RuntimeError(f"the two engines built different graphs: {nodes}, {values}")
    del roots
    cases = {name: dag_run(engine(name)[0], program) for name in ENGINES}
    results["dag"] = {"nodes": nodes["microgradnn"], "ops": n_ops, "cases": {}}
    run_cases(results["dag"]["cases"], cases, round_index, (min_reps["dag"], min_time, max_reps))

    # 2. training steps: the demo, and a larger MLP with MSE
    X, y = workloads.moons(size["moons"])
    Xr, Yr = workloads.regression_data(size["mlp"])
    for key, (nin, nouts, loss, idiomatic, data, lr, loss_name, l2) in {
        "moons": (
            2, [16, 16, 1], workloads.moons_loss, workloads.moons_loss_idiomatic, (X, y), 1.0, "hinge", 1e-4
        ),
        "mlp": (
            64, [32, 32, 10], workloads.mse_loss, workloads.mse_loss_idiomatic, (Xr, Yr), 0.01, "mse", 0.0
        ),
    }.items():
        models = make_models(nin, nouts, seed=1337)
        models["microgradnn, idiomatic"] = make_models(nin, nouts, seed=1337)["microgradnn"]
        models["microgradnn, train_step"] = make_models(nin, nouts, seed=1337)["microgradnn"]
        cases, losses = {}, {}
        for name, model in models.items():
            if name.endswith("train_step"):
                step = workloads.library_step(model, *data, loss_name, lr, l2)
            else:
                if name.endswith("idiomatic"):
                    loss_fn = partial(idiomatic, model, *data)
                else:
                    loss_fn = partial(loss, engine(name)[0], model, *data)
                step = partial(workloads.training_step, loss_fn, model, lr)
            cases[name] = step_run(model, step)  # restores these starting weights before each run
            losses[name] = step()  # the loss of the starting weights, as this variant computes it
        results[key] = {"samples": len(data[0]), "losses": losses, "cases": {}}
        run_cases(results[key]["cases"], cases, round_index, (min_reps[key], min_time, max_reps))
    return results


def run_cases(out: dict, cases: dict[str, Callable], round_index: int, reps: tuple[int, float, int]) -> None:
    # Alternate which engine goes first, so that neither always runs on a warmer (or more
    # fragmented) heap than the other.
    names = list(cases) if round_index % 2 == 0 else list(reversed(cases))
    for gc_on in (True, False):
        for name in names:
            timing = measure(cases[name], gc_on, *reps)
            out.setdefault(name, {})["gc" if gc_on else "nogc"] = timing


# ---------------------------------------------------------------------- depth
def depth_test(name: str, sizes: list[int]) -> dict:
    """The longest chain ``x = x * 1.0001 + 0.0`` whose backward works, at the default recursion
    limit. Sizes are tried in order until one fails; a failure at a size up to 10,000 steps is
    then narrowed down by bisection to the exact largest working chain."""
    Value = engine(name)[0]
    gc.collect()

    def works(steps: int) -> tuple[bool, str, float]:
        t0 = time.perf_counter()
        try:
            x0, x = workloads.chain(Value, steps)
            x.backward()
            ok = workloads.chain_gradient_ok(x0, steps)
            return ok, "" if ok else "wrong gradient", time.perf_counter() - t0
        except (RecursionError, MemoryError) as e:
            return False, type(e).__name__, time.perf_counter() - t0
        finally:
            x0 = x = None
            gc.collect()

    tried, deepest, failed_at = [], 0, None
    for steps in sizes:
        ok, error, seconds = works(steps)
        tried.append({"steps": steps, "ok": ok, "error": error, "seconds": seconds})
        if not ok:
            failed_at = steps
            break
        deepest = steps
    if failed_at is not None and failed_at <= 10_000:
        low, high = deepest, failed_at  # works(low), not works(high)
        while high - low > 1:
            mid = (low + high) // 2
            low, high = (mid, high) if works(mid)[0] else (low, mid)
        deepest = low
    return {"deepest_steps": deepest, "failed_at": failed_at, "tried": tried}


# ---------------------------------------------------------------------- memory
def memory_test(name: str, n_ops: int, cycles: int, cycle_ops: int) -> dict:
    """Bytes per live node of the DAG (tracemalloc), and memory left over after many
    build/backward/drop cycles of a small DAG, with and without the cyclic collector."""
    Value = engine(name)[0]
    program = workloads.make_program(n_ops)
    small = workloads.make_program(cycle_ops)
    sys.setrecursionlimit(TIMING_RECURSION_LIMIT)
    workloads.replay(Value, small).backward()  # warm up caches (interned names, free lists) first
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    root = workloads.replay(Value, program)
    after_forward = tracemalloc.get_traced_memory()[0] - base
    root.backward()
    after_backward = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    nodes = workloads.count_nodes(root)
    del root
    gc.collect()

    # Memory after the first cycle is the baseline: that cycle fills free lists once. Bytes
    # are approximate: a few kB of freed floats (and, before Python 3.11, frames) kept in the
    # interpreter's free lists still count as traced, more of them after each cycle until the
    # lists are full. The Values still alive after the cycles are an exact count of what leaked.
    growth, values_left = {}, {}
    for gc_on in (False, True):
        gc.collect()
        if not gc_on:
            gc.disable()
        values_before = _live_values(Value)
        tracemalloc.start()
        workloads.replay(Value, small).backward()
        after_first = tracemalloc.get_traced_memory()[0]
        for _ in range(cycles - 1):
            workloads.replay(Value, small).backward()
        growth["gc" if gc_on else "nogc"] = tracemalloc.get_traced_memory()[0] - after_first
        tracemalloc.stop()
        values_left["gc" if gc_on else "nogc"] = _live_values(Value) - values_before
        gc.enable()
        gc.collect()
    return {
        "nodes": nodes,
        "per_node_forward": after_forward / nodes,
        "per_node_backward": after_backward / nodes,
        "cycles": cycles,
        "cycle_nodes": workloads.count_nodes(workloads.replay(Value, small)),
        "growth": growth,
        "values_left": values_left,
    }


def _live_values(Value: type) -> int:
    """How many Values exist (both engines' Values are tracked by the cyclic collector)."""
    return sum(1 for o in gc.get_objects() if type(o) is Value)


# ---------------------------------------------------------------------- orchestration
def worker_main(args: argparse.Namespace) -> None:
    global clock
    if args.wall_clock:
        clock = time.perf_counter
    size = SIZES[args.size]
    if args.worker == "timing":
        result = timing_round(args.round, size)
    elif args.worker == "depth":
        result = depth_test(args.engine, size["depth"])
    else:
        result = memory_test(args.engine, size["memory_ops"], size["cycles"], size["cycle_ops"])
    json.dump(result, sys.stdout)


def package_env(package_dir: Path | None) -> dict[str, str] | None:
    """The environment of a process that imports microgradnn from ``package_dir`` (None: as is)."""
    if package_dir is None:
        return None
    paths = [str(package_dir), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def run_worker(*worker_args: str, package_dir: Path | None = None) -> dict:
    """One measurement in a fresh process; ``package_dir``: import microgradnn from there."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", *worker_args]
    done = subprocess.run(command, capture_output=True, text=True, env=package_env(package_dir))
    if done.returncode != 0:
        sys.exit(f"benchmark worker failed: {' '.join(worker_args)}\n{done.stderr}")
    return json.loads(done.stdout)


def machine() -> dict[str, str]:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "system": f"{platform.system()} {platform.release()}",
        "cpu": f"{model}, {os.cpu_count()} logical CPUs",
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a",
    }


def paired(rounds: list[dict], workload: str, ours: str, gc_key: str, phase: str = "total") -> dict:
    """Medians over rounds of micrograd's time, ours, and the per-round ratio."""
    theirs = [r[workload]["cases"]["micrograd"][gc_key][phase] for r in rounds]
    mine = [r[workload]["cases"][ours][gc_key][phase] for r in rounds]
    return {
        "micrograd": statistics.median(theirs),
        "microgradnn": statistics.median(mine),
        "ratio": statistics.median(t / m for t, m in zip(theirs, mine)),
        "ratio_min": min(t / m for t, m in zip(theirs, mine)),
        "ratio_max": max(t / m for t, m in zip(theirs, mine)),
    }


def report(summary: dict) -> str:
    """The results as a Markdown table (and a few lines around it)."""
    rows = []

    def ratio_cell(p: dict) -> str:
        return f"**{p['ratio']:.1f}×** ({p['ratio_min']:.1f}–{p['ratio_max']:.1f})"

    t = summary["timing"]
    n = t["dag_nodes"]
    for gc_key, gc_label in (("gc", "gc on"), ("nogc", "gc off")):
        for phase in PHASES:
            p = t["dag"][gc_key][phase]
            what = {
                "fwd+bwd": "fwd+bwd",
                "forward": "forward only",
                "backward": "backward only",
                "fwd+bwd+free": "fwd+bwd+freeing the graph",
            }[phase]
            rows.append(
                (
                    f"op throughput, {what}, {gc_label}",
                    "ns/node",
                    f"{p['micrograd'] / n * 1e9:,.0f}",
                    f"{p['microgradnn'] / n * 1e9:,.0f}",
                    ratio_cell(p),
                )
            )
    for key, label in (("moons", "demo step, moons"), ("mlp", "MLP(64, [32, 32, 10]) step")):
        for gc_key, gc_label in (("gc", "gc on"), ("nogc", "gc off")):
            for variant, vlabel in (
                ("same", "same code"),
                ("idiomatic", "idiomatic"),
                ("train_step", "fit's train_step"),
            ):
                p = t[key][variant][gc_key]
                rows.append(
                    (
                        f"{label}, {vlabel}, {gc_label}",
                        "ms/step",
                        f"{p['micrograd'] * 1e3:,.1f}",
                        f"{p['microgradnn'] * 1e3:,.2f}",
                        ratio_cell(p),
                    )
                )
    d = summary["depth"]
    rows.append(
        (
            "depth: longest chain that backpropagates",
            "steps (nodes)",
            _depth_cell(d["micrograd"]),
            _depth_cell(d["microgradnn"]),
            "",
        )
    )
    m = summary["memory"]
    for key, label in (("per_node_forward", "after forward"), ("per_node_backward", "after backward")):
        rows.append(
            (
                f"memory per live node, {label}",
                "bytes",
                f"{m['micrograd'][key]:,.0f}",
                f"{m['microgradnn'][key]:,.0f}",
                f"{m['micrograd'][key] / m['microgradnn'][key]:.1f}× less",
            )
        )
    cycles = m["microgradnn"]["cycles"]
    for gc_key, gc_label in (("nogc", "gc off"), ("gc", "gc on")):
        rows.append(
            (
                f"memory growth over {cycles} build/backward/drop cycles, {gc_label}",
                "bytes",
                f"{m['micrograd']['growth'][gc_key]:,}",
                f"{m['microgradnn']['growth'][gc_key]:,}",
                "",
            )
        )
    rows.append(
        (
            f"Values still alive after {cycles} build/backward/drop cycles, gc off",
            "Values",
            f"{m['micrograd']['values_left']['nogc']:,}",
            f"{m['microgradnn']['values_left']['nogc']:,}",
            "",
        )
    )
    header = ("workload", "unit", "micrograd", "microgradnn", "ratio (median, min–max)")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    notes = [
        "",
        f"op throughput: {t['dag_ops']:,} operations, {n:,} Values (leaves and wrapped numbers "
        f"included) in both engines; demo step: {t['moons_samples']} points; "
        f"MLP step: {t['mlp_samples']} samples.",
        f"memory: a {m['microgradnn']['nodes']:,}-node graph; build/drop cycles of a "
        f"{m['microgradnn']['cycle_nodes']:,}-node graph.",
        f"rounds: {summary['rounds']}; ratio = micrograd time / microgradnn time; clock: {summary['clock']}.",
        "machine: " + "; ".join(f"{k} {v}" for k, v in summary["machine"].items()),
    ]
    return "\n".join(lines + notes)


def _depth_cell(d: dict) -> str:
    steps = d["deepest_steps"]
    cell = f"{steps:,} ({4 * steps + 1:,})"
    failures = [t for t in d["tried"] if not t["ok"]]
    if failures:
        return cell + f"; {failures[0]['error']} at {failures[0]['steps']:,}"
    return cell + ", the largest tried"


def summarize(rounds: list[dict], depth: dict, memory: dict, meta: dict) -> dict:
    timing: dict[str, Any] = {
        "dag_nodes": rounds[0]["dag"]["nodes"],
        "dag_ops": rounds[0]["dag"]["ops"],
        "moons_samples": rounds[0]["moons"]["samples"],
        "mlp_samples": rounds[0]["mlp"]["samples"],
        "dag": {
            g: {ph: paired(rounds, "dag", "microgradnn", g, ph) for ph in PHASES} for g in ("gc", "nogc")
        },
    }
    for key in ("moons", "mlp"):
        timing[key] = {
            variant: {g: paired(rounds, key, name, g) for g in ("gc", "nogc")}
            for variant, name in (
                ("same", "microgradnn"),
                ("idiomatic", "microgradnn, idiomatic"),
                ("train_step", "microgradnn, train_step"),
            )
        }
        timing[key]["losses"] = rounds[0][key]["losses"]
    return {"timing": timing, "depth": depth, "memory": memory, "rounds": len(rounds), **meta}


def export_package(ref: str) -> Path:
    """The microgradnn package as it was at git commit ``ref``, in a temporary folder."""
    root = Path(__file__).resolve().parent.parent
    folder = Path(tempfile.mkdtemp(prefix="microgradnn-baseline-"))
    archive = subprocess.run(["git", "-C", str(root), "archive", "--format=tar", ref, "microgradnn"],
                             capture_output=True)  # fmt: skip
    if archive.returncode != 0:
        sys.exit(f"--baseline {ref}: git archive failed: {archive.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    return folder


def before_after(before: dict, after: dict, rounds_before: list[dict], rounds_after: list[dict]) -> str:
    """Each workload's ratio to micrograd before and after, and after's speed relative to before
    (before's time / after's time, paired round by round: > 1 means faster now)."""
    header = ("workload", "before: × micrograd", "after: × micrograd", "after vs before (time ratio)")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]

    def speedup(workload: str, case: str, gc_key: str, phase: str) -> str:
        pairs = [b[workload]["cases"][case][gc_key][phase] / a[workload]["cases"][case][gc_key][phase]
                 for b, a in zip(rounds_before, rounds_after)]  # fmt: skip
        return f"{statistics.median(pairs):.2f}× ({min(pairs):.2f}–{max(pairs):.2f})"

    for gc_key, gc_label in (("gc", "gc on"), ("nogc", "gc off")):
        p_b, p_a = before["timing"]["dag"][gc_key]["fwd+bwd"], after["timing"]["dag"][gc_key]["fwd+bwd"]
        lines.append(f"| op throughput, fwd+bwd, {gc_label} | {p_b['ratio']:.1f}× | {p_a['ratio']:.1f}× | "
                     f"{speedup('dag', 'microgradnn', gc_key, 'fwd+bwd')} |")
    for key, label in (("moons", "demo step, moons"), ("mlp", "MLP(64, [32, 32, 10]) step")):
        for gc_key, gc_label in (("gc", "gc on"), ("nogc", "gc off")):
            for variant, case in (("same", "microgradnn"), ("idiomatic", "microgradnn, idiomatic"),
                                  ("train_step", "microgradnn, train_step")):  # fmt: skip
                p_b, p_a = before["timing"][key][variant][gc_key], after["timing"][key][variant][gc_key]
                lines.append(f"| {label}, {variant}, {gc_label} | {p_b['ratio']:.1f}× | "
                             f"{p_a['ratio']:.1f}× | {speedup(key, case, gc_key, 'total')} |")
    for key in ("per_node_forward", "per_node_backward"):
        b, a = before["memory"]["microgradnn"][key], after["memory"]["microgradnn"][key]
        what = key.removeprefix("per_node_")
        lines.append(f"| memory per live node, {what} (bytes) | {b:,.0f} | {a:,.0f} | |")
    lines.append(f"| depth (steps) | {_depth_cell(before['depth']['microgradnn'])} | "
                 f"{_depth_cell(after['depth']['microgradnn'])} | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, help="timing rounds (default 3, or 2 with --quick)")
    parser.add_argument("--quick", action="store_true", help="smaller workloads and fewer rounds (~1 min)")
    parser.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)  # tiny sizes, for a test
    parser.add_argument(
        "--wall-clock", action="store_true", help="time with the wall clock, not this process's CPU time"
    )
    parser.add_argument("--json", type=Path, help="also write every measurement to this JSON file")
    parser.add_argument(
        "--baseline", metavar="GITREF", help="also measure microgradnn as it was at this git commit, in the "
        "same rounds (before/after a change)"
    )
    parser.add_argument("--worker", choices=("timing", "depth", "memory"), help=argparse.SUPPRESS)
    parser.add_argument("--size", choices=tuple(SIZES), default="full", help=argparse.SUPPRESS)
    parser.add_argument("--round", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--engine", choices=ENGINES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(args)
        return
    engine("micrograd")  # fail early, with the install hint, if it is missing
    size_name = "smoke" if args.smoke else "quick" if args.quick else "full"
    rounds_n = args.rounds if args.rounds is not None else SIZES[size_name]["rounds"]
    if rounds_n < 1:
        parser.error("--rounds must be at least 1")
    meta = {
        "machine": machine(),
        "command": " ".join(["python", *sys.argv]),
        "clock": "wall clock (perf_counter)" if args.wall_clock else "process CPU time (process_time)",
    }
    started = time.perf_counter()
    common = ["--size", size_name] + (["--wall-clock"] if args.wall_clock else [])
    # With --baseline, the engine as it was at that commit runs too, in the same rounds,
    # alternating which of the two goes first: a before/after measured side by side.
    versions: dict[str, Path | None] = {"now": None}
    if args.baseline:
        versions["before"] = export_package(args.baseline)
    rounds: dict[str, list[dict]] = {v: [] for v in versions}
    for r in range(rounds_n):
        print(f"timing round {r + 1}/{rounds_n} ...", file=sys.stderr, flush=True)
        for v in list(versions)[:: 1 if r % 2 == 0 else -1]:
            rounds[v].append(run_worker("timing", "--round", str(r), *common, package_dir=versions[v]))
    summaries = {}
    for v, package_dir in versions.items():
        print(f"depth, memory ({v}) ...", file=sys.stderr, flush=True)
        depth = {e: run_worker("depth", "--engine", e, *common, package_dir=package_dir) for e in ENGINES}
        memory = {e: run_worker("memory", "--engine", e, *common, package_dir=package_dir) for e in ENGINES}
        summaries[v] = summarize(rounds[v], depth, memory, dict(meta))
    meta["machine"]["load at end"] = machine()["load"]
    meta["seconds"] = round(time.perf_counter() - started, 1)
    summary = summaries["now"] | meta
    print(report(summary))
    if args.baseline:
        print(f"\n### Before ({args.baseline}) and after, measured in the same rounds\n")
        print(before_after(summaries["before"], summary, rounds["before"], rounds["now"]))
    print(f"\n(total {meta['seconds']} s)")
    if args.json:
        record: dict[str, Any] = {"summary": summary, "rounds": rounds["now"]}
        if args.baseline:
            record["baseline"] = {"ref": args.baseline, "summary": summaries["before"],
                                  "rounds": rounds["before"]}  # fmt: skip
        args.json.write_text(json.dumps(record, indent=1) + "\n")
    # The compiled batch path against batched PyTorch: its own script, run alone too (its smoke
    # test is in tests/test_compiled.py).
    if size_name != "smoke":
        print("compiled ...", file=sys.stderr, flush=True)
        sys.stdout.flush()
        size_flag = ["--quick"] if size_name == "quick" else []
        subprocess.run([sys.executable, str(Path(__file__).with_name("compiled.py")), *size_flag], check=True)


if __name__ == "__main__":
    main()
