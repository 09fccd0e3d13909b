//! Each pooled connection's prepared statements, so a statement is parsed and planned
//! once per connection and then runs in one round trip (`Bind`/`Execute`) instead of
//! two (`Parse`/`Describe`, then `Bind`/`Execute`).

use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex};

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Error, Row, RowStream, Statement, Transaction};

/// What the runtime runs its statements on: a connection or a transaction.
/// tokio-postgres's own `GenericClient` boxes the future of every call (it is an
/// `async_trait`); this one calls the client's and the transaction's own methods,
/// whose futures are not.
pub(crate) trait Session: Sync {
    fn client(&self) -> &Client;

    fn prepare(&self, sql: &str) -> impl Future<Output = Result<Statement, Error>> + Send;

    fn query(
        &self,
        st: &Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Vec<Row>, Error>> + Send;

    fn query_opt(
        &self,
        st: &Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Option<Row>, Error>> + Send;

    fn execute(
        &self,
        st: &Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<u64, Error>> + Send;

    fn query_raw<'a>(
        &'a self,
        st: &'a Statement,
        params: &'a [&'a (dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<RowStream, Error>> + Send + 'a;
}

/// [`Session`] for a type whose own methods have the trait's names and shapes.
macro_rules! session_for {
    ($ty:ty, $this:ident => $client:expr) => {
        impl Session for $ty {
            fn client(&self) -> &Client {
                let $this = self;
                $client
            }

            async fn prepare(&self, sql: &str) -> Result<Statement, Error> {
                <$ty>::prepare(self, sql).await
            }

            async fn query(
                &self,
                st: &Statement,
                params: &[&(dyn ToSql + Sync)],
            ) -> Result<Vec<Row>, Error> {
                <$ty>::query(self, st, params).await
            }

            async fn query_opt(
                &self,
                st: &Statement,
                params: &[&(dyn ToSql + Sync)],
            ) -> Result<Option<Row>, Error> {
                <$ty>::query_opt(self, st, params).await
            }

            async fn execute(
                &self,
                st: &Statement,
                params: &[&(dyn ToSql + Sync)],
            ) -> Result<u64, Error> {
                <$ty>::execute(self, st, params).await
            }

            fn query_raw<'a>(
                &'a self,
                st: &'a Statement,
                params: &'a [&'a (dyn ToSql + Sync)],
            ) -> impl Future<Output = Result<RowStream, Error>> + Send + 'a {
                <$ty>::query_raw(self, st, params.iter().copied())
            }
        }
    };
}

session_for!(Client, c => c);
session_for!(Transaction<'_>, t => tokio_postgres::GenericClient::client(t));

/// The statements prepared on one connection, keyed by the address of their SQL: the
/// contract's SQL is `'static`, so an address names one text for the process's life.
#[derive(Default, Clone)]
pub(crate) struct Prepared(Arc<Mutex<Statements>>);

type Statements = HashMap<(usize, usize), Statement, BuildHasherDefault<AddressHasher>>;

/// Hashes the two words of a key by multiplying: addresses need no defense against
/// chosen collisions, and the default hasher would cost more than the lookup.
#[derive(Default)]
pub(crate) struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

fn key(sql: &'static str) -> (usize, usize) {
    (sql.as_ptr() as usize, sql.len())
}

impl Prepared {
    /// `sql` prepared on `client`, the connection this cache belongs to.
    pub async fn get<C: Session>(
        &self,
        client: &C,
        sql: &'static str,
    ) -> Result<Statement, tokio_postgres::Error> {
        if let Some(s) = self.lock().get(&key(sql)) {
            return Ok(s.clone());
        }
        // Once per connection and statement: boxed, so that the future of every
        // statement run does not carry room for a prepare.
        let s = Box::pin(client.prepare(sql)).await?;
        self.lock().insert(key(sql), s.clone());
        Ok(s)
    }

    /// Forgets every statement: after the server said a cached plan no longer fits
    /// (a column's type changed under it).
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Statements> {
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
