// What the headless-Chromium suites share: finding Debian's Chromium (or $CHROMIUM_PATH),
// launching it off the network, the relying party's redirect_uri as a tiny recording server, and
// closing both with bounded waits.

import { accessSync, constants, existsSync } from 'node:fs';
import { createServer } from 'node:http';

import { chromium } from 'playwright-core';

import { delay } from './lumod.js';

export const ACTION_TIMEOUT_MS = 15_000;   // one click, fill or navigation
const LAUNCH_TIMEOUT_MS = 30_000;
const CLOSE_TIMEOUT_MS = 10_000;

/** {path} of a runnable Chromium, or {missing: reason} (also printed, so skips say why). */
export function findChromium() {
  const candidates = process.env.CHROMIUM_PATH
    ? [process.env.CHROMIUM_PATH]
    : ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
  for (const path of candidates) {
    if (!existsSync(path)) continue;
    try {
      accessSync(path, constants.X_OK);
      return { path };
    } catch { /* not executable: try the next one */ }
  }
  const missing = `Chromium not installed: none of ${candidates.join(', ')} is an executable ` +
    "(install Debian's `chromium` package, or set CHROMIUM_PATH)";
  console.log(`# ${missing}`);
  return { missing };
}

/** Headless Chromium at `path`. */
export function launchChromium(path) {
  return chromium.launch({
    executablePath: path,
    headless: true,
    timeout: LAUNCH_TIMEOUT_MS,
    // --no-sandbox: we run as root. The rest keeps Chromium off the (closed) network.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A fresh browser context (no cookies) with the suites' action timeouts. */
export async function newContext(browser) {
  const context = await browser.newContext();
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(ACTION_TIMEOUT_MS);
  return context;
}

/** Closes a browser or context, waiting a bounded time. */
export async function closeWithin(closable) {
  if (closable) await Promise.race([closable.close(), delay(CLOSE_TIMEOUT_MS)]);
}

/**
 * The relying party's redirect_uri: answers every request with a tiny page and records its URL
 * (except the browser's own /favicon.ico).
 */
export async function startCallbackServer() {
  const requests = [];
  const srv = createServer((req, res) => {
    if (req.url === '/favicon.ico') {
      res.writeHead(404).end();
      return;
    }
    requests.push(new URL(req.url, `http://${req.headers.host}`).href);
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end('<!doctype html><title>Callback</title><p id="callback">callback received</p>');
  });
  await new Promise((resolve, reject) => srv.once('error', reject).listen(0, '127.0.0.1', resolve));
  return { server: srv, requests, origin: `http://127.0.0.1:${srv.address().port}` };
}

/** Stops a server of startCallbackServer, waiting a bounded time. */
export async function stopCallbackServer(callbackServer) {
  if (!callbackServer) return;
  callbackServer.server.closeAllConnections();
  await Promise.race([
    new Promise((resolve) => callbackServer.server.close(resolve)),
    delay(CLOSE_TIMEOUT_MS),
  ]);
}
