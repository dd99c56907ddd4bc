//! `[telemetry]`: OpenTelemetry traces over OTLP/HTTP (DESIGN §18). Without `otlp_endpoint`
//! nothing is exported. Applied at start (a reload reports a change as needing a restart).

use refund_provider::Problems;
use serde::Deserialize;

use super::rules::{between, section};

/// `[telemetry]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTelemetry {
    /// The collector's base URL (http or https), as `OTEL_EXPORTER_OTLP_ENDPOINT`: spans
    /// are posted to `{otlp_endpoint}/v1/traces`. Default: none, nothing is exported.
    otlp_endpoint: Option<String>,
    /// `"http/protobuf"` (default) or `"http/json"`: the body the spans are posted in.
    protocol: Option<String>,
    /// The `service.name` resource attribute of every span; default `"refund-gateway"`.
    service_name: Option<String>,
    /// Spans waiting for export at most, 64 to 1000000; default 4096. When the collector is
    /// slow or down, spans beyond it are dropped (counted in
    /// `refund_gateway_otel_spans_dropped_total{reason="queue_full"}`), never waited for.
    max_queue: Option<u64>,
    /// Time one export may take, in milliseconds, 100 to 60000; default 5000. A failed
    /// export's spans are dropped (counted, `reason="export_failed"`), never retried.
    export_timeout_ms: Option<u64>,
}

/// `[telemetry] protocol`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OtlpProtocol {
    #[default]
    HttpProtobuf,
    HttpJson,
}

/// The validated `[telemetry]` section.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TelemetryConfig {
    /// The collector's base URL without a trailing `/`; `None`: no export.
    pub otlp_endpoint: Option<String>,
    pub protocol: OtlpProtocol,
    pub service_name: String,
    pub max_queue: usize,
    pub export_timeout: std::time::Duration,
}

impl RawTelemetry {
    pub(crate) fn validate(self, problems: &mut Problems) -> TelemetryConfig {
        let otlp_endpoint = self.otlp_endpoint.map(|url| {
            problems.take(section("telemetry").http_url("otlp_endpoint", &url));
            url.trim_end_matches('/').to_owned()
        });
        let protocol = match self.protocol.as_deref() {
            None | Some("http/protobuf") => OtlpProtocol::HttpProtobuf,
            Some("http/json") => OtlpProtocol::HttpJson,
            Some(_) => {
                problems.push(
                    "telemetry.protocol",
                    "must be \"http/protobuf\" or \"http/json\" (gRPC is not supported)",
                );
                OtlpProtocol::HttpProtobuf
            }
        };
        let service_name = match self.service_name {
            None => "refund-gateway".to_owned(),
            Some(name) if !name.trim().is_empty() && name.len() <= 255 => name,
            Some(_) => {
                problems.push("telemetry.service_name", "must be 1-255 characters");
                "refund-gateway".to_owned()
            }
        };
        let max_queue = between(
            problems,
            "telemetry.max_queue",
            self.max_queue,
            4096,
            64..=1_000_000,
        );
        let export_timeout = between(
            problems,
            "telemetry.export_timeout_ms",
            self.export_timeout_ms,
            5000,
            100..=60_000,
        );
        TelemetryConfig {
            otlp_endpoint,
            protocol,
            service_name,
            max_queue: usize::try_from(max_queue).unwrap_or(4096),
            export_timeout: std::time::Duration::from_millis(export_timeout),
        }
    }
}
