/**
 * The built-in status page: one self-contained HTML document (no external scripts or fonts, so
 * it works on closed networks) that polls the JSON API and draws its own SVG charts. Served by
 * worker mode and by the `status-page` HTTP function at /api/ui.
 *
 * The page keys its API calls with the `code` parameter of its own URL, as Azure Functions does,
 * so dead letters (a keyed route) show when the page is opened with a key. Jobs come from the
 * anonymous `GET /api/jobs?source=`, so they show without one.
 */
export const statusPageHtml = `<!doctype html>
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
  .queued { background: #98a2b3; } .running { background: #6172f3; } .succeeded { background: var(--ok); } .failed { background: var(--bad); } .cancelled { background: #475467; }
  h3 { margin: 12px 0 6px; font-size: 13px; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  .legend { font-size: 12px; margin-top: 2px; }
  .key { display: inline-block; width: 10px; height: 3px; vertical-align: middle; margin-right: 4px; }
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
  const samples = new Map(); // source -> [{t, pending, lag, dead, retrying}]
  const esc = (v) => String(v ?? "").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  const fmtMs = (ms) => ms < 1000 ? ms + " ms" : ms < 60000 ? (ms / 1000).toFixed(1) + " s" : (ms / 60000).toFixed(1) + " min";

  const chart = (points, color) => lines([{ points, color }]);

  /** One or more series ([[x, y], …] each) on a shared scale; the first one's area is shaded. */
  function lines(series) {
    const w = 300, h = 90, pad = 4;
    const all = series.flatMap((s) => s.points);
    if (series.every((s) => s.points.length < 2)) return '<svg class="chart" viewBox="0 0 300 90"><text x="8" y="50" fill="#98a2b3" font-size="12">collecting…</text></svg>';
    const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
    const x0 = Math.min(...xs), x1 = Math.max(...xs), top = Math.max(1, ...ys);
    const svg = series.filter((s) => s.points.length >= 2).map((s, i) => {
      const path = s.points.map(([x, y]) => [pad + (x - x0) / Math.max(1, x1 - x0) * (w - 2 * pad), h - pad - y / top * (h - 2 * pad)]);
      const line = path.map(([x, y]) => x.toFixed(1) + "," + y.toFixed(1)).join(" ");
      const area = path[0][0].toFixed(1) + "," + (h - pad) + " " + line + " " + path[path.length - 1][0].toFixed(1) + "," + (h - pad);
      return (i === 0 ? '<polygon points="' + area + '" fill="' + s.color + '" fill-opacity="0.15"/>' : "")
        + '<polyline points="' + line + '" fill="none" stroke="' + s.color + '" stroke-width="2"/>';
    }).join("");
    return '<svg class="chart" viewBox="0 0 300 90" preserveAspectRatio="none">' + svg
      + '<text x="296" y="12" text-anchor="end" fill="#667085" font-size="11">max ' + top + '</text></svg>';
  }

  const ACTIVE = new Set(["queued", "running"]);
  const time = (iso) => iso ? new Date(iso).toLocaleTimeString() : "—";
  /**
   * The source's jobs: every active one (queued or running) and the most recent ended ones, newest
   * first. The API gives no total to measure a scan against, so a job shows its counts, no bar.
   */
  function jobsBlock(list) {
    if (!list) return '<h3>jobs</h3><p class="muted">jobs unavailable</p>';
    const active = list.filter((j) => ACTIVE.has(j.state));
    const shown = active.concat(list.filter((j) => !ACTIVE.has(j.state)).slice(0, Math.max(0, 5 - active.length)));
    if (!shown.length) return '<h3>jobs</h3><p class="muted" data-jobs="none">no recent reimport or reconcile</p>';
    const num = (v) => '<td class="num">' + esc(Number(v).toLocaleString("en-US")) + '</td>';
    return '<h3>jobs <span class="muted">(' + active.length + ' active)</span></h3>'
      + '<table class="jobs"><tr><th>job</th><th>state</th><th class="num">scanned</th><th class="num">indexed</th><th class="num">enqueued</th>'
      + '<th class="num">missing</th><th class="num">errors</th><th>started</th><th>ended</th></tr>'
      + shown.map((j) => '<tr data-job="' + esc(j.jobId) + '" data-state="' + esc(j.state) + '" title="' + esc(j.jobId) + '">'
        + '<td>' + esc(j.kind) + (j.mode ? ' <span class="muted">' + esc(j.mode) + '</span>' : "") + '</td>'
        + '<td><span class="pill ' + esc(j.state) + '">' + esc(j.state) + '</span>' + (j.cancelRequested && ACTIVE.has(j.state) ? ' <span class="muted">cancelling</span>' : "")
        + (j.lastError ? '<div class="muted">' + esc(j.lastError) + '</div>' : "") + '</td>'
        + num(j.scanned) + num(j.indexed) + num(j.enqueued) + num(j.missing) + num(j.errors)
        + '<td>' + esc(j.startedAt ? time(j.startedAt) : "not yet") + '</td><td>' + esc(time(j.finishedAt)) + '</td></tr>').join("")
      + '</table>';
  }

  async function render() {
    let status;
    try { status = await api("/api/status"); document.getElementById("error").textContent = ""; }
    catch (e) { document.getElementById("error").textContent = "status unavailable: " + e.message; return; }
    const now = Date.now();
    const html = await Promise.all(status.sources.map(async (s) => {
      const list = samples.get(s.name) || [];
      // Errors over time, as /api/status reports them at each poll: the dead letters, and the keys
      // waiting out a retry backoff (pending - due: a pending key whose due time lies ahead was put
      // back by a failed attempt; nothing else in driftless enqueues with a delay). Neither is a rate:
      // these are the counts at each sample, over the time this page has been open.
      list.push({ t: now, pending: s.pending, lag: s.oldestPendingAgeMs, dead: s.deadLettered, retrying: Math.max(0, s.pending - s.due) });
      while (list.length && now - list[0].t > 15 * 60 * 1000) list.shift();
      samples.set(s.name, list);
      const [history, dead, jobs] = await Promise.all([
        api("/api/sources/" + encodeURIComponent(s.name) + "/history?minutes=30").catch(() => null),
        api("/api/sources/" + encodeURIComponent(s.name) + "/deadletters?limit=10").catch(() => null),
        api("/api/jobs?source=" + encodeURIComponent(s.name) + "&limit=10").then((r) => r.jobs).catch(() => null),
      ]);
      const buckets = history ? history.buckets : [];
      const circuits = status.circuits || s.circuits || {};
      return '<section class="source" data-source="' + esc(s.name) + '"><h2>' + esc(s.name) + ' <span class="muted">→ ' + esc(s.index) + '</span></h2>'
        + '<div class="tiles">'
        + tile("pending", s.pending, "pending") + tile("in flight", s.inflight, "inflight") + tile("dead letters", s.deadLettered, "dead")
        + tile("lag", fmtMs(s.oldestPendingAgeMs), "lag") + tile("last sync", s.lastSyncAt ? new Date(s.lastSyncAt).toLocaleTimeString() : "never", "last")
        + Object.entries(circuits).map(([dep, state]) => '<div class="tile"><div class="label">' + esc(dep) + '</div><span class="pill ' + esc(state) + '">' + esc(state) + '</span></div>').join("")
        + '</div><div class="charts">'
        + figure("queue depth (this page, 15 min)", chart(list.map((p) => [p.t, p.pending]), "#2e90fa"))
        + figure("lag, ms (this page, 15 min)", chart(list.map((p) => [p.t, p.lag]), "#f79009"))
        + figure("synced per minute (30 min)", chart(buckets.map((b) => [Date.parse(b.at), b.synced]), "#12b76a"))
        + figure("errors (this page, 15 min)",
          lines([{ points: list.map((p) => [p.t, p.dead]), color: "#f04438" }, { points: list.map((p) => [p.t, p.retrying]), color: "#7a5af8" }]), "errors",
          '<span class="key" style="background:#f04438"></span>dead letters <span class="key" style="background:#7a5af8"></span>waiting to retry')
        + '</div>'
        + jobsBlock(jobs)
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
  const figure = (caption, svg, name, legend) => '<figure' + (name ? ' data-chart="' + name + '"' : "") + '><figcaption>' + caption + '</figcaption>' + svg
    + (legend ? '<div class="legend muted">' + legend + '</div>' : "") + '</figure>';
  render();
  setInterval(render, 2000);
})();
</script>
</body>
</html>
`;
