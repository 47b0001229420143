// hub/console/session.js — the operator's login session in this tab.
// Job: keep the session token the hub gave at POST /api/v1/login, with the
// operator's name, role and expiry, in sessionStorage (this tab only, gone
// when the tab closes), and forget it on sign-out, on expiry and on any 401.
// Why no cookie: the token travels only in the Authorization header that
// api.js adds. A browser never attaches that header by itself, so a page on
// another site cannot make a signed-in request (no CSRF), and a
// cross-origin script cannot add it without a CORS preflight the hub never
// grants. The price: a script running in this origin could read the token;
// the CSP (script-src 'self', no inline) and dom.js (text only) are the
// defence, and the session ends after 12 h at the latest (the hub's rule).
const KEY = 'stoa.session';

export function current() {
  let s = null;
  try { s = JSON.parse(sessionStorage.getItem(KEY) || 'null'); } catch { s = null; }
  if (!s || typeof s.token !== 'string') return null;
  if (s.expires_at && Date.parse(s.expires_at) <= Date.now()) {
    forget();
    return null;
  }
  return s;
}

export function remember(login) {
  sessionStorage.setItem(KEY, JSON.stringify({
    token: login.token, name: login.name, role: login.role, expires_at: login.expires_at,
  }));
}

export function forget() {
  sessionStorage.removeItem(KEY);
}

// What the role may do (the hub checks the same and answers 403: these
// only decide which controls are drawn).
export function can(action) {
  const role = current()?.role;
  if (role === 'admin') return true;
  if (role === 'editor') return action === 'command' || action === 'content';
  return false;
}
