//! An org's limits: the contract's defaults, changed in the `security` settings section
//! (`rate_limits`); 0 turns a class's limit off.

use serde_json::Value;

use super::RateClass;
use crate::settings::{SettingsSection, render};

/// Requests per window, by class (0: unlimited).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrgLimits {
    pub admin_reads_per_minute: u32,
    pub admin_writes_per_minute: u32,
    pub token_requests_per_minute: u32,
    pub checks_per_minute: u32,
    pub audit_exports_per_hour: u32,
}

impl Default for OrgLimits {
    /// The contract's defaults, as the settings schema declares them.
    fn default() -> Self {
        OrgLimits::from_security_settings(&render(SettingsSection::Security, None))
    }
}

impl OrgLimits {
    /// The limits in a rendered `security` settings document (0, no limit, where a field is
    /// absent: rendering fills every field with its default first).
    pub fn from_security_settings(doc: &Value) -> OrgLimits {
        let section = &doc["rate_limits"];
        let read = |name: &str| {
            section[name]
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0)
        };
        OrgLimits {
            admin_reads_per_minute: read("admin_reads_per_minute"),
            admin_writes_per_minute: read("admin_writes_per_minute"),
            token_requests_per_minute: read("token_requests_per_minute"),
            checks_per_minute: read("checks_per_minute"),
            audit_exports_per_hour: read("audit_exports_per_hour"),
        }
    }

    /// The limit of `class` (0: none).
    pub fn of(&self, class: RateClass) -> u32 {
        match class {
            RateClass::AdminRead => self.admin_reads_per_minute,
            RateClass::AdminWrite => self.admin_writes_per_minute,
            RateClass::Token => self.token_requests_per_minute,
            RateClass::Check => self.checks_per_minute,
            RateClass::AuditExport => self.audit_exports_per_hour,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn settings_change_some_classes_and_defaults_fill_the_rest() {
        let patch = json!({"rate_limits": {"admin_writes_per_minute": 5, "checks_per_minute": 0}});
        let limits =
            OrgLimits::from_security_settings(&render(SettingsSection::Security, Some(&patch)));
        assert_eq!(limits.of(RateClass::AdminWrite), 5);
        assert_eq!(limits.of(RateClass::Check), 0);
        assert_eq!(limits.of(RateClass::AdminRead), 1_000);
        assert_eq!(OrgLimits::default().of(RateClass::AuditExport), 10);
        assert_eq!(OrgLimits::default().of(RateClass::Token), 30);
    }
}
