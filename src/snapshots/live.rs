//! The open day's values, live: every active metric computed for the day after
//! `last_closed_day()` (the day in progress, up to now) with the statements collection seals
//! with, for one project (its per-project metrics) or for the whole database (every metric's
//! whole-database value), never sealed. What a dashboard shows for today before the day
//! closes (the read model's open buckets call it).
//!
//! The sources are read as collection reads them, with their owners' rights; definitions
//! are read without locking them, so read-only transactions (PostgREST GET) can ask. Each
//! source is computed in a subtransaction within `metrics.metric_timeout` per metric: a
//! metric that cannot be computed now is left out, as a day that failed is not sealed.

use std::collections::{BTreeSet, HashMap};

use chrono::{Days, NaiveDate};
use pgrx::datum::Uuid;

use crate::pg::guc;
use crate::pg::spi::stable as spi;
use crate::pg::subxact::isolated;
use crate::pg::timeout;
use crate::snapshots::collect::{compute_over, project_keys, Rows};
use crate::snapshots::definition::{Definition, Ratio};
use crate::snapshots::kind::Kind;
use crate::snapshots::read::last_closed_day_in_zone;
use crate::snapshots::registry::{self, Resolved, Sourced};

/// One metric's value of the open day.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveValue {
    pub category: String,
    pub metric_type: String,
    /// The value as PostgreSQL prints the numeric (None: it could not be computed now).
    pub value: Option<String>,
    pub metadata: serde_json::Value,
}

/// The open day: the day after the last closed day of `metrics.timezone`.
pub fn open_day() -> NaiveDate {
    last_closed_day_in_zone() + Days::new(1)
}

/// Every active metric's value for the open day (of `categories` only, when given), for the
/// project whose id `project` is (uuid text; its per-project metrics), or with
/// `whole_database` for the whole database (every metric's whole-database value). A project
/// that is not a uuid, or without per-project metrics, has none. Not sealed.
pub fn open_day_values(
    project: Option<&str>,
    whole_database: bool,
    categories: Option<&[String]>,
) -> Vec<LiveValue> {
    let scope = match (whole_database, project) {
        (true, _) => None,
        (false, Some(id)) => match project_uuid(id) {
            Some(id) => Some(id),
            None => return Vec::new(),
        },
        (false, None) => return Vec::new(),
    };
    let definitions = wanted(registry::load_unlocked(None), categories);
    let day = open_day();
    let mut values: Vec<LiveValue> = Vec::new();
    let mut ratios: Vec<Ratio> = Vec::new();
    let mut scoped: BTreeSet<String> = BTreeSet::new();
    let mut groups: HashMap<(u32, String), Vec<Sourced>> = HashMap::new();
    for definition in &definitions {
        match isolated(|| registry::resolve(definition)) {
            Ok(Ok(Resolved::Sourced(m))) => {
                if m.source.project_column.is_some() {
                    scoped.insert(m.measure.category.clone());
                }
                groups.entry(step_key(&m)).or_default().push(m);
            }
            Ok(Ok(Resolved::Ratio(r))) => ratios.push(r),
            _ => {}
        }
    }
    let mut keys: Vec<_> = groups.keys().cloned().collect();
    keys.sort();
    for key in keys {
        let group = &groups[&key];
        values.extend(live_group(group, day, scope));
    }
    for ratio in ratios {
        let both_scoped = scoped.contains(&ratio.numerator) && scoped.contains(&ratio.denominator);
        if scope.is_none() || both_scoped {
            values.extend(live_ratio(&ratio, &values));
        }
    }
    keep(values, categories)
}

/// A project id given as text, if it is one.
fn project_uuid(text: &str) -> Option<Uuid> {
    spi::value::<Uuid>(
        "SELECT CASE WHEN $1 ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN $1::uuid END",
        &[text.into()],
    )
}

/// The active definitions `categories` asks for, with the parts of the percentages it asks
/// for (all of them without `categories`).
fn wanted(all: Vec<Definition>, categories: Option<&[String]>) -> Vec<Definition> {
    let Some(asked) = categories else {
        return all;
    };
    let mut needed: BTreeSet<&str> = asked.iter().map(String::as_str).collect();
    for d in &all {
        if let Definition::Ratio(r) = d {
            if needed.contains(r.category.as_str()) {
                needed.insert(r.numerator.as_str());
                needed.insert(r.denominator.as_str());
            }
        }
    }
    let needed: BTreeSet<String> = needed.into_iter().map(str::to_string).collect();
    all.into_iter()
        .filter(|d| needed.contains(d.category()))
        .collect()
}

/// Only the values asked for, in category order.
fn keep(mut values: Vec<LiveValue>, categories: Option<&[String]>) -> Vec<LiveValue> {
    if let Some(asked) = categories {
        values.retain(|v| asked.contains(&v.category));
    }
    values.sort_by(|a, b| a.category.cmp(&b.category));
    values
}

/// Metrics computed together, as collection groups them: a source and time column (a
/// breakdown alone, keyed by its category).
fn step_key(m: &Sourced) -> (u32, String) {
    let second = if m.measure.kind == Kind::Breakdown {
        format!("breakdown {}", m.measure.category)
    } else {
        format!("{} {:?}", m.source.time_column, m.source.project_column)
    };
    (m.relation.oid.to_u32(), second)
}

/// The open day's values of one step, for the whole database (`scope` None) or one project
/// (its per-project metrics only); nothing when it fails.
fn live_group(group: &[Sourced], day: NaiveDate, scope: Option<Uuid>) -> Vec<LiveValue> {
    let scoped = group[0].source.project_column.is_some();
    if scope.is_some() && !scoped {
        return Vec::new();
    }
    let keys = scoped.then(|| project_keys(group[0].project_is_uuid, scope));
    let members: Vec<&Sourced> = group.iter().collect();
    let limit = guc::metric_timeout_ms().saturating_mul(group.len() as i32);
    let Ok(rows) =
        isolated(|| timeout::within(limit, || compute_over(&members, day, day, false, keys)))
    else {
        return Vec::new();
    };
    values_of(rows, scope)
}

/// The rows of one scope as values.
fn values_of(rows: Rows, scope: Option<Uuid>) -> Vec<LiveValue> {
    rows.into_rows()
        .filter(|row| row.6 == scope)
        .map(
            |(_, metric_type, category, value, metadata, _, _)| LiveValue {
                category,
                metric_type,
                value: Some(value),
                metadata: serde_json::from_str(&metadata).unwrap_or_default(),
            },
        )
        .collect()
}

/// A percentage of two live values, as `PERCENTAGE_SQL` computes it from sealed ones.
fn live_ratio(ratio: &Ratio, values: &[LiveValue]) -> Option<LiveValue> {
    let part = |c: &str| values.iter().find(|v| v.category == c)?.value.clone();
    let (n, d) = (part(&ratio.numerator)?, part(&ratio.denominator)?);
    let value = spi::value::<String>(
        "SELECT (CASE WHEN $2::numeric = 0 THEN 0 ELSE pg_catalog.round($1::numeric * 100 / $2::numeric, 4) END)::text",
        &[n.as_str().into(), d.as_str().into()],
    );
    let metadata = serde_json::json!({
        "numerator": serde_json::from_str::<serde_json::Value>(&n).unwrap_or_default(),
        "denominator": serde_json::from_str::<serde_json::Value>(&d).unwrap_or_default(),
    });
    Some(LiveValue {
        category: ratio.category.clone(),
        metric_type: "percentage".to_string(),
        value,
        metadata,
    })
}

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    use super::open_day_values;

    fn setup() -> String {
        Spi::run(
            "CREATE TABLE public.live_orders (org text, amount int NOT NULL,
                                              created_at timestamptz NOT NULL DEFAULT now());
             SELECT metrics.create_project('live-a', 'A');
             SELECT metrics.create_project('live-b', 'B');
             INSERT INTO public.live_orders (org, amount)
             VALUES ('live-a', 1), ('live-a', 5), ('live-b', 3), (NULL, 4), ('nobody', 2);
             INSERT INTO public.live_orders VALUES ('live-a', 100, now() - interval '3 days');
             SELECT metrics.define_metric('live_created', 'created', source_table => 'live_orders', project_column => 'org');
             SELECT metrics.define_metric('live_total', 'total', source_table => 'live_orders', project_column => 'org');
             SELECT metrics.define_metric('live_amount', 'average', source_table => 'live_orders', value_column => 'amount', project_column => 'org');
             SELECT metrics.define_metric('live_share', 'percentage', numerator => 'live_created', denominator => 'live_total');
             SELECT metrics.define_metric('live_all', 'created', source_table => 'live_orders')",
        )
        .unwrap();
        Spi::get_one::<String>("SELECT id::text FROM metrics.projects WHERE slug = 'live-a'")
            .unwrap()
            .unwrap()
    }

    fn value(values: &[super::LiveValue], category: &str) -> Option<String> {
        values
            .iter()
            .find(|v| v.category == category)
            .and_then(|v| v.value.clone())
    }

    #[pg_test]
    fn the_open_day_is_computed_per_project_and_never_sealed() {
        let a = setup();
        // As PostgREST's GET requests ask: in a read-only transaction.
        Spi::run("SET LOCAL transaction_read_only = on").unwrap();
        let values = open_day_values(Some(&a), false, None);
        let categories: Vec<&str> = values.iter().map(|v| v.category.as_str()).collect();
        assert_eq!(
            categories,
            ["live_amount", "live_created", "live_share", "live_total"],
            "a project has its per-project metrics only"
        );
        assert_eq!(value(&values, "live_created").as_deref(), Some("2"));
        assert_eq!(value(&values, "live_total").as_deref(), Some("3"));
        assert_eq!(
            value(&values, "live_amount").as_deref(),
            Some("3.0000000000000000")
        );
        assert_eq!(value(&values, "live_share").as_deref(), Some("66.6667"));
        let whole = open_day_values(
            None,
            true,
            Some(&["live_created".into(), "live_all".into()]),
        );
        assert_eq!(value(&whole, "live_created").as_deref(), Some("5"));
        assert_eq!(value(&whole, "live_all").as_deref(), Some("5"));
        let created = whole.iter().find(|v| v.category == "live_created").unwrap();
        assert_eq!(created.metadata["unassigned_rows"].to_string(), "2");
        assert!(open_day_values(Some("not-a-uuid"), false, None).is_empty());
        let sealed = Spi::get_one::<i64>("SELECT count(*) FROM metrics.daily_metrics").unwrap();
        assert_eq!(sealed, Some(0), "nothing is sealed");
    }
}
