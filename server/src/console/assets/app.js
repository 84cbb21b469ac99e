// The Strait console: a page per hash route (#/, #/topics, #/topic/NAME, #/groups, #/group/ID, #/records?...),
// each rendered from the admin listener's read-only /api/... endpoints. No framework and no external assets; data
// only ever reaches the page through textContent, never as markup.
'use strict';

const app = document.getElementById('app');
const SAMPLE_MS = 3000;
const HISTORY = 40;

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    // Through the CSSOM: the page's Content-Security-Policy refuses style attributes.
    else if (k === 'style') el.style.cssText = v;
    else if (k === 'on') Object.entries(v).forEach(([e, f]) => el.addEventListener(e, f));
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

async function api(path) {
  const r = await fetch(path, { headers: { accept: 'application/json' } });
  const body = await r.json().catch(() => ({ error: { message: `HTTP ${r.status}` } }));
  if (!r.ok) throw new Error(body.error ? `${body.error.code || r.status}: ${body.error.message}` : `HTTP ${r.status}`);
  return body;
}

const fmtNum = (n) => (n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US'));
function fmtBytes(n) {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB']; let i = 0; n = Number(n);
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${u[i]}`;
}
const fmtTime = (ms) => (ms === null || ms === undefined ? '–' : new Date(Number(ms)).toISOString());
const topicLink = (name) => h('a', { href: `#/topic/${encodeURIComponent(name)}`, 'data-testid': 'topic-link' }, name);
const groupLink = (id) => h('a', { href: `#/group/${encodeURIComponent(id)}`, 'data-testid': 'group-link' }, id);

function table(testid, headers, rows) {
  return h('table', { 'data-testid': testid },
    h('thead', {}, h('tr', {}, headers.map((c) => h('th', { class: c.num ? 'num' : '' }, c.label || c)))),
    h('tbody', {}, rows));
}
const td = (v, cls, testid) => h('td', { class: cls, 'data-testid': testid }, v);

// Throughput: the page samples /api/throughput every few seconds and keeps rates per topic.
const traffic = { last: null, rates: new Map() };
async function sample() {
  try {
    const t = await api('/api/throughput');
    if (traffic.last) {
      const secs = Math.max((t.time_ms - traffic.last.time_ms) / 1000, 0.001);
      const prev = new Map(traffic.last.topics.map((x) => [x.topic, x]));
      for (const x of t.topics) {
        const p = prev.get(x.topic); if (!p) continue;
        const hist = traffic.rates.get(x.topic) || [];
        hist.push({ in: Math.max(x.records_in - p.records_in, 0) / secs, out: Math.max(x.records_out - p.records_out, 0) / secs });
        if (hist.length > HISTORY) hist.shift();
        traffic.rates.set(x.topic, hist);
      }
    }
    traffic.last = t;
    document.querySelectorAll('[data-spark]').forEach((el) => drawSpark(el, el.getAttribute('data-spark')));
  } catch (e) { /* the next sample retries */ }
}

function drawSpark(el, topic) {
  const hist = traffic.rates.get(topic) || [];
  const w = 120, ht = 26, max = Math.max(1, ...hist.map((r) => Math.max(r.in, r.out)));
  const step = w / Math.max(hist.length - 1, 1);
  const pts = (k) => hist.map((r, i) => `${(i * step).toFixed(1)},${(ht - 2 - (r[k] / max) * (ht - 4)).toFixed(1)}`).join(' ');
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('class', 'spark'); svg.setAttribute('width', w); svg.setAttribute('height', ht);
  for (const k of ['in', 'out']) {
    const pl = document.createElementNS(ns, 'polyline'); pl.setAttribute('class', k); pl.setAttribute('points', pts(k)); svg.append(pl);
  }
  const last = hist[hist.length - 1];
  const label = h('span', { class: 'muted mono' }, last ? ` ${last.in.toFixed(1)} in / ${last.out.toFixed(1)} out rec/s` : ' sampling…');
  el.replaceChildren(svg, label);
}
const spark = (topic) => { const el = h('span', { 'data-spark': topic }); drawSpark(el, topic); return el; };

async function overview() {
  const o = await api('/api/overview');
  const card = (label, value, testid) => h('div', { class: 'card' }, h('div', { class: 'label' }, label), h('div', { class: 'value', 'data-testid': testid }, value));
  const topics = o.topics === undefined ? null : await api('/api/topics');
  return [
    h('h1', {}, 'Overview'),
    h('div', { class: 'cards' },
      card('Health', h('span', { class: o.health.ready ? 'ok' : 'bad' }, o.health.ready ? 'ready' : `not ready (${o.health.status})`), 'health'),
      card('Version', o.version, 'version'),
      card('Topics', fmtNum(o.topics), 'topic-count'),
      card('Partitions', fmtNum(o.partitions), 'partition-count'),
      card('Kinesis streams', fmtNum(o.kinesis_streams), 'stream-count')),
    h('h2', {}, 'Health (as /healthz answers)'),
    h('pre', { class: 'health', 'data-testid': 'health-text' }, o.health.text),
    h('h2', {}, 'Listeners'),
    table('listeners', ['Listener', 'Address', 'Protocol'], o.listeners.map((l) => h('tr', {}, td(l.name), td(l.address, 'mono'), td(l.protocol)))),
    h('h2', {}, 'Throughput (records/s, sampled every 3 s)'),
    topics ? table('throughput', ['Topic', 'Records in (blue) / out (orange)'], topics.topics.map((t) => h('tr', {}, td(topicLink(t.name)), td(spark(t.name))))) : null,
  ];
}

async function topicsPage() {
  const t = await api('/api/topics');
  return [
    h('h1', {}, 'Topics & streams'),
    h('p', { class: 'muted' }, 'A Kinesis stream is a Kafka topic; its shards are partitions.'),
    table('topics', ['Name', { label: 'Partitions', num: 1 }, { label: 'Size', num: 1 }, { label: 'Records', num: 1 }, 'Kinesis', 'Throughput'],
      t.topics.map((x) => h('tr', { 'data-topic': x.name },
        td(topicLink(x.name)), td(x.partitions, 'num', 'partitions'), td(fmtBytes(x.size_bytes), 'num'), td(fmtNum(x.records), 'num', 'records'),
        td(x.kinesis ? h('span', { class: 'tag' }, 'stream') : '', '', 'kinesis'), td(spark(x.name))))),
    t.more ? h('p', { class: 'muted' }, `${t.more} more not listed`) : null,
  ];
}

function shardTree(shards) {
  const byId = new Map(shards.map((s) => [s.shard_id, s]));
  const children = new Map();
  const roots = [];
  for (const s of shards) {
    if (s.parent && byId.has(s.parent)) (children.get(s.parent) || children.set(s.parent, []).get(s.parent)).push(s);
    else roots.push(s);
  }
  const rows = [];
  const walk = (s, depth) => {
    rows.push(h('tr', { 'data-testid': 'shard-row', 'data-shard-id': s.shard_id, 'data-parent': s.parent || '', 'data-adjacent-parent': s.adjacent_parent || '' },
      td(h('span', { class: 'mono', style: `padding-left:${depth * 22}px` }, depth ? `└ ${s.shard_id}` : s.shard_id)),
      td(s.partition, 'num'),
      td(h('span', { class: `tag ${s.open ? 'open' : 'closed'}` }, s.open ? 'open' : 'closed')),
      td(s.parent || '–', 'mono'), td(s.adjacent_parent || '–', 'mono'),
      td(`${s.starting_hash_key} – ${s.ending_hash_key}`, 'mono'),
      td(s.starting_sequence_number, 'mono')));
    for (const c of children.get(s.shard_id) || []) walk(c, depth + 1);
  };
  roots.forEach((r) => walk(r, 0));
  return table('shards', ['Shard', { label: 'Partition', num: 1 }, 'State', 'Parent', 'Adjacent parent', 'Hash key range', 'Starting sequence number'], rows);
}

async function topicPage(name) {
  const t = await api(`/api/topics/${encodeURIComponent(name)}`);
  const k = t.kinesis;
  const configs = [...t.configs].sort((a, b) => (a.source === 'override' ? 0 : 1) - (b.source === 'override' ? 0 : 1) || a.name.localeCompare(b.name));
  return [
    h('h1', {}, 'Topic ', h('span', { class: 'mono', 'data-testid': 'topic-name' }, t.name), ' ', k ? h('span', { class: 'tag' }, 'Kinesis stream') : ''),
    h('p', { class: 'muted mono' }, `id ${t.id} · created ${fmtTime(t.created_ms)}`),
    h('h2', {}, 'Partitions'),
    table('partitions', [{ label: 'Partition', num: 1 }, { label: 'Log start', num: 1 }, { label: 'High watermark', num: 1 }, { label: 'Records', num: 1 }, { label: 'Size', num: 1 }, { label: 'Records in', num: 1 }, { label: 'Records out', num: 1 }, ''],
      t.partitions.map((p) => h('tr', { 'data-partition': p.partition },
        td(p.partition, 'num'), td(p.log_start, 'num', 'log-start'), td(p.high_watermark, 'num', 'high-watermark'), td(fmtNum(p.records), 'num'),
        td(fmtBytes(p.size_bytes), 'num'), td(fmtNum(p.records_in), 'num'), td(fmtNum(p.records_out), 'num'),
        td(h('a', { href: `#/records?topic=${encodeURIComponent(t.name)}&partition=${p.partition}` }, 'browse'))))),
    k ? [
      h('h2', {}, `Shards of stream ${k.stream_name} (${k.status}, ${k.mode}, retention ${k.retention_hours} h)`),
      shardTree(k.shards),
      h('h2', {}, 'Enhanced fan-out consumers'),
      k.consumers.length ? table('efo-consumers', ['Name', 'Status', 'Registered', 'ARN'], k.consumers.map((c) => h('tr', {}, td(c.name, '', 'consumer-name'), td(c.status), td(fmtTime(c.created_ms)), td(c.arn, 'mono'))))
        : h('p', { class: 'muted', 'data-testid': 'efo-consumers' }, 'No registered consumers.'),
    ] : null,
    h('h2', {}, 'Configs (overrides first, highlighted)'),
    table('configs', ['Name', 'Value', 'Source'], configs.map((c) => h('tr', { class: c.source === 'override' ? 'override' : '', 'data-config': c.name }, td(c.name, 'mono'), td(c.value, 'mono'), td(c.source)))),
  ];
}

async function groupsPage() {
  const g = await api('/api/groups');
  return [
    h('h1', {}, 'Consumer groups'),
    h('p', { class: 'muted' }, 'Classic, KIP-848 consumer and share groups. A KCL application is a group named after the application; it is marked KCL once its checkpoints are stored.'),
    table('groups', ['Group', 'Type', 'State', { label: 'Members', num: 1 }, { label: 'Lag', num: 1 }, 'Topics'],
      g.groups.map((x) => h('tr', { 'data-group': x.group_id },
        td(groupLink(x.group_id)), td([x.type, ' ', x.kcl ? h('span', { class: 'tag kcl' }, 'KCL') : '']), td(x.state, '', 'state'),
        td(x.members, 'num', 'members'), td(fmtNum(x.lag), 'num', 'lag'), td(x.topics.join(', '))))),
    g.more ? h('p', { class: 'muted' }, `${g.more} more not listed`) : null,
  ];
}

async function groupPage(id) {
  const g = await api(`/api/groups/${encodeURIComponent(id)}`);
  const assigned = (a) => a.map((x) => `${x.topic}[${x.partitions.join(',')}]`).join(' ');
  return [
    h('h1', {}, 'Group ', h('span', { class: 'mono', 'data-testid': 'group-id' }, g.group_id), ' ', g.kcl ? h('span', { class: 'tag kcl' }, 'KCL application') : ''),
    h('p', {}, h('span', { 'data-testid': 'group-type' }, g.type), ' group · state ', h('b', { 'data-testid': 'group-state' }, g.state), g.protocol ? ` · protocol ${g.protocol}` : ''),
    h('h2', {}, 'Members'),
    g.members.length ? table('members', ['Member', 'Client id', 'Host', 'Assignment'], g.members.map((m) => h('tr', {}, td(m.member_id, 'mono'), td(m.client_id, '', 'client-id'), td(m.client_host, 'mono'), td(assigned(m.assignment), 'mono', 'assignment'))))
      : h('p', { class: 'muted', 'data-testid': 'members' }, 'No members.'),
    h('h2', {}, 'Committed offsets and lag'),
    table('offsets', ['Topic', { label: 'Partition', num: 1 }, { label: 'Committed', num: 1 }, { label: 'High watermark', num: 1 }, { label: 'Lag', num: 1 }],
      g.offsets.map((o) => h('tr', { 'data-topic': o.topic, 'data-partition': o.partition },
        td(topicLink(o.topic)), td(o.partition, 'num'), td(o.committed, 'num', 'committed'), td(fmtNum(o.high_watermark), 'num', 'high-watermark'), td(fmtNum(o.lag), 'num', 'lag')))),
  ];
}

function showBytes(b) {
  if (!b) return h('span', { class: 'muted' }, 'null');
  return h('span', { class: 'mono', title: `${b.encoding}, ${b.size} bytes` }, b.encoding === 'hex' ? `0x${b.text}` : b.text, b.truncated ? h('span', { class: 'muted' }, ' …') : '');
}

async function recordsPage(params) {
  const topics = (await api('/api/topics')).topics;
  const topic = params.get('topic') || (topics[0] && topics[0].name) || '';
  const mode = params.get('mode') || 'offset';
  const form = h('form', { class: 'browse', 'data-testid': 'record-form' },
    h('label', {}, 'Topic', h('select', { name: 'topic' }, topics.map((t) => h('option', { value: t.name, selected: t.name === topic }, t.name)))),
    h('label', {}, 'Partition', h('input', { name: 'partition', type: 'number', min: 0, value: params.get('partition') || '0', style: 'width:6em' })),
    h('label', {}, 'From', h('select', { name: 'mode' }, ['offset', 'timestamp', 'sequence'].map((m) => h('option', { value: m, selected: m === mode }, m === 'sequence' ? 'Kinesis sequence number' : m === 'timestamp' ? 'timestamp (ms)' : 'offset')))),
    h('label', {}, 'Position', h('input', { name: 'value', value: params.get('value') || '', placeholder: 'log start', style: 'width:24em' })),
    h('label', {}, 'Max records', h('input', { name: 'limit', type: 'number', min: 1, max: 100, value: params.get('limit') || '20', style: 'width:6em' })),
    h('button', { type: 'submit' }, 'Show'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = new URLSearchParams(new FormData(form));
    location.hash = `#/records?${q}`;
  });
  const out = [h('h1', {}, 'Records'), form];
  if (!topic) return out;
  const q = new URLSearchParams({ topic, partition: params.get('partition') || '0', limit: params.get('limit') || '20' });
  if (params.get('value')) q.set(mode, params.get('value'));
  const r = await api(`/api/records?${q}`);
  out.push(h('p', { class: 'muted', 'data-testid': 'record-range' }, `partition ${r.partition}: log start ${r.log_start}, high watermark ${r.high_watermark}; showing ${r.records.length} from offset ${r.from}`));
  const cols = ['Offset', 'Timestamp', 'Key', 'Headers', 'Value'].concat(r.kinesis ? ['PartitionKey', 'Sequence number'] : []);
  out.push(table('records', cols, r.records.map((x) => h('tr', { 'data-offset': x.offset },
    td(x.offset, 'num', 'offset'), td(fmtTime(x.timestamp_ms), 'mono'), td(showBytes(x.key), '', 'key'),
    td(x.headers.map((hd) => h('div', { class: 'mono' }, `${hd.key}=`, showBytes(hd.value))), '', 'headers'),
    td(showBytes(x.value), '', 'value'),
    r.kinesis ? [td(x.partition_key ?? '–', 'mono', 'partition-key'), td(x.sequence_number ?? '–', 'mono', 'sequence-number')] : null))));
  if (r.records.length) {
    const next = new URLSearchParams({ topic, partition: r.partition, mode: 'offset', value: r.next_offset, limit: q.get('limit') });
    out.push(h('p', {}, h('a', { href: `#/records?${next}`, 'data-testid': 'next-page' }, 'next records →')));
  }
  return out;
}

async function route() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query] = hash.split('?');
  const params = new URLSearchParams(query || '');
  const parts = path.split('/').filter(Boolean);
  const section = parts[0] || 'overview';
  document.querySelectorAll('header nav a').forEach((a) => a.classList.toggle('active', a.dataset.nav === section.replace(/^topic$/, 'topics').replace(/^group$/, 'groups')));
  let view;
  try {
    if (section === 'overview') view = await overview();
    else if (section === 'topics') view = await topicsPage();
    else if (section === 'topic') view = await topicPage(decodeURIComponent(parts.slice(1).join('/')));
    else if (section === 'groups') view = await groupsPage();
    else if (section === 'group') view = await groupPage(decodeURIComponent(parts.slice(1).join('/')));
    else if (section === 'records') view = await recordsPage(params);
    else view = [h('div', { class: 'error' }, `No page ${hash}`)];
  } catch (e) {
    view = [h('div', { class: 'error', 'data-testid': 'error' }, String(e.message || e))];
  }
  app.replaceChildren(...[view].flat(3).filter((x) => x));
  app.setAttribute('data-route', hash);
  app.setAttribute('data-ready', 'true');
}

window.addEventListener('hashchange', () => { app.removeAttribute('data-ready'); route(); });
route();
sample();
setInterval(sample, SAMPLE_MS);
