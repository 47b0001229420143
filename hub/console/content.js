// hub/console/content.js — the media library (#/content): upload several
// files at once (a file picker or drag and drop), a progress bar per file,
// thumbnails, size, type, where each medium is used, and delete (refused by
// the hub, 409 with the reason, while a schedule names it).
// Uploads are resumable (docs/hub-api.md, "Uploads"): a file goes in chunks
// of a few MiB; when one fails (the network, a restarted hub) the page asks
// the hub which offset it holds and continues from there, retrying with a
// growing pause, and offers Resume once it gives up; the hub checks the
// size and, when the browser could hash the file, its SHA-256.
// Invariants: a file of a type the devices cannot play is refused here,
// before any byte is sent, with the list of known types (the hub refuses it
// too); thumbnails are fetched with the session's token and shown from blob
// URLs, revoked when the list is redrawn or the page goes; an image is its
// own thumbnail, a video's is a frame the hub grabs (GET
// /api/v1/media/NAME/thumbnail: 202 while it is made, asked again a few
// times; a video the hub cannot decode keeps the icon); controls that
// change content are drawn only for editors and admins.
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
    const r = await sendChunks(file, name, row, bar, status);
    if (stopped) return;
    if (!r.ok) {
      row.classList.add('failed');
      // Resume: the same upload from the offset the hub holds (a new one
      // when the hub no longer has it).
      replace(row, h('span', {class: 'upload-name'}, name), bar,
        h('span', {class: 'error', role: 'alert'}, `Failed: ${r.error}`),
        h('button', {type: 'button', class: 'retry', onclick: () => send(file, name, row)}, r.id ? 'Resume' : 'Retry'));
      return;
    }
    bar.value = 100;
    row.classList.add('done');
    status.textContent = `Uploaded (${fmt.bytes(r.data.bytes)})`;
    load();
  }

  // One file through an upload session: {ok, data} (the medium) or {ok:
  // false, error, id} (id: the upload, kept by the hub for a Resume).
  async function sendChunks(file, name, row, bar, status) {
    const show = (held) => {
      bar.value = Math.floor((held / file.size) * 100);
      status.textContent = `${fmt.bytes(held)} of ${fmt.bytes(file.size)}`;
    };
    let id = row.dataset.upload || '';
    let offset = 0;
    if (id) {
      const q = await api.get(`/api/v1/uploads/${id}`);
      if (q.ok) offset = q.data.offset; else id = '';
    }
    if (!id) {
      const c = await api.post('/api/v1/uploads', {name, size: file.size, type: file.type || ''});
      if (!c.ok) return {ok: false, error: c.error};
      id = c.data.id;
      row.dataset.upload = id;
    }
    // The digest the hub checks at the end, computed while the bytes go
    // (SubtleCrypto needs the whole file in memory: only up to 256 MiB,
    // and only in a secure context; the hub hashes it either way).
    const digest = window.crypto && crypto.subtle && file.size <= 256 * 1024 * 1024
      ? file.arrayBuffer().then((b) => crypto.subtle.digest('SHA-256', b))
        .then((d) => Array.from(new Uint8Array(d), (x) => x.toString(16).padStart(2, '0')).join('')).catch(() => null)
      : Promise.resolve(null);
    const chunk = 4 * 1024 * 1024;
    let failures = 0;
    let sent = Number(row.dataset.sent || 0); // bytes put on the wire, retries included
    show(offset);
    while (offset < file.size) {
      const end = Math.min(file.size, offset + chunk);
      let wire = 0;
      const r = await api.upload(`/api/v1/uploads/${id}?offset=${offset}`, file.slice(offset, end), (loaded) => {
        wire = loaded;
        show(offset + loaded);
      });
      if (stopped) return {ok: false, error: 'the page was left', id};
      sent += r.ok ? end - offset : wire;
      row.dataset.sent = String(sent);
      if (r.ok) {
        offset = r.data.offset;
        failures = 0;
        continue;
      }
      if (r.status === 404) { delete row.dataset.upload; return {ok: false, error: r.error}; }
      if ([400, 401, 403, 413].includes(r.status)) return {ok: false, error: r.error, id};
      // The network, a restarted or busy hub, a wrong offset: ask where
      // the hub is and go on from there, pausing a little longer each time.
      if (++failures > 8) return {ok: false, error: `${r.error} (gave up after ${failures - 1} tries)`, id};
      status.textContent = `Interrupted: resuming (try ${failures})…`;
      await new Promise((done) => setTimeout(done, Math.min(8000, 500 * 2 ** (failures - 1))));
      if (stopped) return {ok: false, error: 'the page was left', id};
      const q = await api.get(`/api/v1/uploads/${id}`);
      if (q.ok) { offset = q.data.offset; show(offset); } else if (q.status === 404) {
        delete row.dataset.upload;
        return {ok: false, error: q.error};
      }
    }
    status.textContent = 'Checking…';
    const sha256 = await digest;
    for (let tries = 1; ; ++tries) {
      const done = await api.post(`/api/v1/uploads/${id}/complete`, sha256 ? {sha256} : {});
      if (done.ok) { delete row.dataset.upload; return done; }
      if (done.status === 404 && tries > 1) {
        // The first try's answer was lost, not its work: the medium may be in.
        const list = await api.get('/api/v1/media');
        const m = list.ok && list.data.find((x) => x.name === name && x.bytes === file.size);
        if (m) { delete row.dataset.upload; return {ok: true, data: m}; }
      }
      if (done.status !== 0 && done.status !== 503 || tries >= 5) {
        if (done.status === 400 || done.status === 404) delete row.dataset.upload; // discarded by the hub
        return {ok: false, error: done.error, id: row.dataset.upload};
      }
      await new Promise((wake) => setTimeout(wake, 1000 * tries));
    }
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
    const path = '/api/v1/media/' + encodeURIComponent(m.name) + (m.kind === 'image' ? '' : '/thumbnail');
    let r;
    if (m.kind !== 'image') {
      replace(cell, h('span', {class: 'thumb-icon', role: 'img', 'aria-label': 'Video (no preview yet)'}, '▶'));
      for (let tries = 0; tries < 20; ++tries) {
        r = await api.call('GET', path, undefined, {raw: true});
        if (stopped || !r.ok || r.status !== 202) break;
        await new Promise((wake) => setTimeout(wake, 1500));
      }
      if (stopped || !r.ok || r.status !== 200) {
        // Not decodable by the hub (or not yet): the icon stays, saying so.
        if (!stopped) cell.firstChild.setAttribute('aria-label', 'Video (no preview)');
        return;
      }
    } else {
      r = await api.call('GET', path, undefined, {raw: true});
    }
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
