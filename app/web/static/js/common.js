// Shared helpers of every dashboard page: API calls, times in the site's zone, tables, live stream.
"use strict";

const Inbound = (() => {
  const page = JSON.parse(document.getElementById("page-data")?.textContent || "{}");

  function cookie(name) {
    const found = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
    return found ? decodeURIComponent(found.split("=")[1]) : null;
  }

  class ApiError extends Error {
    constructor(status, body) {
      const err = (body && body.error) || {};
      super(err.message || `request failed (${status})`);
      this.status = status;
      this.code = err.code || "http_" + status;
    }
  }

  async function api(path, { method = "GET", body, raw = false, signIn = true } = {}) {
    const headers = { Accept: raw ? "*/*" : "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRF-Token"] = cookie("inbound_csrf") || "";
    const res = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 401 && signIn) {
      location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
      throw new ApiError(401, null);
    }
    if (!res.ok) {
      let payload = null;
      try { payload = await res.json(); } catch (_) { /* not JSON */ }
      throw new ApiError(res.status, payload);
    }
    if (raw) return res;
    return res.status === 204 ? null : res.json();
  }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const formats = new Map();
  function formatter(tz, withDate) {
    const key = tz + (withDate ? "|d" : "");
    if (!formats.has(key)) {
      const opts = { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: tz || "UTC" };
      if (withDate) Object.assign(opts, { day: "2-digit", month: "short" });
      formats.set(key, new Intl.DateTimeFormat("en-GB", opts));
    }
    return formats.get(key);
  }
  function time(iso, tz = page.timezone) {
    return iso ? formatter(tz, false).format(new Date(iso)) : "—";
  }
  function dateTime(iso, tz = page.timezone) {
    return iso ? formatter(tz, true).format(new Date(iso)) : "—";
  }
  function minutes(value) {
    if (value === null || value === undefined) return "—";
    const sign = value > 0 ? "+" : "";
    return `${sign}${Math.round(value)} min`;
  }

  function badge(text, kind) {
    return text ? el("span", { class: `badge ${kind || text}` }, text.replaceAll("_", " ")) : "—";
  }

  function toast(message, isError = false) {
    let box = document.getElementById("toast");
    const item = el("div", { class: isError ? "error" : "", role: isError ? "alert" : "status" }, message);
    box.append(item);
    setTimeout(() => item.remove(), 6000);
  }

  // A sortable, filterable table: columns = [{key, label, render?, sort?, num?}].
  function table(container, columns, { rowId, onRender, emptyText = "Nothing to show" } = {}) {
    const state = { rows: [], sortKey: null, dir: 1, filter: () => true, flash: new Set() };
    const thead = el("thead", {}, el("tr", {}, columns.map((c) =>
      el("th", { scope: "col", class: c.num ? "num" : null, "data-key": c.key },
        c.sortable === false ? c.label : el("button", {
          class: "sort", type: "button", onclick: () => sortBy(c.key),
          "aria-label": `Sort by ${c.label}`,
        }, c.label)))));
    const tbody = el("tbody");
    const tableEl = el("table", {}, thead, tbody);
    container.replaceChildren(tableEl);

    function sortBy(key) {
      state.dir = state.sortKey === key ? -state.dir : 1;
      state.sortKey = key;
      render();
    }
    function value(row, column) {
      return column.sort ? column.sort(row) : row[column.key];
    }
    function render() {
      let rows = state.rows.filter(state.filter);
      const column = columns.find((c) => c.key === state.sortKey);
      if (column) {
        rows = [...rows].sort((a, b) => {
          const va = value(a, column), vb = value(b, column);
          if (va === vb) return 0;
          if (va === null || va === undefined) return 1;
          if (vb === null || vb === undefined) return -1;
          return (va < vb ? -1 : 1) * state.dir;
        });
      }
      for (const th of thead.querySelectorAll("th")) {
        th.setAttribute("aria-sort", th.dataset.key === state.sortKey
          ? (state.dir > 0 ? "ascending" : "descending") : "none");
      }
      tbody.replaceChildren(...(rows.length ? rows.map((row) => {
        const id = rowId ? rowId(row) : null;
        const tr = el("tr", { "data-id": id, class: state.flash.has(id) ? "flash" : null },
          columns.map((c) => el("td", { class: c.num ? "num" : null, "data-col": c.key },
            c.render ? c.render(row) : (row[c.key] ?? "—"))));
        return tr;
      }) : [el("tr", {}, el("td", { colspan: columns.length, class: "muted" }, emptyText))]));
      state.flash.clear();
      if (onRender) onRender(rows);
    }
    return {
      set(rows, changedIds = []) {
        state.rows = rows;
        changedIds.forEach((id) => state.flash.add(id));
        render();
      },
      filter(fn) { state.filter = fn; render(); },
      rows: () => state.rows,
      element: tableEl,
    };
  }

  // The site's live stream; calls onEvent(kind, data) and shows the connection state.
  function stream(siteId, onEvent) {
    const dot = document.getElementById("live-dot");
    const label = document.getElementById("live-label");
    const source = new EventSource(`/api/v1/sites/${siteId}/stream`);
    const set = (on) => {
      if (dot) dot.classList.toggle("on", on);
      if (label) label.textContent = on ? "live" : "reconnecting…";
    };
    source.onopen = () => set(true);
    source.onerror = () => set(false);
    for (const kind of ["delivery", "eta", "alert", "position"]) {
      source.addEventListener(kind, (ev) => onEvent(kind, JSON.parse(ev.data)));
    }
    return source;
  }

  // A map that stays usable when tiles cannot load (no internet): markers still show.
  function map(elementId, center, zoom = 10) {
    if (typeof L === "undefined") return null;
    const m = L.map(elementId, { zoomControl: true }).setView(center, zoom);
    if (page.tile_url) {
      L.tileLayer(page.tile_url, {
        maxZoom: 18,
        attribution: "© OpenStreetMap contributors",
      }).addTo(m);
    }
    return m;
  }

  function truckIcon(color) {
    return L.divIcon({
      className: "",
      html: `<svg width="22" height="22" viewBox="0 0 22 22" aria-hidden="true"><circle cx="11" cy="11" r="8" fill="${color}" stroke="#fff" stroke-width="3"/></svg>`,
      iconSize: [22, 22],
      iconAnchor: [11, 11],
    });
  }

  async function logout() {
    try { await api("/api/v1/auth/logout", { method: "POST" }); } catch (_) { /* gone anyway */ }
    location.href = "/login";
  }
  document.getElementById("logout")?.addEventListener("click", logout);

  return { page, api, el, time, dateTime, minutes, badge, toast, table, stream, map, truckIcon, ApiError };
})();
