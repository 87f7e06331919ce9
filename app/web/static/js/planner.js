// Planner view: arrivals forecast with its 80% band, crews per shift, what-if and the queue.
"use strict";
(() => {
  const { page, api, el, time, dateTime, toast } = Inbound;
  const siteId = page.site_id;
  const charts = {};
  document.getElementById("planner-site").addEventListener("change", (ev) => {
    location.href = `/planner/${ev.target.value}`;
  });

  function params(extra = {}) {
    const q = new URLSearchParams({ hours: document.getElementById("horizon").value, ...extra });
    const target = document.getElementById("target").value;
    if (target !== "") q.set("target_wait_min", target);
    return q;
  }
  function whatIf() {
    return [...document.querySelectorAll("#whatif-fields input[data-shift]")]
      .filter((i) => i.value !== "").map((i) => `${i.dataset.shift}:${Number(i.value)}`);
  }

  function draw(id, config) {
    if (typeof Chart === "undefined") return;
    if (charts[id]) { charts[id].data = config.data; charts[id].update(); return; }
    charts[id] = new Chart(document.getElementById(id), config);
  }

  async function load() {
    const crews = whatIf();
    const staffingQuery = params();
    crews.forEach((c) => staffingQuery.append("crews", c));
    document.getElementById("forecast-csv").href = `/api/v1/sites/${siteId}/forecast?${params({ format: "csv" })}`;
    const csvStaffing = new URLSearchParams(staffingQuery); csvStaffing.set("format", "csv");
    document.getElementById("staffing-csv").href = `/api/v1/sites/${siteId}/staffing?${csvStaffing}`;
    let forecast, staffing;
    try {
      [forecast, staffing] = await Promise.all([
        api(`/api/v1/sites/${siteId}/forecast?${params()}`),
        api(`/api/v1/sites/${siteId}/staffing?${staffingQuery}`),
      ]);
    } catch (err) { toast(err.message, true); return; }
    const site = await api(`/api/v1/sites/${siteId}`);
    const labels = forecast.map((h) => dateTime(h.hour_start));
    const capacity = staffing.queue.map((q) => q.servers * site.crew_rate_pph);
    draw("forecast-chart", {
      data: {
        labels,
        datasets: [
          { type: "line", label: "P90", data: forecast.map((h) => h.pallets_p90), borderColor: "rgba(91,143,209,.4)", pointRadius: 0, fill: "+1", backgroundColor: "rgba(91,143,209,.15)" },
          { type: "line", label: "P10", data: forecast.map((h) => h.pallets_p10), borderColor: "rgba(91,143,209,.4)", pointRadius: 0 },
          { type: "bar", label: "Expected pallets", data: forecast.map((h) => h.pallets), backgroundColor: "#5b8fd1" },
          { type: "line", label: "Crew capacity (pallets/h)", data: capacity, borderColor: "#c62828", stepped: true, pointRadius: 0 },
        ],
      },
      options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true, title: { display: true, text: "pallets per hour" } } } },
    });
    const shifts = Inbound.table(document.getElementById("shifts-table"), [
      { key: "local_date", label: "Date" },
      { key: "name", label: "Shift" },
      { key: "start", label: "Hours", render: (s) => `${time(s.start)}–${time(s.end)}` },
      { key: "crews", label: "Crews", num: true },
      { key: "worst_wait_minutes", label: "Worst wait", num: true, render: (s) => s.worst_wait_minutes === null ? "unbounded" : `${Math.round(s.worst_wait_minutes)} min` },
      { key: "meets_target", label: "Meets target", render: (s) => Inbound.badge(s.meets_target ? "yes" : "no", s.meets_target ? "on_time" : "late") },
    ], { rowId: (s) => `${s.local_date}-${s.name}` });
    shifts.set(staffing.shifts);
    document.getElementById("unmet").textContent = staffing.unmet_hours.length
      ? `${staffing.unmet_hours.length} hours cannot meet the target with the docks available.` : "";
    const waiting = staffing.queue.map((q) => Math.round(q.mean_waiting * 100) / 100);
    const waits = staffing.queue.map((q) => q.mean_wait_minutes === null ? null : Math.round(q.mean_wait_minutes * 10) / 10);
    const worst = Math.max(0, ...waits.filter((w) => w !== null));
    const totalCrews = staffing.shifts.reduce((n, s) => n + s.crews, 0);
    // A null wait means no crew can serve that hour: the queue only grows.
    const unbounded = waits.some((w) => w === null);
    document.getElementById("queue-summary").textContent =
      `${staffing.what_if ? "What-if" : "Recommended"} staffing: ${totalCrews} crew-shifts; ` +
      `worst expected wait ${unbounded ? "unbounded (hours without crews)" : `${Math.round(worst)} min`}; ` +
      `peak queue ${Math.max(0, ...waiting).toFixed(1)} trucks.`;
    document.getElementById("queue-summary").dataset.worstWait = String(worst);
    draw("queue-chart", {
      data: {
        labels: staffing.queue.map((q) => dateTime(q.hour_start)),
        datasets: [
          { type: "bar", label: "Trucks waiting (mean)", data: waiting, backgroundColor: "#e69500" },
          { type: "line", label: "Wait (min)", data: waits, borderColor: "#102a43", yAxisID: "minutes", pointRadius: 0 },
        ],
      },
      options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true }, minutes: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } } } },
    });
  }

  document.getElementById("whatif-form").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  document.getElementById("whatif-reset").addEventListener("click", () => {
    document.querySelectorAll("#whatif-fields input[data-shift]").forEach((i) => { i.value = ""; });
    load();
  });
  for (const id of ["horizon", "target"]) document.getElementById(id).addEventListener("change", load);
  load();
})();
