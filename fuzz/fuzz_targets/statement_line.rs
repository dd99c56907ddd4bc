//! Fuzz statement lines (`refund_gateway::reconcile::statement::StatementReader`): under the
//! DESIGN §10 header in the gateway's own format (first byte even), or under eFundPay's
//! native header in its format from the embedded default (first byte odd: minor units,
//! status words, batches, fees). Nothing panics, every line is either read or reported as
//! malformed with a line number, and every line read carries a valid amount or is a batch
//! member that leaves its amount to its batch.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use refund_gateway::config::statements::StatementFormat;
use refund_gateway::config::{Config, EMBEDDED_DEFAULT};
use refund_gateway::reconcile::statement::StatementReader;

const HEADER: &[u8] = b"provider_refund_id,provider_reference,amount,currency,status,settled_at\n";
const EFUNDPAY_HEADER: &[u8] =
    b"settlement_batch,refund_id,external_identifier,transaction_id,amount,currency,status,fee,settled_at\n";

fn efundpay() -> Arc<StatementFormat> {
    static FORMAT: OnceLock<Arc<StatementFormat>> = OnceLock::new();
    FORMAT
        .get_or_init(|| {
            Config::from_toml(EMBEDDED_DEFAULT)
                .map(|config| config.statement_format("efundpay"))
                .unwrap_or_else(|e| panic!("the embedded default: {e}"))
        })
        .clone()
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, data)) = data.split_first() else {
        return;
    };
    let (header, format) = if selector % 2 == 0 {
        (HEADER, Arc::default())
    } else {
        (EFUNDPAY_HEADER, efundpay())
    };
    let mut input = header.to_vec();
    input.extend_from_slice(data);
    let Ok(mut reader) = StatementReader::new(input.as_slice(), format) else {
        panic!("the fixed header was refused");
    };
    // A CSV record may span lines; bound the loop anyway.
    for _ in 0..4096 {
        match reader.next_line() {
            Ok(Some(Ok(line))) => {
                assert!(line.line >= 2, "a data line numbered {}", line.line);
                assert!(
                    line.provider_refund_id.is_some()
                        || line.provider_reference.is_some()
                        || line.batch.is_some()
                );
                assert!(line.fee_minor >= 0);
                match line.amount_minor {
                    Some(minor) => {
                        let amount = refund_provider::Money::from_provider_minor(minor, line.currency);
                        assert!(amount.is_ok(), "an amount read is in range: {minor}");
                    }
                    None => assert!(line.batch.is_some() && !line.is_batch_total()),
                }
            }
            Ok(Some(Err(malformed))) => assert!(!malformed.message.is_empty()),
            Ok(None) | Err(_) => break,
        }
    }
});
