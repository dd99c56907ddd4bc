//! The bounded export queue: an OpenTelemetry `SpanProcessor` that never blocks the code
//! that ends a span. `on_end` tries to put the span on a bounded channel (`max_queue`) and
//! counts it dropped when full; one task takes up to [`BATCH`] spans at a time (or whatever
//! came within [`LINGER`]) and posts them with the OTLP/HTTP exporter, each post bounded by
//! `export_timeout_ms`. A failed post drops its spans (counted), never retried: a dead
//! collector costs the gateway a failed post per batch and the dropped spans, nothing else.
//!
//! The SDK's own `BatchSpanProcessor` does the same but keeps its drop count to itself; the
//! gateway needs it in `/metrics`.

use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use tokio::sync::{mpsc, oneshot};

use super::TelemetryError;
use crate::config::{OtlpProtocol, TelemetryConfig};
use crate::metrics::count_dropped;

/// Most spans in one post.
pub(crate) const BATCH: usize = 512;
/// How long the task waits for more spans before posting what it has.
pub(crate) const LINGER: Duration = Duration::from_millis(500);
/// How long shutdown waits for the last posts.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(3);

/// The span processor: the sending side of the queue.
#[derive(Debug)]
pub struct QueueProcessor {
    queue: mpsc::Sender<SpanData>,
}

/// The exporting task's handle, and the provider kept alive with it.
#[derive(Debug)]
pub(crate) struct Handle {
    stop: Option<oneshot::Sender<oneshot::Sender<()>>>,
    provider: std::sync::Mutex<Option<opentelemetry_sdk::trace::SdkTracerProvider>>,
}

impl Handle {
    /// Keeps the tracer provider alive for as long as the pipeline runs.
    pub(crate) fn keep(&self, provider: opentelemetry_sdk::trace::SdkTracerProvider) {
        if let Ok(mut kept) = self.provider.lock() {
            *kept = Some(provider);
        }
    }

    /// Posts what is queued (within [`SHUTDOWN_WAIT`]) and stops the task.
    pub(crate) async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let (done, finished) = oneshot::channel();
            if stop.send(done).is_ok() {
                let _ = tokio::time::timeout(SHUTDOWN_WAIT, finished).await;
            }
        }
    }
}

impl QueueProcessor {
    /// Builds the exporter for `{endpoint}/v1/traces` and starts the exporting task on the
    /// current Tokio runtime.
    pub(crate) fn start(
        endpoint: &str,
        config: &TelemetryConfig,
    ) -> Result<(Self, Handle), TelemetryError> {
        let client = reqwest::Client::builder()
            .timeout(config.export_timeout)
            .build()
            .map_err(|e| TelemetryError(e.to_string()))?;
        let protocol = match config.protocol {
            OtlpProtocol::HttpProtobuf => Protocol::HttpBinary,
            OtlpProtocol::HttpJson => Protocol::HttpJson,
        };
        let mut exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(client)
            .with_protocol(protocol)
            .with_endpoint(format!("{endpoint}/v1/traces"))
            .with_timeout(config.export_timeout)
            .build()
            .map_err(|e| TelemetryError(e.to_string()))?;
        exporter.set_resource(
            &opentelemetry_sdk::Resource::builder()
                .with_service_name(config.service_name.clone())
                .build(),
        );
        let (queue, spans) = mpsc::channel(config.max_queue);
        let (stop, stopped) = oneshot::channel();
        tokio::spawn(run(exporter, spans, stopped, config.export_timeout));
        Ok((
            Self { queue },
            Handle {
                stop: Some(stop),
                provider: std::sync::Mutex::new(None),
            },
        ))
    }
}

impl SpanProcessor for QueueProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        if self.queue.try_send(span).is_err() {
            count_dropped("queue_full", 1);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// The exporting task: batches from the queue, one post at a time, until stopped.
async fn run(
    exporter: opentelemetry_otlp::SpanExporter,
    mut spans: mpsc::Receiver<SpanData>,
    mut stopped: oneshot::Receiver<oneshot::Sender<()>>,
    timeout: Duration,
) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let stop = tokio::select! {
            biased;
            done = &mut stopped => Some(done.ok()),
            first = spans.recv() => match first {
                Some(span) => {
                    batch.push(span);
                    None
                }
                None => Some(None),
            },
        };
        if let Some(done) = stop {
            while let Ok(span) = spans.try_recv() {
                batch.push(span);
                if batch.len() == BATCH {
                    post(&exporter, &mut batch, timeout).await;
                }
            }
            post(&exporter, &mut batch, timeout).await;
            if let Some(done) = done {
                let _ = done.send(());
            }
            return;
        }
        let deadline = tokio::time::Instant::now() + LINGER;
        while batch.len() < BATCH {
            match tokio::time::timeout_at(deadline, spans.recv()).await {
                Ok(Some(span)) => batch.push(span),
                Ok(None) | Err(_) => break,
            }
        }
        post(&exporter, &mut batch, timeout).await;
    }
}

/// Posts `batch` (emptying it); a failure counts its spans dropped.
async fn post(
    exporter: &opentelemetry_otlp::SpanExporter,
    batch: &mut Vec<SpanData>,
    timeout: Duration,
) {
    if batch.is_empty() {
        return;
    }
    let spans = std::mem::take(batch);
    let n = spans.len() as u64;
    match tokio::time::timeout(timeout, exporter.export(spans)).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            count_dropped("export_failed", n);
            tracing::debug!(error = %error, spans = n, "trace export failed; spans dropped");
        }
        Err(_) => {
            count_dropped("export_failed", n);
            tracing::debug!(spans = n, "trace export timed out; spans dropped");
        }
    }
}
