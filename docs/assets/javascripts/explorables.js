// Explorables: interactive figures whose data gdbook computed at build (gdbook/explore.py).
//
// Each <div class="gd-explorable"> holds a static figure (shown without JavaScript), the
// controls (hidden until this script runs) and its data as JSON in a <template> (a JSON
// <script> would not do: Material's instant navigation re-runs inline scripts as JavaScript).
// This script runs no optimizer: it looks up the run for the current slider positions and
// draws it as SVG. It (re)initializes after every page swap of Material's instant navigation.
(function () {
  "use strict";

  var NS = "http://www.w3.org/2000/svg";
  var W = 400; // SVG user units; the SVGs scale to the column width

  function el(tag, attrs, parent) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, k) {
      return k in values ? values[k] : m;
    });
  }

  // A number as the page shows it: 4 significant digits, a true minus sign.
  function num(v) {
    if (v === null || v === undefined) return "–";
    var a = Math.abs(v);
    var s = a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2).replace("e+", "e") : String(+v.toPrecision(4));
    return s.replace(/-/g, "−");
  }

  function r2(v) {
    return Math.round(v * 100) / 100;
  }

  // ---------------------------------------------------------------- plots

  // A plot of the window [[x0, x1], [y0, y1]], equal scales, axes and ticks.
  function planePlot(host, plot, uid, label) {
    var wx = plot.window[0], wy = plot.window[1];
    var m = { l: 46, r: 10, t: 8, b: 36 };
    var pw = W - m.l - m.r;
    var ph = pw * (wy[1] - wy[0]) / (wx[1] - wx[0]);
    var svg = el("svg", { viewBox: "0 0 " + W + " " + r2(ph + m.t + m.b), class: "gd-x-svg gd-x-plane", role: "img", "aria-label": label }, host);
    var sx = function (x) { return r2(m.l + (x - wx[0]) / (wx[1] - wx[0]) * pw); };
    var sy = function (y) { return r2(m.t + (wy[1] - y) / (wy[1] - wy[0]) * ph); };
    var clip = uid + "-clip";
    el("rect", { x: m.l, y: m.t, width: r2(pw), height: r2(ph) }, el("clipPath", { id: clip }, el("defs", {}, svg)));
    axes(svg, m, pw, ph, plot.xticks.map(function (v) { return [sx(v), num(v)]; }),
      plot.yticks.map(function (v) { return [sy(v), num(v)]; }), "x", "y");
    var contours = el("path", { class: "gd-x-contour", "clip-path": "url(#" + clip + ")" }, svg);
    var layer = el("g", { "clip-path": "url(#" + clip + ")" }, svg);
    var marks = el("g", { class: "gd-x-fixed" }, svg);
    plot.minimizers.forEach(function (p) { star(marks, sx(p[0]), sy(p[1])); });
    plot.critical.forEach(function (p) { cross(marks, sx(p[0]), sy(p[1])); });
    return { svg: svg, sx: sx, sy: sy, contours: contours, layer: layer, m: m, pw: pw, ph: ph };
  }

  function axes(svg, m, pw, ph, xt, yt, xlabel, ylabel) {
    var g = el("g", { class: "gd-x-axes" }, svg);
    el("rect", { x: m.l, y: m.t, width: r2(pw), height: r2(ph), class: "gd-x-frame" }, g);
    xt.forEach(function (t) {
      el("line", { x1: t[0], x2: t[0], y1: r2(m.t + ph), y2: r2(m.t + ph + 4) }, g);
      var s = el("text", { x: t[0], y: r2(m.t + ph + 17), "text-anchor": "middle" }, g);
      setLabel(s, t[1]);
    });
    yt.forEach(function (t) {
      el("line", { x1: m.l - 4, x2: m.l, y1: t[0], y2: t[0] }, g);
      var s = el("text", { x: m.l - 6, y: r2(t[0] + 4), "text-anchor": "end" }, g);
      setLabel(s, t[1]);
    });
    el("text", { x: r2(m.l + pw / 2), y: r2(m.t + ph + 33), "text-anchor": "middle", class: "gd-x-label" }, g).textContent = xlabel;
    var yl = el("text", { x: 11, y: r2(m.t + ph / 2), "text-anchor": "middle", class: "gd-x-label",
      transform: "rotate(-90 11 " + r2(m.t + ph / 2) + ")" }, g);
    yl.textContent = ylabel;
  }

  // "10^k" as 10 with a raised k; anything else as plain text.
  function setLabel(textEl, label) {
    if (typeof label === "object") {
      textEl.textContent = "10";
      el("tspan", { dy: -5, "font-size": "0.75em" }, textEl).textContent = num(label.exp);
    } else {
      textEl.textContent = label;
    }
  }

  function star(g, x, y) {
    var pts = [];
    for (var i = 0; i < 10; i++) {
      var a = Math.PI / 2 + i * Math.PI / 5, r = i % 2 ? 2.6 : 6.5;
      pts.push(r2(x + r * Math.cos(a)) + "," + r2(y - r * Math.sin(a)));
    }
    el("polygon", { points: pts.join(" "), class: "gd-x-star" }, g);
  }

  function cross(g, x, y) {
    el("path", { d: "M" + (x - 5) + " " + (y - 5) + "L" + (x + 5) + " " + (y + 5) + "M" + (x - 5) + " " + (y + 5) +
      "L" + (x + 5) + " " + (y - 5), class: "gd-x-cross" }, g);
  }

  function drawContours(p, lines) {
    var d = [];
    lines.forEach(function (xy) {
      for (var i = 0; i < xy.length; i += 2) d.push((i ? "L" : "M") + p.sx(xy[i]) + " " + p.sy(xy[i + 1]));
    });
    p.contours.setAttribute("d", d.join(""));
  }

  function points(p, xy, n) {
    var out = [];
    for (var i = 0; i < 2 * n; i += 2) out.push(p.sx(xy[i]) + "," + p.sy(xy[i + 1]));
    return out;
  }

  // One path: a line through the points, a dot per step (if dots), the start hollow.
  function drawPath(p, g, xy, color, opts) {
    opts = opts || {};
    var n = opts.n === undefined ? xy.length / 2 : opts.n;
    var pts = points(p, xy, n);
    if (opts.extra) pts.push(p.sx(opts.extra[0]) + "," + p.sy(opts.extra[1]));
    var line = el("polyline", { points: pts.join(" "), stroke: color, class: "gd-x-path" + (opts.cls ? " " + opts.cls : "") }, g);
    if (opts.dots) {
      var dots = el("g", { fill: color, class: "gd-x-dots" }, g);
      pts.slice(1).forEach(function (s) {
        var c = s.split(",");
        el("circle", { cx: c[0], cy: c[1], r: 2.2 }, dots);
      });
    }
    el("circle", { cx: p.sx(xy[0]), cy: p.sy(xy[1]), r: 4.5, stroke: color, class: "gd-x-start" }, g);
    return line;
  }

  // Loss against step on a log axis; the range [lo, hi] is in decades.
  function lossPlot(host, loss, text) {
    var m = { l: 52, r: 10, t: 8, b: 36 };
    var pw = W - m.l - m.r, ph = pw * 0.8;
    var svg = el("svg", { viewBox: "0 0 " + W + " " + r2(ph + m.t + m.b), class: "gd-x-svg gd-x-loss-plot", role: "img", "aria-label": text.loss_label }, host);
    var lo = loss.range[0], hi = loss.range[1];
    var sx = function (t) { return r2(m.l + t / loss.steps * pw); };
    var sy = function (v) {
      var l = v > 0 ? Math.log10(v) : lo - 1;
      return r2(m.t + (hi - Math.max(l, lo - 1)) / (hi - lo) * ph);
    };
    var every = Math.ceil((hi - lo) / 6);
    var yt = [];
    for (var k = Math.ceil(lo / every) * every; k <= hi; k += every) yt.push([sy(Math.pow(10, k)), { exp: k }]);
    var xt = [];
    var dx = loss.steps > 50 ? 20 : 10;
    for (var t = 0; t <= loss.steps; t += dx) xt.push([sx(t), String(t)]);
    axes(svg, m, pw, ph, xt, yt, text.step, text.loss_gap);
    var clip = host.id + "-lclip";
    el("rect", { x: m.l, y: m.t, width: r2(pw), height: r2(ph) }, el("clipPath", { id: clip }, el("defs", {}, svg)));
    var layer = el("g", { "clip-path": "url(#" + clip + ")" }, svg);
    return { svg: svg, sx: sx, sy: sy, layer: layer };
  }

  function drawLoss(lp, losses, color, cls) {
    var pts = losses.map(function (v, t) { return lp.sx(t) + "," + lp.sy(v); });
    return el("polyline", { points: pts.join(" "), stroke: color, class: "gd-x-loss" + (cls ? " " + cls : "") }, lp.layer);
  }

  // ---------------------------------------------------------------- controls

  // Slider i shows values[i] and calls back with the index; marks go under its track.
  function slider(root, name, values, onChange) {
    var box = root.querySelector('.gd-x-slider[data-name="' + name + '"]');
    var input = box.querySelector("input"), out = box.querySelector("output");
    function show() {
      var v = values[+input.value];
      out.textContent = num(v);
      input.setAttribute("aria-valuetext", num(v));
    }
    input.addEventListener("input", function () { show(); onChange(); });
    show();
    return {
      input: input,
      index: function () { return +input.value; },
      marks: box.querySelector(".gd-x-marks"),
      box: box,
      max: values.length - 1,
    };
  }

  // Left offset of a fractional slider index: the thumb's centre runs from 8px to 100% − 8px.
  function at(pos, max) {
    var f = max > 0 ? Math.min(Math.max(pos / max, 0), 1) : 0;
    return "calc(8px + (100% - 16px) * " + f.toFixed(4) + ")";
  }

  // Labels that would overlap go on separate rows, ROW em apart (a Chinese label's line is about
  // 1.45em high); the ticks stay at the track. Every label is placed first and measured after,
  // then moved to its row: one layout, not one per label.
  var ROW = 1.25;
  function setMarks(s, marks) {
    s.marks.textContent = "";
    var labels = [];
    marks.forEach(function (mk) {
      if (mk.band) {
        var b = document.createElement("span");
        b.className = "gd-x-band";
        b.style.left = at(mk.band[0], s.max);
        b.style.width = "calc(" + at(mk.band[1], s.max) + " - " + at(mk.band[0], s.max) + ")";
        s.marks.appendChild(b);
        return;
      }
      var t = document.createElement("span");
      var f = s.max > 0 ? Math.min(Math.max(mk.pos / s.max, 0), 1) : 0;
      var side = f > 0.85 ? "end" : f < 0.15 ? "begin" : "";
      t.className = "gd-x-mark gd-x-mark-" + mk.kind + (side ? " gd-x-" + side : "");
      t.style.left = at(mk.pos, s.max);
      if (mk.color) t.style.setProperty("--gd-x-mark", mk.color);
      t.textContent = mk.label;
      t.title = mk.label;
      s.marks.appendChild(t);
      labels.push({ el: t, f: f, side: side });
    });
    var width = s.marks.getBoundingClientRect().width, placed = [], rows = 0;
    labels.forEach(function (l) { l.w = l.el.getBoundingClientRect().width; });
    labels.forEach(function (l) {
      var c = 8 + l.f * (width - 16);
      var span = l.side === "end" ? [c - l.w, c] : l.side === "begin" ? [c, c + l.w] : [c - l.w / 2, c + l.w / 2];
      var row = 0;
      while (placed.some(function (q) { return q.row === row && span[0] < q.span[1] + 4 && q.span[0] < span[1] + 4; })) row++;
      placed.push({ row: row, span: span });
      rows = Math.max(rows, row + 1);
      l.el.style.paddingTop = (0.45 + ROW * row) + "em";
    });
    s.box.style.paddingBottom = (0.35 + ROW * Math.max(rows, 1)) + "em";
  }

  // ---------------------------------------------------------------- explorables

  function sliderExplorable(root, d, text, uid) {
    var plots = root.querySelector(".gd-x-plots"), status = root.querySelector(".gd-x-status");
    var left = document.createElement("div"), right = document.createElement("div");
    left.className = right.className = "gd-x-panel";
    right.id = uid + "-loss";
    plots.appendChild(left);
    plots.appendChild(right);
    var p = planePlot(left, d.plot, uid, text.plane_label);
    var lp = lossPlot(right, d.loss, text);
    var names = d.sliders.map(function (s) { return s.name; });
    var sliders = {};
    d.sliders.forEach(function (s) { sliders[s.name] = slider(root, s.name, s.values, update); });
    var verdict = el("text", { x: p.m.l + 8, y: p.m.t + 18, class: "gd-x-verdict" }, p.svg);
    var lastContours = -1;

    function update() {
      var i = sliders[names[0]].index(), j = sliders[names[1]].index();
      var run = d.runs[i][j];
      var ci = d.contours_by === names[0] ? i : d.contours_by === names[1] ? j : 0;
      if (ci !== lastContours) { drawContours(p, d.contours[ci]); lastContours = ci; }
      p.layer.textContent = "";
      lp.layer.textContent = "";
      if (d.kind === "momentum") {
        var ref = d.runs[i][0];
        drawPath(p, p.layer, ref.xy, d.method.reference, { cls: "gd-x-reference" });
        drawLoss(lp, ref.loss, d.method.reference, "gd-x-reference");
      }
      var line = drawPath(p, p.layer, run.xy, d.method.color, { dots: true });
      line.setAttribute("data-run", i + "," + j);
      drawLoss(lp, run.loss, d.method.color).setAttribute("data-run", i + "," + j);
      verdict.textContent = text[run.verdict];
      verdict.setAttribute("class", "gd-x-verdict gd-x-" + run.verdict);
      root.setAttribute("data-verdict", run.verdict);
      var v = { rate: num(run.rate), verdict: '<strong class="gd-x-' + run.verdict + '">' + text[run.verdict] + "</strong>" };
      var lines = [];
      if (d.kind === "gradient_descent") {
        var mk = d.marks.lr[i];
        v.fx = num(run.factors[0]);
        v.fy = num(run.factors[1]);
        lines.push(fill(text.gd_status, v));
        lines.push(fill(text.gd_marks, { threshold: num(mk[0].value), optimal: num(mk[1].value) }));
        setMarks(sliders.lr, [
          { band: [mk[0].pos, sliders.lr.max] },
          { kind: "threshold", pos: mk[0].pos, label: text.threshold },
          { kind: "optimal", pos: mk[1].pos, label: text.optimal },
        ]);
      } else {
        v.sqrt_beta = num(run.sqrt_beta);
        v.gd_rate = num(run.gd_rate);
        lines.push(fill(text.momentum_status, v));
        var marks = [], best = null, unstable = null;
        d.marks.beta[i].forEach(function (m) { if (m.kind === "best") best = m; else unstable = m; });
        if (unstable) marks.push({ band: [0, unstable.pos] });
        if (best) {
          marks.push({ kind: "best", pos: best.pos, label: text.best });
          lines.push(fill(text.momentum_best, { best: num(best.value), best_rate: num(best.rate) }));
        } else {
          lines.push(text.momentum_nobest);
        }
        if (unstable) lines.push(fill(text.momentum_unstable, { unstable: num(unstable.value) }));
        setMarks(sliders.beta, marks);
      }
      status.innerHTML = lines.map(function (l) { return "<p>" + l + "</p>"; }).join("");
    }
    update();
  }

  function raceExplorable(root, d, text, uid) {
    var plots = root.querySelector(".gd-x-plots"), status = root.querySelector(".gd-x-status");
    var panel = document.createElement("div");
    panel.className = "gd-x-panel gd-x-wide";
    plots.appendChild(panel);
    var lr = slider(root, "lr", d.sliders[0].values, update);
    var stepBox = root.querySelector('.gd-x-slider[data-name="step"]');
    var step = stepBox.querySelector("input"), stepOut = stepBox.querySelector("output");
    var play = stepBox.querySelector(".gd-x-play");
    var radios = root.querySelectorAll(".gd-x-problem input");
    var boxes = root.querySelectorAll(".gd-x-methods input");
    var p = null, shown = -1, timer = null;

    function problem() {
      for (var i = 0; i < radios.length; i++) if (radios[i].checked) return i;
      return 0;
    }

    // The point a run has reached at step T: its recorded corners up to T, then the
    // straight piece towards the next corner (the build kept every corner the eye can see).
    function upTo(run, T) {
      var n = 0;
      while (n < run.t.length && run.t[n] <= T) n++;
      if (n === run.t.length || n === 0) return { n: Math.max(n, 1), extra: null };
      var a = run.t[n - 1], b = run.t[n], f = (T - a) / (b - a);
      var x = run.xy[2 * n - 2] + f * (run.xy[2 * n] - run.xy[2 * n - 2]);
      var y = run.xy[2 * n - 1] + f * (run.xy[2 * n + 1] - run.xy[2 * n - 1]);
      return { n: n, extra: f > 0 ? [x, y] : null };
    }

    function update() {
      var pi = problem(), prob = d.problems[pi], k = lr.index(), T = +step.value;
      if (pi !== shown) {
        panel.textContent = "";
        p = planePlot(panel, prob.plot, uid + "-" + pi, text.plane_label);
        drawContours(p, prob.contours);
        shown = pi;
      }
      var marks = [];
      if (prob.best) {
        prob.best.forEach(function (b, mi) {
          if (b === null) return;
          var name = d.methods[mi].name;
          marks.push({ kind: "method", pos: b, color: d.methods[mi].color, label: name });
        });
      }
      setMarks(lr, marks);
      stepOut.textContent = fill(text.now, { t: T, steps: d.steps });
      step.setAttribute("aria-valuetext", fill(text.now, { t: T, steps: d.steps }));
      p.layer.textContent = "";
      var items = [];
      for (var mi = 0; mi < boxes.length; mi++) {
        if (!boxes[mi].checked) continue;
        var m = d.methods[mi], run = prob.runs[mi][k], u = upTo(run, T);
        var line = drawPath(p, p.layer, run.xy, m.color, { n: u.n, extra: u.extra });
        line.setAttribute("data-run", pi + "," + mi + "," + k);
        var here = u.extra || [run.xy[2 * u.n - 2], run.xy[2 * u.n - 1]];
        el("circle", { cx: p.sx(here[0]), cy: p.sy(here[1]), r: 4, fill: m.color, class: "gd-x-now" }, p.layer);
        var v = { name: m.name, steps: d.steps, target: num(prob.target), hit: run.hit, out: run.out,
          diverged: run.diverged, final: num(run.final) };
        // what happened first: reaching the target, leaving the plot, or overflowing
        var key = run.hit !== undefined && run.hit !== null ? "hit"
          : run.out !== null && (run.diverged === null || run.out < run.diverged) ? "out"
          : run.diverged !== null ? "diverged" : prob.target !== null ? "miss" : "stay";
        items.push('<li style="--gd-x-mark:' + m.color + '">' + fill(text[key], v) + "</li>");
      }
      status.innerHTML = "<ul>" + items.join("") + "</ul>";
    }

    function stop() {
      if (timer !== null) cancelAnimationFrame(timer);
      timer = null;
      play.textContent = text.play;
      play.setAttribute("aria-pressed", "false");
    }

    play.addEventListener("click", function () {
      if (timer !== null) { stop(); return; }
      if (+step.value >= d.steps) step.value = 0;
      var t0 = null, from = +step.value, duration = 6000 * (d.steps - from) / d.steps;
      play.textContent = text.pause;
      play.setAttribute("aria-pressed", "true");
      function frame(now) {
        if (!root.isConnected) { timer = null; return; }
        if (t0 === null) t0 = now;
        var T = Math.min(d.steps, Math.round(from + (now - t0) / duration * (d.steps - from)));
        step.value = T;
        update();
        if (T >= d.steps) { stop(); return; }
        timer = requestAnimationFrame(frame);
      }
      timer = requestAnimationFrame(frame);
    });
    step.addEventListener("input", function () { stop(); update(); });
    for (var i = 0; i < radios.length; i++) radios[i].addEventListener("change", update);
    for (var j = 0; j < boxes.length; j++) boxes[j].addEventListener("change", update);
    update();
  }

  function init(root) {
    if (root.classList.contains("gd-x-ready")) return;
    var data = root.querySelector("template.gd-x-data");
    if (!data) return;
    var payload = JSON.parse(data.content.textContent);
    var d = payload.data, text = payload.text;
    var live = root.querySelector(".gd-x-live"), fallback = root.querySelector(".gd-x-fallback");
    live.hidden = false; // shown while it is built, so that labels can be measured
    try {
      if (d.kind === "race") raceExplorable(root, d, text, root.id);
      else sliderExplorable(root, d, text, root.id);
    } catch (e) {
      live.hidden = true;
      throw e;
    }
    if (fallback) fallback.hidden = true;
    root.classList.add("gd-x-ready");
  }

  function initAll() {
    document.querySelectorAll(".gd-explorable").forEach(function (root) {
      try {
        init(root);
      } catch (e) {
        // Keep the static figure if anything goes wrong; say why in the console.
        console.error("explorable " + root.id + ":", e);
      }
    });
  }

  if (typeof document$ !== "undefined") {
    document$.subscribe(initAll);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", initAll);
  } else {
    initAll();
  }
})();
