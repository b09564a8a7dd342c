//! Environment names and their tiers.
//!
//! An environment is named by the deployments (`deployment.environment`) or by the caller
//! (the `environment` argument); names are compared trimmed and lower-cased. Each may belong
//! to a tier, so that `production` reads every production environment together: the owner's
//! mapping (`metrics.environment_settings`) wins, else the default below, from the name alone.

use crate::common::problem::{check_length, Outcome, Problem, SqlState};

/// The tiers, from the most to the least important.
pub const TIERS: [&str; 5] = ["production", "staging", "testing", "development", "local"];

/// Longest environment name accepted (characters, after trimming).
pub const MAX_ENVIRONMENT_NAME: usize = 100;

/// The names of each tier's default (`docs/development-metrics.md`, "Environments").
const DEFAULT_NAMES: [(&str, &[&str]); 5] = [
    ("production", &["production", "prod", "prd", "live"]),
    (
        "staging",
        &[
            "staging",
            "stage",
            "stg",
            "preprod",
            "pre-production",
            "uat",
        ],
    ),
    ("testing", &["testing", "test", "qa", "ci"]),
    ("development", &["development", "dev", "develop", "preview"]),
    ("local", &["local", "localhost"]),
];

/// What may follow a default name for the environment to still be of its tier
/// (`production-eu`, `prod_us`, `stage/2`, `dev.local`, `qa 3`).
const SEPARATORS: [char; 5] = ['-', '_', '/', '.', ' '];

/// The default tier of an environment name: a tier's name exactly, or followed by a
/// separator and anything (`production-eu`), case-insensitive and trimmed; None otherwise
/// (`products`, `devtools`).
pub fn default_tier(name: &str) -> Option<&'static str> {
    let name = name.trim().to_lowercase();
    DEFAULT_NAMES.iter().find_map(|(tier, names)| {
        names
            .iter()
            .any(|n| is_name_or_prefix(&name, n))
            .then_some(*tier)
    })
}

fn is_name_or_prefix(name: &str, default: &str) -> bool {
    match name.strip_prefix(default) {
        Some("") => true,
        Some(rest) => rest.starts_with(SEPARATORS),
        None => false,
    }
}

/// A tier name (trimmed, case-insensitive), as one of `TIERS`.
pub fn check_tier(text: &str) -> Outcome<&'static str> {
    let wanted = text.trim().to_lowercase();
    TIERS
        .iter()
        .find(|t| **t == wanted)
        .copied()
        .ok_or_else(|| {
            let shown: String = text.chars().take(40).collect();
            Problem::new(
                SqlState::InvalidParameterValue,
                format!("tier must be one of {}, not \"{shown}\"", TIERS.join(", ")),
            )
            .hint("pass one of the tiers, or NULL to remove the environment's own tier")
        })
}

/// An environment name: trimmed, lower-cased, 1 to 100 characters, no control characters.
pub fn check_environment_name(text: &str) -> Outcome<String> {
    check_environment_at("environment", text)
}

/// `check_environment_name` for a name read at `path` (an argument or a JSON path), which
/// the errors name.
pub(crate) fn check_environment_at(path: &str, text: &str) -> Outcome<String> {
    let name = text.trim().to_lowercase();
    if name.is_empty() {
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!("{path} must not be empty"),
        )
        .hint("name the environment, e.g. production or staging"));
    }
    check_length(path, &name, MAX_ENVIRONMENT_NAME)?;
    if name.chars().any(char::is_control) {
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!("{path} must not contain control characters"),
        )
        .hint("remove the line breaks, tabs or other control characters from the name"));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_name_has_its_tier_alone_and_as_a_prefix() {
        for (tier, names) in DEFAULT_NAMES {
            for name in names {
                assert_eq!(default_tier(name), Some(tier), "{name}");
                assert_eq!(default_tier(&name.to_uppercase()), Some(tier), "{name}");
                assert_eq!(default_tier(&format!("  {name} ")), Some(tier), "{name}");
                for sep in SEPARATORS {
                    let longer = format!("{name}{sep}eu-1");
                    assert_eq!(default_tier(&longer), Some(tier), "{longer}");
                }
            }
        }
    }

    #[test]
    fn names_that_only_start_like_a_tier_have_none() {
        let cases = [
            ("production-eu", Some("production")),
            ("prod_us", Some("production")),
            ("Live/Blue", Some("production")),
            ("pre-production.2", Some("staging")),
            ("preprod", Some("staging")),
            ("github-pages", None),
            ("products", None),
            ("devtools", None),
            ("production2", None),
            ("testbed", None),
            ("staging:eu", None),
            ("localhost-3000", Some("local")),
            ("", None),
            ("-prod", None),
        ];
        for (name, tier) in cases {
            assert_eq!(default_tier(name), tier, "{name:?}");
        }
    }

    #[test]
    fn tiers_are_checked() {
        for t in TIERS {
            assert_eq!(check_tier(t).unwrap(), t);
        }
        assert_eq!(check_tier(" Production ").unwrap(), "production");
        let p = check_tier("prod").unwrap_err();
        assert_eq!(p.state, SqlState::InvalidParameterValue);
        assert_eq!(
            p.message,
            "tier must be one of production, staging, testing, development, local, not \"prod\""
        );
        assert!(p.hint.is_some());
    }

    #[test]
    fn environment_names_are_trimmed_lower_cased_and_bounded() {
        assert_eq!(
            check_environment_name("  Production-EU ").unwrap(),
            "production-eu"
        );
        assert_eq!(check_environment_name("a").unwrap(), "a");
        let longest = "é".repeat(MAX_ENVIRONMENT_NAME);
        assert_eq!(check_environment_name(&longest).unwrap(), longest);

        let p = check_environment_name("   ").unwrap_err();
        assert_eq!(p.state, SqlState::InvalidParameterValue);
        assert_eq!(p.message, "environment must not be empty");
        let p = check_environment_name(&"x".repeat(MAX_ENVIRONMENT_NAME + 1)).unwrap_err();
        assert_eq!(p.state, SqlState::StringDataRightTruncation);
        assert_eq!(p.message, "environment is longer than 100 characters");
        let p = check_environment_name("prod\nuction").unwrap_err();
        assert_eq!(p.state, SqlState::InvalidParameterValue);
        assert!(p.message.contains("control characters"));
        let p = check_environment_at("payload.deployment.environment", "").unwrap_err();
        assert_eq!(
            p.message,
            "payload.deployment.environment must not be empty"
        );
    }
}
