"""Where a training step's time goes: phase timers on the moons step, today's engine against an
older commit's, in alternating processes.

    python benchmarks/phases.py --baseline 35e6911     # about a minute
    python benchmarks/phases.py                        # today's engine alone
    python benchmarks/phases.py --baseline 35e6911 --instructions   # exact counts, 2 minutes

Two steps of micrograd's demo (`MLP(2, [16, 16, 1])`, 100 two-moons points, hinge loss +
1e-4·Σp²): **fit's step** as `microgradnn.train.fit` builds it (`forward_batch`, the fused
`hinge` and L2 nodes) and **micrograd's code** (``model(x)`` per sample, Python's ``sum``).
Each phase is timed on its own with the process's CPU time, the cyclic collector off (as `fit`
runs its step), so the phases add up to the step without the collector's share. Each round is
one fresh process per engine, the order alternating from round to round; a phase's figure is
the median over rounds of each process's median over its steps, and the ratio is paired within
a round (before's time / today's: below 1, today's engine is slower).

On a shared or virtual machine step times wander by tens of percent (a process's CPU time for
the same step can double for seconds at a time). ``--instructions`` counts instead, with
valgrind's callgrind: the instructions a step executes, the same on every run, so two engines
can be compared to the percent; what it cannot see is memory stalls and the collector.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import workloads
from compare import export_package, package_env

PHASES = ("forward", "loss", "backward", "update", "free")
WORKLOADS = ("fit's step", "micrograd's code")
STEPS = 15  # timed steps per process
COUNTED_STEPS = 3  # steps whose instructions are counted (--instructions)


def make_step(workload: str) -> Callable[[Callable[[], None]], None]:
    """One training step of ``workload``; it calls ``mark()`` after each phase."""
    import random

    from microgradnn.engine import Value
    from microgradnn.losses import hinge, l2_penalty
    from microgradnn.nn import MLP

    X, y = workloads.moons()
    random.seed(1337)
    model = MLP(2, [16, 16, 1])
    params = model.parameters()

    def step(mark: Callable[[], None]) -> None:
        if workload == "fit's step":
            outputs = model.forward_batch(X)
            mark()
            loss = hinge(outputs, y) + l2_penalty(params, 1e-4)
        else:
            outputs = list(map(model, [list(map(Value, row)) for row in X]))
            mark()
            hinges = [(1 + -yi * si).relu() for yi, si in zip(y, outputs)]
            loss = sum(hinges) * (1.0 / len(hinges)) + 1e-4 * sum(p * p for p in params)
            del hinges  # the graph is held by `loss` alone, freed in the "free" phase
        mark()
        loss.backward()
        mark()
        workloads.sgd_update(model, 0.05)
        mark()
        del outputs, loss
        mark()

    return step


def measure() -> dict[str, dict[str, float]]:
    """Median time of each phase (ms) over STEPS steps of both workloads, in this process."""
    result = {}
    for workload in WORKLOADS:
        step = make_step(workload)
        times: dict[str, list[float]] = {phase: [] for phase in PHASES}
        gc.disable()
        step(lambda: None)  # warm up
        for _ in range(STEPS):
            clock = [time.process_time()]
            step(partial(_mark, clock))
            for phase, start, end in zip(PHASES, clock, clock[1:]):
                times[phase].append((end - start) * 1000)
        gc.enable()
        result[workload] = {phase: statistics.median(t) for phase, t in times.items()}
        result[workload]["step"] = sum(result[workload][phase] for phase in PHASES)
    return result


def _mark(clock: list[float]) -> None:
    clock.append(time.process_time())


def count(workload: str, steps: int) -> None:
    """Set up, warm up, then take ``steps`` steps (run under callgrind by `instructions`)."""
    step = make_step(workload)
    gc.disable()
    for _ in range(steps + 1):
        step(lambda: None)


def instructions(package_dir: Path | None, workload: str) -> float:
    """Instructions per step, counted by callgrind: a run of COUNTED_STEPS steps minus a run
    of none (set-up and warm-up cancel). Exact and repeatable, whatever else the machine does."""
    totals = []
    for steps in (0, COUNTED_STEPS):
        command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
                   str(Path(__file__).resolve()), "--count", workload, str(steps)]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, env=package_env(package_dir))
        found = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode != 0 or found is None:
            sys.exit(f"callgrind run failed ({' '.join(command)}):\n{done.stderr[-2000:]}")
        totals.append(int(found.group(1)))
    return (totals[1] - totals[0]) / COUNTED_STEPS


def run(package_dir: Path | None) -> dict:
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker"],
                          capture_output=True, text=True, env=package_env(package_dir))  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"phases worker failed:\n{done.stderr}")
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", metavar="GITREF", help="also time microgradnn as it was at this commit")
    parser.add_argument("--rounds", type=int, default=7, help="processes per engine (default 7)")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions per step (callgrind) instead of timing")  # fmt: skip
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--count", nargs=2, metavar=("WORKLOAD", "STEPS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        json.dump(measure(), sys.stdout)
        return
    if args.count:
        count(args.count[0], int(args.count[1]))
        return
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    versions: dict[str, Path | None] = {"after": None}
    if args.baseline:
        versions["before"] = export_package(args.baseline)
    if args.instructions:
        print_instructions(versions, args.baseline)
        return
    rounds: dict[str, list[dict]] = {v: [] for v in versions}
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds} ...", file=sys.stderr, flush=True)
        for v in (list(versions) if r % 2 == 0 else list(versions)[::-1]):
            rounds[v].append(run(versions[v]))
    print(f"Phase timers, moons step, {args.rounds} rounds, started {started} "
          f"(process CPU time, collector off; load at end {os.getloadavg()[0]:.2f})\n")  # fmt: skip
    for workload in rounds["after"][0]:
        print(f"### {workload}\n")
        if args.baseline:
            print(f"| phase | before ({args.baseline}), ms | after, ms | after vs before (time ratio) |")
            print("|---|---|---|---|")
        else:
            print("| phase | ms |\n|---|---|")
        for phase in (*PHASES, "step"):
            after = [r[workload][phase] for r in rounds["after"]]
            if not args.baseline:
                print(f"| {phase} | {statistics.median(after):.2f} |")
                continue
            before = [r[workload][phase] for r in rounds["before"]]
            ratios = [b / a for b, a in zip(before, after)]
            print(f"| {phase} | {statistics.median(before):.2f} | {statistics.median(after):.2f} | "
                  f"{statistics.median(ratios):.2f}× ({min(ratios):.2f}–{max(ratios):.2f}) |")  # fmt: skip
        print()


def print_instructions(versions: dict[str, Path | None], baseline: str | None) -> None:
    if shutil.which("valgrind") is None:
        sys.exit("--instructions needs valgrind (Debian/Ubuntu: apt-get install valgrind)")
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    counted = {v: {w: instructions(versions[v], w) for w in WORKLOADS} for v in versions}
    print(f"Instructions per moons step (callgrind, collector off), counted {started}\n")
    if baseline:
        print(f"| workload | before ({baseline}) | after | after / before |\n|---|---|---|---|")
    else:
        print("| workload | instructions |\n|---|---|")
    for w in WORKLOADS:
        after = counted["after"][w]
        if baseline:
            before = counted["before"][w]
            print(f"| {w} | {before / 1e6:,.1f} M | {after / 1e6:,.1f} M | {after / before:.2f}× |")
        else:
            print(f"| {w} | {after / 1e6:,.1f} M |")


if __name__ == "__main__":
    main()
