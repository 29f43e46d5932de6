//! Who signed an AAuth request: the signature is parsed and checked against the profile
//! (`crypto::http_signature`), its key found from the agent token in `Agent-Auth` (or a
//! `Signature-Key` `jwt`) or from a registered identity (`Signature-Key` `jwks_uri` with its
//! identifier), the signature verified, and only then its nonce spent (in the Raft log, so a
//! replay to any node is refused).

use serde_json::Value;

use crate::command::{AgentKey, Op};
use crate::crypto::http_signature::{
    self, HttpMessage, MAX_SKEW_SECS, SignatureError, SignatureKey, okp_thumbprint,
};
use crate::error::{ClusterError, Result};
use crate::lookup;
use crate::model::{AAuthAgent, AAuthEntity, AAuthResource, Agent, OkpKey, PrincipalKind};
use crate::oauth::runtime::ProtocolCtx;
use crate::protocol::ErrorCode;
use crate::tables::OrgReader;

use super::tokens::{self, AGENT_TOKEN};

/// An agent (or its delegate) that signed a request.
pub struct SignedAgent {
    pub agent: Agent,
    pub identity: AAuthAgent,
    /// The delegate its agent token names (the identifier itself when the agent signed with
    /// its registered key).
    pub delegate: String,
    /// The signing key (`x`) and its thumbprint.
    pub x: String,
    pub jkt: String,
    /// The agent token presented, if any.
    pub agent_token: Option<Value>,
}

/// Who signed.
pub enum Signer {
    Agent(Box<SignedAgent>),
    Resource { resource: AAuthResource, x: String },
}

impl Signer {
    pub fn agent(self) -> Result<SignedAgent> {
        match self {
            Signer::Agent(agent) => Ok(*agent),
            Signer::Resource { .. } => Err(forbidden("this endpoint is for agents")),
        }
    }

    pub fn resource(self) -> Result<AAuthResource> {
        match self {
            Signer::Resource { resource, .. } => Ok(resource),
            Signer::Agent(_) => Err(forbidden(
                "this endpoint is for resources (sign with Signature-Key jwks_uri and the resource's identifier)",
            )),
        }
    }
}

fn forbidden(message: &str) -> ClusterError {
    ClusterError::Forbidden {
        message: message.to_string(),
        required_scopes: Vec::new(),
        granted_scopes: Vec::new(),
    }
}

fn unauthenticated(description: impl Into<String>) -> ClusterError {
    ClusterError::unauthenticated(ErrorCode::InvalidSignature, description)
}

fn signature_error(e: SignatureError) -> ClusterError {
    match e {
        SignatureError::Malformed(m) => ClusterError::oauth(ErrorCode::InvalidRequest, m),
        SignatureError::Invalid(m) => unauthenticated(m),
    }
}

/// The agent owning `identifier`, usable, with its identity.
fn agent_of_identifier(reader: &OrgReader, identifier: &str) -> Result<(Agent, AAuthAgent)> {
    let unknown = || {
        ClusterError::unauthenticated(
            ErrorCode::InvalidToken,
            format!("{identifier} is not a registered AAuth agent of this organization"),
        )
    };
    let Some(AAuthEntity::Agent(id)) = lookup::aauth_entity(reader, identifier)? else {
        return Err(unknown());
    };
    let agent = lookup::agent(reader, &AgentKey::Id(id)).map_err(|_| unknown())?;
    let identity = lookup::aauth_agent(reader, id)?.ok_or_else(unknown)?;
    if !agent.usable() {
        return Err(ClusterError::unauthenticated(
            ErrorCode::InvalidToken,
            format!("agent {} is {}", agent.agent_id, agent.status()),
        ));
    }
    Ok((agent, identity))
}

/// Verifies an agent token: its issuer is a registered, usable agent whose keys (or the
/// org's) signed it; not revoked.
pub fn verify_agent_token(reader: &OrgReader, token: &str) -> Result<(Agent, AAuthAgent, Value)> {
    let (_, unverified) = tokens::peek(token, AGENT_TOKEN)?;
    let issuer = unverified["iss"].as_str().unwrap_or_default().to_string();
    let (agent, identity) = agent_of_identifier(reader, &issuer)?;
    let keys = tokens::keys_with_issuer(reader, &identity.keys)?;
    let claims = tokens::verify(token, AGENT_TOKEN, &keys, false)?;
    if let Some(jti) = claims["jti"].as_str()
        && tokens::revoked(reader, jti)?
    {
        return Err(ClusterError::unauthenticated(
            ErrorCode::InvalidToken,
            "the agent token was revoked",
        ));
    }
    Ok((agent, identity, claims))
}

/// The `agent_token` of an `Agent-Auth` header.
fn agent_auth_token(message: &HttpMessage) -> Option<String> {
    let header = message.header("agent-auth")?;
    header.split([',', ';']).find_map(|part| {
        let (name, value) = part.trim().split_once('=')?;
        (name.trim() == "agent_token").then(|| value.trim().trim_matches('"').to_string())
    })
}

fn from_agent_token(reader: &OrgReader, token: &str) -> Result<Signer> {
    let (agent, identity, claims) = verify_agent_token(reader, token)?;
    let x = tokens::cnf_key(&claims, AGENT_TOKEN)?;
    Ok(Signer::Agent(Box::new(SignedAgent {
        delegate: claims["sub"]
            .as_str()
            .unwrap_or(&identity.identifier)
            .to_string(),
        jkt: okp_thumbprint(&x),
        x,
        agent,
        identity,
        agent_token: Some(claims),
    })))
}

/// Finds the signer and verifies the signature; then spends the nonce.
pub async fn authenticate(ctx: &ProtocolCtx, message: &HttpMessage) -> Result<Signer> {
    let now = tokens::secs(ctx.now);
    let params = http_signature::parse_signature(message, now).map_err(signature_error)?;
    let reader = ctx.reader();
    let signer = match agent_auth_token(message) {
        Some(token) => checked(message, &params, from_agent_token(&reader, &token)?)?,
        None => match http_signature::parse_signature_key(message, &params.label)
            .map_err(signature_error)?
        {
            Some(SignatureKey::Jwt(token)) => {
                checked(message, &params, from_agent_token(&reader, &token)?)?
            }
            Some(SignatureKey::Identified { id, kid }) => {
                identified(&reader, message, &params, &id, kid.as_deref())?
            }
            Some(SignatureKey::Inline { .. }) => {
                return Err(unauthenticated(
                    "a bare key does not identify an agent or resource; send Agent-Auth or Signature-Key jwks_uri",
                ));
            }
            None => {
                return Err(unauthenticated(
                    "no signing key: send Agent-Auth: agent_token=<agent+jwt> or a Signature-Key header",
                ));
            }
        },
    };
    ctx.propose(
        PrincipalKind::System,
        Op::UseAAuthNonce {
            nonce: params.nonce.clone(),
            until: ctx.now.plus_millis(2 * MAX_SKEW_SECS * 1000),
        },
    )
    .await?;
    Ok(signer)
}

/// `signer` once the signature verifies with the key its agent token binds.
fn checked(
    message: &HttpMessage,
    params: &http_signature::SignatureParams,
    signer: Signer,
) -> Result<Signer> {
    let x = match &signer {
        Signer::Agent(agent) => &agent.x,
        Signer::Resource { x, .. } => x,
    };
    http_signature::verify(message, params, x).map_err(signature_error)?;
    Ok(signer)
}

/// A registered identity named in `Signature-Key`, with the key (by `kid`, else any of its
/// keys) that verifies the signature.
fn identified(
    reader: &OrgReader,
    message: &HttpMessage,
    params: &http_signature::SignatureParams,
    id: &str,
    kid: Option<&str>,
) -> Result<Signer> {
    let unknown = || unauthenticated(format!("{id} is not a registered AAuth identity here"));
    let entity = lookup::aauth_entity(reader, id)?.ok_or_else(unknown)?;
    let (keys, signer): (Vec<OkpKey>, Box<dyn Fn(String) -> Signer>) = match entity {
        AAuthEntity::Agent(_) => {
            let (agent, identity) = agent_of_identifier(reader, id)?;
            let keys = identity.keys.clone();
            (
                keys,
                Box::new(move |x: String| {
                    Signer::Agent(Box::new(SignedAgent {
                        agent: agent.clone(),
                        delegate: identity.identifier.clone(),
                        identity: identity.clone(),
                        jkt: okp_thumbprint(&x),
                        x,
                        agent_token: None,
                    }))
                }),
            )
        }
        AAuthEntity::Resource(resource_id) => {
            let resource = lookup::aauth_resource(reader, &resource_id)?;
            let keys = resource.keys.clone();
            (
                keys,
                Box::new(move |x: String| Signer::Resource {
                    resource: resource.clone(),
                    x,
                }),
            )
        }
    };
    let candidates: Vec<&OkpKey> = keys
        .iter()
        .filter(|k| kid.is_none_or(|kid| k.kid == kid))
        .collect();
    if candidates.is_empty() {
        return Err(unauthenticated(format!(
            "{id} has no registered key{}",
            kid.map(|k| format!(" {k}")).unwrap_or_default()
        )));
    }
    // The first key that verifies; else the first key's refusal is reported.
    let mut refusal = None;
    for key in candidates {
        match http_signature::verify(message, params, &key.x) {
            Ok(()) => return Ok(signer(key.x.clone())),
            Err(e) => {
                refusal.get_or_insert(e);
            }
        }
    }
    Err(refusal.map_or_else(
        || unauthenticated("no key verifies the signature"),
        signature_error,
    ))
}
