//! The hosted pages an emailed link opens (`~/oauth/verify-email`, `~/oauth/reset-password`):
//! checking a link (its signature under the master key, its expiry, and that the request row
//! still holds its nonce) and using it through Raft, where the nonce is checked again so a link
//! works once even when opened twice at the same moment.

use serde_json::json;

use crate::command::{EmailWrite, Op, RevokeTarget, SubOrgWrite, UserKey};
use crate::error::{ClusterError, Result};
use crate::ids::UserId;
use crate::lookup::email_request_key;
use crate::mail::link::{LinkPurpose, LinkToken, tag_matches};
use crate::model::{
    EmailRequest, EmailRequestKind, PrincipalKind, SubOrg, SubOrgInvitation, User, sub_org_key,
};
use crate::protocol::{EmailLinkStep, ProtocolReply};
use crate::settings::SettingsSection;
use crate::tables::Table;

use super::runtime::ProtocolCtx;

fn refused(problem: &str) -> ClusterError {
    ClusterError::invalid("token", problem)
}

/// The link's request and user, if the link is good now.
pub(super) fn check(ctx: &ProtocolCtx, text: &str) -> Result<(LinkToken, EmailRequestKind, User)> {
    let (token, tag) = LinkToken::parse(text).ok_or_else(|| refused("this link is not valid"))?;
    let expected = ctx.runtime.link_tag(ctx.org, &token.message())?;
    if !tag_matches(&tag, &expected) {
        return Err(refused("this link is not valid"));
    }
    let kind = match token.purpose {
        LinkPurpose::VerifyEmail => EmailRequestKind::VerifyEmail,
        LinkPurpose::PasswordReset => EmailRequestKind::PasswordReset,
        LinkPurpose::MagicLink => EmailRequestKind::MagicLink,
        LinkPurpose::Invitation => return Err(refused("this link is not for this page")),
    };
    if token.expires_at <= ctx.now {
        return Err(refused("this link has expired; ask for a new one"));
    }
    let user_id: UserId = token
        .subject
        .parse()
        .map_err(|_| refused("this link is not valid"))?;
    let reader = ctx.reader();
    let request: Option<EmailRequest> =
        reader.get(Table::EmailRequest, &email_request_key(user_id, kind))?;
    if request.is_none_or(|r| r.token_hash != token.nonce) {
        return Err(refused(
            "this link was already used, or a newer one was sent",
        ));
    }
    let user: User = reader
        .get(Table::User, &user_id.to_bytes())?
        .ok_or_else(|| refused("this account no longer exists"))?;
    Ok((token, kind, user))
}

/// The invitation a link names, if the link is good now.
fn check_invitation(
    ctx: &ProtocolCtx,
    text: &str,
) -> Result<(LinkToken, SubOrg, SubOrgInvitation)> {
    let (token, tag) = LinkToken::parse(text).ok_or_else(|| refused("this link is not valid"))?;
    let expected = ctx.runtime.link_tag(ctx.org, &token.message())?;
    if !tag_matches(&tag, &expected) || token.purpose != LinkPurpose::Invitation {
        return Err(refused("this link is not valid"));
    }
    let (org_id, id) = token
        .subject
        .rsplit_once('-')
        .and_then(|(org, id)| Some((org.to_string(), id.parse::<u64>().ok()?)))
        .ok_or_else(|| refused("this link is not valid"))?;
    let reader = ctx.reader();
    let invitation: SubOrgInvitation = reader
        .get(
            Table::SubOrgInvitation,
            &sub_org_key(&org_id, &id.to_be_bytes()),
        )?
        .ok_or_else(|| refused("this invitation no longer exists"))?;
    if let Some(problem) = invitation.refusal(&token.nonce, ctx.now) {
        return Err(refused(problem));
    }
    let org: SubOrg = reader
        .get(Table::SubOrg, org_id.as_bytes())?
        .ok_or_else(|| refused("this organization no longer exists"))?;
    Ok((token, org, invitation))
}

pub(super) async fn step(ctx: &ProtocolCtx, step: EmailLinkStep) -> Result<ProtocolReply> {
    match step {
        EmailLinkStep::RequestMagicLink {
            email,
            issuer,
            carried,
        } => super::magic_link::request(ctx, &email, issuer, &carried).await,
        EmailLinkStep::UseMagicLink { token, device } => {
            super::magic_link::sign_in(ctx, &token, device.as_deref()).await
        }
        EmailLinkStep::CheckInvitation { token } => {
            let (_, org, invitation) = check_invitation(ctx, &token)?;
            let reader = ctx.reader();
            let has_account = reader.exists(Table::UserEmail, invitation.email.as_bytes())?;
            let stored: Option<serde_json::Value> =
                reader.get(Table::Settings, SettingsSection::Auth.as_str().as_bytes())?;
            Ok(ProtocolReply::Document(json!({
                "organization": org.display_name.clone().unwrap_or(org.name.clone()),
                "email": invitation.email,
                "has_account": has_account,
                "password_policy": crate::settings::render(SettingsSection::Auth, stored.as_ref()),
            })))
        }
        EmailLinkStep::AcceptInvitation {
            token,
            new_user,
            name,
            password_hash,
        } => {
            let (token, org, invitation) = check_invitation(ctx, &token)?;
            let op = Op::SubOrg(SubOrgWrite::Accept {
                org: org.id.clone(),
                invitation: invitation.id,
                nonce: token.nonce,
                new_user,
                name,
                password_hash,
            });
            let existing: Option<crate::ids::UserId> = ctx
                .reader()
                .get(Table::UserEmail, invitation.email.as_bytes())?;
            let actor = PrincipalKind::User {
                id: existing.unwrap_or(new_user),
                email: invitation.email.clone(),
            };
            ctx.propose(actor, op).await?;
            Ok(ProtocolReply::Document(json!({
                "organization": org.display_name.clone().unwrap_or(org.name.clone()),
                "email": invitation.email,
            })))
        }
        EmailLinkStep::Check { token } => {
            let (_, kind, user) = check(ctx, &token)?;
            let stored: Option<serde_json::Value> = ctx
                .reader()
                .get(Table::Settings, SettingsSection::Auth.as_str().as_bytes())?;
            let policy = crate::settings::render(SettingsSection::Auth, stored.as_ref());
            Ok(ProtocolReply::Document(json!({
                "purpose": kind.as_str(),
                "email": user.email,
                "password_policy": policy,
            })))
        }
        EmailLinkStep::Use {
            token,
            password_hash,
        } => {
            let (token, kind, user) = check(ctx, &token)?;
            let op = Op::Email(EmailWrite::UseLink {
                user: user.id,
                kind,
                nonce: token.nonce,
                password_hash,
            });
            let actor = PrincipalKind::User {
                id: user.id,
                email: user.email.clone(),
            };
            ctx.propose(actor.clone(), op).await?;
            if kind == EmailRequestKind::PasswordReset {
                // Whoever held the old password is signed out everywhere: every session and
                // every token of the account ends.
                for target in [
                    RevokeTarget::UserSessions(UserKey::Id(user.id)),
                    RevokeTarget::UserTokens(UserKey::Id(user.id)),
                ] {
                    ctx.propose(actor.clone(), Op::Revoke(target)).await?;
                }
            }
            Ok(ProtocolReply::Document(json!({
                "purpose": kind.as_str(),
                "email": user.email,
            })))
        }
    }
}
