// hub/console/audit.js — the audit log (#/audit): who changed or published
// what, and when, newest first (GET /api/v1/audit, a page of 100 at a
// time, "Older" for the next). Invariant: operator names, targets and
// details are text only (dom.js).
import * as api from './api.js';
import {h, replace} from './dom.js';
import * as fmt from './format.js';

const ACTIONS = {
  'media.upload': 'Uploaded a medium', 'media.delete': 'Deleted a medium', 'schedule.publish': 'Published a schedule',
  'schedule.remove': 'Removed a schedule', 'command.send': 'Sent a command', 'device.group': 'Moved a device',
  'keys.replace': 'Replaced the keys document',
};

export function renderAudit(main) {
  let stopped = false;
  let before = 0;
  const error = h('p', {class: 'error', role: 'alert'});
  const body = h('tbody', {id: 'audit'});
  const more = h('button', {type: 'button', id: 'audit-more', class: 'secondary', hidden: true, onclick: () => load()}, 'Older');
  replace(main, h('h1', {tabindex: '-1', id: 'page-title'}, 'Audit log'), error,
    h('div', {class: 'table-wrap'}, h('table', {class: 'plain cards'},
      h('thead', null, h('tr', null, h('th', null, 'When'), h('th', null, 'Who'), h('th', null, 'What'),
        h('th', null, 'On'), h('th', null, 'Detail'))), body)),
    h('p', {class: 'pager'}, more));
  main.querySelector('#page-title').focus();

  async function load() {
    const r = await api.get('/api/v1/audit' + api.query({limit: 100, before: before || undefined}));
    if (stopped) return;
    if (!r.ok) { error.textContent = 'Cannot load the audit log: ' + r.error; return; }
    if (!before && !r.data.entries.length)
      body.appendChild(h('tr', null, h('td', {class: 'empty', colspan: 5}, 'No changes yet.')));
    for (const e of r.data.entries)
      body.appendChild(h('tr', {dataset: {action: e.action}},
        h('td', {title: e.at, 'data-label': 'When'}, fmt.clock(e.at)), h('td', {'data-label': 'Who'}, e.operator),
        h('td', {'data-label': 'What'}, ACTIONS[e.action] || e.action), h('td', {'data-label': 'On'}, e.target),
        h('td', {'data-label': 'Detail'}, e.detail)));
    before = r.data.next_before || 0;
    more.hidden = !r.data.next_before;
  }

  load();
  return {stop() { stopped = true; }};
}
