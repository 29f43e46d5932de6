//! The org's branding, as the hosted pages show it.

use crate::error::Result;
use crate::lookup::load_org;
use crate::model::{SamlIdp, SocialProvider};
use crate::protocol::Branding;
use crate::settings::SettingsSection;
use crate::tables::{OrgReader, Table};

/// Most social providers a login page lists.
const MAX_SHOWN: usize = 20;

use super::org_settings::settings;

/// The org's branding for the hosted pages.
pub(super) fn branding(reader: &OrgReader) -> Result<Branding> {
    let org = load_org(reader)?;
    let doc = settings(reader, SettingsSection::Branding)?;
    let (magic_link, magic_link_only) = super::magic_link::offered(&doc);
    let text = |k: &str| {
        doc[k]
            .as_str()
            .map(str::to_string)
            .filter(|s| !s.is_empty())
    };
    Ok(Branding {
        org_name: org.name,
        logo_url: text("logo_url"),
        primary_color: text("primary_color").unwrap_or_else(|| "#4f46e5".into()),
        background_color: text("background_color").unwrap_or_else(|| "#f8fafc".into()),
        button_text: text("button_text").unwrap_or_else(|| "Sign in".into()),
        welcome_title: text("welcome_title"),
        welcome_subtitle: text("welcome_subtitle"),
        footer_text: text("footer_text"),
        terms_url: text("terms_url"),
        privacy_url: text("privacy_url"),
        passkey_sign_in: crate::mfa::policy(reader)?.passwordless_passkey,
        magic_link,
        magic_link_only,
        social_providers: social_providers(reader)?,
        saml_providers: saml_providers(reader)?,
    })
}

/// The enabled upstream SAML IdPs, in the order they were added.
fn saml_providers(reader: &OrgReader) -> Result<Vec<(u64, String)>> {
    let mut idps = Vec::new();
    reader.scan(Table::SamlUpstream, &[], false, |_, idp: SamlIdp| {
        if idp.enabled {
            idps.push((idp.id, idp.name));
        }
        idps.len() < MAX_SHOWN
    })?;
    Ok(idps)
}

/// The enabled social providers, in the order they were added.
fn social_providers(reader: &OrgReader) -> Result<Vec<(String, String)>> {
    let mut providers = Vec::new();
    reader.scan(
        Table::SocialProvider,
        &[],
        false,
        |_, provider: SocialProvider| {
            if provider.enabled {
                providers.push((provider.provider, provider.display_name));
            }
            providers.len() < MAX_SHOWN
        },
    )?;
    Ok(providers)
}
