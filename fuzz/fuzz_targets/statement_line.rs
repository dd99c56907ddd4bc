//! Fuzz one statement CSV line (`refund_gateway::reconcile::statement::StatementReader`)
//! under the DESIGN §10 header: nothing panics, every line is either read or reported as
//! malformed with a line number, and every line read carries a valid amount.
#![no_main]

use libfuzzer_sys::fuzz_target;
use refund_gateway::reconcile::statement::StatementReader;

const HEADER: &[u8] = b"provider_refund_id,provider_reference,amount,currency,status,settled_at\n";

fuzz_target!(|data: &[u8]| {
    let mut input = HEADER.to_vec();
    input.extend_from_slice(data);
    let Ok(mut reader) = StatementReader::new(input.as_slice()) else {
        panic!("the fixed header was refused");
    };
    // A CSV record may span lines; bound the loop anyway.
    for _ in 0..4096 {
        match reader.next_line() {
            Ok(Some(Ok(line))) => {
                assert!(line.line >= 2, "a data line numbered {}", line.line);
                assert!(line.provider_refund_id.is_some() || line.provider_reference.is_some());
                let amount = line.amount;
                assert!(amount.minor_units().get() > 0);
                assert_eq!(
                    refund_provider::Money::parse(&amount.to_major_string(), amount.currency()),
                    Ok(amount)
                );
            }
            Ok(Some(Err(malformed))) => assert!(!malformed.message.is_empty()),
            Ok(None) | Err(_) => break,
        }
    }
});
