// Baseline client_credentials token endpoint on the reference Node.js OAuth server
// (oidc-provider by panva), used to compare against Lumo's token endpoint on the same machine.
//
//   node server.mjs            # port 0 (ephemeral), RS256
//   PORT=8080 ALG=ES256 node server.mjs
//
// Single process, in-memory adapter, one confidential client. Every token request yields a
// JWT access token signed with a freshly generated key (RSA-2048 by default, like Lumo).
// Prints exactly one line on stdout once listening:
//   oidc-provider ready token_url=http://127.0.0.1:<port>/token client_id=bench-client client_secret=bench-secret-0123456789 alg=<alg>
// Set OIDC_VERBOSE=1 to see oidc-provider's own notices/warnings (on stderr).

import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

const HOST = '127.0.0.1';
const CLIENT_ID = 'bench-client';
const CLIENT_SECRET = 'bench-secret-0123456789';
const RESOURCE = 'urn:lumo:bench';
const SCOPE = 'api:read';

const ALG = (process.env.ALG || 'RS256').trim();
const SUPPORTED = ['RS256', 'ES256', 'EdDSA'];
if (!SUPPORTED.includes(ALG)) {
  console.error(`ALG must be one of ${SUPPORTED.join(', ')} (got ${JSON.stringify(ALG)})`);
  process.exit(2);
}

const rawPort = process.env.PORT ?? '0';
const PORT = Number(rawPort);
if (!Number.isInteger(PORT) || PORT < 0 || PORT > 65535) {
  console.error(`PORT must be an integer in 0..65535 (got ${JSON.stringify(rawPort)})`);
  process.exit(2);
}

// oidc-provider prints "oidc-provider NOTICE: ..." via console.info (stdout) and
// "oidc-provider WARNING: ..." via console.warn (development-only adapter, runtime checks).
// stdout must carry only the ready line, so silence them (or move them to stderr when verbose).
// This must happen before oidc-provider is imported: it warns at import time.
{
  const verbose = process.env.OIDC_VERBOSE === '1';
  const isProviderNoise = (args) => typeof args[0] === 'string' && args[0].includes('oidc-provider ');
  const { info, warn } = console;
  console.info = (...args) => {
    if (isProviderNoise(args)) {
      if (verbose) console.error(...args);
      return;
    }
    info.apply(console, args);
  };
  console.warn = (...args) => {
    if (isProviderNoise(args) && !verbose) return;
    warn.apply(console, args);
  };
}

const { default: Provider } = await import('oidc-provider');

function jwk(type, options, alg) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: `${alg.toLowerCase()}-${randomUUID()}` };
}

// An RSA key is always present (the provider's default ID token alg is RS256); the key for
// ALG is added when it is another type.
const jwks = { keys: [jwk('rsa', { modulusLength: 2048 }, 'RS256')] };
if (ALG === 'ES256') jwks.keys.unshift(jwk('ec', { namedCurve: 'P-256' }, 'ES256'));
if (ALG === 'EdDSA') jwks.keys.unshift(jwk('ed25519', {}, 'EdDSA'));

// Listen first (port 0 → ephemeral) so the issuer can carry the actual port, then mount the provider.
let handler = (_req, res) => {
  res.statusCode = 503;
  res.end();
};
const server = createServer((req, res) => handler(req, res));
server.keepAliveTimeout = 65_000;

await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(PORT, HOST, () => {
    server.off('error', reject);
    resolve();
  });
});
const { port } = server.address();
const issuer = `http://${HOST}:${port}`;

const provider = new Provider(issuer, {
  jwks,
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: false },
    revocation: { enabled: false },
    userinfo: { enabled: false },
    registration: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => RESOURCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async () => ({
        scope: SCOPE,
        accessTokenFormat: 'jwt',
        accessTokenTTL: 3600,
        jwt: { sign: { alg: ALG } },
      }),
    },
  },
  ttl: {
    ClientCredentials: 3600,
  },
  // Not an interactive deployment: no login UI, no accounts.
  findAccount: async () => undefined,
});

// Errors the provider swallows into a 500 response: report them on stderr, once each.
const reported = new Set();
provider.on('server_error', (_ctx, err) => {
  const key = String(err?.stack ?? err);
  if (reported.has(key)) return;
  reported.add(key);
  console.error('oidc-provider server_error:', err);
});
// Koa's default error printer would also log these; keep stderr to one report per error.
provider.silent = true;

const tokenPath = provider.pathFor('token');
handler = provider.callback();

process.stdout.write(
  `oidc-provider ready token_url=${issuer}${tokenPath} client_id=${CLIENT_ID} client_secret=${CLIENT_SECRET} alg=${ALG}\n`,
);

let stopping = false;
function shutdown() {
  if (stopping) return;
  stopping = true;
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  // Keep-alive clients mid-request get a short grace period, then everything is dropped.
  setTimeout(() => {
    server.closeAllConnections();
    process.exit(0);
  }, 1000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
