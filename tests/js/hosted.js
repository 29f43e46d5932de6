// Drives Lumo's hosted HTML pages (login, consent, device) over plain HTTP, the way a browser
// would: a tiny cookie jar (Set-Cookie -> Cookie), HTML form parsing (hidden inputs, buttons)
// and manual redirects. No redirect is ever followed automatically.

import { HTTP_TIMEOUT_MS } from './lumod.js';

const MAX_STEPS = 10;

export class CookieJar {
  constructor() { this.cookies = new Map(); } // name -> {value, path}

  store(url, response) {
    for (const header of response.headers.getSetCookie()) {
      const [pair, ...attrs] = header.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let path = '/';
      let expired = false;
      for (const attr of attrs) {
        const [k, v = ''] = attr.split('=');
        if (k.toLowerCase() === 'path') path = v || '/';
        if (k.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
        if (k.toLowerCase() === 'expires' && Date.parse(v) < Date.now()) expired = true;
      }
      const key = `${name};${path}`;
      if (expired || value === '') this.cookies.delete(key);
      else this.cookies.set(key, { name, value, path });
    }
  }

  header(url) {
    const { pathname } = new URL(url);
    return [...this.cookies.values()]
      .filter((c) => pathname.startsWith(c.path) || pathname === c.path.replace(/\/$/, ''))
      .map((c) => `${c.name}=${c.value}`).join('; ');
  }

  get(name) {
    for (const c of this.cookies.values()) if (c.name === name) return c.value;
    return undefined;
  }
}

/** A fetch that never follows redirects and keeps cookies in `jar`. */
export async function request(jar, url, { method = 'GET', form, headers = {} } = {}) {
  const cookie = jar.header(url);
  const res = await fetch(url, {
    method,
    redirect: 'manual',
    headers: {
      ...(cookie ? { Cookie: cookie } : {}),
      ...(form ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}),
      ...headers,
    },
    body: form ? new URLSearchParams(form).toString() : undefined,
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
  jar.store(url, res);
  const body = await res.text();
  const location = res.headers.get('location');
  return {
    status: res.status,
    headers: res.headers,
    body,
    location: location ? new URL(location, url).href : null,
    url,
  };
}

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'", '#x27': "'", '#x2F': '/' };

export function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (m, e) => {
    if (ENTITIES[e] !== undefined) return ENTITIES[e];
    if (e.startsWith('#x') || e.startsWith('#X')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return m;
  });
}

function attributes(tag) {
  const attrs = {};
  const re = /([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  // Skip the tag name itself.
  const inner = tag.replace(/^<\s*[a-zA-Z]+/, '').replace(/\/?>$/, '');
  for (const m of inner.matchAll(re)) {
    attrs[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

/**
 * Every <form> of a page: {action (absolute), method, fields (inputs with a name, in order),
 * buttons ([{name, value, text}])}.
 */
export function parseForms(html, pageUrl) {
  const forms = [];
  for (const m of html.matchAll(/<form\b[^>]*>([\s\S]*?)<\/form>/gi)) {
    const formTag = m[0].slice(0, m[0].indexOf('>') + 1);
    const fa = attributes(formTag);
    const fields = [];
    for (const im of m[1].matchAll(/<input\b[^>]*>/gi)) {
      const a = attributes(im[0]);
      if (!a.name) continue;
      if ((a.type === 'checkbox' || a.type === 'radio') && !('checked' in a)) continue;
      if (a.type === 'submit') continue;
      fields.push([a.name, a.value ?? '', a.type ?? 'text']);
    }
    const buttons = [];
    for (const bm of m[1].matchAll(/<button\b([^>]*)>([\s\S]*?)<\/button>/gi)) {
      const a = attributes(`<button${bm[1]}>`);
      if (a.type && a.type !== 'submit') continue;
      buttons.push({ name: a.name, value: a.value ?? '', text: decodeEntities(bm[2].replace(/<[^>]+>/g, '').trim()) });
    }
    for (const im of m[1].matchAll(/<input\b[^>]*>/gi)) {
      const a = attributes(im[0]);
      if (a.type === 'submit') buttons.push({ name: a.name, value: a.value ?? '', text: a.value ?? '' });
    }
    forms.push({
      action: new URL(fa.action || pageUrl, pageUrl).href,
      method: (fa.method || 'get').toUpperCase(),
      fields,
      buttons,
    });
  }
  return forms;
}

/** The fields of `form` as a plain object, with `overrides` applied and `button` submitted. */
export function formData(form, overrides = {}, button) {
  const data = {};
  for (const [name, value] of form.fields) data[name] = value;
  Object.assign(data, overrides);
  if (button && button.name) data[button.name] = button.value;
  return data;
}

export function hiddenFields(form) {
  return Object.fromEntries(form.fields.filter(([, , type]) => type === 'hidden').map(([n, v]) => [n, v]));
}

function describe(step) {
  return `${step.status} ${step.url} location=${step.location} body=${step.body.slice(0, 400)}`;
}

/** The single form of a page that has a field named `field`; throws with the page otherwise. */
export function formWith(page, field) {
  const forms = parseForms(page.body, page.url).filter((f) => f.fields.some(([n]) => n === field));
  if (forms.length !== 1) throw new Error(`expected one form with a "${field}" field, got ${forms.length}: ${describe(page)}`);
  return forms[0];
}

export function isLoginPage(page) {
  return page.status === 200 && /<input[^>]+name="password"/i.test(page.body);
}

export function isConsentPage(page) {
  return page.status === 200 && parseForms(page.body, page.url)
    .some((f) => f.buttons.some((b) => b.name === 'consent' && b.value === 'allow'));
}

/** Submits a login page's form with the given credentials; returns the 302 response. */
export async function submitLogin(jar, page, email, password) {
  const form = formWith(page, 'password');
  if (form.method !== 'POST') throw new Error(`login form method is ${form.method}`);
  return request(jar, form.action, { method: 'POST', form: formData(form, { email, password }) });
}

/** Submits the consent page with consent=allow|deny. */
export async function submitConsent(jar, page, decision = 'allow') {
  const form = parseForms(page.body, page.url)
    .find((f) => f.buttons.some((b) => b.name === 'consent' && b.value === decision));
  if (!form) throw new Error(`no consent=${decision} button: ${describe(page)}`);
  const button = form.buttons.find((b) => b.name === 'consent' && b.value === decision);
  return request(jar, form.action, { method: form.method, form: formData(form, {}, button) });
}

/**
 * Runs the whole front channel from an authorization URL: login page, login submit, redirects,
 * consent page (allow), and returns {location, steps} where `location` is the first redirect
 * whose target starts with `redirectUri` (never fetched). Bounded to MAX_STEPS requests.
 */
export async function authorizeViaHostedPages(authUrl, { jar = new CookieJar(), email, password, redirectUri, consent = 'allow' }) {
  const steps = [];
  let page = await request(jar, authUrl.href ?? authUrl);
  steps.push(page);
  for (let i = 0; i < MAX_STEPS; i++) {
    if (page.location) {
      if (page.location.startsWith(redirectUri)) return { location: page.location, steps, jar };
      page = await request(jar, page.location);
    } else if (isLoginPage(page)) {
      if (/login_error=/.test(page.url)) throw new Error(`login failed: ${describe(page)}`);
      page = await submitLogin(jar, page, email, password);
    } else if (isConsentPage(page)) {
      page = await submitConsent(jar, page, consent);
    } else {
      throw new Error(`unexpected page in the authorization flow: ${describe(page)}`);
    }
    steps.push(page);
  }
  throw new Error(`authorization flow did not reach ${redirectUri} in ${MAX_STEPS} steps: ` +
    steps.map((s) => `${s.status} ${s.url}`).join(' -> '));
}
