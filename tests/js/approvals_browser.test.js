// Push approvals answered from a real browser: an AI agent asks the user it acts for to approve
// one action (`~/agents/me/approvals`), the user answers on the hosted approvals page
// (`~/oauth/approvals`) in headless Chromium (Debian's package, driven by playwright-core), and
// the agent polls the outcome (`~/agents/me/approvals/{token}/status`).
//
// The user's signed-in browser session is their "enrolled device": before it exists the agent's
// request answers 428 no_enrolled_device. The tests of the describe block run in order and share
// one lumod, one agent, one user and one browser context (the device). Chromium:
// $CHROMIUM_PATH, /usr/bin/chromium or /usr/bin/chromium-browser; when none exists the tests are
// skipped with a message saying so.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';


import { adminApi, createUser, HTTP_TIMEOUT_MS, startLumod } from './lumod.js';
import { findChromium, launchChromium, newContext, closeWithin } from './chromium.js';

const TEST_TIMEOUT_MS = 90_000;

const REASON = 'Wire $4,500 to vendor INV-7741';
const SECOND_REASON = 'Wire $12,000 to vendor INV-7742';

const found = findChromium();

let server;
let browser;
let context;        // the user's browser: its session is the enrolled device
let page;
let approvalsUrl;   // ~/oauth/approvals
let user;           // {id, email, password, name}
let agent;          // data of POST ~/admin/agents
let agentToken;     // the agent's client_credentials access token

before(async () => {
  if (found.missing) return;
  server = await startLumod();
  approvalsUrl = `${server.issuer}/oauth/approvals`;

  user = await createUser(server, { name: 'Ada Payables' });
  const created = await adminApi(server, 'POST', '/admin/agents',
    { name: 'Wire bot', capabilities: ['payments.send'] });
  assert.equal(created.status, 201, created.text);
  agent = created.body.data;
  for (const field of ['clientId', 'clientSecret', 'agentId']) {
    assert.equal(typeof agent[field], 'string', `agent.${field} in ${created.text}`);
  }

  const res = await fetch(`${server.issuer}/oauth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: agent.clientId,
      client_secret: agent.clientSecret,
    }).toString(),
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
  const text = await res.text();
  assert.equal(res.status, 200, `client_credentials -> ${res.status}: ${text}`);
  agentToken = JSON.parse(text).access_token;
  assert.equal(typeof agentToken, 'string', text);

  browser = await launchChromium(found.path);
  context = await newContext(browser);
  page = await context.newPage();
});

after(async () => {
  await closeWithin(context);
  await closeWithin(browser);
  if (server) {
    const { code, signal, stderr } = await server.stop();
    assert.equal(code, 0, `lumod exited with ${code} (signal ${signal}) after SIGTERM; stderr:\n${stderr}`);
  }
});

/** Calls the agents API with the agent's bearer token; returns {status, body, text}. */
async function agentApi(method, path, body) {
  const res = await fetch(`${server.issuer}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${agentToken}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
  const text = await res.text();
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  return { status: res.status, body: json, text };
}

function askApproval(taskId, reason, amount) {
  return agentApi('POST', '/agents/me/approvals', {
    task_id: taskId,
    reason,
    impact: 'high',
    on_behalf_of: user.email,
    meta: { amount },
  });
}

async function approvalStatus(token) {
  const res = await agentApi('GET', `/agents/me/approvals/${encodeURIComponent(token)}/status`);
  assert.equal(res.status, 200, `status of ${token} -> ${res.status}: ${res.text}`);
  return res.body;
}

/** The integer `approved_by.user_id` shows for a user id (UUID text): its low 52 bits. */
function userNumber(uuid) {
  return Number(BigInt('0x' + uuid.replace(/-/g, '')) & ((1n << 52n) - 1n));
}

/** A 201 pending approval for `taskId`, checked field by field. */
async function askAndExpectPending(taskId, reason, amount) {
  const before = Date.now();
  const res = await askApproval(taskId, reason, amount);
  assert.equal(res.status, 201, res.text);
  const body = res.body;
  assert.match(body.approval_token, /^apr_[A-Za-z0-9_-]{16,}$/, res.text);
  assert.equal(body.status, 'pending');
  assert.equal(body.task_id, taskId);
  assert.equal(body.impact, 'high');
  const expires = Date.parse(body.expires_at);
  assert.ok(Number.isFinite(expires), `expires_at ${body.expires_at}`);
  assert.ok(expires > before && expires <= Date.now() + 15 * 60_000, `expires_at ${body.expires_at}`);

  const status = await approvalStatus(body.approval_token);
  assert.equal(status.status, 'pending', JSON.stringify(status));
  assert.equal(status.approved_by, null);
  assert.equal(status.responded_at, null);
  return body.approval_token;
}

/** Opens the approvals page (a fresh GET) and waits for its heading. */
async function openApprovals() {
  const response = await page.goto(approvalsUrl);
  assert.equal(response.status(), 200);
  await page.getByRole('heading', { name: 'Approvals waiting for you' }).waitFor();
}

/** The page's section for the approval whose reason is `reason`. */
function approvalSection(reason) {
  return page.locator('section.approval', { hasText: reason });
}

/** Clicks the section's Approve or Deny button; resolves with the POST's response. */
async function answer(section, label) {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === approvalsUrl),
    section.getByRole('button', { name: label, exact: true }).click(),
  ]);
  await page.waitForLoadState('load');
  return response;
}

const opts = { timeout: TEST_TIMEOUT_MS, skip: found.missing ?? false };

describe('agent push approvals answered in headless Chromium', () => {
  test('before the user has signed in anywhere: 428 no_enrolled_device, nothing pending', opts, async () => {
    const res = await askApproval('wire-0', REASON, 4500);
    assert.equal(res.status, 428, res.text);
    assert.equal(res.body.error, 'no_enrolled_device', res.text);
    assert.equal(res.body.task_id, 'wire-0');

    // Without a session the approvals page is the sign-in form, never a list of approvals.
    const anonymous = await fetch(approvalsUrl, { redirect: 'manual', signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
    const html = await anonymous.text();
    assert.ok([200, 302, 303].includes(anonymous.status), `${anonymous.status}: ${html.slice(0, 400)}`);
    assert.ok(!html.includes('Approvals waiting for you'), 'no approvals without a session');
    assert.ok(!html.includes(REASON));
  });

  test('a signed-out browser is asked to sign in on the hosted login and returns to the approvals page', opts, async () => {
    const response = await page.goto(approvalsUrl);
    assert.equal(response.status(), 200);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.ok(!(await context.cookies()).some((c) => c.name === 'lumo_session'), 'no session yet');
    // The login form carries where to come back to: this page.
    const returnTo = await page.locator('form input[name="return_to"]').getAttribute('value');
    assert.equal(new URL(returnTo, approvalsUrl).href, approvalsUrl);

    const emailField = page.getByLabel('Email', { exact: true });
    const passwordField = page.getByLabel('Password', { exact: true });
    assert.equal(await emailField.getAttribute('name'), 'email');
    assert.equal(await passwordField.getAttribute('type'), 'password');
    await emailField.fill(user.email);
    await passwordField.fill(user.password);
    const [submitted] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url().includes('/oauth/login/submit')),
      page.getByRole('button', { name: 'Sign in' }).click(),
    ]);
    await page.waitForLoadState('load');

    // Signed in: the session cookie is this user's enrolled device, whatever page comes next.
    const session = (await context.cookies()).find((c) => c.name === 'lumo_session');
    assert.ok(session, `lumo_session cookie set after sign-in (login submit answered ${submitted.status()})`);
    assert.equal(session.httpOnly, true, 'session cookie is HttpOnly');

    // ...and the browser is back on the approvals page it came from.
    const heading = page.getByRole('heading', { name: 'Approvals waiting for you' });
    const back = await heading.waitFor({ timeout: 5_000 }).then(() => true, () => false);
    assert.ok(back, `after signing in, the browser should return to ${approvalsUrl}; it is on ` +
      `${page.url()} (login submit answered ${submitted.status()} -> ${submitted.headers().location}) ` +
      `showing: ${(await page.locator('body').innerText()).slice(0, 300)}`);
    assert.equal(page.url(), approvalsUrl);
    const body = await page.locator('body').innerText();
    assert.ok(body.includes(`Signed in as ${user.email}`), body);
    assert.ok(body.includes('No agent is waiting for your approval.'), body);
  });

  test('the agent asks, the request is listed with Approve/Deny, Approve reports approved by the user', opts, async () => {
    const token = await askAndExpectPending('wire-1', REASON, 4500);

    await openApprovals();
    const section = approvalSection(REASON);
    await section.waitFor();
    assert.equal(await page.locator('section.approval').count(), 1, 'exactly one pending approval listed');
    assert.equal((await section.getByRole('heading').innerText()).trim(), `Wire bot asks: ${REASON}`);
    const text = await section.innerText();
    assert.match(text, /Impact:\s*high/, text);
    assert.match(text, /task wire-1/, text);
    assert.deepEqual(JSON.parse(await section.locator('pre').innerText()), { amount: 4500 });
    assert.ok((await page.locator('body').innerText()).includes(`Signed in as ${user.email}`));

    // The form: POST to this page, hidden _csrf and token, decision=allow|deny buttons.
    const form = section.locator('form');
    const shape = await form.evaluate((f) => ({
      method: f.method,
      action: f.action,
      hidden: Object.fromEntries([...f.querySelectorAll('input[type=hidden]')].map((i) => [i.name, i.value])),
      buttons: [...f.querySelectorAll('button')].map((b) => ({ name: b.name, value: b.value, type: b.type, text: b.textContent.trim() })),
    }));
    assert.equal(shape.method, 'post');
    assert.equal(shape.action, approvalsUrl);
    assert.deepEqual(Object.keys(shape.hidden).sort(), ['_csrf', 'token']);
    assert.equal(shape.hidden.token, token);
    assert.ok(shape.hidden._csrf.length >= 20, `_csrf ${shape.hidden._csrf}`);
    const csrfCookie = (await context.cookies()).find((c) => c.name === 'lumo_csrf');
    assert.equal(csrfCookie?.value, shape.hidden._csrf, 'double-submit CSRF token matches its cookie');
    assert.deepEqual(
      shape.buttons.map((b) => [b.text, b.name, b.value, b.type]).sort(),
      [['Approve', 'decision', 'allow', 'submit'], ['Deny', 'decision', 'deny', 'submit']],
    );

    // Approve.
    const response = await answer(section, 'Approve');
    assert.equal(response.status(), 200);
    await page.getByRole('heading', { name: 'Approvals waiting for you' }).waitFor();
    assert.equal((await page.locator('p.notice').innerText()).trim(), 'Approved.');
    assert.equal(await page.locator('section.approval').count(), 0, 'the request is gone');
    assert.ok((await page.locator('body').innerText()).includes('No agent is waiting for your approval.'));

    // The agent sees who approved it and when.
    const status = await approvalStatus(token);
    assert.equal(status.status, 'approved', JSON.stringify(status));
    assert.equal(status.approval_token, token);
    assert.equal(status.task_id, 'wire-1');
    assert.equal(status.impact, 'high');
    assert.equal(status.reason, REASON);
    assert.ok(Number.isInteger(status.approved_by?.user_id), JSON.stringify(status));
    assert.equal(status.approved_by.user_id, userNumber(user.id), 'approved by the signed-in user');
    const responded = Date.parse(status.responded_at);
    assert.ok(Number.isFinite(responded) && Math.abs(responded - Date.now()) < 120_000,
      `responded_at ${status.responded_at}`);

    // A fresh GET still lists nothing.
    await openApprovals();
    assert.equal(await page.locator('section.approval').count(), 0);
  });

  test('Deny reports denied with no approver; replaying the old form changes nothing', opts, async () => {
    const token = await askAndExpectPending('wire-2', SECOND_REASON, 12000);

    await openApprovals();
    const section = approvalSection(SECOND_REASON);
    await section.waitFor();
    assert.equal(await page.locator('section.approval').count(), 1);
    assert.equal((await section.getByRole('heading').innerText()).trim(), `Wire bot asks: ${SECOND_REASON}`);
    // The form as the browser would submit it (without the clicked button).
    const old = await section.locator('form').evaluate((f) => ({
      action: f.action,
      fields: Object.fromEntries(new FormData(f)),
    }));
    assert.equal(old.fields.token, token);

    const response = await answer(section, 'Deny');
    assert.equal(response.status(), 200);
    assert.equal((await page.locator('p.notice').innerText()).trim(), 'Denied.');
    assert.equal(await page.locator('section.approval').count(), 0, 'the request is gone');

    const denied = await approvalStatus(token);
    assert.equal(denied.status, 'denied', JSON.stringify(denied));
    assert.equal(denied.approved_by, null);
    assert.equal(denied.task_id, 'wire-2');
    assert.ok(Number.isFinite(Date.parse(denied.responded_at)), `responded_at ${denied.responded_at}`);

    // Replays from the same signed-in browser, with the same CSRF token and approval token: the
    // old form submitted again, with the same decision and with the opposite one. (A form
    // submission, not fetch(): the hosted pages' CSP, default-src 'none', blocks fetch.) Both are
    // refused with an error page and leave the approval denied.
    for (const decision of ['deny', 'allow']) {
      const [replay] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === approvalsUrl),
        page.evaluate(({ action, fields, decision }) => {
          const form = document.createElement('form');
          form.method = 'post';
          form.action = action;
          for (const [name, value] of Object.entries({ ...fields, decision })) {
            const input = document.createElement('input');
            input.type = 'hidden';
            input.name = name;
            input.value = value;
            form.appendChild(input);
          }
          document.body.appendChild(form);
          form.submit();
        }, { ...old, decision }),
      ]);
      await page.waitForLoadState('load');
      const text = await page.locator('body').innerText();
      assert.equal(replay.status(), 400, `replayed decision=${decision}: ${text.slice(0, 400)}`);
      const alert = page.getByRole('alert');
      await alert.waitFor();
      assert.match(await alert.innerText(), /already denied/, text.slice(0, 400));
      assert.equal(await page.locator('p.notice').count(), 0, `no "Approved."/"Denied." notice: ${text.slice(0, 400)}`);
      assert.ok(!text.includes('Approved.'), text.slice(0, 400));

      const after = await approvalStatus(token);
      assert.equal(after.status, 'denied', `after replaying decision=${decision}: ${JSON.stringify(after)}`);
      assert.equal(after.approved_by, null);
      assert.equal(after.responded_at, denied.responded_at, 'responded_at unchanged');
    }

    // Nothing is left pending.
    await openApprovals();
    assert.equal(await page.locator('section.approval').count(), 0);
  });
});
