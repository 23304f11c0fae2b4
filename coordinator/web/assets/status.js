// bdcoord's status page: polls /api/status every second and redraws; no framework, and every
// value from the coordinator goes into the page as text (textContent), never as HTML.
'use strict';

const POLL_MS = 1000;
const page = {
  loadedAt: Date.now(),
  polls: 0,
  lastOk: 0
};  // read by the browser test
window.bdcoordPage = page;
let logsTarget = null;  // {cluster, instance} shown in the logs panel

function token() {
  return sessionStorage.getItem('bdcoord-token') || '';
}

function takeTokenFromUrl() {
  const match = location.hash.match(/(?:^#|&)token=([^&]+)/);
  if (!match) return;
  sessionStorage.setItem('bdcoord-token', decodeURIComponent(match[1]));
  history.replaceState(null, '', location.pathname);  // out of the address bar and history
}

async function api(path) {
  const headers = token() ? {Authorization: 'Bearer ' + token()} : {};
  const response = await fetch(path, {headers, cache: 'no-store'});
  const body = await response.json().catch(() => ({error: response.statusText}));
  if (!response.ok)
    throw Object.assign(new Error(body.error || response.statusText), {status: response.status});
  return body;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'class')
      node.className = value;
    else if (key.startsWith('data-'))
      node.setAttribute(key, value);
    else
      node[key] = value;
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

// The words `bdcoord status` uses: the state, and ready yes/no ("-" for a completed run-once job).
function stateWord(status) {
  const state = status && status.state ? status.state.replace('INSTANCE_STATE_', '').toLowerCase() :
                                         'pending';
  return state === 'unspecified' ? 'pending' : state;
}
function readyWord(status) {
  if (stateWord(status) === 'completed') return '-';
  return status && status.ready ? 'yes' : 'no';
}
function stateClass(status) {
  const state = stateWord(status);
  return 'state-' + (state === 'running' && status.ready ? 'ready' : state);
}

function renderClusters(clusters) {
  const section = document.getElementById('clusters');
  section.replaceChildren();
  if (clusters.length === 0) section.append(el('p', {class: 'muted'}, 'No cluster applied yet.'));
  for (const cluster of clusters) {
    const box = el('div', {class: 'cluster', 'data-cluster': cluster.cluster});
    const instances = cluster.instances || [];
    const done = instances.filter(i => ['yes', '-'].includes(readyWord(i.status))).length;
    const bar = el('span', {class: 'progress'}, el('span'));
    bar.firstChild.style.width = (instances.length ? 100 * done / instances.length : 0) + '%';
    box.append(
        el('h2', {}, 'Cluster ', cluster.cluster, ' ', bar, ' ',
           el('span', {class: 'muted', 'data-ready': done}, `${done}/${instances.length} ready`)));
    const rows =
        (cluster.services || [])
            .map(
                s => el(
                    'tr', {}, el('td', {}, s.service),
                    el('td', {}, `${s.ready}/${s.desired} ${s.run_once ? 'completed' : 'ready'}`),
                    el('td', {}, s.failed ? `${s.failed} failed` : ''),
                    el('td', {class: 'muted'},
                       s.waiting_for ? 'waiting for ' + s.waiting_for : '')));
    box.append(el('table', {}, el('tbody', {}, ...rows)));
    const rollout = cluster.rollout;
    if (rollout && rollout.state && rollout.state !== 'STATE_UNSPECIFIED') {
      const steps = rollout.steps || [];
      const finished = steps.filter(s => s.phase === 'PHASE_DONE').length;
      box.append(
          el('p', {class: 'rollout'}, `Rollout${rollout.undo ? ' (undo)' : ''}: `,
             rollout.state.replace('STATE_', '').toLowerCase(),
             `, ${finished}/${steps.length} instances`,
             rollout.message ? ' — ' + rollout.message : ''));
    }
    section.append(box);
  }
}

function renderRacks(hosts, placed) {
  const byRack = new Map();
  for (const host of hosts) {
    const rack = (host.facts && host.facts.labels && host.facts.labels.rack) || 'no rack label';
    if (!byRack.has(rack)) byRack.set(rack, []);
    byRack.get(rack).push(host);
  }
  const racks = [...byRack.keys()].sort().map(
      rack =>
          el('div', {class: 'rack'}, el('h3', {}, rack),
             ...byRack.get(rack).sort((a, b) => a.name.localeCompare(b.name)).map(host => {
               const state = host.drained ? 'drained' : host.connected ? 'connected' : 'down';
               return el(
                   'div', {class: 'host', 'data-host': host.name},
                   el('div', {}, el('span', {class: 'name'}, host.name), ' ',
                      el('span', {class: state === 'down' ? 'down' : 'muted'}, state)),
                   ...(placed.get(host.name) || [])
                       .map(
                           i =>
                               el('span', {
                                 class: 'instance ' + stateClass(i.status),
                                 title: `${i.placed.ip} ${stateWord(i.status)}`
                               },
                                  i.placed.name)));
             })));
  document.getElementById('racks').replaceChildren(...racks);
}

function renderInstances(clusters) {
  const rows = [];
  for (const cluster of clusters) {
    for (const view of cluster.instances || []) {
      const p = view.placed, s = view.status || {};
      const row =
          el('tr', {
            'data-instance': p.name,
            'data-cluster': cluster.cluster,
            class: stateClass(view.status)
          },
             el('td', {}, p.name), el('td', {}, p.service), el('td', {class: 'host'}, p.host),
             el('td', {class: 'ip'}, p.ip), el('td', {class: 'state'}, stateWord(view.status)),
             el('td', {class: 'ready'}, readyWord(view.status)), el('td', {}, s.restart_count || 0),
             el('td', {class: 'muted'}, s.message || ''));
      row.addEventListener('click', () => showLogs(cluster.cluster, p.name));
      rows.push(row);
    }
  }
  document.querySelector('#instances tbody').replaceChildren(...rows);
  document.getElementById('instance-count').textContent = `(${rows.length})`;
}

function renderEvents(events) {
  const items = events.slice().reverse().map(
      e =>
          el('li', {},
             `${(e.time || '').replace('T', ' ').replace(/\.\d+Z$/, 'Z')} ${e.kind} ${e.cluster}`,
             e.instance ? '/' + e.instance : '', e.host ? ' on ' + e.host : '',
             e.message ? ': ' + e.message : ''));
  document.getElementById('events').replaceChildren(...items);
}

async function showLogs(cluster, instance) {
  logsTarget = {cluster, instance};
  const section = document.getElementById('logs');
  section.hidden = false;
  document.getElementById('logs-target').textContent = instance;
  const pre = document.getElementById('logs-lines');
  pre.textContent = 'loading…';
  try {
    const body = await api(`/api/logs?cluster=${encodeURIComponent(cluster)}&target=${
        encodeURIComponent(instance)}&tail=200`);
    pre.textContent = body.lines.map(l => l.text).join('\n') || '(no output yet)';
  } catch (error) {
    pre.textContent = 'cannot read the logs: ' + error.message;
  }
  section.scrollIntoView({block: 'nearest'});
}

async function poll() {
  try {
    const body = await api('/api/status');
    const placed = new Map();
    for (const cluster of body.clusters) {
      for (const view of cluster.instances || []) {
        if (!placed.has(view.placed.host)) placed.set(view.placed.host, []);
        placed.get(view.placed.host).push(view);
      }
    }
    renderClusters(body.clusters);
    renderRacks(body.hosts, placed);
    renderInstances(body.clusters);
    renderEvents(body.events);
    document.getElementById('events-live').textContent =
        body.events_live ? '(since the page opened)' : '(reconnecting to the coordinator…)';
    page.polls++;
    page.lastOk = Date.now();
    document.getElementById('connection').textContent = 'live, ' + new Date().toLocaleTimeString();
    document.getElementById('connection').className = 'muted';
  } catch (error) {
    if (error.status === 401) {
      document.getElementById('page').hidden = true;
      document.getElementById('login').hidden = false;
      document.getElementById('login-error').textContent = token() ? error.message : '';
      return;  // polling resumes once a token is given
    }
    document.getElementById('connection').textContent =
        'coordinator out of reach: ' + error.message;
    document.getElementById('connection').className = 'error';
  }
  setTimeout(poll, POLL_MS);
}

document.addEventListener('DOMContentLoaded', () => {
  takeTokenFromUrl();
  document.getElementById('login').addEventListener('submit', event => {
    event.preventDefault();
    sessionStorage.setItem('bdcoord-token', document.getElementById('token').value.trim());
    document.getElementById('login').hidden = true;
    document.getElementById('page').hidden = false;
    poll();
  });
  document.getElementById('logs-close').addEventListener('click', () => {
    document.getElementById('logs').hidden = true;
    logsTarget = null;
  });
  document.getElementById('logs-refresh').addEventListener('click', () => {
    if (logsTarget) showLogs(logsTarget.cluster, logsTarget.instance);
  });
  poll();
});
