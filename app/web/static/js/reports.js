// Plan-versus-fact report per site or supplier, with CSV export and a chart of on-time rates.
"use strict";
(() => {
  const { api, toast } = Inbound;
  const pct = (v) => (v === null ? "—" : `${Math.round(v * 100)}%`);
  const num = (v) => (v === null ? "—" : (Math.round(v * 10) / 10).toString());
  const report = Inbound.table(document.getElementById("report-table"), [
    { key: "code", label: "Code" }, { key: "name", label: "Name" },
    { key: "deliveries", label: "Deliveries", num: true }, { key: "arrived", label: "Arrived", num: true },
    { key: "on_time_rate", label: "On time", num: true, render: (r) => pct(r.on_time_rate) },
    { key: "mean_lateness_min", label: "Mean lateness (min)", num: true, render: (r) => num(r.mean_lateness_min) },
    { key: "p90_lateness_min", label: "P90 lateness (min)", num: true, render: (r) => num(r.p90_lateness_min) },
    { key: "no_show_rate", label: "No-shows", num: true, render: (r) => pct(r.no_show_rate) },
    { key: "mean_yard_wait_min", label: "Yard wait (min)", num: true, render: (r) => num(r.mean_yard_wait_min) },
    { key: "unloading_min_per_pallet", label: "Unloading min/pallet", num: true, render: (r) => num(r.unloading_min_per_pallet) },
  ], { rowId: (r) => r.code, emptyText: "No deliveries with slots in this period." });
  const day = (d) => d.toISOString().slice(0, 10);
  const today = new Date();
  document.getElementById("to").value = day(new Date(today.getTime() + 86400000));
  document.getElementById("from").value = day(new Date(today.getTime() - 27 * 86400000));
  let chart = null;
  async function load() {
    const from = document.getElementById("from").value, to = document.getElementById("to").value;
    if (!from || !to) { toast("Choose both dates.", true); return; }
    const q = new URLSearchParams({ from: `${from}T00:00:00Z`, to: `${to}T00:00:00Z`, group_by: document.getElementById("group").value });
    document.getElementById("report-csv").href = `/api/v1/reports/plan-vs-fact?${q}&format=csv`;
    let rows;
    try { rows = await api(`/api/v1/reports/plan-vs-fact?${q}`); } catch (err) { toast(err.message, true); return; }
    report.set(rows);
    if (typeof Chart === "undefined") return;
    const data = { labels: rows.map((r) => r.name), datasets: [{ label: "On-time rate (%)", data: rows.map((r) => r.on_time_rate === null ? null : r.on_time_rate * 100), backgroundColor: "#5b8fd1" }] };
    if (chart) { chart.data = data; chart.update(); return; }
    chart = new Chart(document.getElementById("report-chart"), { type: "bar", data, options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true, max: 100 } } } });
  }
  document.getElementById("report-form").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  load();
})();
