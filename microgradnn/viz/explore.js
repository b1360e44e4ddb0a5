// The backprop explorer's script (microgradnn.viz.explore): vanilla JavaScript, no network.
// It only changes the text and classes of the SVG that draw_dot made; every number it shows
// was computed in Python and arrives as JSON, and text is always set with textContent.
// The page's data arrives compact (explore.py, Explorer._payload): long lists as strings of
// space-separated tokens, numbers without the zeros that can be put back, nodes as distances
// from the node before them, "=" for "the same number as the one before". Here they become
// the plain lists the rest of the script reads.
function mgnDecode(data) {
  "use strict";
  var p = data.precision;
  function tokens(text) { return text === "" ? [] : text.split(" "); }
  // "-.5" -> "-0.5000": the text format_number wrote (scientific, nan and inf are kept).
  function number(t) {
    if (/[a-z]/i.test(t)) return t;
    var negative = t.charAt(0) === "-";
    var body = negative ? t.slice(1) : t;
    if (body.charAt(0) === ".") body = "0" + body;
    var parts = body.split(".");
    var decimals = parts[1] || "";
    while (decimals.length < p) decimals += "0";
    return (negative ? "-" : "") + parts[0] + (p > 0 ? "." + decimals : "");
  }
  var n = 0;
  var values = tokens(data.values).map(number);
  n = values.length;
  var ops = tokens(data.ops).map(function (c) { return c === "0" ? "" : data.opNames[+c - 1]; });
  var groupOf = tokens(data.groupOf).map(function (g) { return g === "-" ? null : +g; });
  var inputs = [];
  var arity = [];
  var t = tokens(data.inputs);
  var at = 0;
  for (var i = 0; i < n; i++) {
    var count = +t[at++];
    var listed = (i in data.nodes || count <= 4) ? count : 4;
    var kids = [];
    for (var j = 0; j < listed; j++) kids.push(i - +t[at++]);
    inputs.push(kids);
    arity.push(count);
  }
  // Names: a label, or a module's operation with " #k" when the module made several of them.
  var moduleOf = tokens(data.moduleOf).map(Number);
  var total = {};
  moduleOf.forEach(function (m, i) { if (m) { var k = m + " " + ops[i]; total[k] = (total[k] || 0) + 1; } });
  var seen = {};
  var names = values.map(function (v, i) {
    if (i in data.names) return data.names[i];
    var m = moduleOf[i];
    if (m) {
      var k = m + " " + ops[i];
      seen[k] = (seen[k] || 0) + 1;
      return data.modules[m - 1] + " " + ops[i] + (total[k] > 1 ? " #" + seen[k] : "");
    }
    return ops[i] ? "[" + ops[i] + " node]" : "[leaf " + v + "]";
  });
  var backward = [];
  t = tokens(data.backward);
  at = 0;
  var node = n;
  while (at < t.length) {
    node -= +t[at++];
    var grad = number(t[at++]);
    var step = [node, grad, +t[at++], []];
    var terms = +t[at++];
    for (var k = 0; k < terms; k++) {
      var child = node - +t[at++];
      var local = number(t[at++]);
      var c = t[at++];
      var contribution = c === "=" ? grad : number(c);
      var a = t[at++];
      step[3].push([child, local, contribution, a === "=" ? contribution : number(a)]);
    }
    backward.push(step);
  }
  var boxGrads = {};
  Object.keys(data.boxGrads).forEach(function (g) {
    var row = tokens(data.boxGrads[g]);
    var list = [];
    for (var r = 0; r < row.length; r += 2) list.push([+row[r], number(row[r + 1])]);
    boxGrads[g] = list;
  });
  data.values = values;
  data.ops = ops;
  data.groupOf = groupOf;
  data.inputs = inputs;
  data.arity = arity;
  data.names = names;
  data.backward = backward;
  data.boxGrads = boxGrads;
  return data;
}

function mgnExplorer(id) {
  "use strict";
  var root = document.getElementById(id);
  if (!root || root.getAttribute("data-ready")) return;
  root.setAttribute("data-ready", "1");
  var source = root.querySelector(".mgn-data");
  if (!source.hasAttribute("data-packed")) {
    mgnRun(root, JSON.parse(source.textContent));
    return;
  }
  // A big graph's data comes gzipped (base64): unpacked by the browser, then the page starts.
  var bytes = Uint8Array.from(atob(JSON.parse(source.textContent)), function (c) { return c.charCodeAt(0); });
  var unpacked = typeof DecompressionStream === "function"
    ? new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"))).text()
    : Promise.reject(new Error("this browser has no DecompressionStream"));
  unpacked.then(function (text) { mgnRun(root, JSON.parse(text)); }, function (error) {
    root.querySelector(".mgn-line").textContent = "The steps cannot be shown: " + error.message +
      " (use a browser from 2023 or later).";
  });
}

function mgnRun(root, packed) {
  "use strict";
  var data = mgnDecode(packed);
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
  var boxTexts = []; // summary boxes' "max |grad|" texts
  var edgeLabels = []; // edges' "∂=..." texts

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
    // A summary box's "max |grad|" follows the steps: the text as Graphviz wrote it, kept.
    boxTexts = [];
    svg.querySelectorAll("g.node").forEach(function (g) {
      var m = /^mgn-g(\d+)$/.exec(g.id);
      if (!m || !data.boxGrads[m[1]]) return;
      g.querySelectorAll("text").forEach(function (t) {
        if (t.textContent.indexOf("max |grad|") >= 0) {
          if (!t.hasAttribute("data-text")) t.setAttribute("data-text", t.textContent);
          boxTexts.push({ text: t, group: m[1] });
        }
      });
    });
    // Edges labelled with a local derivative (local_grads=True): known once the forward pass
    // has computed the operation they enter.
    edgeLabels = [];
    svg.querySelectorAll("g.edge").forEach(function (g) {
      var m = /^mgn-n\d+-n(\d+)op$/.exec(g.id);
      var t = m && g.querySelector("text");
      if (!t) return;
      if (!t.hasAttribute("data-text")) t.setAttribute("data-text", t.textContent);
      edgeLabels.push({ text: t, node: m[1] });
    });
    // The whole picture, as Graphviz framed it (kept: zooming changes the viewBox).
    if (!svg.getAttribute("data-full")) svg.setAttribute("data-full", svg.getAttribute("viewBox"));
    var b = svg.getAttribute("data-full").split(/[\s,]+/).map(Number);
    full = { x: b[0], y: b[1], w: b[2], h: b[3] };
    home = legibleView();
    view = copy(home);
    setView();
    if (svg.getAttribute("data-listening")) return; // the summary, shown again
    svg.setAttribute("data-listening", "1");
    svg.querySelectorAll("g.node").forEach(function (g) {
      var name = g.id.replace(/^mgn-/, "").replace(/op$/, "");
      g.addEventListener("mouseenter", function (e) { placePanel(e); showPanel(name); });
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
    var shown = viewBox.querySelector("svg"); // the panel, floating over it, stays
    if (shown) viewBox.replaceChild(picture, shown);
    else viewBox.insertBefore(picture, panel);
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
      var more = data.arity[i] > 4 ? ", …" : "";
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
    // A long name (a module's node) is written once; the input lines call it "node".
    var short = name.length > 24 ? "node" : name;
    var lines = [(short === name ? "" : "node = ") + name + " (op " + data.ops[step[0]] + ", grad " + g +
                 ") passes its grad to its inputs: input.grad += local derivative · grad"];
    step[3].slice(0, 4).forEach(function (t) {
      var input = data.names[t[0]];
      lines.push(input + ".grad += ∂" + short + "/∂" + input + " · " + short + ".grad = " +
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
    // Only what has been computed at this step: a box's max |grad| after s.back steps, a
    // local derivative once the forward pass has computed the operation it belongs to.
    boxTexts.forEach(function (b) {
      var shown = data.zero;
      data.boxGrads[b.group].forEach(function (c) { if (c[0] <= s.back) shown = c[1]; });
      b.text.textContent = b.text.getAttribute("data-text").replace(/max \|grad\| [^;\s]+/, "max |grad| " + shown);
    });
    edgeLabels.forEach(function (e) {
      var known = !forwardMode() || s.seeded || computed[e.node];
      e.text.textContent = known ? e.text.getAttribute("data-text") : "∂=?";
    });
    follow(current);
    if (panelName) showPanel(panelName); // its "now, at step k" line follows the steps
  }

  function go(to) { k = to; render(); }

  // ---------------------------------------------------------------- the panel
  // It floats over the picture (the layout never moves), on the half away from the pointer.
  function placePanel(e) {
    var r = viewBox.getBoundingClientRect();
    panel.classList.toggle("mgn-left", e.clientX > r.left + r.width / 2);
  }
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
    else if (act === "whole") whole();
    else if (act && act.indexOf("module-") === 0) go(moduleStep(+act.split("-")[2], act.indexOf("next") > 0 ? 1 : -1));
    else if (act === "collapse") collapse();
  });
  forwardBox.addEventListener("change", function () { go(0); });
  slider.addEventListener("input", function () { go(parseInt(slider.value, 10)); });

  // ---------------------------------------------------------------- a module at a time
  // data.levels: for a neuron, a layer, ... where each run of consecutive steps made by one
  // module ends. "neuron ▶" goes to the end of the run the next step belongs to.
  function targets(level) {
    var runs = data.levels[level];
    if (!forwardMode()) return runs.backward;
    var nf = forward.length;
    return runs.forward.concat([nf + 1], runs.backward.map(function (e) { return e + nf + 1; }));
  }
  function moduleStep(level, direction) {
    if (!data.levels.length) return k;
    var list = targets(level);
    if (direction > 0) {
      for (var i = 0; i < list.length; i++) if (list[i] > k) return list[i];
      return total();
    }
    for (var j = list.length - 1; j >= 0; j--) if (list[j] < k) return list[j];
    return 0;
  }
  data.levels.forEach(function (level, i) {
    var span = document.createElement("span");
    span.className = "mgn-module";
    [["◀", -1, i === 0 ? "Shift+←" : "PageUp"], ["▶", 1, i === 0 ? "Shift+→" : "PageDown"]].forEach(function (b) {
      var button = document.createElement("button");
      button.type = "button";
      button.setAttribute("data-act", (b[1] > 0 ? "module-next-" : "module-prev-") + i);
      button.title = (b[1] > 0 ? "to the end of this " : "back to the end of the previous ") + level.name + " (" + b[2] + ")";
      button.textContent = b[1] > 0 ? level.name + " ▶" : "◀ " + level.name;
      span.appendChild(button);
    });
    root.querySelector(".mgn-zoom").before(span);
  });

  function onKey(e) {
    if (e.target === slider || e.altKey || e.ctrlKey || e.metaKey) return;
    var last = data.levels.length - 1;
    var keys = e.shiftKey
      ? { ArrowRight: moduleStep(0, 1), ArrowLeft: moduleStep(0, -1) }
      : { ArrowRight: k + 1, ArrowLeft: k - 1, Home: 0, End: total(),
          PageDown: moduleStep(last, 1), PageUp: moduleStep(last, -1) };
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
  var home = null; // the view the picture opens at, and "fit" returns to
  function copy(v) { return { x: v.x, y: v.y, w: v.w, h: v.h }; }
  function setView() { if (svg) svg.setAttribute("viewBox", [view.x, view.y, view.w, view.h].join(" ")); }

  // The scale the picture opens at: all of it if its text is still readable so (at most
  // 1.5 times Graphviz's size), else the width if that is readable, else the smallest scale
  // at which text is readable (MIN_TEXT px) and the reader pans to see the rest. The drawing
  // area takes the height it is given (the window for a saved page, ~600 px in a notebook),
  // and a picture that needs less gets less.
  var MIN_TEXT = 10; // px: the smallest text the explorer shows when it opens
  var TEXT = 14; // Graphviz's font size, in the picture's units
  function legibleView() {
    // The explorer's height: the window's for a saved page, about 600 px in a notebook.
    var around = root.offsetHeight - viewBox.offsetHeight;
    var room = config.standalone ? window.innerHeight - 24 : Math.min(620, window.innerHeight * 0.92);
    var width = viewBox.clientWidth || 600;
    var height = Math.max(160, Math.floor(room - around));
    var readable = MIN_TEXT / TEXT;
    var all = Math.min(width / full.w, height / full.h);
    var s = all >= readable ? Math.min(all, 1.5) : Math.max(Math.min(width / full.w, 1.5), readable);
    if (full.h * s < height) height = Math.max(120, Math.ceil(full.h * s));
    viewBox.style.height = height + "px";
    // Over a short picture the panel would hide most of it: it goes below, with a fixed
    // height (decided once, so the layout stays still while stepping).
    var short = height < 300;
    root.classList.toggle("mgn-short", short);
    if (short && panel.parentNode === viewBox) viewBox.after(panel);
    if (!short && panel.parentNode !== viewBox) viewBox.appendChild(panel);
    var v = { w: width / s, h: height / s };
    // Centred on what does not fit; a picture wider than the view opens at its output's end
    // (where backward starts: the right for rankdir=LR).
    v.x = full.x + (full.w - v.w) / 2;
    v.y = full.y + (full.h - v.h) / 2;
    var out = outputBox();
    if (out && v.w < full.w) v.x = Math.min(full.x + full.w - v.w, Math.max(full.x, out.x + out.w / 2 - v.w / 2));
    if (out && v.h < full.h) v.y = Math.min(full.y + full.h - v.h, Math.max(full.y, out.y + out.h / 2 - v.h / 2));
    return v;
  }
  // A node's box in the picture's units (the viewBox's), or null.
  function boxOf(name) {
    var g = elements(name)[0];
    if (!g || !g.getBBox) return null;
    var b = g.getBBox();
    var t = svg.querySelector("g.graph");
    var shift = /translate\(([-\d.]+)[ ,]([-\d.]+)\)/.exec(t ? t.getAttribute("transform") || "" : "");
    var dx = shift ? +shift[1] : 0;
    var dy = shift ? +shift[2] : 0;
    return { x: b.x + dx, y: b.y + dy, w: b.width, h: b.height };
  }
  function outputBox() {
    for (var i in data.nodes) if (data.nodes[i].root) return boxOf(el(+i));
    return null;
  }
  // Keep the step being applied in sight: pan (never zoom) when it is outside the view.
  function follow(name) {
    var b = name && boxOf(name);
    if (!b || !view) return;
    var inside = b.x >= view.x && b.y >= view.y && b.x + b.w <= view.x + view.w && b.y + b.h <= view.y + view.h;
    if (inside) return;
    view.x = b.x + b.w / 2 - view.w / 2;
    view.y = b.y + b.h / 2 - view.h / 2;
    setView();
  }
  function zoomBy(factor, cx, cy) {
    if (!view) return;
    cx = cx === undefined ? view.x + view.w / 2 : cx;
    cy = cy === undefined ? view.y + view.h / 2 : cy;
    var w = Math.min(full.w * 4, Math.max(full.w / 50, view.w / factor));
    var h = w * view.h / view.w;
    view = { x: cx - (cx - view.x) * w / view.w, y: cy - (cy - view.y) * h / view.h, w: w, h: h };
    setView();
  }
  function fit() { if (view) { view = copy(home); setView(); } }
  function whole() {
    if (!view) return;
    var r = svg.getBoundingClientRect();
    var s = Math.min(r.width / full.w, r.height / full.h);
    view = { w: r.width / s, h: r.height / s };
    view.x = full.x + (full.w - view.w) / 2;
    view.y = full.y + (full.h - view.h) / 2;
    setView();
  }
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

  // A notebook may insert the output before it has its width (or the window may be
  // resized): until the reader zooms or pans, the opening view follows the width.
  var lastWidth = viewBox.clientWidth;
  if (typeof ResizeObserver === "function") {
    new ResizeObserver(function () {
      var width = viewBox.clientWidth;
      if (!svg || !width || width === lastWidth) return;
      lastWidth = width;
      if (view && home && view.x === home.x && view.y === home.y && view.w === home.w) {
        home = legibleView();
        view = copy(home);
        setView();
        follow(root.getAttribute("data-current"));
      }
    }).observe(viewBox);
  }
}
