//! Writes recorded under an idempotency key. In one transaction: claim the key (a
//! concurrent replay waits on the claim), run the statement while storing its result
//! next to the key, commit. A replay finds the key and returns the stored result,
//! decoded by PostgreSQL into the statement's own column types, so the generated row
//! mapping reads it like the original rows. The Go module stores and reads the same
//! table the same way.

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row};

use crate::exec::{IdempotencyKey, Statement};

/// The table the runtime records keys and results in; apply it with your migrations
/// (or [`Db::install_idempotency_table`](crate::Db::install_idempotency_table)).
pub const IDEMPOTENCY_TABLE: &str = "CREATE TABLE IF NOT EXISTS sqlpact_idempotency (
    key text PRIMARY KEY,
    statement text NOT NULL,
    result jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
)";

/// The outcome of a keyed run: rows or a count, and whether it was a replay.
pub(crate) enum Keyed {
    Rows(Vec<Row>, bool),
    Count(u64, bool),
    /// The key is recorded for another statement (named here).
    Reused(String),
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `$n::type::text`: the key as text, typed as the statement types it.
fn key_expr(key: &IdempotencyKey, n: usize) -> String {
    format!("${n}::{}::text", key.param_type)
}

fn record_rows_sql(st: &Statement, key: &IdempotencyKey, n: usize) -> String {
    let cols = key.columns;
    let aliases: Vec<String> = (1..=cols.len()).map(|i| format!("c{i}")).collect();
    let select: Vec<String> = cols
        .iter()
        .zip(&aliases)
        .map(|(c, a)| format!("{a} AS {}", quote(c.name)))
        .collect();
    format!(
        "WITH sqlpact_r ({}) AS ({}), sqlpact_s AS (UPDATE sqlpact_idempotency SET result = \
         (SELECT coalesce(jsonb_agg(to_jsonb(sqlpact_r)), '[]'::jsonb) FROM sqlpact_r) \
         WHERE key = {}) SELECT {} FROM sqlpact_r",
        aliases.join(", "),
        st.sql,
        key_expr(key, n + 1),
        select.join(", ")
    )
}

fn replay_rows_sql(key: &IdempotencyKey) -> String {
    let cols = key.columns;
    let defs: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| format!("c{} {}", i + 1, c.pg_type))
        .collect();
    let aliases: Vec<String> = (1..=cols.len()).map(|i| format!("c{i}")).collect();
    let select: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| format!("r.c{} AS {}", i + 1, quote(c.name)))
        .collect();
    format!(
        "SELECT {} FROM sqlpact_idempotency i, ROWS FROM (jsonb_to_recordset(i.result) AS ({})) \
         WITH ORDINALITY AS r ({}, ord) WHERE i.key = {} ORDER BY r.ord",
        select.join(", "),
        defs.join(", "),
        aliases.join(", "),
        key_expr(key, 1)
    )
}

/// Runs a keyed statement on `client`, inside a transaction the caller opened.
pub(crate) async fn run(
    client: &Client,
    st: &'static Statement,
    key: &'static IdempotencyKey,
    params: &[&(dyn ToSql + Sync)],
    rows: bool,
) -> Result<Keyed, tokio_postgres::Error> {
    let key_value = params[key.param];
    let claim = format!(
        "INSERT INTO sqlpact_idempotency (key, statement) VALUES ({}, $2) ON CONFLICT (key) DO NOTHING",
        key_expr(key, 1)
    );
    let claimed = client.execute(&claim, &[key_value, &st.name]).await? == 1;
    if claimed {
        let n = params.len();
        let mut all: Vec<&(dyn ToSql + Sync)> = params.to_vec();
        all.push(key_value);
        if rows {
            let got = client.query(&record_rows_sql(st, key, n), &all).await?;
            return Ok(Keyed::Rows(got, false));
        }
        let count = client.execute(st.sql, params).await?;
        let store = format!(
            "UPDATE sqlpact_idempotency SET result = to_jsonb($2::int8) WHERE key = {}",
            key_expr(key, 1)
        );
        let count_i = i64::try_from(count).unwrap_or(i64::MAX);
        client.execute(&store, &[key_value, &count_i]).await?;
        return Ok(Keyed::Count(count, false));
    }
    let lookup = format!(
        "SELECT statement, CASE WHEN jsonb_typeof(result) = 'number' THEN (result #>> '{{}}')::int8 END \
         FROM sqlpact_idempotency WHERE key = {}",
        key_expr(key, 1)
    );
    let row = client.query_one(&lookup, &[key_value]).await?;
    let owner: String = row.try_get(0)?;
    if owner != st.name {
        return Ok(Keyed::Reused(owner));
    }
    if rows {
        let got = client.query(&replay_rows_sql(key), &[key_value]).await?;
        return Ok(Keyed::Rows(got, true));
    }
    let stored: Option<i64> = row.try_get(1)?;
    Ok(Keyed::Count(
        stored.map_or(0, |n| u64::try_from(n).unwrap_or(0)),
        true,
    ))
}
