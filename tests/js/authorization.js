// The authorization code flow as the browser suites drive it with openid-client: a request
// (PKCE S256, state, nonce) and the callback's checks and code exchange.

import assert from 'node:assert/strict';
import * as client from 'openid-client';

/** An authorization URL for `config` and `redirectUri` (plus `extra` parameters), with its checks. */
export async function authorizationRequest(config, redirectUri, extra = {}) {
  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid profile email',
    code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  return { url, pkceCodeVerifier, state, nonce };
}

/**
 * Waits for the page to reach `redirectUri`, checks that it was requested once with a code and
 * `req`'s state, and exchanges the code (openid-client checks state, iss, PKCE, the ID token's
 * signature, iss, aud, exp and nonce): the tokens and the ID token's claims.
 */
export async function expectCallback(page, config, redirectUri, req, callbacks) {
  await page.waitForURL((url) => url.href.startsWith(redirectUri));
  await page.locator('#callback').waitFor();
  assert.equal(callbacks().length, 1, callbacks().join('\n'));
  const callback = new URL(callbacks()[0]);
  assert.ok(callback.searchParams.get('code'), `code in ${callback.href}`);
  assert.equal(callback.searchParams.get('state'), req.state);
  assert.equal(callback.searchParams.get('error'), null);
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: req.pkceCodeVerifier, expectedState: req.state, expectedNonce: req.nonce,
  });
  return { tokens, claims: tokens.claims() };
}
