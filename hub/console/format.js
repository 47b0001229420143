// hub/console/format.js — numbers, times and errors as a person reads them.
// Job: pure functions (no DOM): "3 min ago", "1.2 GB", "51 °C", and a sync
// error from a heartbeat (§5 sync.last_error, the agent's own words for
// programs) said in plain words, with what to check.

export function ago(iso, now = Date.now()) {
  if (!iso) return 'never';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (s < 0) return 'just now';
  if (s < 45) return `${s} s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const hrs = Math.round(m / 60);
  if (hrs < 48) return `${hrs} h ago`;
  return `${Math.round(hrs / 24)} days ago`;
}

export function clock(iso) {
  if (!iso) return '';
  return new Date(iso).toLocaleString(undefined, {dateStyle: 'medium', timeStyle: 'short'});
}

export function duration(ms) {
  const m = Math.round(ms / 60000);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}

export function bytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = Number(n);
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

export function temperature(c) {
  return c === null || c === undefined ? '—' : `${Math.round(Number(c))} °C`;
}

export function playing(np) {
  if (!np) return '—';
  if (np.url) return np.url;
  const parts = [];
  if (np.playlist) parts.push(np.playlist);
  if (np.asset) parts.push(String(np.asset).replace(/^sha256:/, '').slice(0, 12));
  return parts.length ? parts.join(' · ') : '—';
}

// [pattern, plain words]; the first match wins. The raw text is always
// shown beside it (the page puts it in a <details>).
const ERRORS = [
  [/could not resolve|resolve host|name resolution/i,
   'The device cannot look up the hub\'s name (DNS). Check its network settings.'],
  [/connection refused|failed to connect|couldn't connect/i,
   'The device cannot connect to the hub: nothing answers at its address, or a firewall is in the way.'],
  [/timed out|timeout|too slow|low.speed/i,
   'The connection to the hub is too slow or drops: check the device\'s network.'],
  [/ssl|tls|certificate/i,
   'The secure connection failed: the hub\'s certificate is not trusted by the device, or its clock is far off.'],
  [/HTTP 401|HTTP 403/i,
   'The hub refused the device\'s credential: its token was revoked or replaced. Issue a new token.'],
  [/HTTP 404/i, 'The hub has no content for this device yet: publish a schedule.'],
  [/HTTP 429|HTTP 503/i, 'The hub was busy and asked the device to come back later; it will retry by itself.'],
  [/HTTP 5\d\d/i, 'The hub answered with an error; the device will retry by itself. See the hub\'s log.'],
  [/signature|keyid|threshold|verify/i,
   'A document from the hub did not pass the device\'s signature check, so it was not used. Check the signing keys.'],
  [/expired|expires/i, 'The newest content the device has is past its expiry date: publish again.'],
  [/rollback|older than|version/i,
   'The hub offered content older than what the device already has; the device keeps the newer one.'],
  [/no space|disk full|quota|ENOSPC/i, 'The device\'s disk is full: content cannot be downloaded.'],
  [/sha-?256|digest|size/i, 'A downloaded file did not match what the manifest promised; it was thrown away and will be fetched again.'],
];

export function syncError(raw) {
  if (!raw) return null;
  for (const [pattern, words] of ERRORS) if (pattern.test(raw)) return words;
  return 'The last sync failed; the device will retry by itself.';
}
