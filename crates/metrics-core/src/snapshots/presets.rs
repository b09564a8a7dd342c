//! Ready-made sets of metric definitions. `social` is the seed's platform: the five core
//! metrics over profiles, posts and comments, and the optional ones for the tables (and
//! columns) a given database has. `dora` seals the DORA keys day by day, per environment
//! tier, over the extension's own views of development facts (docs/development-metrics.md).

use crate::common::problem::{Outcome, Problem, SqlState};
use crate::snapshots::definition::MetricArgs;

pub struct PresetMetric {
    pub args: MetricArgs,
    /// Core metrics make the preset fail when their table is missing; others are skipped.
    pub core: bool,
}

/// A preset's metrics and where they read.
pub struct Preset {
    /// The schema of the relations its metrics read.
    pub schema: String,
    pub metrics: Vec<PresetMetric>,
    /// The hint of the error for a missing core relation.
    pub needs: &'static str,
}

/// Every preset by name.
pub const PRESETS: [&str; 2] = ["social", "dora"];

/// The schema of the views the `dora` preset reads (they come with the extension).
pub const DORA_SCHEMA: &str = "metrics";
/// The environment tiers `dora` defines its metrics for (`tier` of the fact views).
pub const DORA_TIERS: [&str; 2] = ["production", "staging"];

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

/// The metrics of preset `name`, reading from `schema` (`social`); `dora` reads the views
/// of schema metrics, and refuses another schema than that or the default `public`.
pub fn preset(name: &str, schema: &str) -> Outcome<Preset> {
    match name.trim().to_ascii_lowercase().as_str() {
        "social" => Ok(Preset {
            schema: schema.to_string(),
            metrics: SOCIAL.iter().map(|r| r.metric(schema)).collect(),
            needs: "the social preset reads profiles, posts and comments, each with a created_at column",
        }),
        "dora" => {
            if !["public", DORA_SCHEMA].contains(&schema) {
                return Err(Problem::new(
                    SqlState::InvalidParameterValue,
                    format!("the dora preset reads the views of schema {DORA_SCHEMA}, not of schema \"{schema}\""),
                )
                .hint("call metrics.install_preset('dora') without source_schema"));
            }
            Ok(Preset {
                schema: DORA_SCHEMA.to_string(),
                metrics: DORA_TIERS.iter().flat_map(|tier| dora(tier)).collect(),
                needs: "the dora preset reads the views metrics.dora_deployment_facts, dora_change_facts and dora_recovery_facts of the development metrics",
            })
        }
        _ => Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!("unknown preset \"{name}\""),
        )
        .hint(format!("available presets: {}", PRESETS.join(", ")))),
    }
}

/// What one `dora` metric of a tier computes.
enum Dora {
    /// Deployments finished during the day whose facts satisfy a condition.
    Deployments(&'static str),
    /// A percentile of a view's column over the day's rows (view, time column, column, p).
    Percentile(&'static str, &'static str, &'static str, f64),
    /// numerator / denominator, two metrics of the same tier (their suffixes).
    Rate(&'static str, &'static str),
}

/// The `dora` metrics of one tier (`dora_<tier>_<suffix>`), a percentage after its parts.
/// Recovery is grouped by the failure's start, as `get_dora_metrics` does.
#[rustfmt::skip]
const DORA: [(&str, Dora, &str); 10] = [
    ("deployments", Dora::Deployments("is_success"), "Successful deployments finished during the day"),
    ("failed_deployments", Dora::Deployments("is_failure"), "Deployments finished during the day that failed (failure or error)"),
    ("finished_deployments", Dora::Deployments("true"), "Deployments finished during the day, whatever their outcome"),
    ("change_failures", Dora::Deployments("(is_failure OR incident_linked)"), "Deployments finished during the day that failed or are linked to an incident"),
    ("change_failure_rate", Dora::Rate("change_failures", "finished_deployments"), "Change failure rate: failed or incident-linked deployments over all finished, x 100"),
    ("rework_deployments", Dora::Deployments("is_rework"), "Deployments finished during the day that address an incident or ship a hotfix"),
    ("rework_rate", Dora::Rate("rework_deployments", "finished_deployments"), "Rework rate: rework deployments over all finished, x 100"),
    ("lead_time_p50_hours", Dora::Percentile("dora_change_facts", "deployed_at", "lead_time_hours", 0.5), "Median lead time (merge to deployment) of the changes deployed during the day, in hours"),
    ("lead_time_p90_hours", Dora::Percentile("dora_change_facts", "deployed_at", "lead_time_hours", 0.9), "90th percentile lead time of the changes deployed during the day, in hours"),
    ("recovery_p50_hours", Dora::Percentile("dora_recovery_facts", "started_at", "recovery_hours", 0.5), "Median time to recover of the failures that started during the day (and are recovered), in hours"),
];

fn dora(tier: &str) -> Vec<PresetMetric> {
    let category = |suffix: &str| format!("dora_{tier}_{suffix}");
    let tier_filter = format!("tier = '{tier}'");
    DORA.iter()
        .map(|(suffix, what, description)| {
            let mut args = MetricArgs {
                category: category(suffix),
                description: Some(format!("{description} ({tier} environments)")),
                ..Default::default()
            };
            match *what {
                Dora::Deployments(condition) => {
                    args.kind = "created".into();
                    args.source_table = Some("dora_deployment_facts".into());
                    args.time_column = Some("finished_at".into());
                    args.filter = Some(match condition {
                        "true" => tier_filter.clone(),
                        c => format!("{tier_filter} AND {c}"),
                    });
                    args.unit = Some("deployments".into());
                }
                Dora::Percentile(view, time, column, p) => {
                    args.kind = "percentile".into();
                    args.source_table = Some(view.into());
                    args.time_column = Some(time.into());
                    args.value_column = Some(column.into());
                    args.filter = Some(tier_filter.clone());
                    args.percentile = Some(p);
                    args.unit = Some("hours".into());
                }
                Dora::Rate(numerator, denominator) => {
                    args.kind = "percentage".into();
                    args.numerator = Some(category(numerator));
                    args.denominator = Some(category(denominator));
                }
            }
            if args.source_table.is_some() {
                args.source_schema = Some(DORA_SCHEMA.into());
            }
            PresetMetric { args, core: true }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshots::definition::check_shape;

    #[test]
    fn social_has_the_seed_core_metrics() {
        let preset = preset("social", "app").unwrap();
        assert_eq!(preset.schema, "app");
        let p = preset.metrics;
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
        for name in PRESETS {
            for m in preset(name, "public").unwrap().metrics {
                check_shape(&m.args).unwrap_or_else(|e| panic!("{}: {e}", m.args.category));
            }
        }
    }

    #[test]
    fn percentages_come_after_their_parts() {
        let p = preset("social", "public").unwrap().metrics;
        let pos = |c: &str| p.iter().position(|m| m.args.category == c).unwrap();
        assert!(pos("engagement_rate") > pos("active_users"));
        assert!(pos("engagement_rate") > pos("users_total"));
        let rate = &p[pos("engagement_rate")].args;
        assert_eq!(rate.source_schema, None, "a percentage reads no schema");
        let p = preset("dora", "public").unwrap().metrics;
        for m in p.iter().filter(|m| m.args.kind == "percentage") {
            for part in [&m.args.numerator, &m.args.denominator] {
                let part = part.as_deref().unwrap();
                let at = p.iter().position(|x| x.args.category == part).unwrap();
                assert!(at < pos_of(&p, &m.args.category), "{part}");
            }
        }
    }

    fn pos_of(p: &[PresetMetric], category: &str) -> usize {
        p.iter().position(|m| m.args.category == category).unwrap()
    }

    #[test]
    fn dora_seals_the_keys_per_tier_over_the_fact_views() {
        let preset = preset("dora", "metrics").unwrap();
        assert_eq!(preset.schema, "metrics");
        let p = preset.metrics;
        assert_eq!(p.len(), 20);
        let get = |c: &str| &p[pos_of(&p, c)].args;
        let deployments = get("dora_production_deployments");
        assert_eq!(deployments.kind, "created");
        assert_eq!(deployments.source_schema.as_deref(), Some("metrics"));
        assert_eq!(
            deployments.source_table.as_deref(),
            Some("dora_deployment_facts")
        );
        assert_eq!(deployments.time_column.as_deref(), Some("finished_at"));
        assert_eq!(
            deployments.filter.as_deref(),
            Some("tier = 'production' AND is_success")
        );
        assert_eq!(
            get("dora_staging_finished_deployments").filter.as_deref(),
            Some("tier = 'staging'")
        );
        let cfr = get("dora_production_change_failure_rate");
        assert_eq!(
            cfr.numerator.as_deref(),
            Some("dora_production_change_failures")
        );
        assert_eq!(
            cfr.denominator.as_deref(),
            Some("dora_production_finished_deployments")
        );
        assert_eq!(
            get("dora_production_change_failures").filter.as_deref(),
            Some("tier = 'production' AND (is_failure OR incident_linked)")
        );
        let p90 = get("dora_staging_lead_time_p90_hours");
        assert_eq!(
            (p90.kind.as_str(), p90.percentile),
            ("percentile", Some(0.9))
        );
        assert_eq!(p90.time_column.as_deref(), Some("deployed_at"));
        assert_eq!(p90.value_column.as_deref(), Some("lead_time_hours"));
        let recovery = get("dora_production_recovery_p50_hours");
        assert_eq!(
            recovery.source_table.as_deref(),
            Some("dora_recovery_facts")
        );
        assert_eq!(recovery.time_column.as_deref(), Some("started_at"));
        assert!(p.iter().all(|m| m.core));
    }

    #[test]
    fn dora_reads_its_own_schema() {
        assert_eq!(preset("dora", "public").unwrap().schema, "metrics");
        let e = preset("dora", "app").err().unwrap();
        assert_eq!(e.state, SqlState::InvalidParameterValue);
        assert!(e.hint.unwrap().contains("install_preset('dora')"));
    }

    #[test]
    fn unknown_presets_are_refused() {
        let e = preset("ecommerce", "public").err().unwrap();
        assert_eq!(e.state, SqlState::InvalidParameterValue);
        assert!(e.hint.unwrap().contains("social, dora"));
        assert!(preset(" Social ", "public").is_ok());
    }
}
