// The hosted sign-in's two-step verification (TOTP) in a real headless Chromium (Debian's
// package, driven by playwright-core). The org's MFA policy requires a second factor, so after the
// password a new user enrolls an authenticator app on `~/oauth/login/mfa` (QR code and key),
// types a code computed here (RFC 6238), and the browser continues to the client's redirect_uri;
// openid-client exchanges the code and validates the ID token (acr/amr). Signing in again asks
// for a code only, and a device trusted there skips the code on the next sign-in.
//
// The tests run in order and share one lumod, one client and one user (the second test signs in
// with the authenticator the first one enrolled). Every TOTP time step is accepted once per
// authenticator, so codes are taken from increasing steps (see freshCode). Chromium:
// $CHROMIUM_PATH, /usr/bin/chromium or /usr/bin/chromium-browser; when none exists the tests are
// skipped with a message saying so.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';

import * as client from 'openid-client';
import { authorizationRequest, expectCallback } from './authorization.js';

import { adminApi, createClient, createUser, delay, HTTP_TIMEOUT_MS, startLumod } from './lumod.js';
import { findChromium, launchChromium, newContext, closeWithin, startCallbackServer, stopCallbackServer } from './chromium.js';

const TEST_TIMEOUT_MS = 120_000;    // a code may have to wait for the next 30 s TOTP step

const ACR_MFA = 'urn:lumo:acr:mfa';
const ACR_PASSWORD = 'urn:lumo:acr:pwd';

const found = findChromium();

let server;
let browser;
let callbackServer; // {server, requests: [url...]}
let redirectUri;
let config;         // openid-client Configuration for the (confidential, no consent) client
let enrolled;       // {user, key}: set once the first test has enrolled the user's app

before(async () => {
  if (found.missing) return;
  server = await startLumod();
  // Every user of this lumod's org must use a second factor, from now on.
  const policy = await adminApi(server, 'PUT', '/admin/policies/mfa', { requirement: 'required', grace_period_days: 0 });
  assert.equal(policy.status, 200, policy.text);
  assert.equal(policy.body.data.requirement, 'required', policy.text);
  assert.equal(policy.body.data.trusted_device_days, 30, policy.text);

  callbackServer = await startCallbackServer();
  redirectUri = `${callbackServer.origin}/callback`;
  const app = await createClient(server, {
    name: 'MFA App',
    redirectUris: [redirectUri],
    grantTypes: ['authorization_code', 'refresh_token'],
    isConfidential: true,
    skipConsent: true,
  });
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

// --- TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30 s steps) ------------------------------------------

/** The bytes of an RFC 4648 base32 key ("ABCD EFGH ...": spaces and padding ignored). */
function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of text.replace(/[\s=]/g, '').toUpperCase()) {
    const index = alphabet.indexOf(ch);
    if (index < 0) throw new Error(`not base32: ${JSON.stringify(text)}`);
    value = ((value << 5) | index) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** The 6-digit code of time step `step` for `key` (RFC 4226 dynamic truncation). */
function totp(key, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

let lastStep = -Infinity; // the newest step whose code was sent (each step counts once)

/**
 * A code from a step the server accepts (current-1, current, current+1) that no earlier code
 * used: the lowest such step (current-1 only while the current step has more than 3 s left),
 * waiting for the next step when all three are spent.
 */
async function freshCode(key) {
  for (;;) {
    const now = Date.now() / 1000;
    const current = Math.floor(now / 30);
    const left = 30 - (now % 30);
    const lowest = left > 3 ? current - 1 : current;
    const step = Math.max(lowest, lastStep + 1);
    if (step <= current + 1) {
      lastStep = step;
      return totp(key, step);
    }
    await delay(Math.ceil(left * 1000) + 250);
  }
}

// --- browser helpers ---------------------------------------------------------------------------

/**
 * A fresh browser context (no cookies) and page; `callbacks()` lists the requests the
 * redirect_uri received since then, `mfaPages()` the second-factor pages the page requested.
 */
async function newPage() {
  const context = await newContext(browser);
  const page = await context.newPage();
  const mfaRequests = [];
  page.on('request', (r) => { if (r.url().includes('/oauth/login/mfa')) mfaRequests.push(r.url()); });
  const seen = callbackServer.requests.length;
  return { context, page, callbacks: () => callbackServer.requests.slice(seen), mfaPages: () => mfaRequests };
}

/** Opens `req`'s authorization URL and fills the hosted login form by its labels. */
async function signIn(page, req, user) {
  const response = await page.goto(req.url.href);
  assert.equal(response.status(), 200);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('Email', { exact: true }).fill(user.email);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** The callback's ID token claims, checked to be `user`'s. */
async function userClaims(page, req, callbacks, user) {
  const { claims } = await expectCallback(page, config, redirectUri, req, callbacks);
  assert.equal(claims.sub, user.id);
  assert.equal(claims.email, user.email);
  return claims;
}

/** The ID token says a second factor was used: acr mfa, amr pwd + otp + mfa. */
function assertMfaClaims(claims) {
  assert.equal(claims.acr, ACR_MFA, JSON.stringify(claims));
  assert.ok(Array.isArray(claims.amr), JSON.stringify(claims));
  for (const method of ['pwd', 'otp', 'mfa']) {
    assert.ok(claims.amr.includes(method), `amr ${JSON.stringify(claims.amr)} includes ${method}`);
  }
}

const opts = { timeout: TEST_TIMEOUT_MS, skip: found.missing ?? false };

describe('hosted two-step verification (TOTP) in headless Chromium', () => {
  test('MFA required: enroll an authenticator app on the page, a wrong code, the right code, acr mfa', opts, async () => {
    const user = await createUser(server, { name: 'Katherine Johnson' });
    const { context, page, callbacks } = await newPage();
    try {
      const req = await authorizationRequest(config, redirectUri);
      await signIn(page, req, user);

      // The password was right, but the org requires a second factor the user does not have yet.
      await page.getByRole('heading', { name: 'Two-step verification' }).waitFor();
      assert.ok(page.url().startsWith(`${server.issuer}/oauth/login/mfa`), page.url());
      assert.match(await page.title(), /^Two-step verification/);
      const body = await page.locator('body').innerText();
      assert.ok(body.includes('requires a second factor'), body);
      assert.ok(body.includes(user.email), 'the page says who is signing in');
      assert.ok(!(await context.cookies()).some((c) => c.name === 'lumo_session'), 'no session before the code');
      assert.deepEqual(callbacks(), [], 'no redirect before the code');

      // The QR code (an SVG data URI), the key, the pending authenticator.
      const qr = page.getByRole('img', { name: /QR code/ });
      const src = await qr.getAttribute('src');
      assert.ok(src.startsWith('data:image/svg+xml'), src.slice(0, 60));
      assert.match(Buffer.from(src.slice(src.indexOf(',') + 1), 'base64').toString('utf8'), /<svg\b/);
      const grouped = (await page.locator('#totp-secret').innerText()).trim();
      assert.match(grouped, /^[A-Z2-7]{4}( [A-Z2-7]{1,4})+$/, grouped);
      const key = base32Decode(grouped);
      assert.ok(key.length >= 10, `a ${key.length}-byte key`);
      const authenticatorId = await page.locator('input[type="hidden"][name="authenticator_id"]').getAttribute('value');
      assert.ok(authenticatorId, 'hidden authenticator_id');
      const codeField = page.getByLabel('6-digit code', { exact: true });
      assert.equal(await codeField.getAttribute('id'), 'code');
      assert.equal(await codeField.getAttribute('name'), 'code');

      // A wrong code (from a step an hour away): the page again, same key, attempts left.
      const step = Math.floor(Date.now() / 30_000);
      const nearby = [step - 1, step, step + 1].map((s) => totp(key, s));
      let far = step + 120;
      while (nearby.includes(totp(key, far))) far += 1;
      await codeField.fill(totp(key, far));
      const [wrong] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && r.url().includes('/oauth/login/mfa')),
        page.getByRole('button', { name: 'Verify' }).click(),
      ]);
      assert.equal(wrong.status(), 400);
      const alert = page.getByRole('alert');
      await alert.waitFor();
      assert.match(await alert.innerText(), /That code is not right\. \d+ attempts? left\./);
      assert.equal((await page.locator('#totp-secret').innerText()).trim(), grouped, 'the same key');
      assert.equal(await page.locator('input[name="authenticator_id"]').getAttribute('value'), authenticatorId);
      assert.deepEqual(callbacks(), []);

      // The right code: signed in, on to the redirect_uri with a code.
      await page.getByLabel('6-digit code', { exact: true }).fill(await freshCode(key));
      await page.getByRole('button', { name: 'Verify' }).click();
      const claims = await userClaims(page, req, callbacks, user);
      assertMfaClaims(claims);
      const cookies = await context.cookies();
      assert.ok(cookies.some((c) => c.name === 'lumo_session'), 'session cookie after the code');
      assert.ok(!cookies.some((c) => c.name === 'lumo_device'), 'no trusted device unless asked');
      enrolled = { user, key };
    } finally {
      await context.close();
    }
  });

  test('signing in again asks for the code; a trusted device skips it next time', opts, async () => {
    assert.ok(enrolled, 'the previous test enrolled the user\'s authenticator app');
    const { user, key } = enrolled;
    const { context, page, callbacks, mfaPages } = await newPage();
    try {
      // A new browser: password, then the code from the app (no QR code this time).
      const first = await authorizationRequest(config, redirectUri);
      await signIn(page, first, user);
      await page.getByRole('heading', { name: 'Two-step verification' }).waitFor();
      assert.equal(await page.locator('img').count(), 0, 'no QR code once enrolled');
      assert.equal(await page.locator('#totp-secret').count(), 0, 'no key once enrolled');
      const codeField = page.getByLabel('Code from your authenticator app (or a recovery code)');
      assert.equal(await codeField.getAttribute('id'), 'code');
      assert.equal(await codeField.getAttribute('name'), 'code');
      const trust = page.getByLabel('Trust this device for 30 days');
      assert.equal(await trust.getAttribute('name'), 'trust_device');
      await trust.check();
      await codeField.fill(await freshCode(key));
      await page.getByRole('button', { name: 'Verify' }).click();
      assertMfaClaims(await userClaims(page, first, callbacks, user));

      const device = (await context.cookies()).find((c) => c.name === 'lumo_device');
      assert.ok(device, 'lumo_device cookie after "Trust this device"');
      assert.equal(device.httpOnly, true, 'trusted-device cookie is HttpOnly');
      const days = (device.expires - Date.now() / 1000) / 86_400;
      assert.ok(days > 29 && days <= 30.01, `trusted for ${days} days`);

      // Sign out of the session only (the trusted-device cookie stays), then sign in again:
      // the password is enough, the browser goes straight to the redirect_uri.
      await context.clearCookies({ name: 'lumo_session' });
      const left = (await context.cookies()).map((c) => c.name);
      assert.ok(!left.includes('lumo_session') && left.includes('lumo_device'), left.join(', '));
      const visited = mfaPages().length;
      const seen = callbacks().length;
      const second = await authorizationRequest(config, redirectUri);
      await signIn(page, second, user);
      await page.waitForURL((url) => url.href.startsWith(redirectUri));
      assert.deepEqual(mfaPages().slice(visited), [], 'no second-factor page on a trusted device');
      const claims = await userClaims(page, second, () => callbacks().slice(seen), user);
      // No code was typed this time: the ID token does not claim one.
      assert.ok(!claims.amr?.includes('otp'), `amr ${JSON.stringify(claims.amr)}`);
      assert.ok([ACR_MFA, ACR_PASSWORD].includes(claims.acr), `acr ${claims.acr}`);
      console.log(`# trusted-device sign-in: acr=${claims.acr} amr=${JSON.stringify(claims.amr)}`);
    } finally {
      await context.close();
    }
  });

  test('discovery lists the acr values', opts, async () => {
    assert.deepEqual(config.serverMetadata().acr_values_supported, [ACR_PASSWORD, ACR_MFA]);
  });
});
