// hub/console/layouts.js — layouts (protocol v1.1 §12) of a schedule,
// drawn over a screen-shaped preview (#/layouts?target=fleet|groups/N|devices/ID).
// Job: list a schedule's layouts (GET …/layouts), edit one: regions are
// rectangles the operator draws on the empty screen, moves and resizes with
// the mouse (or with the arrow keys on a focused rectangle, Shift to
// resize), and edits as numbers (x, y, w, h in % of the screen, z, the id,
// the playlist it plays); the screen is 16:9, or 9:16 when the schedule's
// rotation is 90 or 270 (the operator may switch). Saving PUTs the layout,
// which the hub checks and publishes at once (docs/hub-api.md, "Layouts");
// deleting it is refused by the hub while an entry shows it.
// Invariants: the §12 rules (bounds, sizes, unique ids, playlists that
// exist, at least one region) are the hub's alone: a layout that breaks one
// is sent as typed and the hub's reason is shown, nothing published; the
// mouse keeps rectangles on the screen because that is what dragging means,
// not as a check; names typed by people are only ever text nodes (dom.js);
// viewers see the layouts without controls that change them.
import * as api from './api.js';
import * as session from './session.js';
import {h, replace, field, toast} from './dom.js';

const NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;
const MIN = 0.01; // a drawn rectangle smaller than 1% of the screen is a click

function base(target) {
  return '/api/v1/schedules/' + target.split('/').map(encodeURIComponent).join('/');
}

const round = (v) => Math.round(v * 10000) / 10000;        // fractions: 0.01% of the screen
const pct = (v) => String(Math.round(v * 100000) / 1000);  // as the number fields show them
const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);

export function renderLayouts(main, params) {
  const editor = session.can('content');
  const target = params.get('target') || 'fleet';
  let playlists = [];
  let layouts = [];
  let current = null;   // {name, regions: [{id, playlist, x, y, w, h, z}], isNew}
  let portrait = false;
  let selected = -1;    // index of the region last touched (its row is highlighted)
  let stopped = false;
  let uid = 0;
  const id = (p) => `${p}-${++uid}`;

  const error = h('div', {class: 'error', role: 'alert', id: 'layout-error'});
  const targetSelect = h('select', {id: 'layout-target', onchange: () => {
    location.hash = '#/layouts?target=' + encodeURIComponent(targetSelect.value);
  }});
  const listBox = h('div', {id: 'layout-list'});
  const editorBox = h('div', {id: 'layout-editor'});
  const result = h('div', {id: 'layout-result', 'aria-live': 'polite'});
  replace(main,
    h('h1', {tabindex: '-1', id: 'page-title'}, 'Layouts'),
    h('div', {class: 'filters'}, field('Layouts of', targetSelect, 'A layout belongs to a schedule and plays its playlists.'),
      h('a', {href: '#/schedule?target=' + encodeURIComponent(target)}, 'Back to the schedule')),
    error, listBox, editorBox, result);
  main.querySelector('#page-title').focus();

  function say(message) { replace(error, message ? h('p', null, message) : null); }

  async function load() {
    const [devices, sched] = await Promise.all([api.get('/api/v1/devices?limit=1000&sort=id'), api.get(base(target) + '?format=json')]);
    if (stopped) return;
    const options = [h('option', {value: 'fleet'}, 'Fleet schedule')];
    if (devices.ok) {
      for (const g of Object.keys(devices.data.groups).sort()) options.push(h('option', {value: 'groups/' + g}, `Group ${g}`));
      for (const d of devices.data.devices) options.push(h('option', {value: 'devices/' + d.id}, `Device ${d.id}`));
    }
    if (!options.some((o) => o.value === target)) options.push(h('option', {value: target}, target));
    replace(targetSelect, options);
    targetSelect.value = target;
    if (!sched.ok) {
      say(sched.status === 404 ? 'This schedule does not exist yet: publish it with its playlists on the schedule page first.'
                               : `Cannot load the schedule: ${sched.error}`);
      return;
    }
    playlists = sched.data.playlists.map((p) => p.name);
    layouts = sched.data.layouts || [];
    const rotation = /^\s*rotation\s*=\s*(\d+)/m.exec(sched.data.preamble || '');
    portrait = !!rotation && (rotation[1] === '90' || rotation[1] === '270');
    drawList();
    if (current) {
      const again = layouts.find((l) => l.name === current.name);
      if (again) edit(again);
    }
  }

  function drawList() {
    const newName = h('input', {id: 'new-layout-name', disabled: !editor});
    replace(listBox, h('section', {class: 'panel', 'aria-labelledby': 'h-layouts'},
      h('h2', {id: 'h-layouts'}, 'Layouts'),
      layouts.length
        ? h('ul', {class: 'layout-names'}, layouts.map((l) => h('li', null,
            h('button', {type: 'button', class: 'secondary layout-open', dataset: {layout: l.name},
                         onclick: () => { replace(result); say(''); edit(l); }},
              `${l.name} (${l.regions.length} ${l.regions.length === 1 ? 'region' : 'regions'})`))))
        : h('p', {class: 'muted'}, 'No layouts yet.'),
      editor ? h('div', {class: 'row'}, field('New layout name', newName),
        h('button', {type: 'button', id: 'new-layout', onclick: () => {
          const name = newName.value.trim();
          if (!NAME_RE.test(name)) { say(`A layout name may use only letters, digits, '.', '_' and '-' (1-64 characters, no spaces); "${name}" does not.`); return; }
          if (layouts.some((l) => l.name === name)) { say(`There is a layout named "${name}" already: open it from the list.`); return; }
          say('');
          replace(result);
          edit({name, regions: []}, true);
        }}, 'New layout')) : null));
  }

  function edit(layout, isNew = false) {
    current = {name: layout.name, isNew, regions: layout.regions.map((r) => ({...r, z: r.z || 0}))};
    selected = -1;
    drawEditor();
  }

  // ---- the editor: preview and numbers ----
  function drawEditor() {
    if (!current) { replace(editorBox); return; }
    const ro = !editor;
    const preview = h('div', {id: 'layout-preview', class: 'layout-preview' + (portrait ? ' portrait' : ''),
                              role: 'group', 'aria-label': `Screen preview of layout ${current.name}, ${portrait ? 'portrait 9:16' : 'landscape 16:9'}`});
    const rows = h('div', {id: 'region-rows'});
    const orientation = h('select', {id: 'layout-orientation', onchange: () => { portrait = orientation.value === 'portrait'; drawEditor(); }},
      h('option', {value: 'landscape'}, 'Landscape 16:9'), h('option', {value: 'portrait'}, 'Portrait 9:16 (rotation 90 or 270)'));
    orientation.value = portrait ? 'portrait' : 'landscape';

    function place(el, r) {
      el.style.left = `${r.x * 100}%`;
      el.style.top = `${r.y * 100}%`;
      el.style.width = `${r.w * 100}%`;
      el.style.height = `${r.h * 100}%`;
      el.style.zIndex = String(10 + (Number(r.z) || 0));
    }
    // Redraws the rectangles and refreshes the number fields from the model.
    function sync() {
      const boxes = current.regions.map((r, i) => {
        const box = h('div', {class: 'region' + (i === selected ? ' selected' : ''), tabindex: ro ? '-1' : '0', dataset: {index: String(i), region: r.id},
                              'aria-label': `Region ${r.id || i + 1}: x ${pct(r.x)}%, y ${pct(r.y)}%, width ${pct(r.w)}%, height ${pct(r.h)}%` +
                                (ro ? '' : '. Arrow keys move it, Shift+arrows resize it.')},
          h('span', {class: 'region-label'}, r.id || `region ${i + 1}`, h('br'), r.playlist || '(no playlist)'),
          ro ? null : h('span', {class: 'handle', dataset: {handle: 'resize'}, 'aria-hidden': 'true'}));
        place(box, r);
        box.addEventListener('keydown', (e) => keyMove(e, i));
        return box;
      });
      replace(preview, boxes);
      for (const [i, r] of current.regions.entries()) {
        const row = rows.querySelector(`[data-row="${i}"]`);
        if (!row) continue;
        for (const k of ['x', 'y', 'w', 'h']) {
          const input = row.querySelector(`.region-${k}`);
          if (document.activeElement !== input) input.value = pct(r[k]);
        }
        row.classList.toggle('selected', i === selected);
      }
    }
    function drawRows() {
      replace(rows, current.regions.length ? current.regions.map((r, i) => {
        const n = `Region ${i + 1}`;
        const num = (k, label) => {
          const input = h('input', {id: id('region-' + k), type: 'number', step: '0.1', class: 'region-' + k, value: pct(r[k]), disabled: ro,
                                    oninput: () => { const v = Number(input.value); if (input.value !== '' && Number.isFinite(v)) { r[k] = round(v / 100); selected = i; sync(); } }});
          return field(`${n} ${label}`, input);
        };
        const rid = h('input', {id: id('region-id'), class: 'region-id', value: r.id, disabled: ro,
                                oninput: () => { r.id = rid.value.trim(); sync(); }});
        const pl = h('select', {id: id('region-playlist'), class: 'region-playlist', disabled: ro,
                                onchange: () => { r.playlist = pl.value; sync(); }},
          h('option', {value: ''}, '(choose a playlist)'), playlists.map((p) => h('option', {value: p}, p)));
        pl.value = r.playlist || '';
        const z = h('input', {id: id('region-z'), type: 'number', step: '1', class: 'region-z', value: String(r.z || 0), disabled: ro,
                              oninput: () => { r.z = z.value === '' ? 0 : Number(z.value); sync(); }});
        return h('fieldset', {class: 'region-row panel', dataset: {row: String(i)}},
          h('legend', null, `${n}`),
          h('div', {class: 'entry-grid'}, field(`${n} id`, rid), field(`${n} playlist`, pl),
            num('x', 'x (% from the left)'), num('y', 'y (% from the top)'), num('w', 'width (%)'), num('h', 'height (%)'),
            field(`${n} z (higher on top)`, z)),
          ro ? null : h('button', {type: 'button', class: 'secondary region-remove', onclick: () => {
            current.regions.splice(i, 1); selected = -1; drawRows(); sync();
          }}, `Remove region ${i + 1}`));
      }) : h('p', {class: 'muted', id: 'no-regions'}, ro ? 'No regions.' : 'No regions yet: drag on the screen above to draw one, or add one.'));
    }
    function addRegion(rect) {
      let k = current.regions.length + 1;
      while (current.regions.some((r) => r.id === `r${k}`)) ++k;
      current.regions.push({id: `r${k}`, playlist: playlists[0] || '', ...rect, z: 0});
      selected = current.regions.length - 1;
      drawRows();
    }

    // Keyboard: arrows move the focused rectangle by 1% (Shift: resize).
    function keyMove(e, i) {
      if (ro) return;
      const d = {ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1]}[e.key];
      if (!d) return;
      e.preventDefault();
      const r = current.regions[i];
      if (e.shiftKey) {
        r.w = round(clamp(r.w + d[0] * 0.01, MIN, 1 - r.x));
        r.h = round(clamp(r.h + d[1] * 0.01, MIN, 1 - r.y));
      } else {
        r.x = round(clamp(r.x + d[0] * 0.01, 0, 1 - r.w));
        r.y = round(clamp(r.y + d[1] * 0.01, 0, 1 - r.h));
      }
      selected = i;
      sync();
      preview.querySelector(`[data-index="${i}"]`).focus();
    }

    // Mouse: draw on the empty screen, move a rectangle, resize by its handle.
    let drag = null;
    function at(e) {
      const b = preview.getBoundingClientRect();
      return {fx: clamp((e.clientX - b.left) / b.width, 0, 1), fy: clamp((e.clientY - b.top) / b.height, 0, 1)};
    }
    if (!ro) {
      preview.addEventListener('pointerdown', (e) => {
        if (e.button !== 0) return;
        const p = at(e);
        const box = e.target.closest('.region');
        if (box) {
          const i = Number(box.dataset.index);
          const r = current.regions[i];
          drag = {mode: e.target.dataset.handle ? 'resize' : 'move', i, start: p, orig: {...r}};
          selected = i;
        } else {
          drag = {mode: 'draw', start: p, rect: null};
        }
        preview.setPointerCapture(e.pointerId);
        e.preventDefault();
      });
      preview.addEventListener('pointermove', (e) => {
        if (!drag) return;
        const p = at(e);
        if (drag.mode === 'draw') {
          drag.rect = {x: round(Math.min(p.fx, drag.start.fx)), y: round(Math.min(p.fy, drag.start.fy)),
                       w: round(Math.abs(p.fx - drag.start.fx)), h: round(Math.abs(p.fy - drag.start.fy))};
          let ghost = preview.querySelector('.region.drawing');
          if (!ghost) preview.appendChild(ghost = h('div', {class: 'region drawing', 'aria-hidden': 'true'}));
          place(ghost, {...drag.rect, z: 100});
          return;
        }
        const r = current.regions[drag.i];
        const dx = p.fx - drag.start.fx;
        const dy = p.fy - drag.start.fy;
        if (drag.mode === 'move') {
          r.x = round(clamp(drag.orig.x + dx, 0, 1 - r.w));
          r.y = round(clamp(drag.orig.y + dy, 0, 1 - r.h));
        } else {
          r.w = round(clamp(drag.orig.w + dx, MIN, 1 - r.x));
          r.h = round(clamp(drag.orig.h + dy, MIN, 1 - r.y));
        }
        sync();
      });
      const end = () => {
        if (drag && drag.mode === 'draw') {
          if (drag.rect && drag.rect.w >= MIN && drag.rect.h >= MIN) addRegion(drag.rect);
          sync();
        }
        drag = null;
      };
      preview.addEventListener('pointerup', end);
      preview.addEventListener('pointercancel', end);
    }

    const save = ro ? null : h('button', {type: 'button', id: 'layout-save', onclick: saveLayout}, 'Save and publish');
    const remove = ro || current.isNew ? null : h('button', {type: 'button', class: 'secondary', id: 'layout-delete', onclick: deleteLayout},
      `Delete layout ${current.name}`);
    replace(editorBox, h('section', {class: 'panel', 'aria-labelledby': 'h-layout-edit'},
      h('h2', {id: 'h-layout-edit'}, 'Layout ', h('span', {id: 'layout-name'}, current.name), current.isNew ? ' (new, not saved)' : ''),
      h('div', {class: 'filters'}, field('Screen', orientation)),
      h('p', {class: 'hint'}, ro ? 'Each rectangle is a region of the screen playing its playlist.'
        : 'Drag on the screen to draw a region; drag a region to move it, its corner to resize it. ' +
          'Or give the numbers below, in % of the screen.'),
      preview, rows,
      ro ? null : h('div', {class: 'row'},
        h('button', {type: 'button', class: 'secondary', id: 'add-region', onclick: () => { addRegion({x: 0, y: 0, w: 0.5, h: 0.5}); sync(); }}, 'Add region'),
        save, remove)));
    drawRows();
    sync();
  }

  async function saveLayout(e) {
    replace(result);
    say('');
    const button = e.target;
    button.disabled = true;
    // Sent as typed: the hub's parser checks the §12 rules and says which broke.
    const body = {regions: current.regions.map((r) => ({id: r.id, playlist: r.playlist, x: r.x, y: r.y, w: r.w, h: r.h, z: Number(r.z) || 0}))};
    const r = await api.call('PUT', `${base(target)}/layouts/${encodeURIComponent(current.name)}`, body);
    button.disabled = false;
    if (stopped) return;
    if (!r.ok) { say(`Not saved, nothing published: ${r.error}`); return; }
    current.isNew = false;
    replace(result, h('p', {id: 'layout-published', class: 'ok'}, `Layout ${current.name} published as version ${r.data.version}.`));
    toast(`Published version ${r.data.version}`);
    load();
  }

  async function deleteLayout() {
    replace(result);
    const r = await api.del(`${base(target)}/layouts/${encodeURIComponent(current.name)}`);
    if (stopped) return;
    if (!r.ok) { say(`Not deleted: ${r.error}`); return; }
    replace(result, h('p', {id: 'layout-published', class: 'ok'}, `Layout ${current.name} deleted.`));
    current = null;
    replace(editorBox);
    load();
  }

  load();
  return {stop() { stopped = true; }};
}
