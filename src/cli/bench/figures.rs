//! The arithmetic the bench's reports share: rounding for their JSON lines, and quotients
//! that are 0 rather than infinite or NaN when there is nothing to divide by.

use std::time::Duration;

/// `value` rounded to `digits` decimals.
pub(super) fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

/// `part / whole`, or 0 when `whole` is not positive.
pub(super) fn ratio(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        part / whole
    } else {
        0.0
    }
}

/// `count` per second over `window`; 0 for an empty window.
pub(super) fn per_second(count: f64, window: Duration) -> f64 {
    ratio(count, window.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quotient_over_nothing_is_zero_and_figures_round_to_their_decimals() {
        assert_eq!(ratio(3.0, 0.0), 0.0);
        assert_eq!(per_second(10.0, Duration::ZERO), 0.0);
        assert_eq!(per_second(10.0, Duration::from_millis(500)), 20.0);
        assert_eq!(round(2.0 / 3.0, 3), 0.667);
    }
}
