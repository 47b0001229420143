// hub/console/api.js — the hub's JSON API (docs/hub-api.md), for the pages.
// Job: one fetch wrapper that adds the session's Authorization header,
// turns errors into values ({ok: false, status, error}) and sends a 401
// back to the sign-in page (expired or signed out elsewhere).
// Invariant: requests go to this origin only (relative URLs; the CSP's
// connect-src 'self' enforces it), and credentials: 'omit' keeps any
// cookie of this origin out of them: the header is the only credential.
import * as session from './session.js';

let onUnauthorized = () => {};
export function whenUnauthorized(fn) { onUnauthorized = fn; }

export async function call(method, path, body, {raw = false, headers: extra = {}} = {}) {
  const s = session.current();
  const headers = {...extra};
  if (s) headers.Authorization = `Bearer ${s.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method, headers, credentials: 'omit', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    return {ok: false, status: 0, error: 'the hub cannot be reached (' + e.message + ')'};
  }
  if (response.status === 401 && path !== '/api/v1/login') {
    session.forget();
    onUnauthorized();
    return {ok: false, status: 401, error: 'your session has ended: sign in again'};
  }
  if (raw && response.status === 304) return {ok: true, status: 304, response}; // If-None-Match held
  if (!response.ok) {
    let error = `the hub answered ${response.status}`;
    try { error = (await response.json()).error || error; } catch { /* not JSON */ }
    return {ok: false, status: response.status, error};
  }
  if (raw) return {ok: true, status: response.status, response};
  if (response.status === 204) return {ok: true, status: 204, data: null};
  return {ok: true, status: response.status, data: await response.json()};
}

export const get = (path) => call('GET', path);
export const post = (path, body) => call('POST', path, body);

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? '?' + s : '';
}
