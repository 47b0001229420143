// hub/console/dom.js — building the page from data, safely.
// Job: h() makes elements from a tag, properties and children; strings
// always become Text nodes, never markup. Invariant: nothing in the console
// assigns innerHTML/outerHTML or calls insertAdjacentHTML, so a device name
// like "<img onerror=…>" is shown as those characters (tests/console checks
// it), and the CSP forbids inline script as a second wall.

// h('a', {href: '#/x', class: 'link', onclick: fn}, 'text', child, [more])
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      el.className = value;
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (key === 'text') {
      el.textContent = String(value);
    } else if (key in el && typeof value !== 'string') {
      el[key] = value; // booleans and numbers: hidden, disabled, value, tabIndex
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

// Replaces everything inside `el` with `children`.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// A labelled form control: the label's `for` names the control's id.
export function field(label, control, hint) {
  return h('div', {class: 'field'}, h('label', {for: control.id}, label), control,
           hint ? h('span', {class: 'hint'}, hint) : null);
}

// Short-lived message read out by screen readers (the #toast live region).
export function toast(message) {
  const t = document.getElementById('toast');
  t.textContent = message;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.textContent = ''; }, 6000);
}
