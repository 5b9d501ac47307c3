// The page script of every cloudadmin report, inlined by @cloudadmin/report. It reads the data from the
// `report-data` JSON block and builds the page with the DOM API: every value from a cloud is put on
// screen with textContent (or an attribute set as a property), never parsed as HTML.
(() => {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });
  const api = {};
  window.cloudadminReport = api;

  /** An element with a class and children (strings become text nodes). */
  function h(tag, className, ...children) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "string" || typeof child === "number" ? String(child) : child);
    }
    return node;
  }

  function section(title, ...children) {
    const node = h("section", null, h("h2", null, title), ...children);
    document.getElementById("app").append(node);
    return node;
  }

  function show(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  /** A small table, all rows in the DOM (totals, errors, users left out). */
  function staticTable(columns, rows) {
    const table = h("table", "static");
    table.append(h("thead", null, h("tr", null, ...columns.map((c) => h("th", null, c)))));
    const body = h("tbody");
    for (const row of rows) body.append(h("tr", null, ...row.map((cell) => h("td", null, show(cell)))));
    table.append(body);
    return table;
  }

  /**
   * A table that renders only the rows in view, so 100,000 rows stay responsive. Hand-written: rows
   * have one fixed height, which makes the window arithmetic a few lines (first = scrollTop / height),
   * and the maintained virtualisers ship as split ES modules that would need a bundler in this
   * package's build to inline. Search, sort and the filters work on an index array over the rows.
   */
  function virtualTable(parent, options) {
    const { columns, rows } = options;
    const ROW = 24;
    const OVERSCAN = 10;
    // The search index: every row's cells lower-cased in one string, one row per line, and where each
    // row starts. One indexOf pass over it answers a search over 100,000 rows in a few milliseconds; it
    // is built when the browser is idle after the first render (or by the first search, if sooner).
    let index = null;
    const buildIndex = () => {
      if (index) return index;
      const starts = new Int32Array(rows.length);
      const lines = new Array(rows.length);
      let at = 0;
      for (let i = 0; i < rows.length; i++) {
        starts[i] = at;
        lines[i] = rows[i].join("\u0001").toLowerCase();
        at += lines[i].length + 1;
      }
      index = { text: lines.join("\n"), starts };
      return index;
    };
    const matching = (q) => {
      const { text, starts } = buildIndex();
      const hit = new Uint8Array(rows.length);
      let at = text.indexOf(q);
      while (at !== -1) {
        let lo = 0;
        let hi = starts.length - 1;
        while (lo < hi) {
          const mid = (lo + hi + 1) >> 1;
          if (starts[mid] <= at) lo = mid;
          else hi = mid - 1;
        }
        hit[lo] = 1;
        at = lo + 1 < starts.length ? text.indexOf(q, starts[lo + 1]) : -1;
      }
      return hit;
    };
    let order = rows.map((_, i) => i);
    let view = order;
    let sort = { column: -1, dir: 1 };
    const state = { query: "", filter: "", publicOnly: false };

    const controls = h("div", "controls");
    const search = h("input");
    search.type = "search";
    search.id = options.id ? `${options.id}-search` : "search";
    search.placeholder = "Search";
    search.setAttribute("aria-label", "Search the rows");
    controls.append(search);
    let select = null;
    if (options.filterColumn >= 0) {
      select = h("select");
      select.id = options.id ? `${options.id}-filter` : "state-filter";
      select.setAttribute("aria-label", `Filter by ${columns[options.filterColumn]}`);
      const values = [...new Set(rows.map((r) => r[options.filterColumn]))].sort(collator.compare);
      select.append(new Option(`every ${columns[options.filterColumn]}`, ""));
      for (const v of values) select.append(new Option(v === "" ? "(none)" : v, v === "" ? "\u0000" : v));
      controls.append(select);
    }
    let publicBox = null;
    if (options.publicColumn >= 0) {
      publicBox = h("input");
      publicBox.type = "checkbox";
      publicBox.id = options.id ? `${options.id}-public` : "public-only";
      const label = h("label", null, publicBox, " public IPs only");
      controls.append(label);
    }
    const count = h("span", "count");
    count.id = options.id ? `${options.id}-count` : "count";
    controls.append(count);

    const widths = columns.map((c, i) => {
      let longest = c.length;
      for (let r = 0; r < Math.min(rows.length, 500); r++) longest = Math.max(longest, rows[r][i].length);
      return `${Math.max(6, Math.min(48, longest + 3))}ch`;
    });
    const grid = h("div", "vt");
    grid.style.setProperty("--columns", widths.join(" "));
    const head = h("div", "vt-head");
    const headers = columns.map((c, i) => {
      const button = h("button", null, c);
      button.type = "button";
      button.dataset.column = String(i);
      button.addEventListener("click", () => sortBy(i));
      head.append(button);
      return button;
    });
    const body = h("div", "vt-body");
    const spacer = h("div", "vt-spacer");
    const win = h("div", "vt-rows");
    body.append(spacer, win);
    grid.append(head, body);
    parent.append(controls, grid);

    const pool = [];
    function rowNode() {
      const node = h("div", "vt-row");
      for (let i = 0; i < columns.length; i++) node.append(h("div", "vt-cell"));
      return node;
    }

    function draw() {
      const first = Math.max(0, Math.floor(body.scrollTop / ROW) - OVERSCAN);
      const visible = Math.ceil((body.clientHeight || 600) / ROW) + 2 * OVERSCAN;
      const last = Math.min(view.length, first + visible);
      while (pool.length < last - first) {
        const node = rowNode();
        pool.push(node);
        win.append(node);
      }
      win.style.transform = `translateY(${first * ROW}px)`;
      for (let k = 0; k < pool.length; k++) {
        const node = pool[k];
        const index = first + k;
        if (index >= last) {
          node.hidden = true;
          continue;
        }
        node.hidden = false;
        const row = rows[view[index]];
        node.dataset.row = String(view[index]);
        for (let c = 0; c < columns.length; c++) {
          const cell = node.children[c];
          cell.textContent = row[c];
          cell.title = row[c];
        }
      }
    }

    function apply() {
      const q = state.query.trim().toLowerCase();
      const hit = q ? matching(q) : null;
      const f = state.filter === "\u0000" ? "" : state.filter;
      const byFilter = state.filter !== "" && select;
      view = order.filter(
        (i) =>
          (!hit || hit[i] === 1) &&
          (!byFilter || rows[i][options.filterColumn] === f) &&
          (!state.publicOnly || rows[i][options.publicColumn] !== ""),
      );
      spacer.style.height = `${view.length * ROW}px`;
      // A short list takes its own height; a long one scrolls inside 60% of the window.
      body.style.height = `min(60vh, ${Math.max(3, view.length) * ROW + 2}px)`;
      count.textContent = `${view.length.toLocaleString("en")} of ${rows.length.toLocaleString("en")} rows`;
      body.scrollTop = 0;
      draw();
    }

    function sortBy(column) {
      sort = { column, dir: sort.column === column ? -sort.dir : 1 };
      order = rows
        .map((_, i) => i)
        .sort((a, b) => sort.dir * collator.compare(rows[a][column], rows[b][column]));
      headers.forEach((button, i) => {
        button.setAttribute("aria-sort", i === column ? (sort.dir > 0 ? "ascending" : "descending") : "none");
      });
      apply();
    }

    search.addEventListener("input", () => {
      state.query = search.value;
      apply();
    });
    select?.addEventListener("change", () => {
      state.filter = select.value;
      apply();
    });
    publicBox?.addEventListener("change", () => {
      state.publicOnly = publicBox.checked;
      apply();
    });
    body.addEventListener("scroll", () => requestAnimationFrame(draw), { passive: true });
    apply();
    const idle = window.requestIdleCallback ?? ((fn) => setTimeout(fn, 50));
    idle(() => {
      buildIndex();
      api.indexed = true;
    });
    return {
      visibleRows: () =>
        [...win.children].filter((n) => !n.hidden).map((n) => [...n.children].map((c) => c.textContent)),
      matching: () => view.length,
    };
  }

  function header() {
    document.getElementById("title").textContent = data.title;
    const parts = [`generated ${data.generatedAt}`, `${data.items.toLocaleString("en")} items`];
    if (data.errors.length) parts.push(`${data.errors.length} errors`);
    document.getElementById("meta").textContent = parts.join(" · ");
  }

  function summary() {
    const entries = Object.entries(data.summary);
    if (entries.length === 0) return;
    const list = h("dl", "summary");
    for (const [key, value] of entries)
      list.append(h("div", null, h("dt", null, key), h("dd", null, show(value))));
    section("Summary", list);
  }

  function errors() {
    if (data.errors.length === 0) return;
    section(
      `Errors (${data.errors.length})`,
      staticTable(
        ["scope", "phase", "code", "message"],
        data.errors.map((e) => [e.scope, e.phase, e.code, e.message]),
      ),
    );
  }

  function inventory() {
    const t = data.totals;
    const totals = h("div", "totals");
    totals.append(
      h(
        "div",
        null,
        h("h3", null, "Per subscription or account"),
        staticTable(
          ["scope", "items", "private IPs", "public IPs"],
          t.scopes.map((s) => [s.scope, s.items, s.privateIps, s.publicIps]),
        ),
      ),
      h(
        "div",
        null,
        h("h3", null, "Per region"),
        staticTable(
          ["region", "items", "private IPs", "public IPs"],
          t.regions.map((s) => [s.region, s.items, s.privateIps, s.publicIps]),
        ),
      ),
    );
    section("Totals", totals);
    const all = section("Every item");
    api.table = virtualTable(all, {
      columns: data.columns,
      rows: data.rows,
      filterColumn: data.stateColumn,
      publicColumn: data.publicColumn,
    });
  }

  function photos() {
    const sheet = h("div", "sheet");
    for (const p of data.photos) {
      const figure = h("figure", "photo");
      if (p.src) {
        const img = h("img");
        img.alt = p.key;
        img.loading = "lazy";
        img.src = p.src;
        figure.append(img);
      } else figure.append(h("div", "no-image", "not embedded"));
      figure.append(h("figcaption", null, h("strong", null, p.key), h("span", null, p.user)));
      sheet.append(figure);
    }
    section(`Photos (${data.photos.length})`, sheet);
    if (data.left.length)
      section(
        `Left out (${data.left.length})`,
        staticTable(
          ["user", "key", "status", "reason"],
          data.left.map((l) => [l.user, l.key, l.status, l.reason]),
        ),
      );
  }

  function countsBy(rows, key) {
    const counts = new Map();
    for (const r of rows) counts.set(r[key], (counts.get(r[key]) ?? 0) + 1);
    return [...counts.entries()].sort((a, b) => b[1] - a[1]);
  }

  function zoom() {
    const rows = data.rows;
    const line = (r) => [r.email, r.displayName, r.lastLoginTime, show(r.inactiveDays), r.reason, r.result];
    const cols = ["email", "name", "last login", "inactive days", "reason", "result"];
    if (data.mode === "restore") {
      section("Restored", staticTable(["result", "users"], countsBy(rows, "result")));
      api.table = virtualTable(section("Every user"), {
        columns: cols,
        rows: rows.map(line),
        filterColumn: 5,
      });
      return;
    }
    const down = rows.filter((r) => r.action === "downgrade");
    const kept = rows.filter((r) => r.action === "keep");
    const why = (list) => countsBy(list, "reason").slice(0, 20);
    section(`Plan: ${down.length} to downgrade to Basic, ${kept.length} kept`);
    const downSection = section(`Downgraded (${down.length})`);
    downSection.append(staticTable(["why", "users"], why(down)));
    api.table = virtualTable(downSection, {
      id: "down",
      columns: cols,
      rows: down.map(line),
      filterColumn: 5,
    });
    const keptSection = section(`Kept (${kept.length})`);
    keptSection.append(staticTable(["why", "users"], why(kept)));
    virtualTable(keptSection, { id: "kept", columns: cols, rows: kept.map(line), filterColumn: -1 });
    if (data.mode === "apply") section("Results", staticTable(["result", "users"], countsBy(down, "result")));
  }

  function leak() {
    const box = h("div", "chart");
    section("Memory over time (MiB)", box);
    const limit = data.limit;
    const limitSeries = data.t.map(() => limit);
    const events = data.events;
    const markEvents = (u) => {
      const ctx = u.ctx;
      ctx.save();
      ctx.strokeStyle = "#b00020";
      ctx.fillStyle = "#b00020";
      ctx.lineWidth = 2;
      ctx.setLineDash([6, 4]);
      ctx.font = `${12 * devicePixelRatio}px sans-serif`;
      for (const e of events) {
        const x = u.valToPos(e.t, "x", true);
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
        ctx.fillText(
          e.label,
          Math.max(u.bbox.left, x - 200 * devicePixelRatio),
          u.bbox.top + 14 * devicePixelRatio,
        );
      }
      ctx.restore();
    };
    const series = [
      {},
      { label: "allocated", stroke: "#7b61ff", width: 2, points: { show: false } },
      { label: "touched", stroke: "#00a3a3", width: 2, points: { show: false } },
      { label: "RSS", stroke: "#e68a00", width: 2, points: { show: false } },
      { label: "working set", stroke: "#1f6feb", width: 2, points: { show: false } },
      { label: "cgroup limit", stroke: "#b00020", width: 2, dash: [10, 5], points: { show: false } },
    ];
    const chartData = [data.t, data.allocated, data.touched, data.rss, data.workingSet, limitSeries];
    const width = Math.max(480, Math.min(1100, document.body.clientWidth - 40));
    api.chart = new uPlot(
      {
        width,
        height: 420,
        series,
        axes: [{ label: "seconds" }, { label: "MiB" }],
        scales: { x: { time: false } },
        hooks: { draw: [markEvents] },
      },
      chartData,
      box,
    );
    api.limit = limit;
    api.events = events;
    const list = h("ul", "events");
    for (const e of events) list.append(h("li", null, `${e.t.toFixed(1)} s: ${e.label}`));
    if (limit === null) list.append(h("li", null, "no cgroup limit was found"));
    section("What happened", list);
  }

  function doctor() {
    const cards = h("div", "cards");
    for (const c of data.checks) {
      const card = h("article", `card status-${/^[a-z-]+$/.test(c.status) ? c.status : "unknown"}`);
      card.append(h("h3", null, c.title), h("p", "status", c.status));
      const list = h("dl");
      for (const [k, v] of c.detail) list.append(h("div", null, h("dt", null, k), h("dd", null, v)));
      card.append(list);
      cards.append(card);
    }
    section("Providers", cards);
  }

  function generic() {
    api.table = virtualTable(section("Items"), { columns: data.columns, rows: data.rows, filterColumn: -1 });
  }

  header();
  const kinds = { inventory, photos, zoom, leak, doctor, generic };
  (kinds[data.kind] ?? generic)();
  summary();
  errors();
  document.body.dataset.ready = "true";
})();
