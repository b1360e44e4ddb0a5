"""The committed notebooks read well on any machine: they say what to install, and their stored
outputs name no file or folder of the machine that ran them.

Running the notebooks is nbmake's job (`pytest --nbmake notebooks`). These tests only read the
stored JSON, with the standard library.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

# Every notebook opens with what it needs (issue #13).
NAMING_EXTRAS = NOTEBOOKS

# Paths that exist only on the machine that executed a notebook: the kernel's temporary cell
# files (in tracebacks and in hypothesis's reports), home folders, installed packages.
MACHINE_PATH = re.compile(r"/tmp/ipykernel_|/home/|/Users/|[A-Za-z]:\\\\Users|site-packages|dist-packages")

# What a notebook's code uses, and what brings it: extras of pyproject.toml, or a package
# named in the pip command itself. matplotlib depends on numpy, so `plot` brings both.
PROVIDED_BY = {
    "matplotlib": {"plot", "demo", "dev"},
    "numpy": {"plot", "demo", "dev", "numpy"},
    "hypothesis": {"testing", "dev"},
    "sympy": {"testing", "dev"},
    # Rendering a drawing needs pygraphviz, or Graphviz's own `dot` program (which pip cannot install).
    "draw_dot": {"render", "demo", "dev"},
}


def _cells(notebook: Path) -> list[dict]:
    if not notebook.exists():
        pytest.skip(f"{notebook.name} is not in this copy of the project (an sdist without notebooks)")
    return json.loads(notebook.read_text(encoding="utf-8"))["cells"]


def _text(value: str | list[str]) -> str:
    return "".join(value) if isinstance(value, list) else value


def _output_texts(cell: dict) -> list[str]:
    """Everything a reader sees below a code cell: streams, results, errors."""
    texts = []
    for output in cell.get("outputs", []):
        texts += [_text(output[key]) for key in ("text", "traceback", "evalue") if key in output]
        texts += [_text(value) for mime, value in output.get("data", {}).items() if mime.startswith("text/")]
    return texts


def _declared_extras() -> set[str]:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    table = pyproject.split("[project.optional-dependencies]")[1].split("\n[", 1)[0]
    return set(re.findall(r"^([a-z]+) = \[", table, re.M))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_name_no_path_of_the_machine_that_ran_them(notebook: Path) -> None:
    for number, cell in enumerate(_cells(notebook)):
        for text in _output_texts(cell):
            found = MACHINE_PATH.search(text)
            assert found is None, f"{notebook.name} cell {number} shows {found.group()!r}: {text[:200]!r}"
            assert str(ROOT) not in text, f"{notebook.name} cell {number} shows the checkout's path {ROOT}"


@pytest.mark.parametrize("notebook", NAMING_EXTRAS, ids=lambda p: p.name)
def test_first_cell_names_the_extras_the_code_needs(notebook: Path) -> None:
    cells = _cells(notebook)
    assert cells[0]["cell_type"] == "markdown", f"{notebook.name} should open with a markdown cell"
    command = re.search(r"`pip install ([^`]+)`", _text(cells[0]["source"]))
    assert command, f"{notebook.name}'s first cell gives no pip command"
    groups = re.findall(r"microgradnn\[([a-z,]+)\]", command.group(1))
    extras = {extra for group in groups for extra in group.split(",")}
    packages = {word for word in command.group(1).split() if "microgradnn" not in word}
    assert extras, f"{notebook.name}'s pip command installs no microgradnn extra"
    assert extras <= _declared_extras(), f"{notebook.name} names extras pyproject.toml lacks: {extras}"

    code = "\n".join(_text(cell["source"]) for cell in cells if cell["cell_type"] == "code")
    for used, providers in PROVIDED_BY.items():
        if re.search(rf"^\s*(import|from) {used}\b", code, re.M) or f"{used}(" in code:
            assert (extras | packages) & providers, f"{notebook.name} uses {used}; its pip command lacks it"
