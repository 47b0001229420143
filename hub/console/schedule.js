// hub/console/schedule.js — playlists, schedule entries, publishing and the
// week view (#/schedule?target=fleet|groups/NAME|devices/ID).
// Job: load a target's schedule as JSON (GET /api/v1/schedules/T?format=json),
// edit its playlists (items in order: reorder, duration, fit; media and
// text items, v1.1 §12) and entries (a playlist or a layout, priority, days,
// from/until, date range), write it back as the
// schedule text the hub reads (docs/stoa-command.md), show what publishing
// it would change (POST …/preview: assets, entries, devices affected), then
// publish (PUT); afterwards an adoption bar, "N of M screens on vX", from the
// devices' heartbeats, refreshed every few seconds (M: the devices not
// revoked, which are all that can ever adopt it). Below, the week view of
// a group: the hub evaluates the devices' own schedule engine hour by hour
// (GET …/week), DST days included; nothing here re-implements the rules.
// Invariants: nothing is sent before the checks below pass (names,
// non-empty playlists, until ≠ from, a playlist for every entry), each
// failing with a message that says what to change; the hub checks again
// and its message is shown as text; names typed by people are only ever
// text nodes (dom.js); viewers see the schedule read-only, with no Review
// or Publish button (the hub answers them 403 anyway); what this page does
// not edit (layouts: layouts.js; streams, crops, sync) is written back as
// it was loaded, so saving here never loses it; the §12 rules are the
// hub's, whose message is shown.
import * as api from './api.js';
import * as session from './session.js';
import {h, replace, field, toast} from './dom.js';

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;
const ADOPTION_POLL_MS = 3000;

function targetPath(target) {
  return '/api/v1/schedules/' + target.split('/').map(encodeURIComponent).join('/');
}

function emptyModel() {
  let tz = 'UTC';
  try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'; } catch { /* keep UTC */ }
  return {timezone: tz, default: null, default_layout: null, preamble: '', playlists: [], layouts: [], windows: [], commands: []};
}

// The problems that stop a publish, in words; [] when there are none.
export function check(model) {
  const problems = [];
  const names = new Set();
  if (!model.timezone) problems.push('Choose a time zone (e.g. Europe/Oslo).');
  for (const p of model.playlists) {
    if (!NAME_RE.test(p.name))
      problems.push(`Playlist name "${p.name}" may use only letters, digits, '.', '_' and '-' (1-64 characters, no spaces).`);
    else if (names.has(p.name)) problems.push(`There are two playlists named "${p.name}".`);
    names.add(p.name);
    if (!p.items.length) problems.push(`Playlist "${p.name}" is empty: add at least one medium, or remove the playlist.`);
    p.items.forEach((it, i) => {
      if (it.kind === 'text') {
        if (!it.text.trim()) problems.push(`Playlist "${p.name}", item ${i + 1}: write the text to show.`);
        else if (/["\n\r]/.test(it.text))
          problems.push(`Playlist "${p.name}", item ${i + 1}: a text cannot hold a double quote (") or a line break.`);
      } else if (!it.file) problems.push(`Playlist "${p.name}", item ${i + 1}: choose a medium.`);
      if (it.seconds !== '' && !(Number(it.seconds) > 0))
        problems.push(`Playlist "${p.name}", item ${i + 1}: the duration must be a number of seconds above 0, or empty.`);
    });
  }
  const entryNames = new Set();
  for (const w of model.windows) {
    const label = `Entry "${w.name}"`;
    if (!NAME_RE.test(w.name))
      problems.push(`${label}: a name may use only letters, digits, '.', '_' and '-' (1-64 characters, no spaces).`);
    else if (entryNames.has(w.name)) problems.push(`There are two entries named "${w.name}".`);
    entryNames.add(w.name);
    if (w.layout ? !model.layouts.some((l) => l.name === w.layout) : !w.playlist || !names.has(w.playlist))
      problems.push(`${label}: choose one of the playlists or layouts.`);
    if (!w.allDay) {
      if (!w.from || !w.until) problems.push(`${label}: give both from and until, or tick "All day".`);
      else if (w.from === w.until)
        problems.push(`${label}: until (${w.until}) is the same as from: the entry would have no length. ` +
                      'Change one of them, or tick "All day" for the whole day.');
    }
    if (!Number.isInteger(Number(w.priority))) problems.push(`${label}: the priority must be a whole number.`);
    if (w.start_date && w.end_date && w.end_date < w.start_date)
      problems.push(`${label}: the date range ends (${w.end_date}) before it starts (${w.start_date}).`);
  }
  if (model.default && !names.has(model.default)) problems.push(`The default playlist "${model.default}" does not exist.`);
  if (!model.playlists.length) problems.push('Add a playlist: a schedule needs something to play.');
  return problems;
}

// The schedule text the hub reads (docs/stoa-command.md, "The schedule source").
// A fraction as the text writes it: enough digits for well under a pixel.
const frac = (v) => String(Number(Number(v).toPrecision(10)));

export function serialize(model) {
  const lines = [`timezone = ${model.timezone}`];
  if (model.default) lines.push(`default = ${model.default}`);
  if (model.default_layout) lines.push(`default-layout = ${model.default_layout}`);
  if (model.preamble) lines.push(model.preamble);
  for (const p of model.playlists) {
    lines.push('', `[playlist ${p.name}]`);
    if (p.sync) lines.push(`sync = ${p.sync}`);
    for (const it of p.items) {
      const parts = it.kind === 'text' ? ['text', `"${it.text}"`] : [it.file];
      if (it.seconds !== '') parts.push(`${Math.round(Number(it.seconds) * 1000)}ms`);
      if (it.kind === 'text') {
        if (it.scroll) parts.push('scroll');
        parts.push(`color=${it.color}`);
        if (it.background) parts.push(`background=${it.background}`);
      } else if (it.fit && it.fit !== 'contain') parts.push(it.fit);
      if (it.crop) parts.push(`crop=${[it.crop.x, it.crop.y, it.crop.w, it.crop.h].map(frac).join(',')}`);
      lines.push(parts.join(' '));
    }
  }
  for (const l of model.layouts) {
    lines.push('', `[layout ${l.name}]`);
    for (const r of l.regions)
      lines.push(`${r.id} ${r.playlist} ${[r.x, r.y, r.w, r.h].map(frac).join(' ')}${Number(r.z) ? ` z=${Number(r.z)}` : ''}`);
  }
  for (const w of model.windows) {
    lines.push('', `[window ${w.name}]`, w.layout ? `layout = ${w.layout}` : `playlist = ${w.playlist}`);
    if (w.days.length && w.days.length < 7) lines.push(`days = ${w.days.join(', ')}`);
    if (!w.allDay) lines.push(`time = ${w.from}-${w.until}`);
    if (Number(w.priority)) lines.push(`priority = ${Number(w.priority)}`);
    if (w.start_date || w.end_date) lines.push(`dates = ${w.start_date || ''}..${w.end_date || ''}`);
  }
  for (const c of model.commands) lines.push('', `[command ${c.id}]`, `type = ${c.type}`);
  return lines.join('\n') + '\n';
}

// The hub's JSON (content_api.cpp scheduleAsJson) as the editor's model.
export function fromJson(d) {
  return {
    timezone: d.timezone, default: d.default, default_layout: d.default_layout || null, preamble: d.preamble || '',
    commands: d.commands || [], layouts: d.layouts || [],
    playlists: d.playlists.map((p) => ({name: p.name, sync: p.sync || null, items: p.items.map((i) => ({
      kind: i.text != null ? 'text' : 'media', file: i.file || i.url || i.stream || '', text: i.text || '',
      scroll: !!i.scroll, color: i.color || '#ffffff', background: i.background || '', crop: i.crop || null,
      seconds: i.duration_ms == null ? '' : String(i.duration_ms / 1000), fit: i.fit || 'contain'}))})),
    windows: d.windows.map((w) => ({
      name: w.name, playlist: w.playlist || '', layout: w.layout || '', priority: String(w.priority), days: w.days.length ? w.days : [...DAYS],
      allDay: w.from == null && w.until == null, from: w.from || '00:00', until: w.until || '00:00',
      start_date: w.start_date || '', end_date: w.end_date || ''})),
  };
}

export function renderSchedule(main, params) {
  const editor = session.can('content');
  let target = params.get('target') || 'fleet';
  let model = emptyModel();
  let media = [];
  let stopped = false;
  let adoptionTimer = null;
  let uid = 0;
  const id = (p) => `${p}-${++uid}`;

  const error = h('div', {class: 'error', role: 'alert', id: 'schedule-error'});
  const targetSelect = h('select', {id: 'schedule-target', onchange: () => { location.hash = '#/schedule?target=' + encodeURIComponent(targetSelect.value); }});
  const editorBox = h('div', {id: 'schedule-editor'});
  const review = h('div', {id: 'review', 'aria-live': 'polite'});
  const adoption = h('section', {class: 'panel', id: 'adoption', 'aria-labelledby': 'h-adopt'});
  const weekBox = h('section', {class: 'panel', id: 'week', 'aria-labelledby': 'h-week'});

  replace(main,
    h('h1', {tabindex: '-1', id: 'page-title'}, 'Playlists and schedule'),
    h('div', {class: 'filters'}, field('Schedule of', targetSelect,
      'A device plays its own schedule, else its group\'s, else the fleet\'s.')),
    error, editorBox, review, adoption, weekBox);
  main.querySelector('#page-title').focus();

  function say(problems) {
    replace(error, problems.length ? h('ul', null, problems.map((p) => h('li', null, p))) : null);
  }

  async function load() {
    const [devices, lib, sched] = await Promise.all([
      api.get('/api/v1/devices?limit=1000&sort=id'), api.get('/api/v1/media'),
      api.get(targetPath(target) + '?format=json')]);
    if (stopped) return;
    if (!devices.ok || !lib.ok) { say([`Cannot load: ${(devices.ok ? lib : devices).error}`]); return; }
    media = lib.data;
    const options = [h('option', {value: 'fleet'}, 'Fleet (every device without a schedule of its group or its own)')];
    for (const g of Object.keys(devices.data.groups).sort()) options.push(h('option', {value: 'groups/' + g}, `Group ${g}`));
    for (const d of devices.data.devices) options.push(h('option', {value: 'devices/' + d.id}, `Device ${d.id}`));
    if (!options.some((o) => o.value === target)) options.push(h('option', {value: target}, target));
    replace(targetSelect, options);
    targetSelect.value = target;
    if (sched.ok) model = fromJson(sched.data);
    else if (sched.status === 404) model = emptyModel();
    else { say([`Cannot load the schedule: ${sched.error}`]); return; }
    draw();
    drawWeekControls(Object.keys(devices.data.groups).sort());
    adoptionTick();
  }

  // ---- the editor ----
  function newItem(kind) {
    return {kind, file: '', text: '', scroll: false, color: '#ffffff', background: '', crop: null,
            seconds: kind === 'text' ? '10' : '', fit: 'contain'};
  }

  // A text item (v1.1 §12): the words, a duration, scroll, colours.
  function textRow(p, it, ii, secs, buttons) {
    const ro = !editor;
    const n = `Item ${ii + 1} of ${p.name}`;
    const text = h('input', {id: id('item-text'), class: 'item-text', value: it.text, disabled: ro, maxlength: '500',
                             'aria-label': `${n}: text to show`, oninput: () => { it.text = text.value; }});
    const scroll = h('input', {id: id('item-scroll'), type: 'checkbox', class: 'item-scroll', checked: it.scroll, disabled: ro,
                               onchange: () => { it.scroll = scroll.checked; }});
    const color = h('input', {id: id('item-color'), type: 'color', class: 'item-color', value: it.color, disabled: ro,
                              'aria-label': `${n}: text colour`, oninput: () => { it.color = color.value; }});
    const hasBg = h('input', {id: id('item-hasbg'), type: 'checkbox', class: 'item-hasbg', checked: !!it.background, disabled: ro,
                              onchange: () => { it.background = hasBg.checked ? bg.value : ''; bg.disabled = ro || !hasBg.checked; }});
    const bg = h('input', {id: id('item-bg'), type: 'color', class: 'item-bg', value: it.background || '#000000', disabled: ro || !it.background,
                           'aria-label': `${n}: background colour`, oninput: () => { it.background = bg.value; }});
    return h('li', {class: 'item text-item'}, h('span', {class: 'pos'}, `${ii + 1}.`), h('span', {class: 'kind'}, 'Text'), text, secs,
      h('label', {class: 'inline', for: scroll.id}, scroll, ' scroll'), color,
      h('label', {class: 'inline', for: hasBg.id}, hasBg, ' background'), bg, buttons);
  }

  function draw() {
    const ro = !editor;
    const playlistNames = model.playlists.map((p) => p.name);
    const tz = h('input', {id: 'schedule-timezone', value: model.timezone, disabled: ro,
                           oninput: () => { model.timezone = tz.value.trim(); }});
    const def = h('select', {id: 'schedule-default', disabled: ro, onchange: () => { model.default = def.value || null; }},
      h('option', {value: ''}, '(nothing: the idle screen)'), playlistNames.map((n) => h('option', {value: n}, n)));
    def.value = model.default || '';
    const defLayout = h('select', {id: 'schedule-default-layout', disabled: ro, onchange: () => { model.default_layout = defLayout.value || null; }},
      h('option', {value: ''}, '(none)'), model.layouts.map((l) => h('option', {value: l.name}, l.name)));
    defLayout.value = model.default_layout || '';

    const playlists = model.playlists.map((p, pi) => {
      const rows = p.items.map((it, ii) => {
        const move = (d) => () => { const j = ii + d; [p.items[ii], p.items[j]] = [p.items[j], p.items[ii]]; draw(); };
        const buttons = ro ? null : [
          h('button', {type: 'button', class: 'icon', disabled: ii === 0, 'aria-label': `Move item ${ii + 1} of ${p.name} up`, onclick: move(-1)}, '↑'),
          h('button', {type: 'button', class: 'icon', disabled: ii === p.items.length - 1, 'aria-label': `Move item ${ii + 1} of ${p.name} down`, onclick: move(1)}, '↓'),
          h('button', {type: 'button', class: 'icon', 'aria-label': `Remove item ${ii + 1} of ${p.name}`, onclick: () => { p.items.splice(ii, 1); draw(); }}, '✕')];
        const secs = h('input', {id: id('item-secs'), type: 'number', min: '0.1', step: '0.1', value: it.seconds, disabled: ro,
                                 class: 'item-secs', 'aria-label': `Item ${ii + 1} of ${p.name}: seconds (empty: images and texts 10 s, videos to their end)`,
                                 oninput: () => { it.seconds = secs.value.trim(); }});
        if (it.kind === 'text') return textRow(p, it, ii, secs, buttons);
        const mediaSel = h('select', {id: id('item-file'), disabled: ro, class: 'item-file', 'aria-label': `Item ${ii + 1} of ${p.name}: medium`,
                                      onchange: () => { it.file = mediaSel.value; }},
          h('option', {value: ''}, '(choose a medium)'),
          media.map((m) => h('option', {value: m.name}, m.name)),
          it.file && !media.some((m) => m.name === it.file) ? h('option', {value: it.file}, it.file) : null);
        mediaSel.value = it.file || '';
        const fit = h('select', {id: id('item-fit'), disabled: ro, class: 'item-fit', 'aria-label': `Item ${ii + 1} of ${p.name}: fit`,
                                 onchange: () => { it.fit = fit.value; }},
          ['contain', 'cover', 'stretch'].map((f) => h('option', {value: f}, f)));
        fit.value = it.fit || 'contain';
        return h('li', {class: 'item'}, h('span', {class: 'pos'}, `${ii + 1}.`), mediaSel, secs, fit, buttons);
      });
      return h('div', {class: 'playlist', dataset: {playlist: p.name}},
        h('h3', null, h('span', {class: 'pl-name'}, p.name), ` (${p.items.length} ${p.items.length === 1 ? 'item' : 'items'})`),
        h('ol', {class: 'items'}, rows),
        ro ? null : h('div', {class: 'row'},
          h('button', {type: 'button', class: 'secondary add-item', onclick: () => { p.items.push(newItem('media')); draw(); }}, 'Add item'),
          h('button', {type: 'button', class: 'secondary add-text', onclick: () => { p.items.push(newItem('text')); draw(); }}, 'Add text'),
          h('button', {type: 'button', class: 'secondary', onclick: () => { model.playlists.splice(pi, 1); draw(); }}, `Remove playlist ${p.name}`)));
    });
    const newName = h('input', {id: 'new-playlist-name', disabled: ro});
    const addPlaylist = ro ? null : h('div', {class: 'row'}, field('New playlist name', newName),
      h('button', {type: 'button', id: 'add-playlist', onclick: () => {
        model.playlists.push({name: newName.value.trim(), items: []});
        draw();
      }}, 'Add playlist'));

    const entries = model.windows.map((w, wi) => {
      // One control for "exactly one of playlist or layout": values NAME
      // (a playlist) or "layout:NAME" (names never hold a colon).
      const pl = h('select', {id: id('entry-playlist'), disabled: ro, class: 'entry-playlist', onchange: () => {
        const isLayout = pl.value.startsWith('layout:');
        w.playlist = isLayout ? '' : pl.value;
        w.layout = isLayout ? pl.value.slice('layout:'.length) : '';
      }},
        h('option', {value: ''}, '(choose)'),
        h('optgroup', {label: 'Playlists'}, playlistNames.map((n) => h('option', {value: n}, n))),
        model.layouts.length ? h('optgroup', {label: 'Layouts'}, model.layouts.map((l) => h('option', {value: 'layout:' + l.name}, `${l.name} (layout)`))) : null);
      pl.value = w.layout ? 'layout:' + w.layout : w.playlist || '';
      const prio = h('input', {id: id('entry-priority'), type: 'number', step: '1', value: w.priority, disabled: ro, class: 'entry-priority',
                               oninput: () => { w.priority = prio.value; }});
      const days = h('fieldset', {class: 'days'}, h('legend', null, 'Days'), DAYS.map((d) => {
        const cb = h('input', {type: 'checkbox', id: id('day'), checked: w.days.includes(d), disabled: ro, dataset: {day: d},
                               onchange: () => { w.days = DAYS.filter((x) => x === d ? cb.checked : w.days.includes(x)); }});
        return h('label', {class: 'day'}, cb, d);
      }));
      const from = h('input', {id: id('entry-from'), type: 'time', value: w.from, disabled: ro || w.allDay, class: 'entry-from',
                               oninput: () => { w.from = from.value; }});
      const until = h('input', {id: id('entry-until'), type: 'time', value: w.until, disabled: ro || w.allDay, class: 'entry-until',
                                oninput: () => { w.until = until.value; }});
      const allDay = h('input', {id: id('entry-allday'), type: 'checkbox', checked: w.allDay, disabled: ro, class: 'entry-allday',
                                 onchange: () => { w.allDay = allDay.checked; from.disabled = until.disabled = w.allDay; }});
      const start = h('input', {id: id('entry-start'), type: 'date', value: w.start_date, disabled: ro, class: 'entry-start',
                                oninput: () => { w.start_date = start.value; }});
      const end = h('input', {id: id('entry-end'), type: 'date', value: w.end_date, disabled: ro, class: 'entry-end',
                              oninput: () => { w.end_date = end.value; }});
      return h('div', {class: 'entry panel', dataset: {entry: w.name}},
        h('h3', null, h('span', {class: 'entry-name'}, w.name)),
        h('div', {class: 'entry-grid'},
          field('Plays (playlist or layout)', pl), field('Priority (highest wins)', prio), days,
          h('div', {class: 'field inline'}, allDay, h('label', {for: allDay.id}, 'All day')),
          field('From', from), field('Until', until), field('First date', start), field('Last date', end)),
        ro ? null : h('button', {type: 'button', class: 'secondary', onclick: () => { model.windows.splice(wi, 1); draw(); }}, `Remove entry ${w.name}`));
    });
    const entryName = h('input', {id: 'new-entry-name', disabled: ro});
    const addEntry = ro ? null : h('div', {class: 'row'}, field('New entry name', entryName),
      h('button', {type: 'button', id: 'add-entry', onclick: () => {
        model.windows.push({name: entryName.value.trim(), playlist: model.playlists[0]?.name || '', layout: '', priority: '0',
                            days: [...DAYS], allDay: false, from: '09:00', until: '17:00', start_date: '', end_date: ''});
        draw();
      }}, 'Add entry'));

    replace(editorBox,
      h('section', {class: 'panel', 'aria-labelledby': 'h-settings'}, h('h2', {id: 'h-settings'}, 'Settings'),
        h('div', {class: 'filters'}, field('Time zone (IANA)', tz), field('Default playlist (no entry active)', def),
          field('Default layout (wins on 1.1 devices)', defLayout)),
        h('p', null, h('a', {id: 'layouts-link', href: '#/layouts?target=' + encodeURIComponent(target)},
          `Layouts of this schedule (${model.layouts.length})`))),
      h('section', {class: 'panel', 'aria-labelledby': 'h-pl', id: 'playlists'}, h('h2', {id: 'h-pl'}, 'Playlists'),
        playlists.length ? playlists : h('p', {class: 'muted'}, 'No playlists yet.'), addPlaylist),
      h('section', {class: 'panel', 'aria-labelledby': 'h-en', id: 'entries'}, h('h2', {id: 'h-en'}, 'Schedule entries'),
        entries.length ? entries : h('p', {class: 'muted'}, 'No entries: the default playlist plays all the time.'), addEntry),
      editor ? h('p', null, h('button', {type: 'button', id: 'review-changes', onclick: reviewChanges}, 'Review changes')) : null);
  }

  // ---- review and publish ----
  async function reviewChanges() {
    replace(review);
    const problems = check(model);
    say(problems);
    if (problems.length) return;
    const text = serialize(model);
    const r = await api.postText(targetPath(target) + '/preview', text);
    if (stopped) return;
    if (!r.ok) { say([`The hub refused the schedule: ${r.error}`]); return; }
    const d = r.data;
    const list = (title, items, cls) => items.length
      ? h('div', {class: cls}, h('h3', null, title), h('ul', null, items.map((x) => h('li', null, x)))) : null;
    replace(review, h('section', {class: 'panel', 'aria-labelledby': 'h-review'},
      h('h2', {id: 'h-review'}, 'What publishing changes'),
      d.unchanged ? h('p', {id: 'review-unchanged'}, 'Nothing: this is the schedule the devices already have.') : null,
      list('Media added', d.assets_added, 'assets-added'),
      list('Media no longer used', d.assets_removed, 'assets-removed'),
      list('Playlists', d.playlists_changed.map((p) => `${p.name}: ${p.change}`), 'playlists-changed'),
      list('Layouts', (d.layouts_changed || []).map((l) => `${l.name}: ${l.change}`), 'layouts-changed'),
      list('Entries added or changed', d.entries_added, 'entries-added'),
      list('Entries removed or changed', d.entries_removed, 'entries-removed'),
      h('p', {id: 'review-devices'}, `Devices affected: ${d.devices_total}` +
        (d.devices.length ? ` (${d.devices.slice(0, 20).join(', ')}${d.devices_total > 20 ? ', …' : ''})` : '')),
      d.unchanged ? null : h('button', {type: 'button', id: 'publish', onclick: publish}, 'Publish')));
    review.querySelector('h2').scrollIntoView({block: 'nearest'});
  }

  async function publish(e) {
    e.target.disabled = true;
    const problems = check(model);
    say(problems);
    if (problems.length) return;
    const r = await api.putText(targetPath(target), serialize(model));
    if (stopped) return;
    if (!r.ok) { say([`Not published: ${r.error}`]); e.target.disabled = false; return; }
    replace(review, h('p', {id: 'published', class: 'ok'}, `Published as version ${r.data.version}.`));
    toast(`Published version ${r.data.version}`);
    adoptionTick();
    loadWeek();
  }

  // ---- adoption ----
  async function adoptionTick() {
    clearTimeout(adoptionTimer);
    const [pub, devs] = await Promise.all([api.get('/api/v1/publication'),
      api.get('/api/v1/devices?limit=1000&sort=version&order=asc&fleet=active')]);
    if (stopped) return;
    if (pub.ok && devs.ok) {
      const v = pub.data.version;
      const d = devs.data;
      const total = d.fleet;
      let on = 0;
      for (const [ver, n] of Object.entries(d.versions)) if (ver !== 'none' && Number(ver) >= v) on += n;
      const behind = d.devices.filter((x) => x.manifest_version == null || x.manifest_version < v);
      replace(adoption, h('h2', {id: 'h-adopt'}, 'Adoption'),
        v ? [h('p', {id: 'adoption-text'}, `${on} of ${total} screens on v${v}`),
          h('progress', {id: 'adoption-bar', max: Math.max(total, 1), value: on, 'aria-labelledby': 'adoption-text'}),
          behind.length ? h('details', null, h('summary', null, `Not yet on v${v}: ${total - on}`),
            h('ul', {id: 'adoption-behind'}, behind.slice(0, 50).map((x) => h('li', null,
              h('a', {href: '#/device/' + encodeURIComponent(x.id)}, x.id),
              ` — ${x.manifest_version == null ? 'no manifest yet' : 'on v' + x.manifest_version}, ${x.state}`)))) : null]
          : h('p', {id: 'adoption-text'}, 'Nothing published yet.'));
    }
    adoptionTimer = setTimeout(adoptionTick, ADOPTION_POLL_MS);
  }

  // ---- week view ----
  const weekTarget = h('select', {id: 'week-target', onchange: loadWeek});
  const weekStart = h('input', {id: 'week-start', type: 'date', onchange: loadWeek});
  const weekGrid = h('div', {id: 'week-grid', class: 'week-grid'});
  const weekNote = h('p', {id: 'week-note', class: 'muted'});
  function drawWeekControls(groups) {
    replace(weekTarget, h('option', {value: 'fleet'}, 'Fleet'),
      groups.map((g) => h('option', {value: 'groups/' + g}, `Group ${g}`)));
    if (target.startsWith('groups/') || target === 'fleet') weekTarget.value = target;
    replace(weekBox, h('h2', {id: 'h-week'}, 'Week view'),
      h('div', {class: 'filters'}, field('What plays for', weekTarget), field('Week from', weekStart)),
      weekNote, weekGrid);
    loadWeek();
  }

  async function loadWeek() {
    const qs = weekStart.value ? '?start=' + weekStart.value : '';
    const r = await api.get(targetPath(weekTarget.value || 'fleet') + '/week' + qs);
    if (stopped) return;
    if (!r.ok) { replace(weekGrid); weekNote.textContent = r.error; return; }
    const w = r.data;
    if (!weekStart.value) weekStart.value = w.start;
    weekNote.textContent = `Computed by the devices' schedule engine from the ${w.source} schedule, in ${w.timezone}. ` +
      'Each hour lists every playlist and layout on screen during it.';
    replace(weekGrid, w.days.map((d) => h('div', {class: 'week-day', dataset: {date: d.date}},
      h('h3', null, `${d.weekday} ${d.date}`, d.hours.length !== 24 ? ` (${d.hours.length} h: clocks change)` : ''),
      h('ol', {class: 'hours'}, d.hours.map((hr) => h('li', {
          class: 'hour ' + (hr.sources.includes('schedule') ? 'sched' : hr.sources.includes('default') ? 'default' : 'idle'),
          dataset: {local: hr.local, at: hr.at}},
        h('span', {class: 'hour-time'}, hr.local), ' ',
        h('span', {class: 'hour-play'}, hr.playlists.length || (hr.layouts || []).length
          ? [...hr.playlists, ...(hr.layouts || []).map((l) => `layout ${l}`)].join(', ') : '— idle'),
        hr.changes > 0 ? h('span', {class: 'hour-split', title: 'The schedule changes within this hour'}, ' ◐') : null))))));
  }

  load();
  return {stop() { stopped = true; clearTimeout(adoptionTimer); }};
}
