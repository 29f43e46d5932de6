//! Counting a request the node serves against its org's rate limits (see `rate_limit`).

use std::hash::BuildHasher;

use super::Service;
use crate::caller::{Credential, RequestContext};
use crate::error::{ClusterError, Result};
use crate::model::DirectoryEntry;
use crate::oauth::org_settings::settings;
use crate::protocol::ProtocolRequest;
use crate::query::{Query, Request};
use crate::raft::GroupHandle;
use crate::rate_limit::{OrgLimits, RateClass, Subject, record};
use crate::settings::SettingsSection;
use crate::tables::OrgReader;

impl Service {
    /// Counts `request`, served here from `shard`, against the org's limit of its class and
    /// leaves the caller's quota for the frontend; refuses it once the window's limit is used.
    pub(super) fn count_request(
        &self,
        entry: &DirectoryEntry,
        shard: &GroupHandle,
        credential: &Credential,
        request: &Request,
        ctx: &RequestContext,
    ) -> Result<()> {
        let limiter = &self.inner.limiter;
        if !limiter.enabled() {
            return Ok(());
        }
        let Some((class, subject)) = classify(request, credential, ctx, limiter.hasher()) else {
            return Ok(());
        };
        let now = self.inner.clock.now();
        let limits = match limiter.cached_limits(entry.org_id, now) {
            Some(limits) => limits,
            None => {
                let reader = OrgReader::new(shard.store.clone(), entry.org_id);
                let limits = OrgLimits::from_security_settings(&settings(
                    &reader,
                    SettingsSection::Security,
                )?);
                limiter.remember_limits(entry.org_id, limits, now);
                limits
            }
        };
        let limit = limits.of(class);
        if limit == 0 {
            return Ok(());
        }
        match limiter.take(entry.org_id, class, subject, limit, now) {
            Ok(quota) => {
                record(quota);
                Ok(())
            }
            Err(quota) => {
                record(quota);
                self.inner.metrics.rate_limited(class.as_str());
                let wait = quota.reset.saturating_sub(now.0.div_euclid(1_000)).max(1);
                Err(ClusterError::RateLimited {
                    class: class.as_str().to_string(),
                    limit,
                    retry_after_secs: u64::try_from(wait).unwrap_or(1),
                })
            }
        }
    }
}

/// The class and subject of `request`, or `None` for requests no limit applies to (the early
/// credential check, which the request it precedes is counted as; hosted pages and protocol
/// endpoints other than the token endpoint, which have their own throttles).
fn classify(
    request: &Request,
    credential: &Credential,
    ctx: &RequestContext,
    hasher: &impl BuildHasher,
) -> Option<(RateClass, Subject)> {
    let class = match request {
        Request::Read(Query::ExportAudit(_)) => RateClass::AuditExport,
        Request::Read(_) => RateClass::AdminRead,
        Request::Write { .. } => RateClass::AdminWrite,
        Request::Check(_) => RateClass::Check,
        Request::Protocol(ProtocolRequest::Token { client, .. }) => {
            let subject = match &client.client_id {
                Some(id) => Subject::of(hasher, ("client", id.as_str())),
                None => address(ctx, hasher),
            };
            return Some((RateClass::Token, subject));
        }
        Request::Admit { .. } | Request::Protocol(_) => return None,
    };
    let subject = match credential {
        Credential::ApiKey(key) => Subject::of(hasher, ("key", key.as_str())),
        Credential::Bearer(token) => Subject::of(hasher, ("bearer", token.as_str())),
        Credential::None => address(ctx, hasher),
    };
    Some((class, subject))
}

fn address(ctx: &RequestContext, hasher: &impl BuildHasher) -> Subject {
    Subject::of(hasher, ("ip", ctx.ip.as_deref().unwrap_or("")))
}

#[cfg(test)]
mod tests {
    use std::collections::hash_map::RandomState;

    use super::*;

    #[test]
    fn reads_writes_and_exports_are_classed_by_credential() {
        let hasher = RandomState::new();
        let ctx = RequestContext::default();
        let key = Credential::ApiKey("lmk_a".into());
        let read = Request::Read(Query::AllSettings);
        let (class, a) = classify(&read, &key, &ctx, &hasher).expect("classed");
        assert_eq!(class, RateClass::AdminRead);
        let other = Credential::ApiKey("lmk_b".into());
        let (_, b) = classify(&read, &other, &ctx, &hasher).expect("classed");
        assert_ne!(a, b, "two keys count apart");
        let admit = Request::Admit {
            family: crate::model::Family::Users,
            write: true,
        };
        assert!(classify(&admit, &key, &ctx, &hasher).is_none());
    }
}
