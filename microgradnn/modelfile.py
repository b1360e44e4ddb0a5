"""Model files: the JSON that ``Module.save`` writes and ``Module.load`` / ``load_model`` read.

A model file may come from anywhere (a classmate, a download, a hand edit, a half-finished
copy), so reading one checks everything before anything is built:

1. the path names a regular file (not a folder, FIFO, device or socket) of at most
   :data:`MAX_FILE_BYTES`, judged by ``fstat`` before a byte is read;
2. the text is UTF-8 JSON with few and shallow brackets, and no integer literal longer than
   a float can hold (so the JSON parser can neither recurse deeply nor convert a
   5,000-digit number);
3. the document has the expected entries, every parameter is a number, and a config, when
   present, describes a network within :data:`MAX_PARAMETERS`, :data:`MAX_WIDTH` and
   :data:`MAX_LAYERS` whose parameter count equals the number of parameters in the file.

Step 3 is what keeps a 200-byte file that claims ``nin = 10,000,000`` from making
``load_model`` build ten million Values: nothing bigger than what the file itself holds is
ever allocated. Every problem raises :class:`ModelFileError` naming the file.

Parameters that are NaN or infinite (a model that diverged, saved to be looked at) are written
as the JSON strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``, so that the file is standard
JSON, and read back as those floats; files with the bare ``NaN`` of earlier versions still load.

Saving goes through :func:`microgradnn.fileio.write_atomic`: a temporary file next to the
target renamed over it, so a reader never sees half a file and a failed save leaves no
temporary file behind.
"""

from __future__ import annotations

import json
import math
import os
import stat
from typing import Any, Union

from microgradnn.checks import check_path
from microgradnn.fileio import file_kind

PathLike = Union[str, "os.PathLike[str]"]  # noqa: UP007 - runtime alias for Python 3.10

FORMAT = "microgradnn.model"
FORMAT_VERSION = 1

#: The largest model file that is read at all (200 MiB; MAX_PARAMETERS take about 105 MB).
MAX_FILE_BYTES = 200 * 1024 * 1024
#: The most parameters a config may describe.
MAX_PARAMETERS = 2_000_000
#: The most inputs or neurons in one layer.
MAX_WIDTH = 100_000
#: The most layers in an MLP.
MAX_LAYERS = 1_000
#: How deeply brackets may nest (a model file nests three deep) ...
MAX_DEPTH = 20
#: ... and how many there may be (a model file has about ten).
MAX_BRACKETS = 10_000
#: The longest integer literal accepted: one more digit reaches 10**308, next to the largest
#: float (1.8e308), and a few thousand more make ``int()`` itself refuse the conversion.
MAX_INT_DIGITS = 308
#: The longest parameter name (the built-in modules' are like ``layers.2.neurons.15.w.7``).
MAX_NAME_CHARS = 1_000
#: Error messages show at most this many characters of a value taken from the file.
_SHOWN_CHARS = 60

# Every byte except brackets and braces, to delete with bytes.translate.
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")

# The config entries each class accepts: (required, optional). Checked before building.
_CONFIG_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Neuron": (("nin",), ("activation",)),
    "Layer": (("nin", "nout"), ("activation",)),
    "MLP": (("nin", "nouts"), ("activation", "output_activation")),
}
#: The classes whose files say how to rebuild them.
REBUILDABLE = tuple(_CONFIG_KEYS)


class ModelFileError(ValueError):
    """A model file that cannot be loaded: not a regular file, too large, not JSON, truncated,
    wrong structure, impossible sizes, or the wrong shape for the model."""


def shorten(value: object) -> str:
    """``repr(value)`` cut to a readable length, for messages about what a file contains."""
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


# ---------------------------------------------------------------------------------- reading
def _read_bytes(shown: str) -> bytes:
    """The file's bytes, after checking it is a regular file no larger than MAX_FILE_BYTES."""
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(shown, flags)
    except FileNotFoundError:
        raise FileNotFoundError(f"model file not found: {shown}") from None
    except OSError as e:
        raise ModelFileError(f"{shown}: cannot open the model file: {e.strerror or e}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ModelFileError(f"{shown}: is a folder, not a model file")
        if not stat.S_ISREG(info.st_mode):
            raise ModelFileError(f"{shown}: is {file_kind(info.st_mode)}, not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise ModelFileError(
                f"{shown}: the file has {info.st_size:,} bytes; model files are read up to "
                f"{MAX_FILE_BYTES:,} bytes"
            )
        with os.fdopen(os.dup(fd), "rb") as f:  # a copy of fd: `finally` closes the original
            data = f.read(MAX_FILE_BYTES + 1)  # +1: notice a file that grew after fstat
    except OSError as e:
        raise ModelFileError(f"{shown}: cannot read the model file: {e.strerror or e}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        raise ModelFileError(f"{shown}: the file is larger than {MAX_FILE_BYTES:,} bytes")
    return data


def _check_brackets(shown: str, data: bytes) -> None:
    """Refuse deep or numerous nesting before the (recursive) JSON parser sees it."""
    count = sum(data.count(b) for b in (b"[", b"]", b"{", b"}"))
    if count > MAX_BRACKETS:
        raise ModelFileError(
            f"{shown}: not a microgradnn model file ({count:,} brackets and braces; "
            f"a model file has a handful, at most {MAX_BRACKETS:,} are read)"
        )
    # Few enough to walk one by one. Brackets inside strings count too, which can only
    # overestimate the depth; a model file's strings have none.
    depth = deepest = 0
    for bracket in data.translate(None, _NOT_BRACKETS).decode("ascii"):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:
        raise ModelFileError(
            f"{shown}: not a microgradnn model file (brackets nested {deepest} deep; "
            f"at most {MAX_DEPTH} are read)"
        )


def _parse_json(shown: str, data: bytes) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ModelFileError(
            f"{shown}: not a model file (not UTF-8 text: byte 0x{data[e.start]:02x} at offset {e.start})"
        ) from None
    text = text.removeprefix("\ufeff")  # a byte-order mark some editors add
    if not text.strip():
        raise ModelFileError(f"{shown}: the file is empty")
    _check_brackets(shown, data)

    def parse_int(literal: str) -> int:
        digits = len(literal) - literal.startswith("-")
        if digits > MAX_INT_DIGITS:
            raise ModelFileError(
                f"{shown}: the integer {literal[:20]}… has {digits:,} digits, too large for any "
                f"number in a model file (at most {MAX_INT_DIGITS})"
            )
        return int(literal)

    def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        # json.loads would silently keep the last of two equal keys (two values for one weight).
        obj = dict(pairs)
        if len(obj) < len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    raise ModelFileError(f"{shown}: the key {shorten(key)} appears twice in one object")
                seen.add(key)
        return obj

    try:
        # parse_constant turns bare NaN and ±Infinity (which versions before the string encoding
        # wrote for such parameters) into floats.
        return json.loads(text, parse_int=parse_int, object_pairs_hook=unique_keys, parse_constant=float)
    except json.JSONDecodeError as e:
        hint = " (the file looks truncated)" if e.pos >= len(text.rstrip()) else ""
        raise ModelFileError(
            f"{shown}: not valid JSON{hint}: {e.msg} at line {e.lineno} column {e.colno}"
        ) from None
    except RecursionError:  # unreachable after _check_brackets; kept as a second line of defence
        raise ModelFileError(f"{shown}: not a microgradnn model file (nested too deeply)") from None


def _check_document(shown: str, document: Any) -> dict[str, Any]:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelFileError(f'{shown}: not a microgradnn model file (no "format": "{FORMAT}")')
    version = document.get("version")
    if type(version) is not int or version != FORMAT_VERSION:
        raise ModelFileError(
            f"{shown}: unsupported model file version {shorten(version)} "
            f"(this library reads version {FORMAT_VERSION})"
        )
    for key, kind in (("class", str), ("parameters", dict)):
        if not isinstance(document.get(key), kind):
            raise ModelFileError(f"{shown}: the {key!r} entry is missing or not a {kind.__name__}")
    # A file without a config loads into a model built by hand (model.load), as one with null.
    document.setdefault("config", None)
    if document["config"] is not None and not isinstance(document["config"], dict):
        raise ModelFileError(f"{shown}: the 'config' entry must be an object or null")
    if len(document["class"]) > _SHOWN_CHARS:
        raise ModelFileError(f"{shown}: the class name {shorten(document['class'])} is too long")
    parameters = document["parameters"]
    for name, v in parameters.items():
        if len(name) > MAX_NAME_CHARS:
            raise ModelFileError(f"{shown}: the parameter name {shorten(name)} is too long")
        if isinstance(v, str) and v in NONFINITE:
            parameters[name] = NONFINITE[v]
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ModelFileError(f"{shown}: parameter {shorten(name)} is not a number: {shorten(v)}")
        # An integer literal of up to MAX_INT_DIGITS digits always fits a float.
        parameters[name] = float(v)
    return document


def read_model_file(path: PathLike) -> dict[str, Any]:
    """Read and check a model file: its structure and numbers, not yet its fit to a model.

    Returns the document with every parameter a float. A missing file raises
    ``FileNotFoundError``; every other problem raises :class:`ModelFileError` naming the file.
    """
    shown = check_path("load(path)", path, writing=False)
    return _check_document(shown, _parse_json(shown, _read_bytes(shown)))


# ---------------------------------------------------------------------------------- configs
def _size(shown: str, name: str, n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ModelFileError(
            f"{shown}: invalid 'config' entry: {name} must be a positive integer, got {shorten(n)}"
        )
    if n > MAX_WIDTH:
        raise ModelFileError(
            f"{shown}: invalid 'config' entry: {name} = {n:,} is larger than the {MAX_WIDTH:,} "
            "inputs or neurons a layer may have"
        )
    return n


def check_config(path: PathLike, document: dict[str, Any], activations: tuple[str, ...]) -> dict[str, Any]:
    """Check that the config of a `Neuron`, `Layer` or `MLP` file can be built, and describes
    exactly the parameters the file holds; returns the config. Builds nothing."""
    shown = os.fspath(path)
    cls, config = document["class"], document["config"]
    if cls not in _CONFIG_KEYS or config is None:
        raise ModelFileError(
            f"{shown}: holds a {shorten(cls)}, which load_model cannot rebuild; "
            "construct the model yourself and call model.load(path)"
        )
    required, optional = _CONFIG_KEYS[cls]
    missing = [k for k in required if k not in config]
    unknown = [k for k in config if k not in required + optional]
    if missing or unknown:
        problem = f"missing {', '.join(missing)}" if missing else f"unknown entry {shorten(unknown[0])}"
        raise ModelFileError(f"{shown}: invalid 'config' entry for a {cls}: {problem}")
    for key in optional:
        if key in config and config[key] not in activations:
            raise ModelFileError(
                f"{shown}: invalid 'config' entry: unknown {key} {shorten(config[key])}; "
                f"choose one of {', '.join(activations)}"
            )

    nin = _size(shown, "nin", config["nin"])
    if cls == "Neuron":
        widths = [1]
    elif cls == "Layer":
        widths = [_size(shown, "nout", config["nout"])]
    else:
        nouts = config["nouts"]
        if not isinstance(nouts, list) or not nouts:
            raise ModelFileError(
                f"{shown}: invalid 'config' entry: nouts must be a non-empty list of layer widths, "
                f"got {shorten(nouts)}"
            )
        if len(nouts) > MAX_LAYERS:
            raise ModelFileError(
                f"{shown}: invalid 'config' entry: {len(nouts):,} layers, more than the {MAX_LAYERS:,} "
                "an MLP may have"
            )
        widths = [_size(shown, f"nouts[{i}]", n) for i, n in enumerate(nouts)]
    expected = sum(nout * (fan_in + 1) for fan_in, nout in zip([nin, *widths], widths))
    if expected > MAX_PARAMETERS:
        raise ModelFileError(
            f"{shown}: the config describes {expected:,} parameters, more than the {MAX_PARAMETERS:,} "
            "a model file may hold"
        )
    held = len(document["parameters"])
    if expected != held:
        raise ModelFileError(
            f"{shown}: the config describes {expected:,} parameters but the file holds {held:,}"
        )
    return config


# ---------------------------------------------------------------------------------- writing
# JSON has no NaN or infinity, and the parameters of a model that diverged are exactly the ones
# a user wants to save and look at. They are written as these strings, read back as the floats.
NONFINITE: dict[str, float] = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _encode(v: float) -> float | str:
    if math.isfinite(v):
        return v
    return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")


def model_document(cls: str, config: dict[str, Any] | None, parameters: dict[str, float]) -> str:
    """The text of a model file; a config that JSON cannot hold raises TypeError before any
    file is touched."""
    document = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "class": cls,
        "config": config,
        "parameters": {name: _encode(v) for name, v in parameters.items()},
    }
    try:
        # allow_nan=False: the file is standard JSON, which any JSON reader accepts.
        return json.dumps(document, indent=1, allow_nan=False) + "\n"
    except (TypeError, ValueError) as e:
        raise TypeError(f"save: the {cls} config {shorten(config)} cannot be written as JSON: {e}") from None
