"""``microgradnn check``: check your own micrograd-style Value class from the command line.

``microgradnn check my_engine:Value`` imports the module ``my_engine`` (from the current folder
or the installed packages), ``microgradnn check path/to/engine.py:Value`` loads that file, and
prints the report of :func:`microgradnn.testing.check_engine`. Several targets may be given
(a teacher grading a class): each gets its report, and a summary closes the output.

Exit status: 0 when every target passes; 1 when a check fails (or, with ``--timeout``, a
target runs out of time or its process dies); 2 for a usage error (no such module or file, no
such class, not a class, a class that cannot be checked), with a one-line message. With several
targets the highest status wins.

For grading a class set: ``--timeout SECONDS`` checks each target in a process of its own and
stops it after that long (a ``backward()`` that loops forever, a recursion that crashes Python),
and ``--json FILE`` writes every target's result as JSON, atomically.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from microgradnn.cli import one_line

__all__ = ["TargetError", "add_parser", "load_target", "run"]


class TargetError(ValueError):
    """``MODULE:CLASS`` or ``FILE.py:CLASS`` could not be loaded: a one-line reason."""


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def load_target(target: str) -> type:
    """The class named by ``MODULE:CLASS`` or ``path/to/file.py:CLASS`` (the learner's code runs)."""
    where, sep, name = target.rpartition(":")
    if not sep or not where or not name:
        raise TargetError(
            f"{target!r}: expected MODULE:CLASS or path/to/file.py:CLASS (e.g. my_engine:Value)"
        )
    is_file = where.endswith(".py") or "/" in where or os.sep in where
    if is_file:
        path = Path(where)
        if not path.is_file():
            raise TargetError(f"{where}: no such file")
        module_name = path.stem if path.stem.isidentifier() else "learner_engine"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise TargetError(f"{where}: cannot be imported as Python code")
        module = importlib.util.module_from_spec(spec)
        # The file may import its neighbours (its own nn.py, say), as `python file.py` allows.
        sys.path.insert(0, str(path.resolve().parent))
        try:
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
        except BaseException as exc:  # noqa: BLE001 - anything the learner's file does on import
            sys.modules.pop(module_name, None)
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise TargetError(f"importing {where} raised {_describe(exc)}") from None
        finally:
            sys.path.remove(str(path.resolve().parent))
    else:
        if os.getcwd() not in sys.path and "" not in sys.path:
            sys.path.insert(0, os.getcwd())  # `python -m` finds modules in the current folder too
        try:
            module = importlib.import_module(where)
        except ModuleNotFoundError as exc:
            if exc.name and where.startswith(exc.name):
                raise TargetError(
                    f"module {where!r} not found (run from its folder, or give path/to/file.py:{name})"
                ) from None
            raise TargetError(f"importing {where} raised {_describe(exc)}") from None
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise TargetError(f"importing {where} raised {_describe(exc)}") from None
    found: Any = module
    for part in name.split("."):
        if not hasattr(found, part):
            raise TargetError(f"{where} has no {name!r}")
        found = getattr(found, part)
    if not isinstance(found, type):
        raise TargetError(f"{target}: {name} is a {type(found).__name__}, not a class")
    return found


def run(args: argparse.Namespace) -> int:
    if args.json is not None:  # before the checks: a long grading run must not end unable to save
        problem = _unwritable(args.json)
        if problem:
            print(f"microgradnn check: error: --json {problem}", file=sys.stderr)
            return 2
    results = [_in_child(target, args) if args.timeout else _here(target, args) for target in args.targets]
    if len(args.targets) > 1:
        print("summary:")
        for result in results:
            print(f"  {_summary_line(result)}")
    if args.json is not None:
        from microgradnn.fileio import write_atomic

        text = json.dumps(results, indent=1, allow_nan=False, default=str, ensure_ascii=False)
        try:
            write_atomic(args.json, text + "\n", name="check --json")
        except OSError as exc:
            print(f"microgradnn check: error: {one_line(str(exc))}", file=sys.stderr)
            return 2
    return max(_STATUS[result["status"]] for result in results)


def _unwritable(path: str) -> str:
    """Why ``path`` cannot take the JSON results, or "" if it can."""
    from microgradnn.checks import check_path

    try:
        check_path("--json", path)
    except (TypeError, ValueError, OSError) as exc:
        return str(exc)
    folder = Path(path).resolve().parent
    return "" if folder.is_dir() else f"{path}: its folder {folder} does not exist"


# What each outcome makes of the exit status; "timeout" and "crashed" are the learner's code's.
_STATUS = {"pass": 0, "fail": 1, "timeout": 1, "crashed": 1, "error": 2}


def _here(target: str, args: argparse.Namespace) -> dict[str, Any]:
    """Check ``target`` in this process: print its report, return its result."""
    from microgradnn.testing.engine_check import EngineUnusableError, check_engine

    try:
        cls = load_target(target)
        report = check_engine(cls, max_examples=args.max_examples, seed=args.seed, max_ops=args.max_ops,
                              conventions=not args.no_conventions)  # fmt: skip
    except (TargetError, EngineUnusableError) as exc:
        print(f"microgradnn check: error: {one_line(str(exc))}", file=sys.stderr)
        return {"target": target, "status": "error", "error": one_line(str(exc)), "report": None}
    except ImportError as exc:  # hypothesis missing: nothing can be checked
        print(f"microgradnn check: error: {one_line(str(exc))}", file=sys.stderr)
        raise SystemExit(2) from None
    print(report)
    if len(args.targets) > 1:
        print()
    status = "pass" if report else "fail"
    return {"target": target, "status": status, "error": None, "report": report.to_dict()}


def _in_child(target: str, args: argparse.Namespace) -> dict[str, Any]:
    """Check ``target`` in a process of its own, stopped after ``args.timeout`` seconds: a
    learner's class can loop forever or crash Python, and the other targets still get checked."""
    with tempfile.TemporaryDirectory(prefix="microgradnn-check-") as folder:
        out = Path(folder) / "result.json"
        options = ["--max-examples", str(args.max_examples), "--max-ops", str(args.max_ops), "--seed",
                   str(args.seed), *(["--no-conventions"] if args.no_conventions else [])]  # fmt: skip
        command = [sys.executable, "-m", "microgradnn", "check", target, "--json", str(out), *options]
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 start_new_session=os.name == "posix")  # fmt: skip
        try:
            stdout, stderr = child.communicate(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            _kill(child)
            child.communicate()
            message = (f"{target}: no result within {args.timeout:g} s (does an operator or backward() "
                       "loop forever?)")  # fmt: skip
            print(f"microgradnn check: TIMEOUT {message}", file=sys.stderr)
            return {"target": target, "status": "timeout", "error": message, "report": None}
        sys.stdout.write(stdout)
        sys.stderr.write(stderr)
        if len(args.targets) > 1 and stdout:
            print()
        if out.exists():
            return json.loads(out.read_text(encoding="utf-8"))[0]
    if child.returncode == 2:  # a usage error the child has printed (hypothesis missing, say)
        error = one_line(stderr.strip().splitlines()[-1] if stderr.strip() else "usage error")
        return {"target": target, "status": "error", "error": error, "report": None}
    message = f"{target}: the check's process ended with {_ending(child.returncode)} before it finished"
    print(f"microgradnn check: CRASHED {message}", file=sys.stderr)
    return {"target": target, "status": "crashed", "error": message, "report": None}


def _ending(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit status {returncode}"


def _kill(child: subprocess.Popen) -> None:
    if os.name == "posix":
        try:
            os.killpg(child.pid, signal.SIGKILL)  # the child and anything the learner's code started
        except ProcessLookupError:
            pass
    else:
        child.kill()


def _summary_line(result: dict[str, Any]) -> str:
    target, status = result["target"], result["status"]
    if status == "pass":
        return f"PASS  {target}"
    if status == "fail":
        failures = result["report"]["failures"]
        return f"FAIL  {target}: {failures[0]['formula'] if failures else ''}"
    return f"{status.upper():<5} {result['error']}"  # ERROR, TIMEOUT, CRASHED


def _whole_number(least: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``least``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}, got {value}")
        return value

    return parse


def _positive_seconds(text: str) -> float:
    """An argparse type: a finite number of seconds above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0.0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, got {text}")
    return value


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``check`` to the ``microgradnn`` command."""
    parser = subparsers.add_parser(
        "check",
        help="check your own micrograd-style Value class against microgradnn",
        description=(
            "Import a micrograd-style Value class, find the operations it supports, and check the "
            "values and gradients of each operation alone and of random expression graphs against "
            "microgradnn. A failure is shrunk to a small expression and the first node of the "
            "backward pass whose local derivative is wrong is named."
        ),
        epilog=(
            "examples: microgradnn check my_engine:Value    microgradnn check homework/alice.py:Value "
            "homework/bob.py:Value --timeout 60 --json grades.json.   Exit status: 0 when every check "
            "passes, 1 when one fails (or runs out of time, or crashes, with --timeout), 2 for a usage "
            "error (module or file not found, not a class, a class that cannot be checked)."
        ),
    )
    parser.add_argument("targets", nargs="+", metavar="MODULE:CLASS",
                        help="the class, as module:Class or path/to/file.py:Class")  # fmt: skip
    parser.add_argument("--max-examples", type=_whole_number(1), default=200, metavar="N",
                        help="random expression graphs to try (default 200)")  # fmt: skip
    parser.add_argument("--max-ops", type=_whole_number(1), default=6, metavar="N",
                        help="operations drawn per random expression (default 6)")  # fmt: skip
    parser.add_argument("--seed", type=_whole_number(0), default=0,
                        help="random seed (default 0: repeatable)")  # fmt: skip
    parser.add_argument("--no-conventions", action="store_true",
                        help="skip the conventions (second backward(), deep graphs, kinks)")  # fmt: skip
    parser.add_argument("--timeout", type=_positive_seconds, default=None, metavar="SECONDS",
                        help="check each target in a process of its own, stopped after SECONDS "
                             "(an endless loop or a crash fails that target only)")  # fmt: skip
    parser.add_argument("--json", default=None, metavar="FILE",
                        help="also write every target's result to FILE as JSON (for grading)")  # fmt: skip
    parser.set_defaults(run=run)
    return parser
