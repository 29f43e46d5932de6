// Social login in a real headless Chromium (Debian's package, driven by playwright-core). Two
// orgs of one lumod: `idp` is the upstream OpenID Connect provider (generic `oidc` preset, its
// endpoints discovered from its /.well-known/openid-configuration), and `app` has a social
// provider `corp` ("Corp SSO") pointing at it, plus a client of its own. A person opens the
// app's authorization URL, clicks "Continue with Corp SSO" on the app's hosted login page, signs
// in on the upstream's hosted login page (and allows it, when a consent page is shown), and the
// browser comes back through the app's social callback, signed in to the app org (the user
// provisioned just in time), to the app client's redirect_uri. openid-client exchanges the code
// and validates the ID token (iss is the app org, amr ["fed"], nonce). A second sign-in from a
// fresh browser names the same user; once the provider is disabled the login page no longer
// offers it and its link is refused.
//
// lumod calls the upstream (discovery, token, JWKS) over http on 127.0.0.1, which it does only
// with LUMO_WEBHOOKS_ALLOW_PRIVATE=true: set here, in this test file's own process, before
// lumod starts (startLumod passes the environment on). The tests run in order and share one
// lumod, the two orgs, one upstream user and one browser (a fresh context per test). Chromium:
// $CHROMIUM_PATH, /usr/bin/chromium or /usr/bin/chromium-browser; when none exists the tests are
// skipped with a message saying so.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import * as client from 'openid-client';
import { authorizationRequest, expectCallback } from './authorization.js';

import { adminApi, createClient, createUser, HTTP_TIMEOUT_MS, startLumod } from './lumod.js';
import {
  findChromium, launchChromium, newContext, closeWithin, startCallbackServer, stopCallbackServer,
} from './chromium.js';

const TEST_TIMEOUT_MS = 90_000;

const IDP_ORG = 'idp';
const APP_ORG = 'app';
const PROVIDER = 'corp';
const LINK_TEXT = 'Continue with Corp SSO';

const found = findChromium();

let server;
let idp;            // {issuer, apiKey}: the upstream org (usable with adminApi/createUser/createClient)
let app;            // {issuer, apiKey}: the org the person signs in to
let callbackUrl;    // the app org's social callback, registered at the upstream
let upstreamClient; // the upstream's client for the app org (data of POST ~/admin/clients)
let browser;
let callbackServer; // {server, requests: [url...]}
let redirectUri;
let appClient;      // data of POST ~/admin/clients in the app org
let config;         // openid-client Configuration for `appClient`
let person;         // the upstream user {id, email, password, name}
let firstSignIn;    // {sub, socialHref}: set once the first test has signed in

before(async () => {
  if (found.missing) return;
  // lumod must call the upstream over http on 127.0.0.1 (development setting).
  process.env.LUMO_WEBHOOKS_ALLOW_PRIVATE = 'true';
  server = await startLumod();
  idp = await createOrg(IDP_ORG);
  app = await createOrg(APP_ORG);

  callbackUrl = `${app.issuer}/oauth/social/${PROVIDER}/callback`;
  upstreamClient = await createClient(idp, {
    name: 'App org login',
    redirectUris: [callbackUrl],
    grantTypes: ['authorization_code'],
    isConfidential: true,
  });
  assert.equal(typeof upstreamClient.clientId, 'string', JSON.stringify(upstreamClient));
  assert.equal(typeof upstreamClient.secret, 'string', JSON.stringify(upstreamClient));

  const created = await adminApi(app, 'POST', '/admin/social-providers', {
    provider: PROVIDER,
    type: 'oidc',
    displayName: 'Corp SSO',
    issuer: idp.issuer,
    clientId: upstreamClient.clientId,
    clientSecret: upstreamClient.secret,
    jitProvisioningEnabled: true,
  });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.body.data.callbackUrl, callbackUrl, created.text);
  assert.equal(created.body.data.clientSecret, undefined, `no secret echoed: ${created.text}`);

  callbackServer = await startCallbackServer();
  redirectUri = `${callbackServer.origin}/callback`;
  appClient = await createClient(app, {
    name: 'Social App',
    redirectUris: [redirectUri],
    grantTypes: ['authorization_code', 'refresh_token'],
    isConfidential: true,
    skipConsent: true,
  });
  config = await client.discovery(new URL(app.issuer), appClient.clientId, appClient.secret, undefined, {
    execute: [client.allowInsecureRequests],
    timeout: HTTP_TIMEOUT_MS / 1000,
  });
  assert.equal(config.serverMetadata().issuer, app.issuer);

  person = await createUser(idp, { name: 'Katherine Johnson', emailVerified: true });
  browser = await launchChromium(found.path);
});

after(async () => {
  await closeWithin(browser);
  await stopCallbackServer(callbackServer);
  if (server) {
    const { code, signal, stderr } = await server.stop();
    assert.equal(code, 0, `lumod exited with ${code} (signal ${signal}) after SIGTERM; stderr:\n${stderr}`);
  }
});

// --- helpers -----------------------------------------------------------------------------------

/** Creates an org through the cluster admin API: {slug, issuer, apiKey}. */
async function createOrg(slug) {
  const res = await fetch(`${server.admin}/cluster/v1/orgs`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${server.clusterToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ slug, name: slug }),
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
  const text = await res.text();
  assert.equal(res.status, 201, `POST /cluster/v1/orgs ${slug} -> ${res.status}: ${text}`);
  const apiKey = JSON.parse(text).data.apiKey;
  assert.equal(typeof apiKey, 'string', text);
  return { slug, issuer: `${server.base}/orgs/${slug}/api/v1`, apiKey };
}

/**
 * A fresh browser context (no cookies) and page; `callbacks()` lists the requests the
 * redirect_uri received since then, `visited()` the lumod URLs the browser requested.
 */
async function newPage() {
  const context = await newContext(browser);
  const page = await context.newPage();
  const seen = callbackServer.requests.length;
  const requested = [];
  page.on('request', (r) => { if (r.url().startsWith(server.base)) requested.push(r.url()); });
  return { context, page, callbacks: () => callbackServer.requests.slice(seen), visited: () => requested };
}

/** What the page shows, for assertion messages. */
async function describePage(page) {
  const text = await page.locator('body').innerText().catch(() => '(no body)');
  return `${page.url()}\n${text.slice(0, 600)}`;
}

/** Opens `req`'s authorization URL at the app org: its hosted login page. */
async function openAppLogin(page, req) {
  const response = await page.goto(req.url.href);
  assert.equal(response.status(), 200, await describePage(page));
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  assert.ok(page.url().startsWith(`${app.issuer}/`), page.url());
}

/** Fills a hosted login form (by the fields' names) and submits it. */
async function signIn(page, email, password) {
  const form = page.locator('form', { has: page.locator('input[name="password"]') });
  await form.locator('input[name="email"]').fill(email);
  await form.locator('input[name="password"]').fill(password);
  await form.locator('button[type="submit"]').click();
}

/**
 * From the app's login page: "Continue with Corp SSO", the upstream's login page, sign in there,
 * allow when asked, and wait for the redirect_uri. Returns the link's href, the URL of the
 * authorization request the browser made at the upstream and the URLs of the consent pages
 * answered on the way.
 */
async function throughUpstream(page, context, visited) {
  const link = page.getByRole('link', { name: LINK_TEXT });
  assert.equal(await link.count(), 1, await describePage(page));
  const socialHref = await link.getAttribute('href');
  assert.ok(socialHref.startsWith(`/orgs/${APP_ORG}/api/v1/oauth/social/${PROVIDER}?`) ||
    socialHref.startsWith(`${app.issuer}/oauth/social/${PROVIDER}?`), socialHref);

  // To the upstream org's login page.
  await Promise.all([
    page.waitForURL((url) => url.href.startsWith(`${idp.issuer}/`)),
    link.click(),
  ]);
  await page.locator('input[name="password"]').waitFor();
  const upstreamAuthorize = visited().find((u) => u.startsWith(`${idp.issuer}/oauth/authorize?`));
  assert.ok(upstreamAuthorize, `the browser went to the upstream's authorization endpoint: ${visited().join('\n')}`);
  const cookies = await context.cookies();
  const social = cookies.find((c) => c.name === 'lumo_social');
  assert.ok(social, `lumo_social cookie set before leaving: ${JSON.stringify(cookies)}`);
  assert.equal(social.httpOnly, true);
  assert.ok(social.path.startsWith(`/orgs/${APP_ORG}/`), `cookie scoped to the app org: ${social.path}`);
  assert.equal(await page.getByRole('link', { name: LINK_TEXT }).count(), 0, 'the upstream has no social link');

  // Sign in upstream; allow on every consent page shown (the upstream's, perhaps), until the
  // browser reaches the app client's redirect_uri.
  await signIn(page, person.email, person.password);
  const consented = []; // the URLs of the consent pages answered
  for (let i = 0; i < 3; i++) {
    const allow = page.getByRole('button', { name: 'Allow' });
    const where = await Promise.race([
      page.waitForURL((url) => url.href.startsWith(redirectUri)).then(() => 'callback'),
      allow.waitFor({ state: 'visible' }).then(() => 'consent'),
    ]).catch(async (err) => {
      throw new Error(`neither the redirect_uri nor a consent page: ${err.message}\n${await describePage(page)}`);
    });
    if (where === 'callback') break;
    const consentUrl = page.url();
    consented.push(consentUrl);
    await Promise.all([page.waitForURL((url) => url.href !== consentUrl), allow.click()]);
  }
  return { socialHref, upstreamAuthorize: new URL(upstreamAuthorize), consented };
}

/** The app org's user with that email or id, via the admin API (data object). */
async function appUser(emailOrId) {
  const res = await adminApi(app, 'GET', `/admin/users/${emailOrId}`);
  assert.equal(res.status, 200, `GET ~/admin/users/${emailOrId} -> ${res.status}: ${res.text}`);
  return res.body.data;
}

const opts = { timeout: TEST_TIMEOUT_MS, skip: found.missing ?? false };

describe('social login through a second org in headless Chromium', () => {
  test('Continue with Corp SSO: upstream sign-in, provisioned user, code exchange, ID token with amr fed', opts, async () => {
    const { context, page, callbacks, visited } = await newPage();
    try {
      const req = await authorizationRequest(config, redirectUri, { scope: 'openid email' });
      await openAppLogin(page, req);
      const { socialHref, upstreamAuthorize, consented } = await throughUpstream(page, context, visited);
      // A consent page, if any, is the upstream's (the app client skips consent).
      assert.ok(consented.every((u) => u.startsWith(`${idp.issuer}/`)), consented.join('\n'));

      // What the app org asked the upstream for: its client, its callback, PKCE and a nonce.
      const up = upstreamAuthorize.searchParams;
      assert.equal(up.get('client_id'), upstreamClient.clientId, upstreamAuthorize.href);
      assert.equal(up.get('redirect_uri'), callbackUrl, upstreamAuthorize.href);
      assert.equal(up.get('response_type'), 'code', upstreamAuthorize.href);
      assert.equal(up.get('code_challenge_method'), 'S256', upstreamAuthorize.href);
      assert.ok(up.get('code_challenge'), upstreamAuthorize.href);
      assert.ok(up.get('state'), upstreamAuthorize.href);
      assert.ok(up.get('nonce'), upstreamAuthorize.href);
      assert.ok((up.get('scope') ?? '').split(' ').includes('openid'), upstreamAuthorize.href);
      assert.ok(visited().some((u) => u.startsWith(`${callbackUrl}?`)),
        `the browser came back through the app's callback: ${visited().join('\n')}`);

      // The app client's redirect_uri: code and state; openid-client checks state, iss, PKCE and
      // the ID token (signature from the app org's JWKS, iss, aud, exp, nonce).
      const { tokens, claims } = await expectCallback(page, config, redirectUri, req, callbacks);
      assert.equal(new URL(callbacks()[0]).searchParams.get('iss'), app.issuer, 'RFC 9207 iss');
      assert.ok(tokens.access_token);
      assert.equal(claims.iss, app.issuer);
      assert.deepEqual([].concat(claims.aud), [appClient.clientId]);
      assert.equal(claims.email, person.email);
      assert.equal(claims.nonce, req.nonce);
      assert.notEqual(claims.sub, person.id, 'the app org has a user of its own');

      // Signed in to the app org; the login cookie is gone.
      const cookies = await context.cookies();
      assert.ok(!cookies.some((c) => c.name === 'lumo_social'), `lumo_social cleared: ${JSON.stringify(cookies)}`);
      assert.ok(cookies.some((c) => c.name === 'lumo_session' && c.path.startsWith(`/orgs/${APP_ORG}/`)),
        `an app org session: ${JSON.stringify(cookies)}`);

      // The user exists in the app org now: provisioned just in time, linked to the provider.
      const user = await appUser(person.email);
      assert.equal(user.id, claims.sub, JSON.stringify(user));
      assert.equal(user.email, person.email, JSON.stringify(user));
      assert.equal(user.isJitProvisioned, true, JSON.stringify(user));
      assert.equal(user.socialProvider, PROVIDER, JSON.stringify(user));
      assert.equal(user.emailVerified, true, JSON.stringify(user));
      firstSignIn = { sub: claims.sub, socialHref };

      // RFC 8176 has no value for "an upstream provider vouched": `fed`, as Entra ID says.
      assert.deepEqual(claims.amr, ['fed'], `amr of a social sign-in: ${JSON.stringify(claims)}`);
    } finally {
      await context.close();
    }
  });

  test('a second sign-in from a fresh browser names the same app user', opts, async (t) => {
    if (!firstSignIn) { t.skip('the first sign-in did not pass'); return; }
    const { context, page, callbacks, visited } = await newPage();
    try {
      const req = await authorizationRequest(config, redirectUri, { scope: 'openid email' });
      await openAppLogin(page, req);
      await throughUpstream(page, context, visited);
      const { claims } = await expectCallback(page, config, redirectUri, req, callbacks);
      assert.equal(claims.iss, app.issuer);
      assert.equal(claims.sub, firstSignIn.sub);
      assert.equal(claims.email, person.email);
      assert.equal(claims.nonce, req.nonce);

      // Still one user in the app org.
      const users = await adminApi(app, 'GET', '/admin/users');
      assert.equal(users.status, 200, users.text);
      assert.deepEqual(users.body.data.map((u) => u.id), [firstSignIn.sub], users.text);
      assert.deepEqual(claims.amr, ['fed'], `amr of a social sign-in: ${JSON.stringify(claims)}`);
    } finally {
      await context.close();
    }
  });

  test('a disabled provider: no "Continue with Corp SSO" on the login page, its link refused', opts, async (t) => {
    if (!firstSignIn) { t.skip('the first sign-in did not pass'); return; }
    const disabled = await adminApi(app, 'POST', `/admin/social-providers/${PROVIDER}/disable`, {});
    assert.equal(disabled.status, 200, disabled.text);

    const { context, page, callbacks } = await newPage();
    try {
      const req = await authorizationRequest(config, redirectUri, { scope: 'openid email' });
      await openAppLogin(page, req);
      await page.locator('input[name="password"]').waitFor();
      assert.equal(await page.getByRole('link', { name: LINK_TEXT }).count(), 0, await describePage(page));
      assert.equal(await page.locator('a.social-sign-in').count(), 0, await describePage(page));
      assert.ok(!(await page.content()).includes(LINK_TEXT), await describePage(page));

      // The link the page offered before now leads back to the login form with an error.
      await page.goto(new URL(firstSignIn.socialHref, server.base).href);
      await page.locator('input[name="password"]').waitFor();
      assert.ok(page.url().startsWith(`${app.issuer}/`), page.url());
      assert.match(page.url(), /login_error=social_unavailable/);
      const alert = page.getByRole('alert');
      await alert.waitFor({ state: 'visible' });
      assert.match(await alert.innerText(), /not available/i);
      assert.ok(!(await context.cookies()).some((c) => c.name === 'lumo_social'), 'no login cookie');
      assert.deepEqual(callbacks(), [], 'no request to the redirect_uri');
    } finally {
      await context.close();
    }
  });
});
