"""What users read must be true: the notebooks' index and the benchmark page agree with the
repository and with themselves (issue #22, item 8)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
INDEX = (NOTEBOOKS / "README.md").read_text(encoding="utf-8")
BENCHMARKS = (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8")
UNFINISHED = re.compile(
    r"being added|by a colleague|\bTODO\b|work in progress|coming soon|to be written", re.IGNORECASE
)


def _title(notebook: Path) -> str:
    """The notebook's first heading without its number: "# 8. Scalar code..." -> "Scalar code..."."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    first = "".join(cells[0]["source"]).splitlines()[0]
    return re.sub(r"^#+\s*\d+\.\s*", "", first).strip()


@pytest.mark.parametrize("notebook", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_every_notebook_has_a_row_with_its_own_title_and_what_it_teaches(notebook: Path) -> None:
    rows = [line for line in INDEX.splitlines() if f"]({notebook.name})" in line]
    assert len(rows) == 1, f"{notebook.name} is not listed once in notebooks/README.md"
    row = rows[0]
    # The link names the notebook by its number and its title (or the title's first part).
    link = re.search(r"\[(\d\d) ([^]]+)\]", row)
    assert link is not None and link.group(1) == notebook.name[:2]
    assert _title(notebook).startswith(link.group(2)), (link.group(2), _title(notebook))
    taught = row.split("|")[2].strip()
    assert len(taught) > 40 and not UNFINISHED.search(taught), taught


def test_the_index_says_nothing_is_unfinished() -> None:
    assert not UNFINISHED.search(INDEX)


def test_files_the_index_names_exist() -> None:
    # The lecture notes are not in the repository: they are cited by title, not by file name.
    named = re.findall(r"`([^`\s]+\.(?:txt|ipynb|py|md|json|csv))`", INDEX)
    missing = [name for name in named if not (NOTEBOOKS / name).exists() and not (ROOT / name).exists()]
    assert missing == []


# ------------------------------------------------------------------------- benchmarks/README
def _section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def _table_ratio(results: str, row: str) -> str:
    line = next(line for line in results.splitlines() if line.startswith(f"| {row} |"))
    return re.search(r"\*\*([\d.,]+)×\*\*", line).group(1)  # type: ignore[union-attr]


def test_the_benchmark_headline_is_the_results_table() -> None:
    headline, results = _section(BENCHMARKS, "Headline"), _section(BENCHMARKS, "Results")
    headline = " ".join(headline.split())  # one line: phrases may wrap anywhere
    graph = re.search(r"\*\*([\d.,]+)×\*\* faster than micrograd on a random 100,000-operation", headline)
    assert graph is not None
    assert graph.group(1) == _table_ratio(results, "op throughput, fwd+bwd, gc on")
    gc_off = re.search(r"\(([\d.,]+)× with the collector off", headline)
    assert gc_off is not None and gc_off.group(1) == _table_ratio(results, "op throughput, fwd+bwd, gc off")
    per_node = re.search(r"\*\*([\d,]+) bytes per node\*\* \(micrograd ([\d,]+)\)", headline)
    assert per_node is not None
    memory = next(line for line in results.splitlines() if line.startswith("| memory per live node, after f"))
    assert memory.split("|")[3:5] == [f" {per_node.group(2)} ", f" {per_node.group(1)} "]
    for variant in ("same code", "idiomatic", "fit's train_step"):
        ratio = _table_ratio(results, f"demo step, moons, {variant}, gc on")
        assert f"**{ratio}×**" in headline, (variant, ratio)


def test_the_benchmark_results_say_when_and_where_they_were_run() -> None:
    results = _section(BENCHMARKS, "Results")
    assert re.search(r"\b20\d\d-\d\d-\d\d\b", results), "the run's date"
    assert "shared" in results  # the machine was shared with other jobs: say so
