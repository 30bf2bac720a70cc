// Pitstop's web console: a view of the admin API's JSON (console.h). Plain
// DOM, no framework; every text a driver controls goes in as text, never
// as markup.
'use strict';

const REFRESH_MS = 2000;
const EVENT_WAIT_S = 20;

// An element: h('td', {class: 'num'}, 'text', child...).
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === 'class') el.className = v;
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

async function getJson(path) {
  const response = await fetch(path, {cache: 'no-store'});
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

const stateName = (s) => (s || '').replace('DRIVER_STATE_', '');
const categoryName = (c) => (c || '').replace('CATEGORY_', '').toLowerCase();
const badge = (s) => h('span', {class: 'badge state-' + stateName(s)}, stateName(s));

function latency(seconds) {
  if (!seconds) return '-';
  if (seconds < 0.001) return Math.round(seconds * 1e6) + 'µs';
  if (seconds < 1) return (seconds * 1e3).toFixed(1) + 'ms';
  return seconds.toFixed(2) + 's';
}
const rate = (r) => (!r ? '0' : r >= 100 ? Math.round(r).toString() : r.toFixed(1));
const errors = (v) => (v && v.callsPerSecond > 0 ? (v.errorRate * 100).toFixed(1) + '%' : '-');
function bytes(n) {
  n = Number(n || 0);
  if (!n) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) { n /= 1024; u++; }
  return u === 0 ? n + 'B' : n.toFixed(1) + units[u];
}
const time = (t) => h('time', {datetime: t}, new Date(t).toLocaleTimeString());

function sandboxText(sb) {
  if (!sb || !sb.mode || sb.mode === 'off') return 'off';
  const parts = [sb.mode];
  if (sb.namespaces && sb.namespaces.length) parts.push('ns ' + sb.namespaces.join(','));
  if (sb.seccomp) parts.push('seccomp');
  if (sb.noNewPrivs) parts.push('no-new-privs');
  if (sb.cgroup) parts.push('cgroup');
  if (sb.gaps && sb.gaps.length) parts.push('missing: ' + sb.gaps.join(', '));
  return parts.join(' · ');
}

function statsOf(stats, name, version) {
  const d = (stats.drivers || []).find((x) => x.name === name);
  if (!d) return null;
  return (d.versions || []).find((v) => v.version === version) || null;
}

function upgradeText(d) {
  if (!d.upgrade) return '';
  const pending = d.resourcesPending ? ` · ${d.resourcesPending} resources still on the old version` : '';
  return d.upgrade + pending;
}

// --- live events -------------------------------------------------------

const live = {last: null, events: [], listeners: new Set()};

async function followEvents() {
  for (;;) {
    try {
      const q = live.last === null ? '' : `?after=${live.last}&wait=${EVENT_WAIT_S}`;
      const got = await getJson('/api/v1/events' + q);
      live.last = got.last;
      if (got.events.length) {
        live.events = live.events.concat(got.events).slice(-200);
        for (const f of live.listeners) f();
      }
      setStatus(true);
    } catch (e) {
      setStatus(false, e.message);
      await new Promise((r) => setTimeout(r, REFRESH_MS));
    }
  }
}

function setStatus(up, why) {
  const el = document.getElementById('status');
  el.className = up ? 'status' : 'status down';
  el.textContent = up ? 'live · updated ' + new Date().toLocaleTimeString()
                      : 'cannot reach pitstopd: ' + why;
}

function eventList(driver) {
  const shown = live.events.filter((e) => !driver || e.driver === driver).slice(-50).reverse();
  if (!shown.length) return h('p', {class: 'muted'}, 'No events yet.');
  return h('ul', {class: 'events', id: 'events'}, shown.map((e) => h('li', {'data-kind': e.kind},
      time(e.time), h('strong', {}, e.driver), ' ', e.kind,
      e.kind === 'state' ? [' ', stateName(e.from), ' → ', stateName(e.to)] : '',
      e.reason ? h('span', {class: 'muted'}, ' — ' + e.reason) : '')));
}

// --- the drivers page --------------------------------------------------

async function driversPage(main) {
  const [list, stats, updates] = await Promise.all([
    getJson('/api/v1/drivers'), getJson('/api/v1/stats'),
    getJson('/api/v1/updates').catch(() => ({updates: []}))]);
  const rows = (list.drivers || []).map((d) => {
    const v = statsOf(stats, d.name, d.version);
    return h('tr', {'data-driver': d.name},
        h('td', {}, h('a', {href: '#/driver/' + encodeURIComponent(d.name)}, d.name)),
        h('td', {class: 'state', 'data-state': stateName(d.state)}, badge(d.state)),
        h('td', {}, d.version),
        h('td', {}, categoryName(d.category)),
        h('td', {class: 'num pid'}, d.pid || '-'),
        h('td', {class: 'num restarts'}, d.restarts),
        h('td', {class: 'num'}, v ? rate(v.callsPerSecond) : '0'),
        h('td', {class: 'num'}, errors(v)),
        h('td', {}, d.signer ? 'signed by ' + d.signer : h('span', {class: 'muted'}, 'unsigned')),
        h('td', {}, sandboxText(d.sandbox)),
        h('td', {class: 'upgrade'}, upgradeText(d)));
  });
  main.replaceChildren(
      h('h1', {}, 'Drivers'),
      h('section', {}, h('table', {id: 'drivers'},
          h('thead', {}, h('tr', {}, ['Name', 'State', 'Version', 'Category', 'PID', 'Restarts',
            'Calls/s', 'Errors', 'Signature', 'Sandbox', 'Upgrade'].map((t) => h('th', {}, t)))),
          h('tbody', {}, rows))),
      h('h2', {}, 'Available updates'),
      h('section', {}, (updates.updates || []).length
          ? h('ul', {}, updates.updates.map((u) => h('li', {},
              `${u.name}: ${u.installedVersion} → ${u.availableVersion} (${u.repository})`)))
          : h('p', {class: 'muted'}, 'None: every driver is at the newest version its repositories offer.')),
      h('h2', {}, 'Events'),
      h('section', {}, eventList('')));
}

// --- a driver's page ---------------------------------------------------

const charts = {};
const PALETTE = ['#0969da', '#cf222e', '#1a7f37', '#9a6700', '#8250df'];

function chartData(stats, field, scale) {
  const d = (stats.drivers || [])[0];
  return ((d && d.versions) || []).filter((v) => (v.points || []).length).map((v, i) => ({
    label: v.version,
    borderColor: PALETTE[i % PALETTE.length],
    backgroundColor: PALETTE[i % PALETTE.length],
    data: v.points.map((p) => ({x: Math.round((new Date(p.time) - Date.now()) / 1000),
      y: (p[field] || 0) * scale})),
    borderWidth: 1.5, pointRadius: 0, tension: 0.2,
  }));
}

function drawChart(id, title, datasets) {
  const canvas = document.getElementById(id);
  if (!canvas || typeof Chart === 'undefined') return;
  if (charts[id] && charts[id].canvas === canvas) {
    charts[id].data.datasets = datasets;
    charts[id].update('none');
    return;
  }
  charts[id] = new Chart(canvas, {
    type: 'line', data: {datasets},
    options: {animation: false, maintainAspectRatio: false, parsing: {xAxisKey: 'x', yAxisKey: 'y'},
      plugins: {title: {display: true, text: title}},
      scales: {x: {type: 'linear', min: -300, max: 0, title: {display: true, text: 'seconds ago'}},
        y: {beginAtZero: true}}},
  });
}

function propertyValue(v) {
  if (!v) return '';
  for (const k of ['stringValue', 'numberValue', 'boolValue', 'dateValue']) {
    if (v[k] !== undefined) return String(v[k]);
  }
  return '';
}

async function driverPage(main, name) {
  const [d, stats, order] = await Promise.all([
    getJson('/api/v1/drivers/' + encodeURIComponent(name)),
    getJson('/api/v1/drivers/' + encodeURIComponent(name) + '/stats'),
    getJson('/api/v1/order')]);
  const place = (order.drivers || []).find((e) => e.name === name);
  const fact = (k, v) => [h('dt', {}, k), h('dd', {}, v)];
  const props = (d.properties || []).map((p) => h('tr', {'data-key': p.key},
      h('td', {}, h('code', {}, p.key)), h('td', {class: 'label'}, p.label),
      h('td', {}, (p.type || '').replace('PROPERTY_TYPE_', '').toLowerCase()),
      h('td', {}, p.required ? 'yes' : ''), h('td', {}, p.secret ? '***' : propertyValue(p.defaultValue)),
      h('td', {class: 'description'}, p.description)));
  const keep = main.querySelector('.charts');
  main.replaceChildren(
      h('h1', {}, d.name, ' ', badge(d.state), ' ', h('span', {class: 'muted'}, d.version)),
      h('p', {}, d.description),
      d.upgrade ? h('p', {class: 'upgrade'}, upgradeText(d)) : '',
      h('section', {}, h('dl', {class: 'facts'},
          fact('Vendor', d.vendor), fact('Category', categoryName(d.category)),
          fact('PID', d.pid || '-'), fact('Restarts', d.restarts),
          fact('Message', d.message || '-'), fact('Last exit', d.lastExit || '-'),
          fact('Signature', d.signer ? 'signed by ' + d.signer : 'unsigned'),
          fact('Sandbox', sandboxText(d.sandbox)),
          fact('Installed versions', (d.installedVersions || []).join(', ')),
          fact('Previous version', d.previousVersion || '-'),
          fact('Start order', place ? `level ${place.level}: ${place.reason}` : '-'))),
      keep || h('div', {class: 'charts'},
          h('section', {}, h('div', {class: 'chart'}, h('canvas', {id: 'rate-chart'}))),
          h('section', {}, h('div', {class: 'chart'}, h('canvas', {id: 'latency-chart'})))),
      h('h2', {}, 'Properties'),
      h('section', {}, h('table', {id: 'properties'},
          h('thead', {}, h('tr', {}, ['Key', 'Label', 'Type', 'Required', 'Default', 'Description']
              .map((t) => h('th', {}, t)))),
          h('tbody', {}, props))),
      h('h2', {}, 'Events'),
      h('section', {}, eventList(name)));
  drawChart('rate-chart', 'Calls/s, last 5 minutes', chartData(stats, 'callsPerSecond', 1));
  drawChart('latency-chart', 'p99 latency (ms), last 5 minutes', chartData(stats, 'p99Seconds', 1000));
}

// --- routing -----------------------------------------------------------

let rendering = null;

async function render() {
  const main = document.getElementById('main');
  const m = location.hash.match(/^#\/driver\/(.+)$/);
  try {
    if (m) await driverPage(main, decodeURIComponent(m[1]));
    else await driversPage(main);
    setStatus(true);
  } catch (e) {
    main.replaceChildren(h('p', {class: 'error'}, e.message));
    setStatus(false, e.message);
  }
}

// One render at a time; a request while one runs renders once more after.
function refresh() {
  if (rendering) { rendering.again = true; return; }
  rendering = {again: false};
  render().finally(() => {
    const again = rendering.again;
    rendering = null;
    if (again) refresh();
  });
}

window.addEventListener('hashchange', () => {
  for (const id of Object.keys(charts)) { charts[id].destroy(); delete charts[id]; }
  document.getElementById('main').replaceChildren();
  refresh();
});
live.listeners.add(refresh);
refresh();
setInterval(refresh, REFRESH_MS);
followEvents();
