// The landing page's state browser: the stored records of one API and collection (GET /__mock/state),
// searchable, each openable as JSON, and exported as a state fixture file (the format POST /__mock/fixtures
// loads). Read only while open; text only (never innerHTML with data).
"use strict";

(() => {
  const box = document.getElementById("browser");
  const apiSelect = document.getElementById("browse-api");
  const collectionSelect = document.getElementById("browse-collection");
  const search = document.getElementById("browse-search");
  const exportShown = document.getElementById("export-shown");
  const opened = new Set();
  let state = {};
  let loadable = null; // API -> collections a fixture can hold (the keys GET /__mock/fixtures answers)
  let shown = [];

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
    return node;
  }

  // app.js's `adminFetch`: with the admin token when the mock asks for one (ADMIN_TOKEN)
  async function getJson(url) {
    const response = await adminFetch(url, { cache: "no-store" });
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return response.json();
  }

  function keyOf(record) {
    return record.id ?? record.session_id ?? "";
  }

  // A record in one line: its first few plain values besides its id.
  function gist(record) {
    const values = Object.entries(record)
      .filter(([name, value]) => !["id", "session_id"].includes(name) && value !== null && typeof value !== "object")
      .slice(0, 5)
      .map(([, value]) => String(value));
    return values.join(" · ");
  }

  function options(select, names) {
    const current = select.value;
    select.replaceChildren(...names.map((name) => el("option", { value: name }, name)));
    if (names.includes(current)) select.value = current;
  }

  function render() {
    options(apiSelect, Object.keys(state));
    options(collectionSelect, Object.keys(state[apiSelect.value] || {}));
    const records = (state[apiSelect.value] || {})[collectionSelect.value] || [];
    const needle = search.value.trim().toLowerCase();
    shown = needle ? records.filter((r) => JSON.stringify(r).toLowerCase().includes(needle)) : records;
    const rows = [];
    for (const record of shown) {
      const key = `${apiSelect.value}.${collectionSelect.value}.${keyOf(record)}`;
      const row = el("tr", { class: "entry", "data-key": String(keyOf(record)), title: "Show as JSON" },
        el("td", { class: "key" }, keyOf(record)), el("td", {}, gist(record)));
      row.addEventListener("click", () => {
        opened.has(key) ? opened.delete(key) : opened.add(key);
        render();
      });
      rows.push(row);
      if (opened.has(key)) {
        rows.push(el("tr", { class: "detail" }, el("td", { colspan: "2" }, el("pre", {}, JSON.stringify(record, null, 2)))));
      }
    }
    document.querySelector("#records tbody").replaceChildren(...rows);
    document.getElementById("records-empty").hidden = rows.length > 0;
    document.getElementById("records-count").textContent = `${shown.length} of ${records.length}`;
    const canLoad = Boolean(loadable && (loadable[apiSelect.value] || []).includes(collectionSelect.value));
    exportShown.disabled = !canLoad || shown.length === 0;
    exportShown.title = canLoad ? "The records shown, as a state fixture file (POST /__mock/fixtures loads it)"
      : "Fixtures do not hold this collection";
  }

  async function refresh() {
    if (!box.open) return;
    try {
      if (loadable === null) {
        const exported = await getJson("/__mock/fixtures");
        loadable = Object.fromEntries(Object.entries(exported).filter(([, v]) => typeof v === "object")
          .map(([api, collections]) => [api, Object.keys(collections)]));
      }
      const fresh = await getJson("/__mock/state");
      if (JSON.stringify(fresh) !== JSON.stringify(state)) {
        state = fresh;
        render();
      }
    } catch (error) {
      document.getElementById("records-count").textContent = String(error);
    }
  }

  function download(name, document_) {
    const url = URL.createObjectURL(new Blob([JSON.stringify(document_, null, 2)], { type: "application/json" }));
    const link = el("a", { href: url, download: name });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  document.getElementById("export-all").addEventListener("click", async () => {
    try {
      download("fixtures.json", await getJson("/__mock/fixtures"));
    } catch (error) {
      document.getElementById("records-count").textContent = String(error);
    }
  });
  exportShown.addEventListener("click", () => {
    const api = apiSelect.value;
    const collection = collectionSelect.value;
    download(`${api}-${collection}.json`, { [api]: { [collection]: shown } });
  });
  apiSelect.addEventListener("change", () => { collectionSelect.value = ""; render(); });
  collectionSelect.addEventListener("change", render);
  search.addEventListener("input", render);
  box.addEventListener("toggle", refresh);
  // A collection in "Stored records" opens here.
  document.getElementById("state").addEventListener("click", (event) => {
    const item = event.target.closest("[data-collection]");
    if (!item) return;
    const [api, collection] = item.dataset.collection.split(".");
    box.open = true;
    refresh().then(() => {
      apiSelect.value = api;
      options(collectionSelect, Object.keys(state[api] || {}));
      collectionSelect.value = collection;
      render();
      box.scrollIntoView({ block: "start" });
    });
  });
  setInterval(refresh, 2000);
})();
