"""The interactive explorer (``microgradnn.viz.explore``), tested in a real browser.

The saved page is opened in headless Chromium through Selenium with every host name made
unresolvable, so a request to the network would fail and show in the browser's logs. What the
page shows after k presses of → is compared, number by number, with ``BackwardStepper`` after
k steps: the node highlighted, the chain-rule line, and the grad written in every record.
"""

from __future__ import annotations

import html
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pygraphviz
import pytest

from microgradnn.engine import Value, topological_order, value_sum
from microgradnn.nn import MLP
from microgradnn.viz import BackwardStepper, GraphvizMissingError, draw_dot, explore, render_svg
from microgradnn.viz.drawing import format_number
from microgradnn.viz.explore import Explorer, _json_for_script
from microgradnn.viz.rendering import INSTALL_HINT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
try:
    import selenium  # noqa: F401

    HAVE_SELENIUM = True
except ImportError:
    HAVE_SELENIUM = False

needs_browser = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER and HAVE_SELENIUM),
    reason="needs headless Chromium, chromedriver (apt: chromium chromium-driver) and selenium",
)
REPO = Path(__file__).resolve().parent.parent
HOSTILE = "</script><script>alert(1)</script>"


# ----------------------------------------------------------------------------- graphs
def lecture_neuron() -> Value:
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o


def mlp_loss() -> Value:
    """The squared-error loss of MLP(2, [2, 1]) on two samples (unlabelled intermediates)."""
    model = MLP(2, [2, 1], seed=3)
    X = [[1.0, -2.0], [0.5, 1.5]]
    y = [1.0, -1.0]
    loss = value_sum((model(x) - t) ** 2 for x, t in zip(X, y))
    loss.label = "loss"
    return loss


# ----------------------------------------------------------------------------- the browser
@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER and HAVE_SELENIUM):
        pytest.skip("needs headless Chromium, chromedriver (apt: chromium chromium-driver) and selenium")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1200,900",
        # The network is blocked: every host name fails to resolve.
        "--host-resolver-rules=MAP * ~NOTFOUND",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def open_page(driver: Any, path: Path) -> None:
    driver.get(path.as_uri())
    driver.get_log("browser")  # start each test with empty logs
    driver.get_log("performance")
    driver.get(path.as_uri())


def network_requests(driver: Any) -> list[str]:
    """URLs of every request the page made, other than the file itself (and data: URLs)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    urls += driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    return [u for u in urls if not u.startswith(("file:", "data:"))]


def severe_logs(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


STATE_JS = """
const root = document.querySelector('.mgn-explorer');
const grads = {};
root.querySelectorAll('g.node').forEach(g => {
  const t = g.querySelectorAll('text');
  if (/^mgn-n\\d+$/.test(g.id)) grads[g.id] = [t[t.length - 2].textContent, t[t.length - 1].textContent];
});
return {
  step: root.getAttribute('data-step'),
  current: root.getAttribute('data-current'),
  marked: Array.from(root.querySelectorAll('g.node.mgn-current')).map(g => g.id),
  counter: root.querySelector('.mgn-counter').textContent,
  line: Array.from(root.querySelectorAll('.mgn-line div')).map(d => d.textContent),
  records: grads,
};
"""


def page_state(driver: Any) -> dict:
    return driver.execute_script(STATE_JS)


def press(driver: Any, key: str, times: int = 1) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    for _ in range(times):
        ActionChains(driver).send_keys(key).perform()


# The numbers of one input's term: "... = local · grad = contribution  (now after)" on the page,
# "... += local × grad = contribution  (now after)" in the stepper's caption.
PAGE_TERM = re.compile(r"= (\S+) · (\S+) = (\S+)  \(now (\S+)\)$")
CAPTION_TERM = re.compile(r"\.grad \+= (\S+) × (\S+) = (\S+)  \(now (\S+)\)$")


def stepper_view(root: Value, k: int) -> tuple[str, list[tuple[str, ...]], dict[str, str]]:
    """What BackwardStepper says about step k: (current node's id, terms' numbers, grads)."""
    stepper = BackwardStepper(root)
    stepper.goto(k)
    order = topological_order(root)
    current = f"n{order.index(stepper.steps[k - 1])}" if k else ""
    # The caption as Graphviz reads it (its lines end in \l).
    graph = pygraphviz.AGraph(string=stepper.draw().source)  # kept: its attributes live in it
    caption = dict(graph.graph_attr).get("label", "")
    terms = [m.groups() for m in (CAPTION_TERM.search(line.strip()) for line in caption.split("\\l")) if m]
    grads = {f"mgn-n{i}": "grad " + format_number(g) for i, g in enumerate(stepper.grads()[n] for n in order)}
    return current, terms, grads


def grads_by_id(root: Value, k: int) -> dict[str, str]:
    """Every node's grad text after k steps of BackwardStepper, by the page's element id."""
    return stepper_view(root, k)[2]


# ----------------------------------------------------------------------------- tests
@needs_browser
def test_the_saved_page_works_offline_without_errors(browser, tmp_path):
    path = explore(lecture_neuron()).save(tmp_path / "neuron.html")
    open_page(browser, path)
    state = page_state(browser)
    assert state["counter"] == "step 0 / 5"
    assert len(state["records"]) == 10  # every Value drawn, as draw_dot draws it
    assert network_requests(browser) == []
    assert severe_logs(browser) == []
    page = path.read_text(encoding="utf-8")
    assert "http://" not in page.replace("http://www.w3.org/", "") and "https://" not in page


@needs_browser
@pytest.mark.parametrize("make", [lecture_neuron, mlp_loss], ids=["lecture-neuron", "mlp-loss"])
def test_pressing_right_k_times_shows_backward_stepper_step_k(browser, tmp_path, make):
    root = make()
    path = explore(root).save(tmp_path / "graph.html")
    open_page(browser, path)
    n = len(BackwardStepper(root))
    assert n > 4
    for k in range(n + 1):
        if k:
            press(browser, "\ue014")  # →
        state = page_state(browser)
        current, terms, grads = stepper_view(root, k)
        assert state["step"] == str(k) and state["counter"] == f"step {k} / {n}"
        assert state["current"] == current
        if k:
            assert f"mgn-{current}" in state["marked"] and f"mgn-{current}op" in state["marked"]
        page_terms = [m.groups() for m in map(PAGE_TERM.search, state["line"]) if m]
        assert page_terms == terms[: len(page_terms)] and len(page_terms) == min(len(terms), 4)
        assert {name: grad for name, (_, grad) in state["records"].items()} == grads
    press(browser, "\ue014")  # past the end: stays at n
    assert page_state(browser)["step"] == str(n)
    press(browser, "\ue012", 2)  # ← twice
    state = page_state(browser)
    assert state["step"] == str(n - 2)
    assert {name: grad for name, (_, grad) in state["records"].items()} == stepper_view(root, n - 2)[2]
    assert severe_logs(browser) == []


@needs_browser
def test_buttons_slider_reset_and_the_forward_mode(browser, tmp_path):
    root = lecture_neuron()
    path = explore(root).save(tmp_path / "neuron.html")
    open_page(browser, path)
    click = lambda act: browser.find_element("css selector", f'[data-act="{act}"]').click()  # noqa: E731
    click("next")
    click("next")
    assert page_state(browser)["step"] == "2"
    click("prev")
    assert page_state(browser)["step"] == "1"
    browser.execute_script(
        "const s = document.querySelector('.mgn-slider'); s.value = 4; s.dispatchEvent(new Event('input'));"
    )
    state = page_state(browser)
    assert state["step"] == "4" and state["records"]["mgn-n3"][1] == "grad 0.5000"  # x2, from x2*w2
    click("reset")
    assert page_state(browser)["step"] == "0"
    view_box = "return document.querySelector('svg').getAttribute('viewBox')"
    view = lambda: [float(v) for v in browser.execute_script(view_box).split()]  # noqa: E731
    whole = view()
    click("zoomin")
    zoomed = view()
    assert zoomed[2] == pytest.approx(whole[2] / 1.5) and zoomed[3] == pytest.approx(whole[3] / 1.5)
    click("fit")
    assert view() == whole

    click("forward")  # forward pass first: 5 operations, seeding, then the 5 backward steps
    state = page_state(browser)
    assert state["counter"] == "step 0 / 11"
    assert state["records"]["mgn-n9"] == ["data ?", "grad 0.0000"]  # o not computed yet
    assert state["records"]["mgn-n0"] == ["data 2.0000", "grad 0.0000"]  # a leaf is known
    press(browser, "\ue014")
    state = page_state(browser)
    assert state["line"] == ["forward: [* node] = 'x1' * 'w1' = 2.0000 * -3.0000 = -6.0000"]
    assert state["records"]["mgn-n2"][0] == "data -6.0000"
    press(browser, "\ue014", 4)
    state = page_state(browser)
    assert state["current"] == "n9" and state["records"]["mgn-n9"] == ["data 0.7071", "grad 0.0000"]
    assert state["line"][0] == "forward: 'o' = tanh('n') = tanh(0.8814) = 0.7071"
    press(browser, "\ue014")  # the seed
    assert page_state(browser)["records"]["mgn-n9"][1] == "grad 1.0000"
    for k in range(1, 6):
        press(browser, "\ue014")
        state = page_state(browser)
        current, terms, grads = stepper_view(root, k)
        assert state["current"] == current and state["counter"] == f"step {6 + k} / 11"
        assert {name: grad for name, (_, grad) in state["records"].items()} == grads
    assert state["line"][-1] == "All steps applied: every grad is now ∂output/∂node."
    assert severe_logs(browser) == []


@needs_browser
def test_hovering_a_node_shows_its_numbers(browser, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains

    root = lecture_neuron()
    path = explore(root).save(tmp_path / "neuron.html")
    open_page(browser, path)
    w1 = browser.find_element("css selector", "#mgn-n1")  # w1, in topological order
    ActionChains(browser).move_to_element(w1).perform()
    panel = browser.find_element("css selector", ".mgn-panel").text.splitlines()
    assert panel[0] == "'w1' (leaf)"
    assert panel[1].startswith("data -3.0000") and "grad 1.0000 (after backward)" in panel[1]
    assert "  + ∂[* node]/∂'w1' · [* node].grad = 2.0000 · 0.5000 = 1.0000" in panel
    assert panel[-2] == "  = 1.0000" and panel[-1] == "now, at step 0: data -3.0000, grad 0.0000"
    op = browser.find_element("css selector", "#mgn-n9op")  # the tanh: the panel of its result o
    ActionChains(browser).move_to_element(op).perform()
    panel = browser.find_element("css selector", ".mgn-panel").text.splitlines()
    assert panel[0] == "'o' (op tanh)" and "  ∂'o'/∂'n' = 0.5000" in panel
    assert "grad = 1 (the output: ∂'o'/∂'o' = 1)" in panel
    assert severe_logs(browser) == []


@needs_browser
def test_a_hostile_label_is_shown_as_text(browser, tmp_path):
    x = Value(2.0, label=HOSTILE)
    y = x * 3.0
    y.label = 'say "hi" & <b>bye</b>'
    path = explore(y).save(tmp_path / "hostile.html")
    page = path.read_text(encoding="utf-8")
    assert HOSTILE not in page and "<b>bye" not in page
    open_page(browser, path)
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - no script ran, so no alert is open
    texts = browser.execute_script(
        "return Array.from(document.querySelectorAll('svg text')).map(t => t.textContent)"
    )
    assert HOSTILE in texts and 'say "hi" & <b>bye</b>' in texts
    press(browser, "\ue014")
    line = page_state(browser)["line"]
    assert line[1].startswith(f"{HOSTILE!r}.grad += ")
    assert browser.execute_script("return document.querySelectorAll('b, script[src]').length") == 0
    assert severe_logs(browser) == []


@needs_browser
def test_two_explorers_in_one_notebook_page_step_separately(browser, tmp_path):
    # As in Jupyter: fragments side by side, keys go to the one that has focus; a dark theme.
    first, second = explore(lecture_neuron()), explore(mlp_loss())
    page = tmp_path / "notebook.html"
    page.write_text(
        '<!DOCTYPE html><meta charset="utf-8"><body data-jp-theme-light="false">'
        f"{first._repr_html_()}{second._repr_html_()}</body>",
        encoding="utf-8",
    )
    open_page(browser, page)
    explorers = browser.find_elements("css selector", ".mgn-explorer")
    assert len(explorers) == 2 and explorers[0].get_attribute("id") != explorers[1].get_attribute("id")
    assert all("mgn-dark" in e.get_attribute("class") for e in explorers)
    explorers[1].find_element("css selector", '[data-act="next"]').click()  # gives it focus too
    press(browser, "\ue014")
    steps = [e.get_attribute("data-step") for e in explorers]
    assert steps == ["0", "2"]
    assert severe_logs(browser) == []


@pytest.mark.parametrize("make", [lecture_neuron, mlp_loss], ids=["lecture-neuron", "mlp-loss"])
def test_chain_rule_steps_end_where_backward_ends(make):
    from microgradnn.viz.stepping import chain_rule_steps, grad_states, grads_after_steps, state_after

    root = make()
    steps = chain_rule_steps(root)
    assert [s.number for s in steps] == list(range(1, len(steps) + 1))
    assert [s.node for s in steps] == BackwardStepper(root).steps
    last: dict = {}
    for step in steps:
        for term in step.terms:
            assert term.contribution == term.local * step.grad
            last[term.input] = term.after
    root.backward()  # a fresh graph: these are exactly the engine's gradients
    for node in topological_order(root):
        if node is not root:
            assert last.get(node, 0.0) == node.grad
    spans = grad_states([s.node for s in steps])
    for k in (0, len(steps) // 2, len(steps)):
        grads = grads_after_steps(root, k)
        for node, (first, last_step) in spans.items():
            state = state_after(node, k, root, spans)
            assert state == ("final" if k >= last_step else "partial" if k >= first else "pending")
            if state == "pending":
                assert grads[node] == 0.0


def test_embedded_json_cannot_end_its_script_element():
    text = _json_for_script({"label": HOSTILE, "amp": "a & b", "nested": ["<!--"]})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"label": HOSTILE, "amp": "a & b", "nested": ["<!--"]}


def test_without_graphviz_display_explains_what_to_install(tmp_path):
    # A fresh interpreter with no `dot` on PATH and pygraphviz unimportable, as on a bare machine.
    code = (
        "import sys\n"
        "sys.modules['pygraphviz'] = None\n"
        "from microgradnn import Value\n"
        "from microgradnn.viz import explore, GraphvizMissingError\n"
        "x = Value(2.0, label='x'); y = (x * x).tanh(); y.label = 'y'\n"
        "shown = explore(y)._repr_html_()\n"
        "print(shown)\n"
        "try:\n"
        "    explore(y).save('x.html')\n"
        "except GraphvizMissingError as exc:\n"
        "    print('SAVE REFUSED:', exc)\n"
    )
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {**os.environ, "PATH": str(empty), "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    shown, refused = result.stdout.split("SAVE REFUSED:")
    assert "Graphviz is not available" in shown and html.escape(INSTALL_HINT) in shown
    assert "pip install &#x27;microgradnn[render]&#x27;" in shown and "<svg" not in shown
    assert "mgnExplorer(" in shown  # the controls and the step lines still work
    assert "microgradnn[render]" in refused and not (tmp_path / "x.html").exists()


@needs_browser
def test_without_graphviz_the_notebook_fragment_still_runs(browser, tmp_path, monkeypatch):
    explore_module = importlib.import_module("microgradnn.viz.explore")  # not the function

    def missing(_drawing: Any) -> str:
        raise GraphvizMissingError("no dot, no pygraphviz")

    monkeypatch.setattr(explore_module, "render_svg", missing)
    page = tmp_path / "fragment.html"
    page.write_text(f"<!DOCTYPE html><meta charset=utf-8><body>{explore(lecture_neuron())._repr_html_()}")
    open_page(browser, page)
    assert "pip install 'microgradnn[render]'" in browser.find_element("css selector", ".mgn-missing").text
    browser.find_element("css selector", '[data-act="next"]').click()
    state = page_state(browser)
    assert state["step"] == "1" and state["line"][0].startswith("'o' (op tanh, grad 1.0000)")
    assert severe_logs(browser) == []


def test_options_are_checked_and_the_graph_is_only_read():
    root = lecture_neuron()
    before = [(v.data, v.grad) for v in topological_order(root)]
    explorer = explore(root, local_grads=True, rankdir="TB")
    assert "∂=" in explorer.drawing().source and "rankdir=TB" in explorer.drawing().source
    assert [(v.data, v.grad) for v in topological_order(root)] == before
    with pytest.raises(TypeError, match="root must be a Value"):
        explore([root])
    with pytest.raises(ValueError, match="rankdir"):
        explore(root, rankdir="XY")
    with pytest.raises(TypeError, match="format"):
        explore(root, format="png")
    with pytest.raises(ValueError, match=r"\.html"):
        explorer.save("graph.svg")
    assert explore(root)._data["fills"] is not None
    assert explore(root, color_by="grad")._data["fills"] is None  # draw_dot's colours stay


def test_micrograds_values_get_a_clear_error_and_a_lone_leaf_works():
    from micrograd.engine import Value as MicrogradValue

    x = MicrogradValue(2.0)
    with pytest.raises(TypeError, match="needs microgradnn Values"):
        explore(x * x)
    leaf = explore(Value(3.0, label="x"))
    assert len(leaf) == 0 and "<svg" in leaf._repr_html_()


def test_with_pip_alone_pygraphviz_draws_the_page_with_the_same_ids(tmp_path):
    pytest.importorskip("pygraphviz")
    code = (
        "from microgradnn import Value\n"
        "from microgradnn.viz import explore\n"
        "x = Value(2.0, label='x'); y = (x * x).tanh(); y.label = 'y'\n"
        "print(explore(y).svg())\n"
    )
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {**os.environ, "PATH": str(empty), "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert 'id="mgn-n2"' in result.stdout and 'id="mgn-n0-n1op"' in result.stdout


def test_the_picture_is_draw_dots_with_ids():
    root = lecture_neuron()
    explorer = explore(root, local_grads=True)
    plain = draw_dot(root, local_grads=True).source
    with_ids = explorer.drawing().source
    # The same DOT, plus one line per kind giving nodes and edges their ids.
    assert [line for line in with_ids.splitlines() if "mgn-" not in line] == plain.splitlines()
    svg = explorer.svg()
    assert svg.startswith("<svg") and 'id="mgn-n9"' in svg and "<!--" not in svg and "<title>" not in svg
    assert render_svg(draw_dot(root, local_grads=True)).count("<text") == svg.count("<text")


def summarised_loss() -> Value:
    model = MLP(2, [4, 4, 1], seed=1)
    loss = value_sum((model(x) - 1.0) ** 2 for x in [[1.0, 2.0], [0.5, -1.0], [2.0, 0.0]])
    loss.label = "loss"
    return loss


def test_a_summarised_graph_maps_hidden_nodes_to_their_boxes():
    loss = summarised_loss()
    explorer = explore(loss, max_nodes=30)
    data = explorer._data
    boxes = {g for g in data["groupOf"] if g is not None}
    assert len(boxes) > 3 and data["expandable"] == sorted(boxes)[: len(data["expandable"])]
    svg = explorer.svg()
    for step in data["backward"]:
        group = data["groupOf"][step[0]]
        shown = f"n{step[0]}" if group is None else f"g{group}"
        assert f'id="mgn-{shown}"' in svg  # every step highlights something drawn
    assert len(data["backward"]) == len(BackwardStepper(loss))
    # Expanding a box draws its nodes as records and leaves the other boxes as they are.
    gi = data["expandable"][0]
    expanded = explorer.svg(expanded=gi)
    members = [i for i, g in enumerate(data["groupOf"]) if g == gi]
    assert all(f'id="mgn-n{i}"' in expanded for i in members)
    assert f'id="mgn-g{gi}"' not in expanded and all(
        f'id="mgn-g{other}"' in expanded for other in boxes - {gi}
    )


@needs_browser
def test_clicking_a_box_expands_it_and_stepping_goes_on(browser, tmp_path):
    loss = summarised_loss()
    explorer = explore(loss, max_nodes=30)
    data = explorer._data
    path = explorer.save(tmp_path / "loss.html")
    open_page(browser, path)
    gi = data["expandable"][0]
    members = [i for i, g in enumerate(data["groupOf"]) if g == gi]
    assert not browser.find_elements("css selector", f"#mgn-n{members[0]}")
    # The page opens at a readable scale around the output; "all" shows the whole summary.
    browser.find_element("css selector", '[data-act="whole"]').click()
    browser.find_element("css selector", f"#mgn-g{gi}").click()
    assert browser.find_elements("css selector", f"#mgn-n{members[0]}")
    assert browser.find_element("css selector", '[data-act="collapse"]').is_displayed()
    n = len(data["backward"])
    press(browser, "\ue014", n)  # → to the end: the expanded records show the final grads
    grads = grads_by_id(loss, n)
    state = page_state(browser)
    assert state["step"] == str(n)
    assert {name: grad for name, (_, grad) in state["records"].items()} == {
        name: grads[name] for name in state["records"]
    }
    assert {f"mgn-n{i}" for i in members} <= set(state["records"])
    browser.find_element("css selector", '[data-act="collapse"]').click()
    assert not browser.find_elements("css selector", f"#mgn-n{members[0]}")
    assert page_state(browser)["step"] == str(n)
    assert severe_logs(browser) == []


def test_the_graph_command_refuses_step_with_a_page(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "microgradnn",
            "graph",
            "x*y",
            "--at",
            "x=1",
            "y=2",
            "--step",
            "1",
            "-o",
            "g.html",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "--step" in result.stderr and not (tmp_path / "g.html").exists()


def test_the_graph_command_writes_the_explorer(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "microgradnn",
            "graph",
            "tanh(x1*w1 + b)",
            "--at",
            "x1=2",
            "w1=-3",
            "b=6.88",
            "-o",
            "neuron.html",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "neuron.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "mgnExplorer(" in page and "<svg" in page
    assert "wrote neuron.html" in result.stdout


def test_the_explorer_class_is_exported():
    from microgradnn import viz

    assert viz.explore is explore and viz.Explorer is Explorer


# ----------------------------------------------------------------------------- network size
def lecture_mlp_loss() -> tuple[Value, MLP]:
    """The lecture's MLP(3, [4, 4, 1]) on its four samples, the loss summed with Python's sum."""
    model = MLP(3, [4, 4, 1], seed=1)
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    loss = sum((model(x) - y) ** 2 for x, y in zip(xs, ys))
    assert isinstance(loss, Value)
    return loss, model


def moons_loss(samples: int = 100) -> tuple[Value, MLP]:
    """micrograd's demo loss: MLP(2, [16, 16, 1]), hinge loss + 1e-4 L2, built with Python's sum."""
    from microgradnn.data import make_moons

    X, y = make_moons(samples, noise=0.1, seed=1337)
    model = MLP(2, [16, 16, 1], seed=1337)
    scores = [model([Value(a), Value(b)]) for a, b in X]
    losses = [(1 + -yi * score).relu() for yi, score in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    total = data_loss + reg_loss
    assert isinstance(total, Value)
    return total, model


# What the page shows of its picture: the drawing area, the smallest text in it (font size
# times the picture's scale), and the summary boxes' max |grad| texts.
VIEW_JS = """
const root = document.querySelector('.mgn-explorer');
if (!root || !root.getAttribute('data-step')) return null;
const svg = root.querySelector('svg');
const view = root.querySelector('.mgn-view').getBoundingClientRect();
const scale = svg.getScreenCTM().a;
let smallest = Infinity;
svg.querySelectorAll('text').forEach(t => {
  const r = t.getBoundingClientRect();
  if (!t.textContent.trim() || r.right < view.left || r.left > view.right || r.bottom < view.top
      || r.top > view.bottom) return;
  smallest = Math.min(smallest, parseFloat(getComputedStyle(t).fontSize) * scale);
});
return {
  top: view.top, height: view.height, width: view.width, explorer: root.getBoundingClientRect().height,
  window: window.innerHeight, smallest: smallest, step: root.getAttribute('data-step'),
  boxes: Array.from(svg.querySelectorAll('g.node text')).map(t => t.textContent)
    .filter(t => t.includes('max |grad|')),
  edges: Array.from(svg.querySelectorAll('g.edge text')).map(t => t.textContent),
};
"""


def view_state(driver: Any) -> dict:
    """VIEW_JS once the page has started (a big page unpacks its data first)."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, 30).until(lambda d: d.execute_script(VIEW_JS))


@needs_browser
def test_a_network_opens_readable_and_uses_the_height_it_has(browser, tmp_path):
    loss, model = lecture_mlp_loss()
    explorer = explore(loss, model=model)
    open_page(browser, explorer.save(tmp_path / "mlp.html"))
    state = view_state(browser)
    # A saved page: the window's height (the picture is taller than the window at 10 px text).
    assert state["explorer"] >= 0.9 * (state["window"] - 24) and state["height"] >= 0.5 * state["window"]
    assert state["smallest"] >= 9.9  # readable; the reader pans to see the rest
    # The same explorer in a notebook-like output 600 px tall: it takes about that.
    page = tmp_path / "notebook.html"
    page.write_text(
        f'<!DOCTYPE html><meta charset="utf-8"><body style="margin:0">{explorer._repr_html_()}</body>',
        encoding="utf-8",
    )
    host = tmp_path / "host.html"
    host.write_text(
        '<!DOCTYPE html><meta charset="utf-8"><body style="margin:0">'
        '<iframe src="notebook.html" style="width:968px;height:600px;border:0"></iframe></body>',
        encoding="utf-8",
    )
    open_page(browser, host)
    browser.switch_to.frame(browser.find_element("css selector", "iframe"))
    try:
        state = view_state(browser)
        assert 500 <= state["explorer"] <= 600 and state["height"] >= 280
        assert state["smallest"] >= 9.9
    finally:
        browser.switch_to.default_content()
    # A small graph gets the height it needs, not more.
    open_page(browser, explore(lecture_neuron()).save(tmp_path / "neuron.html"))
    state = view_state(browser)
    assert state["height"] < 0.6 * state["window"]
    assert severe_logs(browser) == []


@needs_browser
def test_the_layout_stays_still_and_the_summaries_follow_the_steps(browser, tmp_path):
    loss, model = lecture_mlp_loss()
    loss.backward()  # the user's grads are final: the page must still start from nothing
    explorer = explore(loss, model=model)
    open_page(browser, explorer.save(tmp_path / "mlp.html"))
    start = view_state(browser)
    assert len(start["boxes"]) >= 8 and all("max |grad| 0.0000" in text for text in start["boxes"])
    tops = set()
    for _ in range(12):
        press(browser, "\ue014")
        state = view_state(browser)
        tops.add((state["top"], state["height"]))
    press(browser, "\ue010")  # End
    end = view_state(browser)
    tops.add((end["top"], end["height"]))
    assert tops == {(start["top"], start["height"])}  # the message box never pushes the picture
    # At the end the boxes say what draw_dot says of the graph after backward.
    final = render_svg(draw_dot(loss, repeats=None))  # every sample drawn, as the explorer does
    for text in end["boxes"]:
        assert html.escape(text) in final or text in final
    assert any("max |grad| 0.0000" not in text for text in end["boxes"])
    assert severe_logs(browser) == []


@needs_browser
def test_the_forward_mode_shows_local_derivatives_once_computed(browser, tmp_path):
    path = explore(lecture_neuron(), local_grads=True).save(tmp_path / "neuron.html")
    open_page(browser, path)
    backward = view_state(browser)["edges"]
    assert len(backward) == 9 and all(t.startswith("∂=") and t != "∂=?" for t in backward)
    browser.find_element("css selector", '[data-act="forward"]').click()
    assert view_state(browser)["edges"] == ["∂=?"] * 9  # nothing computed yet
    press(browser, "\ue014")  # x1*w1: its two edges now carry their ∂
    edges = view_state(browser)["edges"]
    assert sum(t != "∂=?" for t in edges) == 2
    press(browser, "\ue014", 4)
    assert view_state(browser)["edges"] == backward
    assert severe_logs(browser) == []


def test_a_model_names_nodes_by_module():
    loss, model = lecture_mlp_loss()
    explorer = explore(loss, model=model)
    names = explorer._names
    assert "layers[1].neurons[3] dot #2" in names
    assert "layers[2].neurons[0] + #4" in names and "layers[0].neurons[0] ReLU #1" in names
    assert names[-1] == "[output]" and "[+ node]" in names  # the loss's own sums
    # Without the model, the parameters' dotted labels say the same.
    assert explore(loss)._names == names
    # A relabelled parameter: the model still knows where it is.
    model.layers[1].neurons[3].w[0].label = "w"
    assert explore(loss, model=model)._names.count("layers[1].neurons[3] dot #2") == 1
    with pytest.raises(TypeError, match="explore\\(model\\) must be a Module"):
        explore(loss, model=[1, 2])


@needs_browser
def test_stepping_a_neuron_or_a_layer_at_a_time(browser, tmp_path):
    loss, model = lecture_mlp_loss()
    explorer = explore(loss, model=model)
    open_page(browser, explorer.save(tmp_path / "mlp.html"))
    view_state(browser)
    steps = explorer.steps
    owner = [explorer._modules[explorer._index[s.node]] for s in steps]
    neuron = [o[:4] if o else None for o in owner]
    layer = [o[:2] if o else None for o in owner]

    def step() -> int:
        return int(browser.find_element("css selector", ".mgn-explorer").get_attribute("data-step"))

    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    def shift_right() -> None:
        ActionChains(browser).key_down(Keys.SHIFT).send_keys(Keys.ARROW_RIGHT).key_up(Keys.SHIFT).perform()

    seen_neurons = 0
    for _ in range(6):
        before = step()
        shift_right()
        k = step()
        assert k > before
        # k ends a run: steps before..k-1 belong to one neuron (or none), step k+1 to another.
        assert len(set(neuron[before:k])) == 1 and (k == len(steps) or neuron[k] != neuron[k - 1])
        seen_neurons += neuron[k - 1] is not None
    assert seen_neurons >= 3
    browser.find_element("css selector", '[data-act="module-next-1"]').click()  # layer ▶
    k2 = step()
    assert k2 > k and len(set(layer[k:k2])) == 1 and layer[k2] != layer[k2 - 1]
    press(browser, "\ue00e")  # PageUp: back to the end of the layer's run before
    layer_ends = [e for e in range(1, len(steps) + 1) if e == len(steps) or layer[e] != layer[e - 1]]
    assert step() == max(e for e in layer_ends if e < k2)
    line = page_state(browser)["line"][0]
    name = explorer._names[explorer._index[steps[step() - 1].node]]
    assert line.startswith(name + " (op ") or line.startswith(f"node = {name} (op ")
    assert severe_logs(browser) == []


def test_drawing_thousands_of_records_is_refused_at_once(monkeypatch):
    explore_module = importlib.import_module("microgradnn.viz.explore")

    def never(_drawing: Any) -> str:
        raise AssertionError("Graphviz must not be asked")

    monkeypatch.setattr(explore_module, "render_svg", never)
    loss, _ = moons_loss(samples=25)
    assert len(topological_order(loss)) > 3000
    with pytest.raises(ValueError, match=r"max_nodes=None would draw 3,\d{3} records.*draw_dot"):
        explore(loss, max_nodes=None)
    with pytest.raises(ValueError, match="max_nodes <= 600"):
        explore(loss, max_nodes=5000)
    small = explore(lecture_neuron(), max_nodes=None)  # a small graph: drawn, as before
    assert len(small) == 5


@needs_browser
def test_micrograds_moons_loss_saves_a_small_page_that_works(browser, tmp_path):
    loss, model = moons_loss()
    assert len(topological_order(loss)) > 11000
    explorer = explore(loss, model=model)
    path = explorer.save(tmp_path / "moons.html")
    assert path.stat().st_size <= 500_000
    open_page(browser, path)
    state = view_state(browser)  # the data, gzipped in the page, unpacked by the browser
    assert state["smallest"] >= 9.9
    n = len(explorer.steps)
    assert page_state(browser)["counter"] == f"step 0 / {n}"
    press(browser, "\ue014", 3)
    line = page_state(browser)["line"]
    third = explorer.steps[2]
    assert f"{explorer._names[explorer._index[third.node]]} (op {third.node._op}, grad " in line[0]
    terms = [m.groups() for m in map(PAGE_TERM.search, line) if m]
    assert terms[0] == tuple(
        format_number(x)
        for x in (third.terms[0].local, third.grad, third.terms[0].contribution, third.terms[0].after)
    )
    press(browser, "\ue010")  # End
    assert page_state(browser)["step"] == str(n)
    assert severe_logs(browser) == []
