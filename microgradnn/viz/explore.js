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

  var viewBox = root.querySelector(".mgn-view");
  var slider = root.querySelector(".mgn-slider");
  var counter = root.querySelector(".mgn-counter");
  var line = root.querySelector(".mgn-line");
  var panel = root.querySelector(".mgn-panel");
  var forwardBox = root.querySelector('[data-act="forward"]');
  var collapseButton = root.querySelector('[data-act="collapse"]');
  var summarySvg = viewBox.querySelector("svg");

  // ---------------------------------------------------------------- the picture's parts
  var svg = null; // the picture shown: the summary, or the one with a box expanded
  var expanded = null; // the box drawn node by node, if any
  var byId = {}; // "n3" -> the SVG groups with id "mgn-n3" (an input used twice: two edges)
  var records = {}; // node index -> its record's parts

  // What shows node i: its own record "n<i>", or the box "g<k>" of a big graph's summary.
  function el(i) {
    var g = data.groupOf[i];
    return g === null || g === expanded ? "n" + i : "g" + g;
  }
  function drawn(i) { return el(i) === "n" + i; }
  function elements(name) { return (name && byId[name]) || []; }

  function attach(picture) {
    svg = picture;
    byId = {};
    records = {};
    if (!svg) return;
    svg.querySelectorAll("g.node, g.edge").forEach(function (g) {
      var name = g.id.replace(/^mgn-/, "");
      (byId[name] = byId[name] || []).push(g);
    });
    // A record's fields are texts: label | data ... | grad ...: the last two are data and grad.
    Object.keys(data.nodes).forEach(function (i) {
      var g = drawn(+i) && elements("n" + i)[0];
      if (!g) return;
      var texts = g.querySelectorAll("text");
      records[i] = {
        g: g,
        shape: g.querySelector("polygon, path, ellipse"),
        data: texts[texts.length - 2],
        grad: texts[texts.length - 1],
        info: data.nodes[i]
      };
    });
    // The whole picture, as Graphviz framed it (kept: zooming changes the viewBox).
    if (!svg.getAttribute("data-full")) svg.setAttribute("data-full", svg.getAttribute("viewBox"));
    var b = svg.getAttribute("data-full").split(/[\s,]+/).map(Number);
    full = { x: b[0], y: b[1], w: b[2], h: b[3] };
    view = { x: b[0], y: b[1], w: b[2], h: b[3] };
    setView();
    if (svg.getAttribute("data-listening")) return; // the summary, shown again
    svg.setAttribute("data-listening", "1");
    svg.querySelectorAll("g.node").forEach(function (g) {
      var name = g.id.replace(/^mgn-/, "").replace(/op$/, "");
      g.addEventListener("mouseenter", function () { showPanel(name); });
      g.addEventListener("click", function () {
        showPanel(name);
        if (name.charAt(0) === "g") expand(+name.slice(1));
      });
    });
    svg.addEventListener("wheel", onWheel, { passive: false });
    svg.addEventListener("pointerdown", function (e) {
      drag = { x: e.clientX, y: e.clientY, vx: view.x, vy: view.y };
    });
  }

  function expand(group) {
    var template = root.querySelector('template.mgn-expansion[data-group="' + group + '"]');
    if (!template) return;
    expanded = group;
    show(document.importNode(template.content.querySelector("svg"), true));
  }
  function collapse() {
    expanded = null;
    show(summarySvg);
  }
  function show(picture) {
    viewBox.textContent = "";
    viewBox.appendChild(picture);
    collapseButton.hidden = expanded === null;
    attach(picture);
    render();
  }

  // ---------------------------------------------------------------- the steps, in words
  // The forward pass computes the operations in index order (the nodes come inputs first).
  var forward = [];
  data.ops.forEach(function (op, i) { if (op) forward.push(i); });

  function forwardLine(i) {
    var op = data.ops[i];
    var ins = data.inputs[i];
    var names = ins.map(function (c) { return data.names[c]; });
    var values = ins.map(function (c) { return data.values[c]; });
    var formula, numbers;
    if (["+", "-", "*", "/"].indexOf(op) >= 0 && ins.length === 2) {
      formula = names.join(" " + op + " ");
      numbers = values.join(" " + op + " ");
    } else if (op.slice(0, 2) === "**" && ins.length === 1) {
      formula = names[0] + op;
      numbers = "(" + values[0] + ")" + op;
    } else if (op === "neg" && ins.length === 1) {
      formula = "-" + names[0];
      numbers = "-(" + values[0] + ")";
    } else { // a function, or an operation of many inputs (a neuron's dot): the first few
      var more = ins.length > 4 ? ", …" : "";
      formula = op + "(" + names.slice(0, 4).join(", ") + more + ")";
      numbers = op + "(" + values.slice(0, 4).join(", ") + more + ")";
    }
    return "forward: " + data.names[i] + " = " + formula + " = " + numbers + " = " + data.values[i];
  }

  // A backward step is [node, its grad, how many inputs, [[input, local, local·grad, input's
  // grad after], ...]] (the first four inputs and those drawn).
  function backwardLines(step) {
    var name = data.names[step[0]];
    var g = step[1];
    var lines = [name + " (op " + data.ops[step[0]] + ", grad " + g +
                 ") passes its grad to its inputs: input.grad += local derivative · grad"];
    step[3].slice(0, 4).forEach(function (t) {
      var input = data.names[t[0]];
      lines.push(input + ".grad += ∂" + name + "/∂" + input + " · " + name + ".grad = " +
                 t[1] + " · " + g + " = " + t[2] + "  (now " + t[3] + ")");
    });
    if (step[2] > 4) lines.push("… and " + (step[2] - 4) + " more inputs");
    return lines;
  }

  // ---------------------------------------------------------------- the state after k steps
  var k = 0;
  function forwardMode() { return forwardBox.checked; }
  function total() {
    // In forward mode: the forward steps, then seeding the output's grad, then backward.
    return (forwardMode() ? forward.length + 1 : 0) + data.backward.length;
  }

  // Which forward steps ran, whether the output's grad is seeded, how many backward steps ran.
  function state(k) {
    var nf = forward.length;
    if (!forwardMode()) return { computed: nf, seeded: true, back: k };
    if (k <= nf) return { computed: k, seeded: false, back: 0 };
    return { computed: nf, seeded: true, back: k - nf - 1 };
  }

  function gradsAt(s) {
    var grads = {};
    Object.keys(data.nodes).forEach(function (i) {
      grads[i] = s.seeded && data.nodes[i].root ? data.one : data.zero;
    });
    for (var j = 0; j < s.back; j++) {
      data.backward[j][3].forEach(function (t) { if (t[0] in grads) grads[t[0]] = t[3]; });
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

  function addClass(name, c) { elements(name).forEach(function (e) { e.classList.add(c); }); }

  // Highlight node i (record and operation), its inputs, and the edges between them.
  function mark(i) {
    var op = drawn(i) ? "n" + i + "op" : null;
    addClass(el(i), "mgn-current");
    addClass(op, "mgn-current");
    data.inputs[i].forEach(function (c) {
      addClass(el(c), "mgn-updated");
      if (op) addClass(el(c) + "-" + op, "mgn-edge-current");
    });
    if (op) addClass(op + "-n" + i, "mgn-edge-current");
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

  var computed = {};
  var grads = {};
  var panelName = "";
  function render() {
    var n = total();
    k = Math.max(0, Math.min(k, n));
    slider.max = String(n);
    slider.value = String(k);
    counter.textContent = "step " + k + " / " + n;
    root.setAttribute("data-step", String(k));
    var s = state(k);
    computed = {};
    for (var j = 0; j < s.computed; j++) computed[forward[j]] = true;
    grads = gradsAt(s);
    Object.keys(records).forEach(function (i) {
      var r = records[i];
      var known = r.info.leaf || computed[i];
      if (r.data) r.data.textContent = "data " + (known ? data.values[i] : "?");
      if (r.grad) r.grad.textContent = "grad " + grads[i];
      var fill = fillState(r.info, s);
      if (r.shape && data.fills) r.shape.setAttribute("fill", data.fills[fill]);
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
      var f = forward[s.computed - 1];
      mark(f);
      current = el(f);
      lines = [forwardLine(f)];
    } else if (s.back === 0) {
      lines = ["Forward pass done. Backward starts: " + data.output + ".grad = 1 (∂" + data.output +
               "/∂" + data.output + " = 1)."];
    } else {
      var b = data.backward[s.back - 1];
      mark(b[0]);
      current = el(b[0]);
      lines = backwardLines(b);
    }
    if (k === n && n > 0) lines.push("All steps applied: every grad is now ∂output/∂node.");
    showLines(lines);
    root.setAttribute("data-current", current);
    if (panelName) showPanel(panelName); // its "now, at step k" line follows the steps
  }

  function go(to) { k = to; render(); }

  // ---------------------------------------------------------------- the panel
  function showPanel(name) {
    var i = name.charAt(0) === "n" ? name.slice(1) : null;
    var lines = i !== null && records[i] ? data.panels[i] : null;
    if (lines) {
      lines = lines.concat(["now, at step " + k + ": data " +
        (data.nodes[i].leaf || computed[i] ? data.values[i] : "?") + ", grad " + grads[i]]);
    } else {
      var g = elements(name)[0];
      if (!g) return;
      lines = Array.prototype.map.call(g.querySelectorAll("text"), function (t) { return t.textContent; });
      if (name.charAt(0) === "g") {
        lines.push(data.expandable.indexOf(+name.slice(1)) >= 0
          ? "(a box of the summary: click it to draw its nodes one by one)"
          : "(a box of the summary, too big to draw here: use draw_dot(..., max_nodes=...) to see more)");
      }
    }
    panel.textContent = "";
    lines.forEach(function (text, j) {
      var div = document.createElement("div");
      div.textContent = text;
      if (j === 0) div.className = "mgn-panel-title";
      panel.appendChild(div);
    });
    root.setAttribute("data-panel", name);
    panelName = name;
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
    else if (act === "collapse") collapse();
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
  var full = null;
  var view = null;
  var drag = null;
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
  function onWheel(e) {
    if (!config.standalone && !e.ctrlKey && !e.metaKey) return; // let the notebook scroll
    e.preventDefault();
    var r = svg.getBoundingClientRect();
    zoomBy(e.deltaY < 0 ? 1.2 : 1 / 1.2,
           view.x + (e.clientX - r.left) / r.width * view.w, view.y + (e.clientY - r.top) / r.height * view.h);
  }
  window.addEventListener("pointermove", function (e) {
    if (!drag || !svg) return;
    var r = svg.getBoundingClientRect();
    view.x = drag.vx - (e.clientX - drag.x) / r.width * view.w;
    view.y = drag.vy - (e.clientY - drag.y) / r.height * view.h;
    setView();
  });
  window.addEventListener("pointerup", function () { drag = null; });

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

  attach(summarySvg);
  render();
}
