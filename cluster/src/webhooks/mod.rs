//! Sending webhook deliveries: the SSRF guard on receiver URLs (`target.rs`), the signature
//! headers (`signature.rs`) and one bounded HTTP attempt (`send.rs`). The dispatcher
//! (`service/webhooks.rs`) and the admin `test` (`oauth/webhooks.rs`) both send through here.

mod send;
mod signature;
pub mod ssf;
mod target;

pub use crate::model::TUNNEL_KIND;
pub use send::{Attempt, SendLimits, Sender, TlsTrust, send};
pub use signature::{SECRET_PREFIX, generate_secret, signature_headers};
pub use target::{TargetPolicy, check_url, resolve, resolve_host};
