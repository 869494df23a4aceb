/* callqa call report: charts (Plotly), click-to-play, playback cursor. Data: #report-data. */
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("report-data").textContent);
  var COLOR = { agent: "#2563eb", customer: "#0f766e", unknown: "#6b7280" };
  var EXTRA = ["#9333ea", "#c2410c", "#4b5563"];
  var FONT = { family: "Inter, Segoe UI, Roboto, Helvetica Neue, Arial, sans-serif", size: 12, color: "#374151" };
  var audio = document.getElementById("audio");
  var speakers = Object.keys(DATA.labels);
  var duration = Math.max(DATA.duration || 0, 1);
  var MOOD = DATA.sentiment || { segments: [], parties: [], negative_at: -0.25 };
  /* one sentiment lane per party with read segments, below the speaker rows */
  var lanes = speakers.filter(function (sp) { return MOOD.segments.some(function (s) { return s.speaker === sp; }); });
  var nRows = speakers.length + lanes.length;

  function clock(t) {
    t = Math.max(0, Math.floor(t));
    var h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = t % 60;
    var ss = (s < 10 ? "0" : "") + s;
    return h ? h + ":" + (m < 10 ? "0" : "") + m + ":" + ss : m + ":" + ss;
  }
  function color(sp) { return COLOR[sp] || EXTRA[Math.max(0, speakers.indexOf(sp)) % EXTRA.length]; }
  function label(sp) { return DATA.labels[sp] || sp; }
  function rowY(sp) { var i = speakers.indexOf(sp); return nRows - 1 - (i < 0 ? 0 : i); }
  function laneY(sp) { return lanes.length - 1 - lanes.indexOf(sp); }
  /* sentiment score -1..1 as a colour: red (negative) through grey (0) to green (positive) */
  function moodColor(score) {
    var t = Math.max(-1, Math.min(1, Number(score) || 0)), a = Math.min(1, Math.abs(t) / 0.8);
    var from = [203, 213, 225], to = t < 0 ? [220, 38, 38] : [22, 163, 74];
    var c = from.map(function (v, i) { return Math.round(v + (to[i] - v) * a); });
    return "rgb(" + c.join(",") + ")";
  }

  function seek(t) {
    if (!audio) { return; }
    audio.currentTime = Math.max(0, Number(t) || 0);
    var p = audio.play();
    if (p && p.catch) { p.catch(function () {}); }
  }
  window.callqaSeek = seek;

  /* m:ss ticks for a visible range [a, b] (s) */
  function ticks(a, b) {
    var steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
    var span = Math.max(b - a, 1), step = steps[steps.length - 1];
    for (var i = 0; i < steps.length; i++) { if (span / steps[i] <= 10) { step = steps[i]; break; } }
    var vals = [], text = [];
    for (var v = Math.ceil(a / step) * step; v <= b + 1e-9; v += step) { vals.push(v); text.push(clock(v)); }
    return { tickvals: vals, ticktext: text };
  }

  function band(p, fill, line) {
    return { type: "rect", xref: "x", yref: "paper", x0: p.start, x1: p.end, y0: 0, y1: 1,
      fillcolor: fill, line: { width: 0 }, layer: "below" };
  }

  var CONFIG = { displaylogo: false, responsive: true, scrollZoom: false,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"] };

  function timelineTraces(tl) {
    var traces = speakers.map(function (sp) {
      var turns = tl.turns.filter(function (t) { return t.speaker === sp; });
      return { type: "bar", orientation: "h", name: label(sp), meta: "turns-" + sp,
        y: turns.map(function () { return rowY(sp); }),
        x: turns.map(function (t) { return Math.max(t.end - t.start, 0.05); }),
        base: turns.map(function (t) { return t.start; }),
        customdata: turns.map(function (t) { return t.start; }),
        text: turns.map(function (t) { return clock(t.start) + "–" + clock(t.end); }),
        textposition: "none", width: 0.5, marker: { color: color(sp), line: { width: 0 } },
        hovertemplate: "<b>" + label(sp) + "</b> %{text}<extra></extra>" };
    });
    var ints = tl.interruptions;
    traces.push({ type: "scatter", mode: "markers", name: "Interruption", meta: "interruptions",
      x: ints.map(function (e) { return e.start; }),
      y: ints.map(function (e) { return rowY(e.by) + 0.43; }),
      customdata: ints.map(function (e) { return e.start; }),
      text: ints.map(function (e) {
        return clock(e.start) + " " + label(e.by) + " interrupted " + (e.of ? label(e.of).toLowerCase() : "") +
          " (" + e.kind + ", " + e.overlap_s.toFixed(1) + " s)";
      }),
      marker: { symbol: "triangle-down", size: 13, color: "#dc2626", line: { color: "#fff", width: 1 } },
      hovertemplate: "%{text}<extra></extra>" });
    var bcs = tl.backchannels;
    traces.push({ type: "scatter", mode: "markers", name: "Backchannel", meta: "backchannels",
      x: bcs.map(function (e) { return e.start; }),
      y: bcs.map(function (e) { return rowY(e.by) + 0.38; }),
      customdata: bcs.map(function (e) { return e.start; }),
      text: bcs.map(function (e) { return clock(e.start) + " " + label(e.by) + " backchannel"; }),
      marker: { symbol: "circle-open", size: 8, color: "#7c3aed", line: { width: 2 } },
      hovertemplate: "%{text}<extra></extra>" });
    lanes.forEach(function (sp) {
      var segs = MOOD.segments.filter(function (s) { return s.speaker === sp; });
      traces.push({ type: "bar", orientation: "h", name: label(sp) + " sentiment", meta: "mood-" + sp,
        y: segs.map(function () { return laneY(sp); }),
        x: segs.map(function (s) { return Math.max(s.end - s.start, 0.05); }),
        base: segs.map(function (s) { return s.start; }),
        customdata: segs.map(function (s) { return s.start; }),
        text: segs.map(function (s) {
          return clock(s.start) + " " + label(sp) + ": " + s.label + " (" + (s.score > 0 ? "+" : "") +
            s.score.toFixed(2) + ")<br>" + s.text.split("&").join("&amp;").split("<").join("&lt;");
        }),
        textposition: "none", width: 0.45, marker: { color: segs.map(function (s) { return moodColor(s.score); }), line: { width: 0 } },
        hovertemplate: "%{text}<extra></extra>" });
    });
    var ovs = tl.overlaps || [];
    traces.push({ type: "scatter", mode: "markers", name: "Other overlap", meta: "overlaps",
      x: ovs.map(function (e) { return e.start; }),
      y: ovs.map(function (e) { return rowY(e.by) + 0.38; }),
      customdata: ovs.map(function (e) { return e.start; }),
      text: ovs.map(function (e) {
        return clock(e.start) + " " + label(e.by) + " overlapped " + (e.of ? label(e.of).toLowerCase() : "") +
          " (" + e.kind + ", " + e.overlap_s.toFixed(1) + " s; not an interruption)";
      }),
      marker: { symbol: "square-open", size: 8, color: "#7c3aed", line: { width: 2 } },
      hovertemplate: "%{text}<extra></extra>" });
    [["silences", "Silence", "#9ca3af"]].forEach(function (k) {
      var ps = tl[k[0]];
      traces.push({ type: "scatter", mode: "markers", name: k[1], meta: k[0],
        x: ps.map(function (p) { return (p.start + p.end) / 2; }),
        y: ps.map(function () { return (lanes.length + nRows - 1) / 2; }),
        customdata: ps.map(function (p) { return p.start; }),
        text: ps.map(function (p) { return k[1] + " " + clock(p.start) + "–" + clock(p.end) + " (" + (p.end - p.start).toFixed(1) + " s)"; }),
        marker: { symbol: "diamond", size: 9, color: k[2] },
        hovertemplate: "%{text}<extra></extra>" });
    });
    return traces;
  }

  function timelineShapes(tl) {
    var shapes = [];
    tl.silences.forEach(function (p) { shapes.push(band(p, "rgba(156,163,175,0.22)")); });
    tl.interruptions.concat(tl.backchannels, tl.overlaps || []).forEach(function (e) {
      if (e.end > e.start) { shapes.push(band(e, "rgba(124,58,237,0.20)")); }
    });
    shapes.push({ type: "line", name: "cursor", xref: "x", yref: "paper", x0: 0, x1: 0, y0: 0, y1: 1,
      line: { color: "#111827", width: 1.5 }, visible: false });
    return shapes;
  }

  var timeline = document.getElementById("timeline");
  var voice = document.getElementById("voice");
  var syncing = false;

  function drawTimeline() {
    var tl = DATA.timeline, t = ticks(0, duration), height = 230 + 34 * lanes.length;
    timeline.style.height = height + "px";
    var layout = {
      height: height, margin: { l: 118, r: 12, t: 6, b: 4 }, font: FONT, showlegend: false, barmode: "overlay",
      hovermode: "closest", dragmode: "zoom", plot_bgcolor: "#fff", paper_bgcolor: "#fff",
      xaxis: { range: [0, duration], tickvals: t.tickvals, ticktext: t.ticktext, showgrid: true,
        gridcolor: "#f1f3f5", zeroline: false, rangeslider: { visible: true, thickness: 0.14, bgcolor: "#f9fafb" } },
      yaxis: { tickvals: speakers.map(rowY).concat(lanes.map(laneY)),
        ticktext: speakers.map(label).concat(lanes.map(function (sp) { return label(sp) + " mood"; })),
        range: [-0.55, nRows - 1 + 0.75],
        fixedrange: true, showgrid: false, zeroline: false },
      shapes: timelineShapes(tl)
    };
    Plotly.newPlot(timeline, timelineTraces(tl), layout, CONFIG);
    timeline.on("plotly_click", function (ev) {
      var pt = ev.points && ev.points[0];
      if (pt) { seek(pt.customdata !== undefined ? pt.customdata : pt.x); }
    });
    timeline.on("plotly_relayout", function (ev) { onZoom(timeline, ev); });
  }

  function drawVoice() {
    var traces = [];
    DATA.contours.forEach(function (c) {
      var common = { type: "scatter", mode: "lines", x: c.t, connectgaps: false, legendgroup: c.speaker,
        line: { color: color(c.speaker), width: 1.8 } };
      traces.push(Object.assign({}, common, { y: c.f0, name: label(c.speaker), yaxis: "y",
        hovertemplate: label(c.speaker) + " %{y:.0f} Hz<extra></extra>" }));
      traces.push(Object.assign({}, common, { y: c.level, name: label(c.speaker), yaxis: "y2", showlegend: false,
        hovertemplate: label(c.speaker) + " %{y:.1f} dBFS<extra></extra>" }));
    });
    var t = ticks(0, duration);
    var layout = {
      height: 300, margin: { l: 78, r: 12, t: 26, b: 30 }, font: FONT, hovermode: "x unified",
      legend: { orientation: "h", x: 0, y: 1.12 }, plot_bgcolor: "#fff", paper_bgcolor: "#fff",
      xaxis: { range: [0, duration], tickvals: t.tickvals, ticktext: t.ticktext, gridcolor: "#f1f3f5", zeroline: false, anchor: "y2" },
      yaxis: { title: { text: "Pitch (Hz)" }, domain: [0.55, 1], gridcolor: "#f1f3f5", zeroline: false, fixedrange: true },
      yaxis2: { title: { text: "Level (dBFS)" }, domain: [0, 0.45], gridcolor: "#f1f3f5", zeroline: false, fixedrange: true },
      shapes: [{ type: "line", name: "cursor", xref: "x", yref: "paper", x0: 0, x1: 0, y0: 0, y1: 1,
        line: { color: "#111827", width: 1.5 }, visible: false }]
    };
    Plotly.newPlot(voice, traces, layout, CONFIG);
    voice.on("plotly_click", function (ev) { var pt = ev.points && ev.points[0]; if (pt) { seek(pt.x); } });
    voice.on("plotly_relayout", function (ev) { onZoom(voice, ev); });
  }

  /* keep m:ss ticks and the two charts' time ranges in step when either is zoomed */
  function onZoom(source, ev) {
    if (syncing) { return; }
    var a, b;
    if (ev["xaxis.range[0]"] !== undefined) { a = ev["xaxis.range[0]"]; b = ev["xaxis.range[1]"]; }
    else if (ev["xaxis.range"]) { a = ev["xaxis.range"][0]; b = ev["xaxis.range"][1]; }
    else if (ev["xaxis.autorange"]) { a = 0; b = duration; }
    else { return; }
    var t = ticks(a, b), upd = { "xaxis.range": [a, b], "xaxis.tickvals": t.tickvals, "xaxis.ticktext": t.ticktext };
    syncing = true;
    var jobs = [timeline, voice].filter(Boolean).map(function (el) { return Plotly.relayout(el, upd); });
    Promise.all(jobs).then(function () { syncing = false; }, function () { syncing = false; });
  }

  /* each party's sentiment per quarter of the call: words and voice combined (-1..1) */
  function drawMood(el) {
    var q = ["1st quarter", "2nd quarter", "3rd quarter", "4th quarter"];
    var traces = MOOD.parties.map(function (p) {
      return { type: "scatter", mode: "lines+markers", name: label(p.speaker), x: q, y: p.combined, connectgaps: false,
        line: { color: color(p.speaker), width: 2.2 }, marker: { size: 9, color: p.combined.map(function (v) { return v === null ? "#fff" : moodColor(v); }),
          line: { color: color(p.speaker), width: 2 } },
        customdata: p.score.map(function (s, i) { return [s === null ? "–" : s.toFixed(2), p.arousal[i] === null ? "–" : p.arousal[i].toFixed(2)]; }),
        hovertemplate: label(p.speaker) + ", %{x}: %{y:+.2f} (words %{customdata[0]}, voice arousal %{customdata[1]})<extra></extra>" };
    });
    Plotly.newPlot(el, traces, {
      height: 240, margin: { l: 58, r: 12, t: 26, b: 30 }, font: FONT, legend: { orientation: "h", x: 0, y: 1.16 },
      plot_bgcolor: "#fff", paper_bgcolor: "#fff", hovermode: "closest",
      xaxis: { fixedrange: true }, yaxis: { title: { text: "sentiment" }, range: [-1.05, 1.05], fixedrange: true,
        zeroline: true, zerolinecolor: "#9ca3af", gridcolor: "#f1f3f5", tickvals: [-1, -0.5, 0, 0.5, 1] },
      shapes: [{ type: "rect", xref: "paper", yref: "y", x0: 0, x1: 1, y0: -1.05, y1: MOOD.negative_at,
        fillcolor: "rgba(220,38,38,0.07)", line: { width: 0 }, layer: "below" }]
    }, CONFIG);
  }

  if (window.Plotly) {
    if (timeline) { drawTimeline(); }
    if (voice) { drawVoice(); }
    var moodChart = document.getElementById("mood");
    if (moodChart) { drawMood(moodChart); }
  }

  /* clicks: transcript lines, moments, evidence */
  var lines = document.getElementById("lines");
  function reveal(id) {
    var el = id && document.getElementById(id);
    if (!el) { return; }
    var line = el.closest ? el.closest(".line") || el : el;
    if (lines && lines.contains(line)) {
      lines.scrollTop = line.offsetTop - lines.offsetTop - lines.clientHeight / 3;
    }
    el.classList.remove("flash");
    void el.offsetWidth;
    el.classList.add("flash");
  }
  document.addEventListener("click", function (ev) {
    var target = ev.target;
    if (!(target instanceof Element)) { return; }
    var link = target.closest(".ev-link");
    if (link) {
      ev.preventDefault();
      seek(link.getAttribute("data-t"));
      reveal(link.getAttribute("data-target"));
      return;
    }
    var button = target.closest(".seek");
    if (button) { seek(button.getAttribute("data-t")); return; }
    var line = target.closest(".line");
    if (line && !target.closest("a")) { seek(line.getAttribute("data-t")); }
  });

  /* playback: clock, cursor on both charts, current transcript line */
  if (audio) {
    var now = document.getElementById("now"), current = null;
    var lineIndex = DATA.lines;
    audio.addEventListener("timeupdate", function () {
      var t = audio.currentTime;
      if (now) { now.textContent = clock(t); }
      [timeline, voice].forEach(function (el) {
        if (!el || !el.layout || !el.layout.shapes) { return; }
        var k = el.layout.shapes.length - 1, upd = {};
        upd["shapes[" + k + "].x0"] = t; upd["shapes[" + k + "].x1"] = t; upd["shapes[" + k + "].visible"] = true;
        Plotly.relayout(el, upd);
      });
      var hit = null;
      for (var i = 0; i < lineIndex.length; i++) {
        if (lineIndex[i].start <= t && t < lineIndex[i].end + 0.2) { hit = lineIndex[i].id; }
      }
      if (hit !== current) {
        if (current) { var old = document.getElementById(current); if (old) { old.classList.remove("playing"); } }
        current = hit;
        if (hit) { document.getElementById(hit).classList.add("playing"); }
      }
    });
  }
})();
