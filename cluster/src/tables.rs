//! Table tags and typed access to one org's rows inside its shard.
//!
//! Key suffix (after the group prefix added by storage): `org id (16) ++ table tag (1) ++ key`.
//! Values are JSON, so entities can gain fields without a migration.

use lumo_storage::{SmBatch, SmStore};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::ids::OrgId;

/// The tables of an org (and of the meta group, under [`OrgId::SYSTEM`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Table {
    Org = 0x01,
    User = 0x02,
    UserEmail = 0x03,
    UserName = 0x04,
    Group = 0x05,
    GroupSlug = 0x06,
    Role = 0x07,
    RoleSlug = 0x08,
    Permission = 0x09,
    PermissionSlug = 0x0a,
    Scope = 0x0b,
    ScopeName = 0x0c,
    /// Relations, both directions: `edge kind ++ from ++ to`.
    Edge = 0x10,
    Audit = 0x20,
    AuditHead = 0x21,
    AuditRetention = 0x22,
    Settings = 0x30,
    ApiKey = 0x40,
    ApiKeyHash = 0x41,
    Identity = 0x50,
    IdentityIndex = 0x51,
    EmailRequest = 0x60,
    /// Custom email templates by kind name.
    EmailTemplate = 0x61,
    /// B2B organizations by id.
    SubOrg = 0x62,
    /// Organization slug -> id.
    SubOrgSlug = 0x63,
    /// Organization roles by `sub_org_key(org, role id)`.
    SubOrgRole = 0x64,
    /// Members by `sub_org_key(org, user id)`.
    SubOrgMember = 0x65,
    /// `member_of_key(user, org)` -> (): the organizations a user is in.
    SubOrgMemberOf = 0x66,
    /// Invitations by `sub_org_key(org, invitation id)`.
    SubOrgInvitation = 0x67,
    /// The integer id counters.
    SubOrgHead = 0x68,
    /// `sub_org_key(org, email)` -> the invitation id last sent to that address.
    SubOrgInviteEmail = 0x69,
    /// `choice_key(session, client)` -> the organization a login session chose for a client.
    SubOrgChoice = 0x6A,
    /// A parent org's sandboxes by slug.
    Sandbox = 0x6B,
    /// OAuth clients by integer id.
    OAuthClient = 0x70,
    /// `client_id` -> integer id.
    OAuthClientKey = 0x71,
    /// Token signing keys by `kid` (ULID text, so creation order).
    SigningKey = 0x72,
    /// Browser sessions by id.
    Session = 0x73,
    /// Session cookie hash -> session id.
    SessionSecret = 0x74,
    /// `user ++ client_id` -> consent.
    Consent = 0x75,
    /// Authorization code hash -> code.
    AuthCode = 0x76,
    /// Issued access tokens by integer id.
    AccessToken = 0x77,
    /// `jti` -> access token id.
    AccessTokenJti = 0x78,
    /// Secondary indexes of tokens and sessions (see `apply/grants.rs`).
    GrantIndex = 0x79,
    /// Refresh token hash -> refresh token.
    RefreshToken = 0x7a,
    /// Refresh family id -> family.
    RefreshFamily = 0x7b,
    /// Device code hash -> device grant.
    DeviceGrant = 0x7c,
    /// User code -> device code hash.
    DeviceUserCode = 0x7d,
    /// CIBA `auth_req_id` hash -> request.
    CibaRequest = 0x7e,
    /// PAR `request_uri` -> pushed request.
    PushedRequest = 0x7f,
    /// User id -> failed sign-ins.
    LoginFailures = 0x90,
    /// CIBA public id -> `auth_req_id` hash.
    CibaId = 0x91,
    /// Hash of (client id, assertion `jti`) -> the assertion's expiry (JWT bearer replay).
    AssertionJti = 0x92,
    /// The org's Zanzibar schema (one row, empty key).
    RelationSchema = 0xa0,
    /// Zanzibar tuples by their text form.
    RelationTuple = 0xa1,
    /// The tuple change feed by sequence number (big-endian).
    RelationChange = 0xa2,
    /// The last change sequence number (one row, empty key).
    RelationChangeSeq = 0xa3,
    /// ABAC attribute definitions by id.
    AbacAttribute = 0xb0,
    /// ABAC attribute slug -> id.
    AbacAttributeSlug = 0xb1,
    /// ABAC policies by id.
    AbacPolicy = 0xb2,
    /// ABAC policy slug -> id.
    AbacPolicySlug = 0xb3,
    /// `user id ++ attribute slug` -> value.
    AbacUserValue = 0xb4,
    /// `resource type \0 resource id \0 attribute slug` -> value.
    AbacResourceValue = 0xb5,
    /// AI agents by database id.
    Agent = 0xc0,
    /// Public `agt_…` id -> database id.
    AgentPublicId = 0xc1,
    /// The agent's OAuth `client_id` -> database id.
    AgentClient = 0xc2,
    /// SHA-256 of an agent key (current or in its grace window) -> database id.
    AgentKeyHash = 0xc3,
    /// JIT tasks by `task_…` id.
    JitTask = 0xc4,
    /// JIT requests by `jit_…` id.
    JitRequest = 0xc5,
    /// Agent approvals by `apr_…` token.
    AgentApproval = 0xc6,
    /// MCP servers by server id.
    McpServer = 0xc7,
    /// MCP server resource URI -> server id.
    McpResource = 0xc8,
    /// Token vault connections by `agent id ++ connection id`.
    VaultConnection = 0xc9,
    /// The org's Ed25519 AAuth token keys, by kid.
    AAuthKey = 0xd0,
    /// Agents' AAuth identities, by agent id.
    AAuthAgent = 0xd1,
    /// Registered AAuth resources, by `res_…` id.
    AAuthResource = 0xd2,
    /// AAuth identifiers (agents' and resources') to their owner.
    AAuthIdentifier = 0xd3,
    /// Used signature nonces.
    AAuthNonce = 0xd4,
    /// Consent requests, by request-token hash.
    AAuthPending = 0xd5,
    /// Consent codes, by hash.
    AAuthCode = 0xd6,
    /// Refresh tokens, by hash.
    AAuthRefresh = 0xd7,
    /// Revoked AAuth token ids.
    AAuthRevoked = 0xd8,
    /// Webhooks, by id (8 bytes, big-endian).
    Webhook = 0xe0,
    /// Deliveries, by webhook id then sequence (both big-endian).
    WebhookDelivery = 0xe1,
    /// Deliveries still to send: same key as `WebhookDelivery`, value the time they are due.
    WebhookPending = 0xe2,
    /// The org's webhook counters.
    WebhookHead = 0xe3,
    /// MFA authenticators, by user id (16 bytes) then `mfa_…` id.
    MfaAuthenticator = 0xe8,
    /// A user's recovery codes (hashes), by user id.
    MfaRecoveryCodes = 0xe9,
    /// MFA challenges, by `mfc_…` id.
    MfaChallenge = 0xea,
    /// A user's recent MFA failures and lockout, by user id.
    MfaLockout = 0xeb,
    /// Trusted devices, by user id then `tdv_…` id.
    MfaTrustedDevice = 0xec,
    /// Temporary access codes, by user id then `tap_…` id.
    MfaAccessCode = 0xed,
    /// Passkey credentials, by user id then the authenticator's `mfa_…` id.
    MfaPasskey = 0xee,
    /// WebAuthn ceremonies waiting for the browser, by ceremony id.
    WebauthnCeremony = 0xef,
    /// Social login providers, by id (8 bytes, big-endian).
    SocialProvider = 0xf0,
    /// Provider slug -> id.
    SocialProviderSlug = 0xf1,
    /// The providers' id counter (one row, empty key).
    SocialHead = 0xf2,
    /// Logins waiting for the upstream's answer, by `sls_…` id.
    SocialLoginState = 0xf3,
    /// SCIM attributes of users and groups without an admin API field, by resource id.
    ScimExtra = 0xf4,
    /// SAML service providers, by id (8 bytes, big-endian).
    SamlApp = 0xf5,
    /// SP entity id -> app id.
    SamlAppEntity = 0xf6,
    /// The apps' id counter (one row, empty key).
    SamlHead = 0xf7,
    /// The org's SAML signing key (one row, empty key).
    SamlIdpKey = 0xf8,
    /// Upstream SAML IdPs (SP mode), by id (8 bytes, big-endian).
    SamlUpstream = 0xf9,
    /// Upstream IdP entity id -> id.
    SamlUpstreamEntity = 0xfa,
    /// Logins waiting for an upstream IdP's response, by `sps_…` id.
    SamlSpLogin = 0xfb,
    /// Assertion ids already used (replay cache), by upstream id then assertion id.
    SamlSeenAssertion = 0xfc,
    /// Outbound SCIM: a pushed resource's downstream id, by kind tag then local id.
    ScimOutboundLink = 0xfd,
    /// The SAML apps a session signed in to: session id (8 bytes) then app id (8 bytes).
    SamlSessionApp = 0xfe,
    /// Single logouts going round a session's apps, by `slc_…` id.
    SamlLogoutChain = 0xff,
    // Meta group tables.
    DirectorySlug = 0x80,
    DirectoryId = 0x81,
    KeyRoute = 0x82,
    Shard = 0x83,
    MetaCounter = 0x84,
    Node = 0x85,
    JoinNonce = 0x86,
}

/// The storage key suffix of `key` in `table` of `org`.
pub fn key(org: OrgId, table: Table, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(17 + key.len());
    out.extend_from_slice(&org.to_bytes());
    out.push(table as u8);
    out.extend_from_slice(key);
    out
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    Ok(serde_json::from_slice(bytes)?)
}

/// Anything rows of one org can be read from (committed state, or a transaction in progress).
pub trait Rows {
    /// The row at `k` of `table`.
    fn row<T: DeserializeOwned>(&self, table: Table, k: &[u8]) -> Result<Option<T>>;
    /// The org these rows belong to.
    fn org_id(&self) -> OrgId;
}

impl Rows for OrgReader {
    fn row<T: DeserializeOwned>(&self, table: Table, k: &[u8]) -> Result<Option<T>> {
        self.get(table, k)
    }
    fn org_id(&self) -> OrgId {
        self.org
    }
}

impl Rows for OrgTx {
    fn row<T: DeserializeOwned>(&self, table: Table, k: &[u8]) -> Result<Option<T>> {
        self.get(table, k)
    }
    fn org_id(&self) -> OrgId {
        self.reader.org
    }
}

/// Read access to one org's rows.
#[derive(Clone)]
pub struct OrgReader {
    store: SmStore,
    org: OrgId,
}

impl OrgReader {
    /// Reads `org` inside `store`.
    pub fn new(store: SmStore, org: OrgId) -> Self {
        OrgReader { store, org }
    }

    /// The org being read.
    pub fn org(&self) -> OrgId {
        self.org
    }

    /// The row at `k` of `table`.
    pub fn get<T: DeserializeOwned>(&self, table: Table, k: &[u8]) -> Result<Option<T>> {
        match self.store.get(&key(self.org, table, k))? {
            Some(bytes) => Ok(Some(decode(&bytes)?)),
            None => Ok(None),
        }
    }

    /// True when `k` exists in `table`.
    pub fn exists(&self, table: Table, k: &[u8]) -> Result<bool> {
        Ok(self.store.get(&key(self.org, table, k))?.is_some())
    }

    /// Visits rows of `table` whose key starts with `prefix`, decoding values, until `visit`
    /// returns false. The key given to `visit` is the part after `prefix`.
    pub fn scan<T: DeserializeOwned>(
        &self,
        table: Table,
        prefix: &[u8],
        reverse: bool,
        mut visit: impl FnMut(&[u8], T) -> bool,
    ) -> Result<()> {
        let full = key(self.org, table, prefix);
        let skip = full.len();
        let mut failure = None;
        self.store
            .scan(&full, None, reverse, |k, v| match decode::<T>(v) {
                Ok(value) => visit(&k[skip..], value),
                Err(e) => {
                    failure = Some(e);
                    false
                }
            })?;
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Visits only the keys (after `prefix`) of `table`.
    pub fn scan_keys(
        &self,
        table: Table,
        prefix: &[u8],
        mut visit: impl FnMut(&[u8]) -> bool,
    ) -> Result<()> {
        let full = key(self.org, table, prefix);
        let skip = full.len();
        self.store
            .scan(&full, None, false, |k, _| visit(&k[skip..]))?;
        Ok(())
    }

    /// Every row of the org, as raw `(org ++ table ++ key, value)` pairs.
    pub fn export_rows(&self) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut rows = Vec::new();
        self.store.scan(&self.org.to_bytes(), None, false, |k, v| {
            rows.push((k.to_vec(), v.to_vec()));
            true
        })?;
        Ok(rows)
    }

    /// Number of keys of `table` under `prefix`.
    pub fn count(&self, table: Table, prefix: &[u8]) -> Result<u64> {
        let mut n = 0u64;
        self.scan_keys(table, prefix, |_| {
            n += 1;
            true
        })?;
        Ok(n)
    }
}

/// Reads plus the pending writes of one command; committed by `apply` as one batch.
pub struct OrgTx {
    reader: OrgReader,
    batch: SmBatch,
    /// The log index of the entry being applied (0 outside Raft apply).
    log_index: u64,
}

impl OrgTx {
    /// A transaction on `org` inside `store`.
    pub fn new(store: SmStore, org: OrgId) -> Self {
        let batch = store.batch();
        OrgTx {
            reader: OrgReader::new(store, org),
            batch,
            log_index: 0,
        }
    }

    /// The same transaction, applying the log entry at `index`.
    pub fn at_log_index(mut self, index: u64) -> Self {
        self.log_index = index;
        self
    }

    /// The position of the entry being applied: its group and log index.
    pub fn position(&self) -> (u64, u64) {
        (self.reader.store.group(), self.log_index)
    }

    /// The committed state (without this transaction's writes).
    pub fn reader(&self) -> &OrgReader {
        &self.reader
    }

    /// The org of this transaction.
    pub fn org(&self) -> OrgId {
        self.reader.org
    }

    /// Reads `k`, seeing this transaction's own writes first.
    pub fn get<T: DeserializeOwned>(&self, table: Table, k: &[u8]) -> Result<Option<T>> {
        let full = key(self.reader.org, table, k);
        match self.batch.pending(&full) {
            Some(Some(bytes)) => Ok(Some(decode(bytes)?)),
            Some(None) => Ok(None),
            None => self.reader.get(table, k),
        }
    }

    /// True when `k` exists, seeing this transaction's own writes.
    pub fn exists(&self, table: Table, k: &[u8]) -> Result<bool> {
        let full = key(self.reader.org, table, k);
        match self.batch.pending(&full) {
            Some(v) => Ok(v.is_some()),
            None => self.reader.exists(table, k),
        }
    }

    /// Writes `value` at `k`.
    pub fn put<T: Serialize>(&mut self, table: Table, k: &[u8], value: &T) -> Result<()> {
        let bytes = serde_json::to_vec(value)?;
        self.batch.put(&key(self.reader.org, table, k), bytes);
        Ok(())
    }

    /// Deletes `k`.
    pub fn delete(&mut self, table: Table, k: &[u8]) {
        self.batch.delete(&key(self.reader.org, table, k));
    }

    /// Deletes every committed row of `table` whose key starts with `prefix`.
    pub fn delete_prefix(&mut self, table: Table, prefix: &[u8]) -> Result<()> {
        let mut doomed = Vec::new();
        self.reader.scan_keys(table, prefix, |rest| {
            let mut k = prefix.to_vec();
            k.extend_from_slice(rest);
            doomed.push(k);
            true
        })?;
        for k in doomed {
            self.delete(table, &k);
        }
        Ok(())
    }

    /// Writes a raw row exported from another shard (`org ++ table ++ key`); refuses rows of
    /// other orgs.
    pub fn put_raw(&mut self, suffix: &[u8], value: Vec<u8>) -> Result<()> {
        if !suffix.starts_with(&self.reader.org.to_bytes()) {
            return Err(crate::error::ClusterError::internal(
                "row of another organization",
            ));
        }
        self.batch.put(suffix, value);
        Ok(())
    }

    /// Deletes a raw row (`org ++ table ++ key`) of this org.
    pub fn delete_raw(&mut self, suffix: &[u8]) {
        if suffix.starts_with(&self.reader.org.to_bytes()) {
            self.batch.delete(suffix);
        }
    }

    /// Ends the transaction, returning the batch to commit.
    pub fn into_batch(self) -> SmBatch {
        self.batch
    }
}
