"""Type checkers on the package and on a user's training loop (tests/typed/training_loop.py).

mypy and pyright each run once (a fixture) over the package, the typed example and a file of
mistakes they must catch; each test reads its part of the report. A checker that is not
installed skips its tests.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "tests" / "typed" / "training_loop.py"

# Files with type errors still being fixed elsewhere (the engine on its table of operations,
# nn's forward pass on it, and the graph command). Remove a file from this set once it checks
# clean: every other file of the package must have no error.
PENDING: set[str] = set()  # every module is checked

# Each mistake is on its own line, marked with the comment "# error".
MISTAKES = """\
from microgradnn import MLP, Value

several: MLP[list[Value]] = MLP(3, [4, 2], seed=1)
print(several([1.0, 2.0, 3.0]) - 1.0)  # error: a list of outputs is not a Value
loss = sum((MLP(3, [1])(x) - 1.0) ** 2 for x in [[1.0, 2.0, 3.0]])
loss.backward()  # error: sum() of Values starts from 0, so it may be the int 0
"""


def _mistake_lines() -> set[int]:
    return {i for i, line in enumerate(MISTAKES.splitlines(), 1) if "# error" in line}


def _require(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install -e '.[dev]' installs it)")


def _relative(path: str) -> str:
    p = Path(path).resolve()
    return p.relative_to(ROOT).as_posix() if p.is_relative_to(ROOT) else p.name


@pytest.fixture(scope="module")
def mistakes_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("typing") / "mistakes.py"
    path.write_text(MISTAKES)
    return path


@pytest.fixture(scope="module")
def mypy_errors(mistakes_file: Path) -> Counter[tuple[str, int]]:
    """(file, line) of every mypy error, with the settings of pyproject.toml."""
    _require("mypy")
    command = [sys.executable, "-m", "mypy", "--no-error-summary", "--show-absolute-path",
               "--cache-dir", str(mistakes_file.parent / ".mypy_cache"),
               "microgradnn", str(EXAMPLE), str(mistakes_file)]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode in (0, 1), result.stderr + result.stdout
    errors: Counter[tuple[str, int]] = Counter()
    for line in result.stdout.splitlines():
        match = re.match(r"(.+?\.py):(\d+): error:", line)
        if match:
            errors[_relative(match[1]), int(match[2])] += 1
    return errors


@pytest.fixture(scope="module")
def pyright_errors(mistakes_file: Path) -> Counter[tuple[str, int]]:
    """(file, line) of every pyright error (pyright's default, "standard" mode)."""
    _require("pyright")
    command = [sys.executable, "-m", "pyright", "--outputjson", "--pythonpath", sys.executable,
               "microgradnn", str(EXAMPLE), str(mistakes_file)]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.skip(f"pyright did not run (it needs Node.js): {(result.stderr or result.stdout)[-300:]}")
    errors: Counter[tuple[str, int]] = Counter()
    for d in report["generalDiagnostics"]:
        if d["severity"] == "error":
            errors[_relative(d["file"]), d["range"]["start"]["line"] + 1] += 1
    return errors


CHECKERS = ["mypy_errors", "pyright_errors"]


@pytest.mark.parametrize("checker", CHECKERS)
def test_the_typed_training_loop_passes(checker: str, request: pytest.FixtureRequest) -> None:
    errors = request.getfixturevalue(checker)
    assert [key for key in errors if key[0] == "tests/typed/training_loop.py"] == []


@pytest.mark.parametrize("checker", CHECKERS)
def test_the_checkers_catch_the_mistakes(checker: str, request: pytest.FixtureRequest) -> None:
    errors = request.getfixturevalue(checker)
    assert {line for name, line in errors if name == "mistakes.py"} == _mistake_lines()


@pytest.mark.parametrize("checker", CHECKERS)
def test_the_package_has_no_type_errors(checker: str, request: pytest.FixtureRequest) -> None:
    errors = request.getfixturevalue(checker)
    package = [f"{name}:{line}" for name, line in errors if name.startswith("microgradnn/")]
    assert [e for e in package if e.split(":")[0] not in PENDING] == []


def test_the_typed_training_loop_learns() -> None:
    sys.path.insert(0, str(EXAMPLE.parent))
    try:
        import training_loop
    finally:
        sys.path.remove(str(EXAMPLE.parent))
    losses = training_loop.train(steps=30)
    assert losses[-1] < 0.1 * losses[0]
    total, *scores = training_loop.predictions([[1.0, 2.0, 3.0], [0.0, -1.0, 0.5]])
    assert total >= 0.0 and len(scores) == 2
