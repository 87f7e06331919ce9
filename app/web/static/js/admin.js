// Admin: sites, docks, suppliers, vehicles and users — list and create through the API.
"use strict";
(() => {
  const { api, el, dateTime, toast } = Inbound;
  const lookups = { sites: [], suppliers: [] };
  const option = (list, label) => list.map((x) => ({ value: x.id, label: label(x) }));
  const RESOURCES = {
    sites: {
      title: "Sites", list: "/api/v1/sites?limit=500", create: "/api/v1/sites",
      columns: ["id", "code", "name", "kind", "timezone", "dock_count", "lat", "lon"],
      fields: [
        { name: "code", label: "Code" }, { name: "name", label: "Name" },
        { name: "kind", label: "Kind", options: () => ["distribution_centre", "warehouse", "darkstore"].map((v) => ({ value: v, label: v })) },
        { name: "lat", label: "Latitude", type: "number" }, { name: "lon", label: "Longitude", type: "number" },
        { name: "timezone", label: "Time zone", value: "Europe/Moscow" },
        { name: "dock_count", label: "Docks", type: "number", value: "4" },
      ],
    },
    docks: {
      title: "Docks", needsSite: true, list: (site) => `/api/v1/sites/${site}/docks`, create: (site) => `/api/v1/sites/${site}/docks`,
      columns: ["id", "name", "is_active"], fields: [{ name: "name", label: "Dock name" }],
    },
    suppliers: {
      title: "Suppliers", list: "/api/v1/suppliers?limit=500", create: "/api/v1/suppliers",
      columns: ["id", "code", "name", "contact_email", "is_active"],
      fields: [{ name: "code", label: "Code" }, { name: "name", label: "Name" }, { name: "contact_email", label: "Contact email", optional: true }],
    },
    vehicles: {
      title: "Vehicles", list: "/api/v1/vehicles?limit=500", create: "/api/v1/vehicles",
      columns: ["id", "supplier_id", "plate", "device_id", "last_fix_at", "is_active"],
      fields: [
        { name: "supplier_id", label: "Supplier", type: "number", options: () => option(lookups.suppliers, (s) => s.name) },
        { name: "plate", label: "Plate" }, { name: "device_id", label: "Device id" },
      ],
    },
    users: {
      title: "Users", list: "/api/v1/users?limit=500", create: "/api/v1/users",
      columns: ["id", "email", "role", "supplier_id", "site_ids", "is_active"],
      fields: [
        { name: "email", label: "Email", type: "email" },
        { name: "role", label: "Role", options: () => ["admin", "logistician", "planner", "supplier_viewer"].map((v) => ({ value: v, label: v })) },
        { name: "password", label: "Password (10+ characters)", type: "password" },
        { name: "supplier_id", label: "Supplier (supplier users)", type: "number", optional: true, options: () => [{ value: "", label: "—" }, ...option(lookups.suppliers, (s) => s.name)] },
        { name: "site_ids", label: "Site (staff)", type: "list", optional: true, options: () => [{ value: "", label: "all / none" }, ...option(lookups.sites, (s) => s.name)] },
      ],
    },
  };
  let current = "sites";
  let siteForDocks = null;

  function fieldInput(f) {
    const id = `field-${f.name}`;
    const input = f.options
      ? el("select", { id, name: f.name }, f.options().map((o) => el("option", { value: o.value }, o.label)))
      : el("input", { id, name: f.name, type: f.type === "list" ? "text" : (f.type || "text"), value: f.value || "", step: f.type === "number" ? "any" : null, required: !f.optional });
    return el("div", { class: "field" }, el("label", { for: id }, f.label), input);
  }

  function render() {
    const r = RESOURCES[current];
    document.getElementById("admin-title").textContent = r.title;
    document.querySelectorAll("[role=tab]").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === current)));
    const form = document.getElementById("admin-form");
    const extra = r.needsSite ? [el("div", { class: "field" }, el("label", { for: "dock-site" }, "Site"),
      el("select", { id: "dock-site", onchange: (ev) => { siteForDocks = ev.target.value; load(); } },
        lookups.sites.map((s) => el("option", { value: s.id, selected: String(s.id) === String(siteForDocks) }, s.name))))] : [];
    form.replaceChildren(...extra, ...r.fields.map(fieldInput), el("button", { type: "submit" }, `Add to ${r.title.toLowerCase()}`));
    load();
  }

  async function load() {
    const r = RESOURCES[current];
    if (r.needsSite && !siteForDocks) siteForDocks = lookups.sites[0]?.id;
    const url = typeof r.list === "function" ? r.list(siteForDocks) : r.list;
    let items;
    try {
      const data = await api(url);
      items = Array.isArray(data) ? data : data.items;
    } catch (err) { toast(err.message, true); return; }
    const table = Inbound.table(document.getElementById("admin-table"), r.columns.map((key) => ({
      key, label: key.replaceAll("_", " "),
      render: (row) => key.endsWith("_at") ? dateTime(row[key], "UTC") : Array.isArray(row[key]) ? row[key].join(", ") || "—" : String(row[key] ?? "—"),
    })), { rowId: (row) => String(row.id) });
    table.set(items);
  }

  document.getElementById("admin-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const r = RESOURCES[current];
    const body = {};
    for (const f of r.fields) {
      const raw = ev.target.elements[f.name].value.trim();
      if (raw === "") { if (!f.optional) { toast(`${f.label} is required.`, true); return; } continue; }
      body[f.name] = f.type === "number" ? Number(raw) : f.type === "list" ? [Number(raw)] : raw;
    }
    const url = typeof r.create === "function" ? r.create(siteForDocks) : r.create;
    try {
      await api(url, { method: "POST", body });
      toast(`${r.title}: added`);
      await refreshLookups();
      render();
    } catch (err) { toast(`${err.message} (${err.code})`, true); }
  });
  document.querySelectorAll("[role=tab]").forEach((b) => b.addEventListener("click", () => { current = b.dataset.tab; render(); }));

  async function refreshLookups() {
    const [sites, suppliers] = await Promise.all([api("/api/v1/sites?limit=500"), api("/api/v1/suppliers?limit=500")]);
    lookups.sites = sites.items;
    lookups.suppliers = suppliers.items;
  }
  refreshLookups().then(render).catch((err) => toast(err.message, true));
})();
