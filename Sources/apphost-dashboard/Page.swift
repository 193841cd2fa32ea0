/// The dashboard's page: one document, its style and script inline (no CDN, nothing fetched but this
/// server's own API). `__PROJECT__` is replaced by the project's name, escaped.
enum Page {
  static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>__PROJECT__ · apphost</title>
    <style>
    :root {
      --bg: #f6f7f9; --panel: #ffffff; --line: #e3e6eb; --text: #1c2430; --muted: #677386; --soft: #eef1f5;
      --accent: #3b6fe0; --ok: #1f9d55; --warn: #c98a04; --bad: #d64545; --idle: #8a94a6;
      --src-light: 38%; --mono: ui-monospace, "SF Mono", "JetBrains Mono", Menlo, Consolas, monospace;
      --shadow: 0 1px 2px rgba(16,24,40,.06);
      color-scheme: light dark;
    }
    @media (prefers-color-scheme: dark) {
      :root { --bg: #0f1319; --panel: #161b23; --line: #262d38; --text: #e2e7ee; --muted: #8b96a8; --soft: #1d2430;
        --src-light: 68%; --accent: #6d9bff; --ok: #3cc47c; --warn: #e2b23c; --bad: #f06a6a; --idle: #6b7486; --shadow: none; }
    }
    * { box-sizing: border-box; }
    html, body { margin: 0; height: 100%; }
    body { background: var(--bg); color: var(--text); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
    a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
    header { position: sticky; top: 0; z-index: 5; display: flex; align-items: center; gap: 14px; padding: 10px 18px;
      background: var(--panel); border-bottom: 1px solid var(--line); }
    header h1 { font-size: 15px; margin: 0; font-weight: 650; white-space: nowrap; }
    header h1 span { color: var(--muted); font-weight: 500; }
    .summary { display: flex; gap: 8px; flex-wrap: wrap; }
    .pill { font-size: 12px; padding: 2px 9px; border-radius: 999px; background: var(--soft); color: var(--muted); white-space: nowrap; }
    .pill b { color: var(--text); font-weight: 600; }
    .live { margin-left: auto; display: flex; align-items: center; gap: 6px; font-size: 12px; color: var(--muted); white-space: nowrap; }
    .live i { width: 8px; height: 8px; border-radius: 50%; background: var(--idle); display: inline-block; }
    .live.on i { background: var(--ok); box-shadow: 0 0 0 3px color-mix(in srgb, var(--ok) 25%, transparent); }
    main { display: grid; grid-template-columns: minmax(360px, 5fr) minmax(0, 6fr); gap: 16px; padding: 16px 18px;
      height: calc(100% - 49px); }
    .col { min-height: 0; overflow: auto; display: flex; flex-direction: column; gap: 12px; }
    .card { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; box-shadow: var(--shadow); padding: 12px 14px; }
    .card.bad { border-color: color-mix(in srgb, var(--bad) 55%, var(--line)); }
    .head { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
    .name { font-weight: 650; font-size: 14.5px; }
    .type { font: 11.5px var(--mono); color: var(--muted); background: var(--soft); padding: 1px 6px; border-radius: 5px; }
    .state { display: inline-flex; align-items: center; gap: 5px; font-size: 12.5px; color: var(--muted); }
    .dot { width: 9px; height: 9px; border-radius: 50%; background: var(--idle); flex: none; }
    .dot.ready, .dot.running { background: var(--ok); } .dot.starting, .dot.restarting { background: var(--warn); }
    .dot.exited { background: var(--bad); }
    .spacer { flex: 1; }
    .btns { display: flex; gap: 6px; margin-left: auto; }
    button { font: inherit; font-size: 12.5px; border: 1px solid var(--line); background: var(--panel); color: var(--text);
      padding: 3px 10px; border-radius: 6px; cursor: pointer; }
    button:hover { border-color: var(--accent); color: var(--accent); }
    button:disabled { opacity: .5; cursor: progress; }
    button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
    .meta { display: flex; flex-wrap: wrap; gap: 4px 16px; margin-top: 6px; font-size: 12.5px; color: var(--muted); }
    .meta code, .mono { font-family: var(--mono); font-size: 12px; color: var(--text); }
    .reason { margin-top: 6px; font-size: 12.5px; color: var(--bad); }
    .replicas { margin-top: 8px; border-top: 1px solid var(--line); }
    .replica { display: flex; align-items: center; gap: 10px; padding: 6px 0; border-bottom: 1px dashed var(--line); font-size: 12.5px; flex-wrap: wrap; }
    .replica:last-child { border-bottom: 0; }
    .replica .rn { font-family: var(--mono); min-width: 64px; }
    .facts { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 8px; margin-top: 10px; }
    .fact { background: var(--soft); border-radius: 7px; padding: 5px 8px; }
    .fact small { display: block; font-size: 11px; color: var(--muted); } .fact b { font: 600 14px var(--mono); }
    .chart { margin-top: 2px; height: 46px; width: 100%; display: block; }
    .chart .area { fill: color-mix(in srgb, var(--accent) 16%, transparent); } .chart .ln { fill: none; stroke: var(--accent); stroke-width: 1.5; }
    .chartlabel { margin-top: 8px; font: 11px var(--mono); color: var(--muted); }
    .logs { display: flex; flex-direction: column; min-height: 0; height: 100%; padding: 0; overflow: hidden; }
    .toolbar { display: flex; gap: 8px; align-items: center; padding: 10px 12px; border-bottom: 1px solid var(--line); flex-wrap: wrap; }
    .toolbar h2 { margin: 0 4px 0 0; font-size: 13.5px; }
    select, input[type=search] { font: inherit; font-size: 12.5px; background: var(--bg); color: var(--text); border: 1px solid var(--line); border-radius: 6px; padding: 4px 8px; }
    input[type=search] { flex: 1; min-width: 120px; }
    label.chk { font-size: 12.5px; color: var(--muted); display: flex; gap: 5px; align-items: center; white-space: nowrap; }
    #log { flex: 1; overflow: auto; font: 12px/1.5 var(--mono); padding: 6px 0; background: var(--panel); }
    .l { display: flex; gap: 10px; padding: 0 12px; white-space: pre-wrap; word-break: break-word; }
    .l:hover { background: var(--soft); }
    .l .ts { color: var(--muted); flex: none; }
    .l .src { flex: none; min-width: 8ch; font-weight: 600; color: hsl(var(--h) 60% var(--src-light)); }
    .l mark { background: color-mix(in srgb, var(--warn) 45%, transparent); color: inherit; border-radius: 2px; }
    .empty { color: var(--muted); padding: 14px; font-size: 13px; }
    .activity { font-size: 12.5px; } .activity h2 { font-size: 13.5px; margin: 0 0 6px; }
    .ev { display: flex; gap: 8px; padding: 2px 0; color: var(--muted); } .ev b { color: var(--text); font-weight: 600; }
    dialog { border: 1px solid var(--line); border-radius: 12px; background: var(--panel); color: var(--text); padding: 0; width: min(760px, 94vw); }
    dialog::backdrop { background: rgba(10,14,20,.45); }
    .dh { display: flex; align-items: center; padding: 12px 16px; border-bottom: 1px solid var(--line); gap: 8px; }
    .dh h2 { margin: 0; font-size: 14.5px; }
    .envtable { max-height: 65vh; overflow: auto; padding: 6px 16px 14px; }
    table { width: 100%; border-collapse: collapse; font-size: 12.5px; }
    td { border-bottom: 1px solid var(--line); padding: 6px 6px; vertical-align: top; }
    td.k { font-family: var(--mono); white-space: nowrap; color: var(--muted); width: 1%; }
    td.v { font-family: var(--mono); word-break: break-all; }
    #toast { position: fixed; bottom: 16px; right: 16px; max-width: 420px; background: var(--text); color: var(--bg); padding: 9px 14px; border-radius: 8px; font-size: 13px; opacity: 0; transition: opacity .2s; pointer-events: none; }
    #toast.show { opacity: .95; }
    @media (max-width: 900px) {
      main { grid-template-columns: minmax(0, 1fr); height: auto; }
      .col { overflow: visible; } .logs { height: 70vh; }
      header { flex-wrap: wrap; gap: 8px; } .live { margin-left: 0; }
      .facts { grid-template-columns: repeat(2, minmax(0, 1fr)); }
      main { padding: 10px; gap: 10px; } .card { padding: 10px 12px; }
      button { padding: 3px 8px; }
    }
    </style>
    </head>
    <body>
    <header>
      <h1>__PROJECT__ <span>· apphost</span></h1>
      <div class="summary" id="summary"></div>
      <div class="live" id="live" title="Updates arrive as they happen (server-sent events)"><i></i><span>connecting…</span></div>
    </header>
    <main>
      <section class="col" id="resources"><div class="empty">Waiting for the running apphost up…</div></section>
      <section class="col">
        <div class="card logs">
          <div class="toolbar">
            <h2>Logs</h2>
            <select id="source" aria-label="Which output"><option value="*">All resources</option></select>
            <input type="search" id="search" placeholder="Search the output" aria-label="Search the output">
            <label class="chk"><input type="checkbox" id="follow" checked> Follow</label>
            <button id="clear" title="Clear the view (the lines stay in the dashboard)">Clear</button>
          </div>
          <div id="log"></div>
        </div>
        <div class="card activity"><h2>Activity</h2><div id="events"><div class="empty">No state changes yet.</div></div></div>
      </section>
    </main>
    <dialog id="env">
      <div class="dh"><h2 id="envtitle">Environment</h2><span class="spacer"></span><button id="envclose">Close</button></div>
      <div class="envtable"><table id="envrows"></table></div>
    </dialog>
    <div id="toast"></div>
    <script>
    "use strict";
    const $ = (s, e = document) => e.querySelector(s);
    const esc = s => String(s ?? "").replace(/[&<>"']/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"}[c]));
    let resources = [], lines = [], stats = {}, events = [], cleared = 0;
    const MAX_LINES = 20000, MAX_DOM = 4000;

    const hues = new Map();
    function hue(name) { if (!hues.has(name)) hues.set(name, (hues.size * 137.508 + 200) % 360); return hues.get(name); }
    function colorOf(name) { return `--h:${hue(name).toFixed(0)}`; }
    function bytes(n) { const u = ["B","KiB","MiB","GiB"]; let i = 0; while (n >= 1024 && i < 3) { n /= 1024; i++; } return (i ? n.toFixed(1) : n) + " " + u[i]; }
    function toast(text) { const t = $("#toast"); t.textContent = text; t.classList.add("show"); clearTimeout(t._h); t._h = setTimeout(() => t.classList.remove("show"), 4000); }

    async function post(path, body) {
      const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json", "X-Apphost-Action": "1" }, body: JSON.stringify(body), credentials: "same-origin" });
      const json = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(json.error || response.statusText);
      return json;
    }

    async function act(button, command, names) {
      button.disabled = true;
      try { await post("/api/action", { command, names }); toast(`${command}: ${names.join(", ")} done`); }
      catch (error) { toast(`${command} ${names.join(", ")}: ${error.message}`); }
      finally { button.disabled = false; }
    }

    function stateOf(row) { return row.state; }
    function buttons(target, rows) {
      const running = rows.some(r => ["ready","running","starting","restarting"].includes(r.state));
      const stopped = rows.some(r => ["stopped","exited"].includes(r.state));
      return `<div class="btns">
        <button data-action="restart" data-target="${esc(target)}">Restart</button>
        ${running ? `<button data-action="stop" data-target="${esc(target)}">Stop</button>` : ""}
        ${stopped ? `<button data-action="start" data-target="${esc(target)}">Start</button>` : ""}</div>`;
    }

    function endpointLink(row) {
      if (!row.endpoint) return "";
      if (row.endpoint.startsWith("http")) return `<a href="${esc(row.endpoint)}" target="_blank" rel="noopener noreferrer">${esc(row.endpoint)}</a>`;
      return `<code>${esc(row.endpoint)}</code>`;
    }

    function renderResources() {
      const groups = new Map();
      for (const v of resources) { const key = v.row.resource; if (!groups.has(key)) groups.set(key, []); groups.get(key).push(v); }
      const ready = resources.filter(v => v.row.ready).length;
      const crashed = resources.filter(v => v.row.state === "exited").length;
      $("#summary").innerHTML = `<span class="pill"><b>${ready}</b>/${resources.length} ready</span>` +
        (crashed ? `<span class="pill" style="color:var(--bad)"><b style="color:var(--bad)">${crashed}</b> exited</span>` : "");
      const html = [];
      for (const [name, views] of groups) {
        const rows = views.map(v => v.row), first = views[0], row = first.row;
        const program = row.kind === "program";
        const bad = rows.some(r => r.state === "exited");
        const state = program && rows.length > 1 ? (rows.every(r => r.state === "running") ? "running" : rows.map(r => r.state).find(s => s !== "running")) : row.state;
        let meta = [];
        if (!program) {
          if (row.endpoint) meta.push(`<span>${row.endpoint.startsWith("http") ? "URL" : "endpoint"} ${endpointLink(row)}</span>`);
          if (first.connection) meta.push(`<span>connect <code>${esc(first.connection)}</code></span>`);
          if (first.shows && first.shows.length) meta.push(`<span>shows ${first.shows.map(esc).join(", ")}</span>`);
          if (first.shownBy && first.shownBy.length) meta.push(`<span>browse in ${first.shownBy.map(ui => { const u = resources.find(x => x.row.name === ui); return u && u.row.endpoint && u.row.ready ? `<a href="${esc(u.row.endpoint)}" target="_blank" rel="noopener noreferrer">${esc(ui)}</a>` : esc(ui); }).join(", ")}</span>`);
          if (row.exitCode != null) meta.push(`<span>exit code <code>${row.exitCode}</code></span>`);
        } else {
          meta.push(`<span>${rows.length} replica${rows.length === 1 ? "" : "s"}</span>`);
          const restarts = rows.reduce((a, r) => a + (r.restarts || 0), 0);
          meta.push(`<span>restarts <code>${restarts}</code></span>`);
        }
        let replicas = "";
        if (program) {
          replicas = `<div class="replicas">` + rows.map(r => `<div class="replica" data-process="${esc(r.name)}">
            <span class="dot ${esc(r.state)}"></span><span class="rn">${esc(r.name)}</span>
            <span class="state">${esc(r.state)}</span>
            <span>pid <code class="mono pid">${r.pid ?? "–"}</code></span>
            <span>restarts <code class="mono">${r.restarts ?? 0}</code></span>
            ${r.exitCode != null ? `<span>exit <code class="mono">${r.exitCode}</code></span>` : ""}
            <span class="spacer"></span>${rows.length > 1 ? buttons(r.name, [r]) : ""}</div>`).join("") + `</div>`;
        }
        const reasons = rows.filter(r => r.reason && !r.ready && r.state !== "stopped").map(r => `${rows.length > 1 ? r.name + ": " : ""}${r.reason}`);
        html.push(`<article class="card${bad ? " bad" : ""}" data-resource="${esc(name)}">
          <div class="head"><span class="dot ${esc(state)}"></span><span class="name">${esc(name)}</span>
            <span class="type">${esc(row.type)}</span><span class="state">${esc(state)}</span><span class="spacer"></span>
            ${program ? `<button data-env="${esc(rows[0].name)}">Environment</button>` : ""}
            ${row.state === "skipped" ? "" : buttons(name, rows)}</div>
          <div class="meta">${meta.join("")}</div>
          ${reasons.length ? `<div class="reason">${reasons.map(esc).join("<br>")}</div>` : ""}
          ${replicas}
          ${row.kind === "container" && first.connection !== undefined || (row.kind === "container" && stats[name]) ? `<div data-stats="${esc(name)}"></div>` : ""}
        </article>`);
      }
      $("#resources").innerHTML = html.join("") || `<div class="empty">No resources.</div>`;
      const select = $("#source"), current = select.value;
      const names = ["*", ...resources.map(v => v.row.name)];
      if ([...select.options].map(o => o.value).join() !== names.join()) {
        select.innerHTML = names.map(n => `<option value="${esc(n)}">${n === "*" ? "All resources" : esc(n)}</option>`).join("");
        select.value = names.includes(current) ? current : "*";
      }
      renderStats();
    }

    function chart(samples) {
      const w = 300, h = 46, n = samples.length;
      if (n < 2) return `<div class="chartlabel">ops/s · collecting INFO…</div>`;
      const values = samples.map(s => s.facts.opsPerSecond), max = Math.max(1, ...values);
      const t0 = samples[0].t, span = Math.max(1, samples[n - 1].t - t0);
      const pts = samples.map((s, i) => `${((s.t - t0) / span * w).toFixed(1)},${(h - 4 - values[i] / max * (h - 14)).toFixed(1)}`);
      const minutes = Math.max(1, Math.round(span / 60000));
      return `<div class="chartlabel">ops/s · max ${max} · last ${span < 60000 ? Math.round(span / 1000) + " s" : minutes + " min"}</div>
        <svg class="chart" viewBox="0 0 ${w} ${h}" preserveAspectRatio="none" role="img" aria-label="operations per second">
        <polygon class="area" points="0,${h} ${pts.join(" ")} ${w},${h}"/><polyline class="ln" points="${pts.join(" ")}" vector-effect="non-scaling-stroke"/></svg>`;
    }

    function renderStats() {
      for (const box of document.querySelectorAll("[data-stats]")) {
        const samples = stats[box.dataset.stats] || [];
        const last = samples[samples.length - 1];
        if (!last) { box.innerHTML = ""; continue; }
        const f = last.facts;
        box.innerHTML = `<div class="facts">
          <div class="fact"><small>keys</small><b class="keys">${f.keys}</b></div>
          <div class="fact"><small>memory</small><b>${bytes(f.usedMemory)}</b></div>
          <div class="fact"><small>clients</small><b>${f.connectedClients}</b></div>
          <div class="fact"><small>ops/s</small><b>${f.opsPerSecond}</b></div></div>${chart(samples)}`;
      }
    }

    function matches(line) {
      const source = $("#source").value, query = $("#search").value.trim().toLowerCase();
      if (line.t < cleared) return false;
      if (source !== "*" && line.n !== source) return false;
      return !query || line.l.toLowerCase().includes(query) || line.n.toLowerCase().includes(query);
    }

    function lineHTML(line) {
      const query = $("#search").value.trim();
      let text = esc(line.l);
      if (query) { const q = esc(query).replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); text = text.replace(new RegExp(q, "gi"), m => `<mark>${m}</mark>`); }
      const time = new Date(line.t).toLocaleTimeString([], { hour12: false });
      return `<div class="l" data-source="${esc(line.n)}"><span class="ts">${time}</span><span class="src" style="${colorOf(line.n)}">${esc(line.n)}</span><span class="tx">${text}</span></div>`;
    }

    function appendLines(batch) {
      const box = $("#log"), shown = batch.filter(matches);
      if (!shown.length) return;
      if (box.querySelector(".empty")) box.innerHTML = "";
      box.insertAdjacentHTML("beforeend", shown.map(lineHTML).join(""));
      while (box.childElementCount > MAX_DOM) box.firstElementChild.remove();
      if ($("#follow").checked) box.scrollTop = box.scrollHeight;
    }

    function redrawLines() {
      const box = $("#log");
      const shown = lines.filter(matches).slice(-MAX_DOM);
      box.innerHTML = shown.length ? shown.map(lineHTML).join("") : `<div class="empty">No output${$("#search").value ? " matches" : " yet"}.</div>`;
      if ($("#follow").checked) box.scrollTop = box.scrollHeight;
    }

    function renderEvents() {
      $("#events").innerHTML = events.slice(-12).reverse().map(e => `<div class="ev"><span class="mono">${esc(new Date(e.time).toLocaleTimeString([], { hour12: false }))}</span>
        <b>${esc(e.process)}</b><span>${esc(e.type)}${e.exitCode != null ? " (exit " + e.exitCode + ")" : ""}${e.pid ? " pid " + e.pid : ""}${e.reason ? " — " + esc(e.reason) : ""}</span></div>`).join("");
    }

    async function showEnvironment(name) {
      const dialog = $("#env");
      $("#envtitle").textContent = `Environment of ${name}`;
      $("#envrows").innerHTML = `<tr><td>Loading…</td></tr>`;
      dialog.showModal();
      const response = await fetch(`/api/env?name=${encodeURIComponent(name)}`, { credentials: "same-origin" });
      const variables = await response.json();
      if (!response.ok) { $("#envrows").innerHTML = `<tr><td>${esc(variables.error)}</td></tr>`; return; }
      $("#envrows").innerHTML = variables.map(v => `<tr data-var="${esc(v.name)}"><td class="k">${esc(v.name)}</td>
        <td class="v">${esc(v.value)}</td><td style="width:1%">${v.secret ? `<button data-reveal="${esc(v.name)}" data-of="${esc(name)}">Reveal</button>` : ""}</td></tr>`).join("");
    }

    document.addEventListener("click", async event => {
      const button = event.target.closest("button");
      if (!button) return;
      if (button.dataset.action) return act(button, button.dataset.action, [button.dataset.target]);
      if (button.dataset.env) return showEnvironment(button.dataset.env);
      if (button.dataset.reveal) {
        button.disabled = true;
        try {
          const { value } = await post("/api/reveal", { name: button.dataset.of, key: button.dataset.reveal });
          button.closest("tr").querySelector(".v").textContent = value;
          button.remove();
        } catch (error) { toast(error.message); button.disabled = false; }
      }
    });
    $("#envclose").onclick = () => $("#env").close();
    $("#source").onchange = redrawLines;
    $("#search").oninput = redrawLines;
    $("#follow").onchange = () => { if ($("#follow").checked) $("#log").scrollTop = $("#log").scrollHeight; };
    $("#clear").onclick = () => { cleared = Date.now(); redrawLines(); };
    // Scrolling up by hand pauses following; scrolling back to the end resumes it.
    for (const kind of ["wheel", "touchmove", "keydown"]) $("#log").addEventListener(kind, () => setTimeout(() => {
      const box = $("#log"), atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 30;
      $("#follow").checked = atEnd;
    }, 50), { passive: true });

    function connect() {
      const source = new EventSource("/api/events");
      const live = $("#live");
      source.onopen = () => { live.className = "live on"; live.lastElementChild.textContent = "live"; lines = []; stats = {}; redrawLines(); };
      source.onerror = () => { live.className = "live"; live.lastElementChild.textContent = "reconnecting…"; };
      source.addEventListener("resources", e => { resources = JSON.parse(e.data); renderResources(); });
      source.addEventListener("logs", e => { const batch = JSON.parse(e.data); lines.push(...batch); if (lines.length > MAX_LINES) lines.splice(0, lines.length - MAX_LINES); appendLines(batch); });
      source.addEventListener("stats", e => { const s = JSON.parse(e.data); for (const k in s) { (stats[k] = stats[k] || []).push(...s[k]); if (stats[k].length > 150) stats[k].splice(0, stats[k].length - 150); } renderStats(); });
      source.addEventListener("event", e => { events.push(JSON.parse(e.data)); if (events.length > 200) events.shift(); renderEvents(); });
    }
    redrawLines();
    connect();
    </script>
    </body>
    </html>
    """#
}
