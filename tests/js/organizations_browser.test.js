// B2B organizations in a real headless Chromium: a newcomer is invited by email to two
// organizations (the invitations go through the org's SMTP settings to a local sink), accepts
// the first on the hosted invitation page by choosing a name and a password and the second as
// an existing account, signs in, picks one organization on the org-select page, and the ID token
// openid-client validates carries org_id, org_name and org_roles. Chromium: $CHROMIUM_PATH,
// /usr/bin/chromium or /usr/bin/chromium-browser; without one the test is skipped.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import * as client from 'openid-client';
import { authorizationRequest, expectCallback } from './authorization.js';

import { adminApi, createClient, HTTP_TIMEOUT_MS, startLumod } from './lumod.js';
import { findChromium, launchChromium, newContext, closeWithin, startCallbackServer, stopCallbackServer } from './chromium.js';
import { startSmtpSink } from './smtp_sink.js';

const TEST_TIMEOUT_MS = 90_000;
const PASSWORD = 'Correct-horse-battery-9';

const found = findChromium();

let server;
let sink;
let browser;
let callbackServer;
let redirectUri;
let config;

before(async () => {
  if (found.missing) return;
  // The org's SMTP server is the sink on 127.0.0.1: let this lumod reach loopback.
  process.env.LUMO_WEBHOOKS_ALLOW_PRIVATE = 'true';
  sink = await startSmtpSink();
  server = await startLumod();
  const email = await adminApi(server, 'PUT', '/admin/settings/email', {
    enabled: true, provider: 'smtp', smtp_host: '127.0.0.1', smtp_port: sink.port,
    smtp_secure: false, from_email: 'no-reply@acme.test',
  });
  assert.equal(email.status, 200, email.text);
  callbackServer = await startCallbackServer();
  redirectUri = `${callbackServer.origin}/callback`;
  const app = await createClient(server, {
    name: 'B2B App',
    redirectUris: [redirectUri],
    grantTypes: ['authorization_code'],
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
  if (sink) await sink.close();
  if (server) {
    const { code, signal, stderr } = await server.stop();
    assert.equal(code, 0, `lumod exited with ${code} (signal ${signal}) after SIGTERM; stderr:\n${stderr}`);
  }
});

async function organization(name, slug) {
  const res = await adminApi(server, 'POST', '/admin/organizations', { name, slug });
  assert.equal(res.status, 201, res.text);
  return res.body.data.id;
}

async function invite(orgId, email, role) {
  const res = await adminApi(server, 'POST', `/admin/organizations/${orgId}/invitations`, { email, role });
  assert.equal(res.status, 201, res.text);
}

const opts = { timeout: TEST_TIMEOUT_MS, skip: found.missing ?? false };

describe('B2B organizations in headless Chromium', () => {
  test('an invited newcomer accepts, signs in, picks an organization, and the ID token carries it', opts, async () => {
    const acme = await organization('Acme Widgets', 'acme-widgets');
    const globex = await organization('Globex', 'globex');
    const email = 'ines@example.com';
    await invite(acme, email, 'member');
    await invite(globex, email, 'admin');
    const acmeLink = await sink.link(email, '/oauth/invitation?token=', 0);
    const globexLink = await sink.link(email, '/oauth/invitation?token=', 1);
    assert.ok(acmeLink.startsWith(server.issuer), acmeLink);

    const context = await newContext(browser);
    const page = await context.newPage();
    const seen = callbackServer.requests.length;
    const callbacks = () => callbackServer.requests.slice(seen);
    try {
      // A newcomer: the page asks for a name and a password, and makes the account.
      await page.goto(acmeLink);
      const body = await page.locator('body').innerText();
      assert.ok(body.includes('Choose a name and a password'), body);
      await page.getByLabel('Your name').fill('Ines Example');
      await page.getByLabel('New password', { exact: true }).fill(PASSWORD);
      await page.getByLabel('Repeat the new password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Accept the invitation' }).click();
      await page.getByRole('heading', { name: 'Invitation accepted' }).waitFor();

      // The second invitation finds the account: accepting only joins.
      await page.goto(globexLink);
      assert.equal(await page.getByLabel('New password', { exact: true }).count(), 0);
      await page.getByRole('button', { name: 'Accept the invitation' }).click();
      await page.getByRole('heading', { name: 'Invitation accepted' }).waitFor();

      // Signing in: a member of two organizations is asked which one.
      const req = await authorizationRequest(config, redirectUri);
      await page.goto(req.url.href);
      await page.getByLabel('Email', { exact: true }).fill(email);
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Choose an organization' }).waitFor();
      assert.deepEqual(callbacks(), [], 'no redirect before the choice');
      assert.equal(await page.getByRole('button', { name: /^Acme Widgets/ }).count(), 1);
      await page.getByRole('button', { name: /^Globex/ }).click();

      const { claims } = await expectCallback(page, config, redirectUri, req, callbacks);
      assert.equal(claims.email, email);
      assert.equal(claims.org_id, globex, JSON.stringify(claims));
      assert.equal(claims.org_name, 'globex');
      assert.deepEqual(claims.org_roles, ['admin']);
    } finally {
      await context.close();
    }
  });
});
