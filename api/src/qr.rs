//! QR codes for authenticator apps, as SVG data URIs (the API returns them, the hosted page
//! shows them).

use base64::Engine;
use qrcode::QrCode;
use qrcode::render::svg;

/// The QR code of `text` as a `data:image/svg+xml;base64,…` URI (empty if it cannot be
/// encoded, which an `otpauth://` URI of bounded length never is).
pub fn svg_data_uri(text: &str) -> String {
    let Ok(code) = QrCode::new(text.as_bytes()) else {
        return String::new();
    };
    let image = code
        .render::<svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(image)
    )
}
