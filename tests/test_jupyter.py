"""The committed notebooks as a reader meets them in a real JupyterLab, in headless Chromium.

One JupyterLab server (127.0.0.1, a random free port, a token) serves a temporary copy of
notebooks/ twice: as stored (untrusted: a reader who has not run them yet, where JupyterLab
refuses SVG and HTML outputs) and signed with ``jupyter trust`` (as after running them). Every
stored picture must show as an image of nonzero natural size, never as its text fallback, and
none may be wider than its output area. The explorer stored in notebook 02 is stepped with →.

Deselect with ``-m "not jupyter"``. Set ``MICROGRADNN_SCREENSHOTS=<folder>`` to also save a
screenshot of each picture output (that is how docs/images/notebook-*.png are made).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.jupyter

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = ("02_value_and_graph.ipynb", "03_neuron_to_network.ipynb", "05_classification.ipynb")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
SCREENSHOTS = os.environ.get("MICROGRADNN_SCREENSHOTS")


def _missing() -> str | None:
    if not (CHROMIUM and CHROMEDRIVER):
        return "needs Chromium and chromedriver (apt: chromium chromium-driver)"
    for module in ("selenium", "jupyterlab"):
        try:
            __import__(module)
        except ImportError:
            return f"needs {module} (pip install -e '.[dev]')"
    if not (REPO / "notebooks" / NOTEBOOKS[0]).exists():
        return "the notebooks are not in this copy of the project"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A JupyterLab server on a copy of the notebooks: ``untrusted/`` as stored, ``trusted/`` signed."""
    reason = _missing()
    if reason:
        pytest.skip(reason)
    home = tmp_path_factory.mktemp("lab")
    root = home / "root"
    for mode in ("untrusted", "trusted"):
        (root / mode).mkdir(parents=True)
        for name in NOTEBOOKS:
            notebook = json.loads((REPO / "notebooks" / name).read_text(encoding="utf-8"))
            if mode == "trusted":
                # Jupyter trusts a notebook by a signature of its content, wherever it lies: the
                # trusted copy must differ from the stored one, or both would be trusted.
                notebook["metadata"]["copy_for_the_test"] = "trusted"
            (root / mode / name).write_text(json.dumps(notebook), encoding="utf-8")
    # Everything Jupyter keeps (trust signatures, settings, runtime files) stays in the temporary folder.
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        IPYTHONDIR=str(home / "ipython"),
    )
    settings = home / "settings"
    # Every cell in the page (JupyterLab 4 otherwise adds cells to the page only as they scroll
    # into view); no news or update checks (there is no network).
    tracker = settings / "@jupyterlab/notebook-extension/tracker.jupyterlab-settings"
    _write_json(tracker, {"windowingMode": "none"})
    _write_json(
        settings / "@jupyterlab/apputils-extension/notification.jupyterlab-settings",
        {"fetchNews": "false", "checkForUpdates": False},
    )
    jupyter = [sys.executable, "-m", "jupyter"]
    subprocess.run(
        [*jupyter, "trust", *(str(root / "trusted" / n) for n in NOTEBOOKS)],
        env=env, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    port, token = _free_port(), os.urandom(16).hex()
    log = (home / "server.log").open("w")
    server = subprocess.Popen(
        [
            *jupyter, "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
            f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={home / 'workspaces'}",
            *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
        ],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail("JupyterLab did not start:\n" + (home / "server.log").read_text()[-3000:])
            time.sleep(0.3)
        yield {"base": base, "token": token, "root": root}
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def browser(lab: dict[str, Any]) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,900",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


# What the page shows for each code cell's outputs: the kind of output, the text of a text
# output, and for each image its natural size, its drawn width and the width it had to fit.
MEASURE = """
const cells = [...document.querySelectorAll('.jp-Notebook .jp-Cell')];
return cells.map(cell => [...cell.querySelectorAll('.jp-OutputArea-output')].map(out => {
  const images = [...out.querySelectorAll('img, svg')].filter(
    e => e.tagName === 'IMG' || !e.parentElement.closest('svg'));
  return {
    kind: out.className,
    text: out.innerText.slice(0, 200),
    area: out.getBoundingClientRect().width,
    images: images.map(e => {
      const box = e.getBoundingClientRect();
      const natural = e.tagName === 'IMG' ? e.naturalWidth : (e.width.baseVal ? e.width.baseVal.value : 0);
      return {tag: e.tagName, natural: natural, naturalHeight: e.tagName === 'IMG' ? e.naturalHeight : 0,
              width: box.width, height: box.height, complete: e.tagName !== 'IMG' || e.complete,
              right: box.right, areaRight: out.getBoundingClientRect().right};
    }),
  };
}));
"""


def _stored_pictures(path: Path) -> dict[int, list[str]]:
    """For each code cell (by its place among all cells) with picture outputs, their mime types."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    found: dict[int, list[str]] = {}
    for number, cell in enumerate(cells):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            mimes = [m for m in data if m.startswith("image/")]
            # the training animation's player (HTML): its image must show even where its script
            # does not run (an untrusted notebook)
            if not mimes and "_anim_img" in "".join(data.get("text/html", "")):
                mimes = ["text/html (animation)"]
            if mimes:
                found.setdefault(number, []).append(",".join(sorted(mimes)))
    return found


def open_notebook(driver: Any, lab: dict[str, Any], mode: str, name: str) -> list[list[dict]]:
    """Open a notebook, wait until every stored output and image has been drawn, and measure them."""
    from selenium.webdriver.support.ui import WebDriverWait

    stored = json.loads((lab["root"] / mode / name).read_text(encoding="utf-8"))["cells"]
    expected_outputs = sum(len(c.get("outputs", [])) for c in stored)
    path = f"{mode}/{name}"
    if lab.get("open") == path:
        pass  # already open: the explorer's test follows the pictures' test of its notebook
    else:
        driver.get(f"{lab['base']}/lab/tree/{path}?reset&token={lab['token']}")
    lab["open"] = path

    def ready(d: Any) -> Any:
        cells = d.execute_script(MEASURE)
        outputs = [o for cell in cells for o in cell]
        if len(cells) != len(stored) or len(outputs) < expected_outputs:
            return False
        if not all(image["complete"] for o in outputs for image in o["images"]):
            return False
        return cells

    return WebDriverWait(driver, 60, poll_frequency=0.25).until(ready)


def _screenshot(driver: Any, mode: str, name: str, cell: int) -> None:
    if not SCREENSHOTS:
        return
    element = driver.find_elements("css selector", ".jp-Notebook .jp-Cell")[cell]
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", element)
    time.sleep(0.2)
    folder = Path(SCREENSHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(folder / f"{name.split('_')[0]}-cell{cell}-{mode}.png"))


@pytest.mark.parametrize("mode", ["untrusted", "trusted"])
@pytest.mark.parametrize(
    "name", sorted(NOTEBOOKS, key=lambda n: n.startswith("02"))
)  # 02 last: the explorer's
def test_every_stored_picture_shows_and_fits_its_output_area(
    lab: dict[str, Any], browser: Any, name: str, mode: str
) -> None:
    pictures = _stored_pictures(lab["root"] / mode / name)
    assert pictures, f"{name} stores no picture"
    cells = open_notebook(browser, lab, mode, name)
    for number, mimes in pictures.items():
        outputs = [o for o in cells[number] if o["images"] or "Drawing" in o["text"] or "SVG" in o["text"]]
        where = f"{mode} {name} cell {number} ({mimes})"
        _screenshot(browser, mode, name, number)
        shown = [o["text"][:80] for o in cells[number]]
        assert len(outputs) == len(mimes), f"{where}: pictures shown as {shown}"
        for output in outputs:
            assert output["images"], f"{where} shows text instead of its picture: {output['text'][:120]!r}"
            for image in output["images"]:
                assert image["natural"] > 0 and image["width"] > 0, f"{where}: an empty image {image}"
                # Drawn no wider than the output area (a pixel of rounding allowed).
                assert image["right"] <= image["areaRight"] + 1, f"{where}: too wide {image}"


def test_the_explorer_steps_with_the_arrow_key_inside_the_notebook(lab: dict[str, Any], browser: Any) -> None:
    from selenium.webdriver.common.keys import Keys

    name = "02_value_and_graph.ipynb"
    cells = open_notebook(browser, lab, "trusted", name)
    counter = re.compile(r"step (\d+) / (\d+)")
    places = [i for i, cell in enumerate(cells) for o in cell if counter.search(o["text"])]
    assert places, "no explorer (a 'step k / n' counter) is shown in notebook 02"
    cell = browser.find_elements("css selector", ".jp-Notebook .jp-Cell")[places[0]]
    output = cell.find_element("css selector", ".jp-OutputArea-output")
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", output)

    def step() -> tuple[int, int]:
        found = counter.search(output.text)
        assert found, output.text[:300]
        return int(found.group(1)), int(found.group(2))

    k, total = step()
    assert k == 0 and total > 2
    # Point at the picture (as a reader clicks into it), then press → twice.
    svg = output.find_element("css selector", "svg")
    browser.execute_script(
        "arguments[0].dispatchEvent(new MouseEvent('mousedown', {bubbles: true}));"
        "(arguments[0].closest('[tabindex]') || arguments[0]).focus();",
        svg,
    )
    for expected in (1, 2):
        browser.switch_to.active_element.send_keys(Keys.ARROW_RIGHT)
        deadline = time.monotonic() + 5
        while step()[0] != expected and time.monotonic() < deadline:
            time.sleep(0.1)
        assert step() == (expected, total)
    _screenshot(browser, "trusted", "explorer", places[0])
