//! A scratch database per test, on the server named by DATABASE_URL. Shared by the
//! test files; each uses part of it.
#![allow(dead_code)]

use tokio_postgres::{Client, NoTls};

pub async fn connect(url: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await.expect("connect");
    tokio::spawn(conn);
    client
}

/// A fresh database with the given SQL files applied in order.
pub struct Scratch {
    pub admin: Client,
    pub client: Client,
    /// The URL of the scratch database, for other processes.
    pub url: String,
    name: String,
}

impl Scratch {
    pub async fn new(name: &str, sql_files: &[std::path::PathBuf]) -> Scratch {
        let url = std::env::var("DATABASE_URL")
            .expect("DATABASE_URL is not set: run the tests through scripts/test.sh");
        let name = format!("{name}_{}", std::process::id());
        let admin = connect(&url).await;
        for sql in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            admin.batch_execute(&sql).await.unwrap();
        }
        let (base, _) = url
            .rsplit_once('/')
            .expect("DATABASE_URL ends with /dbname");
        let url = format!("{base}/{name}");
        let client = connect(&url).await;
        assert!(!sql_files.is_empty(), "no schema to apply");
        for f in sql_files {
            let sql = std::fs::read_to_string(f).unwrap();
            client
                .batch_execute(&sql)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        }
        Scratch {
            admin,
            client,
            url,
            name,
        }
    }

    /// Drops the database.
    pub async fn drop(self) {
        drop(self.client);
        self.admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await
            .unwrap();
    }
}

/// The example's migrations, in order.
pub fn example_migrations() -> Vec<std::path::PathBuf> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../contracts/migrations");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".up.sql"))
        .collect();
    files.sort();
    files
}

/// The Go client tests' directory, for `go run`.
pub const GO_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../go");
