// cairn's web interface: a dependency-free single-page app over the JSON API of `cairn serve`.
//
// Every view's state lives in the URL (pushState/popstate), so a copied link reproduces it.
// Data from the API is only ever put into the page as text (textContent, attribute values),
// never as markup, and the page runs under a strict Content-Security-Policy.
'use strict';

(function () {
  // ---------------------------------------------------------------- small DOM helpers

  const SVG_NS = 'http://www.w3.org/2000/svg';

  /** Creates an element: `attrs` are attributes, except `text` (textContent), `class`, and
   * functions, which become event listeners (`onclick` -> 'click'). */
  function h(tag, attrs, ...children) {
    const e = document.createElement(tag);
    setAttrs(e, attrs);
    append(e, children);
    return e;
  }

  function s(tag, attrs, ...children) {
    const e = document.createElementNS(SVG_NS, tag);
    setAttrs(e, attrs);
    append(e, children);
    return e;
  }

  function setAttrs(e, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'text') e.textContent = String(v);
      else if (typeof v === 'function') e.addEventListener(k.replace(/^on/, ''), v);
      else if (v === true) e.setAttribute(k, '');
      else e.setAttribute(k, String(v));
    }
  }

  function append(parent, children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      parent.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
  }

  function clear(e) {
    while (e.firstChild) e.removeChild(e.firstChild);
    return e;
  }

  const fmtNum = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : String(n ?? ''));

  /** `2026-12-02T20:59:22Z` -> `2026-12-02 20:59:22` (UTC, as the API gives it). */
  function fmtTime(t) {
    if (!t) return '';
    const d = new Date(t);
    if (isNaN(d)) return String(t);
    return d.toISOString().replace('T', ' ').replace(/\.\d+Z$|Z$/, '');
  }

  /** RFC 3339 UTC at second precision. */
  const isoSec = (ms) => new Date(Math.round(ms / 1000) * 1000).toISOString().replace(/\.\d+Z$/, 'Z');

  function fmtDuration(secs) {
    if (secs === null || secs === undefined || isNaN(secs)) return '';
    secs = Number(secs);
    const one = (n) => n.toFixed(1).replace(/\.0$/, '');
    if (secs < 60) return secs + 's';
    if (secs < 3600) return one(secs / 60) + 'm';
    if (secs < 86400) return one(secs / 3600) + 'h';
    return one(secs / 86400) + 'd';
  }

  // ---------------------------------------------------------------- the API

  class ApiError extends Error {
    constructor(status, message, body) {
      super(message);
      this.status = status;
      this.body = body || {};
    }
  }

  let session = null; // the body of /api/session once known

  /** Calls the JSON API. A 401 sends the browser to the login page (unless `allow401`). */
  async function api(path, opts = {}) {
    const { method = 'GET', params, body, allow401 = false, signal } = opts;
    let url = path;
    if (params) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(params)) {
        if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
      }
      const qs = q.toString();
      if (qs) url += '?' + qs;
    }
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && session && session.csrf) headers['X-CSRF-Token'] = session.csrf;
    const resp = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      signal,
    });
    let data = null;
    if (resp.status !== 204) {
      const text = await resp.text();
      if (text) {
        try {
          data = JSON.parse(text);
        } catch (_) {
          data = { error: text.slice(0, 300) };
        }
      }
    }
    if (resp.status === 401 && !allow401) {
      toLogin();
      throw new ApiError(401, 'not logged in', data);
    }
    if (!resp.ok) {
      throw new ApiError(resp.status, (data && data.error) || resp.status + ' ' + resp.statusText, data);
    }
    return data;
  }

  function toLogin() {
    session = null;
    renderWho();
    if (location.pathname === '/login') return;
    const next = location.pathname + location.search;
    go('/login?next=' + encodeURIComponent(next), { replace: true });
  }

  const isAbort = (e) => e && e.name === 'AbortError';

  // ---------------------------------------------------------------- records and hits

  function get(obj, path) {
    let v = obj;
    for (const k of path.split('.')) {
      if (v === null || typeof v !== 'object') return undefined;
      v = v[k];
    }
    return v;
  }

  const str = (v) => (typeof v === 'string' && v !== '' ? v : null);
  const arnTail = (arn) => {
    const i = arn ? arn.lastIndexOf('/') : -1;
    return i >= 0 && i < arn.length - 1 ? arn.slice(i + 1) : null;
  };

  /** The actor of a record, as cairn derives `principal` (cairn-model's record::principal);
   * used only when the API does not say. */
  function derivePrincipal(r) {
    const id = r && r.userIdentity;
    if (!id || typeof id !== 'object') return str(r && r.eventSource);
    const g = (p) => str(get(id, p));
    let found = null;
    switch (g('type')) {
      case 'Root':
        found = 'root';
        break;
      case 'IAMUser':
        found = g('userName') || arnTail(g('arn'));
        break;
      case 'AssumedRole': {
        const role = g('sessionContext.sessionIssuer.userName');
        const sess = arnTail(g('arn'));
        if (role && sess) found = role + '/' + sess;
        else if (role) found = role;
        else if (sess) {
          const parts = g('arn').split('/');
          found = parts.length > 2 ? parts[parts.length - 2] + '/' + sess : sess;
        }
        break;
      }
      case 'FederatedUser': {
        const a = g('arn');
        const i = a ? a.indexOf('federated-user/') : -1;
        found = i >= 0 ? a.slice(i + 'federated-user/'.length) : g('sessionContext.sessionIssuer.userName');
        break;
      }
      case 'AWSService':
        found = g('invokedBy');
        break;
      case 'AWSAccount':
        found = g('accountId');
        break;
    }
    return found || g('userName') || g('invokedBy') || g('principalId');
  }

  /** A hit with every attribute the UI shows, filled from the record where the API left it out. */
  function norm(hit) {
    const r = hit.event || {};
    const pick = (k, f) => (hit[k] !== undefined ? hit[k] : f());
    return {
      id: pick('id', () => r.eventID),
      time: pick('time', () => r.eventTime),
      principal: pick('principal', () => derivePrincipal(r)),
      event_name: pick('event_name', () => r.eventName),
      event_source: pick('event_source', () => r.eventSource),
      region: pick('region', () => r.awsRegion),
      account: pick('account', () => r.recipientAccountId),
      source_ip: pick('source_ip', () => r.sourceIPAddress),
      error_code: pick('error_code', () => r.errorCode ?? null),
      user_agent: pick('user_agent', () => r.userAgent),
      access_key_id: pick('access_key_id', () => get(r, 'userIdentity.accessKeyId') ?? null),
      resources: pick('resources', () =>
        Array.isArray(r.resources) ? r.resources.map((x) => x && x.ARN).filter(Boolean) : []
      ),
      object: hit.object,
      integrity: hit.integrity || 'unverified',
      integrity_reason: hit.integrity_reason || null,
      raw: hit.raw,
      event: r,
    };
  }

  // ---------------------------------------------------------------- query text helpers

  /** `field:"value"` with the value's quotes and backslashes escaped. */
  function clause(field, value) {
    return field + ':"' + String(value).replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
  }

  /** Whether `q` has an OR outside parentheses and quotes (so that appending `AND x` would bind
   * to the last alternative only). */
  function hasTopLevelOr(q) {
    let depth = 0;
    let quoted = false;
    for (let i = 0; i < q.length; i++) {
      const c = q[i];
      if (c === '\\') {
        i++;
        continue;
      }
      if (c === '"') quoted = !quoted;
      if (quoted) continue;
      if (c === '(') depth++;
      else if (c === ')') depth--;
      else if (depth === 0) {
        if (q.startsWith('||', i)) return true;
        if (q.startsWith('OR', i) && /(^|[\s)])$/.test(q.slice(0, i)) && /^OR(\s|\(|$)/.test(q.slice(i))) return true;
      }
    }
    return false;
  }

  /** Where `c` stands in `q` as a whole clause (not as a part of a longer word), or -1. */
  function findClause(q, c) {
    let from = 0;
    for (;;) {
      const i = q.indexOf(c, from);
      if (i < 0) return -1;
      const before = i === 0 ? ' ' : q[i - 1];
      const after = i + c.length >= q.length ? ' ' : q[i + c.length];
      if (/[\s(]/.test(before) && /[\s)]/.test(after)) return i;
      from = i + 1;
    }
  }

  /** A facet value's state in the query: 'include', 'exclude' or null. */
  function facetState(q, field, value) {
    const c = clause(field, value);
    if (findClause(q, 'NOT ' + c) >= 0) return 'exclude';
    if (findClause(q, c) >= 0) return 'include';
    return null;
  }

  function addClause(q, c) {
    let base = q.trim();
    if (!base || base === '*') return c;
    if (hasTopLevelOr(base)) base = '(' + base + ')';
    return base + ' AND ' + c;
  }

  function removeClause(q, c) {
    const i = findClause(q, c);
    if (i < 0) return q;
    let before = q.slice(0, i);
    let after = q.slice(i + c.length);
    if (/\s+AND\s*$/.test(before)) before = before.replace(/\s+AND\s*$/, ' ');
    else if (/^\s*AND\s+/.test(after)) after = after.replace(/^\s*AND\s+/, ' ');
    return (before + after).replace(/\s{2,}/g, ' ').replace(/\(\s+/g, '(').replace(/\s+\)/g, ')').trim();
  }

  /** Cycles a facet value: filter, then exclude, then gone. */
  function cycleFacet(q, field, value) {
    const c = clause(field, value);
    switch (facetState(q, field, value)) {
      case null:
        return addClause(q, c);
      case 'include': {
        const i = findClause(q, c);
        return q.slice(0, i) + 'NOT ' + q.slice(i);
      }
      default:
        return removeClause(q, 'NOT ' + c);
    }
  }

  /** The facet clauses present in `q`, for the active-filter chips. */
  function activeFilters(q) {
    const out = [];
    const re = /(NOT\s+)?([A-Za-z_@$][\w.@$-]*):"((?:[^"\\]|\\.)*)"/g;
    let m;
    while ((m = re.exec(q))) {
      if (!FACET_FIELDS.includes(m[2])) continue;
      const before = m.index === 0 ? ' ' : q[m.index - 1];
      if (!/[\s(]/.test(before)) continue;
      out.push({ field: m[2], value: m[3].replace(/\\(.)/g, '$1'), state: m[1] ? 'exclude' : 'include' });
    }
    return out;
  }

  /** A 0-based code-point offset (the API's `position`) as an index into a JS string. */
  function cpToIndex(text, cp) {
    let i = 0;
    for (let n = 0; n < cp && i < text.length; n++) {
      const c = text.codePointAt(i);
      i += c > 0xffff ? 2 : 1;
    }
    return i;
  }

  // ---------------------------------------------------------------- routing

  const main = document.getElementById('main');
  let viewCtl = null; // AbortController of the current view's requests
  let searchView = null; // the mounted search view, kept while only its URL changes

  /** Navigates inside the app. */
  function go(url, { replace = false } = {}) {
    if (replace) history.replaceState(null, '', url);
    else history.pushState(null, '', url);
    route();
  }

  const ROUTES = [
    [/^\/$/, 'search', () => showSearch()],
    [/^\/events\/([^/]+)$/, 'search', (m) => showEvent(decodeURIComponent(m[1]))],
    [/^\/alerts$/, 'alerts', () => showAlerts()],
    [/^\/alerts\/([^/]+)$/, 'alerts', (m) => showAlert(decodeURIComponent(m[1]))],
    [/^\/monitors$/, 'monitors', () => showMonitors()],
    [/^\/health$/, 'health', () => showHealth()],
    [/^\/integrity$/, 'integrity', () => showIntegrity()],
    [/^\/rules$/, 'rules', () => showRules()],
    [/^\/login$/, null, () => showLogin()],
  ];

  function route() {
    closePanels();
    const path = location.pathname;
    if (!session && path !== '/login') {
      toLogin();
      return;
    }
    for (const a of document.querySelectorAll('#nav a')) a.classList.remove('current');
    for (const [re, nav, show] of ROUTES) {
      const m = path.match(re);
      if (!m) continue;
      if (nav) {
        const a = document.querySelector('#nav a[data-view="' + nav + '"]');
        if (a) a.classList.add('current');
      }
      if (nav !== 'search' || path !== '/') searchView = null;
      if (!(path === '/' && searchView)) {
        if (viewCtl) viewCtl.abort();
        viewCtl = new AbortController();
      }
      show(m);
      return;
    }
    searchView = null;
    newView('Not found');
    main.append(h('p', { class: 'error', text: 'There is no page at ' + path + '.' }), h('p', {}, h('a', { href: '/', text: 'Search' })));
  }

  /** Clears the main area for a new view titled `title`; returns the view's abort signal. */
  function newView(title, ...heading) {
    document.title = title + ' · cairn';
    clear(main);
    main.className = '';
    if (heading.length) main.append(h('h1', {}, heading));
    return viewCtl ? viewCtl.signal : undefined;
  }

  function showError(where, e) {
    if (isAbort(e) || (e instanceof ApiError && e.status === 401)) return;
    where.append(h('p', { class: 'error', role: 'alert', text: e.message || String(e) }));
  }

  // Links inside the app navigate without reloading.
  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.target.closest && e.target.closest('a[href]');
    if (!a || a.target || a.hasAttribute('download')) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/api/') || url.pathname.startsWith('/assets/')) return;
    e.preventDefault();
    go(url.pathname + url.search + url.hash);
  });

  window.addEventListener('popstate', () => route());

  // ---------------------------------------------------------------- panels and keys

  const panels = new Set(); // open popovers: each has a close()

  function closePanels() {
    for (const p of [...panels]) p.close();
  }

  document.addEventListener('keydown', (e) => {
    const t = e.target;
    const typing = t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);
    if (e.key === 'Escape' && panels.size) {
      closePanels();
      e.preventDefault();
      return;
    }
    if (e.key === '/' && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
      const q = document.getElementById('q');
      if (q) {
        e.preventDefault();
        q.focus();
        q.select();
      }
    }
  });

  document.addEventListener('mousedown', (e) => {
    for (const p of [...panels]) if (!p.contains(e.target)) p.close();
  });

  /** A popover toggled by `button`; `build(panelEl)` fills it when opened. */
  function popover(button, id, build) {
    const panel = h('div', { class: 'popover', id, role: 'dialog', hidden: true });
    const handle = {
      contains: (t) => panel.contains(t) || button.contains(t),
      close() {
        panel.hidden = true;
        button.setAttribute('aria-expanded', 'false');
        panels.delete(handle);
      },
      open() {
        closePanels();
        clear(panel);
        build(panel);
        panel.hidden = false;
        button.setAttribute('aria-expanded', 'true');
        panels.add(handle);
        const f = panel.querySelector('input, button, a');
        if (f) f.focus();
      },
    };
    button.setAttribute('aria-expanded', 'false');
    button.setAttribute('aria-controls', id);
    button.addEventListener('click', () => (panel.hidden ? handle.open() : handle.close()));
    return panel;
  }

  // ---------------------------------------------------------------- header: who is logged in

  function renderWho() {
    const who = document.getElementById('who');
    const nav = document.getElementById('nav');
    nav.hidden = !session;
    if (!session || session.auth === false) {
      who.hidden = true;
      return;
    }
    who.hidden = false;
    document.getElementById('user').textContent = session.user;
    document.getElementById('role').textContent = session.role;
  }

  document.getElementById('logout').addEventListener('click', async () => {
    try {
      await api('/api/logout', { method: 'POST' });
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) {
        alertBanner('Logging out failed: ' + e.message);
        return;
      }
    }
    session = null;
    renderWho();
    go('/login', { replace: true });
  });

  function alertBanner(text) {
    main.prepend(h('p', { class: 'error', role: 'alert', text }));
  }

  // ---------------------------------------------------------------- login

  function safeNext(next) {
    // Only paths of this site: never `//host` or `/\host`, which browsers treat as other sites.
    return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') && !next.startsWith('/login')
      ? next
      : '/';
  }

  function showLogin() {
    const next = safeNext(new URLSearchParams(location.search).get('next'));
    if (session) {
      go(next, { replace: true });
      return;
    }
    newView('Log in');
    main.className = 'login-view';
    const user = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true, autofocus: true });
    const pass = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
    const err = h('p', { id: 'login-error', class: 'error', role: 'alert', hidden: true });
    const btn = h('button', { type: 'submit', id: 'login-btn', class: 'primary', text: 'Log in' });
    const form = h(
      'form',
      { class: 'login', id: 'login-form' },
      h('h1', { text: 'cairn' }),
      h('label', { for: 'username', text: 'User name' }),
      user,
      h('label', { for: 'password', text: 'Password' }),
      pass,
      err,
      btn
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      err.hidden = true;
      btn.disabled = true;
      try {
        session = await api('/api/login', { method: 'POST', body: { username: user.value, password: pass.value }, allow401: true });
        renderWho();
        go(next, { replace: true });
      } catch (ex) {
        btn.disabled = false;
        err.hidden = false;
        if (ex.status === 401) err.textContent = 'Wrong user name or password.';
        else if (ex.status === 429) {
          const secs = ex.body && ex.body.retry_after;
          err.textContent = 'Too many attempts; try again' + (secs ? ' in ' + secs + ' s.' : ' later.');
        } else err.textContent = ex.message;
        pass.select();
      }
    });
    main.append(form);
    user.focus();
  }

  // ---------------------------------------------------------------- search

  const FACET_FIELDS = ['eventName', 'principal', 'sourceIPAddress', 'awsRegion', 'recipientAccountId', 'errorCode', 'userAgent'];
  const FACET_LABELS = {
    eventName: 'Event',
    principal: 'Principal',
    sourceIPAddress: 'Source IP',
    awsRegion: 'Region',
    recipientAccountId: 'Account',
    errorCode: 'Error',
    userAgent: 'User agent',
  };

  const COLUMNS = [
    { key: 'time', label: 'Time', get: (x) => fmtTime(x.time) },
    { key: 'principal', label: 'Principal', get: (x) => x.principal },
    { key: 'event', label: 'Event', get: (x) => x.event_name },
    { key: 'source', label: 'Source', get: (x) => (x.event_source || '').replace(/\.amazonaws\.com$/, '') },
    { key: 'region', label: 'Region', get: (x) => x.region },
    { key: 'account', label: 'Account', get: (x) => x.account },
    { key: 'ip', label: 'IP', get: (x) => x.source_ip },
    { key: 'error', label: 'Error', get: (x) => x.error_code },
    { key: 'agent', label: 'User agent', get: (x) => x.user_agent, off: true },
    { key: 'key', label: 'Access key', get: (x) => x.access_key_id, off: true },
    { key: 'integrity', label: 'Integrity', get: (x) => x.integrity, off: true },
  ];
  const DEFAULT_COLS = COLUMNS.filter((c) => !c.off).map((c) => c.key);

  const PRESETS = [
    ['15m', 'now-15m'],
    ['1h', 'now-1h'],
    ['24h', 'now-24h'],
    ['7d', 'now-7d'],
    ['30d', 'now-30d'],
    ['all', ''],
  ];
  const DEFAULT_FROM = 'now-24h';
  const PAGE = 50;

  const SYNTAX = [
    ['field:value', 'eventName:DeleteTrail'],
    ['"phrases"', 'errorMessage:"not authorized"'],
    ['wildcards * ?', 'eventName:Delete*   userAgent:*boto3*'],
    ['AND, OR, NOT (or -)', 'eventName:StopLogging OR eventName:DeleteTrail'],
    ['grouping', 'eventName:(CreateUser OR DeleteUser) -errorCode:*'],
    ['ranges', 'eventTime:[2025-05-01 TO 2025-05-07}   eventTime:>=now-1h'],
    ['IP ranges', 'sourceIPAddress:10.0.0.0/8'],
    ['exists', 'errorCode:*   _exists_:errorCode'],
    ['full text', 'AccessDenied'],
    ['aliases', 'account = recipientAccountId, region = awsRegion, principal (who acted), username'],
  ];

  /** The search view's state as the URL holds it. */
  function searchParams() {
    const p = new URLSearchParams(location.search);
    const cols = (p.get('cols') || '').split(',').filter((k) => COLUMNS.some((c) => c.key === k));
    return {
      q: p.get('q') || '',
      from: p.has('from') ? p.get('from') : DEFAULT_FROM,
      to: p.get('to') || '',
      offset: Math.max(0, parseInt(p.get('offset') || '0', 10) || 0),
      asof: p.get('asof') || '',
      cols: cols.length ? cols : DEFAULT_COLS.slice(),
    };
  }

  function searchUrl(st) {
    const p = new URLSearchParams();
    if (st.q) p.set('q', st.q);
    p.set('from', st.from || '');
    if (st.to) p.set('to', st.to);
    if (st.offset) {
      p.set('offset', String(st.offset));
      if (st.asof) p.set('asof', st.asof);
    }
    if (st.cols && st.cols.join(',') !== DEFAULT_COLS.join(',')) p.set('cols', st.cols.join(','));
    return '/?' + p.toString();
  }

  let fieldNames = null; // GET /api/fields, once
  // Loads started, across mounts of the search view: `#search[data-seq]` says which load the
  // page shows, and `data-ready` whether its facets and histogram are in too (tests wait on it).
  let seq = 0;

  function showSearch() {
    const p = new URLSearchParams(location.search);
    if (!p.has('from')) {
      // Make the default range explicit, so that the URL says what is shown.
      p.set('from', DEFAULT_FROM);
      history.replaceState(null, '', '/?' + p.toString());
    }
    if (!searchView) searchView = mountSearch();
    searchView.load(searchParams());
  }

  function mountSearch() {
    const signal = newView('Search');
    main.className = 'search-view';
    let st = searchParams();
    let last = null; // {q, from, to, asof} of the results shown
    let timeline = null; // last timeline response, for redrawing

    // The query bar.
    const q = h('input', {
      id: 'q',
      type: 'text',
      class: 'query',
      placeholder: 'Search events: eventName:ConsoleLogin AND errorCode:*   (press / to focus)',
      autocomplete: 'off',
      spellcheck: 'false',
      'aria-label': 'Query',
      'aria-autocomplete': 'list',
      'aria-controls': 'completions',
    });
    const marker = h('div', { class: 'q-marker', 'aria-hidden': 'true', hidden: true });
    const completions = h('ul', { id: 'completions', class: 'completions', role: 'listbox', hidden: true });
    const qerr = h('div', { id: 'q-error', class: 'q-error', role: 'alert', hidden: true });
    const helpBtn = h('button', { type: 'button', id: 'syntax-btn', class: 'quiet', title: 'Query syntax', text: 'Syntax' });
    const helpPanel = popover(helpBtn, 'syntax-panel', (p) => {
      p.append(
        h('h2', { text: 'Query syntax' }),
        h(
          'table',
          { class: 'syntax' },
          h('tbody', {}, SYNTAX.map(([what, ex]) => h('tr', {}, h('th', { text: what }), h('td', {}, h('code', { text: ex })))))
        ),
        h('p', { class: 'muted', text: 'Juxtaposition means AND. Keywords are uppercase. Field names complete as you type (Tab).' })
      );
    });
    const runBtn = h('button', { type: 'submit', id: 'run', class: 'primary', text: 'Search' });
    const form = h(
      'form',
      { class: 'querybar', id: 'query-form', role: 'search' },
      h('div', { class: 'q-wrap' }, q, marker, completions),
      runBtn,
      h('div', { class: 'help-wrap' }, helpBtn, helpPanel)
    );

    // The time range.
    const fromIn = h('input', { id: 'from', class: 'time', type: 'text', placeholder: 'from: now-7d, 2026-01-01T00:00:00Z', 'aria-label': 'From (UTC)', spellcheck: 'false' });
    const toIn = h('input', { id: 'to', class: 'time', type: 'text', placeholder: 'to: now', 'aria-label': 'To (UTC)', spellcheck: 'false' });
    const presetBtns = PRESETS.map(([label, from]) =>
      h('button', {
        type: 'button',
        class: 'preset',
        'data-range': label,
        text: label === 'all' ? 'All' : 'Last ' + label,
        onclick: () => navigate({ from, to: '' }),
      })
    );
    const applyRange = h('button', { type: 'submit', class: 'quiet', text: 'Apply' });
    const rangeForm = h(
      'form',
      { class: 'range', id: 'range-form' },
      h('div', { class: 'presets', role: 'group', 'aria-label': 'Time range presets' }, presetBtns),
      h('span', { class: 'abs' }, fromIn, h('span', { class: 'muted', text: '→' }), toIn, h('span', { class: 'muted utc', text: 'UTC' }), applyRange)
    );
    rangeForm.addEventListener('submit', (e) => {
      e.preventDefault();
      navigate({ from: fromIn.value.trim(), to: toIn.value.trim() });
    });

    // The histogram.
    const histo = h('div', { id: 'histogram', class: 'histogram', 'aria-label': 'Matches over time; drag to zoom' });
    const histoInfo = h('div', { class: 'histo-info muted' });

    // Facets, filters, results.
    const facets = h('aside', { id: 'facets', class: 'facets', 'aria-label': 'Facets' });
    const filters = h('div', { id: 'filters', class: 'filters' });
    const total = h('span', { id: 'result-total', class: 'total' });
    const asofInfo = h('span', { class: 'muted asof' });
    const prev = h('button', { type: 'button', id: 'prev', class: 'quiet', text: '← Newer', disabled: true });
    const next = h('button', { type: 'button', id: 'next', class: 'quiet', text: 'Older →', disabled: true });
    const colsBtn = h('button', { type: 'button', id: 'cols-btn', class: 'quiet', text: 'Columns' });
    const colsPanel = popover(colsBtn, 'cols-panel', (p) => {
      p.append(h('h2', { text: 'Columns' }));
      for (const c of COLUMNS) {
        const box = h('input', { type: 'checkbox', id: 'col-' + c.key, 'data-col': c.key, checked: st.cols.includes(c.key) });
        box.addEventListener('change', () => {
          const cols = COLUMNS.map((x) => x.key).filter((k) => (k === c.key ? box.checked : st.cols.includes(k)));
          if (!cols.length) {
            box.checked = true;
            return;
          }
          st = { ...st, cols };
          history.replaceState(null, '', searchUrl(st));
          renderTable(lastHits);
        });
        p.append(h('label', { class: 'check' }, box, ' ' + c.label));
      }
    });
    const table = h('table', { id: 'results', class: 'results' });
    const status = h('div', { class: 'status', 'aria-live': 'polite' });
    let lastHits = null;

    const root = h(
      'div',
      { id: 'search', 'data-ready': 'false', 'data-seq': '0' },
      form,
      qerr,
      rangeForm,
      h('section', { class: 'histo-box' }, histo, histoInfo),
      h(
        'div',
        { class: 'search-body' },
        facets,
        h(
          'section',
          { class: 'results-box' },
          h('div', { class: 'results-head' }, total, asofInfo, filters, h('span', { class: 'spacer' }), prev, next, h('span', { class: 'help-wrap' }, colsBtn, colsPanel)),
          status,
          h('div', { class: 'table-wrap' }, table)
        )
      )
    );
    main.append(root);

    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (acceptCompletion()) return;
      navigate({ q: q.value.trim() });
    });
    prev.addEventListener('click', () => navigate({ offset: Math.max(0, st.offset - PAGE), asof: last && last.asof }, true));
    next.addEventListener('click', () => navigate({ offset: st.offset + PAGE, asof: last && last.asof }, true));

    /** Pushes a new URL for a changed state and loads it. A new query resets paging. */
    function navigate(change, paging = false) {
      const nst = { ...st, ...change };
      if (!paging) {
        nst.offset = 0;
        nst.asof = '';
      }
      go(searchUrl(nst));
    }

    // ---- completion of field names
    let compItems = [];
    let compActive = -1;
    let compWord = null; // {start, end}
    const compHandle = {
      contains: (t) => completions.contains(t) || t === q,
      close() {
        completions.hidden = true;
        compItems = [];
        compActive = -1;
        q.setAttribute('aria-expanded', 'false');
        q.removeAttribute('aria-activedescendant');
        panels.delete(compHandle);
      },
    };

    function wordAtCursor() {
      const text = q.value;
      const end = q.selectionStart;
      if (end === null || end !== q.selectionEnd) return null;
      let start = end;
      while (start > 0 && /[A-Za-z0-9_.@$-]/.test(text[start - 1])) start--;
      // A leading '-' is the negation operator, not part of the name.
      while (start < end && text[start] === '-') start++;
      const word = text.slice(start, end);
      if (!word || !/^[A-Za-z_@$]/.test(word)) return null;
      if (start > 0 && (text[start - 1] === ':' || text[start - 1] === '\\')) return null;
      if (/^(AND|OR|NOT|TO)$/.test(word)) return null;
      if (/^[A-Za-z0-9_.@$-]/.test(text[end] || ' ')) return null;
      // Inside a phrase?
      let quotes = 0;
      for (let i = 0; i < start; i++) {
        if (text[i] === '\\') i++;
        else if (text[i] === '"') quotes++;
      }
      if (quotes % 2) return null;
      return { start, end, word };
    }

    async function updateCompletions() {
      const w = wordAtCursor();
      if (!w) return compHandle.close();
      if (!fieldNames) {
        try {
          fieldNames = [];
          const r = await api('/api/fields', { signal });
          fieldNames = (r && r.fields) || [];
        } catch (e) {
          fieldNames = null;
          return;
        }
        if (document.activeElement !== q) return;
        return updateCompletions();
      }
      const lw = w.word.toLowerCase();
      const starts = fieldNames.filter((f) => f.toLowerCase().startsWith(lw));
      const inside = fieldNames.filter((f) => !f.toLowerCase().startsWith(lw) && f.toLowerCase().includes(lw));
      const items = starts.concat(inside).slice(0, 12);
      if (!items.length || (items.length === 1 && items[0] === w.word)) return compHandle.close();
      compItems = items;
      compWord = w;
      // Nothing is chosen until the arrows choose it, so Enter still runs what was typed
      // (a bare word is full text); Tab takes the first name.
      compActive = -1;
      clear(completions);
      items.forEach((f, i) => {
        const li = h('li', { role: 'option', id: 'comp-' + i, 'data-value': f, text: f });
        li.addEventListener('mousedown', (e) => {
          e.preventDefault();
          compActive = i;
          acceptCompletion();
        });
        completions.append(li);
      });
      paintActive();
      completions.style.left = Math.max(0, textX(w.start)) + 'px';
      completions.hidden = false;
      q.setAttribute('aria-expanded', 'true');
      panels.add(compHandle);
    }

    function paintActive() {
      [...completions.children].forEach((li, i) => li.setAttribute('aria-selected', i === compActive ? 'true' : 'false'));
      if (compActive < 0) q.removeAttribute('aria-activedescendant');
      else {
        q.setAttribute('aria-activedescendant', 'comp-' + compActive);
        const li = completions.children[compActive];
        if (li) li.scrollIntoView({ block: 'nearest' });
      }
    }

    /** Puts the highlighted field name in place of the word at the cursor; false if none. */
    function acceptCompletion() {
      if (completions.hidden || compActive < 0 || !compItems[compActive] || !compWord) return false;
      const f = compItems[compActive] + ':';
      const v = q.value;
      q.value = v.slice(0, compWord.start) + f + v.slice(compWord.end);
      const at = compWord.start + f.length;
      q.setSelectionRange(at, at);
      compHandle.close();
      return true;
    }

    q.addEventListener('input', () => {
      marker.hidden = true;
      updateCompletions();
    });
    q.addEventListener('click', () => compHandle.close());
    q.addEventListener('blur', () => compHandle.close());
    q.addEventListener('scroll', () => (marker.hidden = true));
    q.addEventListener('keydown', (e) => {
      if (completions.hidden) return;
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const n = compItems.length;
        if (compActive < 0) compActive = e.key === 'ArrowDown' ? 0 : n - 1;
        else compActive = (compActive + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
        paintActive();
      } else if (e.key === 'Tab' && !e.shiftKey) {
        if (compActive < 0) compActive = 0;
        if (acceptCompletion()) e.preventDefault();
      } else if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        compHandle.close();
      }
    });

    /** The x offset (px, from the input's left edge) of character index `i` of the query. */
    function textX(i) {
      const cs = getComputedStyle(q);
      const ctx = textX.ctx || (textX.ctx = document.createElement('canvas').getContext('2d'));
      ctx.font = cs.font || cs.fontSize + ' ' + cs.fontFamily;
      const w = ctx.measureText(q.value.slice(0, i)).width;
      return parseFloat(cs.paddingLeft) + parseFloat(cs.borderLeftWidth) + w - q.scrollLeft;
    }

    // ---- query errors
    function showQueryError(text, e) {
      const pos = e.body && typeof e.body.position === 'number' ? e.body.position : null;
      // The caret shows where; the message need not say it again.
      const message = pos === null ? e.message : e.message.replace(/ at position \d+$/, '');
      clear(qerr);
      qerr.hidden = false;
      if (pos !== null) {
        const i = cpToIndex(text, pos);
        // Echo the query with the character at fault marked, then a caret line under it.
        const at = text.slice(i, cpToIndex(text, pos + 1)) || ' ';
        qerr.append(
          h('pre', { class: 'q-echo' }, text.slice(0, i), h('mark', { text: at }), text.slice(i + at.length)),
          h('pre', { class: 'q-caret' }, ' '.repeat([...text.slice(0, i)].length) + '^ ' + message)
        );
        // And under the input itself, when that is where the query is shown.
        if (q.value === text) {
          q.focus();
          q.setSelectionRange(i, i);
          const x = textX(i);
          if (x >= 0 && x <= q.clientWidth) {
            marker.style.left = x + 'px';
            marker.style.width = Math.max(8, textX(i + at.length) - x) + 'px';
            marker.hidden = false;
          }
        }
      } else {
        qerr.append(h('pre', { class: 'q-caret', text: e.message }));
      }
      if (e.body && e.body.hint) qerr.append(h('div', { class: 'q-hint', text: 'hint: ' + e.body.hint }));
    }

    function clearQueryError() {
      qerr.hidden = true;
      marker.hidden = true;
      clear(qerr);
    }

    // ---- loading
    async function load(nst) {
      st = nst;
      const my = ++seq;
      const mine = () => my === seq && searchView && searchView.root === root && root.isConnected;
      root.setAttribute('data-ready', 'false');
      document.title = (st.q ? st.q + ' · ' : '') + 'Search · cairn';
      if (document.activeElement !== q || q.value.trim() !== st.q) q.value = st.q;
      fromIn.value = st.from;
      toIn.value = st.to;
      for (const b of presetBtns) {
        const preset = PRESETS.find(([l]) => l === b.dataset.range);
        b.classList.toggle('active', !st.to && preset[1] === st.from);
        b.setAttribute('aria-pressed', String(!st.to && preset[1] === st.from));
      }
      compHandle.close();
      clearQueryError();
      renderFilters();
      const base = { q: st.q, from: st.from, to: st.to };
      const sameSet = last && last.q === st.q && last.from === st.from && last.to === st.to && st.asof && last.asof === st.asof;
      status.textContent = 'Searching…';
      status.className = 'status busy';
      table.classList.add('stale');
      let res;
      try {
        res = await api('/api/search', { params: { ...base, asof: st.asof, limit: PAGE, offset: st.offset }, signal });
      } catch (e) {
        if (!mine() || isAbort(e)) return;
        status.textContent = '';
        status.className = 'status';
        table.classList.remove('stale');
        if (e instanceof ApiError && e.status === 400) {
          showQueryError(st.q, e);
          clear(table);
          lastHits = null;
          total.textContent = '';
          total.removeAttribute('data-total');
          prev.disabled = next.disabled = true;
          asofInfo.textContent = '';
          clear(facets);
          clear(histo);
          histo.append(h('p', { class: 'muted empty-histo', text: 'Fix the query to see its matches.' }));
          histoInfo.textContent = '';
          timeline = null;
          last = null;
        } else showError(status, e);
        finish(my);
        return;
      }
      if (!mine()) return;
      const asof = res.asof || st.asof || '';
      const hits = (res.hits || []).map(norm);
      last = { ...base, asof };
      status.textContent = '';
      status.className = 'status';
      table.classList.remove('stale');
      total.textContent = fmtNum(res.total) + (res.total === 1 ? ' event' : ' events');
      total.setAttribute('data-total', String(res.total));
      asofInfo.textContent = asof ? 'as of ' + fmtTime(asof) : '';
      const shownFrom = hits.length ? st.offset + 1 : 0;
      status.textContent = res.total ? 'Showing ' + fmtNum(shownFrom) + '–' + fmtNum(st.offset + hits.length) + ' of ' + fmtNum(res.total) : '';
      prev.disabled = st.offset === 0;
      next.disabled = st.offset + hits.length >= res.total;
      lastHits = hits;
      renderTable(hits);
      if (my === 1 || !performance.getEntriesByName('cairn:results-visible').length) {
        try {
          performance.mark('cairn:results-visible');
        } catch (_) {
          /* marks are a nicety */
        }
      }
      if (sameSet && timeline) {
        finish(my);
        return;
      }
      const more = { ...base, asof };
      await Promise.all([
        api('/api/timeline', { params: { ...more, buckets: 60 }, signal })
          .then((t) => mine() && ((timeline = t), drawHistogram()))
          .catch((e) => mine() && (clear(histo), showError(histo, e))),
        api('/api/facets', { params: { ...more, fields: FACET_FIELDS.join(','), n: 10 }, signal })
          .then((f) => mine() && renderFacets(f))
          .catch((e) => mine() && (clear(facets), showError(facets, e))),
      ]);
      finish(my);
    }

    function finish(my) {
      if (my !== seq) return;
      root.setAttribute('data-seq', String(my));
      root.setAttribute('data-ready', 'true');
    }

    // ---- the results table
    function renderTable(hits) {
      clear(table);
      if (!hits) return;
      const cols = COLUMNS.filter((c) => st.cols.includes(c.key));
      table.append(h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col', class: 'c-' + c.key, text: c.label })))));
      const body = h('tbody');
      if (!hits.length) {
        body.append(h('tr', { class: 'empty' }, h('td', { colspan: cols.length, text: 'No events match.' })));
      }
      for (const x of hits) {
        const url = '/events/' + encodeURIComponent(x.id);
        const tr = h('tr', { tabindex: '0', 'data-id': x.id, 'data-href': url });
        if (x.integrity === 'failed') tr.classList.add('tampered');
        for (const c of cols) {
          const v = c.get(x);
          const td = h('td', { class: 'c-' + c.key });
          if (c.key === 'time') td.append(h('a', { href: url, tabindex: '-1', text: v }));
          else if (c.key === 'integrity') td.append(badge(v));
          else {
            td.textContent = v === null || v === undefined ? '' : String(v);
            if (v) td.title = String(v);
          }
          tr.append(td);
        }
        body.append(tr);
      }
      table.append(body);
    }

    table.addEventListener('click', (e) => {
      const tr = e.target.closest('tr[data-href]');
      if (!tr || e.target.closest('a') || window.getSelection().toString()) return;
      go(tr.dataset.href);
    });
    table.addEventListener('keydown', (e) => {
      const tr = e.target.closest('tr[data-href]');
      if (!tr) return;
      if (e.key === 'Enter') {
        e.preventDefault();
        go(tr.dataset.href);
      } else if (e.key === 'ArrowDown' || e.key === 'j') {
        e.preventDefault();
        if (tr.nextElementSibling) tr.nextElementSibling.focus();
      } else if (e.key === 'ArrowUp' || e.key === 'k') {
        e.preventDefault();
        if (tr.previousElementSibling) tr.previousElementSibling.focus();
      }
    });

    // ---- facets and filters
    function renderFacets(res) {
      clear(facets);
      const byField = new Map(((res && res.facets) || []).map((f) => [f.field, f.values || []]));
      const active = activeFilters(st.q);
      for (const field of FACET_FIELDS) {
        const values = (byField.get(field) || []).slice();
        // Values the query filters on stay listed (an excluded one has no count left), so that
        // the next click can reach them.
        for (const a of active) {
          if (a.field === field && !values.some((v) => v.value === a.value)) values.unshift({ value: a.value, count: null });
        }
        if (!values.length && !byField.has(field)) continue;
        const meta = ((res && res.facets) || []).find((f) => f.field === field) || {};
        const list = h('ul');
        for (const v of values) {
          const state = facetState(st.q, field, v.value);
          const shown = v.value === '' ? '(empty)' : v.value;
          const btn = h(
            'button',
            {
              type: 'button',
              class: 'facet-value' + (state ? ' ' + state : ''),
              'data-field': field,
              'data-value': v.value,
              'data-state': state || 'none',
              'data-count': v.count === null ? '' : v.count,
              title:
                (state === 'include' ? 'Filtering on ' : state === 'exclude' ? 'Excluding ' : '') +
                field + ':"' + v.value + '" — click to ' + (state === null ? 'filter' : state === 'include' ? 'exclude' : 'remove'),
            },
            h('span', { class: 'fv', text: (state === 'exclude' ? 'NOT ' : '') + shown }),
            h('span', { class: 'fc', text: v.count === null ? '–' : fmtNum(v.count) })
          );
          btn.addEventListener('click', () => navigate({ q: cycleFacet(st.q, field, v.value) }));
          list.append(h('li', {}, btn));
        }
        if (!values.length) list.append(h('li', { class: 'muted', text: 'none' }));
        const title = h('h3', { text: FACET_LABELS[field] || field });
        if (meta.truncated) {
          title.append(h('span', { class: 'approx', title: 'Counted over a sample of the newest matching events', text: ' ≈' }));
        }
        facets.append(h('section', { class: 'facet', 'data-field': field }, title, list));
      }
    }

    function renderFilters() {
      clear(filters);
      for (const a of activeFilters(st.q)) {
        const chip = h(
          'button',
          {
            type: 'button',
            class: 'chip ' + a.state,
            'data-field': a.field,
            'data-value': a.value,
            'data-state': a.state,
            title: 'Remove this filter',
          },
          (a.state === 'exclude' ? 'NOT ' : '') + (FACET_LABELS[a.field] || a.field) + ': ' + a.value + ' ×'
        );
        chip.addEventListener('click', () => {
          const c = (a.state === 'exclude' ? 'NOT ' : '') + clause(a.field, a.value);
          navigate({ q: removeClause(st.q, c) });
        });
        filters.append(chip);
      }
    }

    // ---- the histogram
    const M = { left: 46, right: 10, top: 8, bottom: 20 };
    const HEIGHT = 110;

    function drawHistogram() {
      clear(histo);
      const t = timeline;
      const buckets = (t && t.buckets) || [];
      if (!buckets.length) {
        histo.append(h('p', { class: 'muted empty-histo', text: 'No matches in this time range.' }));
        histoInfo.textContent = '';
        return;
      }
      const width = Math.max(300, histo.clientWidth || 800);
      const pw = width - M.left - M.right;
      const ph = HEIGHT - M.top - M.bottom;
      const interval = (t.interval || 60) * 1000;
      const t0 = Date.parse(buckets[0].t);
      const t1 = Date.parse(buckets[buckets.length - 1].t) + interval;
      const span = Math.max(1, t1 - t0);
      const max = Math.max(1, ...buckets.map((b) => b.count));
      const xOf = (ms) => M.left + ((ms - t0) / span) * pw;
      const svg = s('svg', { width, height: HEIGHT, viewBox: '0 0 ' + width + ' ' + HEIGHT, role: 'img', 'data-buckets': buckets.length, 'data-from': isoSec(t0), 'data-to': isoSec(t1) });
      svg.append(s('title', { text: 'Matches per ' + fmtDuration(t.interval) + '; drag across the chart to zoom in' }));
      // Axes and gridlines.
      svg.append(s('line', { x1: M.left, x2: M.left + pw, y1: M.top + ph + 0.5, y2: M.top + ph + 0.5, class: 'axis' }));
      for (const frac of [0.5, 1]) {
        const y = M.top + ph - frac * ph;
        svg.append(s('line', { x1: M.left, x2: M.left + pw, y1: y + 0.5, y2: y + 0.5, class: 'grid' }));
        svg.append(s('text', { x: M.left - 6, y: y + 4, class: 'ylab', 'text-anchor': 'end', text: fmtNum(Math.round(max * frac)) }));
      }
      const bars = s('g', { class: 'bars' });
      for (const b of buckets) {
        const bt = Date.parse(b.t);
        const x = xOf(bt);
        const w = Math.max(1, xOf(bt + interval) - x - 1);
        const bh = b.count ? Math.max(1, (b.count / max) * ph) : 0;
        const r = s('rect', { x: x.toFixed(1), y: (M.top + ph - bh).toFixed(1), width: w.toFixed(1), height: bh.toFixed(1), class: 'bar', 'data-t': b.t, 'data-count': b.count });
        r.append(s('title', { text: fmtTime(b.t) + ' — ' + fmtNum(b.count) }));
        bars.append(r);
      }
      svg.append(bars);
      // Time labels, about one per 130 px, at round bucket boundaries.
      const nlab = Math.max(2, Math.floor(pw / 130));
      const step = Math.max(1, Math.round(buckets.length / nlab));
      const long = span > 2 * 86400000;
      for (let i = 0; i < buckets.length; i += step) {
        const bt = Date.parse(buckets[i].t);
        const x = xOf(bt);
        // A label must fit: none that would run past the right edge.
        if (x > M.left + pw - 60) break;
        const txt = fmtTime(buckets[i].t);
        svg.append(s('text', { x, y: HEIGHT - 5, class: 'xlab', text: long ? txt.slice(5, 16) : txt.slice(11, 16) }));
      }
      const sel = s('rect', { class: 'sel', x: 0, y: M.top, width: 0, height: ph, visibility: 'hidden' });
      svg.append(sel);
      const hit = s('rect', { class: 'drag', x: M.left, y: 0, width: pw, height: HEIGHT, 'data-testid': 'histogram-drag' });
      svg.append(hit);
      histo.append(svg);
      const tot = buckets.reduce((a, b) => a + b.count, 0);
      histoInfo.textContent = fmtTime(buckets[0].t) + ' → ' + fmtTime(isoSec(t1)) + ' · ' + fmtNum(tot) + ' matches · ' + fmtDuration(t.interval) + ' per bar · drag to zoom';

      // Drag to select a range; release zooms into it. A click zooms into one bar.
      const clampX = (ev) => {
        const r = svg.getBoundingClientRect();
        return Math.min(M.left + pw, Math.max(M.left, ev.clientX - r.left));
      };
      const timeAt = (x) => t0 + ((x - M.left) / pw) * span;
      hit.addEventListener('mousedown', (ev) => {
        if (ev.button !== 0) return;
        ev.preventDefault();
        const x0 = clampX(ev);
        let x1 = x0;
        sel.setAttribute('visibility', 'visible');
        const paint = () => {
          sel.setAttribute('x', Math.min(x0, x1));
          sel.setAttribute('width', Math.abs(x1 - x0));
        };
        paint();
        const move = (e2) => {
          x1 = clampX(e2);
          paint();
        };
        const up = (e2) => {
          window.removeEventListener('mousemove', move);
          window.removeEventListener('mouseup', up);
          x1 = clampX(e2);
          sel.setAttribute('visibility', 'hidden');
          let a, b;
          if (Math.abs(x1 - x0) < 3) {
            const i = Math.min(buckets.length - 1, Math.floor(((x0 - M.left) / pw) * buckets.length));
            a = Date.parse(buckets[i].t);
            b = a + interval;
          } else {
            a = timeAt(Math.min(x0, x1));
            b = timeAt(Math.max(x0, x1));
          }
          const from = isoSec(Math.floor(a / 1000) * 1000);
          const to = isoSec(Math.ceil(b / 1000) * 1000);
          if (from < to) navigate({ from, to });
        };
        window.addEventListener('mousemove', move);
        window.addEventListener('mouseup', up);
      });
    }

    let resizeTimer = null;
    const onResize = () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => root.isConnected && timeline && drawHistogram(), 150);
    };
    window.addEventListener('resize', onResize);

    return { load, root };
  }

  // ---------------------------------------------------------------- event view

  function badge(state, reason) {
    const s = state || 'unverified';
    return h('span', { class: 'badge integrity ' + s, id: null, title: reason || null, text: s });
  }

  function pivotUrl(q, time) {
    const t = Date.parse(time);
    const p = new URLSearchParams();
    p.set('q', q);
    if (!isNaN(t)) {
      p.set('from', isoSec(t - 3600000));
      p.set('to', isoSec(t + 3600000));
    } else p.set('from', '');
    return '/?' + p.toString();
  }

  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch (_) {
        /* fall back below: permissions differ between browsers */
      }
    }
    const ta = h('textarea', { class: 'offscreen', readonly: true, 'aria-hidden': 'true' });
    ta.value = text;
    document.body.append(ta);
    ta.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch (_) {
      ok = false;
    }
    ta.remove();
    return ok;
  }

  async function showEvent(id) {
    const signal = newView('Event ' + id);
    main.className = 'event-view';
    const box = h('div', { id: 'event', 'data-ready': 'false' });
    main.append(box);
    let x;
    try {
      const res = await api('/api/events/' + encodeURIComponent(id), { signal });
      x = norm({ id, ...res });
    } catch (e) {
      if (isAbort(e)) return;
      box.append(h('h1', { text: 'Event ' + id }));
      if (e instanceof ApiError && e.status === 404) box.append(h('p', { class: 'error', role: 'alert', text: 'No such event (or not one you may see).' }));
      else showError(box, e);
      box.setAttribute('data-ready', 'true');
      return;
    }
    document.title = (x.event_name || 'Event') + ' · cairn';
    const head = h(
      'div',
      { class: 'event-head' },
      h('h1', {}, x.event_name || 'Event', ' ', h('span', { class: 'muted', text: x.event_source || '' })),
      h('span', { id: 'integrity-badge', class: 'badge integrity ' + x.integrity, title: x.integrity_reason || null, text: x.integrity })
    );
    box.append(head);
    if (x.integrity === 'failed') {
      box.append(h('p', { id: 'integrity-reason', class: 'error', role: 'note', text: 'Integrity check failed' + (x.integrity_reason ? ': ' + x.integrity_reason : '.') }));
    } else if (x.integrity_reason) {
      box.append(h('p', { id: 'integrity-reason', class: 'muted', text: x.integrity_reason }));
    }

    const rows = [
      ['Time', fmtTime(x.time) + ' UTC'],
      ['Principal', x.principal],
      ['Account', x.account],
      ['Region', x.region],
      ['Source IP', x.source_ip],
      ['Access key', x.access_key_id],
      ['Error', x.error_code ? x.error_code + (x.event.errorMessage ? ': ' + x.event.errorMessage : '') : null],
      ['User agent', x.user_agent],
      ['Event ID', x.id],
      ['Log file', x.object],
    ];
    box.append(h('dl', { class: 'facts' }, rows.filter(([, v]) => v).map(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })])));

    // One-click pivots: the same actor, key, resource or address within an hour either side.
    const pivots = h('div', { class: 'pivots', id: 'pivots' }, h('span', { class: 'label', text: 'Pivot ±1h:' }));
    const addPivot = (kind, label, q) =>
      pivots.append(h('a', { class: 'pivot button', href: pivotUrl(q, x.time), 'data-pivot': kind, title: q, text: label }));
    if (x.principal) addPivot('principal', 'Same principal', clause('principal', x.principal));
    if (x.access_key_id) addPivot('access-key', 'Same access key', clause('userIdentity.accessKeyId', x.access_key_id));
    for (const arn of (x.resources || []).slice(0, 5)) addPivot('resource', 'Same resource: ' + shortArn(arn), clause('resources.ARN', arn));
    if (x.source_ip) addPivot('source-ip', 'Same source IP', clause('sourceIPAddress', x.source_ip));
    box.append(pivots);

    // The record as it was written, when the server sends its text (`raw`): a parsed and
    // re-serialized record may have lost its key order.
    let json = JSON.stringify(x.event, null, 2);
    if (typeof x.raw === 'string') {
      try {
        json = JSON.stringify(JSON.parse(x.raw), null, 2);
      } catch (_) {
        /* keep the parsed record */
      }
    }
    const copyBtn = h('button', { type: 'button', id: 'copy-json', class: 'quiet', text: 'Copy JSON' });
    const copied = h('span', { class: 'muted', id: 'copy-status', 'aria-live': 'polite' });
    copyBtn.addEventListener('click', async () => {
      const ok = await copyText(json);
      copied.textContent = ok ? 'Copied.' : 'Copy failed: select the text and copy it.';
    });
    box.append(
      h('div', { class: 'json-head' }, h('h2', { text: 'Record' }), copyBtn, copied),
      h('pre', { id: 'event-json', class: 'json', tabindex: '0' }, highlightJson(json))
    );
    box.setAttribute('data-ready', 'true');
  }

  function shortArn(arn) {
    const parts = String(arn).split(':');
    const tail = parts.slice(5).join(':');
    return tail.length > 48 ? '…' + tail.slice(-47) : tail || arn;
  }

  /** JSON text as spans with classes for keys, strings, numbers and literals. Text only. */
  function highlightJson(text) {
    const out = [];
    const re = /("(?:[^"\\]|\\.)*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;
    let last = 0;
    let m;
    while ((m = re.exec(text))) {
      if (m.index > last) out.push(text.slice(last, m.index));
      if (m[1]) {
        out.push(h('span', { class: m[2] ? 'j-key' : 'j-str', text: m[1] }));
        if (m[2]) out.push(m[2]);
      } else if (m[3]) out.push(h('span', { class: 'j-lit', text: m[3] }));
      else out.push(h('span', { class: 'j-num', text: m[4] }));
      last = re.lastIndex;
    }
    out.push(text.slice(last));
    return out;
  }

  // ---------------------------------------------------------------- alerts

  const SEVERITY_ORDER = ['critical', 'high', 'medium', 'low', 'informational'];

  function sevBadge(sev) {
    return h('span', { class: 'badge sev ' + (SEVERITY_ORDER.includes(sev) ? sev : 'other'), text: sev || '' });
  }

  function ackText(a) {
    return a.acknowledged ? 'acknowledged by ' + a.acknowledged.by + ' at ' + fmtTime(a.acknowledged.at) : '';
  }

  async function showAlerts() {
    const signal = newView('Alerts', 'Alerts');
    main.className = 'alerts-view';
    const box = h('div', { id: 'alerts', 'data-ready': 'false' });
    main.append(box);
    try {
      const res = await api('/api/alerts', { params: { limit: 100 }, signal });
      const alerts = (res && res.alerts) || [];
      if (!alerts.length) box.append(h('p', { class: 'muted', text: 'No alerts.' }));
      else {
        const table = h('table', { class: 'grid-table alerts-table' });
        table.append(
          h('thead', {}, h('tr', {}, ['Severity', 'Rule', 'Principal', 'Account', 'Region', 'Events', 'Last seen', 'State'].map((t) => h('th', { scope: 'col', text: t }))))
        );
        const body = h('tbody');
        for (const a of alerts) {
          const url = '/alerts/' + encodeURIComponent(a.id);
          const tr = h(
            'tr',
            { 'data-id': a.id, 'data-href': url, class: a.acknowledged ? 'acked' : null },
            h('td', {}, sevBadge(a.severity)),
            h('td', {}, h('a', { href: url, text: a.rule || a.rule_id || a.id, title: a.summary || null })),
            h('td', { text: a.principal || '', title: a.principal || null }),
            h('td', { text: a.account || '' }),
            h('td', { text: a.region || '' }),
            h('td', { class: 'num', text: fmtNum(a.count) }),
            h('td', { text: fmtTime(a.last_seen) }),
            h('td', { text: a.acknowledged ? 'acknowledged' : 'open', title: ackText(a) || null })
          );
          body.append(tr);
        }
        table.append(body);
        box.append(h('p', { class: 'muted', text: alerts.length + ' alert(s), newest first.' }), h('div', { class: 'table-wrap' }, table));
      }
    } catch (e) {
      showError(box, e);
    }
    box.setAttribute('data-ready', 'true');
  }

  async function showAlert(id) {
    const signal = newView('Alert ' + id);
    main.className = 'alert-view';
    const box = h('div', { id: 'alert', 'data-ready': 'false' });
    main.append(box);
    let res;
    try {
      res = await api('/api/alerts/' + encodeURIComponent(id), { signal });
    } catch (e) {
      if (isAbort(e)) return;
      box.append(h('h1', { text: 'Alert ' + id }));
      if (e instanceof ApiError && e.status === 404) box.append(h('p', { class: 'error', role: 'alert', text: 'No such alert.' }));
      else showError(box, e);
      box.setAttribute('data-ready', 'true');
      return;
    }
    const a = res.alert || {};
    document.title = (a.rule || 'Alert') + ' · cairn';
    const canAck = session && (session.role === 'analyst' || session.role === 'admin');
    const ackState = h('span', { id: 'ack-state', class: 'muted', text: ackText(a) });
    const ack = h('button', {
      type: 'button',
      id: 'ack',
      class: 'primary',
      text: a.acknowledged ? 'Acknowledged' : 'Acknowledge',
      disabled: !!a.acknowledged || !canAck,
      title: canAck ? null : 'Viewers cannot acknowledge alerts',
    });
    if (!canAck) ack.hidden = true;
    ack.addEventListener('click', async () => {
      ack.disabled = true;
      try {
        const r = await api('/api/alerts/' + encodeURIComponent(id) + '/ack', { method: 'POST' });
        const na = (r && r.alert) || { ...a, acknowledged: { by: session.user, at: new Date().toISOString() } };
        ack.textContent = 'Acknowledged';
        ackState.textContent = ackText(na);
      } catch (e) {
        ack.disabled = false;
        if (e instanceof ApiError && e.status === 401) return;
        ackState.textContent = e.status === 403 ? 'You may not acknowledge alerts.' : 'Acknowledging failed: ' + e.message;
      }
    });
    box.append(
      h('div', { class: 'event-head' }, h('h1', {}, sevBadge(a.severity), ' ', a.rule || a.rule_id || a.id), ack, ackState),
      a.summary ? h('p', { class: 'summary', text: a.summary }) : null
    );
    const facts = [
      ['Kind', a.kind],
      ['Rule id', a.rule_id],
      ['First seen', fmtTime(a.first_seen)],
      ['Last seen', fmtTime(a.last_seen)],
      ['Events', a.count !== undefined ? fmtNum(a.count) : null],
      ['Account', a.account],
      ['Region', a.region],
      ['Principal', a.principal],
      ['Event', a.event_name],
      ['Source IP', a.source_ip],
      ['Tags', (a.tags || []).join(', ')],
      ['Raised', a.raised ? fmtTime(new Date(a.raised * 1000).toISOString()) : null],
      ['Alert id', a.id],
    ];
    box.append(h('dl', { class: 'facts' }, facts.filter(([, v]) => v).map(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })])));

    const events = (res.events || []).map(norm);
    box.append(h('h2', { text: 'Matched events (' + events.length + ')' }));
    const ids = events.map((x) => x.id).filter(Boolean);
    if (ids.length && ids.length <= 50 && a.first_seen && a.last_seen) {
      const p = new URLSearchParams();
      p.set('q', 'eventID:(' + ids.map((i) => '"' + i + '"').join(' OR ') + ')');
      p.set('from', isoSec(Date.parse(a.first_seen) - 3600000));
      p.set('to', isoSec(Date.parse(a.last_seen) + 3600000));
      box.append(h('p', {}, h('a', { href: '/?' + p.toString(), id: 'alert-search', text: 'Open these events in search' })));
    }
    box.append(h('div', { class: 'table-wrap' }, eventsTable(events)));
    box.setAttribute('data-ready', 'true');
  }

  /** A table of hits whose rows open the event. */
  function eventsTable(events) {
    const cols = COLUMNS.filter((c) => !c.off);
    const table = h('table', { class: 'results', id: 'alert-events' });
    table.append(h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col', text: c.label })))));
    const body = h('tbody');
    for (const x of events) {
      const url = '/events/' + encodeURIComponent(x.id);
      const tr = h('tr', { tabindex: '0', 'data-id': x.id, 'data-href': url });
      for (const c of cols) {
        const v = c.get(x);
        tr.append(c.key === 'time' ? h('td', {}, h('a', { href: url, text: v })) : h('td', { text: v ?? '', title: v || null }));
      }
      body.append(tr);
    }
    if (!events.length) body.append(h('tr', { class: 'empty' }, h('td', { colspan: cols.length, text: 'The events of this alert are not in the store (or not in your scope).' })));
    table.append(body);
    table.addEventListener('click', (e) => {
      const tr = e.target.closest('tr[data-href]');
      if (tr && !e.target.closest('a')) go(tr.dataset.href);
    });
    table.addEventListener('keydown', (e) => {
      const tr = e.target.closest('tr[data-href]');
      if (tr && e.key === 'Enter') go(tr.dataset.href);
    });
    return table;
  }

  // ---------------------------------------------------------------- generic tables

  function cellValue(v) {
    if (v === null || v === undefined) return h('span', { class: 'muted', text: '—' });
    if (typeof v === 'boolean') return v ? 'yes' : 'no';
    if (typeof v === 'number') return fmtNum(v);
    if (typeof v === 'string') return /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(v) ? fmtTime(v) : v;
    if (Array.isArray(v)) {
      if (!v.length) return h('span', { class: 'muted', text: '—' });
      if (v.every((x) => x === null || typeof x !== 'object')) return v.join(', ');
      if (v.every((x) => x && typeof x === 'object' && 'from' in x && 'to' in x)) {
        // Time spans (gaps): compact, the date once when both ends share it.
        const span = (x) => {
          const a = fmtTime(x.from).slice(0, 16);
          const b = fmtTime(x.to).slice(0, 16);
          const secs = x.seconds ?? (Date.parse(x.to) - Date.parse(x.from)) / 1000;
          return a + ' → ' + (a.slice(0, 10) === b.slice(0, 10) ? b.slice(11) : b) + (isNaN(secs) ? '' : ' (' + fmtDuration(secs) + ')');
        };
        const shown = v.slice(0, 4).map((x) => h('li', { text: span(x) }));
        if (v.length > 4) shown.push(h('li', { class: 'muted', text: '+' + (v.length - 4) + ' more' }));
        return h('ul', { class: 'plain spans' }, shown);
      }
    }
    return h('code', { text: JSON.stringify(v) });
  }

  /** A table of objects: one column per key, in order of first appearance. */
  function genericTable(rows, opts = {}) {
    const keys = [];
    for (const r of rows) for (const k of Object.keys(r || {})) if (!keys.includes(k)) keys.push(k);
    let cols = keys;
    if (opts.columns) {
      cols = opts.columns.filter((k) => keys.includes(k));
      if (!opts.only) cols = cols.concat(keys.filter((k) => !opts.columns.includes(k)));
    }
    const label = (k) => {
      const t = k.replace(/_secs$|_seconds$/, '').replace(/_/g, ' ').replace(/([a-z])([A-Z])/g, '$1 $2');
      return t.charAt(0).toUpperCase() + t.slice(1);
    };
    const table = h('table', { class: 'grid-table' + (opts.cls ? ' ' + opts.cls : '') });
    const numeric = (k) => {
      const r = rows.find((x) => x && x[k] !== null && x[k] !== undefined);
      return r && typeof r[k] === 'number';
    };
    table.append(h('thead', {}, h('tr', {}, cols.map((k) => h('th', { scope: 'col', class: numeric(k) ? 'num' : null, text: label(k) })))));
    const body = h('tbody');
    for (const r of rows) {
      const tr = h('tr');
      for (const k of cols) {
        const v = r ? r[k] : null;
        const td = h('td', { class: 'k-' + k.replace(/[^\w-]/g, '') + (typeof v === 'number' ? ' num' : '') });
        if (opts.cell && opts.cell[k]) td.append(opts.cell[k](v, r));
        else td.append(cellValue(/_secs$|_seconds$/.test(k) && typeof v === 'number' ? fmtDuration(v) : v));
        tr.append(td);
      }
      body.append(tr);
    }
    table.append(body);
    return h('div', { class: 'table-wrap' }, table);
  }

  async function simpleView(title, path, render) {
    const signal = newView(title, title);
    const box = h('div', { id: 'view', 'data-ready': 'false' });
    main.append(box);
    try {
      render(box, await api(path, { signal }));
    } catch (e) {
      showError(box, e);
    }
    box.setAttribute('data-ready', 'true');
  }

  /** The first array of objects in a response, for views rendered generically. */
  function rowsOf(res, key) {
    if (Array.isArray(res)) return res;
    if (res && Array.isArray(res[key])) return res[key];
    for (const v of Object.values(res || {})) if (Array.isArray(v)) return v;
    return [];
  }

  function stateBadge(v) {
    if (v === null || v === undefined) return h('span', { class: 'muted', text: '—' });
    return h('span', { class: 'badge state ' + String(v).toLowerCase().replace(/[^a-z0-9-]/g, ''), text: String(v).toLowerCase() });
  }

  function showMonitors() {
    return simpleView('Monitors', '/api/monitors', (box, res) => {
      const rows = rowsOf(res, 'monitors');
      if (!rows.length) box.append(h('p', { class: 'muted', text: 'No monitors are configured ([[monitor]] in cairn.toml).' }));
      else {
        box.append(
          genericTable(rows, {
            columns: ['name', 'status', 'state', 'query', 'window', 'min_count', 'last_count', 'last_check'],
            cell: { status: stateBadge, state: stateBadge },
          })
        );
      }
    });
  }

  function showHealth() {
    return simpleView('Pipeline health', '/api/health', (box, res) => {
      const rows = rowsOf(res, 'partitions');
      box.append(h('p', { class: 'muted', text: 'Delivery per account and region: the latest file, delivery lag, and gaps in the hourly deliveries.' }));
      if (!rows.length) box.append(h('p', { class: 'muted', text: 'Nothing ingested yet.' }));
      else {
        box.append(
          genericTable(rows, {
            columns: ['account', 'region', 'status', 'last_delivered', 'last_delivery', 'newest_event', 'objects', 'events', 'failed_objects',
              'lag_p50_seconds', 'lag_p50_secs', 'lag_p95_seconds', 'lag_max_seconds', 'lag_max_secs', 'silent_seconds', 'gaps', 'errors'],
            cell: { status: stateBadge },
          })
        );
      }
      const rest = Object.fromEntries(Object.entries(res || {}).filter(([k, v]) => k !== 'partitions' && !Array.isArray(v)));
      if (Object.keys(rest).length) box.append(factsOf(rest));
    });
  }

  function factsOf(obj) {
    const dur = /_secs$|_seconds$/;
    return h(
      'dl',
      { class: 'facts' },
      Object.entries(obj).map(([k, v]) => [
        h('dt', { text: k.replace(dur, '').replace(/_/g, ' ') }),
        h('dd', {}, cellValue(dur.test(k) && typeof v === 'number' ? fmtDuration(v) : v)),
      ])
    );
  }

  function showIntegrity() {
    return simpleView('Integrity', '/api/integrity', (box, res) => {
      res = res || {};
      const counts = res.counts || {};
      if (res.checked === false) box.append(h('p', { class: 'muted', text: 'No digests have been checked: events are unverified until digest files are ingested.' }));
      box.append(
        h(
          'div',
          { class: 'cards' },
          ['verified', 'failed', 'unverified'].map((k) =>
            h('div', { class: 'card ' + k, 'data-kind': k }, h('div', { class: 'n', text: fmtNum(counts[k] || 0) }), h('div', { class: 'k', text: k + ' log files' }))
          )
        )
      );
      box.append(h('h2', { text: 'Chains' }));
      const chains = res.chains || [];
      box.append(chains.length ? genericTable(chains, { columns: ['account', 'region', 'verified', 'failed', 'unverified'] }) : h('p', { class: 'muted', text: 'No digest chains.' }));
      const failed = res.failed || [];
      if (failed.length) {
        const ofFile = (o) => '/?' + new URLSearchParams({ q: clause('cairn.object', o), from: '' }).toString();
        const t = genericTable(failed, {
          columns: ['object', 'reason', 'digest'],
          cell: { object: (v) => h('a', { href: ofFile(v), title: 'The events of this file', text: v }) },
        });
        t.id = 'failed-files';
        box.append(h('h2', { text: 'Failed files' }), t);
      }
    });
  }

  function showRules() {
    return simpleView('Rules', '/api/rules', (box, res) => {
      const rows = rowsOf(res, 'rules');
      box.append(h('p', { class: 'muted', text: rows.length + ' rule(s) loaded.' }));
      box.append(
        genericTable(rows, {
          columns: ['title', 'level', 'kind', 'status', 'description', 'tags', 'name'],
          only: true,
          cls: 'rules-table',
          cell: { level: (v) => sevBadge(v) },
        })
      );
    });
  }

  // ---------------------------------------------------------------- boot

  async function boot() {
    try {
      session = await api('/api/session', { allow401: true });
    } catch (e) {
      session = null;
      if (!(e instanceof ApiError && e.status === 401)) {
        renderWho();
        newView('cairn');
        main.append(h('p', { class: 'error', role: 'alert', text: 'cairn is not answering: ' + e.message }));
        return;
      }
    }
    renderWho();
    if (session && session.auth === false && location.pathname === '/login') {
      go('/', { replace: true });
      return;
    }
    route();
  }

  boot();
})();
