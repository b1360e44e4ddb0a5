"""Hostile input, round two (issue #22): nothing lost, nothing silently wrong.

- Data loss: every writer of the package (drawings, the explorer, plots, animations,
  ``microgradnn graph -o``) is made to fail part-way by a real file-size limit
  (``RLIMIT_FSIZE``: the kernel refuses bytes past it, as a full disk would) in a process of its
  own; the file that was there must be left byte for byte, and no temporary file.
- Labels set after construction to anything (an int, bytes, a lone surrogate, 100,000
  characters, markup) are drawn, rendered and saved as safe, bounded text.
- Path arguments (None, bytes, NUL, empty, a folder) give one-line errors naming the argument.
- A sample that is a set or a dict is refused.
"""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from microgradnn import MLP, Value, draw_dot
from microgradnn.checks import MAX_LABEL_CHARS, check_path, display_label
from microgradnn.viz import explore, render, save

REPO = Path(__file__).resolve().parent.parent
LIMIT = 700  # bytes a process may write to one file in the data-loss tests
OLD = b"the old file, which a failed save must leave as it was\n"

# Each writer as (what to prepare, the write itself, the suffix), run in a fresh process; the
# write saves to `target`. Preparing (training, rendering the player's frames) happens before
# the limit, so that the limit catches the write of the file itself.
GRAPH = (
    "from microgradnn import MLP\nfrom microgradnn.viz import draw_dot, explore, save\n"
    "out = MLP(2, [3, 1], seed=0)([1.0, 2.0])\n"
)
HISTORY = (
    "from microgradnn import MLP\nfrom microgradnn.data import make_moons\n"
    "from microgradnn.train import fit\nfrom microgradnn.plot import animate_training\n"
    "X, y = make_moons(20, noise=0.1, seed=0)\n"
    "history = fit(MLP(2, [4, 1], seed=0), X, y, epochs=2, record_every=1, record_resolution=8,\n"
    "              progress=False)\n"
    "animation = animate_training(history, X, y)\n"
)
WRITERS = {
    "viz.save .svg": (GRAPH, "save(draw_dot(out), target)", ".svg"),
    "viz.save .dot": (GRAPH, "save(draw_dot(out), target)", ".dot"),
    "viz.save .png": (GRAPH, "save(draw_dot(out), target)", ".png"),
    "explore().save": (GRAPH + "page = explore(out)\n", "page.save(target)", ".html"),
    "Drawing.render": ("from microgradnn import Value\nfrom microgradnn.viz import draw_dot\n"
                       "drawing = draw_dot(Value(1.0, label='a'))\n",  # a short source, a longer SVG
                       "drawing.render(outfile=target, cleanup=True)", ".svg"),
    "Drawing.save": (GRAPH, "draw_dot(out).save(target)", ".gv"),
    "Module.save": ("from microgradnn import MLP\n", "MLP(2, [8, 1], seed=0).save(target)", ".json"),
    "plot_loss(path)": ("from microgradnn.plot import plot_loss\n", "plot_loss([3, 1], path=target)", ".png"),
    "TrainingAnimation.save .gif": (HISTORY, "animation.save(target)", ".gif"),
    "TrainingAnimation.save .html": (HISTORY + "animation.to_html()\n", "animation.save(target)", ".html"),
}

# In the child: write once freely (to show the new file is larger than the limit), then with
# the limit; SIGXFSZ is ignored so that the write fails with EFBIG instead of killing Python.
HARNESS = """
import os, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
reference, target = sys.argv[1], sys.argv[2]
{prepare}
def write(target):
    {write}
write(reference)
print(os.path.getsize(reference))
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, resource.RLIM_INFINITY))
try:
    write(target)
except OSError as e:
    print(type(e).__name__, e.errno)
else:
    print("no error")
"""


def run_limited(prepare: str, write: str, reference: Path, target: Path) -> list[str]:
    code = HARNESS.format(prepare=prepare, write=write, limit=LIMIT)
    result = subprocess.run(
        [sys.executable, "-c", code, str(reference), str(target)],
        capture_output=True, text=True, timeout=300, cwd=REPO,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.mark.parametrize("writer", list(WRITERS))
def test_a_save_that_fails_part_way_keeps_the_old_file(writer: str, tmp_path: Path) -> None:
    prepare, write, suffix = WRITERS[writer]
    (tmp_path / "ref").mkdir()
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / f"picture{suffix}"
    target.write_bytes(OLD)
    size, *outcome = run_limited(prepare, write, tmp_path / "ref" / f"picture{suffix}", target)
    assert int(size) > LIMIT  # the new file could not have fitted
    assert outcome == ["OSError", str(errno.EFBIG)]
    assert target.read_bytes() == OLD
    assert os.listdir(tmp_path / "out") == [target.name]  # no temporary file left


@pytest.mark.parametrize("suffix", [".svg", ".dot", ".html"])
def test_graph_command_output_that_fails_part_way_keeps_the_old_file(suffix: str, tmp_path: Path) -> None:
    args = ["tanh(w1*x1 + w2*x2 + b)", "--at", "w1=1", "w2=2", "x1=3", "x2=4", "b=0.5"]
    reference = tmp_path / f"ref{suffix}"
    command = [sys.executable, "-m", "microgradnn", "graph", *args, "-o"]
    subprocess.run([*command, str(reference)], check=True, capture_output=True, cwd=REPO, timeout=120)
    assert reference.stat().st_size > LIMIT
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / f"cli{suffix}"
    target.write_bytes(OLD)

    def limit() -> None:
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, resource.RLIM_INFINITY))

    result = subprocess.run(
        [*command, str(target)], capture_output=True, text=True, cwd=REPO, timeout=120, preexec_fn=limit
    )
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert f"-o: cannot write {target}: File too large; the old file, if any, is unchanged" in result.stderr
    assert target.read_bytes() == OLD and os.listdir(tmp_path / "out") == [target.name]


# ---------------------------------------------------------------------------- labels set later
def graph_with_label(label: object) -> Value:
    a = Value(2.0, label="a")
    out = (a * a).tanh()
    out.label = label  # after construction, where no constructor check can see it
    return out


HOSTILE_LABELS = {
    "an int": (5, "5"),
    "bytes": (b"by\xfftes", "by\ufffdtes"),
    "a lone surrogate": ("a\ud800b", "a\ufffdb"),
    "100,000 characters": ("x" * 100_000, "x" * (MAX_LABEL_CHARS - 1) + "…"),
    "a NUL and control characters": ("a\0b\x1b[31m\r\n", "a\0b\x1b[31m\r\n"),
}


@pytest.mark.parametrize("case", list(HOSTILE_LABELS))
def test_a_label_set_later_to_anything_is_drawn_rendered_and_saved(case: str, tmp_path: Path) -> None:
    label, shown = HOSTILE_LABELS[case]
    assert display_label(label) == shown
    out = graph_with_label(label)
    drawing = draw_dot(out)
    assert drawing.pipe(format="svg").startswith(b"<?xml")
    svg = render(drawing, "svg").decode("utf-8")
    if case in ("an int", "bytes", "100,000 characters"):
        assert shown[:50] in svg  # the text the user should see is in the picture
    assert "x" * (MAX_LABEL_CHARS + 1) not in svg
    assert save(drawing, tmp_path / "g.dot").read_text(encoding="utf-8") == drawing.source
    page = explore(out).save(tmp_path / "g.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and len(page) < 2_000_000


def test_a_label_set_later_is_never_read_as_markup(tmp_path: Path) -> None:
    attack = '</script><script>alert(1)</script><b>"&\\{x|<y>}'
    out = graph_with_label(attack)
    page = explore(out).save(tmp_path / "g.html").read_text(encoding="utf-8")
    assert "<script>alert(1)" not in page and "<b>" not in page
    svg = render(draw_dot(out), "svg").decode("utf-8")
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in svg  # shown as the text it is


def test_display_label_turns_anything_into_bounded_text() -> None:
    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert display_label(None) == "" and display_label("") == ""
    assert display_label(2.5) == "2.5" and display_label(bytearray(b"ab")) == "ab"
    assert display_label(Broken()) == "<Broken>"
    assert display_label("é" * 10, limit=5) == "éééé…"
    assert display_label("\udcff" * 3) == "\ufffd" * 3
    for label in (5, b"\xff", "\ud800", "x" * 10**5, Broken()):
        text = display_label(label)
        text.encode("utf-8")  # always encodable
        assert isinstance(text, str) and len(text) <= MAX_LABEL_CHARS


# ---------------------------------------------------------------------------------- paths
def path_calls(tmp_path: Path) -> dict[str, tuple[str, object]]:
    out = graph_with_label("y")
    from microgradnn.plot import plot_loss

    return {
        "Explorer.save(path)": ("Explorer.save(path)", explore(out).save),
        "save(path)": ("save(path)", lambda p: save(draw_dot(out), p)),
        "Module.save(path)": ("Module.save(path)", MLP(1, [1], seed=0).save),
        "plot_loss(path)": ("plot_loss(path)", lambda p: plot_loss([1.0, 0.5], path=p)),
    }


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        (None, TypeError, "{name} must be a file name (str or pathlib.Path), got NoneType: None"),
        (b"x.html", TypeError, "got bytes: b'x.html'; decode it first with os.fsdecode(path)"),
        (3, TypeError, "{name} must be a file name (str or pathlib.Path), got int: 3"),
        ("a\0b.html", ValueError, "{name} contains a NUL character: 'a\\x00b.html'; a file name cannot"),
        ("", FileNotFoundError, "{name} is empty; give a file name"),
        ("{folder}", IsADirectoryError, "{name}: {folder} is a folder; give the name of a file"),
    ],
)
def test_bad_path_arguments_give_one_line_errors_naming_the_argument(
    bad: object, error: type[Exception], message: str, tmp_path: Path
) -> None:
    folder = tmp_path / "a folder.html"
    folder.mkdir()
    for name, call in path_calls(tmp_path).values():
        if bad is None and name == "plot_loss(path)":
            continue  # path=None is plot_loss's default: draw, do not save
        given = folder if bad == "{folder}" else bad
        with pytest.raises(error) as caught:
            call(given)  # type: ignore[operator]
        expected = message.format(name=name, folder=folder)
        assert expected in str(caught.value) and "\n" not in str(caught.value), str(caught.value)
        if issubclass(error, OSError):
            assert isinstance(caught.value, OSError) and not isinstance(caught.value, ValueError)
    assert sorted(os.listdir(tmp_path)) == ["a folder.html"] and os.listdir(folder) == []


def test_check_path_accepts_what_open_accepts(tmp_path: Path) -> None:
    assert check_path("f(path)", tmp_path / "x.svg") == str(tmp_path / "x.svg")
    assert check_path("f(path)", "relative/é x.svg") == "relative/é x.svg"
    assert check_path("f(path)", tmp_path, writing=False) == str(tmp_path)  # a folder, for reading


def test_saving_a_model_onto_a_folder_is_caught_by_except_oserror(tmp_path: Path) -> None:
    model = MLP(1, [1], seed=0)
    for bad in (tmp_path, "", "/dev/null"):
        try:
            model.save(bad)
        except OSError as e:
            assert "Module.save(path)" in str(e) and "\n" not in str(e)
        else:
            raise AssertionError(f"saving to {bad!r} did not fail")


# ---------------------------------------------------------------------------------- samples
@pytest.mark.parametrize("sample", [{2.0, 1.0}, frozenset({2.0, 1.0}), {0: 2.0, 1: 1.0}, "ab", b"ab"])
def test_a_sample_without_an_order_of_features_is_refused(sample: object) -> None:
    model = MLP(2, [3, 1], seed=0)
    message = "MLP(x) must be one sample, a sequence of 2 numbers"
    with pytest.raises(TypeError, match=re.escape(message)) as caught:
        model(sample)  # type: ignore[arg-type]
    if isinstance(sample, (set, frozenset, dict)):
        assert "a set or dict has no order of features" in str(caught.value)
    with pytest.raises(TypeError, match=re.escape("MLP(x) must be one sample")):
        model.forward_batch([[1.0, 2.0], sample])  # type: ignore[list-item]


@pytest.mark.parametrize("batch", [{(1.0, 2.0), (3.0, 4.0)}, {0: (1.0, 2.0)}, "ab"])
def test_a_batch_without_an_order_of_samples_is_refused(batch: object) -> None:
    for call, name in (
        (MLP(2, [3, 1], seed=0).forward_batch, "MLP.forward_batch(X)"),
        (MLP(2, [3, 1], seed=0).predict_batch, "MLP.predict_batch(X)"),
    ):
        with pytest.raises(TypeError, match=re.escape(f"{name} must be a sequence of samples")):
            call(batch)  # type: ignore[arg-type]


def test_ordered_samples_are_still_accepted() -> None:
    import numpy as np

    model = MLP(2, [3, 1], seed=0)
    expected = model([1.0, 2.0]).data
    for sample in ((1.0, 2.0), np.array([1.0, 2.0]), range(1, 3), [Value(1.0), 2]):
        assert model(sample).data == expected  # type: ignore[arg-type]
    for batch in ([[1.0, 2.0]], np.array([[1.0, 2.0]]), iter([(1.0, 2.0)])):
        assert model.predict_batch(batch) == [expected]  # type: ignore[arg-type]


def test_the_nonfinite_model_file_is_json_for_strict_readers(tmp_path: Path) -> None:
    model = MLP(1, [1], seed=0)
    model.parameters()[0].data = float("nan")
    text = model.save(tmp_path / "m.json").read_text(encoding="utf-8")
    assert "NaN" not in text.replace('"NaN"', "")  # only as a string
    json.loads(text, parse_constant=lambda c: pytest.fail(f"bare {c}"))
