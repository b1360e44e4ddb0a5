"""Training you can watch: fit(record_every=k) records the decision boundary, and
microgradnn.plot.animate_training turns the frames into a GIF or an offline HTML player."""

from __future__ import annotations

import base64
import io
import re

import pytest

from microgradnn.data import make_blobs, make_moons
from microgradnn.nn import MLP
from microgradnn.recording import BoundaryFrame
from microgradnn.train import History, fit, predict


def _grid_points(frame: BoundaryFrame) -> list[list[float]]:
    return [[a, b] for b in frame.ys for a in frame.xs]


# ---------------------------------------------------------------------- recording in fit
@pytest.mark.parametrize(
    "epochs, every, expected",
    [(12, 5, [0, 5, 10, 12]), (10, 5, [0, 5, 10]), (3, 1, [0, 1, 2, 3]), (4, 9, [0, 4])],
)
def test_frames_are_recorded_before_training_every_k_epochs_and_at_the_end(epochs, every, expected):
    X, y = make_moons(20, seed=0)
    history = fit(MLP(2, [4, 1], seed=0), X, y, "hinge", epochs=epochs, record_every=every, progress=False)
    assert [f.epoch for f in history.frames] == expected
    assert history.frames[0].loss is None and history.frames[0].metric is None
    for frame in history.frames[1:]:
        assert frame.loss == history.loss[frame.epoch - 1]
        assert frame.metric == history.metric[frame.epoch - 1]


def test_an_early_stop_records_the_epoch_training_stopped_at():
    X, y = make_moons(20, seed=0)
    history = fit(
        MLP(2, [4, 1], seed=0),
        X,
        y,
        "hinge",
        epochs=50,
        record_every=5,
        progress=False,
        callback=lambda epoch, history: epoch == 6,  # stop after 7 epochs
    )
    assert history.epochs == 7 and [f.epoch for f in history.frames] == [0, 5, 7]


def test_each_frame_holds_the_models_predictions_on_the_grid_at_that_epoch():
    X, y = make_moons(30, noise=0.1, seed=3)
    model = MLP(2, [6, 1], seed=1)
    first = [p[0] for p in X]
    second = [p[1] for p in X]
    seen = {}  # epochs done -> the model's scores on the grid, taken independently

    def snapshot(epoch: int, history: History) -> None:
        seen[epoch + 1] = predict(model, _grid_points(history.frames[0]))

    history = fit(
        model, X, y, "hinge", "adam", lr=0.05, epochs=6, record_every=2, progress=False, callback=snapshot
    )
    frame0 = history.frames[0]
    # a 40 × 40 grid reaching half a unit beyond the points, as plot_decision_boundary draws
    assert len(frame0.xs) == len(frame0.ys) == 40
    assert frame0.xs[0] == pytest.approx(min(first) - 0.5) and frame0.xs[-1] == pytest.approx(
        max(first) + 0.5
    )
    assert frame0.ys[0] == pytest.approx(min(second) - 0.5) and frame0.ys[-1] == pytest.approx(
        max(second) + 0.5
    )
    untrained = MLP(2, [6, 1], seed=1)
    assert [s for row in frame0.scores for s in row] == predict(untrained, _grid_points(frame0))
    for frame in history.frames[1:]:
        assert [len(row) for row in frame.scores] == [40] * 40
        assert [s for row in frame.scores for s in row] == seen[frame.epoch]
        # scores[j][i] is the point (xs[i], ys[j])
        assert frame.scores[7][3] == seen[frame.epoch][7 * 40 + 3]
    assert history.frames[1].scores != history.frames[-1].scores  # the boundary moved


def test_recording_changes_nothing_about_training():
    X, y = make_moons(24, seed=5)
    plain, watched = MLP(2, [5, 1], seed=2), MLP(2, [5, 1], seed=2)
    a = fit(plain, X, y, "hinge", epochs=6, batch_size=8, seed=1, progress=False)
    b = fit(watched, X, y, "hinge", epochs=6, batch_size=8, seed=1, record_every=2, progress=False)
    assert a.loss == b.loss and a.metric == b.metric and plain.state_dict() == watched.state_dict()
    assert a.frames == [] and len(b.frames) == 4


def test_several_outputs_record_one_score_per_class_and_the_resolution_is_chosen():
    X, y = make_blobs(30, centers=3, seed=0)
    model = MLP(2, [6, 3], seed=0)
    history = fit(model, X, y, "cross_entropy", epochs=2, record_every=1, record_resolution=7, progress=False)
    last = history.frames[-1]
    assert len(last.xs) == len(last.ys) == 7
    assert all(len(s) == 3 for row in last.scores for s in row)
    assert [s for row in last.scores for s in row] == predict(model, _grid_points(last))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"record_every": 0}, "record_every must be a positive number of epochs or None, got 0"),
        ({"record_every": -2}, "record_every must be"),
        ({"record_every": 2.5}, "record_every must be"),
        ({"record_every": True}, "record_every must be"),
        ({"record_every": 1, "record_resolution": 1}, "record_resolution must be an integer in 2..1000"),
        ({"record_every": 1, "record_resolution": 40.0}, "record_resolution"),
    ],
)
def test_bad_recording_arguments_are_refused_before_training(kwargs, message):
    X, y = make_moons(10, seed=0)
    model = MLP(2, [3, 1], seed=0)
    before = model.state_dict()
    with pytest.raises(ValueError, match=re.escape(message)):
        fit(model, X, y, "hinge", epochs=2, progress=False, **kwargs)
    assert model.state_dict() == before


def test_recording_needs_two_dimensional_inputs():
    X3 = [[0.0, 1.0, 2.0], [1.0, 0.0, 1.0]]
    model = MLP(3, [3, 1], seed=0)
    with pytest.raises(ValueError, match=r"needs 2-D inputs .* X\[0\] is 3 features"):
        fit(model, X3, [1, -1], "hinge", epochs=1, record_every=1, progress=False)
    fit(model, X3, [1, -1], "hinge", epochs=1, progress=False)  # fine without recording
    with pytest.raises(ValueError, match=r"X\[0\] is 1 features"):
        fit(MLP(1, [2, 1], seed=0), [[0.5], [1.0]], [0.1, 0.2], epochs=1, record_every=1, progress=False)


# ---------------------------------------------------------------------- the animation
@pytest.fixture
def agg():  # noqa: ANN201
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    return matplotlib


@pytest.fixture(scope="module")
def moons_run():  # noqa: ANN201
    X, y = make_moons(40, noise=0.1, seed=1)
    model = MLP(2, [8, 1], seed=1)
    history = fit(model, X, y, "hinge", "adam", lr=0.05, epochs=12, record_every=4, progress=False)
    return X, y, history


def test_the_gif_has_one_frame_per_recorded_epoch_and_holds_the_last(agg, moons_run, tmp_path):
    from PIL import Image

    from microgradnn.plot import animate_training

    X, y, history = moons_run
    animation = animate_training(history, X, y, path=tmp_path / "training.gif", fps=5, dpi=50)
    assert len(animation) == 4 and "4 frames, epochs 0..12" in repr(animation)
    with Image.open(tmp_path / "training.gif") as gif:
        assert gif.format == "GIF" and gif.n_frames == 4 and gif.size == (450, 180)
        durations, pictures = [], []
        for k in range(gif.n_frames):
            gif.seek(k)
            durations.append(gif.info["duration"])
            pictures.append(gif.convert("RGB").tobytes())
    assert durations[:3] == [200, 200, 200] and durations[3] > 1000  # 5 fps; the end is held
    assert len(set(pictures)) == 4  # every frame differs from the others


def test_each_frame_draws_its_epochs_boundary_and_loss_so_far(agg, moons_run):
    from microgradnn.plot import animate_training

    X, y, history = moons_run
    animation = animate_training(history, X, y, title="moons")
    import matplotlib.pyplot as plt

    assert not plt.get_fignums()  # not left open in pyplot: Jupyter shows the player, not a still
    boundary, loss_axes = animation.figure.axes
    whole, so_far, now = loss_axes.get_lines()
    assert list(whole.get_ydata()) == history.loss
    for k, frame in enumerate(history.frames):
        animation._draw(k)
        assert list(so_far.get_xdata()) == list(range(1, frame.epoch + 1))
        assert list(so_far.get_ydata()) == history.loss[: frame.epoch]
        assert list(now.get_xdata()) == ([frame.epoch] if frame.epoch else [])
        heading = animation.figure._suptitle.get_text()
        assert heading.startswith("moons: ") and (f"epoch {frame.epoch} of 12" in heading)
        if frame.epoch:
            assert f"loss {frame.loss:.4g}" in heading and f"accuracy {frame.metric:.0%}" in heading
        # the boundary panel is filled to the grid's edges, the points drawn on top
        assert boundary.get_xlim() == (frame.xs[0], frame.xs[-1])
        assert len(boundary.collections) >= 2


def test_the_html_player_is_one_offline_file_with_a_slider(agg, moons_run, tmp_path):
    from PIL import Image

    from microgradnn.plot import animate_training

    X, y, history = moons_run
    animation = animate_training(history, X, y, path=tmp_path / "training.html", dpi=40)
    page = (tmp_path / "training.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert 'type="range"' in page and "anim-slider" in page  # the slider
    assert animation.to_html() in page and animation._repr_html_() == animation.to_html()
    # nothing is fetched from the network: no URL at all, no icon font
    assert not re.search(r"https?:|(src|href)=\"//|@import|font-awesome", page, re.IGNORECASE)
    assert "fa fa-" not in page and "&#9654;" in page  # buttons show characters, not icons
    frames = re.findall(r'frames\[\d+\] = "data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(frames) == len(history.frames)
    # Where scripts do not run (an untrusted notebook), the player's image shows the last frame.
    still = re.findall(r'<img id="_anim_img[0-9a-f]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)">', page)
    assert still == [frames[-1]]
    for data in frames:
        with Image.open(io.BytesIO(base64.b64decode(data))) as png:
            assert png.format == "PNG" and png.size == (360, 144)


def test_a_multiclass_run_animates(agg, tmp_path):
    from PIL import Image

    from microgradnn.plot import animate_training

    X, y = make_blobs(30, centers=3, seed=0)
    history = fit(MLP(2, [6, 3], seed=0), X, y, "cross_entropy", epochs=4, record_every=2, progress=False)
    animate_training(history, X, y, path=tmp_path / "blobs.gif", dpi=30)
    with Image.open(tmp_path / "blobs.gif") as gif:
        assert gif.n_frames == 3


def test_bad_animation_arguments_name_what_is_wrong(agg, moons_run, tmp_path):
    from microgradnn.plot import animate_training

    X, y, history = moons_run
    unrecorded = fit(MLP(2, [3, 1], seed=0), X, y, "hinge", epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"no frames; record them .*record_every=5"):
        animate_training(unrecorded, X, y)
    with pytest.raises(TypeError, match="expected the History returned by fit, got list"):
        animate_training([0.5, 0.4], X, y)
    with pytest.raises(ValueError, match="2-D points"):
        animate_training(history, [[1.0, 2.0, 3.0]], [1])
    with pytest.raises(ValueError, match="X has 40 points but y has 39 labels"):
        animate_training(history, X, y[:-1])
    for fps in (0, 2.5, 100):
        with pytest.raises(
            ValueError, match=f"fps must be a whole number of frames per second in 1..50, got {fps}"
        ):
            animate_training(history, X, y, fps=fps)
    with pytest.raises(ValueError, match="dpi must be"):
        animate_training(history, X, y, dpi=5)
    with pytest.raises(ValueError, match=r"path must end in \.gif or \.html, got '.*training\.mp4'"):
        animate_training(history, X, y, path=tmp_path / "training.mp4")
    assert not (tmp_path / "training.mp4").exists()


@pytest.mark.parametrize(
    "score",
    [lambda x: x, lambda x: [-x, x, -10.0]],  # one output; three, of which class 2 never wins
    ids=["one output", "three outputs"],
)
def test_the_boundary_is_drawn_where_the_winning_class_changes(agg, score):
    from matplotlib.contour import ContourSet

    from microgradnn.plot import animate_training

    # A hand-made history: the model's class is 1 right of x = 0.3, 0 left of it.
    xs = [-1.0 + 0.25 * i for i in range(9)]
    ys = [-1.0, 0.0, 1.0]
    frame = BoundaryFrame(1, 0.5, 0.75, xs, ys, [[score(x - 0.3) for x in xs] for _ in ys])
    history = History(loss=[0.5], metric=[0.75], metric_name="accuracy", frames=[frame])
    animation = animate_training(history, [[-1.0, 0.0], [1.0, 0.0]], [-1, 1])
    axes = animation.figure.axes[0]
    contours = [c for c in axes.collections if isinstance(c, ContourSet)]
    lines = [c for c in contours if not c.filled]
    assert len([c for c in contours if c.filled]) == 2  # two regions: class 2 has none
    assert lines
    for line in lines:
        for path in line.get_paths():
            assert all(v[0] == pytest.approx(0.3) for v in path.vertices)
    assert "epoch 1 of 1 · loss 0.5 · accuracy 75%" in animation.figure._suptitle.get_text()


def test_the_html_player_works_in_a_browser_with_the_network_off(agg, moons_run, tmp_path):
    """Headless Chromium (as the distribution packages it) opens the saved page offline: no
    request, no console error, and the buttons and the slider move through the frames."""
    import shutil

    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser = next((shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None)
    driver_path = shutil.which("chromedriver")
    if browser is None or driver_path is None:
        pytest.skip("needs chromium and chromedriver (apt install chromium chromium-driver)")
    from microgradnn.plot import animate_training

    X, y, history = moons_run
    page = animate_training(history, X, y, dpi=40).save(tmp_path / "training.html")
    options = webdriver.ChromeOptions()
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(argument)
    options.binary_location = browser
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=webdriver.ChromeService(driver_path), options=options)
    try:
        offline = {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0}
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", offline)
        text = page.read_text(encoding="utf-8")
        frames = re.findall(r'frames\[\d+\] = "(data:image/png;base64,[A-Za-z0-9+/=]+)"', text)
        driver.get(page.as_uri())
        # The page opens on the last frame (what shows where scripts do not run); the player,
        # started from a zero-delay timer after the page has loaded, then shows the first.
        first = "return document.images[0].src"
        WebDriverWait(driver, 10).until(lambda d: d.execute_script(first) == frames[0])
        slider = driver.find_element(By.CSS_SELECTOR, "input[type=range]")
        image = driver.find_element(By.CSS_SELECTOR, "img[id^=_anim_img]")

        def shown() -> tuple[str | None, str | None]:
            return slider.get_attribute("value"), image.get_attribute("src")

        assert slider.get_attribute("max") == str(len(frames) - 1) == "3"
        assert shown() == ("0", frames[0])
        driver.find_element(By.CSS_SELECTOR, "button[title='Last frame']").click()
        assert shown() == ("3", frames[3])
        driver.find_element(By.CSS_SELECTOR, "button[title='Previous frame']").click()
        assert shown() == ("2", frames[2])
        driver.execute_script(
            "arguments[0].value = 1; arguments[0].dispatchEvent(new Event('input'))", slider
        )
        assert shown() == ("1", frames[1])
        assert driver.get_log("browser") == []
        assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
    finally:
        driver.quit()
