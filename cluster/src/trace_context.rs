//! Trace context across nodes: a W3C `traceparent` string travels in the RPC frames of
//! forwarded requests, so one request's spans on a frontend and on the node that serves it
//! share one trace. The node installs the functions that read and set a span's OpenTelemetry
//! context when it exports traces (`OTEL_EXPORTER_OTLP_ENDPOINT`); without them nothing is
//! carried and nothing is paid.

use std::sync::OnceLock;

/// How a span's trace context is read and set (installed once by the node).
pub struct TraceHooks {
    /// The span's context as a `traceparent` header value.
    pub traceparent: fn(&tracing::Span) -> Option<String>,
    /// Makes a `traceparent` the span's parent.
    pub adopt: fn(&tracing::Span, &str),
    /// The span's trace id (hex), for logs.
    pub trace_id: fn(&tracing::Span) -> Option<String>,
}

static HOOKS: OnceLock<TraceHooks> = OnceLock::new();

/// Installs the hooks (the first installation wins).
pub fn install(hooks: TraceHooks) {
    let _ = HOOKS.set(hooks);
}

/// The current span's context, to carry to another node.
pub fn current_traceparent() -> Option<String> {
    let hooks = HOOKS.get()?;
    (hooks.traceparent)(&tracing::Span::current())
}

/// Makes `traceparent` (from a request header or an RPC frame) the parent of `span`.
pub fn adopt(span: &tracing::Span, traceparent: &str) {
    if let Some(hooks) = HOOKS.get() {
        (hooks.adopt)(span, traceparent);
    }
}

/// The trace id of `span`, when traces are exported.
pub fn trace_id(span: &tracing::Span) -> Option<String> {
    let hooks = HOOKS.get()?;
    (hooks.trace_id)(span)
}
