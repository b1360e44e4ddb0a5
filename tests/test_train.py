"""Tests of microgradnn.train (fit, train_step, evaluate, predict, metrics) and
microgradnn.plot."""

from __future__ import annotations

import math
import re
import sys

import pytest

from microgradnn import engine
from microgradnn.data import (
    bmi_table,
    make_blobs,
    make_circles,
    make_moons,
    make_regression_1d,
    make_spiral,
    make_xor,
    standardize,
)
from microgradnn.engine import Value, dot, value_sum
from microgradnn.losses import hinge
from microgradnn.nn import MLP
from microgradnn.optim import SGD, Adam, LinearDecay
from microgradnn.train import History, accuracy, evaluate, fit, predict, r2_score, train_step


def _bmi():  # noqa: ANN202
    X, y = bmi_table()
    Xs, _, _ = standardize(X)
    return Xs, y


CASES = {
    "moons": (lambda: make_moons(40, seed=1), [8, 1], "hinge", 0.05),
    "circles": (lambda: make_circles(40, seed=1), [8, 1], "bce", 0.05),
    "xor": (lambda: make_xor(40, seed=1), [8, 1], "hinge", 0.05),
    "spiral": (lambda: make_spiral(40, seed=1), [8, 1], "hinge", 0.05),
    "blobs": (lambda: make_blobs(45, centers=3, seed=1), [8, 3], "cross_entropy", 0.05),
    "regression": (lambda: make_regression_1d(n_samples=30, seed=1), [8, 1], "mse", 0.05),
    "bmi": (_bmi, [4, 1], "mse", 1.0),  # targets near 20: big steps
}


@pytest.mark.parametrize("name", CASES)
def test_fit_reduces_the_loss_on_every_dataset(name):
    make, widths, loss, lr = CASES[name]
    X, y = make()
    model = MLP(len(X[0]), widths, seed=0)
    history = fit(model, X, y, loss=loss, optimizer="adam", lr=lr, epochs=25, progress=False)
    assert len(history.loss) == len(history.metric) == 25
    assert history.loss[-1] < 0.8 * history.loss[0]
    final, metric = evaluate(model, X, y, loss=loss)
    assert final < history.loss[0]
    assert history.metric_name == ("r2" if loss == "mse" else "accuracy")
    assert metric > history.metric[0]  # accuracy or R² improved too


def test_fit_with_minibatches_is_reproducible_by_seed():
    X, y = make_moons(30, seed=2)
    runs = []
    for _ in range(2):
        model = MLP(2, [6, 1], seed=3)
        history = fit(model, X, y, "hinge", "sgd", epochs=4, batch_size=8, seed=5, lr=0.1, progress=False)
        runs.append((history.loss, model.state_dict()))
    assert runs[0] == runs[1]
    model = MLP(2, [6, 1], seed=3)
    other = fit(model, X, y, "hinge", "sgd", epochs=4, batch_size=8, seed=6, lr=0.1, progress=False)
    assert other.loss != runs[0][0]


def test_one_fit_epoch_is_one_manual_step_of_micrograds_demo():
    X, y = make_moons(20, seed=4)
    model, twin = MLP(2, [5, 1], seed=1), MLP(2, [5, 1], seed=1)
    history = fit(
        model,
        X,
        y,
        "hinge",
        SGD(model.parameters(), lr=LinearDecay(1.0, 0.1, 100)),
        epochs=2,
        l2=1e-4,
        progress=False,
    )
    losses = []
    for k in range(2):  # micrograd's demo step, written with the public operations
        scores = [twin(x) for x in X]
        data_loss = value_sum([(1 + -yi * si).relu() for yi, si in zip(y, scores)]) * (1.0 / len(X))
        params = twin.parameters()
        total = data_loss + 1e-4 * dot(params, params)
        twin.zero_grad()
        total.backward()
        for p in params:
            p.data -= (1.0 - 0.9 * k / 100) * p.grad
        losses.append(total.data)
    assert history.loss == pytest.approx(losses, rel=1e-12)
    assert [p.data for p in model.parameters()] == pytest.approx(
        [p.data for p in twin.parameters()], rel=1e-9
    )
    assert history.lr == [1.0, 1.0 - 0.9 / 100]


def test_train_step_returns_the_loss_and_scores_before_the_update():
    X, y = make_moons(10, seed=0)
    model = MLP(2, [4, 1], seed=0)
    before = [model.predict(x) for x in X]
    expected = hinge([model(x) for x in X], y).data
    value, scores = train_step(model, X, y, "hinge", SGD(model.parameters(), lr=0.1))
    assert value == pytest.approx(expected, rel=1e-15) and scores == before
    assert [model.predict(x) for x in X] != before


def test_progress_bar_on_stderr_and_silence_when_off(capsys):
    X, y = make_moons(12, seed=0)
    fit(MLP(2, [4, 1], seed=0), X, y, "hinge", epochs=3, progress=False)
    out, err = capsys.readouterr()
    assert out == "" and err == ""
    fit(MLP(2, [4, 1], seed=0), X, y, "hinge", epochs=3, progress=True)
    out, err = capsys.readouterr()
    assert out == "" and "training" in err and "loss=" in err and "accuracy=" in err and "3/3" in err


def test_in_a_notebook_the_bar_is_one_line_updated_in_place(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    source = (
        "from microgradnn import MLP, fit\n"
        "from microgradnn.data import make_moons\n"
        "X, y = make_moons(40, noise=0.1, seed=1)\n"
        "fit(MLP(2, [8, 1], seed=0), X, y, 'hinge', epochs=25, lr=0.3)"
    )
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nbclient.NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = notebook.cells[0].outputs
    # no stream output (a pink stderr block in a rendered page): the bar's one display, then the
    # History's one-line repr
    assert [o.output_type for o in outputs] == ["display_data", "execute_result"], outputs
    bar = outputs[0].data["text/plain"]
    assert bar.startswith("training: 100%|██") and "25/25" in bar and "\n" not in bar
    assert "loss=" in bar and "accuracy=" in bar
    assert re.fullmatch(
        r"History\(25 epochs, loss [\d.]+ → [\d.]+, accuracy [\d.]+%\)", outputs[1].data["text/plain"]
    )


def test_history_repr_is_one_short_line():
    history = History(
        loss=[0.6931, 0.2, 0.01181], metric=[0.5, 0.9, 1.0], metric_name="accuracy", lr=[0.1] * 3
    )
    assert repr(history) == "History(3 epochs, loss 0.6931 → 0.01181, accuracy 100.0%)"
    long = History(loss=[1.0] * 600, metric=[0.25] * 600, metric_name="r2", lr=[0.1] * 600, seconds=3.5)
    assert repr(long) == "History(600 epochs, loss 1 → 1, r2 0.25)"
    assert repr(History(loss=[2.5])) == "History(1 epoch, loss 2.5)"
    assert repr(History()) == "History(0 epochs)"


def test_callback_and_early_stop():
    X, y = make_moons(12, seed=0)
    seen = []

    def callback(epoch: int, history: History) -> bool:
        seen.append((epoch, len(history.loss)))
        return epoch == 2

    history = fit(MLP(2, [4, 1], seed=0), X, y, "hinge", epochs=10, progress=False, callback=callback)
    assert seen == [(0, 1), (1, 2), (2, 3)] and history.epochs == 3 and history.seconds > 0


def test_evaluation_and_prediction_record_no_graph_and_touch_no_gradient():
    X, y = make_moons(10, seed=0)
    model = MLP(2, [4, 1], seed=0)
    for p in model.parameters():
        p.grad = 0.25
    seen = []

    def watching_hinge(outputs, targets):  # noqa: ANN001, ANN202
        seen.append((engine.is_grad_enabled(), [o._prev for o in outputs]))
        return hinge(outputs, targets)

    loss, acc = evaluate(model, X, y, loss=watching_hinge, metric="accuracy", l2=1e-3)
    assert len(seen) == 1 and seen[0][0] is False  # under no_grad ...
    assert all(prev == () for prev in seen[0][1])  # ... so the outputs carry no graph
    assert engine.is_grad_enabled()
    assert all(p.grad == 0.25 for p in model.parameters())
    params = model.parameters()
    expected = hinge([model(x) for x in X], y).data + 1e-3 * sum(p.data**2 for p in params)
    assert loss == pytest.approx(expected, rel=1e-12)
    assert acc == accuracy([model.predict(x) for x in X], y)
    assert predict(model, X) == [model(x).data for x in X]

    class Plain:  # a model without the fast paths: evaluated under no_grad too
        def __call__(self, x):  # noqa: ANN001, ANN204
            return Value(x[0]) * 2.0

    assert predict(Plain(), [[1.0], [2.0]]) == [2.0, 4.0]


def test_accuracy_and_r2():
    assert accuracy([0.5, -0.2, 3.0, -1.0], [1, -1, -1, 0]) == 0.75  # ±1 and 0/1 labels alike
    assert accuracy([[0.1, 0.9, 0.0], [2.0, 1.0, 0.0]], [1, 2]) == 0.5
    assert r2_score([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == 1.0
    assert r2_score([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]) == 0.0
    assert math.isnan(r2_score([1.0, 1.0], [5.0, 5.0]))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"epochs": 0}, r"fit\(epochs\) must be >= 1, got 0"),
        ({"batch_size": 0}, "batch_size"),
        ({"loss": "l1"}, "unknown loss 'l1'"),
        ({"optimizer": "rmsprop"}, "unknown optimizer"),
        ({"metric": "f1"}, "unknown metric"),
        ({"l2": -1.0}, r"fit\(l2\) must be >= 0"),
    ],
)
def test_bad_fit_arguments_raise_clear_errors(kwargs, message):
    X, y = make_moons(8, seed=0)
    with pytest.raises(ValueError, match=message):
        fit(MLP(2, [2, 1], seed=0), X, y, progress=False, **{"loss": "hinge", **kwargs})


def test_bad_data_and_optimizer_combinations():
    model = MLP(2, [2, 1], seed=0)
    with pytest.raises(ValueError, match=r"fit\(y\) has 1 entries but X has 2"):
        fit(model, [[0.0, 0.0], [1.0, 1.0]], [1], progress=False)
    with pytest.raises(ValueError, match=r"fit\(X\) is empty"):
        fit(model, [], [], progress=False)
    with pytest.raises(ValueError, match="give lr to the optimizer"):
        fit(model, [[0.0, 0.0]], [1], optimizer=Adam(model.parameters()), lr=0.1, progress=False)


# ---------------------------------------------------------------------- plots
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def agg():  # noqa: ANN201
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    return matplotlib


def test_loss_curve_and_decision_boundary_return_figures_and_save_png(agg, tmp_path):
    from microgradnn.plot import plot_decision_boundary, plot_loss, plot_regression

    X, y = make_moons(30, seed=0)
    model = MLP(2, [8, 1], seed=0)
    history = fit(model, X, y, "hinge", "adam", epochs=5, progress=False)
    fig = plot_loss(history, path=tmp_path / "loss.png")
    assert fig.axes[0].get_lines()[0].get_ydata().tolist() == history.loss
    assert (tmp_path / "loss.png").read_bytes().startswith(PNG_MAGIC)
    fig = plot_decision_boundary(model, X, y, path=tmp_path / "boundary.png", resolution=20)
    assert (tmp_path / "boundary.png").read_bytes().startswith(PNG_MAGIC)
    assert len(fig.axes[0].collections) >= 2  # the filled regions and the samples
    import matplotlib.pyplot as plt

    assert not plt.get_fignums()  # made figures are handed over, not left open in pyplot
    fig2, ax = plt.subplots()
    assert plot_loss([3.0, 2.0, 1.0], ax=ax) is fig2
    plt.close(fig2)
    Xm, ym = make_blobs(30, centers=3, seed=0)
    multi = MLP(2, [6, 3], seed=0)
    plot_decision_boundary(multi, Xm, ym, resolution=10, path=tmp_path / "multi.png")
    Xr, yr = make_regression_1d(n_samples=20, seed=0)
    plot_regression(MLP(1, [4, 1], seed=0), Xr, yr, path=tmp_path / "fit.png")
    assert (tmp_path / "fit.png").read_bytes().startswith(PNG_MAGIC)


def test_the_decision_boundary_shows_the_models_classes(agg):
    from microgradnn.plot import plot_decision_boundary

    class LeftRight:  # class +1 right of x = 0
        def predict_batch(self, points):  # noqa: ANN001, ANN202
            return [p[0] for p in points]

    fig = plot_decision_boundary(LeftRight(), [[-1.0, -1.0], [1.0, 1.0]], [-1, 1], resolution=10, padding=0.0)
    ax = fig.axes[0]
    # class −1 is filled left of x = 0 and +1 right of it; x = 0 falls between grid columns
    # (-1/9 and 1/9), and the boundary is interpolated there, not drawn as the grid's staircase
    negative, positive = (ax.collections[k].get_paths()[0].vertices[:, 0] for k in (0, 1))
    assert negative.min() == -1.0 and negative.max() == pytest.approx(0.0, abs=1e-12)
    assert positive.min() == pytest.approx(0.0, abs=1e-12) and positive.max() == 1.0
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class −1", "class +1"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x1", "x2")
    assert ax.get_title() == "Decision boundary\naccuracy 100.0% (2/2 points)"
    wrong = plot_decision_boundary(LeftRight(), [[-1.0, 0.0], [1.0, 0.0]], [0, 0], title="t", resolution=5)
    assert wrong.axes[0].get_title() == "t\naccuracy 50.0% (1/2 points)"
    assert [t.get_text() for t in wrong.axes[0].get_legend().get_texts()] == ["class 0"]
    with pytest.raises(
        ValueError, match=r"plot_decision_boundary\(X\): row 0 has 3 features, but the points must be 2-D"
    ):
        plot_decision_boundary(LeftRight(), [[1.0, 2.0, 3.0]], [1])
    with pytest.raises(ValueError, match="resolution"):
        plot_decision_boundary(LeftRight(), [[1.0, 2.0]], [1], resolution=1)


def test_plotting_without_matplotlib_names_the_extra(monkeypatch):
    from microgradnn import plot

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(plot.MissingMatplotlibError, match=r"pip install 'microgradnn\[plot\]'"):
        plot.plot_loss([1.0, 0.5])
