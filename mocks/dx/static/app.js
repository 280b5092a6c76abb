// The landing page's live parts: polls the admin API every 2 s and renders the journal, webhook
// deliveries, outbox and record counts. Plain DOM, text only (never innerHTML with data).
"use strict";

const POLL_MS = 2000;
const SHOWN_REQUESTS = 50;
const expanded = new Set();
const lastSeen = {};

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
}

function time(iso) {
  return iso ? new Date(iso).toLocaleTimeString([], { hour12: false }) : "";
}

function statusBadge(status) {
  const text = status === null || status === undefined ? "—" : String(status);
  return el("span", { class: `status s${text[0]}` }, text);
}

function pretty(value) {
  if (value === null || value === undefined || value === "") return "(none)";
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

// A shared mock (ADMIN_TOKEN set) answers its admin API only with `Authorization: Bearer <token>`: on a 401
// or 403 the page shows a token field; the token is kept for this tab only (sessionStorage), never in a URL.
const TOKEN_KEY = "mockAdminToken";

async function adminFetch(url, options) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const response = await fetch(url, { ...options, headers });
  if (response.status === 401 || response.status === 403) {
    document.getElementById("token-form").hidden = false;
    const error = new Error(`${url}: HTTP ${response.status} (admin token needed)`);
    error.needsToken = true;
    throw error;
  }
  return response;
}

document.getElementById("token-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, document.getElementById("token").value.trim());
  document.getElementById("token").value = "";
  event.target.hidden = true;
  await refresh();
});

async function getJson(url) {
  const response = await adminFetch(url, { cache: "no-store" });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

// Re-render a section only when its data changed, so an open row or a text selection survives a poll.
function changed(key, data) {
  const text = JSON.stringify(data);
  if (lastSeen[key] === text) return false;
  lastSeen[key] = text;
  return true;
}

function fill(name, rows, count) {
  document.querySelector(`#${name} tbody`).replaceChildren(...rows);
  document.getElementById(`${name}-empty`).hidden = rows.length > 0;
  document.getElementById(`${name}-count`).textContent = count ? `(${count})` : "";
}

function renderRequests(entries) {
  const rows = [];
  for (const entry of entries.slice(-SHOWN_REQUESTS).reverse()) {
    const query = new URLSearchParams();
    for (const [key, values] of Object.entries(entry.query || {})) values.forEach((v) => query.append(key, v));
    const path = entry.path + (query.toString() ? `?${query}` : "");
    const row = el(
      "tr",
      { class: "entry", "data-id": entry.id, title: "Show headers and bodies" },
      el("td", {}, time(entry.timestamp)),
      el("td", {}, entry.api),
      el("td", { class: "method" }, entry.method),
      el("td", { class: "path" }, path, entry.forced ? el("span", { class: "tag" }, "forced") : ""),
      el("td", {}, statusBadge(entry.status)),
      el("td", { class: "num" }, entry.durationMs),
    );
    row.addEventListener("click", () => {
      expanded.has(entry.id) ? expanded.delete(entry.id) : expanded.add(entry.id);
      lastSeen.requests = null;
      renderRequests(entries);
    });
    rows.push(row);
    if (expanded.has(entry.id)) {
      rows.push(
        el(
          "tr",
          { class: "detail" },
          el(
            "td",
            { colspan: "6" },
            el("h4", {}, "Request headers"), el("pre", {}, pretty(entry.headers)),
            el("h4", {}, "Request body"), el("pre", {}, pretty(entry.body)),
            el("h4", {}, "Response body"), el("pre", {}, pretty(entry.responseBody)),
          ),
        ),
      );
    }
  }
  fill("requests", rows, entries.length);
}

function renderWebhooks(attempts) {
  const rows = attempts.slice(-SHOWN_REQUESTS).reverse().map((a) =>
    el(
      "tr", {},
      el("td", {}, time(a.at)),
      el("td", {}, a.webhookType),
      el("td", { class: "path" }, a.url),
      el("td", { class: "num" }, a.attempt),
      el("td", {}, a.error ? el("span", { title: a.error }, statusBadge(a.status || 0), " ", a.error) : statusBadge(a.status)),
    ),
  );
  fill("webhooks", rows, attempts.length);
}

function renderOutbox(messages) {
  const rows = messages.slice(-SHOWN_REQUESTS).reverse().map((m) =>
    el("tr", {}, el("td", {}, time(m.sentAt)), el("td", {}, m.api), el("td", {}, m.channel),
      el("td", {}, m.to), el("td", {}, m.subject)),
  );
  fill("outbox", rows, messages.length);
}

function renderSummary(summary) {
  document.getElementById("seed").textContent = summary.seed;
  const groups = Object.entries(summary.collections).map(([api, counts]) =>
    el(
      "div", { class: "group", "data-api": api },
      el("h3", {}, api),
      el("ul", {}, ...Object.entries(counts).map(([name, n]) =>
        el("li", { "data-collection": `${api}.${name}` }, `${name} `, el("b", {}, n)))),
    ),
  );
  document.getElementById("state").replaceChildren(...groups);
}

const SOURCES = [
  ["requests", "/__mock/requests", renderRequests],
  ["webhooks", "/__mock/webhooks/attempts", renderWebhooks],
  ["outbox", "/__mock/outbox", renderOutbox],
  ["summary", "/__mock/summary", renderSummary],
];

async function refresh() {
  const live = document.getElementById("live");
  try {
    const results = await Promise.all(SOURCES.map(([, url]) => getJson(url)));
    SOURCES.forEach(([key, , render], i) => changed(key, results[i]) && render(results[i]));
    live.className = "live on";
    live.textContent = `live · updated ${time(new Date().toISOString())}`;
  } catch (error) {
    live.className = "live off";
    live.textContent = error.needsToken ? "admin token needed (ADMIN_TOKEN)" : "offline: is the mock running?";
  }
}

function toast(message) {
  let box = document.querySelector(".toast");
  if (!box) document.body.append((box = el("div", { class: "toast", role: "status" })));
  box.textContent = message;
  box.classList.add("shown");
  setTimeout(() => box.classList.remove("shown"), 2500);
}

async function post(url, method) {
  const response = await adminFetch(url, { method });
  if (!response.ok) throw new Error(`${method} ${url}: HTTP ${response.status}`);
  return response.status === 204 ? {} : response.json();
}

document.getElementById("reset").addEventListener("click", async () => {
  try {
    const body = await post("/__mock/reset", "POST");
    expanded.clear();
    toast(`Reset to seed ${body.seed}`);
  } catch (error) {
    toast(String(error));
  }
  await refresh();
});

document.getElementById("clear-requests").addEventListener("click", async () => {
  await post("/__mock/requests", "DELETE").catch((error) => toast(String(error)));
  await refresh();
});

async function poll() {
  await refresh();
  setTimeout(poll, POLL_MS);
}

poll();
