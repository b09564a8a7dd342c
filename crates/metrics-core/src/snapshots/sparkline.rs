//! A series of daily values drawn as one line of text, for psql: `metrics.sparkline`.
//!
//! Each day is one character. The eight block heights `▁▂▃▄▅▆▇█` span the series' own range
//! (its smallest value is `▁`, its largest `█`, the others in between, rounded to the nearest
//! height), so the shape shows, not the scale. A day without a value is `·`: a gap stays a gap,
//! it is never drawn as a zero. A flat series is `▁` throughout when it is zero and `▄` when it
//! is not, so "nothing happened" and "the same every day" look different.

/// The heights, lowest first.
pub const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// A day without a value (nothing sealed, or a value that is not a finite number).
pub const GAP: char = '·';
/// A flat, non-zero series: the middle height.
const FLAT: char = BARS[3];

/// One character per value, in order.
pub fn render(values: &[Option<f64>]) -> String {
    let present = || values.iter().flatten().copied().filter(|v| v.is_finite());
    let (Some(low), Some(high)) = (present().reduce(f64::min), present().reduce(f64::max)) else {
        return values.iter().map(|_| GAP).collect();
    };
    values
        .iter()
        .map(|value| match value {
            Some(v) if v.is_finite() => bar(*v, low, high),
            _ => GAP,
        })
        .collect()
}

/// The height of `value` in `[low, high]`.
fn bar(value: f64, low: f64, high: f64) -> char {
    let span = high - low;
    if span <= 0.0 || !span.is_finite() {
        return if high == 0.0 { BARS[0] } else { FLAT };
    }
    let top = (BARS.len() - 1) as f64;
    let level = (((value - low) / span) * top).round().clamp(0.0, top);
    BARS[level as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draw(values: &[Option<f64>]) -> String {
        render(values)
    }

    #[test]
    fn a_rising_series_uses_every_height() {
        let values: Vec<Option<f64>> = (0..8).map(|v| Some(v as f64)).collect();
        assert_eq!(draw(&values), "▁▂▃▄▅▆▇█");
    }

    #[test]
    fn the_smallest_value_is_lowest_and_the_largest_highest() {
        assert_eq!(draw(&[Some(10.0), Some(20.0), Some(15.0)]), "▁█▅");
        // Negative values span the range like any other.
        assert_eq!(draw(&[Some(-3.0), Some(3.0), Some(0.0)]), "▁█▅");
    }

    #[test]
    fn heights_round_to_the_nearest() {
        // 1/14 of the range is half a step: it rounds up, just below rounds down.
        assert_eq!(
            draw(&[Some(0.0), Some(14.0), Some(1.0), Some(0.99)]),
            "▁█▂▁"
        );
    }

    #[test]
    fn a_day_without_a_value_is_a_gap_not_a_zero() {
        assert_eq!(draw(&[Some(1.0), None, Some(3.0)]), "▁·█");
        assert_eq!(draw(&[None, Some(0.0), Some(8.0), None]), "·▁█·");
    }

    #[test]
    fn values_that_are_not_finite_are_gaps_and_do_not_stretch_the_range() {
        assert_eq!(
            draw(&[Some(1.0), Some(f64::NAN), Some(2.0), Some(f64::INFINITY)]),
            "▁·█·"
        );
    }

    #[test]
    fn flat_series_are_low_when_zero_and_middle_otherwise() {
        assert_eq!(draw(&[Some(0.0), Some(0.0), None]), "▁▁·");
        assert_eq!(draw(&[Some(5.0), Some(5.0)]), "▄▄");
        assert_eq!(draw(&[Some(-2.0)]), "▄");
    }

    #[test]
    fn no_value_at_all_is_gaps_only_and_nothing_is_nothing() {
        assert_eq!(draw(&[None, None, None]), "···");
        assert_eq!(draw(&[]), "");
    }

    #[test]
    fn one_character_per_day() {
        let values: Vec<Option<f64>> = (0..366).map(|d| (d % 7 != 3).then_some(d as f64)).collect();
        assert_eq!(draw(&values).chars().count(), 366);
        assert_eq!(draw(&values).chars().filter(|c| *c == GAP).count(), 52);
    }
}
