// polyboard pages: what JavaScript adds to pages that work without it. It asks only this
// server (same origin), and only with values the API accepts, so no request is refused.
"use strict";

(function () {
  const PREFIX = /^(0x)?[0-9a-f]{1,40}$/i;

  // Wallet search: suggestions from GET /api/v1/traders/search as the user types.
  function suggestWallets() {
    const input = document.getElementById("wallet-search");
    const list = document.getElementById("wallet-suggestions");
    if (!input || !list) return;
    let timer = null;
    let asked = "";
    input.addEventListener("input", () => {
      clearTimeout(timer);
      const q = input.value.trim();
      const digits = q.replace(/^0x/i, "");
      if (!PREFIX.test(q) || digits.length < 2 || q === asked) return;
      timer = setTimeout(async () => {
        asked = q;
        try {
          const response = await fetch(`/api/v1/traders/search?q=${encodeURIComponent(q)}&limit=8`);
          if (!response.ok) return;
          const found = await response.json();
          if (input.value.trim() !== q) return; // the user typed on: a newer answer comes
          list.replaceChildren(...found.results.map((r) => {
            const option = document.createElement("option");
            option.value = r.wallet_address;
            option.label = `${r.total_trades} trades`;
            return option;
          }));
        } catch (_) {
          // Suggestions are a convenience: the form still searches on submit.
        }
      }, 120);
    });
  }

  // Positions: sort the rows shown by a column, ascending then descending.
  // A mark once the next frame is painted (bench/web.py times the first render by it).
  function markAfterPaint(name) {
    requestAnimationFrame(() => setTimeout(() => performance.mark(name), 0));
  }

  const usd = (v) => (v < 0 ? "−$" : "$") + Math.abs(v).toLocaleString("en-US", { maximumFractionDigits: 0 });

  function drawCharts() {
    const data = document.getElementById("chart-data");
    if (!data || typeof uPlot === "undefined") return;
    const series = JSON.parse(data.textContent);
    // Days as UTC midnights in seconds; the axes are drawn in UTC too.
    const x = series.day.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
    const utc = (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC");
    const charts = [];
    const make = (id, label, values, options) => {
      const el = document.getElementById(id);
      const opts = {
        width: Math.max(240, el.clientWidth),
        height: 240,
        tzDate: utc,
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true } },
        axes: [{}, { values: (u, ticks) => ticks.map(usd), size: 70 }],
        series: [{ value: "{YYYY}-{MM}-{DD}" }, { label, value: (u, v) => (v == null ? "—" : usd(v)), ...options }],
      };
      charts.push([el, new uPlot(opts, [x, values], el)]);
    };
    make("chart-pnl", "Cumulative PnL", series.cumulative_pnl, {
      stroke: "#0b4f9c", width: 2, fill: "rgba(11, 79, 156, 0.08)",
    });
    make("chart-volume", "Volume", series.volume, {
      stroke: "#6b3fa0", fill: "#6b3fa0",
      paths: uPlot.paths.bars({ size: [0.7, 40] }), points: { show: false },
    });
    window.addEventListener("resize", () => {
      for (const [el, chart] of charts) chart.setSize({ width: Math.max(240, el.clientWidth), height: 240 });
    });
    markAfterPaint("polyboard:charts");
  }

  // The leaderboard's category: choosing one applies it (the form's Apply does the same).
  function applyCategory() {
    const select = document.getElementById("category");
    if (select) select.addEventListener("change", () => select.form.requestSubmit());
  }

  function ready() {
    applyCategory();
    suggestWallets();
    drawCharts();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
