// The backprop explorer's script (microgradnn.viz.explore): vanilla JavaScript, no network.
// It only changes the text and classes of the SVG that draw_dot made; every number it shows
// was computed in Python and arrives as JSON, and text is always set with textContent.
function mgnExplorer(id) {
  "use strict";
  var root = document.getElementById(id);
  if (!root || root.getAttribute("data-ready")) return;
  root.setAttribute("data-ready", "1");
  var data = JSON.parse(root.querySelector(".mgn-data").textContent);
  var config = JSON.parse(root.querySelector(".mgn-config").textContent);
  root.querySelector(".mgn-nojs").style.display = "none";

  var svg = root.querySelector("svg");
  var slider = root.querySelector(".mgn-slider");
  var counter = root.querySelector(".mgn-counter");
  var line = root.querySelector(".mgn-line");
  var panel = root.querySelector(".mgn-panel");
  var forwardBox = root.querySelector('[data-act="forward"]');

  // Graphviz gives every node and edge the id "mgn-<name>" (edges "mgn-<tail>-<head>"; an input
  // used twice gives two edges with one id), so collect them in lists.
  var byId = {};
  if (svg) {
    svg.querySelectorAll("g.node, g.edge").forEach(function (g) {
      var name = g.id.replace(/^mgn-/, "");
      (byId[name] = byId[name] || []).push(g);
    });
  }
  function elements(name) { return name ? byId[name] || [] : []; }

  // Each drawn record's fields are texts: ... | data ... | grad ...: the last two are data and grad.
  var records = {};
  Object.keys(data.nodes).forEach(function (name) {
    var g = elements(name)[0];
    if (!g) return;
    var texts = g.querySelectorAll("text");
    records[name] = {
      g: g,
      shape: g.querySelector("polygon, path, ellipse"),
      data: texts[texts.length - 2],
      grad: texts[texts.length - 1],
      info: data.nodes[name]
    };
  });

  var k = 0;
  function forwardMode() { return forwardBox.checked; }
  function total() {
    // In forward mode: the forward steps, then seeding the output's grad, then backward.
    return (forwardMode() ? data.forward.length + 1 : 0) + data.backward.length;
  }

  // The state after k steps: which forward steps ran, whether the grad is seeded, and how many
  // backward steps have been applied.
  function state(k) {
    var nf = data.forward.length;
    if (!forwardMode()) return { computed: nf, seeded: true, back: k };
    if (k <= nf) return { computed: k, seeded: false, back: 0 };
    return { computed: nf, seeded: true, back: k - nf - 1 };
  }

  function gradsAt(s) {
    var grads = {};
    Object.keys(records).forEach(function (name) {
      grads[name] = s.seeded && records[name].info.root ? data.one : data.zero;
    });
    for (var i = 0; i < s.back; i++) {
      data.backward[i].updates.forEach(function (u) { grads[u[0]] = u[1]; });
    }
    return grads;
  }

  function fillState(info, s) {
    if (!s.seeded) return "pending";
    if (info.root || (info.last > 0 && s.back >= info.last)) return "final";
    if (info.first > 0 && s.back >= info.first) return "partial";
    return "pending";
  }

  function clearMarks() {
    ["mgn-current", "mgn-updated", "mgn-edge-current"].forEach(function (c) {
      root.querySelectorAll("." + c).forEach(function (e) { e.classList.remove(c); });
    });
  }

  function mark(step) {
    elements(step.el).concat(elements(step.op)).forEach(function (e) { e.classList.add("mgn-current"); });
    step.inputs.forEach(function (input) {
      elements(input).forEach(function (e) { e.classList.add("mgn-updated"); });
      if (step.op) elements(input + "-" + step.op).forEach(function (e) { e.classList.add("mgn-edge-current"); });
    });
    if (step.op && step.node) {
      elements(step.op + "-" + step.node).forEach(function (e) { e.classList.add("mgn-edge-current"); });
    }
  }

  function showLines(lines) {
    line.textContent = "";
    lines.forEach(function (text, i) {
      var div = document.createElement("div");
      div.textContent = text;
      if (i > 0) div.className = "mgn-term";
      line.appendChild(div);
    });
  }

  var computedSet = {};
  var grads = {};
  function render() {
    var n = total();
    k = Math.max(0, Math.min(k, n));
    slider.max = String(n);
    slider.value = String(k);
    counter.textContent = "step " + k + " / " + n;
    root.setAttribute("data-step", String(k));
    var s = state(k);
    computedSet = {};
    for (var i = 0; i < s.computed; i++) {
      if (data.forward[i].node) computedSet[data.forward[i].node] = true;
    }
    grads = gradsAt(s);
    Object.keys(records).forEach(function (name) {
      var r = records[name];
      var known = r.info.leaf || computedSet[name];
      if (r.data) r.data.textContent = "data " + (known ? r.info.data : "?");
      if (r.grad) r.grad.textContent = "grad " + grads[name];
      var fill = fillState(r.info, s);
      if (r.shape) r.shape.setAttribute("fill", data.fills[fill]);
      r.g.classList.toggle("mgn-faded", s.seeded ? fill === "pending" : !known);
    });
    clearMarks();
    var lines;
    var current = "";
    if (k === 0) {
      lines = forwardMode()
        ? ["Start: only the leaves' data is known. Press → (or step ▶) to compute the forward pass."]
        : ["Start: the output's grad is set to 1 (∂" + data.output + "/∂" + data.output +
           " = 1). Press → (or step ▶) to apply the first chain-rule step."];
    } else if (!s.seeded) {
      var f = data.forward[s.computed - 1];
      mark(f);
      current = f.el;
      lines = ["forward: " + f.lines[0]];
    } else if (s.back === 0) {
      elements(data.backward.length ? data.backward[0].el : "").forEach(function (e) { e.classList.add("mgn-current"); });
      lines = ["Forward pass done. Backward starts: " + data.output + ".grad = 1 (∂" + data.output +
               "/∂" + data.output + " = 1)."];
    } else {
      var b = data.backward[s.back - 1];
      mark(b);
      current = b.el;
      lines = b.lines.slice();
    }
    if (k === n && n > 0) lines.push("All steps applied: every grad is now ∂output/∂node.");
    showLines(lines);
    root.setAttribute("data-current", current);
  }

  function go(to) { k = to; render(); }

  // ---------------------------------------------------------------- the panel
  function showPanel(name) {
    var lines = data.panels[name];
    panel.textContent = "";
    if (!lines) {
      var g = elements(name)[0];
      var title = g ? Array.prototype.map.call(g.querySelectorAll("text"), function (t) { return t.textContent; }) : [];
      lines = title.length ? title.concat(["(a box standing for many nodes: draw_dot's summary of a big graph)"]) : [];
    } else if (records[name]) {
      lines = lines.concat(["now, at step " + k + ": data " +
        (records[name].info.leaf || computedSet[name] ? records[name].info.data : "?") + ", grad " + grads[name]]);
    }
    lines.forEach(function (text, i) {
      var div = document.createElement("div");
      div.textContent = text;
      if (i === 0) div.className = "mgn-panel-title";
      panel.appendChild(div);
    });
    root.setAttribute("data-panel", name);
  }
  if (svg) {
    svg.querySelectorAll("g.node").forEach(function (g) {
      var name = g.id.replace(/^mgn-/, "").replace(/op$/, "");
      g.addEventListener("mouseenter", function () { showPanel(name); });
      g.addEventListener("click", function () { showPanel(name); });
    });
  }

  // ---------------------------------------------------------------- controls
  root.querySelector(".mgn-bar").addEventListener("click", function (e) {
    var act = e.target.getAttribute && e.target.getAttribute("data-act");
    if (act === "next") go(k + 1);
    else if (act === "prev") go(k - 1);
    else if (act === "reset") go(0);
    else if (act === "zoomin") zoomBy(1.5);
    else if (act === "zoomout") zoomBy(1 / 1.5);
    else if (act === "fit") fit();
  });
  forwardBox.addEventListener("change", function () { go(0); });
  slider.addEventListener("input", function () { go(parseInt(slider.value, 10)); });

  function onKey(e) {
    if (e.target === slider || e.altKey || e.ctrlKey || e.metaKey) return;
    var keys = { ArrowRight: k + 1, ArrowLeft: k - 1, Home: 0, End: total() };
    if (!(e.key in keys)) return;
    e.preventDefault();
    e.stopPropagation(); // in Jupyter, arrows must not move between cells
    go(keys[e.key]);
  }
  // A saved page has one explorer: keys work anywhere. In a notebook, only while it has focus.
  (config.standalone ? document : root).addEventListener("keydown", onKey);
  root.addEventListener("mousedown", function () { if (!config.standalone) root.focus({ preventScroll: true }); });

  // ---------------------------------------------------------------- pan and zoom (the viewBox)
  var box0 = svg ? svg.viewBox.baseVal : null;
  var view = box0 ? { x: box0.x, y: box0.y, w: box0.width, h: box0.height } : null;
  var full = view ? { x: view.x, y: view.y, w: view.w, h: view.h } : null;
  function setView() { if (svg) svg.setAttribute("viewBox", [view.x, view.y, view.w, view.h].join(" ")); }
  function zoomBy(factor, cx, cy) {
    if (!view) return;
    cx = cx === undefined ? view.x + view.w / 2 : cx;
    cy = cy === undefined ? view.y + view.h / 2 : cy;
    var w = Math.min(full.w * 4, Math.max(full.w / 50, view.w / factor));
    var h = w * full.h / full.w;
    view = { x: cx - (cx - view.x) * w / view.w, y: cy - (cy - view.y) * h / view.h, w: w, h: h };
    setView();
  }
  function fit() { if (view) { view = { x: full.x, y: full.y, w: full.w, h: full.h }; setView(); } }
  if (svg) {
    svg.addEventListener("wheel", function (e) {
      if (!config.standalone && !e.ctrlKey && !e.metaKey) return; // let the notebook scroll
      e.preventDefault();
      var r = svg.getBoundingClientRect();
      zoomBy(e.deltaY < 0 ? 1.2 : 1 / 1.2,
             view.x + (e.clientX - r.left) / r.width * view.w, view.y + (e.clientY - r.top) / r.height * view.h);
    }, { passive: false });
    var drag = null;
    svg.addEventListener("pointerdown", function (e) {
      drag = { x: e.clientX, y: e.clientY, vx: view.x, vy: view.y };
    });
    window.addEventListener("pointermove", function (e) {
      if (!drag) return;
      var r = svg.getBoundingClientRect();
      view.x = drag.vx - (e.clientX - drag.x) / r.width * view.w;
      view.y = drag.vy - (e.clientY - drag.y) / r.height * view.h;
      setView();
    });
    window.addEventListener("pointerup", function () { drag = null; });
  }

  // ---------------------------------------------------------------- light or dark
  function dark() {
    var b = document.body;
    var jp = b.getAttribute("data-jp-theme-light");
    if (jp !== null) return jp === "false";
    if (b.classList.contains("vscode-dark") || b.classList.contains("vscode-high-contrast")) return true;
    if (b.classList.contains("notebook_app")) return false; // the classic notebook is light
    return !!(window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches);
  }
  root.classList.toggle("mgn-dark", dark());

  render();
}
