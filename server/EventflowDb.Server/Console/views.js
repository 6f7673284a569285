// The console's screens. Each view renders into `view` and may return a function that stops what it started.
import { ApiError, follow, json, request } from './api.js';
import { eventHref, formatNumber, formatTime, h, prettyJson, streamHref } from './dom.js';
import { lineChart } from './chart.js';
import { poller } from './poller.js';

const STREAM_PAGE = 25;
const SCAN_CHUNK = 500;
const SCAN_LIMIT = 20_000;
const EVENT_PAGE = 20;
const TAIL_ROWS = 500;
const CHART_WINDOW_MS = 5 * 60 * 1000;

const enc = encodeURIComponent;

function panel(title, actions, ...body) {
  return h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', {}, title), actions || null), ...body);
}

function table(headers, rows, empty) {
  if (rows.length === 0) return h('div', { class: 'empty' }, empty);
  return h('table', {},
    h('thead', {}, h('tr', {}, headers.map(([label, cls]) => h('th', { class: cls }, label)))),
    h('tbody', {}, rows));
}

function card(label, value, sub, { mono = false, testid } = {}) {
  return h('div', { class: 'card', dataset: testid ? { testid } : undefined },
    h('div', { class: 'label' }, label),
    h('div', { class: mono ? 'value mono' : 'value', title: String(value) }, value),
    sub ? h('div', { class: 'sub', title: sub }, sub) : null);
}

function idLink(id, own) {
  if (!id) return h('span', { class: 'muted' }, '–');
  if (id === own) return h('span', { class: 'mono muted', title: 'the event itself' }, `${id} (self)`);
  return h('a', { class: 'mono', href: eventHref(id) }, id);
}

/** One event: type, version, stream, id, time; data and metadata as pretty JSON; message, causation and correlation ids. */
function eventCard(e, { showStream = false, target = false } = {}) {
  return h('article', { class: target ? 'event target' : 'event', dataset: { id: e.id } },
    h('div', { class: 'event-head' },
      h('span', { class: 'badge accent' }, `v${e.version}`),
      h('span', { class: 'event-type' }, e.type),
      showStream ? h('a', { href: `${streamHref(e.stream)}?from=${e.version}` }, e.stream) : null,
      h('span', { class: 'spacer' }),
      h('a', { class: 'mono', href: eventHref(e.id), title: 'event id' }, e.id),
      h('span', { class: 'muted' }, formatTime(e.added_at))),
    h('div', { class: 'event-body' },
      h('div', {}, h('div', { class: 'label' }, 'Data'), prettyJson(e.data)),
      h('div', {}, h('div', { class: 'label' }, 'Metadata'), prettyJson(e.metadata))),
    h('div', { class: 'event-ids' },
      h('div', {}, h('span', { class: 'label' }, 'Position'), h('span', { class: 'mono' }, e.position)),
      h('div', {}, h('span', { class: 'label' }, 'Causation'), idLink(e.causation_id, e.id)),
      h('div', {}, h('span', { class: 'label' }, 'Correlation'), idLink(e.correlation_id, e.id)),
      e.message_id ? h('div', {}, h('span', { class: 'label' }, 'Message id'), h('span', { class: 'mono' }, e.message_id)) : null,
      e.forgotten ? h('div', {}, h('span', { class: 'badge warn' }, 'forgotten')) : null));
}

// ---------------------------------------------------------------------------------------------------------------- dashboard

function dashboard({ view, setTitle }) {
  setTitle('Dashboard');
  const cards = h('div', { class: 'cards' });
  const rateNow = h('span', { class: 'now' });
  const latencyNow = h('span', { class: 'now' });
  const rateChart = h('div', { class: 'chart' });
  const latencyChart = h('div', { class: 'chart' });
  const status = h('div', { class: 'notice', hidden: true });
  const groupsBody = h('div', {});
  const groupsPanel = panel('Consumer groups', h('a', { href: '#/groups' }, 'All groups'), groupsBody);
  view.append(status, cards, h('div', { class: 'charts' },
    panel('Events per second', rateNow, rateChart),
    panel('Commit latency (ms, mean)', latencyNow, latencyChart)), groupsPanel);

  // The groups with the most parked, then pending, events (hidden for a user without GROUP rights).
  async function renderGroups() {
    try {
      const { body } = await json('/groups');
      body.sort((a, b) => b.parked - a.parked || b.pending - a.pending || a.name.localeCompare(b.name));
      groupsPanel.hidden = false;
      groupsBody.replaceChildren(table([['Group'], ['Channel'], ['Pending', 'num'], ['Parked', 'num']], body.slice(0, 5).map(g => h('tr', {},
        h('td', {}, h('a', { href: `#/groups/${enc(g.name)}` }, g.name)),
        h('td', {}, h('code', {}, g.channel)),
        h('td', { class: 'num' }, formatNumber(g.pending)),
        h('td', { class: 'num' }, g.parked > 0 ? h('span', { class: 'badge warn' }, formatNumber(g.parked)) : '0'))),
      'No consumer groups yet.'));
    } catch {
      groupsPanel.hidden = true;
    }
  }

  function render() {
    const s = poller.stats;
    status.hidden = !poller.error;
    status.textContent = poller.error ? `Could not read the server's counters: ${poller.error.message}` : '';
    if (s) {
      cards.replaceChildren(
        card('Events', formatNumber(s.event_count), `index: ≈ ${formatNumber(s.event_count_estimate)}`, { testid: 'events' }),
        card('Streams', formatNumber(s.stream_count), `index: ≈ ${formatNumber(s.stream_count_estimate)}`, { testid: 'streams' }),
        card('Size on disk', s.size, `${formatNumber(s.size_bytes)} bytes`, { testid: 'size' }),
        card('Uptime', s.uptime, `version ${s.version}`, { testid: 'uptime' }),
        card('Checksum', s.checksum, `last event ${s.last_id}`, { mono: true, testid: 'checksum' }));
    }
    const points = poller.samples.filter(p => p.rate !== undefined);
    const last = points[points.length - 1];
    rateNow.textContent = last ? `${last.rate.toFixed(1)} /s` : '…';
    latencyNow.textContent = last && last.latencyMs !== null ? `${last.latencyMs.toFixed(2)} ms` : '–';
    // The last five minutes; less while the console has watched for less (at least half a minute), so the line fills the chart.
    const now = Date.now();
    const window = Math.min(CHART_WINDOW_MS, Math.max(30_000, points.length ? now - points[0].t : 0));
    rateChart.replaceChildren(lineChart(points.map(p => ({ t: p.t, v: p.rate })), window, now));
    latencyChart.replaceChildren(lineChart(points.map(p => ({ t: p.t, v: p.latencyMs ?? null })), window, now));
  }

  render();
  renderGroups();
  return poller.subscribe(() => {
    render();
    renderGroups();
  });
}

// ---------------------------------------------------------------------------------------------------------------- streams

const streamBack = [];

async function streams({ view, params, setTitle }) {
  setTitle('Streams');
  const prefix = params.get('prefix') || '';
  const skip = Number(params.get('skip') || 0);
  const search = h('input', { type: 'search', placeholder: 'Stream name starts with…', value: prefix, 'aria-label': 'Prefix' });
  const form = h('form', { class: 'toolbar', onsubmit: e => { e.preventDefault(); streamBack.length = 0; location.hash = `#/streams?prefix=${enc(search.value)}`; } },
    search, h('button', { type: 'submit' }, 'Search'));

  // LISTSTREAMS pages in creation order; the prefix is matched here, scanning forward until a page is full.
  const found = [];
  let cursor = skip;
  let nextSkip = null;
  let scanned = 0;
  scan: while (scanned < SCAN_LIMIT) {
    const { body } = await json(`/streams?skip=${cursor}&limit=${SCAN_CHUNK}`);
    for (let i = 0; i < body.length; i++) {
      if (body[i].stream.startsWith(prefix)) {
        found.push(body[i]);
        if (found.length === STREAM_PAGE) {
          nextSkip = cursor + i + 1;
          break scan;
        }
      }
    }
    scanned += body.length;
    cursor += body.length;
    if (body.length < SCAN_CHUNK) break;
    if (scanned >= SCAN_LIMIT) nextSkip = cursor;
  }

  const rows = found.map(s => h('tr', {},
    h('td', {}, h('a', { href: streamHref(s.stream) }, s.stream)),
    h('td', { class: 'num' }, formatNumber(s.events)),
    h('td', { class: 'num' }, formatNumber(s.version)),
    h('td', {}, formatTime(s.added_at)),
    h('td', {}, formatTime(s.updated_at))));
  const go = target => { location.hash = `#/streams?prefix=${enc(prefix)}&skip=${target}`; };
  const pager = h('div', { class: 'pager' },
    h('span', { class: 'muted' }, found.length ? `${found.length} stream${found.length === 1 ? '' : 's'} on this page` : ''),
    h('button', { disabled: streamBack.length === 0 || skip === 0, onclick: () => go(streamBack.pop() ?? 0) }, '← Previous'),
    h('button', { disabled: nextSkip === null, onclick: () => { streamBack.push(skip); go(nextSkip); } }, 'Next →'));
  view.append(panel('Streams', form,
    table([['Stream'], ['Events', 'num'], ['Version', 'num'], ['Created'], ['Last write']], rows,
      prefix ? `No stream starts with “${prefix}”.` : 'No streams yet.'),
    pager));
}

async function stream({ view, parts, params, setTitle }) {
  const name = parts.join('/');
  setTitle(name);
  const from = Math.max(0, Number(params.get('from') || 0));
  const { body: events, next } = await json(`/streams/${enc(name)}?from=${from}&limit=${EVENT_PAGE}`);
  const go = target => { location.hash = `${streamHref(name)}?from=${target}`; };
  const first = events[0]?.version, last = events[events.length - 1]?.version;
  const actions = h('div', { class: 'toolbar' },
    h('a', { href: `#/tail?channel=${enc(`stream:${name}`)}` }, 'Live tail'),
    h('span', { class: 'muted' }, events.length ? `versions ${first}–${last}` : ''),
    h('button', { disabled: from === 0, onclick: () => go(Math.max(0, from - EVENT_PAGE)) }, '← Older'),
    h('button', { disabled: !next || events.length < EVENT_PAGE, onclick: () => go(last + 1) }, 'Newer →'));
  const highlight = params.get('from') !== null ? Number(params.get('from')) : null;
  view.append(panel(h('span', {}, h('a', { href: '#/streams' }, 'Streams'), ' / ', name), actions,
    events.length
      ? h('div', { class: 'events' }, events.map(e => eventCard(e, { target: e.version === highlight && from > 0 })))
      : h('div', { class: 'empty' }, from > 0 ? 'No events from this version on.' : 'This stream has no events.')));
}

async function eventView({ view, parts, setTitle }) {
  const id = parts[0];
  setTitle('Event');
  try {
    const { body: e } = await json(`/events/${enc(id)}`);
    setTitle(`${e.type} · ${e.stream}`);
    view.append(panel(h('span', {}, h('a', { href: streamHref(e.stream) }, e.stream), ` / v${e.version}`),
      h('a', { href: `${streamHref(e.stream)}?from=${e.version}` }, 'Show in stream'),
      eventCard(e, { showStream: true, target: true })));
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      view.append(h('div', { class: 'notice' }, `No event has the id ${id} (it may have been deleted, truncated or expired).`));
      return;
    }
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------------------------- live tail

function tail({ view, params, setTitle }) {
  setTitle('Live tail');
  const channel = h('input', { value: params.get('channel') || '$all', 'aria-label': 'Channel', placeholder: '$all, stream:x, category:x, type:x' });
  const button = h('button', { class: 'primary', type: 'submit' }, 'Follow');
  const dot = h('span', { class: 'dot' });
  const state = h('span', {}, 'stopped');
  const count = h('span', { class: 'muted' });
  const body = h('tbody', {});
  const list = h('table', { class: 'tail-list' },
    h('thead', {}, h('tr', {}, ['Added', 'Stream', 'Version', 'Type', 'Id'].map(t => h('th', { class: t === 'Version' ? 'num' : undefined }, t)))), body);
  const empty = h('div', { class: 'empty' }, 'Waiting for events…');
  let stop = null;
  let received = 0;

  function setState(s) {
    dot.classList.toggle('live', s === 'live');
    state.textContent = s instanceof Error ? `error: ${s.message}` : s;
  }

  async function start() {
    if (stop) stop();
    body.replaceChildren();
    received = 0;
    count.textContent = '';
    empty.hidden = false;
    setState('connecting');
    button.textContent = 'Restart';
    // From the newest event on: the last id of /stats (a user without its rights follows from the start).
    let from = '0';
    try {
      from = (await json('/stats')).body.last_id;
    } catch { /* from the start */ }
    stop = follow(channel.value.trim() || '$all', from, e => {
      received++;
      count.textContent = `${formatNumber(received)} event${received === 1 ? '' : 's'}`;
      empty.hidden = true;
      body.prepend(h('tr', { class: 'fresh', dataset: { id: e.id } },
        h('td', {}, formatTime(e.added_at)),
        h('td', {}, h('a', { href: streamHref(e.stream) }, e.stream)),
        h('td', { class: 'num' }, e.version),
        h('td', {}, e.type),
        h('td', {}, h('a', { class: 'mono', href: eventHref(e.id) }, e.id))));
      while (body.children.length > TAIL_ROWS) body.lastChild.remove();
    }, setState);
  }

  const form = h('form', { class: 'toolbar', onsubmit: e => { e.preventDefault(); history.replaceState(null, '', `#/tail?channel=${enc(channel.value)}`); start(); } },
    channel, button, h('span', { class: 'tail-status' }, dot, state), count);
  view.append(panel('Live tail', null,
    h('p', { class: 'muted' }, 'New events of a channel as they are committed: $all, stream:<name>, category:<name> or type:<name>.'),
    form), panel('Events', null, list, empty));
  start();
  return () => stop && stop();
}

// ---------------------------------------------------------------------------------------------------------------- groups

async function groups({ view, parts, setTitle }) {
  if (parts.length > 0) return group({ view, name: parts.join('/'), setTitle });
  setTitle('Consumer groups');
  const { body } = await json('/groups');
  const rows = body.map(g => h('tr', {},
    h('td', {}, h('a', { href: `#/groups/${enc(g.name)}` }, g.name)),
    h('td', {}, h('code', {}, g.channel)),
    h('td', { class: 'num' }, formatNumber(g.pending)),
    h('td', { class: 'num' }, g.parked > 0 ? h('span', { class: 'badge warn' }, formatNumber(g.parked)) : '0'),
    h('td', {}, g.consumers.join(', ') || h('span', { class: 'muted' }, 'none yet')),
    h('td', { class: 'mono' }, g.position)));
  view.append(panel('Consumer groups', h('span', { class: 'muted' }, `${body.length} group${body.length === 1 ? '' : 's'}`),
    table([['Group'], ['Channel'], ['Pending', 'num'], ['Parked', 'num'], ['Consumers'], ['Position']], rows,
      'No consumer groups. Create one with GROUP CREATE <group> <channel>.')));
}

async function group({ view, name, setTitle }) {
  setTitle(name);
  const { body: g } = await json(`/groups/${enc(name)}`);
  const message = h('div', { class: 'notice ok', hidden: true, role: 'status' });
  const replay = h('button', { class: 'primary', disabled: g.parked === 0, onclick: async () => {
    replay.disabled = true;
    const { replayed } = await (await request(`/groups/${enc(name)}/replay`, { method: 'POST' })).json();
    sessionStorage.setItem('eventflowdb.flash', `${replayed} parked event${replayed === 1 ? '' : 's'} replayed: pending again and due now.`);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } }, `Replay parked (${g.parked})`);
  const flash = sessionStorage.getItem('eventflowdb.flash');
  if (flash) {
    sessionStorage.removeItem('eventflowdb.flash');
    message.textContent = flash;
    message.hidden = false;
  }

  const pendingRows = g.pending_events.map(p => h('tr', {},
    h('td', {}, h('a', { class: 'mono', href: eventHref(p.id) }, p.id)),
    h('td', {}, p.event ? h('a', { href: streamHref(p.event.stream) }, p.event.stream) : '–'),
    h('td', {}, p.event?.type ?? '–'),
    h('td', {}, p.consumer),
    h('td', { class: 'num' }, p.deliveries)));
  const parkedRows = g.parked_events.map(e => h('tr', { dataset: { id: e.id } },
    h('td', {}, h('a', { class: 'mono', href: eventHref(e.id) }, e.id)),
    h('td', {}, h('a', { href: streamHref(e.stream) }, e.stream)),
    h('td', {}, e.type),
    h('td', {}, formatTime(e.added_at))));

  view.append(message, panel(h('span', {}, h('a', { href: '#/groups' }, 'Consumer groups'), ' / ', g.name), null,
    h('dl', { class: 'kv' },
      h('dt', {}, 'Channel'), h('dd', {}, h('code', {}, g.channel)),
      h('dt', {}, 'Position'), h('dd', { class: 'mono' }, g.position),
      h('dt', {}, 'Consumers'), h('dd', {}, g.consumers.join(', ') || '–'),
      h('dt', {}, 'Ack timeout'), h('dd', {}, `${formatNumber(g.ack_timeout_ms)} ms`),
      h('dt', {}, 'Max deliveries'), h('dd', {}, g.max_deliveries))),
  panel(`Pending (${formatNumber(g.pending)})`, null,
    table([['Event'], ['Stream'], ['Type'], ['Consumer'], ['Deliveries', 'num']], pendingRows, 'Nothing waits for an acknowledgement.')),
  h('section', { class: 'panel', dataset: { testid: 'parked' } },
    h('div', { class: 'panel-head' }, h('h2', {}, `Parked (${formatNumber(g.parked)})`), replay),
    table([['Event'], ['Stream'], ['Type'], ['Added']], parkedRows, 'No parked events.')));
}

// ---------------------------------------------------------------------------------------------------------------- cluster

async function cluster({ view, setTitle }) {
  setTitle('Cluster');
  let health = '–';
  try {
    health = (await (await fetch('/health', { cache: 'no-store' })).json()).status;
  } catch { /* shown as unknown */ }
  const s = poller.stats;
  view.append(panel('Cluster', h('span', { class: 'badge ok' }, 'single node'),
    h('p', { class: 'muted' }, 'This server runs alone: there is no cluster to show yet.'),
    h('dl', { class: 'kv' },
      h('dt', {}, 'Node'), h('dd', { class: 'mono' }, location.host),
      h('dt', {}, 'Role'), h('dd', {}, 'leader (single node)'),
      h('dt', {}, 'Health'), h('dd', {}, health),
      h('dt', {}, 'Version'), h('dd', {}, s ? s.version : '–'),
      h('dt', {}, 'Last event'), h('dd', { class: 'mono' }, s ? s.last_id : '–'))));
}

export const views = { dashboard, streams: (ctx) => (ctx.parts.length ? stream(ctx) : streams(ctx)), events: eventView, tail, groups, cluster };
