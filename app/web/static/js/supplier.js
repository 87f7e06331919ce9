// Supplier view: only this supplier's deliveries and vehicles, with ETAs and open alerts.
"use strict";
(() => {
  const { api, el, dateTime, minutes, badge, toast } = Inbound;
  const zones = new Map();
  const at = (r, key) => dateTime(r[key], zones.get(r.site_id) || "UTC");
  const deliveries = Inbound.table(document.getElementById("supplier-table"), [
    { key: "site", label: "Site" },
    { key: "external_ref", label: "Reference", render: (r) => el("a", { href: `/delivery/${r.delivery_id}` }, r.external_ref) },
    { key: "plate", label: "Vehicle" },
    { key: "slot_start_at", label: "Slot", render: (r) => at(r, "slot_start_at") },
    { key: "eta_p50_at", label: "ETA", render: (r) => r.eta_p50_at ? `${at(r, "eta_p50_at")} (${at(r, "eta_p10_at").slice(-5)}–${at(r, "eta_p90_at").slice(-5)})` : "—" },
    { key: "minutes_late", label: "Early/late", num: true, render: (r) => minutes(r.minutes_late) },
    { key: "risk", label: "Risk", render: (r) => badge(r.risk) },
    { key: "reasons", label: "Alerts", sortable: false, render: (r) => r.reasons.length ? r.reasons.map((x) => badge(x.reason, x.severity)) : "—" },
    { key: "status", label: "Status", render: (r) => badge(r.status, "status") },
    { key: "pallets", label: "Pallets", num: true },
  ], { rowId: (r) => String(r.delivery_id), emptyText: "No open deliveries." });
  const vehicles = Inbound.table(document.getElementById("vehicles-table"), [
    { key: "plate", label: "Plate" },
    { key: "device_id", label: "Device id" },
    { key: "last_fix_at", label: "Last fix", render: (v) => dateTime(v.last_fix_at, "UTC") + (v.last_fix_at ? " UTC" : "") },
    { key: "position", label: "Position", sortable: false, render: (v) => v.last_lat === null ? "—" : `${v.last_lat.toFixed(4)}, ${v.last_lon.toFixed(4)}` },
  ], { rowId: (v) => String(v.id), emptyText: "No vehicles." });

  document.getElementById("filter-text").addEventListener("input", (ev) => {
    const text = ev.target.value.trim().toLowerCase();
    deliveries.filter((r) => !text || [r.site, r.plate, r.external_ref].some((v) => (v || "").toLowerCase().includes(text)));
  });

  async function load() {
    try {
      const [rows, sites, fleet] = await Promise.all([
        api("/api/v1/board"), api("/api/v1/sites?limit=200"), api("/api/v1/vehicles?limit=200"),
      ]);
      sites.items.forEach((s) => zones.set(s.id, s.timezone));
      deliveries.set(rows);
      vehicles.set(fleet.items);
    } catch (err) { toast(`Could not load: ${err.message}`, true); }
  }
  load();
  setInterval(load, 30000);
})();
