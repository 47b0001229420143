// hub/console/app.js — the console's entry point: sign-in, sign-out and
// which view the address shows (#/fleet, #/device/ID, #/content,
// #/schedule, #/layouts, #/plays, #/audit).
// Invariants: no view is drawn without a session (the API would answer 401
// anyway); a session ends at its expires_at even if the tab stays open, at
// sign-out (the hub forgets it too: POST /api/v1/logout) and at any 401.
import * as api from './api.js';
import * as session from './session.js';
import {h, replace, field} from './dom.js';
import {renderFleet} from './fleet.js';
import {renderDevice} from './device.js';
import {renderContent} from './content.js';
import {renderSchedule} from './schedule.js';
import {renderLayouts} from './layouts.js';
import {renderPlays} from './plays.js';
import {renderAudit} from './audit.js';

const main = document.getElementById('main');
let view = null;        // the view on screen: {stop()} to end its timers
let expiryTimer = null;
let notice = '';        // said once on the sign-in page (why it is shown)

function showWho(s) {
  document.getElementById('who').hidden = !s;
  document.getElementById('nav').hidden = !s;
  document.getElementById('who-name').textContent = s ? s.name : '';
  document.getElementById('who-role').textContent = s ? s.role : '';
  clearTimeout(expiryTimer);
  if (s && s.expires_at) {
    // setTimeout's longest wait is about 24.8 days; a session is 12 h.
    const left = Math.min(Date.parse(s.expires_at) - Date.now(), 2 ** 31 - 1);
    expiryTimer = setTimeout(() => {
      session.forget();
      notice = 'Your session expired: sign in again.';
      route();
    }, Math.max(left, 0));
  }
}

function route() {
  if (view && view.stop) view.stop();
  view = null;
  document.getElementById('toast').textContent = ''; // a message belongs to the page it was said on
  const s = session.current();
  showWho(s);
  if (!s) {
    view = signIn();
    return;
  }
  const [path, qs] = (location.hash || '#/fleet').slice(1).split('?');
  const parts = path.split('/').filter(Boolean);
  for (const a of document.querySelectorAll('#nav a'))
    a.setAttribute('aria-current', a.getAttribute('href') === '#/' + (parts[0] || 'fleet') ? 'page' : 'false');
  if (parts[0] === 'device' && parts[1]) {
    view = renderDevice(main, decodeURIComponent(parts[1]));
  } else if (parts[0] === 'content') {
    view = renderContent(main);
  } else if (parts[0] === 'schedule') {
    view = renderSchedule(main, new URLSearchParams(qs || ''));
  } else if (parts[0] === 'layouts') {
    view = renderLayouts(main, new URLSearchParams(qs || ''));
  } else if (parts[0] === 'plays') {
    view = renderPlays(main, new URLSearchParams(qs || ''));
  } else if (parts[0] === 'audit') {
    view = renderAudit(main);
  } else {
    view = renderFleet(main, new URLSearchParams(qs || ''));
  }
}

function signIn() {
  const name = h('input', {id: 'signin-name', name: 'username', autocomplete: 'username', required: true});
  const password = h('input', {id: 'signin-password', name: 'password', type: 'password',
                               autocomplete: 'current-password', required: true});
  const error = h('p', {id: 'signin-error', class: 'error', role: 'alert'}, notice);
  notice = '';
  const button = h('button', {type: 'submit', id: 'signin-submit'}, 'Sign in');
  // method=post and the CSP's form-action 'none': if this script did not
  // run, the browser still never puts the password into a URL.
  const form = h('form', {class: 'signin', method: 'post', 'aria-labelledby': 'signin-title', onsubmit: async (e) => {
    e.preventDefault();
    button.disabled = true;
    error.textContent = '';
    const r = await api.post('/api/v1/login', {name: name.value.trim(), password: password.value});
    button.disabled = false;
    if (!r.ok) {
      error.textContent = r.status === 401 ? 'Wrong name or password.'
        : r.status === 429 ? 'Too many failed sign-ins for this name: wait a while and try again.'
        : r.error;
      password.select();
      return;
    }
    session.remember(r.data);
    password.value = '';
    if (!location.hash || location.hash === '#/signin') location.hash = '#/fleet';
    route();
  }},
    h('h1', {id: 'signin-title'}, 'Sign in'),
    field('Name', name),
    field('Password', password),
    button,
    error);
  replace(main, form);
  name.focus();
  return null;
}

document.getElementById('sign-out').addEventListener('click', async () => {
  await api.post('/api/v1/logout');
  session.forget();
  notice = 'You are signed out.';
  route();
});

api.whenUnauthorized(() => {
  notice = 'Your session has ended: sign in again.';
  route();
});

window.addEventListener('hashchange', route);
route();
