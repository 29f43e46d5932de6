//! Social and upstream OpenID Connect login on the org's leader, where the master key is: an
//! administrator's provider changes (the client secret sealed), and a login's two legs. The
//! first leg records the login (state, nonce, PKCE verifier) and sends the browser upstream;
//! the second exchanges the code, verifies what the upstream says (the ID token against the
//! issuer's keys and our nonce, or its userinfo), and hands the identity to `apply`, which
//! names the user; the sign-in then goes on as after a password (a second factor if the
//! policy asks for one).

pub mod apple;
mod claims;
pub mod presets;
mod upstream;

use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::access::{authenticate as authenticate_credential, authorize_access};
use crate::caller::Credential;
use crate::command::{Op, SocialProviderKey, SocialSignIn};
use crate::crypto::{Expected, random_token, secret_hash, verify_issuer_token};
use crate::error::{ClusterError, ErrorCode, Result};
use crate::ids::{SocialProviderId, UserId};
use crate::lookup;
use crate::model::{
    Family, PrincipalKind, SOCIAL_LOGIN_TTL_MS, SocialLoginState, SocialProvider, UpstreamIdentity,
};
use crate::protocol::{
    LoginOutcome, ProtocolReply, SocialOutcome, SocialProviderChange, SocialStep,
};
use crate::query::Outcome;
use crate::tables::Table;

use super::mfa::new_id;
use super::runtime::ProtocolCtx;
use presets::Dialect;
use upstream::{Endpoints, endpoints, get_json, keys, post_form, upstream_failed};

const SECRET_CONTEXT: &str = "social-client-secret";
const VERIFIER_CONTEXT: &str = "social-pkce-verifier";

pub(super) async fn step(ctx: &ProtocolCtx, step: SocialStep) -> Result<ProtocolReply> {
    let outcome = match step {
        SocialStep::Save { credential, change } => save(ctx, &credential, *change).await?,
        SocialStep::Begin {
            provider,
            redirect_uri,
            carried,
        } => begin(ctx, &provider, redirect_uri, carried).await?,
        SocialStep::Finish {
            provider,
            state,
            cookie,
            code,
            device,
        } => finish(ctx, &provider, &state, &cookie, &code, device).await?,
    };
    Ok(ProtocolReply::Social(outcome))
}

fn created_id(outcome: Outcome) -> Result<SocialProviderId> {
    match outcome {
        Outcome::Created(id) => id
            .parse::<u64>()
            .map(SocialProviderId)
            .map_err(|_| ClusterError::internal("a social provider id is not a number")),
        other => Err(ClusterError::internal(format!(
            "creating a social provider answered {other:?}"
        ))),
    }
}

async fn save(
    ctx: &ProtocolCtx,
    credential: &Credential,
    change: SocialProviderChange,
) -> Result<SocialOutcome> {
    let principal = authenticate_credential(&ctx.reader(), credential, ctx.now)?;
    authorize_access(&principal, Family::Settings, true)?;
    let fields = match &change {
        SocialProviderChange::Create { fields, .. }
        | SocialProviderChange::Put { fields, .. }
        | SocialProviderChange::Patch { fields, .. } => fields,
    };
    if fields.default_roles.as_ref().is_some_and(|r| !r.is_empty()) {
        // Default roles are given to every user the provider provisions: a grant of roles,
        // which takes the full `admin` scope.
        authorize_access(&principal, Family::ApiKeys, true)?;
    }
    let seal = |secret: String| {
        ctx.runtime
            .seal_secret(ctx.org, SECRET_CONTEXT, secret.as_bytes())
    };
    let existing = |key: &SocialProviderKey| match lookup::social_provider_by(&ctx.reader(), key) {
        Ok(found) => Ok(Some(found.id)),
        Err(ClusterError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    };
    // What the change does: create a provider or update one, with which secret (`None`
    // keeps the secret, `Some(None)` removes it).
    let (existing_id, fields, secret) = match change {
        SocialProviderChange::Create { fields, secret } => (None, fields, secret.map(Some)),
        SocialProviderChange::Put {
            key,
            mut fields,
            secret,
        } => match (existing(&key)?, &key) {
            (Some(id), _) => (Some(id), fields, secret.map(Some)),
            (None, SocialProviderKey::Slug(slug)) => {
                fields.provider = Some(slug.clone());
                (None, fields, secret.map(Some))
            }
            (None, SocialProviderKey::Id(id)) => {
                return Err(ClusterError::not_found("social provider", id.0));
            }
        },
        SocialProviderChange::Patch {
            key,
            fields,
            secret,
        } => {
            let id = existing(&key)?
                .ok_or_else(|| ClusterError::not_found("social provider", describe(&key)))?;
            (Some(id), fields, secret)
        }
    };
    let sealed_secret = match secret {
        None => None,
        Some(None) => Some(None),
        Some(Some(secret)) => Some(Some(seal(secret)?)),
    };
    let (id, created) = match existing_id {
        None => {
            let op = Op::CreateSocialProvider {
                fields,
                sealed_secret: sealed_secret.flatten(),
            };
            (created_id(ctx.propose(principal.kind, op).await?)?, true)
        }
        Some(id) => {
            let op = Op::UpdateSocialProvider {
                id,
                fields,
                sealed_secret,
            };
            ctx.propose(principal.kind, op).await?;
            (id, false)
        }
    };
    let provider = lookup::social_provider(&ctx.reader(), id)?;
    Ok(SocialOutcome::Saved {
        provider: Box::new(provider),
        created,
    })
}

fn describe(key: &SocialProviderKey) -> String {
    match key {
        SocialProviderKey::Id(id) => id.0.to_string(),
        SocialProviderKey::Slug(slug) => slug.clone(),
    }
}

/// The enabled provider a login URL names.
fn enabled_provider(ctx: &ProtocolCtx, slug: &str) -> Result<SocialProvider> {
    let key = SocialProviderKey::Slug(slug.to_string());
    match lookup::social_provider_by(&ctx.reader(), &key) {
        Ok(provider) if provider.enabled => Ok(provider),
        Ok(_) | Err(ClusterError::NotFound { .. }) => {
            Err(ClusterError::not_found("social provider", slug))
        }
        Err(e) => Err(e),
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn with_query(base: &str, pairs: &[(&str, &str)]) -> Result<String> {
    let mut url =
        reqwest::Url::parse(base).map_err(|_| upstream_failed(format!("{base} is not a URL")))?;
    url.query_pairs_mut().extend_pairs(pairs);
    Ok(url.to_string())
}

async fn begin(
    ctx: &ProtocolCtx,
    slug: &str,
    redirect_uri: String,
    carried: Vec<(String, String)>,
) -> Result<SocialOutcome> {
    let provider = enabled_provider(ctx, slug)?;
    let endpoints = endpoints(&provider, ctx.runtime.webhook_targets()).await?;
    let id = new_id("sls_");
    let secret = random_token("", 24);
    let nonce = random_token("", 24);
    let verifier = random_token("", 32);
    let challenge = b64(&Sha256::digest(verifier.as_bytes()));
    let scopes = if provider.requested_scopes.is_empty() {
        upstream::provider_preset(&provider)?
            .default_scopes
            .join(" ")
    } else {
        provider.requested_scopes.join(" ")
    };
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", provider.client_id.as_str()),
        ("redirect_uri", redirect_uri.as_str()),
        ("state", id.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    if !scopes.is_empty() {
        pairs.push(("scope", scopes.as_str()));
    }
    if endpoints.dialect == Dialect::Oidc {
        pairs.push(("nonce", nonce.as_str()));
    }
    if provider.kind == "apple" {
        // Apple posts the answer back when it shares the name or address.
        pairs.push(("response_mode", "form_post"));
    }
    let url = with_query(&endpoints.authorization, &pairs)?;
    let state = SocialLoginState {
        id: id.clone(),
        browser_hash: secret_hash(&secret),
        provider_id: provider.id,
        nonce,
        sealed_verifier: ctx
            .runtime
            .seal_secret(ctx.org, VERIFIER_CONTEXT, verifier.as_bytes())?,
        redirect_uri,
        carried,
        expires_at: ctx.now.plus_millis(SOCIAL_LOGIN_TTL_MS),
    };
    ctx.propose(PrincipalKind::Anonymous, Op::BeginSocialLogin(state))
        .await?;
    Ok(SocialOutcome::Redirect {
        url,
        cookie: format!("{id}.{secret}"),
    })
}

fn expired() -> ClusterError {
    ClusterError::oauth(
        ErrorCode::InvalidRequest,
        "the login expired or was already used",
    )
}

/// The login this browser started, if `state` names it.
fn started_login(ctx: &ProtocolCtx, state: &str, cookie: &str) -> Result<SocialLoginState> {
    super::browser_bound::started_login(ctx, Table::SocialLoginState, state, cookie, expired)
}

fn open(ctx: &ProtocolCtx, context: &str, sealed: &str) -> Result<String> {
    let plain = ctx.runtime.open_secret(ctx.org, context, sealed)?;
    String::from_utf8(plain).map_err(|_| ClusterError::internal("a sealed secret is not text"))
}

/// The issuers an ID token may name: the provider's, or (Microsoft's shared tenants) the
/// user's own tenant as the token's `tid` says.
fn issuers(provider: &SocialProvider, endpoints: &Endpoints, id_token: &str) -> Vec<String> {
    let mut accepted: Vec<String> = endpoints.issuer.iter().cloned().collect();
    let tenant = upstream::tenant(provider);
    if provider.kind == "microsoft"
        && ["common", "organizations", "consumers"].contains(&tenant.as_str())
        && let Some(payload) = id_token.split('.').nth(1)
        && let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload)
        && let Ok(claims) = serde_json::from_slice::<Value>(&bytes)
        && let Some(tid) = claims["tid"].as_str()
    {
        accepted.push(format!("https://login.microsoftonline.com/{tid}/v2.0"));
    }
    accepted
}

/// What the upstream says about who signed in.
async fn upstream_identity(
    ctx: &ProtocolCtx,
    provider: &SocialProvider,
    login: &SocialLoginState,
    code: &str,
) -> Result<UpstreamIdentity> {
    let policy = ctx.runtime.webhook_targets();
    let endpoints = endpoints(provider, policy).await?;
    let verifier = open(ctx, VERIFIER_CONTEXT, &login.sealed_verifier)?;
    let secret = provider
        .sealed_client_secret
        .as_deref()
        .map(|sealed| open(ctx, SECRET_CONTEXT, sealed))
        .transpose()?
        .map(|secret| apple::client_secret(provider, secret, ctx.now))
        .transpose()?;
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", login.redirect_uri.as_str()),
        ("client_id", provider.client_id.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    if let Some(secret) = secret.as_deref() {
        form.push(("client_secret", secret));
    }
    let tokens = post_form(&endpoints.token, &form, policy).await?;
    let access_token = tokens["access_token"].as_str();
    let claims = match endpoints.dialect {
        Dialect::Oidc => {
            let id_token = tokens["id_token"]
                .as_str()
                .ok_or_else(|| upstream_failed("the token answer has no ID token"))?;
            let jwks_url = endpoints
                .jwks
                .as_deref()
                .ok_or_else(|| upstream_failed("the provider publishes no keys"))?;
            let keys = keys(jwks_url, policy).await?;
            let accepted = issuers(provider, &endpoints, id_token);
            let accepted: Vec<&str> = accepted.iter().map(String::as_str).collect();
            let expected = Expected {
                issuers: &accepted,
                audience: &provider.client_id,
            };
            let claims = verify_issuer_token(id_token, &keys, &expected, ctx.now)
                .map_err(|why| upstream_failed(format!("the ID token was refused: {why}")))?;
            if claims["nonce"].as_str() != Some(login.nonce.as_str()) {
                return Err(upstream_failed("the ID token's nonce is not this login's"));
            }
            claims
        }
        Dialect::OAuth2 => {
            let url = endpoints
                .userinfo
                .as_deref()
                .ok_or_else(|| upstream_failed("the provider has no userinfo endpoint"))?;
            let token = access_token
                .ok_or_else(|| upstream_failed("the token answer has no access token"))?;
            let mut claims = get_json(url, Some(token), policy).await?;
            if provider.kind == "github" {
                let emails = get_json(&format!("{url}/emails"), Some(token), policy).await?;
                claims["email"] = claims::github_primary(&emails).into();
                claims["email_verified"] = claims["email"].is_string().into();
            }
            claims
        }
    };
    claims::identity(provider, &claims)
}

async fn finish(
    ctx: &ProtocolCtx,
    slug: &str,
    state: &str,
    cookie: &str,
    code: &str,
    device: Option<String>,
) -> Result<SocialOutcome> {
    let login = started_login(ctx, state, cookie)?;
    let carried = login.carried.clone();
    match signed_in_user(ctx, slug, login, code, device).await {
        Ok(outcome) => Ok(SocialOutcome::Finished { outcome, carried }),
        Err(e) => {
            tracing::info!(provider = %slug, error = %e, "social login refused");
            Ok(SocialOutcome::Refused {
                reason: reason_of(&e).to_string(),
                carried,
            })
        }
    }
}

/// The login form's marker for why a login that came back was refused.
fn reason_of(error: &ClusterError) -> &'static str {
    match error {
        ClusterError::OAuth {
            error: ErrorCode::AccessDenied,
            ..
        } => "social_denied",
        ClusterError::NotFound { resource, .. } if resource == "user" => "social_no_account",
        ClusterError::Conflict { field, .. } => match field.as_deref() {
            Some("email") => "social_unverified",
            _ => "social_linked",
        },
        ClusterError::Mfa { .. } => "mfa_locked",
        _ => "social_failed",
    }
}

async fn signed_in_user(
    ctx: &ProtocolCtx,
    slug: &str,
    login: SocialLoginState,
    code: &str,
    device: Option<String>,
) -> Result<LoginOutcome> {
    let provider = enabled_provider(ctx, slug)?;
    if provider.id != login.provider_id {
        return Err(expired());
    }
    let identity = upstream_identity(ctx, &provider, &login, code).await?;
    let sign_in = SocialSignIn {
        state_id: login.id.clone(),
        provider_id: provider.id,
        identity,
        new_user_id: UserId::generate(),
    };
    super::browser_bound::finish_upstream_login(
        ctx,
        Op::FinishSocialLogin(sign_in),
        &login.carried,
        device.as_deref(),
        format!("social:{}", provider.provider),
    )
    .await
}
