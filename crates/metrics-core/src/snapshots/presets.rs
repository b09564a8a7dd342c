//! Ready-made sets of metric definitions. `social` is the seed's platform: the five core
//! metrics over profiles, posts and comments, and the optional ones for the tables (and
//! columns) a given database has.

use crate::snapshots::definition::MetricArgs;
use crate::common::problem::{Outcome, Problem, SqlState};

pub struct PresetMetric {
    pub args: MetricArgs,
    /// Core metrics make the preset fail when their table is missing; others are skipped.
    pub core: bool,
}

/// Every preset by name.
pub const PRESETS: [&str; 1] = ["social"];

fn metric(
    category: &str,
    kind: &str,
    table: &str,
    value_column: Option<&str>,
    description: &str,
    core: bool,
) -> PresetMetric {
    PresetMetric {
        args: MetricArgs {
            category: category.into(),
            kind: kind.into(),
            source_table: Some(table.into()),
            value_column: value_column.map(Into::into),
            description: Some(description.into()),
            ..Default::default()
        },
        core,
    }
}

fn social() -> Vec<PresetMetric> {
    vec![
        metric(
            "users_total",
            "total",
            "profiles",
            None,
            "Profiles created up to the end of the day",
            true,
        ),
        metric(
            "posts_total",
            "total",
            "posts",
            None,
            "Posts created up to the end of the day",
            true,
        ),
        metric(
            "comments_total",
            "total",
            "comments",
            None,
            "Comments created up to the end of the day",
            true,
        ),
        metric(
            "posts_created",
            "created",
            "posts",
            None,
            "Posts created during the day",
            true,
        ),
        metric(
            "comments_created",
            "created",
            "comments",
            None,
            "Comments created during the day",
            true,
        ),
        metric(
            "tracks_uploaded",
            "created",
            "tracks",
            None,
            "Audio tracks uploaded during the day",
            false,
        ),
        metric(
            "likes_total",
            "total",
            "likes",
            None,
            "Likes given up to the end of the day",
            false,
        ),
        metric(
            "follows_total",
            "total",
            "follows",
            None,
            "Follows up to the end of the day",
            false,
        ),
        metric(
            "active_users",
            "distinct",
            "posts",
            Some("user_id"),
            "Distinct users who posted during the day",
            false,
        ),
        PresetMetric {
            args: MetricArgs {
                category: "engagement_rate".into(),
                kind: "percentage".into(),
                numerator: Some("active_users".into()),
                denominator: Some("users_total".into()),
                description: Some("Active users as a percentage of all users".into()),
                ..Default::default()
            },
            core: false,
        },
        PresetMetric {
            args: MetricArgs {
                top_n: Some(5),
                ..metric(
                    "top_genres",
                    "breakdown",
                    "tracks",
                    Some("genre"),
                    "Tracks uploaded during the day, by genre",
                    false,
                )
                .args
            },
            core: false,
        },
    ]
}

/// The metrics of preset `name`, reading from `schema`.
pub fn preset(name: &str, schema: &str) -> Outcome<Vec<PresetMetric>> {
    let mut metrics = match name.trim().to_ascii_lowercase().as_str() {
        "social" => social(),
        _ => {
            return Err(Problem::new(
                SqlState::InvalidParameterValue,
                format!("unknown preset \"{name}\""),
            )
            .hint(format!("available presets: {}", PRESETS.join(", "))))
        }
    };
    for m in &mut metrics {
        if m.args.source_table.is_some() {
            m.args.source_schema = Some(schema.to_string());
        }
    }
    Ok(metrics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshots::definition::check_shape;

    #[test]
    fn social_has_the_seed_core_metrics() {
        let p = preset("social", "app").unwrap();
        let core: Vec<&str> = p
            .iter()
            .filter(|m| m.core)
            .map(|m| m.args.category.as_str())
            .collect();
        assert_eq!(
            core,
            [
                "users_total",
                "posts_total",
                "comments_total",
                "posts_created",
                "comments_created"
            ]
        );
        assert!(p.iter().filter(|m| m.args.source_table.is_some()).all(|m| m
            .args
            .source_schema
            .as_deref()
            == Some("app")));
    }

    #[test]
    fn every_preset_metric_has_a_valid_shape() {
        for m in preset("social", "public").unwrap() {
            check_shape(&m.args).unwrap_or_else(|e| panic!("{}: {e}", m.args.category));
        }
    }

    #[test]
    fn percentages_come_after_their_parts() {
        let p = preset("social", "public").unwrap();
        let pos = |c: &str| p.iter().position(|m| m.args.category == c).unwrap();
        assert!(pos("engagement_rate") > pos("active_users"));
        assert!(pos("engagement_rate") > pos("users_total"));
    }

    #[test]
    fn unknown_presets_are_refused() {
        let e = preset("ecommerce", "public").err().unwrap();
        assert_eq!(e.state, SqlState::InvalidParameterValue);
        assert!(e.hint.unwrap().contains("social"));
    }
}
