//! Checks a pg_cron schedule before it reaches pg_cron, so a typo gets a clear 22023 error
//! naming the bad field. pg_cron 1.4 takes five fields (minute hour day-of-month month
//! day-of-week) or one of the `@` shorthands; it stays the final judge.

use crate::common::problem::{Outcome, Problem, SqlState};

const SHORTHANDS: [&str; 8] = [
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
    "@reboot",
];
const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
    },
    Field {
        name: "day of month",
        min: 1,
        max: 31,
        names: &[],
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: &MONTHS,
    },
    Field {
        name: "day of week",
        min: 0,
        max: 7,
        names: &WEEKDAYS,
    },
];

fn bad(schedule: &str, why: String) -> Problem {
    Problem::new(SqlState::InvalidParameterValue, format!("invalid schedule \"{schedule}\": {why}"))
        .hint("use five cron fields, minute hour day-of-month month day-of-week, e.g. '5 0 * * *' for 00:05 every day (pg_cron runs in GMT)")
}

fn value(field: &Field, text: &str) -> Option<u32> {
    if let Ok(n) = text.parse::<u32>() {
        return (field.min..=field.max).contains(&n).then_some(n);
    }
    let lower = text.to_ascii_lowercase();
    field
        .names
        .iter()
        .position(|n| *n == lower)
        .map(|i| i as u32 + field.min)
}

fn check_item(field: &Field, item: &str) -> Result<(), String> {
    let (range, step) = match item.split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (item, None),
    };
    if let Some(step) = step {
        match step.parse::<u32>() {
            Ok(s) if s >= 1 && s <= field.max.max(1) => {}
            _ => {
                return Err(format!(
                    "step \"{step}\" in the {} field is not a number from 1 to {}",
                    field.name, field.max
                ))
            }
        }
    }
    if range == "*" {
        return Ok(());
    }
    let (lo, hi) = match range.split_once('-') {
        Some((a, b)) => (a, Some(b)),
        None => (range, None),
    };
    let describe = || {
        format!(
            "\"{item}\" is not valid in the {} field ({} to {})",
            field.name, field.min, field.max
        )
    };
    let lo = value(field, lo).ok_or_else(describe)?;
    if let Some(hi) = hi {
        let hi = value(field, hi).ok_or_else(describe)?;
        if hi < lo {
            return Err(format!(
                "range \"{range}\" in the {} field runs backwards",
                field.name
            ));
        }
    }
    Ok(())
}

/// Accepts what pg_cron 1.4 accepts, as far as the text alone can tell.
pub fn check_schedule(schedule: &str) -> Outcome<()> {
    let trimmed = schedule.trim();
    if trimmed.starts_with('@') {
        return if SHORTHANDS.contains(&trimmed.to_ascii_lowercase().as_str()) {
            Ok(())
        } else {
            Err(bad(
                schedule,
                format!("unknown shorthand; use one of {}", SHORTHANDS.join(", ")),
            ))
        };
    }
    let parts: Vec<&str> = trimmed.split_whitespace().collect();
    if parts.len() != 5 {
        return Err(bad(
            schedule,
            format!("expected 5 fields, found {}", parts.len()),
        ));
    }
    for (field, part) in FIELDS.iter().zip(parts) {
        for item in part.split(',') {
            if item.is_empty() {
                return Err(bad(
                    schedule,
                    format!("empty item in the {} field", field.name),
                ));
            }
            check_item(field, item).map_err(|why| bad(schedule, why))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_common_schedules() {
        for ok in [
            "5 0 * * *",
            "*/15 * * * *",
            "0 0 1 * *",
            "0 3 * * 1-5",
            "30 2 * jan,jul sun",
            "0 0 * * 7",
            "@daily",
            "@HOURLY",
            " 5 0 * * * ",
        ] {
            assert!(check_schedule(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_bad_schedules_with_the_field_named() {
        for (bad, needle) in [
            ("", "expected 5 fields"),
            ("5 0 * *", "expected 5 fields"),
            ("0 0 0 * * *", "expected 5 fields"),
            ("60 0 * * *", "minute"),
            ("0 24 * * *", "hour"),
            ("0 0 0 * *", "day of month"),
            ("0 0 * 13 *", "month"),
            ("0 0 * * 8", "day of week"),
            ("*/0 * * * *", "step"),
            ("5-1 * * * *", "backwards"),
            ("1,,2 * * * *", "empty item"),
            ("x * * * *", "minute"),
            ("@sometimes", "shorthand"),
            ("5 0 * * *; DROP TABLE x", "expected 5 fields"),
        ] {
            let e = check_schedule(bad).unwrap_err();
            assert_eq!(e.state, SqlState::InvalidParameterValue);
            assert!(e.message.contains(needle), "{bad}: {}", e.message);
            assert!(e.hint.is_some());
        }
    }
}
