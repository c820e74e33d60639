//! Logs and traces. Logs go to standard error, as text or, with `BPAAS_LOG_FORMAT=json`, one
//! JSON object a line with the fields of the request it belongs to. When the standard
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, the server
//! also exports its spans over OTLP/HTTP (protobuf, or JSON with
//! `OTEL_EXPORTER_OTLP_PROTOCOL=http/json`), each request continuing the caller's W3C
//! `traceparent`; the other standard `OTEL_*` settings (headers, timeouts, batching, service
//! name, resource attributes, `OTEL_SDK_DISABLED`) apply as the OpenTelemetry SDK reads them.

use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::HeaderMap;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Whether spans are exported: only then is a caller's `traceparent` worth reading.
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// The process's logging, and its trace export when there is one; [`Telemetry::shutdown`]
/// sends the spans still queued.
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Installs the global subscriber: logs always, trace export when `export_traces` and the
    /// OTLP settings ask for it. A bad OTLP setting is reported, and the process goes on
    /// logging without export.
    pub fn init(export_traces: bool) -> Result<Telemetry, String> {
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
        let (traces, problem) = match export_traces.then(tracer_provider) {
            Some(Ok(provider)) => (provider, None),
            Some(Err(problem)) => (None, Some(problem)),
            None => (None, None),
        };
        let exporter = traces
            .as_ref()
            .map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer("bpaas")));
        // A log line that cannot be written is dropped: by default the subscriber would say so
        // on stderr, and that panics the task that logged when stderr is closed.
        let logs = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .log_internal_errors(false);
        let registry = tracing_subscriber::registry().with(filter).with(exporter);
        if std::env::var("BPAAS_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
            let logs = logs.json().with_current_span(true).with_span_list(false);
            registry.with(logs).init();
        } else {
            registry.with(logs).init();
        }
        EXPORTING.store(traces.is_some(), Ordering::Relaxed);
        match problem {
            Some(problem) => Err(problem),
            None => Ok(Telemetry { traces }),
        }
    }

    /// Exports what is still queued (bounded by `OTEL_EXPORTER_OTLP_TIMEOUT`).
    pub fn shutdown(self) {
        if let Some(provider) = self.traces
            && let Err(error) = provider.shutdown()
        {
            tracing::warn!(%error, "traces still queued could not be exported");
        }
    }
}

/// The OTLP/HTTP trace pipeline, when an endpoint is configured and the SDK is not disabled.
fn tracer_provider() -> Result<Option<SdkTracerProvider>, String> {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    let configured =
        set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") || set("OTEL_EXPORTER_OTLP_ENDPOINT");
    let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    if !configured || disabled {
        return Ok(None);
    }
    let protocol = std::env::var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        .or_else(|_| std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL"));
    let protocol = match protocol.as_deref().map(str::trim) {
        Err(_) | Ok("" | "http/protobuf") => Protocol::HttpBinary,
        Ok("http/json") => Protocol::HttpJson,
        Ok(other) => {
            return Err(format!(
                "OTEL_EXPORTER_OTLP_PROTOCOL={other} is not supported: use http/protobuf or \
                 http/json; traces are not exported"
            ));
        }
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(protocol)
        .build()
        .map_err(|e| format!("cannot export traces ({e}); traces are not exported"))?;
    let mut resource = Resource::builder().with_attribute(opentelemetry::KeyValue::new(
        "service.version",
        env!("CARGO_PKG_VERSION"),
    ));
    let named = set("OTEL_SERVICE_NAME")
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|a| a.contains("service.name="));
    if !named {
        resource = resource.with_service_name("bpaas");
    }
    Ok(Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource.build())
            .build(),
    ))
}

/// Makes `span` a child of the caller's trace (W3C `traceparent`/`tracestate`) when spans are
/// exported.
pub fn continue_trace(span: &tracing::Span, headers: &HeaderMap) {
    if !EXPORTING.load(Ordering::Relaxed) || !headers.contains_key("traceparent") {
        return;
    }
    let caller = TraceContextPropagator::new().extract(&Headers(headers));
    let _ = span.set_parent(caller);
}

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}
