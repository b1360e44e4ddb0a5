"""Smoke test of benchmarks/compare.py: it runs end to end on tiny sizes and reports sane facts.

No timing is checked here (timings are machine-dependent); only what must hold anywhere: both
engines build the same graphs and compute the same losses, micrograd's recursion limit and
microgradnn's lack of one, and that microgradnn's graphs are freed without the collector.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("micrograd", reason="the benchmark compares against micrograd (the 'bench' extra)")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "compare.py"
if not SCRIPT.exists():  # e.g. tests run from an sdist, which ships no benchmarks/
    pytest.skip("benchmarks/compare.py is not here", allow_module_level=True)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    out = tmp_path_factory.mktemp("bench") / "results.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, json.loads(out.read_text())


def test_prints_a_markdown_table_with_every_workload(smoke_run: tuple[str, dict]) -> None:
    table, _ = smoke_run
    lines = table.splitlines()
    assert lines[0] == "| workload | unit | micrograd | microgradnn | ratio (median, min–max) |"
    body = "\n".join(lines)
    for row in (
        "op throughput, fwd+bwd, gc on",
        "op throughput, fwd+bwd, gc off",
        "demo step, moons, same code, gc on",
        "demo step, moons, idiomatic, gc off",
        "MLP(64, [32, 32, 10]) step, same code, gc on",
        "depth: longest chain that backpropagates",
        "memory per live node, after forward",
        "memory growth over 10 build/backward/drop cycles, gc off",
        "Values still alive after 10 build/backward/drop cycles, gc off",
    ):
        assert f"| {row} |" in body, row
    assert all(line.count("|") == 6 for line in lines if line.startswith("|"))


def test_both_engines_compute_the_same_losses(smoke_run: tuple[str, dict]) -> None:
    _, results = smoke_run
    for key in ("moons", "mlp"):
        losses = results["summary"]["timing"][key]["losses"]
        variants = {"microgradnn", "microgradnn, idiomatic", "microgradnn, train_step"}
        assert set(losses) == {"micrograd", *variants}
        reference = losses["micrograd"]
        assert all(loss == pytest.approx(reference, rel=1e-9) for loss in losses.values()), losses


def test_depth_micrograd_hits_the_recursion_limit_microgradnn_does_not(smoke_run: tuple[str, dict]) -> None:
    _, results = smoke_run
    depth = results["summary"]["depth"]
    assert depth["micrograd"]["failed_at"] == 1_000
    assert 100 <= depth["micrograd"]["deepest_steps"] < 1_000
    assert depth["microgradnn"]["failed_at"] is None
    assert depth["microgradnn"]["deepest_steps"] == 1_000


def test_microgradnn_graphs_are_freed_without_the_collector(smoke_run: tuple[str, dict]) -> None:
    _, results = smoke_run
    memory = results["summary"]["memory"]
    ours, theirs = memory["microgradnn"], memory["micrograd"]
    # Ten graphs of a few hundred nodes each, built and dropped with the collector off: ours
    # leaves no Value behind, micrograd's reference cycles keep every one until a collection.
    assert ours["values_left"] == {"nogc": 0, "gc": 0}
    assert theirs["values_left"]["nogc"] >= 10 * theirs["cycle_nodes"]
    assert theirs["values_left"]["gc"] < theirs["values_left"]["nogc"]
    # In bytes, ours stays within the interpreter's free lists (a few kB of floats, and of
    # frames before Python 3.11, traced as they are reused), while one leaked graph is larger.
    one_graph = ours["per_node_forward"] * ours["cycle_nodes"]
    assert ours["growth"]["nogc"] < one_graph / 4
    assert theirs["growth"]["nogc"] > 9 * ours["cycle_nodes"] * 100
    assert ours["per_node_forward"] < theirs["per_node_forward"]


PHASES_SCRIPT = SCRIPT.parent / "phases.py"


def test_phases_times_each_phase_of_both_steps_against_a_baseline() -> None:
    done = subprocess.run([sys.executable, str(PHASES_SCRIPT), "--baseline", "HEAD", "--rounds", "1"],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    for workload in ("### fit's step", "### micrograd's code"):
        table = done.stdout[done.stdout.index(workload):].split("\n\n")[1]
        rows = [line.split("|")[1].strip() for line in table.splitlines()[2:]]
        assert rows == ["forward", "loss", "backward", "update", "free", "step"]
        for line in table.splitlines()[2:]:  # before and after in ms, and their ratio
            before, after, ratio = (cell.strip() for cell in line.split("|")[2:5])
            assert float(before) > 0 and float(after) > 0 and ratio.endswith(")")


def test_phases_instructions_says_what_it_needs_without_valgrind(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(PHASES_SCRIPT), "--instructions"], capture_output=True,
                          text=True, timeout=120, env={"PATH": str(tmp_path)})  # fmt: skip
    assert done.returncode != 0 and "needs valgrind" in done.stderr
