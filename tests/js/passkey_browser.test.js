// Passkeys (WebAuthn) in a real headless Chromium (Debian's package, driven by playwright-core)
// with a CDP virtual authenticator (CTAP2, internal, resident keys, user verification). A user
// enrolls a passkey through the self-service API (`~/me/authenticators/passkey/enroll`, then
// `navigator.credentials.create`, then `~/me/authenticators/passkey:pending/verify`), signs in
// with password + passkey on the hosted two-step page, and, once the org allows passwordless
// passkey sign-in, with the passkey alone from the login page's "Sign in with a passkey" link.
// Last, with a policy that takes nothing weaker than a passkey at sign-in (`min_tier_login: 1`),
// a new user without a factor creates a passkey on the two-step page and signs in with it.
// openid-client exchanges every code and validates the ID token (acr/amr).
//
// WebAuthn binds a credential to the origin the browser uses and its host is the RP id; an IP
// address has none, so the browser (and the openid-client issuer, to stay on one origin) use
// http://localhost:PORT while lumod listens on 127.0.0.1. The enroll call is made from inside a
// page of that origin (the server takes the ceremony's origin from the Host header), on a JSON
// document without the hosted pages' CSP.
//
// The tests run in order and share one lumod, one client, one user and one browser page with
// its virtual authenticator (the later tests use the passkey the enrollment test created).
// Chromium: $CHROMIUM_PATH, /usr/bin/chromium or /usr/bin/chromium-browser; when none exists
// the tests are skipped with a message saying so.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import * as client from 'openid-client';
import { authorizationRequest, expectCallback } from './authorization.js';

import { adminApi, createClient, createUser, HTTP_TIMEOUT_MS, startLumod } from './lumod.js';
import {
  ACTION_TIMEOUT_MS, findChromium, launchChromium, newContext, closeWithin, startCallbackServer,
  stopCallbackServer,
} from './chromium.js';

const TEST_TIMEOUT_MS = 90_000;

const ACR_MFA = 'urn:lumo:acr:mfa';

const found = findChromium();

let server;
let localIssuer;    // the issuer as the browser reaches it: http://localhost:PORT/orgs/ORG/api/v1
let browser;
let context;
let page;           // the one page, with the virtual authenticator
let cdp;            // its CDP session
let authenticatorId; // the virtual authenticator's id
let callbackServer; // {server, requests: [url...]}
let redirectUri;
let config;         // openid-client Configuration for the (confidential, no consent) client
let user;
let enrolled;       // {authenticatorId, credentialId}: set once the enrollment test passed

before(async () => {
  if (found.missing) return;
  server = await startLumod();
  localIssuer = server.issuer.replace(/^http:\/\/127\.0\.0\.1:/, 'http://localhost:');
  assert.notEqual(localIssuer, server.issuer, `lumod is on 127.0.0.1 (${server.issuer})`);

  callbackServer = await startCallbackServer();
  redirectUri = `${callbackServer.origin}/callback`;
  const app = await createClient(server, {
    name: 'Passkey App',
    redirectUris: [redirectUri],
    grantTypes: ['authorization_code', 'refresh_token'],
    isConfidential: true,
    skipConsent: true,
  });
  // Discovery through localhost: the authorization URL, the issuer and the ID tokens' iss all
  // name the origin the browser (and so WebAuthn) uses.
  config = await client.discovery(new URL(localIssuer), app.clientId, app.secret, undefined, {
    execute: [client.allowInsecureRequests],
    timeout: HTTP_TIMEOUT_MS / 1000,
  });
  assert.equal(config.serverMetadata().issuer, localIssuer);
  user = await createUser(server, { name: 'Grace Hopper' });

  browser = await launchChromium(found.path);
  context = await newContext(browser);
  page = await context.newPage();
  cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  }));
});

after(async () => {
  await closeWithin(context);
  await closeWithin(browser);
  await stopCallbackServer(callbackServer);
  if (server) {
    const { code, signal, stderr } = await server.stop();
    assert.equal(code, 0, `lumod exited with ${code} (signal ${signal}) after SIGTERM; stderr:\n${stderr}`);
  }
});

// --- helpers -----------------------------------------------------------------------------------

/** `promise`, or an error naming `what` after `ms` (page.evaluate has no timeout of its own). */
async function within(promise, what, ms = ACTION_TIMEOUT_MS) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish in ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The credentials the virtual authenticator holds. */
async function storedCredentials() {
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  return credentials;
}

/**
 * Signs the browser out (all cookies gone) and opens `req`'s authorization URL: the login page.
 * Returns `callbacks()` (the redirect_uri's requests from now on) and `visited()` (the lumod
 * pages the browser requested from now on).
 */
async function openLogin(req) {
  await context.clearCookies();
  const seen = callbackServer.requests.length;
  const requested = [];
  const onRequest = (r) => { if (r.url().startsWith(localIssuer)) requested.push(new URL(r.url()).pathname); };
  page.on('request', onRequest);
  const response = await page.goto(req.url.href);
  assert.equal(response.status(), 200);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  return {
    callbacks: () => callbackServer.requests.slice(seen),
    visited: () => requested.map((p) => p.slice(new URL(localIssuer).pathname.length)),
    done: () => page.off('request', onRequest),
  };
}

/** Fills the hosted login form by its labels (as `who`, the suite's user unless given) and submits it. */
async function submitPassword(who = user) {
  await page.getByLabel('Email', { exact: true }).fill(who.email);
  await page.getByLabel('Password', { exact: true }).fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** The callback's tokens and ID token claims, checked to be `who`'s (the suite's user unless given), from `localIssuer`. */
async function userCallback(req, callbacks, who = user) {
  const { tokens, claims } = await expectCallback(page, config, redirectUri, req, callbacks);
  assert.equal(claims.iss, localIssuer);
  assert.equal(claims.sub, who.id);
  assert.equal(claims.email, who.email);
  return { tokens, claims };
}

function assertAmr(claims, includes, excludes = []) {
  assert.ok(Array.isArray(claims.amr), JSON.stringify(claims));
  for (const method of includes) {
    assert.ok(claims.amr.includes(method), `amr ${JSON.stringify(claims.amr)} includes ${method}`);
  }
  for (const method of excludes) {
    assert.ok(!claims.amr.includes(method), `amr ${JSON.stringify(claims.amr)} lacks ${method}`);
  }
}

/**
 * In the page (origin http://localhost:PORT, no CSP): enrolls a passkey with the user's access
 * token, creates the credential with the virtual authenticator and verifies it. Returns what
 * each step answered: {enroll, created | createError, verify}.
 */
function enrollInPage(accessToken) {
  return page.evaluate(async ({ base, accessToken, timeoutMs }) => {
    const b64 = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)))
      .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    const bytes = (text) => {
      let s = text.replace(/-/g, '+').replace(/_/g, '/');
      while (s.length % 4) s += '=';
      return Uint8Array.from(atob(s), (c) => c.charCodeAt(0)).buffer;
    };
    const call = async (path, body) => {
      const res = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${accessToken}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      let json;
      try { json = JSON.parse(text); } catch { json = undefined; }
      return { status: res.status, body: json, text };
    };

    const enroll = await call('/me/authenticators/passkey/enroll', {});
    if (enroll.status !== 201) return { enroll };
    const publicKey = structuredClone(enroll.body.public_key);
    publicKey.challenge = bytes(publicKey.challenge);
    publicKey.user = { ...publicKey.user, id: bytes(publicKey.user.id) };
    if (publicKey.excludeCredentials) {
      publicKey.excludeCredentials = publicKey.excludeCredentials.map((c) => ({ ...c, id: bytes(c.id) }));
    }
    let credential;
    try {
      credential = await navigator.credentials.create({ publicKey, signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      return { enroll, createError: `${e.name}: ${e.message}` };
    }
    const created = {
      id: credential.id,
      rawId: b64(credential.rawId),
      type: credential.type,
      extensions: credential.getClientExtensionResults(),
      response: {
        attestationObject: b64(credential.response.attestationObject),
        clientDataJSON: b64(credential.response.clientDataJSON),
      },
    };
    const verify = await call('/me/authenticators/passkey:pending/verify', { credential: created });
    return { enroll, created, verify };
  }, { base: localIssuer, accessToken, timeoutMs: HTTP_TIMEOUT_MS });
}

/** GET `path` of the API from the page with the access token: {status, body}. */
function getInPage(path, accessToken) {
  return page.evaluate(async ({ url, accessToken, timeoutMs }) => {
    const res = await fetch(url, {
      headers: { Authorization: `Bearer ${accessToken}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let json;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: res.status, body: json, text };
  }, { url: `${localIssuer}${path}`, accessToken, timeoutMs: HTTP_TIMEOUT_MS });
}

const opts = { timeout: TEST_TIMEOUT_MS, skip: found.missing ?? false };

describe('passkeys (WebAuthn) in headless Chromium with a virtual authenticator', () => {
  test('passwordless off: no passkey link on the login page, and the passkey page sends the browser back to it', opts, async () => {
    const policy = await adminApi(server, 'GET', '/admin/policies/mfa');
    assert.equal(policy.status, 200, policy.text);
    assert.equal(policy.body.data.passwordless_passkey, false, policy.text);

    const req = await authorizationRequest(config, redirectUri);
    const { callbacks, done } = await openLogin(req);
    try {
      assert.equal(await page.locator('#passkey-sign-in').count(), 0, 'no "Sign in with a passkey" link');
      assert.equal(await page.getByRole('link', { name: 'Sign in with a passkey' }).count(), 0);

      // The passkey page itself (carrying the authorization request, as the link would): back to
      // the login form, which says why.
      const passkeyPage = `${localIssuer}/oauth/login/passkey${req.url.search}`;
      await page.goto(passkeyPage);
      await page.waitForURL((url) => url.pathname.endsWith('/oauth/authorize') &&
        url.searchParams.get('login_error') === 'passkey_unavailable');
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      const alert = page.getByRole('alert');
      await alert.waitFor();
      assert.match(await alert.innerText(), /^Passkey sign-in is not available/);
      assert.equal(await page.locator('#passkey-sign-in').count(), 0);
      assert.ok(!(await context.cookies()).some((c) => c.name === 'lumo_session'), 'not signed in');
      assert.deepEqual(callbacks(), []);
    } finally {
      done();
    }
  });

  test('enroll a passkey through the self-service API from a localhost page', opts, async () => {
    assert.equal((await storedCredentials()).length, 0, 'the virtual authenticator starts empty');

    // A fresh user token: the password alone (no factor yet, MFA optional).
    const req = await authorizationRequest(config, redirectUri);
    const { callbacks, visited, done } = await openLogin(req);
    let tokens;
    try {
      await submitPassword();
      let claims;
      ({ tokens, claims } = await userCallback(req, callbacks));
      assertAmr(claims, ['pwd'], ['hwk']);
      assert.ok(!visited().some((p) => p.startsWith('/oauth/login/mfa')), visited().join(' '));
    } finally {
      done();
    }

    // A page of the browser's origin without the hosted pages' CSP: the discovery document.
    const response = await page.goto(`${localIssuer}/.well-known/openid-configuration`);
    assert.equal(response.status(), 200);
    assert.equal(response.headers()['content-security-policy'], undefined, 'no CSP on the JSON document');
    const result = await within(enrollInPage(tokens.access_token), 'enroll + create + verify');

    const { enroll } = result;
    assert.equal(enroll.status, 201, enroll.text);
    assert.equal(enroll.body.id, 'passkey:pending', enroll.text);
    assert.equal(enroll.body.state, 'pending', enroll.text);
    assert.match(enroll.body.authenticator_id, /^mfa_/, enroll.text);
    const options = enroll.body.public_key;
    assert.equal(options.rp.id, 'localhost', enroll.text);
    assert.equal(options.user.name, user.email, enroll.text);
    assert.match(options.challenge, /^[A-Za-z0-9_-]{16,}$/, enroll.text);
    assert.match(options.user.id, /^[A-Za-z0-9_-]+$/, enroll.text);
    assert.ok(options.pubKeyCredParams.length > 0, enroll.text);
    assert.equal(result.createError, undefined, `navigator.credentials.create: ${result.createError}`);

    const { verify } = result;
    assert.equal(verify.status, 200, `verify: ${verify.text}`);
    assert.equal(verify.body.id, enroll.body.authenticator_id, verify.text);
    assert.equal(verify.body.type, 'passkey', verify.text);
    assert.equal(verify.body.state, 'active', verify.text);
    assert.ok(verify.body.activated_at, verify.text);

    // The authenticator holds one discoverable credential for localhost, the one created.
    const credentials = await storedCredentials();
    assert.equal(credentials.length, 1, JSON.stringify(credentials));
    assert.equal(credentials[0].rpId, 'localhost');
    assert.equal(credentials[0].isResidentCredential, true, 'a discoverable credential');
    assert.equal(Buffer.from(credentials[0].credentialId, 'base64').toString('base64url'), result.created.id);

    // The user's factors now list the passkey, active.
    const mine = await within(getInPage('/me/authenticators', tokens.access_token), 'GET /me/authenticators');
    assert.equal(mine.status, 200, mine.text);
    const passkey = mine.body.authenticators.find((a) => a.id === verify.body.id);
    assert.ok(passkey, mine.text);
    assert.equal(passkey.type, 'passkey');
    assert.equal(passkey.state, 'active');
    enrolled = { authenticatorId: verify.body.id, credentialId: result.created.id };
  });

  test('password, then the passkey on the two-step page: acr mfa, amr hwk + pwd', opts, async () => {
    assert.ok(enrolled, 'the previous test enrolled a passkey');
    const before = (await storedCredentials())[0].signCount;
    const req = await authorizationRequest(config, redirectUri);
    const { callbacks, visited, done } = await openLogin(req);
    try {
      await submitPassword();
      await page.getByRole('heading', { name: 'Two-step verification' }).waitFor();
      assert.ok(page.url().startsWith(`${localIssuer}/oauth/login/mfa`), page.url());
      const body = await page.locator('body').innerText();
      assert.ok(body.includes(user.email), 'the page says who is signing in');
      const use = page.locator('#use-passkey');
      assert.equal((await use.innerText()).trim(), 'Use your passkey');
      assert.equal(await page.locator('#totp-secret').count(), 0, 'no authenticator-app enrollment');
      assert.ok(!(await context.cookies()).some((c) => c.name === 'lumo_session'), 'no session before the passkey');
      assert.deepEqual(callbacks(), [], 'no redirect before the passkey');

      // The virtual authenticator answers at once; the form posts the assertion.
      await use.click();
      const { claims } = await userCallback(req, callbacks);
      assert.equal(claims.acr, ACR_MFA, JSON.stringify(claims));
      assertAmr(claims, ['hwk', 'pwd', 'mfa']);
      assert.ok(visited().includes('/oauth/login/mfa'), visited().join(' '));
      assert.ok((await context.cookies()).some((c) => c.name === 'lumo_session'), 'session cookie after the passkey');
    } finally {
      done();
    }
    const after = (await storedCredentials())[0].signCount;
    assert.ok(after > before, `the passkey signed (sign count ${before} -> ${after})`);
  });

  test('passwordless on: "Sign in with a passkey" signs in with the passkey alone, amr hwk + user, no pwd', opts, async () => {
    assert.ok(enrolled, 'an earlier test enrolled a passkey');
    const policy = await adminApi(server, 'PUT', '/admin/policies/mfa', { passwordless_passkey: true });
    assert.equal(policy.status, 200, policy.text);
    assert.equal(policy.body.data.passwordless_passkey, true, policy.text);
    assert.equal(policy.body.data.requirement, 'optional', 'a partial update leaves the rest');

    const req = await authorizationRequest(config, redirectUri);
    const { callbacks, visited, done } = await openLogin(req);
    try {
      const link = page.locator('#passkey-sign-in');
      await link.waitFor();
      assert.equal((await link.innerText()).trim(), 'Sign in with a passkey');
      const href = new URL(await link.getAttribute('href'), page.url());
      assert.equal(href.pathname, new URL(`${localIssuer}/oauth/passkey-login`).pathname);
      assert.equal(href.searchParams.get('state'), req.state, 'the link carries the authorization request');

      // passkey-login -> login/passkey, which asks for a passkey at once and posts the assertion.
      await link.click();
      const { claims } = await userCallback(req, callbacks);
      assertAmr(claims, ['hwk', 'user'], ['pwd']);
      assert.equal(claims.acr, ACR_MFA, JSON.stringify(claims));
      const pages = visited();
      assert.ok(pages.includes('/oauth/passkey-login'), pages.join(' '));
      assert.ok(pages.includes('/oauth/login/passkey'), pages.join(' '));
      assert.ok(!pages.includes('/oauth/login/submit'), `no password form post: ${pages.join(' ')}`);
      assert.ok(!pages.includes('/oauth/login/mfa'), `no two-step page: ${pages.join(' ')}`);
      assert.ok((await context.cookies()).some((c) => c.name === 'lumo_session'), 'session cookie after the passkey');
      console.log(`# passwordless sign-in: acr=${claims.acr} amr=${JSON.stringify(claims.amr)}`);
    } finally {
      done();
    }
  });

  // Last: it changes the org's policy (restored at the end) and adds a credential to the
  // virtual authenticator.
  test('passkeys only at sign-in (min_tier_login 1): a user without one creates a passkey on the two-step page', opts, async () => {
    // A new user, without any factor (the suite's user already has a passkey).
    const newcomer = await createUser(server, { name: 'Ada Lovelace' });
    const credentialsBefore = await storedCredentials();
    const policy = await adminApi(server, 'PUT', '/admin/policies/mfa',
      { requirement: 'required', grace_period_days: 0, min_tier_login: 1 });
    assert.equal(policy.status, 200, policy.text);
    try {
      assert.equal(policy.body.data.requirement, 'required', policy.text);
      assert.equal(policy.body.data.grace_period_days, 0, policy.text);
      assert.equal(policy.body.data.min_tier_login, 1, policy.text);

      const req = await authorizationRequest(config, redirectUri);
      const { callbacks, visited, done } = await openLogin(req); // clears the browser's cookies
      let tokens;
      let options;
      try {
        await submitPassword(newcomer);
        await page.getByRole('heading', { name: 'Two-step verification' }).waitFor();
        assert.ok(page.url().startsWith(`${localIssuer}/oauth/login/mfa`), page.url());
        const body = await page.locator('body').innerText();
        assert.ok(body.includes(newcomer.email), 'the page says who is signing in');
        assert.match(body, /requires a passkey to sign in/, body);

        const create = page.locator('#create-passkey');
        await create.waitFor();
        assert.equal((await create.innerText()).trim(), 'Create a passkey');
        assert.equal(await page.locator('input[name="code"]').count(), 0, 'no code input');
        assert.equal(await page.locator('#totp-secret').count(), 0, 'no authenticator-app enrollment');
        assert.equal(await page.locator('#use-passkey').count(), 0, 'no passkey to use yet');
        assert.ok(!(await context.cookies()).some((c) => c.name === 'lumo_session'), 'no session before the passkey');
        assert.deepEqual(callbacks(), [], 'no redirect before the passkey');

        // The creation options the page hands to navigator.credentials.create.
        const form = page.locator('#passkey-form');
        const raw = await form.getAttribute('data-options');
        options = JSON.parse(raw);
        assert.equal(options.rp.id, 'localhost', raw);
        assert.equal(options.user.name, newcomer.email, raw);
        assert.match(options.challenge, /^[A-Za-z0-9_-]{16,}$/, raw);
        assert.match(options.user.id, /^[A-Za-z0-9_-]+$/, raw);
        assert.ok(options.pubKeyCredParams.length > 0, raw);

        // The virtual authenticator creates the credential at once; the form posts the attestation.
        await create.click();
        let claims;
        ({ tokens, claims } = await userCallback(req, callbacks, newcomer));
        assert.equal(claims.acr, ACR_MFA, JSON.stringify(claims));
        assertAmr(claims, ['hwk', 'pwd']);
        assert.ok(visited().includes('/oauth/login/mfa'), visited().join(' '));
        assert.ok((await context.cookies()).some((c) => c.name === 'lumo_session'), 'session cookie after the passkey');
        console.log(`# passkey created at sign-in: acr=${claims.acr} amr=${JSON.stringify(claims.amr)}`);
      } finally {
        done();
      }

      // The authenticator holds one more credential: the newcomer's, for localhost.
      const credentials = await storedCredentials();
      assert.equal(credentials.length, credentialsBefore.length + 1, JSON.stringify(credentials));
      const known = new Set(credentialsBefore.map((c) => c.credentialId));
      const created = credentials.filter((c) => !known.has(c.credentialId));
      assert.equal(created.length, 1, JSON.stringify(credentials));
      assert.equal(created[0].rpId, 'localhost');
      assert.equal(Buffer.from(created[0].userHandle, 'base64').toString('base64url'), options.user.id,
        'the credential is for the user of the creation options');

      // The newcomer's factors now list an active passkey, that credential.
      await page.goto(`${localIssuer}/.well-known/openid-configuration`);
      const mine = await within(getInPage('/me/authenticators', tokens.access_token), 'GET /me/authenticators');
      assert.equal(mine.status, 200, mine.text);
      const passkeys = mine.body.authenticators.filter((a) => a.type === 'passkey');
      assert.equal(passkeys.length, 1, mine.text);
      assert.equal(passkeys[0].state, 'active', mine.text);
    } finally {
      const restored = await adminApi(server, 'PUT', '/admin/policies/mfa',
        { requirement: 'optional', min_tier_login: 4 });
      assert.equal(restored.status, 200, restored.text);
    }
  });
});
