"""End-to-end tests of ``microgradnn demo``, each in a subprocess as a user would run it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from microgradnn.data import make_moons
from microgradnn.nn import MLP, load_model
from microgradnn.train import accuracy, predict

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Run the CLI with some modules made unimportable, as on a machine without them.
WITHOUT = "import sys\nfor name in sys.argv[1].split(','):\n    sys.modules[name] = None\n" + (
    "from microgradnn.cli import main\nsys.exit(main(sys.argv[2:]))"
)


def run(
    *args: str, cwd: Path, without: str | None = None, env: dict | None = None
) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "microgradnn", *args]
    if without is not None:
        command = [sys.executable, "-c", WITHOUT, without, *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, env=env)


def test_the_default_demo_trains_to_100_percent_and_writes_every_artefact(tmp_path):
    result = run("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "microgradnn-demo"
    assert "MLP(2, [16, 16, 1]) (337 parameters) on 100 two-moons points" in result.stdout
    assert "accuracy 100.0% (100/100)" in result.stdout
    assert "training" in result.stderr and "100/100" in result.stderr  # the progress bar, on stderr
    assert "training:" not in result.stdout  # (training.gif is named there)
    # the bar's last loss is the "before" line's; the trained model's is measured after it
    bar_loss = re.findall(r"loss=([\d.]+)", result.stderr)[-1]
    before = re.search(r"last epoch, before its update \(the progress bar\): loss ([\d.]+)", result.stdout)
    after = re.search(r"final model, after the last update: loss ([\d.]+), accuracy", result.stdout)
    assert before and after and before[1] == bar_loss and after[1] != bar_loss
    artefacts = ("model.json", "loss.png", "decision_boundary.png", "training.gif", "neuron.svg")
    for name in (*artefacts, "neuron.html"):
        assert f"microgradnn-demo/{name}" in result.stdout
    assert (out / "loss.png").read_bytes().startswith(PNG_MAGIC)
    assert (out / "decision_boundary.png").read_bytes().startswith(PNG_MAGIC)
    from PIL import Image

    with Image.open(out / "training.gif") as gif:  # the model before training and after every 10 epochs
        assert gif.format == "GIF" and gif.n_frames == 11
    svg = (out / "neuron.svg").read_text()
    assert "<svg" in svg and "layers.0.neurons." in svg and "w·x" in svg
    # the weights are named like the inputs they multiply, and the dot node says so
    assert "w1·x1 + w2·x2" in svg and ">w1<" in svg and ">x1<" in svg and "w.0" not in svg
    page = (out / "neuron.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "mgnExplorer(" in page and "'w·x'" in page
    # the saved model is the trained one: 100% on the same data, regenerated here
    model = load_model(out / "model.json")
    assert isinstance(model, MLP) and model.nouts == [16, 16, 1]
    X, y = make_moons(100, noise=0.1, seed=1337)
    assert accuracy(predict(model, X), y) == 1.0
    assert sorted(p.name for p in out.iterdir()) == [
        "decision_boundary.png",
        "loss.png",
        "model.json",
        "neuron.html",
        "neuron.svg",
        "training.gif",
    ]


def test_help_documents_every_option(tmp_path):
    result = run("demo", "--help", cwd=tmp_path)
    assert result.returncode == 0
    for option in (
        "--out",
        "--epochs",
        "--seed",
        "--hidden",
        "--lr",
        "--optimizer",
        "--dataset",
        "--samples",
        "--noise",
        "--activation",
        "--schedule",
        "--batch-size",
        "--l2",
        "--no-progress",
        "microgradnn[demo]",
    ):
        assert option in result.stdout
    console_script = Path(sys.executable).with_name("microgradnn")
    if console_script.exists():
        top = subprocess.run([str(console_script), "--help"], capture_output=True, text=True, timeout=60)
        assert top.returncode == 0 and "demo" in top.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--hidden", "16,x"], "--hidden"),
        (["--hidden", "16,0"], "--hidden"),
        (["--epochs", "0"], "--epochs"),
        (["--epochs", "ten"], "--epochs"),
        (["--lr", "-1"], "--lr"),
        (["--lr", "nan"], "--lr"),
        (["--seed", "x"], "--seed"),
        (["--optimizer", "rmsprop"], "--optimizer"),
        (["--dataset", "iris"], "--dataset"),
        (["--samples", "2"], "--samples"),
        (["--noise", "-0.1"], "--noise"),
        (["--batch-size", "0"], "--batch-size"),
        (["--bogus"], "microgradnn demo: error: unrecognized option --bogus"),
        (["--datset", "circles"], "unrecognized option --datset (did you mean --dataset?)"),
        (["--epoks=3"], "unrecognized option --epoks (did you mean --epochs?)"),
        (["stray"], "microgradnn demo: error: unexpected argument stray"),
    ],
)
def test_bad_arguments_get_one_line_and_status_2(tmp_path, args, message):
    result = run("demo", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "microgradnn-demo").exists()


def test_version_is_the_package_version(tmp_path):
    from microgradnn import __version__

    result = run("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"microgradnn {__version__}"


def test_an_out_path_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "taken").write_text("not a folder")
    result = run("demo", "--out", "taken", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "is not a folder" in result.stderr
    result = run("demo", "--out", "taken/inside", "--epochs", "1", "--no-progress", cwd=tmp_path)
    assert (
        result.returncode == 1 and "cannot write into" in result.stderr and "Traceback" not in result.stderr
    )


@pytest.mark.parametrize(
    "args",
    [
        ["--dataset", "circles", "--optimizer", "adam"],
        ["--dataset", "xor", "--hidden", "4,4,4", "--activation", "tanh", "--schedule", "constant"],
        ["--dataset", "spiral", "--batch-size", "7", "--lr", "0.3", "--l2", "0"],
    ],
)
def test_other_datasets_and_options_run_end_to_end(tmp_path, args):
    result = run(
        "demo", "--out", "o", "--epochs", "3", "--samples", "20", "--no-progress", *args, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no progress bar
    assert "after the last update: loss" in result.stdout and "accuracy" in result.stdout
    assert {p.name for p in (tmp_path / "o").iterdir()} == {
        "model.json",
        "loss.png",
        "decision_boundary.png",
        "neuron.html",
        "training.gif",
        "neuron.svg",
    }


def test_without_matplotlib_everything_else_is_written_and_the_skip_explained(tmp_path):
    result = run("demo", "--out", "o", "--epochs", "2", "--no-progress", cwd=tmp_path, without="matplotlib")
    assert result.returncode == 0, result.stderr
    skipped = "Skipped loss.png, decision_boundary.png and training.gif: matplotlib is not installed"
    assert skipped in result.stdout
    assert "pip install 'microgradnn[demo]'" in result.stdout
    assert {p.name for p in (tmp_path / "o").iterdir()} == {"model.json", "neuron.html", "neuron.svg"}


def _path_without_dot(tmp_path: Path) -> dict:
    empty = tmp_path / "bin"
    empty.mkdir()
    return {**os.environ, "PATH": str(empty)}


def test_without_graphviz_the_dot_source_is_written_with_a_hint(tmp_path):
    env = _path_without_dot(tmp_path)
    result = run(
        "demo", "--out", "o", "--epochs", "2", "--no-progress", cwd=tmp_path, without="pygraphviz", env=env
    )
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stdout.splitlines() if "neuron" in line and "Skipped" in line]
    assert len(notes) == 1 and "Graphviz is not installed" in notes[0] and "microgradnn[demo]" in notes[0]
    source = (tmp_path / "o" / "neuron.dot").read_text()
    assert source.lstrip().startswith("digraph") and "w·x" in source
    assert not (tmp_path / "o" / "neuron.svg").exists() and not (tmp_path / "o" / "neuron.html").exists()


def test_with_pip_alone_pygraphviz_renders_the_svg(tmp_path):
    pytest.importorskip("pygraphviz")
    env = _path_without_dot(tmp_path)
    assert shutil.which("dot", path=env["PATH"]) is None
    result = run("demo", "--out", "o", "--epochs", "2", "--no-progress", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "<svg" in (tmp_path / "o" / "neuron.svg").read_text()
    assert "<svg" in (tmp_path / "o" / "neuron.html").read_text()
