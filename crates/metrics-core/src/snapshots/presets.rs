//! Ready-made sets of metric definitions. `social` is the seed's platform: the five core
//! metrics over profiles, posts and comments, and the optional ones for the tables (and
//! columns) a given database has.

use crate::common::problem::{Outcome, Problem, SqlState};
use crate::snapshots::definition::MetricArgs;

pub struct PresetMetric {
    pub args: MetricArgs,
    /// Core metrics make the preset fail when their table is missing; others are skipped.
    pub core: bool,
}

/// Every preset by name.
pub const PRESETS: [&str; 1] = ["social"];

/// What a preset metric reads.
enum Reads {
    /// Rows of a table in the preset's schema, and the column the kind needs.
    Table(&'static str, Option<&'static str>),
    /// A percentage of two metrics defined before it.
    Ratio(&'static str, &'static str),
}

/// One line of a preset's table.
struct Row {
    category: &'static str,
    kind: &'static str,
    reads: Reads,
    top_n: Option<i32>,
    description: &'static str,
    core: bool,
}

const fn row(
    category: &'static str,
    kind: &'static str,
    reads: Reads,
    description: &'static str,
    core: bool,
) -> Row {
    Row {
        category,
        kind,
        reads,
        top_n: None,
        description,
        core,
    }
}

use Reads::{Ratio, Table};

/// The seed's metrics, in definition order (a percentage after its parts): a table, one
/// metric per line.
#[rustfmt::skip]
const SOCIAL: [Row; 11] = [
    row("users_total", "total", Table("profiles", None), "Profiles created up to the end of the day", true),
    row("posts_total", "total", Table("posts", None), "Posts created up to the end of the day", true),
    row("comments_total", "total", Table("comments", None), "Comments created up to the end of the day", true),
    row("posts_created", "created", Table("posts", None), "Posts created during the day", true),
    row("comments_created", "created", Table("comments", None), "Comments created during the day", true),
    row("tracks_uploaded", "created", Table("tracks", None), "Audio tracks uploaded during the day", false),
    row("likes_total", "total", Table("likes", None), "Likes given up to the end of the day", false),
    row("follows_total", "total", Table("follows", None), "Follows up to the end of the day", false),
    row("active_users", "distinct", Table("posts", Some("user_id")), "Distinct users who posted during the day", false),
    row("engagement_rate", "percentage", Ratio("active_users", "users_total"), "Active users as a percentage of all users", false),
    Row {
        top_n: Some(5),
        ..row("top_genres", "breakdown", Table("tracks", Some("genre")), "Tracks uploaded during the day, by genre", false)
    },
];

impl Row {
    fn metric(&self, schema: &str) -> PresetMetric {
        let mut args = MetricArgs {
            category: self.category.into(),
            kind: self.kind.into(),
            description: Some(self.description.into()),
            top_n: self.top_n,
            ..Default::default()
        };
        match self.reads {
            Table(table, value_column) => {
                args.source_schema = Some(schema.to_string());
                args.source_table = Some(table.into());
                args.value_column = value_column.map(Into::into);
            }
            Ratio(numerator, denominator) => {
                args.numerator = Some(numerator.into());
                args.denominator = Some(denominator.into());
            }
        }
        PresetMetric {
            args,
            core: self.core,
        }
    }
}

/// The metrics of preset `name`, reading from `schema`.
pub fn preset(name: &str, schema: &str) -> Outcome<Vec<PresetMetric>> {
    let rows: &[Row] = match name.trim().to_ascii_lowercase().as_str() {
        "social" => &SOCIAL,
        _ => {
            return Err(Problem::new(
                SqlState::InvalidParameterValue,
                format!("unknown preset \"{name}\""),
            )
            .hint(format!("available presets: {}", PRESETS.join(", "))))
        }
    };
    Ok(rows.iter().map(|r| r.metric(schema)).collect())
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
        let genres = p.iter().find(|m| m.args.category == "top_genres").unwrap();
        assert_eq!(genres.args.top_n, Some(5));
        assert_eq!(genres.args.value_column.as_deref(), Some("genre"));
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
        let rate = &p[pos("engagement_rate")].args;
        assert_eq!(rate.source_schema, None, "a percentage reads no schema");
    }

    #[test]
    fn unknown_presets_are_refused() {
        let e = preset("ecommerce", "public").err().unwrap();
        assert_eq!(e.state, SqlState::InvalidParameterValue);
        assert!(e.hint.unwrap().contains("social"));
        assert!(preset(" Social ", "public").is_ok());
    }
}
