// Launches a real `lumod serve` for a test file: temporary data directory, ephemeral ports on
// 127.0.0.1, bootstrap org / API key / cluster token chosen here, ready line parsed from stdout,
// SIGTERM at the end (the caller asserts exit code 0). Every wait is bounded in time.
//
// Binary: $LUMOD_BIN, else $CARGO_TARGET_DIR/debug/lumod, else ~/.cache/lumo/target/debug/lumod.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const ORG = 'acme-corp';
export const READY_TIMEOUT_MS = 60_000;
export const STOP_TIMEOUT_MS = 30_000;
export const HTTP_TIMEOUT_MS = 15_000;

export function lumodBinary() {
  if (process.env.LUMOD_BIN) return process.env.LUMOD_BIN;
  if (process.env.CARGO_TARGET_DIR) {
    const candidate = join(process.env.CARGO_TARGET_DIR, 'debug', 'lumod');
    if (existsSync(candidate)) return candidate;
  }
  return join(homedir(), '.cache', 'lumo', 'target', 'debug', 'lumod');
}

const token = (n) => randomBytes(n).toString('base64url');

// Children still alive when the test process exits (crash, uncaught error) or is stopped by a
// signal (the test runner's timeout, Ctrl-C, the runner dying on a closed stdout) are killed so
// no orphaned lumod keeps running.
const live = new Map(); // child -> its temporary directory
function killAll() {
  for (const [child, tmp] of live) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
    try { rmSync(tmp, { recursive: true, force: true, maxRetries: 3 }); } catch { /* best effort */ }
  }
}
process.once('exit', killAll);
for (const [signal, number] of [['SIGTERM', 15], ['SIGINT', 2], ['SIGHUP', 1]]) {
  process.once(signal, () => {
    killAll();
    process.exit(128 + number);
  });
}

/**
 * Starts lumod and resolves once its `lumod ready ...` line has been seen.
 * @returns {Promise<Lumod>}
 */
export async function startLumod() {
  const binary = lumodBinary();
  if (!existsSync(binary)) {
    throw new Error(`lumod binary not found at ${binary}; build it with ` +
      '`CARGO_TARGET_DIR=$HOME/.cache/lumo/target cargo build --bins` or set LUMOD_BIN');
  }
  const tmp = mkdtempSync(join(tmpdir(), 'lumo-jstest-'));
  const apiKey = 'lmk_' + token(24);
  const clusterToken = token(24);
  const stderrPath = join(tmp, 'lumod.stderr');
  const stderr = createWriteStream(stderrPath);
  const child = spawn(binary, [
    'serve', '--data-dir', join(tmp, 'data'),
    '--http-addr', '127.0.0.1:0', '--admin-addr', '127.0.0.1:0', '--rpc-addr', '127.0.0.1:0',
  ], {
    env: {
      ...process.env,
      LUMO_BOOTSTRAP_ORG: ORG,
      LUMO_BOOTSTRAP_API_KEY: apiKey,
      LUMO_CLUSTER_TOKEN: clusterToken,
      LUMO_LOG: 'warn',
      // The suites make more requests a minute than the contract's rate limits allow.
      LUMO_RATE_LIMITS: process.env.LUMO_RATE_LIMITS || 'false',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.set(child, tmp);
  child.stderr.pipe(stderr);
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => { live.delete(child); resolve({ code, signal }); });
  });
  const stdout = [];
  const lines = createInterface({ input: child.stdout });

  const stderrTail = () => {
    try {
      return readFileSync(stderrPath, 'utf8').split('\n')
        .filter((l) => !/\bWARN\b/.test(l)).slice(-20).join('\n');
    } catch { return ''; }
  };

  let timer;
  const ready = await new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(
      `lumod did not become ready in ${READY_TIMEOUT_MS} ms; stdout=${JSON.stringify(stdout)}`)),
    READY_TIMEOUT_MS);
    lines.on('line', (line) => {
      stdout.push(line);
      if (line.startsWith('lumod ready ')) {
        resolve(Object.fromEntries(line.slice('lumod ready '.length).split(/\s+/)
          .filter((kv) => kv.includes('=')).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])));
      }
    });
    exited.then(({ code, signal }) => reject(new Error(
      `lumod exited before it was ready (code ${code}, signal ${signal}); ` +
      `stdout=${JSON.stringify(stdout)} stderr=${stderrTail()}`)));
  }).catch(async (err) => {
    child.kill('SIGKILL');
    await Promise.race([exited, delay(5_000)]);
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }).finally(() => clearTimeout(timer));

  const base = `http://${ready.http}`;
  let stopped = null;
  return {
    base,
    admin: `http://${ready.admin}`,
    org: ORG,
    issuer: `${base}/orgs/${ORG}/api/v1`,
    apiKey,
    clusterToken,
    ready,
    stdout,
    stderrTail,
    /** SIGTERM, bounded wait (SIGKILL after STOP_TIMEOUT_MS); resolves {code, signal}. */
    async stop() {
      if (stopped) return stopped;
      stopped = (async () => {
        child.kill('SIGTERM');
        let result = await Promise.race([exited, delay(STOP_TIMEOUT_MS).then(() => null)]);
        if (result === null) {
          child.kill('SIGKILL');
          await Promise.race([exited, delay(5_000)]);
          result = { code: 'timeout', signal: 'SIGKILL' };
        }
        result.stderr = stderrTail();
        await new Promise((resolve) => stderr.end(resolve));
        rmSync(tmp, { recursive: true, force: true });
        return result;
      })();
      return stopped;
    },
  };
}

/**
 * A port on 127.0.0.1 that nothing listens on (bound to 0, then released), for redirect_uris
 * that are never fetched.
 */
export async function unusedPort() {
  const srv = createServer();
  await new Promise((resolve, reject) => srv.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

export function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Calls the org admin API with the bootstrap API key; returns {status, body}. */
export async function adminApi(server, method, path, body) {
  const res = await fetch(`${server.issuer}${path}`, {
    method,
    headers: {
      'X-API-Key': server.apiKey,
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

let seq = 0;

/** Creates a user with a password; returns {id, email, password, name}. */
export async function createUser(server, overrides = {}) {
  seq += 1;
  const user = {
    email: `user${seq}-${token(4).toLowerCase().replace(/[^a-z0-9]/g, 'x')}@example.com`,
    password: 'pw-' + token(12),
    name: `Test User ${seq}`,
    ...overrides,
  };
  const { status, body, text } = await adminApi(server, 'POST', '/admin/users', user);
  if (status !== 201) throw new Error(`POST /admin/users -> ${status}: ${text}`);
  return { ...user, id: body.data.id };
}

/** Creates an OAuth client; returns the `data` object (with `secret` for confidential clients). */
export async function createClient(server, spec) {
  seq += 1;
  const { status, body, text } = await adminApi(server, 'POST', '/admin/clients',
    { name: `js-client-${seq}`, ...spec });
  if (status !== 201) throw new Error(`POST /admin/clients -> ${status}: ${text}`);
  return body.data;
}
