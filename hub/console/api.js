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

// `contentType`: send `body` as it is (a schedule's text) instead of JSON.
export async function call(method, path, body, {raw = false, headers: extra = {}, contentType = null} = {}) {
  const s = session.current();
  const headers = {...extra};
  if (s) headers.Authorization = `Bearer ${s.token}`;
  if (body !== undefined) headers['Content-Type'] = contentType || 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method, headers, credentials: 'omit', cache: 'no-store',
      body: body === undefined ? undefined : contentType ? body : JSON.stringify(body),
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
export const del = (path) => call('DELETE', path);
export const postText = (path, text) => call('POST', path, text, {contentType: 'text/plain; charset=utf-8'});
export const putText = (path, text) => call('PUT', path, text, {contentType: 'text/plain; charset=utf-8'});

// An upload with progress (fetch cannot report an upload's progress):
// onProgress(sentBytes, totalBytes); resolves like call(), never rejects.
export function upload(path, file, onProgress) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', path);
    const s = session.current();
    if (s) xhr.setRequestHeader('Authorization', `Bearer ${s.token}`);
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded, e.total); };
    xhr.onerror = () => resolve({ok: false, status: 0, error: 'the upload was interrupted (network error)'});
    xhr.onabort = () => resolve({ok: false, status: 0, error: 'the upload was cancelled'});
    xhr.onload = () => {
      if (xhr.status === 401) {
        session.forget();
        onUnauthorized();
        resolve({ok: false, status: 401, error: 'your session has ended: sign in again'});
        return;
      }
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve({ok: true, status: xhr.status, data});
      else resolve({ok: false, status: xhr.status, error: (data && data.error) || `the hub answered ${xhr.status}`});
    };
    xhr.send(file);
  });
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? '?' + s : '';
}
