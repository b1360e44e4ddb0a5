"""check_engine on real engines: micrograd 0.1.0, a lecture-style engine, and planted bugs.

The engines live in tests/engines/: lecture_value.py (correct, written in the lecture's style)
and mutants.py (a correct engine with one switch per bug learners make). Every mutant must be
caught with an expression of at most three operations, and the wrong node must be named.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from microgradnn import cli
from microgradnn.testing import EngineUnusableError, assert_engine, check_engine

ENGINES = Path(__file__).parent / "engines"
sys.path.insert(0, str(ENGINES))
from mutants import MUTANTS, make_value_class  # noqa: E402

sys.path.remove(str(ENGINES))


def _lecture_class() -> type:
    spec = importlib.util.spec_from_file_location("lecture_value", ENGINES / "lecture_value.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Value


LectureValue = _lecture_class()

# What each mutant's report must blame: (kind, the node's formula or None for "any node").
EXPECTED_BLAME = {
    "tanh_grad": ("local", "tanh(a)"),
    "exp_grad": ("local", "exp(a)"),
    "pow_grad": ("local", "a ** 2"),
    "log_grad": ("local", "log(a)"),
    "sigmoid_grad": ("local", "sigmoid(a)"),
    "relu_grad": ("local", "relu(a)"),
    "mul_swapped": ("local", "a * b"),
    "mul_assign": ("local", "a * a"),
    "add_assign": ("local", "a + a"),
    "add_one_side": ("local", "a + b"),
    "div_grad": ("local", "a / b"),
    "neg_grad": ("local", "-a"),
    "rsub_wrong": ("value", "2 - a"),
    "rtruediv_wrong": ("value", "2 / a"),
    "no_seed": ("seed", None),
    "forward_order": ("order", None),
    "preorder": ("order", None),
    "no_visited": ("order", None),
}


def test_every_mutant_has_an_expectation() -> None:
    assert set(EXPECTED_BLAME) == set(MUTANTS) and len(MUTANTS) >= 12


@pytest.mark.parametrize("bug", sorted(MUTANTS))
def test_each_mutant_is_caught_with_a_small_expression_and_the_right_node(bug: str) -> None:
    report = check_engine(make_value_class(bug), max_examples=150, seed=0, conventions=False)
    assert not report
    failure = report.failure
    assert failure is not None and failure.blame is not None, str(report)
    assert 1 <= failure.operations <= 3, str(report)
    kind, where = EXPECTED_BLAME[bug]
    assert failure.blame.kind == kind, str(report)
    if where is not None:
        assert failure.blame.where == where, str(report)
    else:  # an order/seed bug: the blamed node is an operation of the failing expression
        assert failure.blame.index >= failure.expression.n_leaves
    if bug == "no_visited":
        assert "twice" in failure.blame.detail
    if bug in ("forward_order", "preorder"):
        assert "before that of" in failure.blame.detail
    if kind == "local":  # the local derivatives written are the table's and the engine's
        assert failure.blame.expected is not None and failure.blame.actual is not None
        assert not math.isclose(failure.blame.expected, failure.blame.actual)
    # the learner's gradients in the report are the ones their backward() gave
    if failure.kind == "grad":
        assert any(not row.ok for row in failure.leaves)


def test_the_correct_engine_passes() -> None:
    report = check_engine(make_value_class(None), max_examples=150, seed=1)
    assert report, str(report)
    assert {"a - b", "2 - a", "2 / a", "tanh(a)", "log(a)", "sigmoid(a)", "relu(a)"} <= set(report.supported)
    assert "abs(a)" not in report.supported and "2 ** a" not in report.supported


def test_the_lecture_engine_passes_on_what_it_has() -> None:
    report = check_engine(LectureValue, max_examples=150, seed=2)
    assert report, str(report)
    assert set(report.supported) == {
        "a + b", "a + 2", "2 + a", "a * b", "a * 2", "2 * a", "a - b", "a - 2", "2 - a", "-a",
        "a / b", "a / 2", "2 / a", "a ** 2", "a ** 0.5", "tanh(a)", "exp(a)",
    }  # fmt: skip
    conventions = {c.name: c.finding for c in report.conventions}
    assert "RecursionError" in conventions["deep graphs"]
    assert conventions["second backward()"].startswith("accumulates unevenly")


def test_micrograd_passes_on_what_it_has() -> None:
    micrograd = pytest.importorskip("micrograd.engine")
    report = check_engine(micrograd.Value, max_examples=150, seed=3)
    assert report, str(report)
    supported = set(report.supported)
    assert {"a + b", "2 - a", "2 / a", "a ** 2", "relu(a)"} <= supported
    assert not {"tanh(a)", "exp(a)", "a ** b", "2 ** a"} & supported  # 0.1.0 has none of them
    findings = {c.name: c.finding for c in report.conventions}
    assert "RecursionError" in findings["deep graphs"]
    assert "0.0" in findings["relu at 0"]


def test_a_missing_reflected_operator_is_not_a_failure() -> None:
    Value = make_value_class(None)
    del Value.__rsub__, Value.__rtruediv__
    report = check_engine(Value, max_examples=40, conventions=False)
    assert report, str(report)
    assert "2 - a" not in report.supported and "2 / a" not in report.supported
    assert "2 - a" in str(report)  # listed under "not found", with the reason


class Guarded:
    """Operations that exist but do not work: each must be reported as not found, not crash."""

    def __init__(self, data: float) -> None:
        self.data, self.grad, self._prev = data, 0.0, ()

    def backward(self) -> None:
        self.grad = 1.0

    def __add__(self, other: object) -> Guarded:
        o = other if isinstance(other, Guarded) else Guarded(float(other))  # type: ignore[arg-type]
        out = Guarded(self.data + o.data)
        out._prev = (self, o)

        def _backward() -> None:
            self.grad += out.grad
            o.grad += out.grad

        out._backward = _backward  # type: ignore[attr-defined]
        return out

    def tanh(self) -> float:  # the wrong type
        return math.tanh(self.data)

    def exp(self) -> Guarded:
        raise NotImplementedError("not yet")

    def log(self) -> Guarded:
        return Guarded("log")  # type: ignore[arg-type] - data not a number


def test_discovery_guards_every_call() -> None:
    report = check_engine(Guarded, max_examples=20, conventions=False)
    reasons = {c.key: c.reason for c in report.capabilities}
    assert "returned float" in reasons["tanh(a)"]
    assert "NotImplementedError" in reasons["exp(a)"]
    assert "not a number" in reasons["log(a)"]
    assert report.supported == ["a + b", "a + 2"]


def test_an_unusable_class_is_a_clear_error() -> None:
    class NoBackward:
        def __init__(self, data: float) -> None:
            self.data, self.grad = data, 0

    with pytest.raises(EngineUnusableError, match="no backward"):
        check_engine(NoBackward)
    with pytest.raises(EngineUnusableError, match="not a class"):
        check_engine(len)
    with pytest.raises(ValueError, match="max_examples"):
        check_engine(LectureValue, max_examples=0)
    with pytest.raises(ValueError, match="leaf_range"):
        check_engine(LectureValue, leaf_range=(3.0, 1.0))


def test_the_report_reads_in_a_terminal_and_in_jupyter() -> None:
    report = check_engine(make_value_class("tanh_grad"), conventions=False)
    text = str(report)
    for part in ("FAILED", "tanh(a)", "a = 1.5", "expected grad", "your grad", "d(tanh(a))/da",
                 ">> tanh(a)"):  # fmt: skip
        assert part in text, text
    expected = 1 - math.tanh(1.5) ** 2
    assert f"expected {expected:.6g}" in text and f"yours {1 - math.tanh(1.5):.6g}" in text
    dot = report.failure.dot()  # type: ignore[union-attr]
    assert "#c00000" in dot and f"expected {expected:.6g}" in dot
    html = report._repr_html_()
    assert "tanh(a)" in html and ("<svg" in html or "digraph" in html)
    with pytest.raises(AssertionError, match="d\\(tanh\\(a\\)\\)/da"):
        assert_engine(make_value_class("tanh_grad"), conventions=False)
    assert assert_engine(LectureValue, max_examples=20)


def test_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = ENGINES / "lecture_value.py"
    assert cli.main(["check", f"{good}:Value", "--max-examples", "20"]) == 0
    assert "PASSED" in capsys.readouterr().out
    bad = tmp_path / "homework.py"
    bad.write_text((ENGINES / "mutants.py").read_text() + "\nValue = make_value_class('exp_grad')\n")
    assert cli.main(["check", f"{bad}:Value", "--max-examples", "20", "--no-conventions"]) == 1
    assert "exp(a)" in capsys.readouterr().out
    for target, message in [
        ("no_such_module_xyz:Value", "not found"),
        (f"{tmp_path}/missing.py:Value", "no such file"),
        (f"{good}:Nope", "has no 'Nope'"),
        (f"{good}:math", "not a class"),
        ("json:JSONDecoder", "JSONDecoder(1.5) failed"),
        ("nocolon", "expected MODULE:CLASS"),
    ]:
        assert cli.main(["check", target]) == 2, target
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err


def test_the_console_script_and_several_targets(tmp_path: Path) -> None:
    good = ENGINES / "lecture_value.py"
    result = subprocess.run(
        [sys.executable, "-m", "microgradnn", "check", f"{good}:Value", "no_such_module_xyz:V",
         "--max-examples", "10", "--no-conventions"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "summary:" in result.stdout and "PASS" in result.stdout and "ERROR" in result.stdout


def test_testing_imports_without_hypothesis() -> None:
    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "import microgradnn.testing as t\n"
        "assert callable(t.check_engine)\n"
        "try:\n"
        "    t.check_engine(__import__('micrograd.engine').engine.Value)\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    pytest.importorskip("micrograd")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "pip install 'microgradnn[testing]'" in result.stdout


def test_microgradnn_passes_its_own_check() -> None:
    from microgradnn import Value

    report = check_engine(Value, max_examples=100, seed=4)
    assert report, str(report)
    assert len(report.supported) == 23  # every operation looked for
    findings = {c.name: c.finding for c in report.conventions}
    assert findings["deep graphs"] == "no RecursionError up to a depth of 10000"
    assert findings["second backward()"].startswith("accumulates:")


def test_a_backward_that_raises_is_blamed_on_its_node() -> None:
    Value = make_value_class(None)
    original = Value.exp

    def exp(self):  # type: ignore[no-untyped-def]
        out = original(self)

        def _backward() -> None:
            raise ZeroDivisionError("oops")

        out._backward = _backward
        return out

    Value.exp = exp
    report = check_engine(Value, max_examples=20, conventions=False)
    failure = report.failure
    assert failure is not None and failure.kind == "error", str(report)
    assert failure.formula == "exp(a)" and "backward() raised ZeroDivisionError: oops" in failure.message
    assert failure.blame is not None and failure.blame.kind == "error" and failure.blame.where == "exp(a)"
    assert "ZeroDivisionError: oops" in failure.blame.detail


def test_an_engine_without_prev_still_gets_a_report() -> None:
    class Opaque:  # gradients by closures chained elsewhere: nothing to replay
        def __init__(self, data: float, back=None) -> None:  # type: ignore[no-untyped-def]
            self.data, self.grad, self._back = data, 0.0, back or (lambda g: None)

        def __add__(self, other: Opaque) -> Opaque:
            if not isinstance(other, Opaque):
                return NotImplemented

            def back(g: float) -> None:
                self.grad += g
                self._back(g)
                other._back(g)  # bug: other.grad is never set

            return Opaque(self.data + other.data, back)

        def backward(self) -> None:
            self.grad = 1.0
            self._back(1.0)

    report = check_engine(Opaque, max_examples=20, conventions=False)
    failure = report.failure
    assert failure is not None and failure.formula == "a + b", str(report)
    assert failure.blame is not None and failure.blame.kind == "unknown"
    assert "cannot be replayed" in str(report)


def test_the_class_prints_are_counted_not_shown(capsys: pytest.CaptureFixture[str]) -> None:
    Value = make_value_class(None)
    original = Value.tanh

    def tanh(self):  # type: ignore[no-untyped-def]
        print("debug: tanh of", self.data)
        return original(self)

    Value.tanh = tanh
    report = check_engine(Value, max_examples=30, conventions=False)
    assert report and report.printed_lines > 0
    assert "debug" not in capsys.readouterr().out
    assert f"your class printed {report.printed_lines} lines" in str(report)


def _engine_file(folder: Path, name: str, tail: str) -> Path:
    """The lecture engine with ``tail`` appended (a bug a learner's class set might hold)."""
    path = folder / f"{name}.py"
    path.write_text((ENGINES / "lecture_value.py").read_text() + "\n" + tail)
    return path


def _check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "microgradnn", "check", *args],
                          capture_output=True, text=True, check=False)  # fmt: skip


def test_a_class_set_is_graded_to_json_each_target_in_a_process_of_its_own(tmp_path: Path) -> None:
    good = ENGINES / "lecture_value.py"
    bad = tmp_path / "homework.py"
    bad.write_text((ENGINES / "mutants.py").read_text() + "\nValue = make_value_class('exp_grad')\n")
    aborts = _engine_file(tmp_path, "aborts", "import os\nValue.backward = lambda self: os.abort()\n")
    grades = tmp_path / "grades.json"
    grades.write_text("the previous grades")
    targets = [f"{good}:Value", f"{bad}:Value", f"{aborts}:Value", "no_such_module_xyz:Value"]
    options = ["--timeout", "120", "--json", str(grades), "--max-examples", "10", "--no-conventions"]
    result = _check(*targets, *options)
    assert result.returncode == 2, result.stderr  # the usage error wins
    results = json.loads(grades.read_text())
    assert [r["status"] for r in results] == ["pass", "fail", "crashed", "error"]
    assert [r["target"] for r in results] == targets
    passed = results[0]["report"]
    assert passed["passed"] and "a * b" in passed["supported"] and passed["failures"] == []
    wrong = results[1]["report"]["failures"][0]["first_wrong_node"]
    assert wrong["node"] == "exp(a)" and wrong["method"] == "exp" and wrong["kind"] == "local"
    assert wrong["expected"] != wrong["yours"]
    assert "signal SIGABRT" in results[2]["error"] and "not found" in results[3]["error"]
    summary = result.stdout[result.stdout.index("summary:"):]
    assert all(word in summary for word in ("PASS ", "FAIL ", "CRASHED", "ERROR"))
    assert "exp(a)" in result.stdout  # each report is printed as without --timeout


def test_a_backward_that_loops_forever_times_out_and_the_rest_is_still_checked(tmp_path: Path) -> None:
    forever = _engine_file(tmp_path, "forever", "def _forever(self):\n    while True:\n        pass\n\n"
                                                "Value.backward = _forever\n")  # fmt: skip
    grades = tmp_path / "grades.json"
    result = _check(f"{forever}:Value", "no_such_module_xyz:Value", "--timeout", "3", "--json", str(grades),
                    "--max-examples", "5", "--no-conventions")  # fmt: skip
    assert result.returncode == 2
    results = json.loads(grades.read_text())
    assert [r["status"] for r in results] == ["timeout", "error"]
    assert "no result within 3 s" in results[0]["error"] and "TIMEOUT" in result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--timeout", "0"], "above 0"),
    (["--timeout", "soon"], "expected a number of seconds"),
    (["--json", "no_such_folder_xyz/grades.json"], "does not exist"),
])  # fmt: skip
def test_timeout_and_json_arguments_are_checked_before_anything_runs(args: list[str], message: str) -> None:
    result = _check(f"{ENGINES / 'lecture_value.py'}:Value", *args)
    assert result.returncode == 2 and message in result.stderr and "PASSED" not in result.stdout
