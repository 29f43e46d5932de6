//! Social login on the leader: an administrator's provider change (the client secret is sealed
//! there), and the two legs of a login through a provider.

use serde::{Deserialize, Serialize};

use crate::caller::Credential;
use crate::command::{SocialProviderFields, SocialProviderKey};

use super::LoginOutcome;

/// An administrator's change to a provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SocialProviderChange {
    Create {
        fields: SocialProviderFields,
        secret: Option<String>,
    },
    /// Create-or-replace: a slug that names no provider creates one.
    Put {
        key: SocialProviderKey,
        fields: SocialProviderFields,
        secret: Option<String>,
    },
    /// `secret`: `None` keeps it, `Some(None)` removes it.
    Patch {
        key: SocialProviderKey,
        fields: SocialProviderFields,
        secret: Option<Option<String>>,
    },
}

/// A step of social login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SocialStep {
    Save {
        credential: Credential,
        change: Box<SocialProviderChange>,
    },
    /// The browser leaves for the upstream (`~/oauth/social/{provider}`).
    Begin {
        provider: String,
        /// Our callback URL as the browser reaches it.
        redirect_uri: String,
        /// The authorization request to continue after the login.
        carried: Vec<(String, String)>,
    },
    /// The browser comes back (`~/oauth/social/{provider}/callback`).
    Finish {
        provider: String,
        state: String,
        /// The login cookie's value (`sls_….secret`).
        cookie: String,
        code: String,
        /// The trusted-device cookie, as the password form sends it.
        device: Option<String>,
    },
}

/// Where a social login step left the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SocialOutcome {
    Saved {
        provider: Box<crate::model::SocialProvider>,
        created: bool,
    },
    /// To the upstream's authorization endpoint, with the login cookie to set.
    Redirect { url: String, cookie: String },
    /// Back from the upstream: signed in or on to the second factor, and the request to
    /// continue.
    Finished {
        outcome: LoginOutcome,
        carried: Vec<(String, String)>,
    },
    /// Back from the upstream, refused: the login form's marker for why (`social_…`), and
    /// the request to show the form for again.
    Refused {
        reason: String,
        carried: Vec<(String, String)>,
    },
}
