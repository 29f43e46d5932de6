//! `~/admin/users`: CRUD, block, verify, password, email requests.

use axum::Router;
use axum::response::Response;
use axum::routing::{get, post};
use lumo_cluster::ClusterError;
use lumo_cluster::clock::Timestamp;
use lumo_cluster::command::{EmailWrite, NewUser, Op, UserKey, UserPatch};
use lumo_cluster::ids::UserId;
use lumo_cluster::model::EmailRequestKind;
use lumo_cluster::query::{Query, Reply};
use lumo_cluster::settings::SettingsSection;

use crate::dto::user::UserDto;
use crate::envelope::{self, ListShape};
use crate::error::{ApiError, ApiResult};
use crate::extract::body::is_email;
use crate::extract::{Body, Ctx, JsonBody, ListQuery};
use crate::password;
use crate::reply;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(list).post(create))
        .route(
            "/admin/users/{userId}",
            get(show).put(update).patch(update).delete(remove),
        )
        .route("/admin/users/{userId}/block", post(block))
        .route("/admin/users/{userId}/unblock", post(unblock))
        .route("/admin/users/{userId}/mark-verified", post(mark_verified))
        .route("/admin/users/{userId}/verify-email", post(verify_email))
        .route("/admin/users/{userId}/password-reset", post(password_reset))
        .route(
            "/admin/users/{userId}/password",
            post(set_password).put(set_password),
        )
        .route("/admin/users/{userId}/mfa/reset", post(mfa_reset))
}

/// Answers with the user after a change.
pub fn user_response(reply: Reply, message: &str) -> ApiResult<Response> {
    let view = reply!(reply, Reply::User);
    Ok(envelope::data_message(UserDto::from(view), message))
}

async fn list(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let params = query.list(&["role", "group", "blocked", "isActive", "emailVerified"])?;
    let page = reply!(ctx.read(Query::ListUsers(params)).await?, Reply::Users);
    let items: Vec<UserDto> = page.items.iter().cloned().map(UserDto::from).collect();
    Ok(envelope::list(&page, items, ListShape::Meta))
}

async fn show(ctx: Ctx) -> ApiResult<Response> {
    let key: UserKey = ctx.key("userId")?;
    let view = reply!(ctx.read(Query::GetUser(key)).await?, Reply::User);
    Ok(envelope::data(UserDto::from(view)))
}

const RELATION_FIELDS: &[&str] = &["roles", "groups", "permissions"];

fn refuse_relations(body: &mut Body) {
    for field in RELATION_FIELDS {
        if body.has(field) {
            body.problem(
                field,
                format!("is managed with /admin/users/{{userId}}/{field}"),
            );
        }
    }
}

fn check_email(body: &mut Body, field: &str, email: &str) {
    if !email.is_empty() && !is_email(email) {
        body.problem(field, "must be a valid email address");
    }
}

async fn create(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let email = body.required_str("email", 254).to_lowercase();
    check_email(&mut body, "email", &email);
    let password = body.secret("password", password::MAX_PASSWORD_CHARS);
    let given_name = body
        .opt_str("givenName", 200)
        .or_else(|| body.opt_str("given_name", 200));
    let family_name = body
        .opt_str("familyName", 200)
        .or_else(|| body.opt_str("family_name", 200));
    let name = body
        .opt_str("name", 200)
        .or_else(|| match (&given_name, &family_name) {
            (Some(g), Some(f)) => Some(format!("{g} {f}")),
            (Some(g), None) => Some(g.clone()),
            _ => None,
        });
    let new = NewUser {
        id: UserId::generate(),
        email,
        password_hash: None,
        username: body.opt_str("username", 100),
        name,
        given_name,
        family_name,
        picture: body.opt_str("picture", 2048),
        phone_number: body.opt_str("phoneNumber", 32),
        email_verified: body.opt_bool("emailVerified").unwrap_or(false),
        locale: body.opt_str("locale", 35),
        zoneinfo: body.opt_str("zoneinfo", 64),
        is_active: body.opt_bool("isActive"),
    };
    refuse_relations(&mut body);
    body.finish()?;
    let password_hash = match password {
        Some(password) => Some(password::accept(&ctx, "password", password).await?),
        None => None,
    };
    let id = new.id;
    let op = Op::CreateUser(NewUser {
        password_hash,
        ..new
    });
    let view = reply!(
        ctx.write_then(op, Query::GetUser(UserKey::Id(id))).await?,
        Reply::User
    );
    Ok(envelope::created(UserDto::from(view), "User created"))
}

async fn update(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let key: UserKey = ctx.key("userId")?;
    let mut body = Body::new(json);
    let email = body.opt_str("email", 254).map(|e| e.to_lowercase());
    if let Some(email) = &email {
        check_email(&mut body, "email", email);
    }
    if body.raw("email").is_some_and(|v| v.is_null()) {
        body.problem("email", "may not be null");
    }
    let password = body.secret("password", password::MAX_PASSWORD_CHARS);
    let patch = UserPatch {
        email,
        username: body.nullable_str("username", 100),
        name: body.nullable_str("name", 200),
        given_name: body.nullable_str("givenName", 200),
        family_name: body.nullable_str("familyName", 200),
        picture: body.nullable_str("picture", 2048),
        phone_number: body.nullable_str("phoneNumber", 32),
        locale: body.nullable_str("locale", 35),
        zoneinfo: body.nullable_str("zoneinfo", 64),
        email_verified: body.opt_bool("emailVerified"),
        phone_number_verified: body.opt_bool("phoneNumberVerified"),
        is_active: body.opt_bool("isActive"),
        blocked: body.opt_bool("blocked"),
        password_hash: None,
    };
    refuse_relations(&mut body);
    body.finish()?;
    let password_hash = match password {
        Some(password) => Some(password::accept(&ctx, "password", password).await?),
        None => None,
    };
    let then = Query::GetUser(match (&key, &patch.email) {
        (UserKey::Email(_), Some(new_email)) => UserKey::Email(new_email.clone()),
        _ => key.clone(),
    });
    let op = Op::UpdateUser {
        user: key,
        patch: UserPatch {
            password_hash,
            ..patch
        },
    };
    user_response(ctx.write_then(op, then).await?, "User updated")
}

async fn remove(ctx: Ctx) -> ApiResult<Response> {
    let key: UserKey = ctx.key("userId")?;
    ctx.write(Op::DeleteUser(key)).await?;
    Ok(envelope::message("User deleted"))
}

async fn set_blocked(ctx: Ctx, blocked: bool) -> ApiResult<Response> {
    let key: UserKey = ctx.key("userId")?;
    let op = Op::SetUserBlocked {
        user: key.clone(),
        blocked,
    };
    let message = if blocked {
        "User blocked"
    } else {
        "User unblocked"
    };
    user_response(ctx.write_then(op, Query::GetUser(key)).await?, message)
}

async fn block(ctx: Ctx) -> ApiResult<Response> {
    set_blocked(ctx, true).await
}

async fn unblock(ctx: Ctx) -> ApiResult<Response> {
    set_blocked(ctx, false).await
}

async fn mark_verified(ctx: Ctx) -> ApiResult<Response> {
    let key: UserKey = ctx.key("userId")?;
    let reply = ctx
        .write_then(Op::MarkUserVerified(key.clone()), Query::GetUser(key))
        .await?;
    user_response(reply, "Email marked as verified")
}

/// How long a verification or reset link stays valid.
const EMAIL_TOKEN_TTL_MS: i64 = 24 * 3_600_000;

/// True when the org's email settings send (enabled, SMTP, a host).
async fn email_sends(ctx: &Ctx) -> ApiResult<bool> {
    let text = reply!(
        ctx.read(Query::Settings(SettingsSection::Email)).await?,
        Reply::Json
    );
    let doc: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(lumo_cluster::settings::email_sends(&doc))
}

async fn request_email(ctx: Ctx, kind: EmailRequestKind) -> ApiResult<Response> {
    let key: UserKey = ctx.key("userId")?;
    let origin = ctx
        .context
        .origin
        .clone()
        .unwrap_or_else(|| "http://localhost".into());
    let op = Op::Email(EmailWrite::Request {
        user: key,
        kind,
        nonce: lumo_cluster::mail::link::new_nonce(),
        expires_at: Timestamp::now().plus_millis(EMAIL_TOKEN_TTL_MS),
        issuer: format!("{origin}/orgs/{}/api/v1", ctx.org),
    });
    ctx.write(op).await?;
    let what = match kind {
        EmailRequestKind::VerifyEmail => "Verification email",
        EmailRequestKind::PasswordReset => "Password reset email",
        EmailRequestKind::MagicLink => "Sign-in link email",
    };
    Ok(envelope::message(&if email_sends(&ctx).await? {
        format!("{what} queued for delivery")
    } else {
        format!(
            "{what} recorded, but not sent: this organization's email delivery is off (configure ~/admin/settings/email)"
        )
    }))
}

async fn verify_email(ctx: Ctx) -> ApiResult<Response> {
    request_email(ctx, EmailRequestKind::VerifyEmail).await
}

async fn password_reset(ctx: Ctx) -> ApiResult<Response> {
    request_email(ctx, EmailRequestKind::PasswordReset).await
}

async fn set_password(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let key: UserKey = ctx.key("userId")?;
    let mut body = Body::new(json);
    let password = body.secret("password", password::MAX_PASSWORD_CHARS);
    if password.is_none() && !body.has("password") {
        body.problem("password", "is required");
    } else if password.is_none() && body.raw("password").is_some_and(|v| v.is_null()) {
        body.problem("password", "may not be null");
    }
    body.finish()?;
    let password = password.ok_or_else(|| ApiError::invalid("password", "is required"))?;
    let password_hash = password::accept(&ctx, "password", password).await?;
    ctx.write(Op::SetUserPassword {
        user: key,
        password_hash,
    })
    .await?;
    Ok(envelope::message("Password updated"))
}

async fn mfa_reset(ctx: Ctx) -> ApiResult<Response> {
    let key: UserKey = ctx.key("userId")?;
    // Authenticate and resolve the user first, so callers learn 401/403/404 before 410.
    ctx.read(Query::GetUser(key)).await?;
    Err(ApiError::Cluster(ClusterError::Gone {
        message: "MFA reset was removed: issue a temporary access code or remove a single authenticator instead".into(),
    }))
}
