//! The settings of the DORA keys. Superuser-settable (PGC_SUSET) like the extension's other
//! settings, since `get_dora_metrics` answers every API session alike: set them with
//! `ALTER DATABASE ... SET` or `ALTER SYSTEM`. The views read them with `current_setting`,
//! so a session that has not loaded the library yet sees the same defaults.

use std::ffi::CString;

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};

static INCIDENT_LABEL: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"incident"));
static HOTFIX_LABEL: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"hotfix"));
static INCIDENT_WINDOW: GucSetting<i32> = GucSetting::<i32>::new(24 * 60);

/// Defines the settings; called from `_PG_init`.
pub fn register() {
    GucRegistry::define_string_guc(
        c"metrics.dora_incident_label",
        c"The issue label that makes an issue an incident of the DORA keys.",
        c"Compared case-insensitively. Incidents count towards the change failure rate and recovery time.",
        &INCIDENT_LABEL,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"metrics.dora_hotfix_label",
        c"The pull request label that makes the deployments shipping it rework.",
        c"Compared case-insensitively; part of the deployment rework rate.",
        &HOTFIX_LABEL,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"metrics.dora_incident_window",
        c"How long before an incident opened its environment's last successful deployment is linked to it.",
        c"Used when the incident's body names no deployment id or sha.",
        &INCIDENT_WINDOW,
        1,
        i32::MAX,
        GucContext::Suset,
        GucFlags::UNIT_MIN,
    );
}
