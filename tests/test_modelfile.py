"""Model files from anywhere: hostile, malformed and odd files and paths, for loading and saving.

Each hostile file is loaded in a fresh interpreter whose address space is capped with
``resource.setrlimit(RLIMIT_AS)`` and which is killed after a timeout, so a loader that builds
what a tiny file claims, reads ``/dev/zero`` or waits on a FIFO fails the test instead of
exhausting the machine. A hypothesis test mutates valid files and requires that loading either
gives exactly the file's model or raises ModelFileError, leaving the model as it was.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import resource
import stat
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from microgradnn import modelfile
from microgradnn.nn import MLP, Layer, ModelFileError, Module, Neuron, load_model

REPO = Path(__file__).resolve().parent.parent
MEMORY_LIMIT = 256 * 2**20  # bytes of address space for the loading interpreter (it needs ~50 MB)
TIMEOUT = 60  # seconds before a loading interpreter is killed: only a hang gets near it


def bits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def _document(**changes: object) -> str:
    """The text of a valid MLP(2, [3, 1]) model file with some top-level entries replaced."""
    document = json.loads(modelfile.model_document(
        "MLP", MLP(2, [3, 1], seed=1)._config(), MLP(2, [3, 1], seed=1).state_dict()
    ))
    document.update(changes)
    return json.dumps(document)


GOOD = json.loads(_document())

# name -> (file text, what the error message must say)
HOSTILE_TEXTS: dict[str, tuple[str, str]] = {
    "nin of ten million in a tiny file": (
        json.dumps({"format": "microgradnn.model", "version": 1, "class": "Neuron",
                    "config": {"nin": 10_000_000}, "parameters": {"w": 1.0}}),
        "nin = 10,000,000 is larger than the 100,000",
    ),
    "an MLP of ten million inputs": (
        _document(config={**GOOD["config"], "nin": 10_000_000}),
        "nin = 10,000,000 is larger",
    ),
    "wide layers within the width cap": (
        _document(config={**GOOD["config"], "nin": 100_000, "nouts": [100_000, 1]}),
        "10,000,200,001 parameters, more than the 2,000,000",
    ),
    "a config one parameter short of the file": (
        _document(config={**GOOD["config"], "nouts": [3, 2]}),
        "describes 17 parameters but the file holds 13",
    ),
    "five thousand layers": (_document(config={**GOOD["config"], "nouts": [1] * 5000}), "5,000 layers"),
    "a width of zero": (_document(config={**GOOD["config"], "nouts": [3, 0]}), "nouts[1] must be a positive"),
    "a width that is a float": (_document(config={**GOOD["config"], "nin": 2.0}), "nin must be a positive"),
    "a width that is true": (_document(config={**GOOD["config"], "nin": True}), "nin must be a positive"),
    "an unknown config entry": (_document(config={**GOOD["config"], "evil": 1}), "unknown entry 'evil'"),
    "an unknown activation": (_document(config={**GOOD["config"], "activation": "gelu"}), "'gelu'"),
    "nested a hundred thousand deep": ("[" * 100_000 + "]" * 100_000, "200,000 brackets"),
    "nested fifty deep, few brackets": (
        _document(class_name="x").replace('"class_name": "x"', '"x": ' + "[" * 50 + "]" * 50),
        "nested 51 deep",
    ),
    "a 400-digit integer": (
        _document().replace('"layers.0.neurons.0.b": 0.0', '"layers.0.neurons.0.b": ' + "9" * 400),
        "has 400 digits",
    ),
    "a 5,001-digit integer": (
        _document().replace('"version": 1', '"version": ' + "1" * 5001),
        "5,001 digits",
    ),
    "a 5,001-digit negative integer in the config": (
        _document().replace('"nin": 2', '"nin": -' + "7" * 5001),
        "5,001 digits",
    ),
    "version true": (_document(version=True), "unsupported model file version True"),
    "a key given twice": (
        _document().replace('"layers.0.neurons.0.b": 0.0', '"layers.0.neurons.0.b": 0.0, ' * 2 + '"a": 1'),
        "'layers.0.neurons.0.b' appears twice",
    ),
    "a megabyte class name": (_document(**{"class": "M" * 2**20}), "is too long"),
    "a megabyte parameter name": (
        _document().replace('"layers.0.neurons.0.b"', '"' + "b" * 2**20 + '"'),
        "is too long",
    ),
}

CHILD = """
import json, resource, struct, sys
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from microgradnn.nn import MLP, ModelFileError, load_model

def bits(model):
    return [struct.pack("<d", p.data).hex() for p in model.parameters()]

path, report = sys.argv[2], {}
for how in ("load_model", "model.load"):
    model = MLP(2, [3, 1], seed=7)
    before = bits(model)
    try:
        load_model(path) if how == "load_model" else model.load(path)
        report[how] = {"error": None}
    except Exception as e:  # the test wants to see whatever was raised
        report[how] = {"error": type(e).__name__, "message": str(e), "unchanged": bits(model) == before}
print(json.dumps(report))
"""


def load_in_a_limited_interpreter(path: str | Path) -> dict:
    """Load ``path`` both ways in a fresh interpreter with capped memory and a timeout."""
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(MEMORY_LIMIT), str(path)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def assert_refused(path: str | Path, complaint: str) -> None:
    report = load_in_a_limited_interpreter(path)
    for how, outcome in report.items():
        assert outcome["error"] == "ModelFileError", (how, outcome)
        assert outcome["message"].startswith(f"{path}: "), (how, outcome["message"][:300])
        assert outcome["unchanged"], how
        assert complaint in outcome["message"], (how, outcome["message"][:300])
    assert len(report["load_model"]["message"]) < 400  # a megabyte name is not echoed back


@pytest.mark.parametrize("case", sorted(HOSTILE_TEXTS))
def test_hostile_file_contents_are_refused_before_anything_is_built(case: str, tmp_path: Path) -> None:
    text, complaint = HOSTILE_TEXTS[case]
    path = tmp_path / "model.json"
    path.write_text(text, encoding="utf-8")
    assert_refused(path, complaint)


def test_the_tiny_ten_million_input_file_is_tiny() -> None:
    # The case: a file of about 200 bytes that claims a huge network.
    assert len(HOSTILE_TEXTS["nin of ten million in a tiny file"][0]) < 200


def test_the_checks_refuse_only_what_is_wrong(tmp_path: Path) -> None:
    # The unmodified document loads, with a byte-order mark too and with integer parameters.
    for name, text in {
        "plain": _document(),
        "bom": "\ufeff" + _document(),
        "ints": _document().replace('"layers.0.neurons.0.b": 0.0', '"layers.0.neurons.0.b": ' + "9" * 308),
    }.items():
        path = tmp_path / f"{name}.json"
        path.write_text(text, encoding="utf-8")
        model = load_model(path)
        assert isinstance(model, MLP) and model.nouts == [3, 1], name
    assert model.layers[0].neurons[0].b.data == float("9" * 308)


def _special_paths(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    sparse = tmp_path / "huge.json"
    with open(sparse, "wb") as f:
        f.truncate(3 * 2**30)  # 3 GiB that take no disk space
    (tmp_path / "zero.json").symlink_to("/dev/zero")
    (tmp_path / "loop.json").symlink_to("loop.json")
    (tmp_path / "folder.json").mkdir()
    return {
        "/dev/zero": (Path("/dev/zero"), "is a character device, not a regular file"),
        "/dev/null": (Path("/dev/null"), "is a character device, not a regular file"),
        "a link to /dev/zero": (tmp_path / "zero.json", "is a character device"),
        "a FIFO no one writes to": (fifo, "is a FIFO (named pipe), not a regular file"),
        "a folder": (tmp_path / "folder.json", "is a folder"),
        "a 3 GiB file": (sparse, "the file has 3,221,225,472 bytes; model files are read up to 209,715,200"),
        "a link to itself": (tmp_path / "loop.json", "Too many levels of symbolic links"),
    }


@pytest.mark.parametrize(
    "case",
    ["/dev/zero", "/dev/null", "a link to /dev/zero", "a FIFO no one writes to", "a folder", "a 3 GiB file",
     "a link to itself"],
)
def test_files_that_are_not_regular_or_too_large_are_refused_unread(case: str, tmp_path: Path) -> None:
    path, complaint = _special_paths(tmp_path)[case]
    assert_refused(path, complaint)


def test_bad_path_arguments(tmp_path: Path) -> None:
    model = MLP(1, [1], seed=0)
    for call, name in ((load_model, "load"), (model.load, "load"), (model.save, "Module.save")):
        with pytest.raises(ValueError, match=re.escape(f"{name}(path) contains a NUL character")):
            call(str(tmp_path / "a\0b.json"))
        # open('') raises FileNotFoundError; so do load and save
        with pytest.raises(FileNotFoundError, match=re.escape(f"{name}(path) is empty; give a file name")):
            call("")
        for bad, shown in ((3, "int: 3"), (None, "NoneType: None"), (b"m.json", "bytes: b'm.json'")):
            message = f"{name}(path) must be a file name (str or pathlib.Path), got {shown}"
            with pytest.raises(TypeError, match=re.escape(message)):
                call(bad)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(FileNotFoundError, match="model file not found"):
        load_model(tmp_path / "missing.json")


# ------------------------------------------------------------------------------------- saving
def test_save_writes_through_a_symlink_to_its_target(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "model.json"
    MLP(2, [3, 1], seed=1).save(target)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    model = MLP(2, [3, 1], seed=2)
    assert model.save(link) == link
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert load_model(target).state_dict() == model.state_dict()
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["model.json"]
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "real" / "new.json")
    model.save(dangling)
    assert dangling.is_symlink()
    assert load_model(tmp_path / "real" / "new.json").state_dict() == model.state_dict()


def test_save_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.json"
    folder.mkdir()
    link = tmp_path / "link.json"
    link.symlink_to(fifo)
    # The OSError subclasses open() raises for the same mistakes, so `except OSError` catches them.
    cases = {
        fifo: (OSError, "is a FIFO (named pipe), not a regular file"),
        folder: (IsADirectoryError, "is a folder; give the name of a file"),
        link: (OSError, "is a FIFO"),
        Path("/dev/null"): (OSError, "is a character device, not a regular file"),
    }
    for path, (error, complaint) in cases.items():
        with pytest.raises(error, match=re.escape(f"Module.save(path): {path} {complaint}")) as caught:
            MLP(1, [1], seed=0).save(path)
        assert not isinstance(caught.value, ValueError) and "\n" not in str(caught.value)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and folder.is_dir() and link.is_symlink()
    assert list(folder.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo.json", "folder.json", "link.json"]


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o604])
def test_save_keeps_the_permission_bits_of_an_existing_file(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "model.json"
    MLP(2, [3, 1], seed=1).save(path)
    os.chmod(path, mode)
    MLP(2, [3, 1], seed=2).save(path)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert load_model(path).state_dict() == MLP(2, [3, 1], seed=2).state_dict()


class _Odd(Module):
    """A module whose config JSON cannot hold."""

    def __init__(self) -> None:
        self.w = [Neuron(1, seed=0).w[0]]

    def _config(self) -> dict:
        return {"sizes": {1, 2}}


def test_a_config_json_cannot_hold_fails_before_any_file_is_touched(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text("old", encoding="utf-8")
    with pytest.raises(TypeError, match="cannot be written as JSON"):
        _Odd().save(path)
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]


def test_a_write_that_fails_half_way_leaves_the_old_file_and_no_temporary_file(tmp_path: Path) -> None:
    # A real failing write: the file-size limit makes the kernel refuse bytes past 1 kB (EFBIG).
    path = tmp_path / "model.json"
    MLP(2, [3, 1], seed=1).save(path)
    old = path.read_bytes()
    code = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))\n"
        "from microgradnn.nn import MLP\n"
        "try:\n"
        "    MLP(2, [16, 16, 1], seed=2).save(sys.argv[1])\n"
        "except OSError as e:\n"
        "    print(type(e).__name__, e.errno)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=TIMEOUT, cwd=REPO
    )
    assert result.stdout.split() == ["OSError", "27"], result.stderr  # 27: EFBIG, file too large
    assert path.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]


def test_nonfinite_parameters_are_saved_as_standard_json_and_load_back_exactly(tmp_path: Path) -> None:
    # A diverged model is worth saving to look at: its file must be JSON any reader accepts.
    model = MLP(2, [3, 1], seed=1)
    specials = [math.nan, math.inf, -math.inf, -0.0, 5e-324]
    for p, v in zip(model.parameters(), specials):
        p.data = v
    path = model.save(tmp_path / "diverged.json")
    text = path.read_text(encoding="utf-8")

    def refuse(constant: str) -> None:
        raise AssertionError(f"non-standard JSON constant {constant}")

    document = json.loads(text, parse_constant=refuse)  # a strict reader: no bare NaN/Infinity
    written = list(document["parameters"].values())[:5]
    assert written == ["NaN", "Infinity", "-Infinity", -0.0, 5e-324]
    for loaded in (load_model(path), MLP(2, [3, 1], seed=2).load(path)):
        assert [bits(p.data) for p in loaded.parameters()] == [bits(p.data) for p in model.parameters()]


def test_files_with_the_bare_nan_of_earlier_versions_still_load(tmp_path: Path) -> None:
    model = MLP(1, [1], seed=0)
    document = {"format": "microgradnn.model", "version": 1, "class": "MLP", "config": model._config(),
                "parameters": {"layers.0.neurons.0.w.0": math.nan, "layers.0.neurons.0.b": -math.inf}}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert "NaN" in path.read_text(encoding="utf-8")
    w, b = load_model(path).parameters()
    assert math.isnan(w.data) and b.data == -math.inf
    for bad in ("nan", "inf", "Infinity ", "+Infinity"):  # only the three exact strings
        document["parameters"]["layers.0.neurons.0.b"] = bad
        path.write_text(json.dumps(document), encoding="utf-8")
        with pytest.raises(ModelFileError, match="is not a number"):
            load_model(path)


def test_a_read_only_file_is_not_replaced(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root may write to a read-only file")
    path = tmp_path / "model.json"
    MLP(1, [1], seed=0).save(path)
    os.chmod(path, 0o444)
    old = path.read_bytes()
    with pytest.raises(PermissionError, match="is read-only; not replacing it"):
        MLP(1, [1], seed=1).save(path)
    assert path.read_bytes() == old and [p.name for p in tmp_path.iterdir()] == ["model.json"]


def test_a_read_only_folder_leaves_nothing_behind(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root may write into a read-only folder")
    folder = tmp_path / "ro"
    folder.mkdir()
    os.chmod(folder, 0o500)
    try:
        with pytest.raises(PermissionError, match=f"cannot write {folder}/model.json: Permission denied"):
            MLP(1, [1], seed=0).save(folder / "model.json")
        assert list(folder.iterdir()) == []
    finally:
        os.chmod(folder, 0o700)


# ------------------------------------------------------------------------------ mutated files
MODELS = [
    lambda: Neuron(3, activation="sigmoid", seed=1),
    lambda: Layer(2, 3, activation="tanh", seed=2),
    lambda: MLP(2, [3, 1], seed=3),
    lambda: MLP(1, [2, 2, 2], activation="tanh", output_activation="sigmoid", seed=4),
]
NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|NaN|-?Infinity")
REPLACEMENTS = st.one_of(
    st.sampled_from(
        [b"0", b"1", b"-1", b"2", b"3", b"4", b"10000000", b"100001", b"1e999", b"-0", b"NaN",
         b"Infinity", b"1.5", b"true", b"null", b'"3"', b"[]", b"{}", b"[1]", b"9" * 400, b"9" * 5001]
    ),
    st.integers(-(10**20), 10**20).map(lambda n: str(n).encode()),
    st.floats(allow_nan=False).map(lambda x: repr(x).encode()),
)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[int, bytes]:
    which = draw(st.integers(0, len(MODELS) - 1))
    model = MODELS[which]()
    data = modelfile.model_document(type(model).__name__, model._config(), model.state_dict()).encode()
    for _ in range(draw(st.integers(1, 3))):
        # Changed numbers reach the deepest checks (shapes, sizes), so they are drawn most often.
        kind = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "number", "number", "number"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "truncate":
            data = data[:at]
        elif kind == "flip" and data:
            data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
        elif kind == "insert":
            data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
        elif kind == "delete":
            data = data[:at] + data[at + 1 :]
        else:
            numbers = list(NUMBER.finditer(data))
            if numbers:
                m = numbers[draw(st.integers(0, len(numbers) - 1))]
                data = data[: m.start()] + draw(REPLACEMENTS) + data[m.end() :]
    return which, data


def _expected_parameters(data: bytes) -> dict[str, float]:
    return {k: float(v) for k, v in json.loads(data.decode("utf-8").lstrip("\ufeff"))["parameters"].items()}


@contextlib.contextmanager
def at_most_this_much_more_memory(extra: int) -> Iterator[None]:
    """Cap this process's address space at its present size plus ``extra`` bytes (soft limit only,
    so it can be lifted again): a loader that builds what a mutated file claims fails with
    MemoryError instead of taking the machine's memory."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            size = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    except (OSError, StopIteration):  # not Linux: run without the cap
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = size + extra if hard == resource.RLIM_INFINITY else min(size + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_a_mutated_file_loads_consistently_or_raises_model_file_error(case: tuple[int, bytes]) -> None:
    which, data = case
    with tempfile.TemporaryDirectory() as folder, at_most_this_much_more_memory(512 * 2**20):
        path = Path(folder) / "model.json"
        path.write_bytes(data)
        try:
            model = load_model(path)
        except ModelFileError as e:
            assert str(e).startswith(f"{path}: ")
        else:
            # Whatever loaded is exactly what the file holds, and a model of that shape.
            expected = _expected_parameters(data)
            assert [bits(v) for v in model.state_dict().values()] == [bits(v) for v in expected.values()]
            assert list(model.state_dict()) == list(expected) and model.num_parameters() == len(expected)
        target = MODELS[which]()
        before = [bits(p.data) for p in target.parameters()]
        try:
            target.load(path)
        except ModelFileError as e:
            assert str(e).startswith(f"{path}: ")
            assert [bits(p.data) for p in target.parameters()] == before
        else:
            expected = _expected_parameters(data)
            assert {k: bits(v) for k, v in target.state_dict().items()} == {
                k: bits(v) for k, v in expected.items()
            }


def test_the_limits_are_what_the_docs_say() -> None:
    docs = " ".join((REPO / "docs" / "training.md").read_text(encoding="utf-8").split())
    m = modelfile
    for phrase in (
        f"larger than {m.MAX_FILE_BYTES // 2**20} MiB ({m.MAX_FILE_BYTES:,} bytes",
        f"at most {m.MAX_BRACKETS:,} brackets and braces, nested at most {m.MAX_DEPTH} deep",
        f"no integer of more than {m.MAX_INT_DIGITS} digits",
        f"at most {m.MAX_WIDTH:,} inputs or neurons per layer, at most {m.MAX_LAYERS:,} layers and at most "
        f"{m.MAX_PARAMETERS:,} parameters",
    ):
        assert phrase in docs, phrase
