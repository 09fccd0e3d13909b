//! The rule catalog: one file per rule, registered here.

use sqlparser::ast::{Statement, TableObject};

use super::{Cx, Findings, Rule};
use crate::compat::Finding;
use crate::model::Contract;

mod col_001_column_removed;
mod col_002_column_type_changed;
mod col_003_column_became_nullable;
mod col_004_column_became_not_null;
mod col_005_column_added;
mod col_006_column_renamed;
mod col_007_elements_became_nullable;
mod enm_001_enum_value_removed;
mod enm_002_enum_value_added;
pub mod ign_001_suppression_expired;
pub mod ign_002_suppression_unused;
mod lif_001_query_deprecated;
mod lif_002_stability_lowered;
mod lif_003_deprecated_without_sunset;
mod prm_001_param_removed;
mod prm_002_param_added;
mod prm_003_param_reordered;
mod prm_004_param_type_changed;
mod prm_005_param_became_not_null;
mod prm_006_param_renamed;
mod qry_001_query_removed;
mod qry_002_query_command_changed;
mod qry_003_query_became_write;
mod qry_004_query_added;
mod qry_005_query_renamed;
mod run_001_idempotent_turned_off;
mod run_002_timeout_lowered;
mod run_003_routed_to_replica;
mod run_004_idempotency_key_removed;
mod run_005_retries_on_non_idempotent_write;
mod run_006_pool_over_connection_budget;
mod sch_001_baseline_query_breaks;
mod sch_002_baseline_query_shape_changed;
mod sch_003_insert_misses_required_column;
mod typ_001_go_type_changed;
mod typ_002_rust_type_changed;
pub mod ver_001_breaking_without_major;
mod wir_001_field_number_changed;
mod wir_002_field_deleted_unreserved;
mod wir_003_field_name_unreserved;
mod wir_004_reservation_removed;
mod wir_005_type_incompatible;
mod wir_006_json_type_incompatible;
mod wir_007_field_renamed;
mod wir_008_oneof_changed;
mod wir_009_cardinality_changed;
mod wir_010_presence_changed;
mod wir_011_enum_value_deleted_unreserved;
mod wir_012_enum_value_renumbered;
mod wir_013_min_compatible_raised;

/// A rule's check over both contracts.
pub type Check = fn(&Cx<'_>, &mut Findings<'_>);

/// Every rule comparing two contracts, in catalog order.
pub const ALL: &[(&Rule, Check)] = &[
    (&qry_001_query_removed::RULE, qry_001_query_removed::check),
    (
        &qry_002_query_command_changed::RULE,
        qry_002_query_command_changed::check,
    ),
    (
        &qry_003_query_became_write::RULE,
        qry_003_query_became_write::check,
    ),
    (&qry_004_query_added::RULE, qry_004_query_added::check),
    (&qry_005_query_renamed::RULE, qry_005_query_renamed::check),
    (
        &lif_001_query_deprecated::RULE,
        lif_001_query_deprecated::check,
    ),
    (
        &lif_002_stability_lowered::RULE,
        lif_002_stability_lowered::check,
    ),
    (
        &lif_003_deprecated_without_sunset::RULE,
        lif_003_deprecated_without_sunset::check,
    ),
    (&prm_001_param_removed::RULE, prm_001_param_removed::check),
    (&prm_002_param_added::RULE, prm_002_param_added::check),
    (
        &prm_003_param_reordered::RULE,
        prm_003_param_reordered::check,
    ),
    (
        &prm_004_param_type_changed::RULE,
        prm_004_param_type_changed::check,
    ),
    (
        &prm_005_param_became_not_null::RULE,
        prm_005_param_became_not_null::check,
    ),
    (&prm_006_param_renamed::RULE, prm_006_param_renamed::check),
    (&col_001_column_removed::RULE, col_001_column_removed::check),
    (
        &col_002_column_type_changed::RULE,
        col_002_column_type_changed::check,
    ),
    (
        &col_003_column_became_nullable::RULE,
        col_003_column_became_nullable::check,
    ),
    (
        &col_004_column_became_not_null::RULE,
        col_004_column_became_not_null::check,
    ),
    (&col_005_column_added::RULE, col_005_column_added::check),
    (&col_006_column_renamed::RULE, col_006_column_renamed::check),
    (
        &col_007_elements_became_nullable::RULE,
        col_007_elements_became_nullable::check,
    ),
    (
        &typ_001_go_type_changed::RULE,
        typ_001_go_type_changed::check,
    ),
    (
        &typ_002_rust_type_changed::RULE,
        typ_002_rust_type_changed::check,
    ),
    (
        &enm_001_enum_value_removed::RULE,
        enm_001_enum_value_removed::check,
    ),
    (
        &enm_002_enum_value_added::RULE,
        enm_002_enum_value_added::check,
    ),
    (
        &sch_001_baseline_query_breaks::RULE,
        sch_001_baseline_query_breaks::check,
    ),
    (
        &sch_002_baseline_query_shape_changed::RULE,
        sch_002_baseline_query_shape_changed::check,
    ),
    (
        &sch_003_insert_misses_required_column::RULE,
        sch_003_insert_misses_required_column::check,
    ),
    (
        &run_001_idempotent_turned_off::RULE,
        run_001_idempotent_turned_off::check,
    ),
    (
        &run_002_timeout_lowered::RULE,
        run_002_timeout_lowered::check,
    ),
    (
        &run_003_routed_to_replica::RULE,
        run_003_routed_to_replica::check,
    ),
    (
        &run_004_idempotency_key_removed::RULE,
        run_004_idempotency_key_removed::check,
    ),
    (
        &run_005_retries_on_non_idempotent_write::RULE,
        run_005_retries_on_non_idempotent_write::check,
    ),
    (
        &run_006_pool_over_connection_budget::RULE,
        run_006_pool_over_connection_budget::check,
    ),
    (
        &wir_001_field_number_changed::RULE,
        wir_001_field_number_changed::check,
    ),
    (
        &wir_002_field_deleted_unreserved::RULE,
        wir_002_field_deleted_unreserved::check,
    ),
    (
        &wir_003_field_name_unreserved::RULE,
        wir_003_field_name_unreserved::check,
    ),
    (
        &wir_004_reservation_removed::RULE,
        wir_004_reservation_removed::check,
    ),
    (
        &wir_005_type_incompatible::RULE,
        wir_005_type_incompatible::check,
    ),
    (
        &wir_006_json_type_incompatible::RULE,
        wir_006_json_type_incompatible::check,
    ),
    (&wir_007_field_renamed::RULE, wir_007_field_renamed::check),
    (&wir_008_oneof_changed::RULE, wir_008_oneof_changed::check),
    (
        &wir_009_cardinality_changed::RULE,
        wir_009_cardinality_changed::check,
    ),
    (
        &wir_010_presence_changed::RULE,
        wir_010_presence_changed::check,
    ),
    (
        &wir_011_enum_value_deleted_unreserved::RULE,
        wir_011_enum_value_deleted_unreserved::check,
    ),
    (
        &wir_012_enum_value_renumbered::RULE,
        wir_012_enum_value_renumbered::check,
    ),
    (
        &wir_013_min_compatible_raised::RULE,
        wir_013_min_compatible_raised::check,
    ),
];

/// Every rule, `VER-001` (which reads the others' findings) and the suppression
/// rules (`IGN-*`, which read the registry's `compat.ignore`) included.
pub fn catalog() -> Vec<&'static Rule> {
    let mut v: Vec<&'static Rule> = ALL.iter().map(|(r, _)| *r).collect();
    v.push(&ver_001_breaking_without_major::RULE);
    v.push(&ign_001_suppression_expired::RULE);
    v.push(&ign_002_suppression_unused::RULE);
    v.sort_by_key(|r| r.id);
    v
}

/// The module file each rule lives in, by ID (the tests check every file is here).
pub const FILES: &[(&str, &str)] = &[
    ("QRY-001", "qry_001_query_removed.rs"),
    ("QRY-002", "qry_002_query_command_changed.rs"),
    ("QRY-003", "qry_003_query_became_write.rs"),
    ("QRY-004", "qry_004_query_added.rs"),
    ("QRY-005", "qry_005_query_renamed.rs"),
    ("LIF-001", "lif_001_query_deprecated.rs"),
    ("LIF-002", "lif_002_stability_lowered.rs"),
    ("LIF-003", "lif_003_deprecated_without_sunset.rs"),
    ("PRM-001", "prm_001_param_removed.rs"),
    ("PRM-002", "prm_002_param_added.rs"),
    ("PRM-003", "prm_003_param_reordered.rs"),
    ("PRM-004", "prm_004_param_type_changed.rs"),
    ("PRM-005", "prm_005_param_became_not_null.rs"),
    ("PRM-006", "prm_006_param_renamed.rs"),
    ("COL-001", "col_001_column_removed.rs"),
    ("COL-002", "col_002_column_type_changed.rs"),
    ("COL-003", "col_003_column_became_nullable.rs"),
    ("COL-004", "col_004_column_became_not_null.rs"),
    ("COL-005", "col_005_column_added.rs"),
    ("COL-006", "col_006_column_renamed.rs"),
    ("COL-007", "col_007_elements_became_nullable.rs"),
    ("TYP-001", "typ_001_go_type_changed.rs"),
    ("TYP-002", "typ_002_rust_type_changed.rs"),
    ("ENM-001", "enm_001_enum_value_removed.rs"),
    ("ENM-002", "enm_002_enum_value_added.rs"),
    ("IGN-001", "ign_001_suppression_expired.rs"),
    ("IGN-002", "ign_002_suppression_unused.rs"),
    ("SCH-001", "sch_001_baseline_query_breaks.rs"),
    ("SCH-002", "sch_002_baseline_query_shape_changed.rs"),
    ("SCH-003", "sch_003_insert_misses_required_column.rs"),
    ("RUN-001", "run_001_idempotent_turned_off.rs"),
    ("RUN-002", "run_002_timeout_lowered.rs"),
    ("RUN-003", "run_003_routed_to_replica.rs"),
    ("RUN-004", "run_004_idempotency_key_removed.rs"),
    ("RUN-005", "run_005_retries_on_non_idempotent_write.rs"),
    ("RUN-006", "run_006_pool_over_connection_budget.rs"),
    ("VER-001", "ver_001_breaking_without_major.rs"),
    ("WIR-001", "wir_001_field_number_changed.rs"),
    ("WIR-002", "wir_002_field_deleted_unreserved.rs"),
    ("WIR-003", "wir_003_field_name_unreserved.rs"),
    ("WIR-004", "wir_004_reservation_removed.rs"),
    ("WIR-005", "wir_005_type_incompatible.rs"),
    ("WIR-006", "wir_006_json_type_incompatible.rs"),
    ("WIR-007", "wir_007_field_renamed.rs"),
    ("WIR-008", "wir_008_oneof_changed.rs"),
    ("WIR-009", "wir_009_cardinality_changed.rs"),
    ("WIR-010", "wir_010_presence_changed.rs"),
    ("WIR-011", "wir_011_enum_value_deleted_unreserved.rs"),
    ("WIR-012", "wir_012_enum_value_renumbered.rs"),
    ("WIR-013", "wir_013_min_compatible_raised.rs"),
];

/// `VER-001`: the declared version against what the findings require.
pub fn version_check(old: &Contract, new: &Contract, findings: &mut Vec<Finding>) {
    ver_001_breaking_without_major::check(old, new, findings);
}

/// The Go or Rust type of a parameter or column changed while its SQL type did not.
fn lang_type_changed(
    cx: &Cx<'_>,
    f: &mut Findings<'_>,
    lang: &str,
    pick: for<'s> fn(&'s str, &'s str) -> &'s str,
) {
    let params = cx
        .param_pairs()
        .filter(|(_, _, o, p)| o.ty == p.ty && o.nullable == p.nullable)
        .map(|(old, new, o, p)| {
            let was = pick(&o.go_type, &o.rust_type);
            let now = pick(&p.go_type, &p.rust_type);
            (old, new, "param", &p.name, was, now)
        });
    let columns = cx
        .column_pairs()
        // Elements that became nullable are COL-007's.
        .filter(|(_, _, o, c)| {
            o.ty == c.ty && o.nullable == c.nullable && (o.elem_nullable || !c.elem_nullable)
        })
        .map(|(old, new, o, c)| {
            let was = pick(&o.go_type, &o.rust_type);
            let now = pick(&c.go_type, &c.rust_type);
            (old, new, "column", &c.name, was, now)
        });
    for (old, new, kind, name, was, now) in params.chain(columns) {
        if was != now {
            f.add(
                format!("query {} {kind} {name}", new.name),
                format!(
                    "the {lang} type of {kind} `{name}` of query `{}` changed from `{was}` to `{now}`",
                    new.name
                ),
                Some(&new.source),
                Some(&old.source),
            );
        }
    }
}

/// The table an INSERT writes and the columns it lists; for a MERGE, its target and
/// the columns every one of its INSERT actions lists.
fn insert_target(sql: &str) -> Option<(String, Vec<String>)> {
    use sqlparser::ast::{MergeAction, TableFactor};
    let stmts = crate::sqltext::parse(sql).ok()?;
    let clean = |s: String| s.replace('"', "").to_lowercase();
    match crate::analyze::main_statement(stmts.first()?) {
        Statement::Insert(ins) => {
            let TableObject::TableName(name) = &ins.table else {
                return None;
            };
            Some((
                clean(name.to_string()),
                ins.columns.iter().map(|c| clean(c.to_string())).collect(),
            ))
        }
        Statement::Merge(m) => {
            let TableFactor::Table { name, .. } = &m.table else {
                return None;
            };
            let mut listed: Option<Vec<String>> = None;
            for c in &m.clauses {
                if let MergeAction::Insert(ins) = &c.action {
                    let cols: Vec<String> =
                        ins.columns.iter().map(|c| clean(c.to_string())).collect();
                    listed = Some(match listed {
                        None => cols,
                        Some(all) => all.into_iter().filter(|c| cols.contains(c)).collect(),
                    });
                }
            }
            Some((clean(name.to_string()), listed?))
        }
        _ => None,
    }
}
