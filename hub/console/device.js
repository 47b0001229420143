// hub/console/device.js — one device: its latest screenshot (and a button
// that asks for a new one), its latest heartbeat, when it was online over
// the last 24 hours, its sync errors in plain words and the commands sent.
// Invariants: the screenshot is fetched with the session's token and shown
// from a blob URL (an <img src> cannot carry the token), and the URL is
// revoked when replaced or when the page goes; after "Take screenshot" the
// page polls until the device's last_screenshot_at moves, so the new picture
// appears by itself; the button is drawn only for roles that may send
// commands (the hub answers 403 to the others anyway).
import * as api from './api.js';
import * as session from './session.js';
import {h, replace, toast} from './dom.js';
import * as fmt from './format.js';
import {stateBadge, failing} from './fleet.js';

const DAY_MS = 24 * 3600 * 1000;
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
    h('section', {'aria-labelledby': 'h-tl', class: 'panel'}, h('h2', {id: 'h-tl'}, 'Online, last 24 hours'), timeline),
    h('section', {'aria-labelledby': 'h-err', class: 'panel'}, h('h2', {id: 'h-err'}, 'Sync errors, last 24 hours'), errors),
    h('section', {'aria-labelledby': 'h-cmd', class: 'panel'}, h('h2', {id: 'h-cmd'}, 'Commands sent'), commands));
  title.focus();

  async function load() {
    clearTimeout(timer);
    const [dev, history, sent] = await Promise.all([
      api.get(base), api.get(base + '/history?limit=2000'), api.get(base + '/commands')]);
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
    drawTimeline(beats, d.online_within_s ?? 180);
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

  // Online where a heartbeat came within `onlineS` before; the rest of the
  // 24 h is "no heartbeat". Drawn as proportional segments with words (a
  // summary and each segment's title), not colour alone.
  function drawTimeline(beats, onlineS) {
    const now = Date.now();
    const start = now - DAY_MS;
    const times = beats.map((b) => Date.parse(b.received_at)).filter((t) => t >= start - onlineS * 1000).sort((a, b) => a - b);
    const spans = [];
    for (const t of times) {
      const from = Math.max(t, start);
      const to = Math.min(t + onlineS * 1000, now);
      if (to <= from) continue;
      const last = spans[spans.length - 1];
      if (last && from <= last.to) last.to = Math.max(last.to, to);
      else spans.push({from, to});
    }
    const segments = [];
    let cursor = start;
    for (const s of spans) {
      if (s.from > cursor) segments.push({on: false, from: cursor, to: s.from});
      segments.push({on: true, from: s.from, to: s.to});
      cursor = s.to;
    }
    if (cursor < now) segments.push({on: false, from: cursor, to: now});
    const onMs = spans.reduce((a, s) => a + s.to - s.from, 0);
    const gaps = segments.filter((s) => !s.on);
    const longest = gaps.reduce((a, s) => Math.max(a, s.to - s.from), 0);
    const words = `Online ${Math.round((100 * onMs) / DAY_MS)} % of the last 24 hours` +
      (gaps.length ? `; ${gaps.length} period${gaps.length > 1 ? 's' : ''} without heartbeats, the longest ${fmt.duration(longest)}.` : '.');
    const time = (ms) => new Date(ms).toLocaleTimeString(undefined, {hour: '2-digit', minute: '2-digit'});
    replace(timeline,
      h('p', {id: 'timeline-summary'}, words),
      h('div', {class: 'timeline', id: 'timeline', role: 'img', 'aria-label': words},
        segments.map((s) => h('span', {
          class: s.on ? 'seg on' : 'seg off',
          title: `${s.on ? 'Online' : 'No heartbeat'} ${time(s.from)}–${time(s.to)}`,
          dataset: {width: ((100 * (s.to - s.from)) / DAY_MS).toFixed(3)},
        }))),
      h('div', {class: 'axis', 'aria-hidden': 'true'}, h('span', {}, '24 h ago'), h('span', {}, '12 h ago'), h('span', {}, 'now')));
    // Widths through the CSSOM: allowed by the CSP (style attributes in
    // markup are not, style-src has no 'unsafe-inline').
    for (const seg of timeline.querySelectorAll('.seg')) seg.style.flexBasis = seg.dataset.width + '%';
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
    const outcome = (c) => {
      if (c.type === 'screenshot' && lastShot && lastShot >= c.created_at) return 'done: a screenshot arrived';
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
