"""The README and docs stay true: every Python example in them runs as written."""

from __future__ import annotations

import re
import subprocess
import textwrap
from pathlib import Path

import pytest

from microgradnn import Value
from microgradnn.ops import OPS

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^( *)```python\n(.*?)^\1```", re.S | re.M)  # also inside list items


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_python_examples_run_in_order(doc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page's examples build on each other, as a reader runs them: one namespace per page."""
    blocks = [textwrap.dedent(code) for _, code in FENCE.findall(doc.read_text(encoding="utf-8"))]
    assert blocks, f"{doc.name} has no Python example"
    monkeypatch.chdir(tmp_path)  # examples that save files write them here
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": "readme_example"}
    # Examples may add operations to the table (define_op): take them out again afterwards, so
    # that tests running later in this process see the table as it ships.
    rows, methods = set(OPS), set(vars(Value))
    try:
        _run_blocks(doc, blocks, namespace)
    finally:
        for name in set(OPS) - rows:
            del OPS[name]
        for name in set(vars(Value)) - methods:
            delattr(Value, name)


def _run_blocks(doc: Path, blocks: list[str], namespace: dict) -> None:
    for i, code in enumerate(blocks):
        exec(compile(code, f"<{doc.name} example {i}>", "exec"), namespace)
        # A block that defines a test (the copy-me hypothesis examples) must pass when run.
        for name, value in list(namespace.items()):
            if name.startswith("test_") and callable(value):
                value()
                del namespace[name]


def test_readme_opens_with_the_two_commands_and_ci_runs_the_second() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    commands = [line for line in lines[:12] if line.startswith("python3 -m venv")]
    assert len(commands) == 2
    assert commands[0].endswith("microgradnn demo")
    assert "pytest" in commands[1] and "notebooks" in commands[1]
    # .ci/run reads the test command from the README with this grep: it must find the second.
    found = subprocess.run(
        ["grep", "-m1", "-E", "^python3 -m venv .venv && .* pytest", "README.md"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert found == commands[1]
    assert '"^python3 -m venv .venv && .* pytest"' in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
