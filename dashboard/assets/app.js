// tribus dashboard: polls /api/snapshot every second and streams /api/trace.
//
// Plain DOM code, no framework. Every name from the broker goes into the page through
// textContent / setAttribute (the h() helper), never through innerHTML.
'use strict';

const POLL_MS = 1000;     // snapshot period
const HISTORY = 60;       // polls of queue depth kept for the sparklines
const MAX_EVENTS = 500;   // trace events kept
const MATCH_FIELDS = ['queue', 'topic', 'group', 'channel', 'exchange']; // the text filter's fields

const state = {
  config: null,               // /api/config once loaded
  polls: 0,                   // snapshots rendered
  prev: null,                 // {at, published: Map queue -> counter} of the previous snapshot
  depth: new Map(),           // queue -> [ready+unacked of the last HISTORY polls]
  generations: new Map(),     // group id -> generation seen at the previous poll
};

// ---------------------------------------------------------------- DOM helpers

const $ = (sel, root = document) => root.querySelector(sel);

// h('td', {class: 'num', 'data-field': 'ready'}, 3) builds an element. Attributes that are
// null/false are left out; children that are strings or numbers become text nodes.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : String(c)); // append(string) makes a text node
  }
  return el;
}

// keyed makes parent's children match items, in order, reusing the child built for the same
// key at the previous render (so buttons and hover tooltips survive a poll). build(item) makes
// a child; update(el, item), if given, refreshes a child (new or reused). A key that includes
// the item's JSON makes a changed item simply rebuilt.
function keyed(parent, items, keyOf, build, update) {
  const old = new Map();
  for (const el of parent.children) old.set(el._key, el);
  let i = 0;
  for (const item of items) {
    const key = keyOf(item);
    let el = old.get(key);
    old.delete(key);
    if (!el) {
      el = build(item);
      el._key = key;
    }
    if (update) update(el, item);
    const at = parent.children[i];
    if (at !== el) parent.insertBefore(el, at || null);
    i++;
  }
  for (const el of old.values()) el.remove();
}

// empty shows the "No queues." line of a section and hides its table when there is nothing.
function empty(name, isEmpty) {
  const p = $(`[data-empty-for="${name}"]`);
  if (p) p.hidden = !isEmpty;
  const table = document.getElementById(name);
  if (table && table.tagName === 'TABLE') table.hidden = isEmpty;
}

// ---------------------------------------------------------------- formatting

const arr = (x) => (Array.isArray(x) ? x : []); // Go encodes an empty slice as null
const sum = (xs, f) => xs.reduce((a, x) => a + (Number(f(x)) || 0), 0);
const exchangeName = (n) => (n === '' ? '(default)' : n);

// clock("2024-05-01T12:34:56.789123+02:00") = "12:34:56.789", in the server's own zone.
function clock(rfc3339) {
  const m = /T(\d\d:\d\d:\d\d)(?:\.(\d+))?/.exec(rfc3339 || '');
  if (!m) return String(rfc3339 || '');
  return `${m[1]}.${(m[2] || '').padEnd(3, '0').slice(0, 3)}`;
}

function fmtBytes(n) {
  if (n < 0) return 'unlimited';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(n < 10 ? 1 : 0) : n} ${units[i]}`;
}

function fmtMs(ms) {
  if (ms < 0) return 'unlimited';
  for (const [u, d] of [['d', 864e5], ['h', 36e5], ['min', 6e4], ['s', 1e3]]) {
    if (ms >= d) return (ms % d ? (ms / d).toFixed(1) : ms / d) + u;
  }
  return ms + 'ms';
}

// fmtValue writes a trace field's value: [a,b] for lists, orders-0 for a {Topic, Partition}.
function fmtValue(v) {
  if (Array.isArray(v)) return `[${v.map(fmtValue).join(',')}]`;
  if (v && typeof v === 'object') {
    if ('Topic' in v && 'Partition' in v) return `${v.Topic}-${v.Partition}`;
    return JSON.stringify(v);
  }
  if (typeof v === 'string') return v === '' || /\s/.test(v) ? JSON.stringify(v) : v;
  return String(v);
}

// A stable colour per group id, for its offset markers and chips.
function groupColor(id) {
  let hash = 0;
  for (const ch of id) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return `hsl(${hash % 360} 62% 42%)`;
}

// flags(q, {durable: 'D', ...}) gives a small badge per boolean that is set.
function flags(obj, names) {
  return Object.entries(names).filter(([k]) => obj[k]).map(([k, label]) => h('span', { class: 'flag', title: k }, label));
}

// ---------------------------------------------------------------- status and notices

function setStatus(s, text) {
  const el = $('#status');
  el.dataset.state = s;
  $('.status-text', el).textContent = text;
}

let noticeTimer = 0;
function notify(text, kind) {
  const n = $('#notice');
  n.dataset.kind = kind;
  $('.notice-text', n).textContent = text;
  n.hidden = false;
  clearTimeout(noticeTimer);
  if (kind === 'ok') noticeTimer = setTimeout(() => { n.hidden = true; }, 5000); // errors stay until dismissed
}

// ---------------------------------------------------------------- fetching

// getJSON fetches url and parses its JSON. A network failure throws an error marked offline;
// a 4xx/5xx throws the server's {"error": "..."} message.
async function getJSON(url, opts = {}) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 5000);
  let r;
  try {
    r = await fetch(url, { ...opts, signal: ctl.signal, cache: 'no-store', headers: { Accept: 'application/json' } });
  } catch (e) {
    throw Object.assign(new Error('cannot reach the broker'), { offline: true, cause: e });
  } finally {
    clearTimeout(timer);
  }
  let body = null;
  try { body = await r.json(); } catch { /* no JSON body */ }
  if (!r.ok) throw new Error(body && body.error ? body.error : `HTTP ${r.status} ${r.statusText}`.trim());
  if (body == null) {
    if (opts.method) return {}; // an action may answer with no body
    throw new Error(`bad response from ${url}`);
  }
  return body;
}

async function loadConfig() {
  const cfg = await getJSON('/api/config');
  state.config = cfg;
  $('#version').textContent = cfg.version || '';
  document.body.classList.toggle('actions-on', !!cfg.actions);
  // Rows built before the config came have no action buttons: have them rebuilt.
  $('#queues tbody').replaceChildren();
  $('#groups').replaceChildren();
  if (cfg.trace) {
    startTrace();
  } else {
    $('#trace-note').hidden = false;
    $('#timeline').hidden = true;
    $('#timeline-section .filters').hidden = true;
    setTraceStatus('off', 'off');
  }
}

let pollTimer = 0;
let inFlight = false;

// poll fetches one snapshot and renders it, then schedules the next one. Calling it while a
// poll runs does nothing (that poll schedules the next).
async function poll() {
  clearTimeout(pollTimer);
  if (inFlight) return;
  inFlight = true;
  try {
    if (!state.config) {
      try { await loadConfig(); } catch (e) { if (e.offline) throw e; console.warn('config:', e); }
    }
    render(await getJSON('/api/snapshot'));
    setStatus('ok', 'live');
    $('#offline').hidden = true;
  } catch (e) {
    if (e.offline) {
      setStatus('offline', 'cannot reach the broker');
      const off = $('#offline');
      off.textContent = state.polls
        ? 'Cannot reach the broker: retrying every second. The data below is from the last snapshot that came.'
        : 'Cannot reach the broker: retrying every second.';
      off.hidden = false;
    } else {
      setStatus('error', `error: ${e.message}`);
      console.error(e);
    }
  } finally {
    inFlight = false;
    pollTimer = setTimeout(poll, POLL_MS);
  }
}

// ---------------------------------------------------------------- rendering a snapshot

function render(raw) {
  const s = {
    time: raw.time,
    exchanges: arr(raw.exchanges),
    queues: arr(raw.queues),
    bindings: arr(raw.bindings),
    topics: arr(raw.topics).map((t) => ({ ...t, partitions: arr(t.partitions) })),
    groups: arr(raw.groups).map((g) => ({ ...g, members: arr(g.members), offsets: arr(g.offsets) })),
    pubsub: { ...(raw.pubsub || {}), channels: arr(raw.pubsub && raw.pubsub.channels), patterns: arr(raw.pubsub && raw.pubsub.patterns) },
  };
  const t = $('#snapshot-time');
  t.textContent = s.time ? `${String(s.time).slice(0, 10)} ${clock(s.time)}` : '—';
  t.dateTime = s.time || '';

  renderOverview(s);
  renderQueues(s, Date.parse(s.time) || Date.now());
  renderExchanges(s);
  renderBindings(s);
  renderTopics(s);
  renderGroups(s);
  renderPubSub(s);

  state.polls++;
  document.body.dataset.polls = String(state.polls);
  document.body.dataset.ready = 'true';
}

function renderOverview(s) {
  const set = (key, v) => { $(`[data-overview="${key}"]`).textContent = String(v); };
  set('exchanges', s.exchanges.length);
  set('queues', s.queues.length);
  set('ready', sum(s.queues, (q) => q.ready));
  set('unacked', sum(s.queues, (q) => q.unacked));
  set('topics', s.topics.length);
  set('partitions', sum(s.topics, (t) => t.partitions.length));
  set('records', sum(s.topics, (t) => t.records));
  set('groups', s.groups.length);
  set('channels', s.pubsub.channels.length);
  set('patterns', s.pubsub.patterns.length);
  set('subscriptions', s.pubsub.subscriptions || 0);
  set('published', s.pubsub.published || 0);
}

// ---- queues

function renderQueues(s, at) {
  const published = new Map();
  const rates = new Map();
  for (const q of s.queues) {
    const hist = state.depth.get(q.name) || [];
    hist.push(q.ready + q.unacked);
    if (hist.length > HISTORY) hist.shift();
    state.depth.set(q.name, hist);
    published.set(q.name, q.published);
    // msgs/s from the published counter since the previous snapshot; none after a reset
    const prev = state.prev && state.prev.published.get(q.name);
    const dt = state.prev ? (at - state.prev.at) / 1000 : 0;
    if (prev != null && dt > 0 && q.published >= prev) rates.set(q.name, (q.published - prev) / dt);
  }
  for (const name of [...state.depth.keys()]) if (!published.has(name)) state.depth.delete(name);
  state.prev = { at, published };

  keyed($('#queues tbody'), s.queues, (q) => q.name, buildQueueRow, (tr, q) => updateQueueRow(tr, q, rates.get(q.name)));
  empty('queues', s.queues.length === 0);
}

const QUEUE_FIELDS = ['name', 'ready', 'unacked', 'consumers', 'published', 'rate', 'delivered', 'acked', 'deadLettered', 'dropped', 'dlx', 'depth'];

function buildQueueRow(q) {
  const tr = h('tr', { 'data-queue': q.name });
  tr._cells = {};
  for (const f of QUEUE_FIELDS) {
    const cls = ['name', 'dlx', 'depth'].includes(f) ? f : 'num';
    tr.append((tr._cells[f] = h('td', { 'data-field': f, class: cls })));
  }
  if (state.config && state.config.actions) {
    const name = q.name;
    tr.append(h('td', { class: 'act' },
      h('button', { type: 'button', 'data-action': 'purge', onclick: () => purgeQueue(name, tr._q) }, 'purge'),
      h('button', { type: 'button', 'data-action': 'delete', class: 'danger', onclick: () => deleteQueue(name, tr._q) }, 'delete')));
  }
  return tr;
}

function updateQueueRow(tr, q, rate) {
  tr._q = q;
  const c = tr._cells;
  const args = q.arguments || {};
  c.name.replaceChildren(h('span', { class: 'qname' }, q.name), ...flags(q, { durable: 'D', exclusive: 'X', autoDelete: 'AD' }));
  c.name.title = Object.keys(args).length ? `arguments ${JSON.stringify(args)}` : '';
  for (const f of ['ready', 'unacked', 'consumers', 'published', 'delivered', 'acked', 'deadLettered']) c[f].textContent = String(q[f] ?? 0);
  c.delivered.title = `${q.redelivered || 0} redelivered`;
  c.rate.textContent = rate == null ? '–' : `${rate.toFixed(rate < 10 ? 1 : 0)}/s`;
  const dropped = Object.entries(q.dropped || {});
  c.dropped.textContent = String(sum(dropped, ([, n]) => n));
  c.dropped.title = dropped.map(([why, n]) => `${why}: ${n}`).join(', ');
  c.dropped.classList.toggle('hot', dropped.some(([, n]) => n > 0));
  c.deadLettered.classList.toggle('hot', q.deadLettered > 0);
  // DLX: the dead-letter exchange ("" is the default exchange) and its routing key
  const hasDLX = q.deadLetterExchange || 'x-dead-letter-exchange' in args;
  c.dlx.textContent = hasDLX
    ? exchangeName(q.deadLetterExchange || '') + (q.deadLetterRoutingKey ? ` (key ${q.deadLetterRoutingKey})` : '')
    : '–';
  c.depth.replaceChildren(sparkline(state.depth.get(q.name) || []));
}

// sparkline draws the depth history as a small SVG, the newest point at the right edge.
function sparkline(values) {
  const NS = 'http://www.w3.org/2000/svg';
  const W = 120, H = 24, max = Math.max(1, ...values);
  const el = (tag, attrs) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    return e;
  };
  const step = W / (HISTORY - 1);
  const x0 = W - (values.length - 1) * step;
  const xy = values.map((v, i) => [x0 + i * step, H - 2 - (v / max) * (H - 4)]);
  const pts = xy.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
  const svg = el('svg', { class: 'spark', width: W, height: H, viewBox: `0 0 ${W} ${H}` });
  const title = el('title', {});
  const last = values.length ? values[values.length - 1] : 0;
  title.textContent = `depth ${last} now, max ${Math.max(0, ...values)} over the last ${values.length} polls`;
  svg.append(title);
  if (xy.length) {
    svg.append(el('polygon', { class: 'area', points: `${x0.toFixed(1)},${H} ${pts} ${W},${H}` }));
    svg.append(el('polyline', { class: 'line', points: pts }));
    const [lx, ly] = xy[xy.length - 1];
    svg.append(el('circle', { class: 'dot', cx: lx.toFixed(1), cy: ly.toFixed(1), r: 2 }));
  }
  return svg;
}

// ---- exchanges and bindings

function renderExchanges(s) {
  keyed($('#exchanges tbody'), s.exchanges, (x) => JSON.stringify(x), (x) => h('tr', { 'data-exchange': x.name },
    h('td', { class: x.name === '' ? 'name muted' : 'name' }, exchangeName(x.name)),
    h('td', null, x.type),
    h('td', null, flags(x, { durable: 'D', autoDelete: 'AD', internal: 'I' }),
      x.alternateExchange && h('span', { class: 'muted' }, ` AE ${x.alternateExchange}`)),
    h('td', { class: 'num', 'data-field': 'bindings' }, x.bindings),
    h('td', { class: 'num', 'data-field': 'published' }, x.published),
    h('td', { class: 'num', 'data-field': 'routed' }, x.routed),
    h('td', { class: x.unroutable > 0 ? 'num hot' : 'num', 'data-field': 'unroutable' }, x.unroutable)));
  empty('exchanges', s.exchanges.length === 0);
}

function renderBindings(s) {
  keyed($('#bindings tbody'), s.bindings, (b) => JSON.stringify(b), (b) => {
    const args = b.arguments && Object.keys(b.arguments).length ? JSON.stringify(b.arguments) : '';
    return h('tr', { 'data-source': b.source, 'data-destination': b.destination },
      h('td', { class: b.source === '' ? 'muted' : null }, exchangeName(b.source)),
      h('td', { class: 'arrow' }, '→'),
      h('td', null, b.destination, b.destinationType === 'exchange' && h('span', { class: 'flag', title: 'an exchange' }, 'X')),
      h('td', null, b.routingKey === '' ? h('span', { class: 'muted' }, '(empty)') : h('code', null, b.routingKey)),
      h('td', { class: 'args muted', title: args || null }, args));
  });
  empty('bindings', s.bindings.length === 0);
}

// ---- topics

function renderTopics(s) {
  // commits[topic][partition] = [{group, committed, lag}], from every group's offsets
  const commits = {};
  for (const g of s.groups) {
    for (const o of g.offsets) {
      const byPart = commits[o.topic] || (commits[o.topic] = {});
      (byPart[o.partition] || (byPart[o.partition] = [])).push({ group: g.id, committed: o.committed, lag: o.lag });
    }
  }
  const items = s.topics.map((t) => ({ t, c: commits[t.name] || {} }));
  keyed($('#topics'), items, (it) => JSON.stringify(it), buildTopic);
  empty('topics', s.topics.length === 0);
}

function buildTopic({ t, c }) {
  const meta = [
    `policy ${t.cleanupPolicy}`,
    `retention ${fmtMs(t.retentionMs)} / ${fmtBytes(t.retentionBytes)}`,
    `segment ${fmtBytes(t.segmentBytes)}`,
    `${t.segments} segments`,
    fmtBytes(t.size),
    `${t.records} records`,
  ];
  return h('div', { class: 'topic', 'data-topic-name': t.name },
    h('div', { class: 'topic-head' }, h('strong', null, t.name), meta.map((m) => h('span', { class: 'meta' }, m))),
    t.partitions.map((p) => buildPartition(t.name, p, c[p.partition] || [])));
}

// buildPartition draws the offsets start..end as a bar, with a tick at each group's committed
// offset and the part the slowest group has not consumed yet shaded as lag.
function buildPartition(topic, p, commits) {
  const span = p.endOffset - p.startOffset;
  const pos = (o) => (span > 0 ? Math.min(100, Math.max(0, ((o - p.startOffset) / span) * 100)) : 100);
  const bar = h('div', { class: 'bar', title: `offsets ${p.startOffset} to ${p.endOffset}` });
  const done = commits.filter((c) => c.committed >= 0);
  if (done.length) {
    const slowest = Math.min(...done.map((c) => c.committed));
    const lag = h('div', { class: 'lagzone', title: `not consumed by every group: ${slowest} to ${p.endOffset}` });
    lag.style.left = `${pos(slowest)}%`;
    lag.style.right = '0';
    bar.append(lag);
  }
  for (const c of done) {
    const tick = h('div', { class: 'tick', 'data-group-tick': c.group, title: `${c.group}: committed ${c.committed}, lag ${c.lag}` });
    tick.style.left = `${pos(c.committed)}%`;
    tick.style.background = groupColor(c.group);
    bar.append(tick);
  }
  const nums = h('div', { class: 'nums' },
    'start ', h('span', { 'data-field': 'start' }, p.startOffset),
    ' · end ', h('span', { 'data-field': 'end' }, p.endOffset),
    p.lastStableOffset !== p.endOffset && h('span', { class: 'muted', title: 'last stable offset (open transactions)' }, ` · LSO ${p.lastStableOffset}`),
    h('span', { class: 'muted' }, ` · ${fmtBytes(p.size)}, ${p.segments} seg`));
  const chips = commits.map((c) => h('span', { class: 'gchip', 'data-group-commit': c.group, title: `group ${c.group}` },
    h('i', { class: 'swatch', style: `background:${groupColor(c.group)}` }),
    `${c.group} `, c.committed < 0 ? h('span', { class: 'muted' }, 'none') : String(c.committed),
    h('span', { class: c.lag > 0 ? 'lagnum' : 'muted' }, ` lag ${c.lag}`)));
  return h('div', { class: 'partition', 'data-topic': topic, 'data-partition': p.partition },
    h('span', { class: 'pnum' }, `p${p.partition}`), bar, nums, h('div', { class: 'gchips' }, chips));
}

// ---- groups

function renderGroups(s) {
  keyed($('#groups'), s.groups, (g) => g.id, buildGroup, updateGroup);
  const ids = new Set(s.groups.map((g) => g.id));
  for (const id of [...state.generations.keys()]) if (!ids.has(id)) state.generations.delete(id);
  empty('groups', s.groups.length === 0);
}

function buildGroup(g) {
  const el = h('div', { class: 'group', 'data-group': g.id });
  const f = (el._f = {
    state: h('span', { class: 'state', 'data-field': 'state' }),
    generation: h('span', { 'data-field': 'generation' }),
    meta: h('span', { class: 'meta' }),
    lag: h('span', { 'data-field': 'lag' }),
  });
  const head = h('div', { class: 'group-head' }, h('strong', { class: 'gid' }, g.id), f.state,
    h('span', { class: 'meta' }, 'generation ', f.generation), f.meta, h('span', { class: 'meta' }, 'lag ', f.lag));
  if (state.config && state.config.actions) {
    const hint = 'the server refuses while the group has members';
    head.append(h('span', { class: 'actions' },
      h('button', { type: 'button', 'data-action': 'reset-earliest', title: hint, onclick: () => resetOffsets(g.id, 'earliest') }, 'reset to earliest'),
      h('button', { type: 'button', 'data-action': 'reset-latest', title: hint, onclick: () => resetOffsets(g.id, 'latest') }, 'reset to latest')));
  }
  el._members = h('div', { class: 'members' });
  el._noMembers = h('p', { class: 'muted small' }, 'No members.');
  el._offsets = h('tbody');
  el._table = h('table', { class: 'grid offsets' },
    h('thead', null, h('tr', null, h('th', null, 'topic'), h('th', { class: 'num' }, 'partition'), h('th', { class: 'num' }, 'committed'),
      h('th', { class: 'num' }, 'end'), h('th', { class: 'num' }, 'lag'), h('th', null, 'owner'))),
    el._offsets);
  el.append(head, el._members, el._noMembers, el._table);
  // the rebalance highlight ends by itself; drop the class so it can run again
  el.addEventListener('animationend', () => el.classList.remove('flash'));
  return el;
}

function updateGroup(el, g) {
  const f = el._f;
  f.state.textContent = g.state;
  f.state.dataset.state = g.state;
  f.generation.textContent = String(g.generation);
  f.meta.textContent = [g.protocol && `protocol ${g.protocol}`, g.leader && `leader ${g.leader}`].filter(Boolean).join(' · ');
  f.lag.textContent = String(g.lag ?? 0);
  const prev = state.generations.get(g.id);
  if (prev !== undefined && prev !== g.generation) {
    el.classList.remove('flash');
    void el.offsetWidth; // restart the animation if it is still running
    el.classList.add('flash');
  }
  state.generations.set(g.id, g.generation);

  keyed(el._members, g.members, (m) => JSON.stringify([m, m.memberId === g.leader]), (m) => h('div', { class: 'member', 'data-member': m.memberId },
    h('span', { class: 'mid', title: m.memberId }, m.memberId),
    m.memberId === g.leader && h('span', { class: 'flag', title: 'the group leader' }, 'leader'),
    m.instanceId && h('span', { class: 'muted' }, `instance ${m.instanceId}`),
    h('span', { class: 'muted' }, `topics ${arr(m.topics).join(', ') || '–'}`),
    h('span', { class: 'chips' }, arr(m.assignment).length
      ? arr(m.assignment).map((a) => h('span', { class: 'chip' }, a))
      : h('span', { class: 'muted' }, 'no partitions'))));
  el._noMembers.hidden = g.members.length > 0;

  keyed(el._offsets, g.offsets, (o) => JSON.stringify(o), (o) => h('tr', null,
    h('td', null, o.topic),
    h('td', { class: 'num' }, o.partition),
    h('td', { class: 'num' }, o.committed < 0 ? '–' : o.committed),
    h('td', { class: 'num' }, o.end),
    h('td', { class: o.lag > 0 ? 'num lagnum' : 'num' }, o.lag),
    h('td', { class: 'owner', title: o.owner || '' }, o.owner || '–')));
  el._table.hidden = g.offsets.length === 0;
}

// ---- pub/sub

function renderPubSub(s) {
  const row = (attr) => (c) => h('tr', { [attr]: c.name }, h('td', null, c.name), h('td', { class: 'num', 'data-field': 'subscribers' }, c.subscribers));
  keyed($('#channels tbody'), s.pubsub.channels, (c) => JSON.stringify(c), row('data-channel'));
  keyed($('#patterns tbody'), s.pubsub.patterns, (c) => JSON.stringify(c), row('data-pattern'));
  empty('channels', s.pubsub.channels.length === 0);
  empty('patterns', s.pubsub.patterns.length === 0);
  const p = s.pubsub;
  const counters = [['subscriptions', p.subscriptions], ['published', p.published], ['delivered', p.delivered],
    ['droppedSlow', p.droppedSlow, true], ['droppedOldest', p.droppedOldest, true], ['disconnects', p.disconnects, true]];
  $('#hub-counters').replaceChildren(...counters.flatMap(([k, v, bad]) => [
    h('dt', null, k), h('dd', { 'data-field': k, class: bad && v > 0 ? 'hot' : null }, v ?? 0)]));
}

// ---------------------------------------------------------------- actions

async function act(question, method, url, what) {
  if (!confirm(question)) return;
  try {
    const body = await getJSON(url, { method });
    const detail = Object.entries(body).filter(([, v]) => v === null || typeof v !== 'object').map(([k, v]) => `${k}=${v}`).join(' ');
    notify(`${what}: done${detail ? ` (${detail})` : ''}`, 'ok');
  } catch (e) {
    notify(`${what} failed: ${e.message}`, 'error');
  }
  poll(); // show the result now rather than at the next tick
}

function purgeQueue(name, q) {
  act(`Purge queue "${name}"?\n\nIts ${q ? q.ready : 'ready'} ready messages will be discarded.`,
    'POST', `/api/queues/${encodeURIComponent(name)}/purge`, `Purge queue "${name}"`);
}

function deleteQueue(name, q) {
  const n = q ? q.ready + q.unacked : 0;
  act(`Delete queue "${name}"?\n\nThe queue, its bindings and its ${n} messages will be gone${q && q.consumers ? `, and its ${q.consumers} consumers cancelled` : ''}.`,
    'DELETE', `/api/queues/${encodeURIComponent(name)}`, `Delete queue "${name}"`);
}

function resetOffsets(id, to) {
  act(`Reset the committed offsets of group "${id}" to the ${to} offset of each partition?\n\n` +
    `Its consumers will then read from ${to === 'earliest' ? 'the oldest record kept' : 'new records only'}. The server refuses while the group has members.`,
  'POST', `/api/groups/${encodeURIComponent(id)}/reset-offsets?to=${to}`, `Reset offsets of group "${id}" to ${to}`);
}

// ---------------------------------------------------------------- timeline

const trace = {
  kept: [],          // the last MAX_EVENTS events, oldest first
  keys: new Set(),   // seq|time of the kept events: a reconnect replays history we already have
  pending: [],       // received, not drawn yet (drawn in batches)
  frozen: null,      // the events shown when pause was ticked
  missed: 0,         // events received while paused
  n: 0,              // local counter numbering the events received
  flushTimer: 0,
};

function setTraceStatus(s, text) {
  const el = $('#trace-status');
  el.dataset.state = s;
  el.textContent = text;
}

function startTrace() {
  $('#trace-note').hidden = true;
  setTraceStatus('connecting', 'connecting…');
  const es = new EventSource('/api/trace');
  es.onopen = () => setTraceStatus('live', 'live');
  es.onmessage = (e) => {
    let ev;
    try { ev = JSON.parse(e.data); } catch { return; }
    if (ev && typeof ev === 'object') receive(ev);
  };
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) { // the browser gave up: start over later
      es.close();
      setTraceStatus('down', 'disconnected, retrying in 5 s');
      setTimeout(startTrace, 5000);
    } else {
      setTraceStatus('down', 'reconnecting…');
    }
  };
}

function receive(ev) {
  const key = `${ev.seq}|${ev.time}`;
  if (trace.keys.has(key)) return;
  trace.keys.add(key);
  Object.defineProperty(ev, '_n', { value: ++trace.n }); // not enumerable: not a field
  Object.defineProperty(ev, '_key', { value: key });
  trace.kept.push(ev);
  while (trace.kept.length > MAX_EVENTS) trace.keys.delete(trace.kept.shift()._key);
  trace.pending.push(ev);
  if ($('#pause').checked) trace.missed++;
  if (!trace.flushTimer) trace.flushTimer = setTimeout(flush, 100);
}

// isLoss tells the events that show a message (or trace events) lost.
function isLoss(ev) {
  if (ev.lost > 0) return true;
  switch (ev.engine) {
    case 'pubsub': return (ev.kind === 'published' && ev.receivers === 0) || ev.kind === 'disconnected' || ev.kind === 'dropped';
    case 'exchange': return ['dropped', 'expired', 'dead-lettered', 'returned'].includes(ev.kind);
    case 'log': return ['member-expired', 'lost', 'txn-aborted'].includes(ev.kind);
  }
  return false;
}

// matcher returns a test for the filters as they are set now.
function matcher() {
  const engine = $('#engine-filter').value;
  const text = $('#text-filter').value.trim().toLowerCase();
  return (ev) => (!engine || ev.engine === engine) &&
    (!text || MATCH_FIELDS.some((f) => typeof ev[f] === 'string' && ev[f].toLowerCase().includes(text)));
}

function eventItem(ev) {
  const li = h('li', {
    'data-engine': ev.engine, 'data-kind': ev.kind, 'data-seq': ev.seq,
    'data-group': ev.group != null ? ev.group : null, class: isLoss(ev) ? 'warn' : null, title: ev.time,
  });
  li._n = ev._n;
  const fields = h('span', { class: 'fields' });
  for (const [k, v] of Object.entries(ev)) {
    if (k === 'seq' || k === 'time' || k === 'engine' || k === 'kind') continue;
    // (the spaces between the flex items are not drawn, but make copied text readable)
    fields.append(' ', h('span', { class: k === 'lost' ? 'f lost' : 'f' }, h('span', { class: 'k' }, `${k}=`), fmtValue(v)));
  }
  li.append(h('time', { class: 't' }, clock(ev.time)), ' ', h('span', { class: `badge engine-${ev.engine}` }, ev.engine),
    ' ', h('span', { class: 'kind' }, ev.kind), fields);
  return li;
}

// flush draws the events received since the last flush at the top of the list.
function flush() {
  trace.flushTimer = 0;
  const fresh = trace.pending;
  trace.pending = [];
  if ($('#pause').checked) { updateCount(); return; }
  const ol = $('#timeline');
  const oldest = trace.kept.length ? trace.kept[0]._n : Infinity;
  const ok = matcher();
  const frag = document.createDocumentFragment();
  for (let i = fresh.length - 1; i >= 0; i--) if (fresh[i]._n >= oldest && ok(fresh[i])) frag.append(eventItem(fresh[i]));
  ol.prepend(frag);
  while (ol.lastElementChild && ol.lastElementChild._n < oldest) ol.lastElementChild.remove(); // no longer kept
  updateCount();
}

// redraw draws the whole list again, after a filter changed or pause was unticked.
function redraw() {
  const events = $('#pause').checked && trace.frozen ? trace.frozen : trace.kept;
  const ok = matcher();
  const frag = document.createDocumentFragment();
  for (let i = events.length - 1; i >= 0; i--) if (ok(events[i])) frag.append(eventItem(events[i]));
  $('#timeline').replaceChildren(frag);
  updateCount();
}

function updateCount() {
  const shown = $('#timeline').children.length;
  let text = `${shown} shown of ${trace.kept.length} kept`;
  if ($('#pause').checked) text += ` · paused, ${trace.missed} new`;
  $('#timeline-count').textContent = text;
}

function onPause() {
  trace.pending = [];
  if ($('#pause').checked) {
    trace.frozen = trace.kept.slice();
    trace.missed = 0;
    updateCount();
  } else {
    trace.frozen = null;
    redraw();
  }
}

// ---------------------------------------------------------------- start

$('#notice .close').addEventListener('click', () => { $('#notice').hidden = true; });
$('#engine-filter').addEventListener('change', redraw);
$('#text-filter').addEventListener('input', redraw);
$('#pause').addEventListener('change', onPause);
poll();
