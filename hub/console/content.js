// hub/console/content.js — the media library (#/content): upload several
// files at once (a file picker or drag and drop), a progress bar per file
// and a Retry for any that failed (an upload restarts from the beginning:
// PUT /api/v1/media/NAME replaces the whole file), thumbnails, size, type,
// where each medium is used, and delete (refused by the hub, 409 with the
// reason, while a schedule names it).
// Invariants: a file of a type the devices cannot play is refused here,
// before any byte is sent, with the list of known types (the hub refuses it
// too); thumbnails are fetched with the session's token and shown from blob
// URLs, revoked when the list is redrawn or the page goes; videos show an
// icon, not a frame: the hub has no video decoder, and the browser would
// have to download the whole video to draw one; controls that change
// content are drawn only for editors and admins.
import * as api from './api.js';
import * as session from './session.js';
import {h, replace, toast} from './dom.js';
import * as fmt from './format.js';

// What publish/media_type.cpp knows (the hub refuses the rest).
export const MEDIA_TYPES = {
  jpg: 'image', jpeg: 'image', png: 'image', webp: 'image', gif: 'image', bmp: 'image', svg: 'image',
  mp4: 'video', m4v: 'video', webm: 'video', mkv: 'video', mov: 'video', ogv: 'video',
};

export function kindOf(name) {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? null : MEDIA_TYPES[name.slice(dot + 1).toLowerCase()] || null;
}

// A library name for a dropped file: the hub takes [A-Za-z0-9._-], up to
// 128, not starting with '.'.
export function mediaName(fileName) {
  let n = fileName.normalize('NFKD').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '');
  if (n.length > 128) {
    const dot = n.lastIndexOf('.');
    const ext = dot > 0 ? n.slice(dot) : '';
    n = n.slice(0, 128 - ext.length) + ext;
  }
  return n;
}

export function renderContent(main) {
  const editor = session.can('content');
  let stopped = false;
  let urls = [];                     // blob URLs of the thumbnails on screen
  const error = h('p', {class: 'error', role: 'alert', id: 'content-error'});
  const uploads = h('ul', {class: 'uploads', id: 'uploads', 'aria-label': 'Uploads'});
  const body = h('tbody', {id: 'media'});
  const summary = h('p', {class: 'summary', id: 'media-summary'});
  const picker = h('input', {type: 'file', id: 'media-files', multiple: true,
                             accept: Object.keys(MEDIA_TYPES).map((e) => '.' + e).join(','),
                             onchange: () => { addFiles(picker.files); picker.value = ''; }});
  const drop = editor ? h('div', {class: 'drop', id: 'drop-zone',
      ondragover: (e) => { e.preventDefault(); drop.classList.add('over'); },
      ondragleave: () => drop.classList.remove('over'),
      ondrop: (e) => { e.preventDefault(); drop.classList.remove('over'); addFiles(e.dataTransfer.files); }},
    h('label', {for: 'media-files'}, 'Add media: choose files or drop them here'),
    picker,
    h('p', {class: 'hint'}, 'Images: jpg, png, webp, gif, bmp, svg. Videos: mp4, m4v, webm, mkv, mov, ogv.')) : null;

  replace(main,
    h('h1', {tabindex: '-1', id: 'page-title'}, 'Content'),
    error, drop, uploads, summary,
    h('div', {class: 'table-wrap'},
      h('table', {class: 'media cards'},
        h('thead', null, h('tr', null, h('th', null, 'Preview'), h('th', null, 'Name'), h('th', null, 'Type'),
          h('th', null, 'Size'), h('th', null, 'Used by'), editor ? h('th', null, h('span', {class: 'sr'}, 'Actions')) : null)),
        body)));
  main.querySelector('#page-title').focus();

  function addFiles(files) {
    for (const file of files) {
      const row = h('li', {class: 'upload'});
      uploads.appendChild(row);
      const name = mediaName(file.name);
      if (!kindOf(name) || !name) {
        replace(row, h('span', {class: 'upload-name'}, file.name),
          h('span', {class: 'error', role: 'alert'},
            `Not uploaded: "${file.name}" is not a type the screens can play. ` +
            'Use an image (jpg, png, webp, gif, bmp, svg) or a video (mp4, m4v, webm, mkv, mov, ogv).'));
        row.classList.add('failed');
        continue;
      }
      send(file, name, row);
    }
  }

  async function send(file, name, row) {
    const bar = h('progress', {max: 100, value: 0, 'aria-label': `Uploading ${name}`});
    const status = h('span', {class: 'upload-status'}, 'Starting…');
    row.classList.remove('failed', 'done');
    replace(row, h('span', {class: 'upload-name'}, name), bar, status);
    const r = await api.upload('/api/v1/media/' + encodeURIComponent(name), file, (sent, total) => {
      bar.value = Math.round((sent / total) * 100);
      status.textContent = `${fmt.bytes(sent)} of ${fmt.bytes(total)}`;
    });
    if (stopped) return;
    if (!r.ok) {
      row.classList.add('failed');
      replace(row, h('span', {class: 'upload-name'}, name), bar,
        h('span', {class: 'error', role: 'alert'}, `Failed: ${r.error}`),
        h('button', {type: 'button', class: 'retry', onclick: () => send(file, name, row)}, 'Retry'));
      return;
    }
    bar.value = 100;
    row.classList.add('done');
    status.textContent = `Uploaded (${fmt.bytes(r.data.bytes)})`;
    load();
  }

  async function remove(m, button) {
    if (button.dataset.confirm !== 'yes') {
      // Two clicks: the first asks, so one stray click deletes nothing.
      button.dataset.confirm = 'yes';
      button.textContent = `Really delete ${m.name}?`;
      return;
    }
    button.disabled = true;
    const r = await api.del('/api/v1/media/' + encodeURIComponent(m.name));
    if (stopped) return;
    if (!r.ok) {
      error.textContent = r.status === 409 ? `Cannot delete: ${r.error}.` : `Cannot delete ${m.name}: ${r.error}`;
      button.disabled = false;
      button.dataset.confirm = '';
      button.textContent = 'Delete';
      return;
    }
    toast(`Deleted ${m.name}`);
    load();
  }

  async function thumbnail(m, cell) {
    if (m.kind !== 'image') {
      replace(cell, h('span', {class: 'thumb-icon', role: 'img', 'aria-label': 'Video (no preview)'}, '▶'));
      return;
    }
    const r = await api.call('GET', '/api/v1/media/' + encodeURIComponent(m.name), undefined, {raw: true});
    if (stopped || !r.ok) return;
    const url = URL.createObjectURL(await r.response.blob());
    if (stopped) { URL.revokeObjectURL(url); return; }
    urls.push(url);
    replace(cell, h('img', {class: 'thumb', src: url, alt: `Preview of ${m.name}`}));
  }

  async function load() {
    const r = await api.get('/api/v1/media');
    if (stopped) return;
    if (!r.ok) { error.textContent = 'Cannot load the library: ' + r.error; return; }
    for (const u of urls) URL.revokeObjectURL(u);
    urls = [];
    const list = r.data;
    summary.textContent = `${list.length} ${list.length === 1 ? 'medium' : 'media'}, ` +
      fmt.bytes(list.reduce((n, m) => n + m.bytes, 0)) + ' in all';
    if (!list.length) {
      replace(body, h('tr', null, h('td', {class: 'empty', colspan: 6}, 'The library is empty: upload images and videos above.')));
      return;
    }
    replace(body, list.map((m) => {
      const preview = h('td', {class: 'preview', 'data-label': 'Preview'}, '…');
      thumbnail(m, preview);
      const used = m.used_by.length
        ? h('ul', {class: 'used'}, m.used_by.map((u) => h('li', null, `${u.playlist} (${u.schedule})`)))
        : h('span', {class: 'muted'}, 'not used');
      const del = editor ? h('button', {type: 'button', class: 'secondary delete', 'aria-label': `Delete ${m.name}`}, 'Delete') : null;
      if (del) del.addEventListener('click', () => remove(m, del));
      return h('tr', {dataset: {name: m.name}},
        preview,
        h('td', {'data-label': 'Name', class: 'name'}, m.name),
        h('td', {'data-label': 'Type'}, m.kind === 'video' ? `Video (${m.type})` : `Image (${m.type})`),
        h('td', {'data-label': 'Size'}, fmt.bytes(m.bytes)),
        h('td', {'data-label': 'Used by', class: 'used-by'}, used),
        editor ? h('td', {'data-label': 'Actions'}, del) : null);
    }));
  }

  load();
  return {stop() { stopped = true; for (const u of urls) URL.revokeObjectURL(u); }};
}
