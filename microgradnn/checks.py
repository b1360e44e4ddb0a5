"""Argument checks shared by every public function, so that all errors read the same way.

- A wrong type raises ``TypeError`` naming the argument, the type it must be and what was
  given: ``fit(epochs) must be an integer, got str: '10'``.
- The right type with a bad value raises ``ValueError`` naming the argument:
  ``make_moons(noise) must be >= 0, got -1.0``; ``fit(X): sample 3, column 1 is nan``.

Data may come as lists or as numpy arrays and numpy scalars. numpy is never imported here:
arrays are recognised by what they have (``__array__``, ``ndim``, ``shape``, ``dtype``,
``tolist``), so the package keeps working, and loading fast, without numpy installed. Checks
run once, where data enters a public function; the loops behind it then work on plain lists of
Python floats.
"""

from __future__ import annotations

import errno
import math
import os
import re
import reprlib
from collections.abc import Callable, Iterable, Sequence
from numbers import Integral, Real
from typing import Any

__all__ = [
    "as_list",
    "as_matrix",
    "as_targets",
    "check_bool",
    "check_callable",
    "check_choice",
    "check_int",
    "check_label",
    "check_path",
    "check_real",
    "check_signature",
    "check_values",
    "describe",
    "printable_path",
    "display_label",
    "is_array",
    "is_real",
    "to_float",
]


# Python ints up to this size convert to a float without overflow.
_FLOAT_INT = 2**1023


# reprlib abbreviates long lists and strings without building their whole repr first.
_SHORT = reprlib.Repr()
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 6
_SHORT.maxstring = _SHORT.maxother = 60


def describe(x: object, limit: int = 60) -> str:
    """``type: repr`` of a value, the repr cut to ``limit`` characters (a huge list stays short)."""
    try:
        text = _SHORT.repr(x)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the real error
        text = "<unprintable>"
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(x).__name__}: {text}"


def is_array(x: object) -> bool:
    """Whether ``x`` looks like a numpy array (or anything with the same interface)."""
    return all(hasattr(x, attr) for attr in ("__array__", "ndim", "shape", "dtype", "tolist"))


def _array_kind(x: Any) -> str:
    """numpy's one-letter dtype kind: 'f' float, 'i'/'u' integer, 'b' bool, 'O' object, ..."""
    return str(getattr(x.dtype, "kind", "O"))


def _scalar(x: object) -> object:
    """A numpy scalar or 0-d array as the Python number it holds; anything else unchanged."""
    if is_array(x) and x.ndim == 0 and _array_kind(x) in "iuf":  # type: ignore[attr-defined]
        return x.tolist()  # type: ignore[attr-defined]
    return x


def is_real(x: object) -> bool:
    """A real number and not a bool: int, float, fractions, numpy's integer and float scalars.

    numpy registers its integer and floating scalar types with `numbers`, and not its bool.
    """
    return isinstance(x, Real) and not isinstance(x, bool)


# ---------------------------------------------------------------------- single arguments
def check_real(
    name: str,
    x: object,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
    finite: bool = True,
) -> float:
    """``x`` as a float, checked to be a real number (not a bool), finite unless ``finite=False``,
    and within ``lo``/``hi`` (inclusive unless ``lo_open``/``hi_open``)."""
    x = _scalar(x)
    if not is_real(x):
        raise TypeError(f"{name} must be a real number, got {describe(x)}")
    try:
        value = float(x)  # type: ignore[arg-type]
    except OverflowError:  # an int too large for a float, such as 10**400
        raise ValueError(f"{name} is too large for a float, got an integer of {len(str(x))} digits") from None
    if math.isnan(value) or (finite and math.isinf(value)):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    _check_range(name, value, lo, hi, lo_open, hi_open)
    return value


def check_int(name: str, x: object, *, lo: int | None = None, hi: int | None = None) -> int:
    """``x`` as an int, checked to be an integer (numpy integers too; not a bool or a float)
    within ``lo``..``hi`` (inclusive)."""
    x = _scalar(x)
    if isinstance(x, bool) or not isinstance(x, Integral):
        raise TypeError(f"{name} must be an integer, got {describe(x)}")
    value = int(x)
    _check_range(name, value, lo, hi, False, False)
    return value


def _check_range(
    name: str, value: float, lo: float | None, hi: float | None, lo_open: bool, hi_open: bool
) -> None:
    low_ok = lo is None or (value > lo if lo_open else value >= lo)
    high_ok = hi is None or (value < hi if hi_open else value <= hi)
    if low_ok and high_ok:
        return
    if lo is not None and hi is not None:
        need = f"in {'(' if lo_open else '['}{_bound(lo)}, {_bound(hi)}{')' if hi_open else ']'}"
    elif lo is not None:
        need = f"{'>' if lo_open else '>='} {_bound(lo)}"
    elif hi is not None:
        need = f"{'<' if hi_open else '<='} {_bound(hi)}"
    else:  # no bounds: nothing is out of range (returned above)
        return
    raise ValueError(f"{name} must be {need}, got {value!r}")


def _bound(b: float) -> str:
    """A range's end as people write it: 10000000 and 0, but 0.5 and 1e-08."""
    return str(int(b)) if float(b).is_integer() and abs(b) < 1e16 else f"{b:g}"


def check_bool(name: str, x: object) -> bool:
    """``x`` as a bool: True or False (numpy's bool too), not 0/1 or a string."""
    # numpy's bool scalars (np.True_) look like 0-d arrays of kind 'b'
    if isinstance(x, bool) or (is_array(x) and x.ndim == 0 and _array_kind(x) == "b"):  # type: ignore[attr-defined]
        return bool(x)
    raise TypeError(f"{name} must be True or False, got {describe(x)}")


def check_callable(name: str, x: object, what: str = "a function") -> Callable[..., Any]:
    """``x`` if it can be called; else a TypeError saying what it should be."""
    if not callable(x):
        raise TypeError(f"{name} must be {what}, got {describe(x)}")
    return x


def check_choice(name: str, x: object, choices: Iterable[str]) -> str:
    """``x`` if it is one of the strings ``choices``."""
    options = list(choices)
    listed = ", ".join(repr(c) for c in options)
    if not isinstance(x, str):
        raise TypeError(f"{name} must be one of {listed}, got {describe(x)}")
    if x not in options:
        raise ValueError(f"{name} must be one of {listed}, got {x!r}")
    return x


# ---------------------------------------------------------------------- data
def as_list(name: str, x: object, what: str = "a list with one entry per sample") -> list:
    """A sequence or array as a list (an array through ``tolist()``, so numpy scalars become
    Python numbers). Strings, dicts, sets and single numbers are refused: they have no order
    of samples."""
    if is_array(x):
        if x.ndim == 0:  # type: ignore[attr-defined]
            raise TypeError(f"{name} must be {what}, got {describe(x)}")
        return x.tolist()  # type: ignore[attr-defined]
    if isinstance(x, (str, bytes)) or not isinstance(x, Sequence):
        # a pandas DataFrame is no array by itself, but says how to make one
        hint = "; convert it with .to_numpy()" if hasattr(x, "to_numpy") else ""
        raise TypeError(f"{name} must be {what}, got {describe(x)}{hint}")
    return list(x)


def _numeric_array(name: str, x: Any) -> None:
    kind = _array_kind(x)
    if kind == "b":
        raise TypeError(f"{name} must hold numbers, got an array of bool (convert it with .astype(int))")
    if kind not in "iufO":
        raise TypeError(f"{name} must hold real numbers, got an array of dtype {x.dtype}")


def _is_value(x: object) -> bool:
    # duck-typed, so that this module does not import the engine
    return hasattr(x, "data") and hasattr(x, "grad") and hasattr(x, "_prev")


def _finite_number(x: object, name: str, where: str) -> float:
    """One entry of the data as a float, or an error naming its place (``sample 3, column 1``)."""
    if not is_real(x):
        if _is_value(x):
            raise TypeError(f"{name}: {where} must be a number, got a Value; give its number, v.data")
        raise TypeError(f"{name}: {where} must be a real number, got {describe(x)}")
    try:
        value = float(x)  # type: ignore[arg-type]
    except OverflowError:
        raise ValueError(f"{name}: {where} is an integer too large for a float") from None
    if not math.isfinite(value):
        raise ValueError(f"{name}: {where} is {value!r}; remove or fill in missing and infinite values first")
    return value


def as_matrix(
    name: str,
    X: object,
    *,
    width: int | None = None,
    width_of: str = "",
) -> list[list[float]]:
    """Samples as a list of rows of finite floats.

    ``X`` is a list of rows (lists, tuples or 1-D arrays) or a 2-D array. Every row must have
    the same length, ``width`` if given (``width_of`` says why: "the model takes 2 inputs").
    Errors name the row, and the sample and column of a NaN or infinity.
    """
    if is_array(X):
        if X.ndim != 2:  # type: ignore[attr-defined]
            hint = "; one feature per sample is X.reshape(-1, 1)" if X.ndim == 1 else ""  # type: ignore[attr-defined]
            raise ValueError(
                f"{name} must be 2-D, one row per sample, got an array of shape {X.shape}{hint}"  # type: ignore[attr-defined]
            )
        _numeric_array(name, X)
    rows = as_list(name, X, "a list of samples, each a list of numbers, or a 2-D array")
    if not rows:
        raise ValueError(f"{name} is empty: it needs at least one sample")
    matrix: list[list[float]] = []
    expected = width
    for i, row in enumerate(rows):
        if is_array(row):
            if row.ndim != 1:
                raise ValueError(f"{name}: row {i} must be 1-D, got an array of shape {row.shape}")
            row = row.tolist()
        elif isinstance(row, (str, bytes)) or not isinstance(row, Sequence):
            raise TypeError(f"{name}: row {i} must be a list of numbers, got {describe(row)}")
        if expected is None:
            expected = len(row)
            if expected == 0:
                raise ValueError(f"{name}: row {i} is empty; every sample needs at least one feature")
        elif len(row) != expected:
            whose = (width_of or f"{expected} are expected") if width is not None else f"row 0 has {expected}"
            raise ValueError(f"{name}: row {i} has {len(row)} features, but {whose}")
        matrix.append([_finite_number(v, name, f"sample {i}, column {j}") for j, v in enumerate(row)])
    return matrix


def as_targets(
    name: str,
    y: object,
    *,
    n: int | None = None,
    paired_with: str = "X",
    values_ok: bool = False,
    item: str = "label",
    nested: bool = True,
) -> list:
    """Labels or targets as a list with one entry per sample: a finite number each (an int
    stays an int, so class indices stay indices), or a list of finite floats each (a model
    with several outputs). ``n`` is the length of ``paired_with`` (X), which they pair with. With
    ``values_ok`` (the losses), a Value stands for its number. ``item`` names one entry in errors.
    ``nested=False`` allows one number per sample only (class labels)."""
    if is_array(y):
        if y.ndim not in ((1, 2) if nested else (1,)):  # type: ignore[attr-defined]
            raise ValueError(
                f"{name} must be 1-D (one label per sample), got an array of shape {y.shape}"  # type: ignore[attr-defined]
            )
        _numeric_array(name, y)
    items = as_list(name, y, "a list with one label per sample, or a 1-D array")
    if n is not None and len(items) != n:
        raise ValueError(
            f"{name} has {len(items)} entries but {paired_with} has {n}; they must pair up one to one"
        )
    if not items:
        raise ValueError(f"{name} is empty: it needs at least one {item}")
    out: list = []
    for i, t in enumerate(items):
        # The common case first, cheaply: the losses check their targets on every call.
        kind = type(t)
        if (kind is float and math.isfinite(t)) or (kind is int and -_FLOAT_INT <= t <= _FLOAT_INT):
            out.append(t)
            continue
        if values_ok and _is_value(t):
            t = t.data
        # (numpy's scalars look like arrays too, of 0 dimensions)
        if (is_array(t) and t.ndim > 0) or (isinstance(t, Sequence) and not isinstance(t, (str, bytes))):
            if not nested:
                raise TypeError(f"{name}: {item} {i} must be a number (one per sample), got {describe(t)}")
            entries = as_list(name, t)
            if values_ok:
                entries = [v.data if _is_value(v) else v for v in entries]
            out.append([_finite_number(v, name, f"{item} {i}, entry {j}") for j, v in enumerate(entries)])
        elif isinstance(t, Integral) and not isinstance(t, bool):
            out.append(int(t))
            _finite_number(t, name, f"{item} {i}")  # an int too large for a float
        else:
            out.append(_finite_number(t, name, f"{item} {i}"))
    return out


# ---------------------------------------------------------------------- the engine's arguments
def to_float(x: Any, where: str) -> float:
    """A number for the engine (``Value(data)``, an operand, an exponent) as a float: any real
    number, NaN and ±inf included (they follow IEEE-754), numpy scalars and 0-d arrays too."""
    if type(x) is float:
        return x
    if type(x) is int and -_FLOAT_INT <= x <= _FLOAT_INT:
        return float(x)
    if isinstance(x, Real) and not _is_value(x):
        try:
            return float(x)
        except OverflowError:
            raise ValueError(f"{where}: {_shortened(x)} is too large for a float (max ≈ 1.8e308)") from None
    if getattr(x, "ndim", None) == 0 and _array_kind(x) in "biuf":
        return float(getattr(x, "item")())  # a numpy 0-d array  # noqa: B009
    if _is_value(x):
        raise TypeError(f"{where}: expected a number, got a Value; use v.data for its number or v.detach()")
    got = f"{type(x).__name__}: {_shortened(x)}"
    raise TypeError(f"{where}: expected a real number (int or float), got {got}")


def _shortened(x: object) -> str:
    text = repr(x)
    return text if len(text) <= 60 else f"{text[:25]}…{text[-25:]} ({len(text)} characters)"


def check_label(label: object, where: str) -> str:
    """A node's label: a string (drawings and saved pages show it as text)."""
    if not isinstance(label, str):
        raise TypeError(f"{where} must be a string, got {describe(label)}; write label=str(...) to show it")
    return str(label)


def check_values(where: str, items: object) -> list[Any]:
    """A sequence of Values (the engine's nodes, recognised by their attributes) as a list."""
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise TypeError(f"{where}: expected a Value or a sequence of Values, got {type(items).__name__}")
    values = list(items)
    for i, v in enumerate(values):
        if not _is_value(v):
            raise TypeError(f"{where}: item {i} must be a Value, got {type(v).__name__}")
    return values


def check_signature(where: str, f: Callable[..., Any], n: int) -> None:
    """That ``f`` can be called with ``n`` positional arguments, one Value per input."""
    import inspect  # here, not at the top: it is slow to import and only hessian needs it

    try:
        signature = inspect.signature(f)
    except (TypeError, ValueError):  # builtins without a signature: find out by calling
        return
    try:
        signature.bind(*range(n))
    except TypeError:
        raise TypeError(f"{where}: f{signature} cannot take {n} positional argument(s), one Value per "
                        f"input; give as many inputs as f has parameters") from None
# ---------------------------------------------------------------------- paths and labels
def check_path(name: str, path: object, *, writing: bool = True) -> str:
    """``path`` as a ``str``, checked before any file is opened, with errors naming ``name``.

    - not a path at all (None, a number): ``TypeError``;
    - a bytes path (or an ``os.PathLike`` giving bytes): ``TypeError``; the package's files are
      named by text, and decoding is the caller's choice (``os.fsdecode``);
    - a NUL character: ``ValueError``, as ``open()`` raises for it;
    - empty: ``FileNotFoundError``, as ``open('')`` raises;
    - with ``writing``, an existing folder: ``IsADirectoryError``, as ``open(folder, 'w')`` raises.

    The OSError subclasses are the ones Python itself uses, so ``except OSError`` around a save
    catches them, and their messages say what to do instead.
    """
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        hint = "; decode it first with os.fsdecode(path)" if isinstance(path, bytes) else ""
        raise TypeError(f"{name} must be a file name (str or pathlib.Path), got {describe(path)}{hint}")
    shown = os.fspath(path)
    if not isinstance(shown, str):
        raise TypeError(
            f"{name} must be a file name as text, got a path of {describe(shown)}; "
            "decode it first with os.fsdecode(path)"
        )
    if not shown:
        raise FileNotFoundError(errno.ENOENT, f"{name} is empty; give a file name")
    if "\0" in shown:
        raise ValueError(f"{name} contains a NUL character: {shown!r}; a file name cannot hold one")
    if writing and os.path.isdir(shown):
        problem = f"{name}: {printable_path(shown)} is a folder; give the name of a file (in it or elsewhere)"
        raise IsADirectoryError(errno.EISDIR, problem)
    return shown


def printable_path(path: str) -> str:
    """A path as messages show it: as it is, or as its repr if it holds a newline or another
    character that would break a one-line message."""
    return path if path.isprintable() else repr(path)


#: The most characters of a label that drawings show; a longer one ends in "…". Graphviz
#: refuses quoted strings over 16,384 bytes, and nobody reads a label that long in a picture.
MAX_LABEL_CHARS = 200

# UTF-16 surrogates: a str may hold one alone (from a bad decode), UTF-8 cannot encode it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def display_label(label: object, limit: int = MAX_LABEL_CHARS) -> str:
    """A Value's label as text that is safe to draw: always a ``str``, encodable as UTF-8, at
    most ``limit`` characters.

    Labels are set freely (``v.label = 5`` after construction), so drawings read them through
    this: None is no label; bytes are decoded as UTF-8 (undecodable bytes shown as U+FFFD);
    anything else is shown as ``str(label)``; a lone surrogate becomes U+FFFD; a longer text is
    cut to ``limit`` characters, the last one "…". Markup is left as text: escaping for DOT or
    HTML is the drawing's job (this returns what the user should *see*).
    """
    if label is None:
        return ""
    if isinstance(label, str):
        text = label
    elif isinstance(label, (bytes, bytearray)):
        text = bytes(label).decode("utf-8", "replace")
    else:
        try:
            text = str(label)
        except Exception:  # noqa: BLE001 - a broken __str__ must not break a drawing
            text = f"<{type(label).__name__}>"
        if not isinstance(text, str):  # a __str__ that returns something else (a str subclass is fine)
            text = f"<{type(label).__name__}>"
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _SURROGATE.sub("\ufffd", text)
