// hub/console/plays.js — proof of play (#/plays?from=…&until=…&device=…):
// plays per medium per day and per device per day over a date range, from
// GET /api/v1/plays (the hub counts; a play belongs to the UTC day it
// started), and the same records as CSV (format=csv), downloaded with the
// session's token through a blob URL (a plain link cannot carry it).
// Invariants: the range lives in the address (a reload shows the same
// report); device ids and playlist names are text only (dom.js).
import * as api from './api.js';
import {h, replace, field} from './dom.js';
import * as fmt from './format.js';

function isoDay(d) { return d.toISOString().slice(0, 10); }
// Plays are seconds long: format.duration() rounds to minutes.
function onScreen(ms) { return ms < 60000 ? `${Math.round(ms / 1000)} s` : fmt.duration(ms); }

export function renderPlays(main, params) {
  let stopped = false;
  const today = new Date();
  const from = h('input', {id: 'plays-from', type: 'date', value: params.get('from') || isoDay(new Date(today - 6 * 864e5))});
  const until = h('input', {id: 'plays-until', type: 'date', value: params.get('until') || isoDay(today)});
  const device = h('input', {id: 'plays-device', value: params.get('device') || '', placeholder: 'all devices'});
  const error = h('p', {class: 'error', role: 'alert', id: 'plays-error'});
  const summary = h('p', {class: 'summary', id: 'plays-summary'});
  const byAsset = h('tbody', {id: 'plays-by-asset'});
  const byDevice = h('tbody', {id: 'plays-by-device'});
  const query = () => api.query({from: from.value, until: until.value, device: device.value.trim()});
  const form = h('form', {class: 'filters', onsubmit: (e) => {
    e.preventDefault();
    location.hash = '#/plays' + query(); // app.js redraws from the address
  }}, field('From', from), field('Until (inclusive)', until), field('Device', device),
    h('button', {type: 'submit', id: 'plays-show'}, 'Show'),
    h('button', {type: 'button', id: 'plays-csv', class: 'secondary', onclick: downloadCsv}, 'Download CSV'));

  replace(main, h('h1', {tabindex: '-1', id: 'page-title'}, 'Proof of play'), form, error, summary,
    h('section', {class: 'panel', 'aria-labelledby': 'h-pa'}, h('h2', {id: 'h-pa'}, 'Per medium and day'),
      h('div', {class: 'table-wrap'}, h('table', {class: 'plain cards'},
        h('thead', null, h('tr', null, h('th', null, 'Day'), h('th', null, 'Medium'), h('th', null, 'Plays'), h('th', null, 'Time on screen'))),
        byAsset))),
    h('section', {class: 'panel', 'aria-labelledby': 'h-pd'}, h('h2', {id: 'h-pd'}, 'Per device and day'),
      h('div', {class: 'table-wrap'}, h('table', {class: 'plain cards'},
        h('thead', null, h('tr', null, h('th', null, 'Day'), h('th', null, 'Device'), h('th', null, 'Plays'), h('th', null, 'Time on screen'))),
        byDevice))));
  main.querySelector('#page-title').focus();

  async function load() {
    const r = await api.get('/api/v1/plays' + query());
    if (stopped) return;
    if (!r.ok) { error.textContent = 'Cannot load the report: ' + r.error; return; }
    const d = r.data;
    summary.textContent = `${d.plays} plays from ${d.from} to ${d.until}` + (d.truncated ? ' (too many records: cut short)' : '');
    const empty = (n) => h('tr', null, h('td', {class: 'empty', colspan: n}, 'No plays in this range.'));
    replace(byAsset, d.by_asset_day.length ? d.by_asset_day.map((a) => h('tr', null,
      h('td', {'data-label': 'Day'}, a.date),
      h('td', {title: a.asset, 'data-label': 'Medium'}, a.media.length ? a.media.join(', ') : a.asset),
      h('td', {class: 'n', 'data-label': 'Plays'}, a.plays), h('td', {'data-label': 'On screen'}, onScreen(a.duration_ms)))) : empty(4));
    replace(byDevice, d.by_device_day.length ? d.by_device_day.map((x) => h('tr', null,
      h('td', {'data-label': 'Day'}, x.date),
      h('td', {'data-label': 'Device'}, h('a', {href: '#/device/' + encodeURIComponent(x.device)}, x.device)),
      h('td', {class: 'n', 'data-label': 'Plays'}, x.plays), h('td', {'data-label': 'On screen'}, onScreen(x.duration_ms)))) : empty(4));
  }

  async function downloadCsv() {
    const r = await api.call('GET', '/api/v1/plays' + query() + '&format=csv', undefined, {raw: true});
    if (stopped) return;
    if (!r.ok) { error.textContent = 'Cannot export: ' + r.error; return; }
    const url = URL.createObjectURL(await r.response.blob());
    const a = h('a', {href: url, download: `plays-${from.value}-to-${until.value}.csv`, hidden: true});
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000); // after the browser has taken the file
  }

  load();
  return {stop() { stopped = true; }};
}
