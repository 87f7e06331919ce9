// Delivery detail: timeline of events, the track on a map, ETA history and dwell times.
"use strict";
(async () => {
  const { page, api, el, time, dateTime, badge } = Inbound;
  const id = page.delivery_id;
  let timeline, history, site;
  try {
    [timeline, history] = await Promise.all([
      api(`/api/v1/deliveries/${id}/timeline`),
      api(`/api/v1/deliveries/${id}/eta-history`),
    ]);
    site = await api(`/api/v1/sites/${timeline.delivery.site_id}`);
  } catch (err) {
    const box = document.getElementById("delivery-error");
    box.textContent = err.status === 404 ? "This delivery does not exist or is not yours to see." : err.message;
    box.hidden = false;
    return;
  }
  const tz = site.timezone;
  const d = timeline.delivery;
  document.getElementById("delivery-title").textContent = `Delivery ${d.external_ref} → ${site.name}`;
  const fact = (label, value) => el("div", { class: "count" }, el("b", {}, value), label);
  document.getElementById("delivery-summary").replaceChildren(
    fact("status", badge(d.status, "status")),
    fact("slot", `${dateTime(d.slot_start_at, tz)}–${dateTime(d.slot_end_at, tz).slice(-5)}`),
    fact("pallets", String(d.pallets)),
    fact(`now, times in ${tz}`, time(new Date().toISOString(), tz)));
  document.getElementById("timeline").replaceChildren(...(timeline.events.length ? timeline.events.map((e) =>
    el("li", {}, el("time", { datetime: e.at }, dateTime(e.at, tz)),
      el("span", {}, el("b", {}, e.kind.replaceAll("_", " ")),
        e.from_status ? ` (${e.from_status} → ${e.to_status})` : "",
        el("span", { class: "small muted" }, ` · ${e.source}`))))
    : [el("li", { class: "muted" }, "No events yet.")]));
  const dw = timeline.dwell;
  const row = (label, v) => el("tr", {}, el("th", { scope: "row" }, label), el("td", { class: "num" }, v === null ? "—" : `${Math.round(v)} min`));
  document.getElementById("dwell").replaceChildren(el("tbody", {},
    row("Travel", dw.travel_min), row("Yard wait", dw.yard_wait_min), row("Unloading", dw.unloading_min),
    row("On site", dw.on_site_min), row("Lateness at gate", dw.lateness_min)));

  if (typeof L !== "undefined") {
    const map = Inbound.map("map", [site.lat, site.lon], 11);
    L.circle([site.lat, site.lon], { radius: site.geofence_radius_m, color: "#0b5cad" }).addTo(map);
    const points = timeline.track.map((p) => [p.lat, p.lon]);
    if (points.length) {
      const line = L.polyline(points, { color: "#c62828", weight: 4 }).addTo(map);
      L.marker(points[points.length - 1], { icon: Inbound.truckIcon("#102a43"), alt: "last position" }).addTo(map);
      map.fitBounds(line.getBounds().extend([site.lat, site.lon]), { padding: [20, 20] });
    }
  }
  if (!history.length) {
    document.getElementById("eta-summary").textContent = "No ETA has been served for this delivery yet.";
    return;
  }
  const first = history[0], last = history[history.length - 1];
  document.getElementById("eta-summary").textContent =
    `${history.length} predictions from ${dateTime(first.predicted_at, tz)} to ${dateTime(last.predicted_at, tz)}; ` +
    `first said ${dateTime(first.eta_p50_at, tz)}, last said ${dateTime(last.eta_p50_at, tz)}` +
    (d.arrived_at ? `, arrived ${dateTime(d.arrived_at, tz)}` : "") + ` (model ${last.model_version}).`;
  if (typeof Chart === "undefined") return;
  const ms = (iso) => new Date(iso).getTime();
  const pts = (key) => history.map((p) => ({ x: ms(p.predicted_at), y: ms(p[key]) }));
  const datasets = [
    { label: "P90", data: pts("eta_p90_at"), borderColor: "#e69500", pointRadius: 0, fill: false },
    { label: "P50", data: pts("eta_p50_at"), borderColor: "#102a43", pointRadius: 1 },
    { label: "P10", data: pts("eta_p10_at"), borderColor: "#5b8fd1", pointRadius: 0 },
  ];
  if (d.arrived_at) {
    datasets.push({ label: "actual arrival", data: history.map((p) => ({ x: ms(p.predicted_at), y: ms(d.arrived_at) })),
      borderColor: "#2e7d32", borderDash: [6, 4], pointRadius: 0 });
  }
  const tick = (v) => dateTime(new Date(v).toISOString(), tz);
  new Chart(document.getElementById("eta-chart"), {
    type: "line",
    data: { datasets },
    options: {
      animation: false, maintainAspectRatio: false, parsing: false,
      scales: {
        x: { type: "linear", title: { display: true, text: "predicted at" }, ticks: { callback: tick } },
        y: { type: "linear", title: { display: true, text: "predicted arrival" }, ticks: { callback: tick } },
      },
    },
  });
})();
