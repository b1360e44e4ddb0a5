"""Screenshots of the graph explorer for the docs: ``docs/images/explorer-*.png``.

Run from the repository's root (needs Chromium, chromedriver and selenium, as the tests do)::

    python docs/make_screenshots.py

It saves the lecture neuron's explorer, opens it in headless Chromium with the network
blocked, and photographs a few states: the start, a backward step with a node's panel open,
the end, a forward-pass step, and the same page in a dark theme. Then two networks explored
with ``model=``, from the step before the first neuron's, after three steps of a neuron at a
time (Shift+→): the lecture's MLP(3, [4, 4, 1]) loss and micrograd's moons loss
(MLP(2, [16, 16, 1]), 100 samples).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from microgradnn import MLP, Value
from microgradnn.data import make_moons
from microgradnn.engine import topological_order
from microgradnn.viz import explore

IMAGES = Path(__file__).resolve().parent / "images"


def lecture_neuron() -> Value:
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o


def lecture_mlp() -> tuple[Value, MLP]:
    model = MLP(3, [4, 4, 1], seed=1)
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    return sum((model(x) - y) ** 2 for x, y in zip(xs, ys)), model  # type: ignore[return-value]


def moons() -> tuple[Value, MLP]:
    X, y = make_moons(100, noise=0.1, seed=1337)
    model = MLP(2, [16, 16, 1], seed=1337)
    scores = [model([Value(a), Value(b)]) for a, b in X]
    losses = [(1 + -yi * score).relu() for yi, score in zip(y, scores)]
    total = sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in model.parameters())
    return total, model  # type: ignore[return-value]


def browser(width: int, height: int):  # noqa: ANN201 - selenium is imported here, lazily
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser") or "chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--window-size={width},{height}",
        "--host-resolver-rules=MAP * ~NOTFOUND",
    ):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver") or "chromedriver"), options=options)


def main() -> int:
    from selenium.webdriver.common.action_chains import ActionChains

    IMAGES.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        page = explore(lecture_neuron()).save(Path(tmp) / "neuron.html")
        driver = browser(1400, 800)
        try:
            right = lambda times=1: [ActionChains(driver).send_keys("\ue014").perform() for _ in range(times)]  # noqa: E731

            def shoot(name: str) -> None:
                path = IMAGES / f"explorer-{name}.png"
                driver.find_element("css selector", ".mgn-explorer").screenshot(str(path))
                print(f"wrote {path.relative_to(IMAGES.parent.parent)}")

            driver.get(page.as_uri())
            shoot("start")
            right(2)
            w = driver.find_element("css selector", "#mgn-n8")  # n: its panel
            ActionChains(driver).move_to_element(w).perform()
            shoot("step")
            right(3)
            ActionChains(driver).move_to_element(driver.find_element("css selector", "#mgn-n1")).perform()
            shoot("end")
            driver.find_element("css selector", '[data-act="forward"]').click()
            right(4)
            shoot("forward")
            driver.execute_cdp_cmd(
                "Emulation.setEmulatedMedia",
                {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
            )
            driver.get(page.as_uri())
            right(3)
            shoot("dark")
        finally:
            driver.quit()
        # Networks: the page takes the window's height and opens at readable text (10 px).
        driver = browser(1200, 760)
        try:
            from selenium.webdriver.common.keys import Keys
            from selenium.webdriver.support.ui import WebDriverWait

            ready = "return !!document.querySelector('.mgn-explorer[data-step]')"
            for name, (root, model) in (("network", lecture_mlp()), ("moons", moons())):
                explorer = explore(root, model=model)
                page = explorer.save(Path(tmp) / f"{name}.html")
                values = len(topological_order(root))
                print(f"{name}: {values:,} Values, saved page {page.stat().st_size:,} bytes")
                driver.get(page.as_uri())
                WebDriverWait(driver, 30).until(lambda d: d.execute_script(ready))
                # Past the loss's own steps (moons: the L2 penalty's 674 come first), to the
                # step before the first neuron's; then a neuron at a time.
                first = next(k for k, step in enumerate(explorer.steps) if str(step.node._op) == "dot")
                driver.execute_script(
                    "const s = document.querySelector('.mgn-slider'); s.value = arguments[0];"
                    "s.dispatchEvent(new Event('input'));",
                    first,
                )
                for _ in range(3):  # a neuron (or a run of the loss's own steps) at a time
                    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ARROW_RIGHT).key_up(Keys.SHIFT).perform()
                path = IMAGES / f"explorer-{name}.png"
                driver.find_element("css selector", ".mgn-explorer").screenshot(str(path))
                print(f"wrote {path.relative_to(IMAGES.parent.parent)}")
        finally:
            driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
