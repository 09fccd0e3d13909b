//! Each pooled connection's prepared statements, so a statement is parsed and planned
//! once per connection and then runs in one round trip (`Bind`/`Execute`) instead of
//! two (`Parse`/`Describe`, then `Bind`/`Execute`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio_postgres::{GenericClient, Statement};

/// The statements prepared on one connection, keyed by the address of their SQL: the
/// contract's SQL is `'static`, so an address names one text for the process's life.
#[derive(Default, Clone)]
pub(crate) struct Prepared(Arc<Mutex<HashMap<(usize, usize), Statement>>>);

fn key(sql: &'static str) -> (usize, usize) {
    (sql.as_ptr() as usize, sql.len())
}

impl Prepared {
    /// `sql` prepared on `client`, the connection this cache belongs to.
    pub async fn get<C: GenericClient + Sync>(
        &self,
        client: &C,
        sql: &'static str,
    ) -> Result<Statement, tokio_postgres::Error> {
        if let Some(s) = self.lock().get(&key(sql)) {
            return Ok(s.clone());
        }
        let s = client.prepare(sql).await?;
        self.lock().insert(key(sql), s.clone());
        Ok(s)
    }

    /// Forgets every statement: after the server said a cached plan no longer fits
    /// (a column's type changed under it).
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(usize, usize), Statement>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The server refused a prepared statement whose plan a schema change invalidated
/// (`0A000 cached plan must not change result type`) or that no longer exists
/// (`26000`). It ran nothing: preparing again and re-sending is safe.
pub(crate) fn is_stale(e: &tokio_postgres::Error) -> bool {
    e.as_db_error().is_some_and(|db| {
        let code = db.code().code();
        code == "26000" || (code == "0A000" && db.message().contains("cached plan"))
    })
}
