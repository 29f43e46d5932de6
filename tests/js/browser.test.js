// The hosted login and consent pages in a real headless Chromium (Debian's package, driven by
// playwright-core): a person types an email and password, clicks "Allow", and the browser is
// sent to the client's redirect_uri with a code that openid-client exchanges and validates.
//
// The redirect_uri is served by a tiny HTTP server on 127.0.0.1 (ephemeral port) that records
// every request. (page.route() cannot stand in for it: Playwright calls route handlers only for
// the first URL of a redirect chain, and the authorization server answers the consent form with a
// 303 to the redirect_uri, which Chromium then follows natively.) Chromium: $CHROMIUM_PATH,
// /usr/bin/chromium or /usr/bin/chromium-browser; when none exists the tests are skipped with a
// message saying so.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import * as client from 'openid-client';
import { authorizationRequest } from './authorization.js';

import { createClient, createUser, HTTP_TIMEOUT_MS, startLumod } from './lumod.js';
import { findChromium, launchChromium, newContext, closeWithin, startCallbackServer, stopCallbackServer } from './chromium.js';

const TEST_TIMEOUT_MS = 90_000;

const found = findChromium();

let server;
let browser;
let callbackServer; // {server, requests: [url...]}
let redirectUri;
let app;      // confidential client, consent required
let config;   // openid-client Configuration for `app`

before(async () => {
  if (found.missing) return;
  server = await startLumod();
  callbackServer = await startCallbackServer();
  redirectUri = `${callbackServer.origin}/callback`;
  app = await createClient(server, {
    name: 'Browser App',
    redirectUris: [redirectUri],
    grantTypes: ['authorization_code', 'refresh_token'],
    isConfidential: true,
    skipConsent: false,
  });
  assert.equal(app.isConfidential, true);
  assert.equal(typeof app.secret, 'string');
  config = await client.discovery(new URL(server.issuer), app.clientId, app.secret, undefined, {
    execute: [client.allowInsecureRequests],
    timeout: HTTP_TIMEOUT_MS / 1000,
  });
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

/**
 * A fresh browser context (no cookies) and page; `callbacks()` lists the requests the
 * redirect_uri received since then.
 */
async function newPage() {
  const context = await newContext(browser);
  const page = await context.newPage();
  const seen = callbackServer.requests.length;
  return { context, page, callbacks: () => callbackServer.requests.slice(seen) };
}

/** Fills the hosted login form by its labels and checks the fields' names. */
async function signIn(page, email, password) {
  const emailField = page.getByLabel('Email', { exact: true });
  const passwordField = page.getByLabel('Password', { exact: true });
  assert.equal(await emailField.getAttribute('name'), 'email');
  assert.equal(await passwordField.getAttribute('name'), 'password');
  assert.equal(await passwordField.getAttribute('type'), 'password');
  await emailField.fill(email);
  await passwordField.fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

const opts = { timeout: TEST_TIMEOUT_MS, skip: found.missing ?? false };

describe('hosted pages in headless Chromium', () => {
  test('sign in, allow, redirect with code/state/iss, code exchange and ID token', opts, async () => {
    const user = await createUser(server, { name: 'Grace Hopper' });
    const { context, page, callbacks } = await newPage();
    try {
      const req = await authorizationRequest(config, redirectUri);
      const authorizationEndpoint = config.serverMetadata().authorization_endpoint;

      // The login page.
      const response = await page.goto(req.url.href);
      assert.equal(response.status(), 200);
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      await signIn(page, user.email, user.password);

      // The consent page names the client and the requested scopes.
      await page.getByRole('heading', { name: /Browser App wants to access your account/ }).waitFor();
      assert.ok(page.url().startsWith(authorizationEndpoint), page.url());
      const body = await page.locator('body').innerText();
      assert.ok(body.includes(user.email), 'consent page shows who is signed in');
      for (const scope of ['openid', 'profile', 'email']) {
        assert.ok(await page.locator('ul.scopes li', { hasText: scope }).count() >= 1, `scope ${scope} listed`);
      }
      const session = (await context.cookies()).find((c) => c.name === 'lumo_session');
      assert.ok(session, 'lumo_session cookie set after sign-in');
      assert.equal(session.httpOnly, true, 'session cookie is HttpOnly');
      assert.deepEqual(callbacks(), [], 'no redirect before consent');

      // Allow: the browser lands on the redirect_uri.
      await Promise.all([
        page.waitForURL((url) => url.href.startsWith(redirectUri)),
        page.getByRole('button', { name: 'Allow' }).click(),
      ]);
      await page.locator('#callback').waitFor();
      assert.equal(callbacks().length, 1, callbacks().join('\n'));
      const callback = new URL(callbacks()[0]);
      assert.equal(callback.origin + callback.pathname, redirectUri);
      assert.ok(callback.searchParams.get('code'), `code in ${callback.href}`);
      assert.equal(callback.searchParams.get('state'), req.state);
      assert.equal(callback.searchParams.get('iss'), server.issuer, 'RFC 9207 iss');
      assert.equal(callback.searchParams.get('error'), null);
      assert.equal(page.url(), callback.href);

      // openid-client: state and iss checks, code exchange with the PKCE verifier, ID token
      // signature (JWKS), iss, aud, exp, iat and nonce.
      const tokens = await client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: req.pkceCodeVerifier, expectedState: req.state, expectedNonce: req.nonce,
      });
      assert.ok(tokens.access_token);
      assert.ok(tokens.id_token);
      const claims = tokens.claims();
      assert.equal(claims.iss, server.issuer);
      assert.equal(claims.sub, user.id);
      assert.deepEqual([].concat(claims.aud), [app.clientId]);
      assert.equal(claims.nonce, req.nonce);
      assert.equal(claims.email, user.email);
      assert.equal(claims.name, user.name);
      assert.ok(Math.abs(claims.auth_time - Date.now() / 1000) < 120, `auth_time ${claims.auth_time}`);

      const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
      assert.equal(info.email, user.email);
    } finally {
      await context.close();
    }
  });

  test('wrong password: visible error on the login page, no session, no redirect', opts, async () => {
    // A user of its own: consent given by another user's test must not skip the consent page.
    const user = await createUser(server, { name: 'Alan Turing' });
    const { context, page, callbacks } = await newPage();
    try {
      const req = await authorizationRequest(config, redirectUri);
      await page.goto(req.url.href);
      await signIn(page, user.email, 'definitely-not-the-password');

      const alert = page.getByRole('alert');
      await alert.waitFor({ state: 'visible' });
      assert.match(await alert.innerText(), /email or password is incorrect/i);
      assert.equal(await page.getByText('The email or password is incorrect.').isVisible(), true);
      // Still the login page, on the authorization server, with no session.
      await page.getByLabel('Password', { exact: true }).waitFor();
      assert.ok(page.url().startsWith(server.issuer + '/'), page.url());
      assert.ok(!(await context.cookies()).some((c) => c.name === 'lumo_session'), 'no session cookie');
      assert.deepEqual(callbacks(), [], 'no request to the redirect_uri');

      // The same page still works: the right password leads to the consent page.
      await signIn(page, user.email, user.password);
      await page.getByRole('button', { name: 'Allow' }).waitFor();
      assert.deepEqual(callbacks(), []);
    } finally {
      await context.close();
    }
  });
});
