// hub/console/device.js — one device: its latest screenshot (and a button
// that asks for a new one), its latest heartbeat, when it was online over
// the last 24 hours and the last 7 days, its sync errors in plain words,
// buttons that restart its player, reboot it or turn its display on or
// off, and the commands sent with their outcome.
// Invariants: the screenshot is fetched with the session's token and shown
// from a blob URL (an <img src> cannot carry the token), and the URL is
// revoked when replaced or when the page goes; after "Take screenshot" the
// page polls until the device's last_screenshot_at moves, so the new picture
// appears by itself; command buttons are drawn only for roles that may send
// commands (the hub answers 403 to the others anyway), and a reboot is sent
// only after a second, confirming click; the timelines are the hub's
// (GET …/online: the fleet's online rule, one place), never recomputed here.
import * as api from './api.js';
import * as session from './session.js';
import {h, replace, toast} from './dom.js';
import * as fmt from './format.js';
import {stateBadge, failing} from './fleet.js';

const DAY_MS = 24 * 3600 * 1000;
// The device controls (protocol §3 command types) and what each says.
const CONTROLS = [
  {type: 'restart_player', label: 'Restart player', sent: 'Player restart requested'},
  {type: 'reboot', label: 'Reboot', sent: 'Reboot requested',
   confirm: (id) => `Really reboot ${id}? Its screen is dark until it is back`},
  {type: 'display_on', label: 'Display on', sent: 'Display on requested'},
  {type: 'display_off', label: 'Display off', sent: 'Display off requested'},
];
const REFRESH_MS = 30000;
const WAITING_POLL_MS = 2000;
const WAIT_LIMIT_MS = 10 * 60 * 1000;

export function renderDevice(main, id) {
  const base = '/api/v1/devices/' + encodeURIComponent(id);
  let stopped = false;
  let timer = null;
  let blobUrl = null;
  let shownShot = undefined;      // last_screenshot_at of the picture on screen
  let shownEtag = null;           // its digest, as the hub's ETag
  let waitingSince = null;        // ms: a screenshot was asked for, not yet here
  let waitingFrom = null;         // last_screenshot_at when it was asked for

  const title = h('h1', {tabindex: '-1', id: 'page-title'}, id);
  const facts = h('dl', {class: 'facts', id: 'facts'});
  const alert = h('div', {id: 'device-alert'});
  const img = h('img', {id: 'screenshot', alt: `Latest screenshot of ${id}`, hidden: true});
  const caption = h('figcaption', {id: 'screenshot-caption'}, 'Loading…');
  const shotStatus = h('p', {id: 'screenshot-status', role: 'status', 'aria-live': 'polite'});
  const button = session.can('command')
    ? h('button', {type: 'button', id: 'take-screenshot', onclick: takeScreenshot}, 'Take screenshot') : null;
  const heartbeat = h('dl', {class: 'facts', id: 'heartbeat'});
  const timeline = h('div', {id: 'timeline-box'});
  const timelineWeek = h('div', {id: 'timeline-7d-box'});
  const controlStatus = h('p', {id: 'control-status', role: 'status', 'aria-live': 'polite'});
  const controls = session.can('command') ? h('section', {'aria-labelledby': 'h-ctl', class: 'panel', id: 'controls'},
    h('h2', {id: 'h-ctl'}, 'Control'),
    h('div', {class: 'buttons'}, CONTROLS.map((c) => h('button', {
      type: 'button', id: 'cmd-' + c.type.replace('_', '-'), dataset: {command: c.type},
      onclick: (e) => sendControl(c, e.currentTarget)}, c.label))),
    controlStatus) : null;
  const errors = h('div', {id: 'sync-errors'});
  const commands = h('div', {id: 'commands'});
  const error = h('p', {class: 'error', role: 'alert'});

  replace(main,
    h('p', {class: 'back'}, h('a', {href: '#/fleet'}, '← Fleet')),
    title, error, alert, facts,
    h('div', {class: 'device-grid'},
      h('section', {'aria-labelledby': 'h-shot', class: 'panel'},
        h('h2', {id: 'h-shot'}, 'Screen'),
        h('figure', {class: 'shot'}, img, caption),
        button, shotStatus),
      h('section', {'aria-labelledby': 'h-hb', class: 'panel'},
        h('h2', {id: 'h-hb'}, 'Latest heartbeat'), heartbeat)),
    controls,
    h('section', {'aria-labelledby': 'h-tl', class: 'panel'}, h('h2', {id: 'h-tl'}, 'Online, last 24 hours'), timeline),
    h('section', {'aria-labelledby': 'h-tl7', class: 'panel'}, h('h2', {id: 'h-tl7'}, 'Online, last 7 days'), timelineWeek),
    h('section', {'aria-labelledby': 'h-err', class: 'panel'}, h('h2', {id: 'h-err'}, 'Sync errors, last 24 hours'), errors),
    h('section', {'aria-labelledby': 'h-cmd', class: 'panel'}, h('h2', {id: 'h-cmd'}, 'Commands sent'), commands));
  title.focus();

  async function load() {
    clearTimeout(timer);
    const [dev, history, sent, day, week] = await Promise.all([
      api.get(base), api.get(base + '/history?limit=2000'), api.get(base + '/commands'),
      api.get(base + '/online?days=1'), api.get(base + '/online?days=7')]);
    if (stopped) return;
    if (!dev.ok) {
      error.textContent = dev.status === 404 ? `There is no device "${id}".` : 'The device could not be loaded: ' + dev.error;
      return;
    }
    error.textContent = '';
    const d = dev.data;
    const hb = d.status;
    replace(title, id, ' ', stateBadge(d.state));
    replace(facts,
      fact('Group', d.group ?? '—'),
      fact('Tags', d.tags.length ? d.tags.join(', ') : '—'),
      fact('Manifest', d.manifest_version === null ? '—' : `v${d.manifest_version}`),
      fact('Last seen', d.last_seen_at ? `${fmt.ago(d.last_seen_at)} (${fmt.clock(d.last_seen_at)})` : 'never'),
      fact('Software', hb?.software_version ?? '—'),
      fact('Plays stored', d.plays.toLocaleString()));
    const summary = {last_error: hb?.sync?.last_error, consecutive_failures: hb?.sync?.consecutive_failures,
                     manifest_stale: hb?.manifest?.stale};
    replace(alert, failing(summary) ? h('p', {class: 'alert failing', role: 'alert'},
      h('span', {class: 'icon', 'aria-hidden': 'true'}, '⚠ '),
      summary.last_error ? fmt.syncError(summary.last_error)
        : summary.manifest_stale ? 'The content on this device is past its expiry date.'
        : `The last ${summary.consecutive_failures} sync attempts failed.`) : null);
    drawHeartbeat(hb);
    const beats = history.ok ? history.data : [];
    drawTimeline(timeline, 'timeline', day, 'the last 24 hours', ['24 h ago', '12 h ago', 'now'],
      (ms) => new Date(ms).toLocaleTimeString(undefined, {hour: '2-digit', minute: '2-digit'}));
    drawTimeline(timelineWeek, 'timeline-7d', week, 'the last 7 days', ['7 days ago', '3½ days ago', 'now'],
      (ms) => new Date(ms).toLocaleString(undefined, {dateStyle: 'short', timeStyle: 'short'}));
    drawErrors(beats);
    drawCommands(sent.ok ? sent.data : [], hb, d.last_seen_at, d.last_screenshot_at);
    await drawScreenshot(d.last_screenshot_at);
    if (stopped) return;
    timer = setTimeout(load, waitingSince ? WAITING_POLL_MS : REFRESH_MS);
  }

  // While a screenshot is awaited the picture is asked for on every poll
  // with If-None-Match (a 304 costs nothing): last_screenshot_at has whole
  // seconds only, the digest (the ETag) tells a new picture at once.
  async function drawScreenshot(at) {
    if (waitingSince && Date.now() - waitingSince > WAIT_LIMIT_MS) {
      waitingSince = null;
      shotStatus.textContent = 'No screenshot came back within 10 minutes: is the device online?';
      if (button) button.disabled = false;
    }
    if (!at) {
      shownShot = at;
      img.hidden = true;
      caption.textContent = 'No screenshot yet.';
      return;
    }
    if (at === shownShot && !waitingSince) return;
    const r = await api.call('GET', base + '/screenshot', undefined,
                             {raw: true, headers: shownEtag ? {'If-None-Match': shownEtag} : {}});
    if (stopped) return;
    if (!r.ok) {
      caption.textContent = r.status === 404 ? 'No screenshot yet.' : 'The screenshot could not be loaded: ' + r.error;
      return;
    }
    const newPicture = r.status === 200;
    if (newPicture) {
      const url = URL.createObjectURL(await r.response.blob());
      if (stopped) { URL.revokeObjectURL(url); return; }
      if (blobUrl) URL.revokeObjectURL(blobUrl);
      blobUrl = url;
      shownEtag = r.response.headers.get('ETag');
      img.src = url;
      img.hidden = false;
    }
    if (newPicture || at !== shownShot) {
      shownShot = at;
      img.dataset.takenAt = at;
      replace(caption, 'Taken ', h('time', {datetime: at, title: fmt.clock(at)}, fmt.ago(at)), '.');
    }
    if (waitingSince && (newPicture || at !== waitingFrom)) {
      waitingSince = null;
      shotStatus.textContent = 'The new screenshot has arrived.';
      if (button) button.disabled = false;
    }
  }

  async function takeScreenshot() {
    button.disabled = true;
    shotStatus.textContent = 'Asking the device…';
    const r = await api.post(base + '/commands', {type: 'screenshot'});
    if (stopped) return;
    if (!r.ok) {
      button.disabled = false;
      shotStatus.textContent = r.status === 403 ? 'Your role may not send commands.' : 'Not sent: ' + r.error;
      return;
    }
    waitingSince = Date.now();
    waitingFrom = shownShot ?? null;
    shotStatus.textContent = 'Asked. The new picture appears here when the device sends it.';
    toast('Screenshot requested');
    clearTimeout(timer);
    timer = setTimeout(load, WAITING_POLL_MS);
  }

  // A reboot takes two clicks: the first turns the button into the
  // question (and offers Cancel), the second sends it.
  async function sendControl(c, btn) {
    if (c.confirm && btn.dataset.confirm !== 'yes') {
      btn.dataset.confirm = 'yes';
      btn.textContent = c.confirm(id);
      const cancel = h('button', {type: 'button', id: 'cmd-cancel', class: 'secondary', onclick: () => {
        btn.dataset.confirm = '';
        btn.textContent = c.label;
        cancel.remove();
        btn.focus();
      }}, 'Cancel');
      btn.after(cancel);
      return;
    }
    if (c.confirm) {
      btn.dataset.confirm = '';
      btn.textContent = c.label;
      document.getElementById('cmd-cancel')?.remove();
    }
    btn.disabled = true;
    controlStatus.textContent = 'Sending…';
    const r = await api.post(base + '/commands', {type: c.type});
    if (stopped) return;
    btn.disabled = false;
    if (!r.ok) {
      controlStatus.textContent = r.status === 403 ? 'Your role may not send commands.' : 'Not sent: ' + r.error;
      return;
    }
    controlStatus.textContent = `${c.sent}: the device carries it out when it next syncs (it is woken at once).`;
    toast(c.sent);
    load(); // the commands list shows it at once
  }

  function drawHeartbeat(hb) {
    if (!hb) {
      replace(heartbeat, fact('Heartbeat', 'none received yet'));
      return;
    }
    replace(heartbeat,
      fact('Sent', hb.sent_at ? `${fmt.ago(hb.sent_at)} (${fmt.clock(hb.sent_at)})` : '—'),
      fact('Playing', fmt.playing(hb.now_playing)),
      fact('Temperature', fmt.temperature(hb.health?.cpu_temp_c) + (hb.health?.throttled ? ' (throttled)' : '')),
      fact('Free disk', fmt.bytes(hb.health?.disk_free_bytes)),
      fact('Cache', hb.cache ? `${fmt.bytes(hb.cache.bytes_used)} of ${fmt.bytes(hb.cache.bytes_limit)}, ${hb.cache.assets ?? 0} files` : '—'),
      fact('Clock', hb.clock ? `${hb.clock.trusted ? 'trusted' : 'NOT trusted'} (${hb.clock.source ?? 'unknown source'})` : '—'),
      fact('Manifest', hb.manifest ? `v${hb.manifest.version}${hb.manifest.stale ? ', expired' : ''}` : '—'),
      fact('Last sync', hb.sync?.last_success_at ? fmt.ago(hb.sync.last_success_at) : 'never'),
      fact('Uptime', hb.uptime_s !== undefined && hb.uptime_s !== null ? fmt.duration(hb.uptime_s * 1000) : '—'));
  }

  // The hub's spans (online for online_within_s after each heartbeat, the
  // fleet's rule) as proportional segments: online, no heartbeat, and "no
  // record" before the oldest heartbeat the hub keeps (not the same as
  // offline). With words (a summary and each segment's title), not colour
  // alone.
  function drawTimeline(box, idBase, r, span, axis, time) {
    if (!r.ok) {
      replace(box, h('p', {class: 'error'}, 'The timeline could not be loaded: ' + r.error));
      return;
    }
    const from = Date.parse(r.data.from), until = Date.parse(r.data.until), total = until - from;
    const recorded = r.data.recorded_from ? Date.parse(r.data.recorded_from) : until;
    const segments = [];
    if (recorded > from) segments.push({kind: 'none', from, to: recorded});
    let cursor = recorded;
    for (const s of r.data.spans) {
      const a = Date.parse(s.from), b = Date.parse(s.until);
      if (a > cursor) segments.push({kind: 'off', from: cursor, to: a});
      segments.push({kind: 'on', from: a, to: b});
      cursor = Math.max(cursor, b);
    }
    if (cursor < until) segments.push({kind: 'off', from: cursor, to: until});
    const onMs = segments.filter((s) => s.kind === 'on').reduce((a, s) => a + s.to - s.from, 0);
    const gaps = segments.filter((s) => s.kind === 'off');
    const longest = gaps.reduce((a, s) => Math.max(a, s.to - s.from), 0);
    const words = !r.data.recorded_from ? `No heartbeat in ${span}.`
      : `Online ${Math.round((100 * onMs) / total)} % of ${span}` +
        (gaps.length ? `; ${gaps.length} period${gaps.length > 1 ? 's' : ''} without heartbeats, the longest ${fmt.duration(longest)}` : '') +
        (recorded > from ? `; no record before ${time(recorded)}.` : '.');
    const name = {on: 'Online', off: 'No heartbeat', none: 'No record'};
    replace(box,
      h('p', {id: idBase + '-summary'}, words),
      h('div', {class: 'timeline', id: idBase, role: 'img', 'aria-label': words},
        segments.map((s) => h('span', {
          class: 'seg ' + s.kind,
          title: `${name[s.kind]} ${time(s.from)}–${time(s.to)}`,
          dataset: {width: ((100 * (s.to - s.from)) / total).toFixed(3), from: new Date(s.from).toISOString(),
                    until: new Date(s.to).toISOString()},
        }))),
      h('div', {class: 'axis', 'aria-hidden': 'true'}, axis.map((a) => h('span', {}, a))));
    // Widths through the CSSOM: allowed by the CSP (style attributes in
    // markup are not, style-src has no 'unsafe-inline').
    for (const seg of box.querySelectorAll('.seg')) seg.style.flexBasis = seg.dataset.width + '%';
  }

  function drawErrors(beats) {
    const start = Date.now() - DAY_MS;
    const runs = [];
    for (const b of [...beats].reverse()) { // oldest first
      const t = Date.parse(b.received_at);
      if (t < start) continue;
      const raw = b.status?.sync?.last_error || '';
      const last = runs[runs.length - 1];
      if (!raw) { if (last) last.closed = true; continue; }
      if (last && !last.closed && last.raw === raw) { last.to = t; last.count++; continue; }
      runs.push({raw, from: t, to: t, count: 1, closed: false});
    }
    if (!runs.length) {
      replace(errors, h('p', {class: 'ok'}, 'No sync errors in the last 24 hours.'));
      return;
    }
    replace(errors, h('ul', {class: 'errors'}, runs.reverse().slice(0, 20).map((r) =>
      h('li', {},
        h('p', {}, h('strong', {}, `${new Date(r.from).toLocaleString(undefined, {timeStyle: 'short', dateStyle: 'short'})}` +
          (r.count > 1 ? ` for ${fmt.duration(r.to - r.from)} (${r.count} heartbeats)` : '')), ': ', fmt.syncError(r.raw)),
        h('details', {}, h('summary', {}, 'What the device said'), h('code', {}, r.raw))))));
  }

  function drawCommands(list, hb, lastSeen, lastShot) {
    if (!list.length) {
      replace(commands, h('p', {}, 'No commands in the last 24 hours.'));
      return;
    }
    const pending = new Set(hb?.pending_commands || []);
    // Booted after the command: the heartbeat's uptime (the sync agent's,
    // which a reboot restarts) began after it was sent.
    const bootedAt = hb?.sent_at && hb.uptime_s != null ? Date.parse(hb.sent_at) - hb.uptime_s * 1000 : null;
    const outcome = (c) => {
      if (c.type === 'screenshot' && lastShot && lastShot >= c.created_at) return 'done: a screenshot arrived';
      if (c.type === 'reboot' && bootedAt && bootedAt > Date.parse(c.created_at) && !pending.has(c.id))
        return 'done: the device has restarted since';
      if (pending.has(c.id)) return 'received, waiting to be carried out';
      if (!lastSeen || lastSeen < c.created_at) return 'not picked up yet';
      return 'picked up';
    };
    replace(commands, h('table', {class: 'plain'},
      h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, 'Command'), h('th', {scope: 'col'}, 'Sent'), h('th', {scope: 'col'}, 'Outcome'))),
      h('tbody', {}, [...list].reverse().map((c) => h('tr', {dataset: {command: c.id}},
        h('td', {}, c.type.replace('_', ' ')),
        h('td', {}, h('time', {datetime: c.created_at, title: fmt.clock(c.created_at)}, fmt.ago(c.created_at))),
        h('td', {}, outcome(c)))))));
  }

  load();
  return {stop() {
    stopped = true;
    clearTimeout(timer);
    if (blobUrl) URL.revokeObjectURL(blobUrl);
  }};
}

function fact(term, value) {
  return [h('dt', {}, term), h('dd', {}, value)];
}
