//! The org's email settings pointed at a local SMTP sink (`lumo_chaos::smtp_sink`).

use serde_json::{Value, json};

use crate::Api;

/// Turns the org's email on through plain SMTP on 127.0.0.1:`port`, with `extra` settings
/// merged in; the settings must be accepted.
pub async fn send_through_sink(api: &Api, port: u16, extra: Value) -> anyhow::Result<()> {
    let mut body = json!({"enabled": true, "provider": "smtp", "smtp_host": "127.0.0.1",
        "smtp_port": port, "smtp_secure": false, "from_email": "no-reply@acme.test"});
    if let (Value::Object(base), Value::Object(more)) = (&mut body, extra) {
        base.extend(more);
    }
    let reply = api.put("/admin/settings/email", body).await?;
    anyhow::ensure!(reply.status == 200, "email settings: {}", reply.text);
    Ok(())
}
