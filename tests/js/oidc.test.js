// OAuth 2.1 / OpenID Connect end to end against a real lumod, with the certified relying-party
// library openid-client (v6) doing the protocol work. Users and clients are created with plain
// fetch on the admin API; the hosted login / consent / device pages are driven over HTTP by
// ./hosted.js (cookies, CSRF hidden fields, manual redirects).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

import * as client from 'openid-client';
import { authorizationRequest } from './authorization.js';

import {
  adminApi, createClient, createUser, HTTP_TIMEOUT_MS, startLumod, unusedPort,
} from './lumod.js';
import {
  authorizeViaHostedPages, CookieJar, formWith, formData, isConsentPage, isLoginPage, parseForms, request,
} from './hosted.js';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';
const AT_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

let server;
let user;
let redirectUri;
let web;          // confidential auth-code client (admin data incl. secret)
let config;       // openid-client Configuration for `web` (client_secret_post)
let configBasic;  // same client, client_secret_basic

function decodeJwt(jwt) {
  const [h, p, s] = jwt.split('.');
  assert.ok(h && p && s !== undefined, `not a compact JWS: ${jwt}`);
  return {
    header: JSON.parse(Buffer.from(h, 'base64url')),
    payload: JSON.parse(Buffer.from(p, 'base64url')),
  };
}

async function discover(clientId, secret, auth) {
  return client.discovery(new URL(server.issuer), clientId, secret, auth, {
    execute: [client.allowInsecureRequests],
    timeout: HTTP_TIMEOUT_MS / 1000,
  });
}

/** Authorization request + hosted pages; returns the callback URL and the checks. */
async function frontChannel(cfg = config, { jar, extra } = {}) {
  const req = await authorizationRequest(cfg, redirectUri, extra);
  const flow = await authorizeViaHostedPages(req.url, {
    jar, email: user.email, password: user.password, redirectUri,
  });
  return { ...req, ...flow, callback: new URL(flow.location) };
}

/** Full code flow; returns openid-client's token response. */
async function codeFlow(cfg = config, opts = {}) {
  const fc = await frontChannel(cfg, opts);
  const tokens = await client.authorizationCodeGrant(cfg, fc.callback, {
    pkceCodeVerifier: fc.pkceCodeVerifier, expectedState: fc.state, expectedNonce: fc.nonce,
  });
  return { ...fc, tokens };
}

/** Awaits `promise`, expecting an OAuth error; returns {status, error, err}. */
async function oauthError(promise) {
  try {
    await promise;
  } catch (err) {
    if (err instanceof client.ResponseBodyError) {
      return { status: err.status, error: err.error, description: err.error_description, err };
    }
    if (err instanceof client.WWWAuthenticateChallengeError) {
      let body;
      try { body = await err.response.json(); } catch { body = undefined; }
      return { status: err.status, error: body?.error, challenges: err.cause, body, err };
    }
    throw err;
  }
  assert.fail('expected the request to be rejected with an OAuth error');
}

before(async () => {
  server = await startLumod();
  redirectUri = `http://127.0.0.1:${await unusedPort()}/cb`;
  user = await createUser(server, { name: 'Ada Lovelace' });
  web = await createClient(server, {
    name: 'Web App',
    redirectUris: [redirectUri],
    grantTypes: ['authorization_code', 'refresh_token'],
  });
  assert.equal(typeof web.secret, 'string', 'a confidential client gets its secret once');
  config = await discover(web.clientId, web.secret);
  configBasic = await discover(web.clientId, web.secret, client.ClientSecretBasic(web.secret));
});

after(async () => {
  if (!server) return;
  const { code, signal, stderr } = await server.stop();
  assert.equal(code, 0, `lumod exited with ${code} (signal ${signal}) after SIGTERM; stderr:\n${stderr}`);
});

describe('discovery', () => {
  test('openid-client discovers the issuer and its endpoints', async () => {
    const md = config.serverMetadata();
    assert.equal(md.issuer, server.issuer);
    for (const endpoint of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint',
      'jwks_uri', 'introspection_endpoint', 'revocation_endpoint', 'device_authorization_endpoint',
      'end_session_endpoint', 'pushed_authorization_request_endpoint']) {
      assert.ok(md[endpoint]?.startsWith(server.issuer + '/'), `${endpoint}=${md[endpoint]}`);
    }
    assert.ok(md.code_challenge_methods_supported.includes('S256'));
    assert.ok(md.response_types_supported.includes('code'));
    assert.ok(md.grant_types_supported.includes(TOKEN_EXCHANGE));
    assert.ok(md.grant_types_supported.includes(DEVICE_CODE));
    assert.ok(md.supportsPKCE());

    const jwks = await fetch(md.jwks_uri, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
    assert.equal(jwks.status, 200);
    const { keys } = await jwks.json();
    assert.ok(keys.length >= 1 && keys.every((k) => k.kid && k.kty && !k.d), 'public keys with kid');

    // RFC 8414 metadata is served too and names the same issuer.
    const as = await fetch(`${server.issuer}/.well-known/oauth-authorization-server`,
      { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
    assert.equal(as.status, 200);
    assert.equal((await as.json()).issuer, server.issuer);
  });
});

describe('authorization code + PKCE', () => {
  test('hosted login and consent pages, code exchange, ID token validated against the JWKS', async () => {
    const req = await authorizationRequest(config, redirectUri);
    const jar = new CookieJar();

    // 1. Not signed in: the login page, with a double-submit CSRF cookie and hidden fields.
    const login = await request(jar, req.url.href);
    assert.equal(login.status, 200);
    assert.ok(isLoginPage(login), 'login page');
    const loginForm = formWith(login, 'password');
    const hidden = formData(loginForm);
    assert.ok(hidden._csrf, 'hidden _csrf');
    assert.equal(hidden._csrf, jar.get('lumo_csrf'), 'double-submit CSRF cookie');
    assert.equal(hidden.state, req.state);
    assert.equal(hidden.nonce, req.nonce);
    assert.equal(hidden.redirect_uri, redirectUri);

    // 2. Sign in: a session cookie and a redirect back to the authorization endpoint.
    const submitted = await request(jar, loginForm.action, {
      method: 'POST', form: formData(loginForm, { email: user.email, password: user.password }),
    });
    assert.equal(submitted.status, 302, submitted.body);
    assert.ok(jar.get('lumo_session'), 'lumo_session cookie');
    assert.ok(submitted.location.startsWith(config.serverMetadata().authorization_endpoint));
    assert.ok(!submitted.location.includes('login_error'), submitted.location);

    // 3. The consent page, then allow.
    const flow = await authorizeViaHostedPages(submitted.location, {
      jar, email: user.email, password: user.password, redirectUri,
    });
    assert.ok(flow.steps.some(isConsentPage), 'consent page shown');
    const callback = new URL(flow.location);
    assert.equal(callback.origin + callback.pathname, redirectUri);
    assert.equal(callback.searchParams.get('state'), req.state);
    assert.equal(callback.searchParams.get('iss'), server.issuer, 'RFC 9207 iss');
    assert.ok(callback.searchParams.get('code'));

    // 4. Code exchange: openid-client checks state/iss, validates the ID token (signature via
    //    JWKS, iss, aud, exp, iat, nonce).
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: req.pkceCodeVerifier, expectedState: req.state, expectedNonce: req.nonce,
    });
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.ok(tokens.expires_in > 0);
    assert.ok(tokens.refresh_token, 'refresh token issued');
    const claims = tokens.claims();
    assert.equal(claims.iss, server.issuer);
    assert.equal(claims.sub, user.id);
    assert.equal(claims.aud, web.clientId);
    assert.equal(claims.nonce, req.nonce);
    assert.equal(claims.email, user.email);
    assert.equal(claims.name, user.name);
    assert.equal(typeof claims.auth_time, 'number');

    const at = decodeJwt(tokens.access_token);
    assert.equal(at.header.typ, 'at+jwt');
    assert.equal(at.payload.iss, server.issuer);
    assert.equal(at.payload.sub, user.id);
    assert.equal(at.payload.client_id, web.clientId);
    assert.deepEqual(at.payload.scope.split(' ').sort(), ['email', 'openid', 'profile']);
  });

  test('consent is remembered: a second authorization with the same session skips both pages', async () => {
    const jar = new CookieJar();
    await codeFlow(config, { jar });
    const again = await frontChannel(config, { jar });
    assert.equal(again.steps.length, 1, again.steps.map((s) => `${s.status} ${s.url}`).join(' -> '));
    assert.equal(again.steps[0].status >= 300 && again.steps[0].status < 400, true);
  });

  test('client_secret_basic works for the code exchange too', async () => {
    const { tokens } = await codeFlow(configBasic);
    assert.equal(tokens.claims().sub, user.id);
  });

  test('pushed authorization request (PAR) via buildAuthorizationUrlWithPAR', async () => {
    const pkceCodeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = await client.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: redirectUri, scope: 'openid email', state, nonce,
      code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
      code_challenge_method: 'S256',
    });
    assert.ok(url.searchParams.get('request_uri'), url.href);
    const flow = await authorizeViaHostedPages(url, { email: user.email, password: user.password, redirectUri });
    const tokens = await client.authorizationCodeGrant(config, new URL(flow.location),
      { pkceCodeVerifier, expectedState: state, expectedNonce: nonce });
    assert.equal(tokens.claims().sub, user.id);
    assert.equal(tokens.claims().nonce, nonce);
  });
});

describe('authorization request parameters', () => {
  /** A raw authorization request (no hosted pages); returns the first response. */
  function authorize(params, jar = new CookieJar()) {
    const url = new URL(config.serverMetadata().authorization_endpoint);
    url.search = new URLSearchParams(params);
    return request(jar, url.href);
  }

  /** The redirect_uri's query of an error redirect, after checking it is one. */
  function errorRedirect(res, state) {
    assert.equal(res.status >= 300 && res.status < 400, true, `${res.status} ${res.body.slice(0, 200)}`);
    const cb = new URL(res.location);
    assert.equal(cb.origin + cb.pathname, redirectUri);
    assert.equal(cb.searchParams.get('state'), state);
    assert.equal(cb.searchParams.get('iss'), server.issuer, 'RFC 9207 iss');
    assert.equal(cb.searchParams.get('code'), null);
    return cb.searchParams;
  }

  test('invalid requests from a valid client are redirected back with an error, the state and iss', async () => {
    const pub = await createClient(server, { name: 'Public SPA', isPublic: true, redirectUris: [redirectUri] });
    const challenge = await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier());
    const base = { response_type: 'code', client_id: web.clientId, redirect_uri: redirectUri, scope: 'openid' };
    const cases = [
      ['public client without PKCE', { ...base, client_id: pub.clientId }, 'invalid_request'],
      ['PKCE method plain', { ...base, code_challenge: challenge, code_challenge_method: 'plain' }, 'invalid_request'],
      ['response_type=token', { ...base, response_type: 'token' }, 'unsupported_response_type'],
      ['scope the client may not ask for', { ...base, scope: 'openid admin:write' }, 'invalid_scope'],
      ['prompt=none without a session', { ...base, prompt: 'none', code_challenge: challenge, code_challenge_method: 'S256' }, 'login_required'],
    ];
    for (const [name, params, expected] of cases) {
      const state = client.randomState();
      const q = errorRedirect(await authorize({ ...params, state }), state);
      assert.equal(q.get('error'), expected, `${name}: ${q}`);
    }
  });

  test('missing response_type -> error=invalid_request (RFC 6749 4.1.2.1)', async () => {
    const state = client.randomState();
    const q = errorRedirect(await authorize({
      client_id: web.clientId, redirect_uri: redirectUri, scope: 'openid', state,
    }), state);
    assert.equal(q.get('error'), 'invalid_request', String(q));
  });

  test('prompt=none with a session and consent returns a code; prompt=login and max_age=0 ask for the password again', async () => {
    const jar = new CookieJar();
    const first = await codeFlow(config, { jar });
    const authTime = first.tokens.claims().auth_time;

    const silent = await authorizationRequest(config, redirectUri, { prompt: 'none' });
    const res = await request(jar, silent.url.href);
    assert.ok(res.status === 302 || res.status === 303, `${res.status} ${res.body.slice(0, 200)}`);
    const tokens = await client.authorizationCodeGrant(config, new URL(res.location), {
      pkceCodeVerifier: silent.pkceCodeVerifier, expectedState: silent.state, expectedNonce: silent.nonce,
    });
    assert.equal(tokens.claims().sub, user.id);
    assert.equal(tokens.claims().auth_time, authTime, 'same session, same auth_time');

    for (const extra of [{ prompt: 'login' }, { max_age: '0' }]) {
      const { url } = await authorizationRequest(config, redirectUri, extra);
      const page = await request(jar, url.href);
      assert.ok(isLoginPage(page), `${JSON.stringify(extra)}: ${page.status} ${page.location}`);
    }
  });

  test('a public client: PKCE, no secret, code exchange with openid-client', async () => {
    const pub = await createClient(server, { name: 'Public SPA 2', isPublic: true, redirectUris: [redirectUri] });
    assert.equal(pub.isPublic, true);
    assert.equal(pub.secret, undefined, 'a public client has no secret');
    const cfg = await discover(pub.clientId, undefined, client.None());
    const { tokens, callback } = await codeFlow(cfg);
    assert.ok(callback.searchParams.get('code'));
    assert.equal(tokens.claims().aud, pub.clientId);
    assert.equal(tokens.claims().sub, user.id);
  });
});

describe('token endpoint', () => {
  test('token responses are not cacheable and the ID token at_hash matches the access token', async () => {
    const fc = await frontChannel();
    const res = await fetch(config.serverMetadata().token_endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code', code: fc.callback.searchParams.get('code'), redirect_uri: redirectUri,
        code_verifier: fc.pkceCodeVerifier, client_id: web.clientId, client_secret: web.secret,
      }),
      signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('cache-control') ?? '', /no-store/, 'RFC 6749 5.1 Cache-Control: no-store');
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const body = await res.json();
    const id = decodeJwt(body.id_token);
    assert.ok(id.header.kid, 'ID token names its key');
    assert.equal(id.payload.azp, web.clientId);
    const half = createHash('sha256').update(body.access_token).digest().subarray(0, 16).toString('base64url');
    assert.equal(id.payload.at_hash, half, 'OIDC Core 3.1.3.6 at_hash');
  });

  test('an authorization code issued to one client cannot be redeemed by another', async () => {
    const other = await createClient(server, { name: 'Other App', redirectUris: [redirectUri] });
    const otherCfg = await discover(other.clientId, other.secret);
    const fc = await frontChannel(config);
    const res = await oauthError(client.authorizationCodeGrant(otherCfg, fc.callback, {
      pkceCodeVerifier: fc.pkceCodeVerifier, expectedState: fc.state, expectedNonce: fc.nonce,
    }));
    assert.equal(res.status, 400);
    assert.equal(res.error, 'invalid_grant');
  });

  test('refresh with a narrower scope narrows it; a broader scope is invalid_scope', async () => {
    const { tokens } = await codeFlow();
    const narrow = await client.refreshTokenGrant(config, tokens.refresh_token, { scope: 'openid email' });
    assert.deepEqual(narrow.scope.split(' ').sort(), ['email', 'openid']);
    assert.deepEqual(decodeJwt(narrow.access_token).payload.scope.split(' ').sort(), ['email', 'openid']);
    const broader = await oauthError(client.refreshTokenGrant(config, narrow.refresh_token, { scope: 'openid email phone' }));
    assert.equal(broader.status, 400);
    assert.equal(broader.error, 'invalid_scope');
  });

  test('unsupported grant type (password) -> unsupported_grant_type', async () => {
    const res = await oauthError(client.genericGrantRequest(config, 'password', {
      username: user.email, password: user.password,
    }));
    assert.equal(res.status, 400);
    assert.equal(res.error, 'unsupported_grant_type');
  });
});

describe('userinfo', () => {
  test('fetchUserInfo returns the signed-in user', async () => {
    const { tokens } = await codeFlow();
    const info = await client.fetchUserInfo(config, tokens.access_token, tokens.claims().sub);
    assert.equal(info.sub, user.id);
    assert.equal(info.email, user.email);
    assert.equal(info.name, user.name);
  });
});

describe('refresh tokens', () => {
  test('rotation on every refresh; reuse of an old token fails and revokes the family', async () => {
    const { tokens } = await codeFlow();
    const rt1 = tokens.refresh_token;

    const second = await client.refreshTokenGrant(config, rt1);
    assert.ok(second.access_token);
    assert.ok(second.refresh_token, 'a new refresh token');
    assert.notEqual(second.refresh_token, rt1, 'rotated');
    assert.notEqual(second.access_token, tokens.access_token);
    const rt2 = second.refresh_token;

    const third = await client.refreshTokenGrant(config, rt2);
    assert.notEqual(third.refresh_token, rt2);
    const rt3 = third.refresh_token;

    // Reuse of rt1 (already rotated): invalid_grant ...
    const reuse = await oauthError(client.refreshTokenGrant(config, rt1));
    assert.equal(reuse.status, 400);
    assert.equal(reuse.error, 'invalid_grant');
    // ... and the whole family is revoked: the newest refresh token no longer works either.
    const newest = await oauthError(client.refreshTokenGrant(config, rt3));
    assert.equal(newest.status, 400);
    assert.equal(newest.error, 'invalid_grant');
  });
});

describe('introspection and revocation', () => {
  test('access token: active before revocation, inactive after', async () => {
    const { tokens } = await codeFlow();
    const before = await client.tokenIntrospection(config, tokens.access_token);
    assert.equal(before.active, true);
    assert.equal(before.sub, user.id);
    assert.equal(before.client_id, web.clientId);
    assert.equal(before.iss, server.issuer);
    assert.ok(before.scope.split(' ').includes('openid'));
    assert.ok(before.exp > Date.now() / 1000);

    await client.tokenRevocation(config, tokens.access_token);
    const afterRevoke = await client.tokenIntrospection(config, tokens.access_token);
    assert.equal(afterRevoke.active, false);

    // A revoked access token is refused at the userinfo endpoint.
    const res = await fetch(config.serverMetadata().userinfo_endpoint, {
      headers: { Authorization: `Bearer ${tokens.access_token}` }, signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    });
    assert.equal(res.status, 401);
  });

  test('refresh token: revoking it revokes the family and its access tokens', async () => {
    const { tokens } = await codeFlow();
    const rt = await client.tokenIntrospection(config, tokens.refresh_token, { token_type_hint: 'refresh_token' });
    assert.equal(rt.active, true);
    await client.tokenRevocation(config, tokens.refresh_token, { token_type_hint: 'refresh_token' });
    assert.equal((await client.tokenIntrospection(config, tokens.refresh_token)).active, false);
    assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, false);
    const refresh = await oauthError(client.refreshTokenGrant(config, tokens.refresh_token));
    assert.equal(refresh.error, 'invalid_grant');
  });

  test('revoking an unknown token is a 200 no-op (RFC 7009)', async () => {
    await client.tokenRevocation(config, 'not-a-token-' + client.randomState());
    const info = await client.tokenIntrospection(config, 'not-a-token');
    assert.equal(info.active, false);
  });
});

describe('client credentials', () => {
  test('clientCredentialsGrant issues a client token (no refresh token, no ID token)', async () => {
    const svc = await createClient(server, { name: 'Service', grantTypes: ['client_credentials'] });
    const cfg = await discover(svc.clientId, svc.secret);
    const tokens = await client.clientCredentialsGrant(cfg);
    assert.ok(tokens.access_token);
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.equal(tokens.refresh_token, undefined);
    assert.equal(tokens.id_token, undefined);
    const { payload } = decodeJwt(tokens.access_token);
    assert.equal(payload.client_id, svc.clientId);
    assert.equal(payload.iss, server.issuer);
    const info = await client.tokenIntrospection(cfg, tokens.access_token);
    assert.equal(info.active, true);
    assert.equal(info.client_id, svc.clientId);

    // A client not registered for client_credentials is refused.
    const refused = await oauthError(client.clientCredentialsGrant(config));
    assert.equal(refused.error, 'unauthorized_client');
  });
});

describe('device authorization grant', () => {
  test('initiate, approve on the hosted device page, poll', async () => {
    const tv = await createClient(server, { name: 'TV', grantTypes: [DEVICE_CODE, 'refresh_token'] });
    const cfg = await discover(tv.clientId, tv.secret);
    const da = await client.initiateDeviceAuthorization(cfg, { scope: 'openid profile email' });
    assert.match(da.user_code, /^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    assert.equal(da.verification_uri, `${server.issuer}/oauth/device`);
    assert.ok(da.verification_uri_complete.includes(encodeURIComponent(da.user_code)) ||
      da.verification_uri_complete.includes(da.user_code));
    assert.ok(da.interval >= 1);

    // Before approval: authorization_pending.
    const pending = await fetch(cfg.serverMetadata().token_endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: DEVICE_CODE, device_code: da.device_code, client_id: tv.clientId, client_secret: tv.secret,
      }),
      signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    });
    assert.equal(pending.status, 400);
    assert.equal((await pending.json()).error, 'authorization_pending');
    const pendingAt = Date.now();

    // The user: device page -> login page (with return_to) -> confirmation page -> allow.
    const jar = new CookieJar();
    let page = await request(jar, da.verification_uri_complete);
    for (let i = 0; i < 3 && page.location; i++) page = await request(jar, page.location);
    assert.ok(isLoginPage(page), `login page expected: ${page.status} ${page.body.slice(0, 300)}`);
    const loginForm = formWith(page, 'password');
    assert.ok(formData(loginForm).return_to, 'login form carries return_to');
    page = await request(jar, loginForm.action, {
      method: 'POST', form: formData(loginForm, { email: user.email, password: user.password }),
    });
    for (let i = 0; i < 3 && page.location; i++) page = await request(jar, page.location);
    assert.equal(page.status, 200, page.body.slice(0, 500));
    const confirm = parseForms(page.body, page.url)
      .find((f) => f.buttons.some((b) => b.name === 'decision' && b.value === 'allow'));
    assert.ok(confirm, `confirmation form: ${page.body.slice(0, 500)}`);
    assert.equal(formData(confirm).user_code, da.user_code);
    assert.ok(formData(confirm)._csrf);
    const allow = confirm.buttons.find((b) => b.value === 'allow');
    const done = await request(jar, confirm.action, { method: confirm.method, form: formData(confirm, {}, allow) });
    assert.ok(done.status === 200 || (done.status >= 300 && done.status < 400), `${done.status} ${done.body.slice(0, 300)}`);

    // Poll (openid-client waits `interval` seconds before each request); bounded.
    const waited = Date.now() - pendingAt;
    assert.ok(waited < da.interval * 1000, 'first library poll is at least one interval after the manual one');
    const tokens = await client.pollDeviceAuthorizationGrant(cfg, da, undefined,
      { signal: AbortSignal.timeout(30_000) });
    assert.ok(tokens.access_token);
    assert.equal(tokens.claims()?.sub, user.id);
    assert.equal(decodeJwt(tokens.access_token).payload.sub, user.id);

    // The device code is single use.
    const reused = await oauthError(client.genericGrantRequest(cfg, DEVICE_CODE, { device_code: da.device_code }));
    assert.equal(reused.status, 400);
    assert.ok(['invalid_grant', 'expired_token'].includes(reused.error), reused.error);
  });
});

describe('token exchange (RFC 8693)', () => {
  test('delegation: act claim nests prior actors; only the token\'s audience may re-aim it at a resource', async () => {
    const exchanger = await createClient(server, {
      name: 'Exchanger', grantTypes: ['client_credentials', TOKEN_EXCHANGE],
    });
    const agentA = await createClient(server, { name: 'Agent A', grantTypes: ['client_credentials', TOKEN_EXCHANGE] });
    const agentB = await createClient(server, { name: 'Agent B', grantTypes: ['client_credentials', TOKEN_EXCHANGE] });
    const cfg = await discover(exchanger.clientId, exchanger.secret);
    const actorA = (await client.clientCredentialsGrant(await discover(agentA.clientId, agentA.secret))).access_token;
    const actorB = (await client.clientCredentialsGrant(await discover(agentB.clientId, agentB.secret))).access_token;
    const subSubject = (await codeFlow()).tokens.access_token;

    // The user's token was issued to the web app: another client may not aim it elsewhere.
    const resource = 'https://api.example.com/orders';
    await assert.rejects(client.genericGrantRequest(cfg, TOKEN_EXCHANGE, {
      subject_token: subSubject, subject_token_type: AT_TYPE, resource,
    }), (err) => err instanceof client.ResponseBodyError && err.error === 'invalid_target');

    const first = await client.genericGrantRequest(cfg, TOKEN_EXCHANGE, {
      subject_token: subSubject, subject_token_type: AT_TYPE,
      actor_token: actorA, actor_token_type: AT_TYPE,
    });
    assert.equal(first.issued_token_type, AT_TYPE);
    assert.equal(first.token_type.toLowerCase(), 'bearer');
    const t1 = decodeJwt(first.access_token).payload;
    assert.equal(t1.sub, user.id, 'subject stays the user');
    assert.deepEqual(t1.act, { sub: decodeJwt(actorA).payload.sub });
    assert.ok([].concat(t1.aud).includes(agentA.clientId), `aud=${JSON.stringify(t1.aud)}`);

    // Exchange again with another actor: the current actor is outermost, the prior one nested.
    const second = await client.genericGrantRequest(cfg, TOKEN_EXCHANGE, {
      subject_token: first.access_token, subject_token_type: AT_TYPE,
      actor_token: actorB, actor_token_type: AT_TYPE,
    });
    const t2 = decodeJwt(second.access_token).payload;
    assert.equal(t2.sub, user.id);
    assert.deepEqual(t2.act, { sub: decodeJwt(actorB).payload.sub, act: { sub: decodeJwt(actorA).payload.sub } });
    assert.ok([].concat(t2.aud).includes(agentB.clientId));
    assert.ok(t2.exp <= decodeJwt(subSubject).payload.exp, 'never outlives the subject token');

    // The exchanged token is a live token.
    const info = await client.tokenIntrospection(cfg, second.access_token);
    assert.equal(info.active, true);
    assert.equal(info.sub, user.id);
  });

  test('delegation deeper than 3 actors is refused with 403 delegation_depth_exceeded', async () => {
    const exchanger = await createClient(server, { name: 'Exchanger 2', grantTypes: ['client_credentials', TOKEN_EXCHANGE] });
    const actor = await createClient(server, { name: 'Agent C', grantTypes: ['client_credentials'] });
    const cfg = await discover(exchanger.clientId, exchanger.secret);
    const actorToken = (await client.clientCredentialsGrant(await discover(actor.clientId, actor.secret))).access_token;
    let token = (await codeFlow()).tokens.access_token;
    for (let depth = 1; depth <= 3; depth++) {
      token = (await client.genericGrantRequest(cfg, TOKEN_EXCHANGE, {
        subject_token: token, subject_token_type: AT_TYPE, actor_token: actorToken, actor_token_type: AT_TYPE,
      })).access_token;
    }
    const refused = await oauthError(client.genericGrantRequest(cfg, TOKEN_EXCHANGE, {
      subject_token: token, subject_token_type: AT_TYPE, actor_token: actorToken, actor_token_type: AT_TYPE,
    }));
    assert.equal(refused.status, 403);
    assert.equal(refused.error, 'delegation_depth_exceeded');
  });
});

describe('negative cases', () => {
  test('wrong client secret -> 401 invalid_client with WWW-Authenticate (basic and post)', async () => {
    for (const auth of [client.ClientSecretBasic('wrong-secret'), client.ClientSecretPost('wrong-secret')]) {
      const bad = await discover(web.clientId, 'wrong-secret', auth);
      const { callback, pkceCodeVerifier, state, nonce } = await frontChannel(bad);
      const res = await oauthError(client.authorizationCodeGrant(bad, callback,
        { pkceCodeVerifier, expectedState: state, expectedNonce: nonce }));
      assert.equal(res.status, 401);
      assert.equal(res.error, 'invalid_client');
      assert.ok(res.err instanceof client.WWWAuthenticateChallengeError, 'WWW-Authenticate challenge');
      assert.equal(res.challenges[0].scheme, 'basic');
    }
  });

  test('replayed authorization code -> invalid_grant', async () => {
    const fc = await frontChannel();
    const checks = { pkceCodeVerifier: fc.pkceCodeVerifier, expectedState: fc.state, expectedNonce: fc.nonce };
    const tokens = await client.authorizationCodeGrant(config, fc.callback, checks);
    const replay = await oauthError(client.authorizationCodeGrant(config, fc.callback, checks));
    assert.equal(replay.status, 400);
    assert.equal(replay.error, 'invalid_grant');
    // RFC 6749 4.1.2: tokens issued from a replayed code should be revoked.
    const info = await client.tokenIntrospection(config, tokens.access_token);
    assert.equal(info.active, false, 'tokens from a replayed code are revoked');
  });

  test('PKCE verifier mismatch -> invalid_grant', async () => {
    const fc = await frontChannel();
    const res = await oauthError(client.authorizationCodeGrant(config, fc.callback, {
      pkceCodeVerifier: client.randomPKCECodeVerifier(), expectedState: fc.state, expectedNonce: fc.nonce,
    }));
    assert.equal(res.status, 400);
    assert.equal(res.error, 'invalid_grant');
  });

  test('missing PKCE verifier when a challenge was sent -> invalid_grant', async () => {
    const fc = await frontChannel();
    const res = await oauthError(client.authorizationCodeGrant(config, fc.callback, {
      expectedState: fc.state, expectedNonce: fc.nonce,
    }));
    assert.equal(res.status, 400);
    assert.ok(['invalid_grant', 'invalid_request'].includes(res.error), res.error);
  });

  test('redirect_uri at the token endpoint differs from the authorization request -> invalid_grant', async () => {
    const fc = await frontChannel();
    // openid-client sends the current URL (without its query) as redirect_uri.
    const other = new URL(fc.callback.href);
    other.pathname = '/other-callback';
    const res = await oauthError(client.authorizationCodeGrant(config, other, {
      pkceCodeVerifier: fc.pkceCodeVerifier, expectedState: fc.state, expectedNonce: fc.nonce,
    }));
    assert.equal(res.status, 400);
    assert.equal(res.error, 'invalid_grant');
  });

  test('unregistered redirect_uri at authorize -> 400 HTML error page, no redirect', async () => {
    for (const bad of ['http://127.0.0.1:1/evil', `${redirectUri}/extra`, 'https://attacker.example/cb']) {
      const { url } = await authorizationRequest(config, redirectUri, { redirect_uri: bad });
      const res = await request(new CookieJar(), url.href);
      assert.equal(res.status, 400, `${bad}: ${res.status}`);
      assert.equal(res.location, null, `${bad}: must not redirect`);
      assert.match(res.headers.get('content-type'), /^text\/html/);
      assert.ok(!res.body.includes(bad) || !/http-equiv="refresh"/i.test(res.body));
    }
  });

  test('unknown client_id at authorize -> 400 HTML error page, no redirect', async () => {
    const url = new URL(config.serverMetadata().authorization_endpoint);
    url.search = new URLSearchParams({
      response_type: 'code', client_id: 'lmc_does_not_exist', redirect_uri: redirectUri, scope: 'openid', state: 's',
    });
    const res = await request(new CookieJar(), url.href);
    assert.equal(res.status, 400);
    assert.equal(res.location, null);
    assert.match(res.headers.get('content-type'), /^text\/html/);
  });

  test('consent denied -> redirect with error=access_denied and the state', async () => {
    // A client this user has never consented to (consent to `web` is remembered from the
    // earlier tests, which would skip the consent page).
    const app = await createClient(server, { name: 'Deny App', redirectUris: [redirectUri] });
    const cfg = await discover(app.clientId, app.secret);
    const req = await authorizationRequest(cfg, redirectUri);
    const flow = await authorizeViaHostedPages(req.url, {
      email: user.email, password: user.password, redirectUri, consent: 'deny',
    });
    assert.ok(flow.steps.some(isConsentPage), 'the consent page was shown');
    const cb = new URL(flow.location);
    assert.equal(cb.searchParams.get('error'), 'access_denied');
    assert.equal(cb.searchParams.get('state'), req.state);
    assert.equal(cb.searchParams.get('code'), null);
    assert.equal(cb.searchParams.get('iss'), server.issuer, 'RFC 9207 iss on error responses too');
    await assert.rejects(client.authorizationCodeGrant(cfg, cb, {
      pkceCodeVerifier: req.pkceCodeVerifier, expectedState: req.state,
    }), (err) => err instanceof client.AuthorizationResponseError && err.error === 'access_denied');

    // A denial is not remembered as consent: the next authorization asks again.
    const retry = await authorizeViaHostedPages((await authorizationRequest(cfg, redirectUri)).url, {
      email: user.email, password: user.password, redirectUri, consent: 'allow',
    });
    assert.ok(retry.steps.some(isConsentPage), 'consent page shown again after a denial');
    assert.ok(new URL(retry.location).searchParams.get('code'), retry.location);
  });

  test('wrong password -> login page again with an error, no session', async () => {
    const { url } = await authorizationRequest(config, redirectUri);
    const jar = new CookieJar();
    const login = await request(jar, url.href);
    const form = formWith(login, 'password');
    const res = await request(jar, form.action, {
      method: 'POST', form: formData(form, { email: user.email, password: 'not-the-password' }),
    });
    assert.equal(res.status, 302);
    assert.equal(jar.get('lumo_session'), undefined);
    assert.match(res.location, /login_error=/);
    const again = await request(jar, res.location);
    assert.ok(isLoginPage(again));
  });

  test('login form without the CSRF cookie is refused', async () => {
    const { url } = await authorizationRequest(config, redirectUri);
    const login = await request(new CookieJar(), url.href);
    const form = formWith(login, 'password');
    const res = await request(new CookieJar(), form.action, {
      method: 'POST', form: formData(form, { email: user.email, password: user.password }),
    });
    assert.ok(res.status === 400 || res.status === 403 || /login_error=/.test(res.location ?? ''),
      `${res.status} ${res.location}`);
    assert.ok(!res.headers.getSetCookie().some((c) => c.startsWith('lumo_session=') && !/Max-Age=0/i.test(c)),
      'no session without CSRF');
  });

  test('tampered or alg=none access token at userinfo -> 401', async () => {
    const { tokens } = await codeFlow();
    const [h, p, s] = tokens.access_token.split('.');
    const payload = JSON.parse(Buffer.from(p, 'base64url'));
    const forgedPayload = Buffer.from(JSON.stringify({ ...payload, sub: 'someone-else' })).toString('base64url');
    const noneHeader = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url');
    const cases = {
      'tampered payload': `${h}.${forgedPayload}.${s}`,
      'tampered signature': `${h}.${p}.${s.slice(0, -4)}${s.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`,
      'alg none': `${noneHeader}.${p}.`,
      'alg none, forged sub': `${noneHeader}.${forgedPayload}.`,
      garbage: 'not.a.jwt',
    };
    for (const [name, token] of Object.entries(cases)) {
      const res = await fetch(config.serverMetadata().userinfo_endpoint, {
        headers: { Authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
      });
      assert.equal(res.status, 401, `${name}: ${res.status}`);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/i, `${name}: WWW-Authenticate`);
      const rejected = await oauthError(client.fetchUserInfo(config, token, client.skipSubjectCheck));
      assert.equal(rejected.status, 401, name);
    }
    // The genuine token still works.
    const info = await client.fetchUserInfo(config, tokens.access_token, user.id);
    assert.equal(info.sub, user.id);
  });

  test('a disabled client can no longer use the token endpoint', async () => {
    const c = await createClient(server, { name: 'Disabled later', grantTypes: ['client_credentials'] });
    const cfg = await discover(c.clientId, c.secret);
    await client.clientCredentialsGrant(cfg);
    const { status } = await adminApi(server, 'POST', `/admin/clients/${c.clientId}/disable`);
    assert.equal(status, 200);
    const res = await oauthError(client.clientCredentialsGrant(cfg));
    assert.equal(res.status, 401);
    assert.equal(res.error, 'invalid_client');
  });
});

describe('logout', () => {
  test('RP-initiated logout with id_token_hint ends the session and redirects', async () => {
    const postLogout = `${new URL(redirectUri).origin}/bye`;
    const app = await createClient(server, {
      name: 'Logout App', redirectUris: [redirectUri], postLogoutRedirectUris: [postLogout],
    });
    const cfg = await discover(app.clientId, app.secret);
    const jar = new CookieJar();
    const { tokens } = await codeFlow(cfg, { jar });
    const state = client.randomState();
    const url = client.buildEndSessionUrl(cfg, {
      id_token_hint: tokens.id_token, post_logout_redirect_uri: postLogout, state,
    });
    const res = await request(jar, url.href);
    assert.ok(res.status === 302 || res.status === 303, `${res.status} ${res.body.slice(0, 200)}`);
    const dest = new URL(res.location);
    assert.equal(dest.origin + dest.pathname, postLogout);
    assert.equal(dest.searchParams.get('state'), state);
    assert.equal((await client.tokenIntrospection(cfg, tokens.access_token)).active, false,
      'the session tokens are revoked');
    // The session is gone: the next authorization shows the login page again.
    const { url: authUrl } = await authorizationRequest(cfg, redirectUri);
    const page = await request(jar, authUrl.href);
    assert.ok(isLoginPage(page), `${page.status} ${page.location}`);
  });
});

