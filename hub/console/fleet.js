// hub/console/fleet.js — the fleet page: counts by state first, then one
// page of devices, filtered, searched and sorted by the hub
// (GET /api/v1/devices?limit=…, docs/hub-api.md), so 10,000 devices cost
// one page of rows in the browser.
// Invariants: the filters live in the address (#/fleet?state=offline&…),
// so reload, back and a shared link show the same list; a device that needs
// attention (offline, stale, never seen, or failing to sync) is marked by
// colour AND an icon AND words; device data is set as text only (dom.js).
import * as api from './api.js';
import {h, replace, field} from './dom.js';
import * as fmt from './format.js';

const PAGE = 50;
const REFRESH_MS = 30000;

// Icon, words, class: never colour alone.
export const STATES = {
  online: {icon: '●', words: 'Online', cls: 'st-online'},
  stale: {icon: '▲', words: 'Stale', cls: 'st-stale'},
  offline: {icon: '✖', words: 'Offline', cls: 'st-offline'},
  never: {icon: '○', words: 'Never seen', cls: 'st-never'},
};

export function stateBadge(state) {
  const s = STATES[state] || STATES.never;
  return h('span', {class: `badge ${s.cls}`}, h('span', {class: 'icon', 'aria-hidden': 'true'}, s.icon), ' ', s.words);
}

export function failing(hb) {
  return !!hb && (!!hb.last_error || (hb.consecutive_failures || 0) > 0 || hb.manifest_stale === true);
}

export function renderFleet(main, params) {
  const filters = {
    q: params.get('q') || '', state: params.get('state') || '', group: params.get('group') || '',
    tag: params.get('tag') || '', version: params.get('version') || '',
    sort: params.get('sort') || 'state', order: params.get('order') || 'asc',
    page: Math.max(1, parseInt(params.get('page') || '1', 10) || 1),
  };
  let timer = null;
  let stopped = false;
  let firstRender = true;
  let searchTimer = null;

  const counts = h('ul', {class: 'counts', id: 'counts', 'aria-label': 'Devices by state'});
  const search = h('input', {id: 'f-q', type: 'search', value: filters.q, placeholder: 'part of an id',
                             autocomplete: 'off', spellcheck: 'false'});
  const stateSel = select('f-state', [['', 'Any state'], ...Object.entries(STATES).map(([k, v]) => [k, v.words])], filters.state);
  const groupSel = select('f-group', [['', 'Any group']], filters.group);
  const tagSel = select('f-tag', [['', 'Any tag']], filters.tag);
  const versionSel = select('f-version', [['', 'Any version']], filters.version);
  const sortSel = select('f-sort', [['state', 'State (attention first)'], ['id', 'Id'], ['last_seen', 'Last seen'],
                                    ['group', 'Group'], ['version', 'Manifest version']], filters.sort);
  const orderSel = select('f-order', [['asc', 'Ascending'], ['desc', 'Descending']], filters.order);
  const summary = h('p', {id: 'list-summary', class: 'summary', 'aria-live': 'polite'});
  const body = h('tbody', {id: 'devices'});
  const prev = h('button', {type: 'button', id: 'page-prev', onclick: () => go(filters.page - 1)}, '← Previous');
  const next = h('button', {type: 'button', id: 'page-next', onclick: () => go(filters.page + 1)}, 'Next →');
  const pageInfo = h('span', {id: 'page-info'});
  const error = h('p', {class: 'error', role: 'alert'});

  const headers = ['State', 'Device', 'Group', 'Tags', 'Version', 'Playing', 'Last seen', 'Temp.', 'Free disk'];
  replace(main,
    h('h1', {tabindex: '-1', id: 'page-title'}, 'Fleet'),
    counts,
    h('form', {class: 'filters', role: 'search', 'aria-label': 'Filter devices', onsubmit: (e) => { e.preventDefault(); changed(); }},
      field('Search by id', search), field('State', stateSel), field('Group', groupSel), field('Tag', tagSel),
      field('Version', versionSel), field('Sort by', sortSel), field('Order', orderSel)),
    error,
    summary,
    h('div', {class: 'table-wrap'},
      h('table', {class: 'devices', 'aria-describedby': 'list-summary'},
        h('thead', {}, h('tr', {}, headers.map((t) => h('th', {scope: 'col'}, t)))),
        body)),
    h('nav', {class: 'pager', 'aria-label': 'Pages'}, prev, pageInfo, next));

  for (const el of [stateSel, groupSel, tagSel, versionSel, sortSel, orderSel]) el.addEventListener('change', () => changed());
  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(changed, 250);
  });

  function changed() {
    Object.assign(filters, {q: search.value.trim(), state: stateSel.value, group: groupSel.value, tag: tagSel.value,
                            version: versionSel.value, sort: sortSel.value, order: orderSel.value, page: 1});
    remember();
    load();
  }

  function go(page) {
    filters.page = page;
    remember();
    load().then(() => document.getElementById('page-title')?.focus());
  }

  // The address follows the filters without a hashchange (which would
  // redraw the page and take the focus out of the search box).
  function remember() {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(filters)) {
      if (v === '' || (k === 'page' && v === 1) || (k === 'sort' && v === 'state') || (k === 'order' && v === 'asc')) continue;
      q.set(k, v);
    }
    const s = q.toString();
    history.replaceState(null, '', '#/fleet' + (s ? '?' + s : ''));
  }

  async function load() {
    clearTimeout(timer);
    const r = await api.get('/api/v1/devices' + api.query({
      limit: PAGE, offset: (filters.page - 1) * PAGE, q: filters.q, state: filters.state, group: filters.group,
      tag: filters.tag, version: filters.version, sort: filters.sort, order: filters.order,
    }));
    if (stopped) return;
    if (!r.ok) {
      error.textContent = 'The device list could not be loaded: ' + r.error;
      timer = setTimeout(load, REFRESH_MS);
      return;
    }
    error.textContent = '';
    draw(r.data);
    if (firstRender) {
      firstRender = false;
      // Read by the browser test (tests/console): navigation start to the
      // first list on screen.
      performance.mark('stoa-fleet-rendered');
      main.dataset.fleetRendered = String(Math.round(performance.now()));
    }
    timer = setTimeout(load, REFRESH_MS);
  }

  function draw(d) {
    replace(counts, Object.entries(STATES).map(([k, s]) =>
      h('li', {},
        h('a', {href: `#/fleet?state=${k}`, class: `count ${s.cls}${filters.state === k ? ' current' : ''}`,
                id: `count-${k}`, 'aria-current': filters.state === k ? 'true' : false,
                onclick: (e) => { e.preventDefault(); stateSel.value = filters.state === k ? '' : k; changed(); }},
          h('span', {class: 'icon', 'aria-hidden': 'true'}, s.icon),
          h('span', {class: 'n', dataset: {state: k}}, Number(d.counts[k] ?? 0).toLocaleString()),
          h('span', {class: 'what'}, s.words)))));
    facet(groupSel, 'Any group', d.groups, filters.group);
    facet(tagSel, 'Any tag', d.tags, filters.tag);
    facet(versionSel, 'Any version', d.versions, filters.version, (v) => (v === 'none' ? 'none yet' : `v${v}`), true);

    const now = Date.now();
    replace(body, d.devices.length ? d.devices.map((dev) => row(dev, now))
      : h('tr', {}, h('td', {colspan: String(headers.length), class: 'empty'}, 'No device matches these filters.')));
    const first = d.total ? d.offset + 1 : 0;
    const last = d.offset + d.devices.length;
    summary.textContent = `${d.total.toLocaleString()} of ${d.fleet.toLocaleString()} devices match; showing ${first.toLocaleString()}–${last.toLocaleString()}.`;
    const pages = Math.max(1, Math.ceil(d.total / PAGE));
    pageInfo.textContent = `Page ${filters.page} of ${pages}`;
    prev.disabled = filters.page <= 1;
    next.disabled = filters.page >= pages;
  }

  function row(dev, now) {
    const hb = dev.heartbeat;
    const bad = failing(hb);
    const cls = `${(STATES[dev.state] || STATES.never).cls}${bad ? ' failing' : ''}${dev.revoked ? ' revoked' : ''}`;
    const cell = (label, ...content) => h('td', {dataset: {label}}, ...content);
    return h('tr', {class: cls, dataset: {device: dev.id}},
      cell('State', stateBadge(dev.state),
        bad ? h('span', {class: 'badge failing', title: hb.last_error || ''},
                h('span', {class: 'icon', 'aria-hidden': 'true'}, '⚠'), ' Sync failing') : null,
        dev.revoked ? h('span', {class: 'badge revoked'}, 'Revoked') : null),
      cell('Device', h('a', {href: '#/device/' + encodeURIComponent(dev.id), class: 'device-link'}, dev.id)),
      cell('Group', dev.group ?? '—'),
      cell('Tags', dev.tags.length ? h('span', {class: 'tags'}, dev.tags.map((t) => h('span', {class: 'tag'}, t))) : '—'),
      cell('Version', dev.manifest_version === null ? '—' : `v${dev.manifest_version}`),
      cell('Playing', fmt.playing(hb?.now_playing)),
      cell('Last seen', dev.last_seen_at ? h('time', {datetime: dev.last_seen_at, title: fmt.clock(dev.last_seen_at)},
                                             fmt.ago(dev.last_seen_at, now)) : 'never'),
      cell('Temp.', fmt.temperature(hb?.cpu_temp_c)),
      cell('Free disk', fmt.bytes(hb?.disk_free_bytes)));
  }

  load();
  return {stop() { stopped = true; clearTimeout(timer); clearTimeout(searchTimer); }};
}

function select(id, options, value) {
  const el = h('select', {id}, options.map(([v, t]) => h('option', {value: v}, t)));
  el.value = value;
  if (el.value !== value) { // a value the list does not have yet (facets load later)
    el.appendChild(h('option', {value}, value));
    el.value = value;
  }
  return el;
}

// Options from a facet {name: count}; the chosen value stays even when no
// device has it any more.
function facet(sel, any, counts, chosen, label = (v) => v, numeric = false) {
  const names = Object.keys(counts || {});
  if (numeric) names.sort((a, b) => (a === 'none') - (b === 'none') || Number(b) - Number(a));
  if (chosen && !names.includes(chosen)) names.push(chosen);
  replace(sel, h('option', {value: ''}, any),
    names.map((n) => h('option', {value: n}, `${label(n)} (${(counts && counts[n]) || 0})`)));
  sel.value = chosen;
}
