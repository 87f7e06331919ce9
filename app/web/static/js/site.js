// Logistician's site view: inbound table, map, alerts, yard and docks, arrivals chart — live.
"use strict";
(() => {
  const { page, api, el, time, minutes, badge, toast } = Inbound;
  const siteId = page.site_id;
  let board = null;
  let docks = [];
  const STATUS_ORDER = { unloading: 0, arrived: 1, en_route: 2, planned: 3 };
  const RISK_COLOR = { late: "#c62828", at_risk: "#e69500", on_time: "#2e7d32" };

  function etaCell(r) {
    if (!r.eta_p50_at) return r.arrived_at ? el("span", {}, "arrived ", time(r.arrived_at)) : "—";
    return el("span", {},
      el("b", {}, time(r.eta_p50_at)),
      el("span", { class: "small muted" }, ` (${time(r.eta_p10_at)}–${time(r.eta_p90_at)})`));
  }

  function actionsCell(r) {
    const buttons = [];
    if (["planned", "en_route", "arrived"].includes(r.status)) {
      buttons.push(el("button", { type: "button", class: "secondary", onclick: () => assignDock(r),
        "aria-label": `Assign dock to ${r.plate || r.external_ref}` }, r.dock ? "Change dock" : "Assign dock"));
    }
    if (r.status === "arrived") {
      buttons.push(el("button", { type: "button", disabled: !r.dock_id,
        onclick: () => dockEvent(r, "unloading"),
        "aria-label": `Start unloading ${r.plate || r.external_ref}` }, "Start unloading"));
    }
    if (r.status === "unloading") {
      buttons.push(el("button", { type: "button", onclick: () => dockEvent(r, "completed"),
        "aria-label": `Finish unloading ${r.plate || r.external_ref}` }, "Finish"));
    }
    return el("div", { class: "actions" }, buttons);
  }

  const columns = [
    { key: "supplier", label: "Supplier" },
    { key: "plate", label: "Vehicle", render: (r) => el("a", { href: `/delivery/${r.delivery_id}` }, r.plate || r.external_ref) },
    { key: "slot_start_at", label: "Slot", render: (r) => `${time(r.slot_start_at)}–${time(r.slot_end_at)}` },
    { key: "eta_p50_at", label: "ETA (P10–P90)", render: etaCell },
    { key: "minutes_late", label: "Early/late", num: true, render: (r) => minutes(r.minutes_late) },
    { key: "risk", label: "Risk", render: (r) => badge(r.risk),
      sort: (r) => ({ late: 0, at_risk: 1, on_time: 2, arrived: 3 })[r.risk] ?? 4 },
    { key: "reasons", label: "Reason", sortable: false,
      render: (r) => r.reasons.length ? r.reasons.map((x) => badge(x.reason, x.severity)) : "—" },
    { key: "status", label: "Status", render: (r) => badge(r.status, "status"), sort: (r) => STATUS_ORDER[r.status] },
    { key: "pallets", label: "Pallets", num: true },
    { key: "dock", label: "Dock" },
    { key: "actions", label: "Actions", sortable: false, render: actionsCell },
  ];
  const inbound = Inbound.table(document.getElementById("inbound-table"), columns, {
    rowId: (r) => String(r.delivery_id),
    emptyText: "No open deliveries in the next 24 hours.",
  });

  function applyFilters() {
    const text = document.getElementById("filter-text").value.trim().toLowerCase();
    const status = document.getElementById("filter-status").value;
    const risk = document.getElementById("filter-risk").value;
    inbound.filter((r) =>
      (!status || r.status === status) && (!risk || r.risk === risk) &&
      (!text || [r.supplier, r.plate, r.external_ref].some((v) => (v || "").toLowerCase().includes(text))));
  }
  for (const id of ["filter-text", "filter-status", "filter-risk"]) {
    document.getElementById(id).addEventListener("input", applyFilters);
  }

  // --- map ---
  const map = Inbound.map("map", [0, 0], 10);
  const markers = new Map();
  let fence = null;
  function drawMap(data) {
    if (!map) return;
    const site = data.site;
    if (!fence) {
      fence = L.circle([site.lat, site.lon], { radius: site.geofence_radius_m, color: "#0b5cad" }).addTo(map);
      L.marker([site.lat, site.lon], { title: site.name, alt: site.name }).addTo(map).bindTooltip(site.name);
      map.setView([site.lat, site.lon], 10);
    }
    const seen = new Set();
    for (const r of data.deliveries) {
      if (r.lat === null || r.lon === null || !["en_route", "arrived", "unloading"].includes(r.status)) continue;
      const key = String(r.delivery_id);
      seen.add(key);
      const color = RISK_COLOR[r.risk] || "#1565c0";
      const label = `${r.plate || r.external_ref} · ${r.supplier || ""} · ETA ${time(r.eta_p50_at)}`;
      if (markers.has(key)) {
        markers.get(key).setLatLng([r.lat, r.lon]).setIcon(Inbound.truckIcon(color)).setTooltipContent(label);
      } else {
        markers.set(key, L.marker([r.lat, r.lon], { icon: Inbound.truckIcon(color), title: label, alt: label })
          .addTo(map).bindTooltip(label));
      }
    }
    for (const [key, marker] of markers) {
      if (!seen.has(key)) { marker.remove(); markers.delete(key); }
    }
  }

  // --- yard, docks, counts ---
  function drawYard(data) {
    const yard = document.getElementById("yard");
    yard.replaceChildren(...(data.yard.length ? data.yard.map((y) => el("li", {},
      el("b", {}, y.plate || `#${y.delivery_id}`), ` · ${y.supplier || ""} · ${y.pallets} pallets · waiting `,
      el("b", {}, `${Math.round(y.waiting_min)} min`))) : [el("li", { class: "muted" }, "No truck waiting in the yard.")]));
    const busy = data.docks.filter((d) => d.delivery_id).length;
    document.getElementById("yard-summary").textContent =
      `${data.yard.length} waiting · ${busy} of ${data.docks.length} docks busy`;
    docks = data.docks;
    document.getElementById("docks").replaceChildren(...data.docks.map((d) => el("div", {
      class: `dock ${d.delivery_id ? "busy" : "free"}`, "aria-label": `Dock ${d.name} ${d.delivery_id ? "busy" : "free"}` },
      el("b", {}, d.name), el("br"),
      d.delivery_id ? `${d.plate || "#" + d.delivery_id} since ${time(d.since)}` : "free")));
    const c = data.counts;
    const count = (label, value, id) => el("div", { class: "count", id }, el("b", {}, String(value || 0)), label);
    document.getElementById("counts").replaceChildren(
      count("on the road", c.en_route, "count-en-route"), count("planned", c.planned, "count-planned"),
      count("in the yard", c.arrived, "count-arrived"), count("unloading", c.unloading, "count-unloading"),
      count("late", c.late, "count-late"), count("at risk", c.at_risk, "count-at-risk"));
  }

  async function loadBoard(changed = []) {
    try {
      board = await api(`/api/v1/sites/${siteId}/board`);
    } catch (err) {
      toast(`Could not load the board: ${err.message}`, true);
      return;
    }
    inbound.set(board.deliveries, changed.map(String));
    applyFilters();
    drawMap(board);
    drawYard(board);
    document.getElementById("updated").textContent = time(board.generated_at);
  }

  // --- alerts ---
  async function loadAlerts() {
    let alerts = [];
    try {
      const [open, acked] = await Promise.all([
        api(`/api/v1/sites/${siteId}/alerts?state=open&limit=100`),
        api(`/api/v1/sites/${siteId}/alerts?state=acknowledged&limit=50`),
      ]);
      alerts = [...open, ...acked];
    } catch (err) {
      toast(`Could not load alerts: ${err.message}`, true);
      return;
    }
    const list = document.getElementById("alerts");
    list.replaceChildren(...(alerts.length ? alerts.map((a) => el("li", { class: "alert-item", "data-alert": a.id },
      el("div", {}, badge(a.reason, a.severity), " ", a.message, el("br"),
        el("span", { class: "small muted" }, `opened ${time(a.opened_at)}`,
          a.delivery_id ? " · " : "", a.delivery_id ? el("a", { href: `/delivery/${a.delivery_id}` }, `delivery #${a.delivery_id}`) : "",
          a.state === "acknowledged" ? ` · acknowledged ${time(a.acknowledged_at)}` : "")),
      a.state === "open" ? el("button", { type: "button", class: "secondary", onclick: () => acknowledge(a),
        "aria-label": `Acknowledge ${a.reason.replaceAll("_", " ")} alert` }, "Acknowledge") : ""))
      : [el("li", { class: "muted" }, "No open alerts.")]));
  }
  async function acknowledge(alert) {
    try {
      await api(`/api/v1/alerts/${alert.id}/acknowledge`, { method: "POST" });
      toast("Alert acknowledged");
      loadAlerts();
    } catch (err) { toast(err.message, true); }
  }

  // --- dock events ---
  async function dockEvent(row, kind, dockId) {
    try {
      await api(`/api/v1/deliveries/${row.delivery_id}/events`, {
        method: "POST", body: dockId ? { kind, dock_id: dockId } : { kind },
      });
      toast(`${row.plate || row.external_ref}: ${kind.replaceAll("_", " ")}`);
      loadBoard([row.delivery_id]);
    } catch (err) { toast(err.message, true); }
  }
  function assignDock(row) {
    const dialog = document.getElementById("dock-dialog");
    const select = document.getElementById("dock-select");
    select.replaceChildren(...docks.filter((d) => d.is_active).map((d) =>
      el("option", { value: d.dock_id }, `${d.name}${d.delivery_id ? " (busy)" : ""}`)));
    dialog.onclose = () => {
      if (dialog.returnValue === "ok" && select.value) dockEvent(row, "dock_assigned", Number(select.value));
    };
    dialog.showModal();
  }

  // --- arrivals chart ---
  let chart = null;
  async function loadArrivals() {
    let hours;
    try { hours = await api(`/api/v1/sites/${siteId}/forecast?hours=12`); } catch (err) { return; }
    const capacity = board ? board.site.dock_count * board.site.unloading_rate_pph : null;
    const labels = hours.map((h) => time(h.hour_start));
    const pallets = hours.map((h) => Math.round(h.pallets * 10) / 10);
    const trucks = hours.map((h) => Math.round(h.trucks * 10) / 10);
    const tableEl = document.getElementById("arrivals-table");
    tableEl.replaceChildren(tableEl.querySelector("caption"),
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Hour"), el("th", { scope: "col", class: "num" }, "Trucks"),
        el("th", { scope: "col", class: "num" }, "Pallets"), el("th", { scope: "col", class: "num" }, "Capacity"))),
      el("tbody", {}, hours.slice(0, 6).map((h, i) => el("tr", {}, el("td", {}, labels[i]),
        el("td", { class: "num" }, trucks[i]), el("td", { class: "num" }, pallets[i]),
        el("td", { class: "num" }, capacity ?? "—")))));
    if (typeof Chart === "undefined") return;
    const data = {
      labels,
      datasets: [
        { type: "bar", label: "Expected pallets", data: pallets, backgroundColor: "#5b8fd1" },
        { type: "line", label: "Dock capacity (pallets/h)", data: hours.map(() => capacity), borderColor: "#c62828", pointRadius: 0 },
        { type: "line", label: "Expected trucks", data: trucks, borderColor: "#102a43", yAxisID: "trucks" },
      ],
    };
    if (chart) { chart.data = data; chart.update(); return; }
    chart = new Chart(document.getElementById("arrivals-chart"), {
      data,
      options: {
        animation: false, maintainAspectRatio: false,
        scales: { y: { beginAtZero: true, title: { display: true, text: "pallets" } },
          trucks: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: "trucks" } } },
      },
    });
  }

  // --- live updates ---
  let pending = null;
  const changed = new Set();
  function scheduleReload(id) {
    if (id) changed.add(id);
    if (pending) return;
    pending = setTimeout(() => {
      pending = null;
      const ids = [...changed];
      changed.clear();
      loadBoard(ids);
    }, 400);
  }
  Inbound.stream(siteId, (kind, data) => {
    if (kind === "alert") loadAlerts();
    scheduleReload(data.delivery_id);
  });

  loadBoard().then(loadArrivals);
  loadAlerts();
  setInterval(() => loadBoard(), 30000);
  setInterval(loadArrivals, 300000);
})();
