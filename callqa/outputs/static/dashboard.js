/* callqa team dashboard: filters, aggregates, sortable tables, charts. Data: #dashboard-data. */
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("dashboard-data").textContent);
  var CALLS = D.calls, TITLES = D.titles;
  var FONT = { family: "Inter, Segoe UI, Roboto, Helvetica Neue, Arial, sans-serif", size: 12, color: "#374151" };
  var CONFIG = { displaylogo: false, responsive: true,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"] };
  var BAND = { good: "#15803d", fair: "#b45309", poor: "#b91c1c" };
  var CALLS_SHOWN = 500;  /* rows drawn in the calls table; the rest are counted */
  var $ = function (id) { return document.getElementById(id); };
  var sorts = { agents: { key: "mean", dir: -1 }, calls: { key: "date", dir: -1 } };
  var open = {};

  function num(x) { return typeof x === "number" && isFinite(x); }
  function mean(xs) { xs = xs.filter(num); return xs.length ? xs.reduce(function (a, b) { return a + b; }, 0) / xs.length : null; }
  function band(s) { return !num(s) ? "none" : s >= 80 ? "good" : s >= 60 ? "fair" : "poor"; }
  function fmt(x, digits) { return num(x) ? x.toFixed(digits) : "–"; }
  /* a score as a whole number, or one decimal (rounded down) where rounding would lift it into
     the next colour band: 59.64 had shown "60" in red and counted "below 60" */
  function scoreText(s) {
    if (!num(s)) { return "–"; }
    var r = Math.round(s);
    return (s < 60 && r >= 60) || (s < 80 && r >= 80) ? (Math.floor(s * 10) / 10).toFixed(1) : String(r);
  }
  function pct(x) { return num(x) ? Math.round(100 * x) + "%" : "–"; }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }
  function title(id) { return TITLES[id] || id; }

  function filtered() {
    var from = $("f-from").value, to = $("f-to").value, team = $("f-team").value;
    var agent = $("f-agent").value.trim().toLowerCase();
    return CALLS.filter(function (c) {
      if (from && c.date && c.date < from) { return false; }
      if (to && c.date && c.date > to) { return false; }
      if (team && c.team !== team) { return false; }
      if (agent && c.agent.toLowerCase().indexOf(agent) < 0) { return false; }
      return true;
    });
  }

  /* per-agent aggregates; trend = mean(newer half) - mean(older half), 4+ scored calls with a
     call date (calls without one fall back to the scoring day, which orders nothing) */
  function agents(calls) {
    var by = {};
    calls.forEach(function (c) { (by[c.agent] = by[c.agent] || []).push(c); });
    return Object.keys(by).map(function (name) {
      var list = by[name].slice().sort(function (a, b) { return (a.date + a.scored) < (b.date + b.scored) ? -1 : 1; });
      var scores = list.filter(function (c) { return c.dated; }).map(function (c) { return c.score; }).filter(num);
      var trend = null;
      if (scores.length >= 4) {
        var half = Math.floor(scores.length / 2);
        trend = mean(scores.slice(scores.length - half)) - mean(scores.slice(0, half));
      }
      var counts = {};
      list.forEach(function (c) { c.failed.forEach(function (f) { counts[f] = (counts[f] || 0) + 1; }); });
      var top = Object.keys(counts).sort(function (a, b) { return counts[b] - counts[a] || (a < b ? -1 : 1); }).slice(0, 3)
        .map(function (f) { return [f, counts[f]]; });
      var teams = {};
      list.forEach(function (c) { if (c.team) { teams[c.team] = 1; } });
      var judged = list.filter(function (c) { return num(c.calmer); });
      return { agent: name, team: Object.keys(teams).sort().join(", "), calls: list.length, mean: mean(scores),
        trend: trend, talk: mean(list.map(function (c) { return c.talk; })),
        ipc: mean(list.map(function (c) { return c.interruptions; })),
        calmer: mean(judged.map(function (c) { return c.calmer; })), calmerN: judged.length,
        calmerYes: judged.filter(function (c) { return c.calmer === 1; }).length,
        topfail: top.length ? title(top[0][0]) : "", top: top, list: list, scores: scores };
    });
  }

  function sortRows(rows, s) {
    return rows.slice().sort(function (a, b) {
      var x = a[s.key], y = b[s.key];
      var xm = x === null || x === undefined || x === "", ym = y === null || y === undefined || y === "";
      if (xm || ym) { return xm && ym ? 0 : xm ? 1 : -1; }  /* blanks last either way */
      return (x < y ? -1 : x > y ? 1 : 0) * s.dir;
    });
  }

  function scoreCell(s) {
    var td = el("td", "num c-score"), pill = el("span", "score-pill band-" + band(s), scoreText(s));
    td.appendChild(pill);
    return td;
  }

  function spark(scores) {
    var ns = "http://www.w3.org/2000/svg", w = 64, h = 18, pts = scores.slice(-20);
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "spark"); svg.setAttribute("width", w); svg.setAttribute("height", h);
    if (pts.length < 2) { return svg; }
    var line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", pts.map(function (s, i) {
      return (i * (w - 2) / (pts.length - 1) + 1).toFixed(1) + "," + (h - 1 - (h - 2) * s / 100).toFixed(1);
    }).join(" "));
    line.setAttribute("fill", "none"); line.setAttribute("stroke", "#6b7280"); line.setAttribute("stroke-width", "1.3");
    svg.appendChild(line);
    return svg;
  }

  function trendCell(a) {
    var td = el("td", "num c-trend");
    if (num(a.trend)) {
      var cls = a.trend >= 2 ? "trend-up" : a.trend <= -2 ? "trend-down" : "trend-flat";
      var arrow = a.trend >= 2 ? "▲ " : a.trend <= -2 ? "▼ " : "";
      td.appendChild(el("span", cls, arrow + (a.trend > 0 ? "+" : "") + a.trend.toFixed(1)));
    } else {
      td.appendChild(el("span", "trend-flat", "–"));
    }
    td.appendChild(spark(a.scores));
    return td;
  }

  function failTags(top, total) {
    var td = el("td", "c-fails"), box = el("div", "fails");
    top.forEach(function (t) {
      var tag = el("span", "fail-tag", title(t[0]) + " · ");
      tag.title = t[0] + ": failed in " + t[1] + " of " + total + " calls";
      tag.appendChild(el("b", null, t[1] + " of " + total));
      box.appendChild(tag);
    });
    td.appendChild(box);
    return td;
  }

  function callLink(c, text) {
    if (!c.href) { return el("span", null, text); }
    var a = el("a", null, text);
    a.href = c.href;
    return a;
  }

  function renderAgents(calls) {
    var body = $("agents").tBodies[0];
    body.textContent = "";
    sortRows(agents(calls), sorts.agents).forEach(function (a) {
      var tr = el("tr", "agent-row" + (open[a.agent] ? " open" : ""));
      tr.setAttribute("data-agent", a.agent);
      tr.appendChild(el("td", "c-agent", a.agent));
      tr.appendChild(el("td", "c-team", a.team));
      tr.appendChild(el("td", "num c-calls", String(a.calls)));
      tr.appendChild(scoreCell(a.mean));
      tr.appendChild(trendCell(a));
      tr.appendChild(el("td", "num c-talk", pct(a.talk)));
      tr.appendChild(el("td", "num c-ipc", fmt(a.ipc, 1)));
      var calm = el("td", "num c-calmer", pct(a.calmer));
      calm.title = a.calmerN ? "ended calmer in " + a.calmerYes + " of " + a.calmerN + " calls with a negative customer" : "no call with a negative customer";
      tr.appendChild(calm);
      tr.appendChild(failTags(a.top, a.calls));
      tr.addEventListener("click", function () { open[a.agent] = !open[a.agent]; render(); });
      body.appendChild(tr);
      if (open[a.agent]) {
        var detail = el("tr", "detail"), td = el("td"), ul = el("ul", "call-list");
        td.colSpan = 9;
        a.list.slice().reverse().forEach(function (c) {
          var li = el("li");
          li.appendChild(callLink(c, (c.date || "") + " · " + c.id + " · " + scoreText(c.score)));
          ul.appendChild(li);
        });
        td.appendChild(ul); detail.appendChild(td); body.appendChild(detail);
      }
    });
  }

  function renderCalls(calls) {
    var body = $("calls").tBodies[0];
    body.textContent = "";
    var rows = calls.map(function (c) { return Object.assign({ nfail: c.failed.length }, c); });
    rows = sortRows(rows, sorts.calls);
    rows.slice(0, CALLS_SHOWN).forEach(function (c) {
      var tr = el("tr", "call-row");
      tr.setAttribute("data-call", c.id);
      tr.appendChild(el("td", "c-date", c.date));
      var idCell = el("td", "c-id");
      idCell.appendChild(callLink(c, c.id));
      tr.appendChild(idCell);
      tr.appendChild(el("td", "c-agent", c.agent));
      tr.appendChild(el("td", "c-team", c.team));
      tr.appendChild(scoreCell(c.score));
      tr.appendChild(el("td", "num c-machine", c.human ? fmt(c.machine, 0) : "="));
      tr.appendChild(el("td", "num c-talk", pct(c.talk)));
      tr.appendChild(el("td", "num c-int", num(c.interruptions) ? String(c.interruptions) : "–"));
      tr.appendChild(el("td", "c-calmer", c.calmer === 1 ? "yes" : c.calmer === 0 ? "no" : "–"));
      tr.appendChild(el("td", "c-failed", c.failed.map(title).join(", ")));
      var review = c.review || 0;
      tr.appendChild(el("td", "num c-review" + (review ? " unsure" : ""),
        review ? review + (review === 1 ? " item" : " items") + " to review" : "–"));
      tr.appendChild(el("td", "num c-human", c.human ?
        c.human + (c.human === 1 ? " item" : " items") + ", " + c.changed + " changed" : "–"));
      body.appendChild(tr);
    });
    $("calls-note").textContent = rows.length > CALLS_SHOWN ?
      "showing " + CALLS_SHOWN + " of " + rows.length + " (sorted)" : rows.length + " calls";
  }

  function renderKpis(calls) {
    var scores = calls.map(function (c) { return c.score; }).filter(num);
    $("k-calls").textContent = String(calls.length);
    $("k-mean").textContent = fmt(mean(scores), 1);
    $("k-low").textContent = scores.length ? pct(scores.filter(function (s) { return s < 60; }).length / scores.length) : "–";
    $("k-talk").textContent = pct(mean(calls.map(function (c) { return c.talk; })));
    $("k-int").textContent = fmt(mean(calls.map(function (c) { return c.interruptions; })), 1);
    var provisional = calls.filter(function (c) { return (c.review || 0) > 0; }).length;
    $("k-review").textContent = calls.length ? provisional + " (" + pct(provisional / calls.length) + ")" : "–";
    var judged = calls.filter(function (c) { return num(c.calmer); });
    var calmer = judged.filter(function (c) { return c.calmer === 1; }).length;
    $("k-calmer").textContent = judged.length ? pct(calmer / judged.length) + " (" + calmer + " of " + judged.length + ")" : "–";
    $("shown").textContent = calls.length + " of " + CALLS.length + " calls";
  }

  /* integer ticks for counts at a round step (1, 2, 5, 10, 20, 25, 50 ...): never 0.5 calls */
  function countAxis(max, extra, ticks) {
    var want = Math.max(1, max) / (ticks || 5), step = 1;
    [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000].some(function (s) {
      step = s; return s >= want;
    });
    return Object.assign({ rangemode: "tozero", tickformat: "d", dtick: step, range: [0, Math.max(1, max) * 1.08],
      gridcolor: "#f1f3f5", fixedrange: true }, extra || {});
  }

  /* one tick per day for short ranges, day-month labels, never 12:00 / 00:00 */
  function dayAxis(days) {
    var axis = { type: "date", tickformat: "%d %b", hoverformat: "%a %d %b %Y", tickangle: 0, automargin: true,
      gridcolor: "#f1f3f5" };
    if (days.length) {
      var first = Date.parse(days[0]), last = Date.parse(days[days.length - 1]), span = (last - first) / 864e5;
      axis.range = [first - 432e5, last + 432e5];  /* half a day of room on each side */
      axis.dtick = span <= 10 ? 864e5 : span <= 70 ? 7 * 864e5 : "M1";
    }
    return axis;
  }

  function renderCharts(calls) {
    if (!window.Plotly) { return; }
    var counts = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], labels = [], colors = [];
    calls.forEach(function (c) { if (num(c.score)) { counts[Math.min(9, Math.max(0, Math.floor(c.score / 10)))] += 1; } });
    for (var i = 0; i < 10; i++) {
      labels.push(i * 10 + "–" + (i === 9 ? 100 : i * 10 + 9));
      colors.push(BAND[band(i * 10 + 5)]);
    }
    Plotly.react($("hist"), [{ type: "bar", x: labels, y: counts, marker: { color: colors },
      hovertemplate: "score %{x}: %{y} calls<extra></extra>" }],
      { height: 280, margin: { l: 44, r: 10, t: 6, b: 44 }, font: FONT, bargap: 0.15,
        xaxis: { title: { text: "score" }, fixedrange: true, tickangle: 0 },
        yaxis: countAxis(Math.max.apply(null, counts), { title: { text: "calls" } }),
        plot_bgcolor: "#fff", paper_bgcolor: "#fff" }, CONFIG);
    var days = {};
    calls.forEach(function (c) { if (c.date) { (days[c.date] = days[c.date] || []).push(c.score); } });
    var xs = Object.keys(days).sort(), n = xs.map(function (d) { return days[d].length; });
    Plotly.react($("daily"), [
      { type: "scatter", mode: "lines+markers", name: "mean score", x: xs,
        y: xs.map(function (d) { return mean(days[d]); }), line: { color: "#2563eb", width: 2 }, marker: { size: 6 },
        hovertemplate: "%{x|%a %d %b}: mean score %{y:.1f}<extra></extra>", connectgaps: true },
      { type: "bar", name: "calls", x: xs, y: n, yaxis: "y2", marker: { color: "#9ca3af" },
        hovertemplate: "%{x|%a %d %b}: %{y} calls<extra></extra>" }
    ], { height: 280, margin: { l: 48, r: 12, t: 6, b: 36 }, font: FONT, showlegend: false, bargap: 0.3,
      xaxis: dayAxis(xs),
      yaxis: { title: { text: "mean score" }, domain: [0.36, 1], range: [0, 100], dtick: 20, gridcolor: "#f1f3f5", fixedrange: true },
      yaxis2: countAxis(Math.max.apply(null, n.concat([0])), { title: { text: "calls" }, domain: [0, 0.26] }, 2),
      plot_bgcolor: "#fff", paper_bgcolor: "#fff" }, CONFIG);
  }

  /* pass rate per rubric item per period: days for up to two weeks, else weeks (from Monday),
     else months */
  function period(dates) {
    if (!dates.length) { return function (d) { return d; }; }
    var span = (Date.parse(dates[dates.length - 1]) - Date.parse(dates[0])) / 864e5;
    if (span <= 14) { return function (d) { return d; }; }
    if (span <= 26 * 7) {
      return function (d) {
        var t = new Date(d + "T00:00:00Z"), back = (t.getUTCDay() + 6) % 7;
        return "week of " + new Date(t.getTime() - back * 864e5).toISOString().slice(0, 10);
      };
    }
    return function (d) { return d.slice(0, 7); };
  }

  function renderRates(calls) {
    var table = $("rates"), dates = calls.map(function (c) { return c.date; }).filter(Boolean).sort();
    var key = period(dates), cells = {}, periods = {}, items = {};
    calls.forEach(function (c) {
      if (!c.date) { return; }
      var p = key(c.date);
      periods[p] = 1;
      Object.keys(c.items).forEach(function (id) {
        items[id] = 1;
        var cell = cells[id + "|" + p] = cells[id + "|" + p] || { pass: 0, n: 0 };
        cell.pass += c.items[id]; cell.n += 1;
      });
    });
    var ps = Object.keys(periods).sort(), ids = Object.keys(items).sort();
    table.tHead.textContent = ""; table.tBodies[0].textContent = "";
    var head = el("tr");
    head.appendChild(el("th", "item", "Item"));
    ps.forEach(function (p) { head.appendChild(el("th", null, p)); });
    table.tHead.appendChild(head);
    ids.forEach(function (id) {
      var tr = el("tr");
      tr.setAttribute("data-item", id);
      tr.appendChild(el("td", "item", title(id)));
      ps.forEach(function (p) {
        var cell = cells[id + "|" + p];
        if (!cell) { tr.appendChild(el("td", "empty", "–")); return; }
        var rate = cell.pass / cell.n, td = el("td", "rate band-" + band(100 * rate), pct(rate));
        td.title = title(id) + ", " + p + ": passed in " + cell.pass + " of " + cell.n + " judged calls";
        td.style.background = "var(--band-soft)"; td.style.color = "var(--band)";
        tr.appendChild(td);
      });
      table.tBodies[0].appendChild(tr);
    });
    if (!ids.length) { table.tBodies[0].appendChild(el("tr")).appendChild(el("td", "empty", "No judged items.")); }
  }

  /* share of the judged calls in which the customer ended calmer, per period (as the rates) */
  function renderCalmer(calls) {
    if (!window.Plotly) { return; }
    var judged = calls.filter(function (c) { return c.date && num(c.calmer); });
    var key = period(judged.map(function (c) { return c.date; }).sort()), by = {};
    judged.forEach(function (c) {
      var p = key(c.date), cell = by[p] = by[p] || { yes: 0, n: 0 };
      cell.yes += c.calmer; cell.n += 1;
    });
    var ps = Object.keys(by).sort();
    Plotly.react($("calmer"), [{ type: "bar", x: ps, y: ps.map(function (p) { return 100 * by[p].yes / by[p].n; }),
      customdata: ps.map(function (p) { return [by[p].yes, by[p].n]; }),
      marker: { color: ps.map(function (p) { return BAND[band(100 * by[p].yes / by[p].n)]; }) },
      hovertemplate: "%{x}: ended calmer in %{customdata[0]} of %{customdata[1]} calls (%{y:.0f}%)<extra></extra>" }],
      { height: 240, margin: { l: 48, r: 12, t: 6, b: 40 }, font: FONT, bargap: 0.3,
        xaxis: { type: "category", fixedrange: true, tickangle: 0, automargin: true },
        yaxis: { title: { text: "% of calls" }, range: [0, 100], dtick: 20, gridcolor: "#f1f3f5", fixedrange: true },
        annotations: ps.length ? [] : [{ text: "No call with a negative customer in this selection.", showarrow: false,
          xref: "paper", yref: "paper", x: 0.5, y: 0.5 }],
        plot_bgcolor: "#fff", paper_bgcolor: "#fff" }, CONFIG);
  }

  /* the calls shown (filters applied), as CSV: one row per call, failed items ";"-joined */
  /* a text cell a spreadsheet would run as a formula gets a leading ' (OWASP), as in callqa export */
  function csvCell(v) {
    var t = v === null || v === undefined ? "" : String(v);
    if (typeof v === "string" && /^[=+\-@\t\r\n]/.test(t)) { t = "'" + t; }
    return /[",\n;]/.test(t) ? '"' + t.replace(/"/g, '""') + '"' : t;
  }
  function exportCsv() {
    var cols = ["date", "id", "agent", "team", "score", "machine", "talk", "interruptions", "calmer", "failed", "review", "human", "changed"];
    var head = ["call_date", "call_id", "agent_id", "team", "score", "machine_score", "agent_talk_share", "agent_interruptions", "customer_ended_calmer", "failed_items", "items_to_review", "reviewed_items", "overridden_items"];
    var lines = [head.join(",")].concat(filtered().map(function (c) {
      return cols.map(function (k) { return csvCell(k === "failed" ? c.failed.join(";") : c[k]); }).join(",");
    }));
    var blob = new Blob([lines.join("\n") + "\n"], { type: "text/csv" });
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "callqa-calls.csv";
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(function () { URL.revokeObjectURL(a.href); }, 1000);
  }

  function render() {
    var calls = filtered();
    renderKpis(calls);
    renderAgents(calls);
    renderCalls(calls);
    renderCharts(calls);
    renderCalmer(calls);
    renderRates(calls);
    ["agents", "calls"].forEach(function (id) {
      Array.prototype.forEach.call($(id).tHead.rows[0].cells, function (th) {
        var k = th.getAttribute("data-key");
        if (k === sorts[id].key) { th.setAttribute("aria-sort", sorts[id].dir > 0 ? "ascending" : "descending"); }
        else { th.removeAttribute("aria-sort"); }
      });
    });
  }

  ["agents", "calls"].forEach(function (id) {
    $(id).tHead.addEventListener("click", function (ev) {
      var th = ev.target instanceof Element ? ev.target.closest("th[data-key]") : null;
      if (!th) { return; }
      var key = th.getAttribute("data-key"), s = sorts[id];
      if (s.key === key) { s.dir = -s.dir; }
      else { s.key = key; s.dir = th.getAttribute("data-type") === "num" ? -1 : 1; }
      render();
    });
  });
  ["f-from", "f-to", "f-team", "f-agent"].forEach(function (id) { $(id).addEventListener("input", render); });
  $("export-calls").addEventListener("click", exportCsv);
  $("f-reset").addEventListener("click", function () {
    $("f-from").value = $("f-from").min; $("f-to").value = $("f-to").max;
    $("f-team").value = ""; $("f-agent").value = ""; render();
  });
  render();
})();
