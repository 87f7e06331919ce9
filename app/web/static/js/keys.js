// Supplier API keys (create, download once, revoke) and integration instructions.
"use strict";
(() => {
  const { page, api, el, dateTime, toast } = Inbound;
  const placeholder = "<YOUR API KEY>";
  const osmandBase = page.osmand_port ? `http://${page.host}:${page.osmand_port}/` : `${page.base_url}/osmand`;
  function instructions(key) {
    document.getElementById("osmand-url").textContent = `${osmandBase}?key=${key}`;
    document.getElementById("batch-example").textContent =
`curl -X POST ${page.base_url}/api/v1/positions \\
  -H "X-API-Key: ${key}" -H "Content-Type: application/json" \\
  -d '{"positions": [{"device_id": "truck-17", "ts": "2026-11-23T08:15:00Z",
                      "lat": 55.7512, "lon": 37.6184, "speed_mps": 13.4}]}'`;
  }
  instructions(placeholder);

  const keys = Inbound.table(document.getElementById("keys-table"), [
    { key: "name", label: "Name" },
    { key: "prefix", label: "Starts with", render: (k) => el("code", {}, k.prefix + "…") },
    { key: "created_at", label: "Created", render: (k) => dateTime(k.created_at, "UTC") },
    { key: "last_used_at", label: "Last used", render: (k) => dateTime(k.last_used_at, "UTC") },
    { key: "revoked_at", label: "State", render: (k) => k.revoked_at ? Inbound.badge("revoked", "late") : Inbound.badge("active", "on_time") },
    { key: "actions", label: "", sortable: false, render: (k) => k.revoked_at ? "" :
      el("button", { type: "button", class: "secondary", onclick: () => revoke(k), "aria-label": `Revoke key ${k.name}` }, "Revoke") },
  ], { rowId: (k) => String(k.id), emptyText: "No keys yet." });

  async function load() {
    try { keys.set((await api("/api/v1/api-keys?limit=200")).items); }
    catch (err) { toast(err.message, true); }
  }
  async function revoke(key) {
    if (!confirm(`Revoke the key “${key.name}”? Devices using it will be refused.`)) return;
    try { await api(`/api/v1/api-keys/${key.id}/revoke`, { method: "POST" }); toast("Key revoked"); load(); }
    catch (err) { toast(err.message, true); }
  }
  document.getElementById("key-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const name = document.getElementById("key-name").value.trim();
    if (!name) { toast("Give the key a name.", true); return; }
    try {
      const created = await api("/api/v1/api-keys", { method: "POST", body: { name } });
      document.getElementById("new-key-value").textContent = created.key;
      const blob = new Blob([`${created.key}\n`], { type: "text/plain" });
      document.getElementById("new-key-download").href = URL.createObjectURL(blob);
      document.getElementById("new-key").hidden = false;
      instructions(created.key);
      ev.target.reset();
      load();
    } catch (err) { toast(err.message, true); }
  });
  load();
})();
