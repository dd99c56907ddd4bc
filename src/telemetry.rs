//! Logs and traces (DESIGN §18): the process's `tracing` subscriber — log lines as text or
//! JSON (`server.log_format`), and, with `[telemetry] otlp_endpoint`, OpenTelemetry traces
//! exported over OTLP/HTTP.
//!
//! Spans (see [`spans`]): one per request (continuing a W3C `traceparent` the caller sent),
//! per engine step, per store write and per provider call (provider, account, outcome,
//! duration). Span fields are ids, names and outcomes only: never a secret, never a body.
//!
//! Export never slows a request: a finished span is put on a bounded queue
//! ([`export::QueueProcessor`]) and a background task posts batches to
//! `{otlp_endpoint}/v1/traces`. A full queue drops the span, a failed export drops its batch
//! (never retried); both are counted in `refund_gateway_otel_spans_dropped_total{reason}`.
//! Without an endpoint no OpenTelemetry layer is installed at all.

pub mod export;
pub(crate) mod spans;

use opentelemetry::trace::TracerProvider as _;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogFormat, TelemetryConfig};

/// Keeps the trace pipeline alive; [`Telemetry::shutdown`] exports what is queued.
#[derive(Debug, Default)]
pub struct Telemetry {
    exporter: Option<export::Handle>,
}

impl Telemetry {
    /// Exports the spans still queued (at most a few seconds), then stops.
    pub async fn shutdown(self) {
        if let Some(exporter) = self.exporter {
            exporter.shutdown().await;
        }
    }
}

/// Why the trace pipeline could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the OTLP exporter: {0}")]
pub struct TelemetryError(String);

/// Installs the process's subscriber: log lines (`filter`, e.g. `RUST_LOG`) as text or JSON,
/// and the OpenTelemetry layer when `telemetry.otlp_endpoint` is set. Must run inside the
/// Tokio runtime (the exporter's task runs there). Call once.
pub fn init(
    filter: EnvFilter,
    format: LogFormat,
    telemetry: &TelemetryConfig,
    writer_stderr: bool,
) -> Result<Telemetry, TelemetryError> {
    let logs = match (format, writer_stderr) {
        (LogFormat::Text, false) => tracing_subscriber::fmt::layer().boxed(),
        (LogFormat::Text, true) => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed(),
        (LogFormat::Json, false) => json_layer().boxed(),
        (LogFormat::Json, true) => json_layer().with_writer(std::io::stderr).boxed(),
    }
    .with_filter(filter);
    let Some(endpoint) = &telemetry.otlp_endpoint else {
        tracing_subscriber::registry().with(logs).init();
        return Ok(Telemetry::default());
    };
    let (processor, handle) = export::QueueProcessor::start(endpoint, telemetry)?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(telemetry.service_name.clone())
        .build();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_resource(resource)
        .with_span_processor(processor)
        .build();
    let tracer = provider.tracer("refund-gateway");
    handle.keep(provider);
    // The gateway's own spans only (not sqlx's, hyper's or reqwest's): what §18 names.
    let traces = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(
            tracing_subscriber::filter::Targets::new()
                .with_target(spans::TARGET, tracing::Level::INFO),
        );
    tracing_subscriber::registry()
        .with(logs)
        .with(traces)
        .init();
    Ok(Telemetry {
        exporter: Some(handle),
    })
}

/// One JSON object per line, with the fields of the spans it happened in (the request's
/// `request_id` among them).
fn json_layer<S>() -> tracing_subscriber::fmt::Layer<
    S,
    tracing_subscriber::fmt::format::JsonFields,
    tracing_subscriber::fmt::format::Format<tracing_subscriber::fmt::format::Json>,
>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
}
