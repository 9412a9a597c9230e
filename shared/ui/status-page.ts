/**
 * The built-in status page: one self-contained HTML document (no external scripts or fonts, so
 * it works on closed networks) that polls the JSON API and draws its own SVG charts. Served by
 * worker mode and by the `status-page` HTTP function at /api/ui.
 *
 * The page keys its API calls with the `code` parameter of its own URL, as Azure Functions does,
 * so dead letters (a keyed route) show when the page is opened with a key.
 */
export const statusPageHtml = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>driftless status</title>
<style>
  :root { --fg:#1d2430; --muted:#667085; --line:#e4e7ec; --ok:#12b76a; --warn:#f79009; --bad:#f04438; --accent:#2e90fa; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: #f8f9fb; }
  header { padding: 16px 24px; background: #101828; color: #fff; display: flex; gap: 16px; align-items: baseline; }
  header h1 { margin: 0; font-size: 18px; }
  header .meta { color: #98a2b3; font-size: 12px; }
  main { padding: 16px 24px; display: grid; gap: 16px; }
  section.source { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px; }
  section.source h2 { margin: 0 0 12px; font-size: 16px; }
  .tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(130px, 1fr)); gap: 8px; margin-bottom: 12px; }
  .tile { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
  .tile .label { color: var(--muted); font-size: 12px; }
  .tile .value { font-size: 20px; font-weight: 600; }
  .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 12px; }
  figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
  figcaption { color: var(--muted); font-size: 12px; margin-bottom: 4px; }
  svg.chart { width: 100%; height: 90px; display: block; }
  table { width: 100%; border-collapse: collapse; font-size: 12px; }
  th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
  .pill { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; color: #fff; }
  .closed { background: var(--ok); } .open { background: var(--bad); } .half-open { background: var(--warn); }
  .muted { color: var(--muted); }
  #error { color: var(--bad); }
</style>
</head>
<body>
<header><h1>driftless</h1><span class="meta" id="updated">loading…</span><span id="error"></span></header>
<main id="sources"></main>
<script>
(() => {
  const code = new URLSearchParams(location.search).get("code");
  const api = (path) => fetch(path + (code ? (path.includes("?") ? "&" : "?") + "code=" + encodeURIComponent(code) : ""), { headers: { accept: "application/json" } })
    .then((r) => r.ok ? r.json() : Promise.reject(new Error(path + ": " + r.status)));
  const samples = new Map(); // source -> [{t, pending, lag, deadLettered}]
  const esc = (v) => String(v ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  const fmtMs = (ms) => ms < 1000 ? ms + " ms" : ms < 60000 ? (ms / 1000).toFixed(1) + " s" : (ms / 60000).toFixed(1) + " min";

  function chart(points, color) {
    const w = 300, h = 90, pad = 4;
    if (points.length < 2) return '<svg class="chart" viewBox="0 0 300 90"><text x="8" y="50" fill="#98a2b3" font-size="12">collecting…</text></svg>';
    const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
    const x0 = Math.min(...xs), x1 = Math.max(...xs), top = Math.max(1, ...ys);
    const path = points.map(([x, y]) => [pad + (x - x0) / Math.max(1, x1 - x0) * (w - 2 * pad), h - pad - y / top * (h - 2 * pad)]);
    const line = path.map(([x, y]) => x.toFixed(1) + "," + y.toFixed(1)).join(" ");
    const area = pad + "," + (h - pad) + " " + line + " " + (w - pad) + "," + (h - pad);
    return '<svg class="chart" viewBox="0 0 300 90" preserveAspectRatio="none">'
      + '<polygon points="' + area + '" fill="' + color + '" fill-opacity="0.15"/>'
      + '<polyline points="' + line + '" fill="none" stroke="' + color + '" stroke-width="2"/>'
      + '<text x="296" y="12" text-anchor="end" fill="#667085" font-size="11">max ' + top + '</text></svg>';
  }

  async function render() {
    let status;
    try { status = await api("/api/status"); document.getElementById("error").textContent = ""; }
    catch (e) { document.getElementById("error").textContent = "status unavailable: " + e.message; return; }
    const now = Date.now();
    const html = await Promise.all(status.sources.map(async (s) => {
      const list = samples.get(s.name) || [];
      list.push({ t: now, pending: s.pending, lag: s.oldestPendingAgeMs, dead: s.deadLettered });
      while (list.length && now - list[0].t > 15 * 60 * 1000) list.shift();
      samples.set(s.name, list);
      const [history, dead] = await Promise.all([
        api("/api/sources/" + encodeURIComponent(s.name) + "/history?minutes=30").catch(() => null),
        api("/api/sources/" + encodeURIComponent(s.name) + "/deadletters?limit=10").catch(() => null),
      ]);
      const buckets = history ? history.buckets : [];
      const circuits = status.circuits || s.circuits || {};
      const jobs = (status.jobs || []).filter((j) => j.source === s.name);
      return '<section class="source" data-source="' + esc(s.name) + '"><h2>' + esc(s.name) + ' <span class="muted">→ ' + esc(s.index) + '</span></h2>'
        + '<div class="tiles">'
        + tile("pending", s.pending, "pending") + tile("in flight", s.inflight, "inflight") + tile("dead letters", s.deadLettered, "dead")
        + tile("lag", fmtMs(s.oldestPendingAgeMs), "lag") + tile("last sync", s.lastSyncAt ? new Date(s.lastSyncAt).toLocaleTimeString() : "never", "last")
        + Object.entries(circuits).map(([dep, state]) => '<div class="tile"><div class="label">' + esc(dep) + '</div><span class="pill ' + esc(state) + '">' + esc(state) + '</span></div>').join("")
        + '</div><div class="charts">'
        + figure("queue depth (this page, 15 min)", chart(list.map((p) => [p.t, p.pending]), "#2e90fa"))
        + figure("lag, ms (this page, 15 min)", chart(list.map((p) => [p.t, p.lag]), "#f79009"))
        + figure("synced per minute (30 min)", chart(buckets.map((b) => [Date.parse(b.at), b.synced]), "#12b76a"))
        + figure("dead letters (this page, 15 min)", chart(list.map((p) => [p.t, p.dead]), "#f04438"))
        + '</div>'
        + (jobs.length ? '<h3>jobs</h3><table><tr><th>job</th><th>state</th><th>scanned</th><th>indexed</th><th>errors</th></tr>'
          + jobs.map((j) => '<tr><td>' + esc(j.id) + '</td><td>' + esc(j.state) + '</td><td>' + esc(j.scanned) + '</td><td>' + esc(j.indexed) + '</td><td>' + esc(j.errors) + '</td></tr>').join("") + '</table>' : "")
        + (dead ? '<h3>dead letters</h3>' + (dead.items.length ? '<table><tr><th>id</th><th>reason</th><th>attempts</th><th>last error</th></tr>'
          + dead.items.map((d) => '<tr><td>' + esc(d.id) + '</td><td>' + esc(d.reason) + '</td><td>' + esc(d.attempts) + '</td><td>' + esc(d.lastError) + '</td></tr>').join("") + '</table>' : '<p class="muted">none</p>')
          : '<p class="muted">open this page with ?code=&lt;key&gt; to see dead letters</p>')
        + '</section>';
    }));
    document.getElementById("sources").innerHTML = html.join("");
    document.getElementById("updated").textContent = "updated " + new Date(now).toLocaleTimeString();
    document.body.dataset.ready = "true";
  }
  const tile = (label, value, key) => '<div class="tile" data-tile="' + key + '"><div class="label">' + label + '</div><div class="value">' + esc(value) + '</div></div>';
  const figure = (caption, svg) => '<figure><figcaption>' + caption + '</figcaption>' + svg + '</figure>';
  render();
  setInterval(render, 2000);
})();
</script>
</body>
</html>
`;
