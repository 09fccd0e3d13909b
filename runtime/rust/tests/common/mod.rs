//! What the tests against PostgreSQL share: connections, scratch databases, and the
//! fault suite's servers (a primary with a streaming standby, toxiproxy), all started
//! by scripts/test.sh.

#![allow(dead_code)] // each test binary uses its own part

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_postgres::{Client, NoTls};

pub async fn connect(url: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await.expect("connect");
    tokio::spawn(conn);
    client
}

/// The environment variable `name`, set by scripts/test.sh.
pub fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run the tests through scripts/test.sh"))
}

pub fn base_url() -> String {
    env("DATABASE_URL")
}

/// A fresh database named after `name` with `schema` applied; its URL and an admin
/// client of the server.
pub async fn scratch(name: &str, schema: &str) -> (String, Client) {
    let url = base_url();
    let name = format!("rt_{name}_{}", std::process::id());
    let admin = connect(&url).await;
    for sql in [
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        format!("CREATE DATABASE {name}"),
    ] {
        admin.batch_execute(&sql).await.unwrap();
    }
    let (base, _) = url.rsplit_once('/').unwrap();
    let url = format!("{base}/{name}");
    connect(&url).await.batch_execute(schema).await.unwrap();
    (url, admin)
}

/// `url` with its host and port replaced by `addr` (`127.0.0.1:port`).
pub fn via(url: &str, addr: &str) -> String {
    let (scheme_user, rest) = url.rsplit_once('@').unwrap();
    let (_, path) = rest.split_once('/').unwrap();
    format!("{scheme_user}@{addr}/{path}")
}

/// The `host:port` a URL names, `localhost` spelled as the address proxies dial.
pub fn target_of(url: &str) -> String {
    let (_, rest) = url.rsplit_once('@').unwrap();
    let (hostport, _) = rest.split_once('/').unwrap();
    hostport.replace("localhost", "127.0.0.1")
}

/// A toxiproxy server's HTTP API (SQLPACT_TEST_TOXIPROXY, `host:port`).
pub struct Toxiproxy {
    api: String,
}

/// One proxy: `listen` is where clients connect instead of the upstream.
pub struct ToxiProxy {
    api: String,
    pub name: String,
    pub listen: String,
}

async fn http(api: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(api).await.expect("toxiproxy's API");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {api}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    (status, body)
}

impl Toxiproxy {
    pub fn from_env() -> Self {
        Toxiproxy {
            api: env("SQLPACT_TEST_TOXIPROXY"),
        }
    }

    /// A new proxy to `upstream` on a free port.
    pub async fn proxy(&self, name: &str, upstream: &str) -> ToxiProxy {
        let name = format!("{name}_{}", std::process::id());
        http(&self.api, "DELETE", &format!("/proxies/{name}"), "").await;
        let body = serde_json::json!({
            "name": name, "listen": "127.0.0.1:0", "upstream": upstream, "enabled": true
        });
        let (status, out) = http(&self.api, "POST", "/proxies", &body.to_string()).await;
        assert_eq!(status, 201, "toxiproxy refused the proxy: {out}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        ToxiProxy {
            api: self.api.clone(),
            name,
            listen: v["listen"].as_str().unwrap().to_owned(),
        }
    }
}

impl ToxiProxy {
    /// Adds a toxic (`type`, its attributes) on the server-to-client stream.
    pub async fn toxic(&self, kind: &str, attributes: serde_json::Value) {
        let body = serde_json::json!({
            "name": kind, "type": kind, "stream": "downstream", "toxicity": 1.0,
            "attributes": attributes
        });
        let path = format!("/proxies/{}/toxics", self.name);
        let (status, out) = http(&self.api, "POST", &path, &body.to_string()).await;
        assert_eq!(status, 200, "toxiproxy refused the toxic: {out}");
    }

    pub async fn remove_toxic(&self, kind: &str) {
        let path = format!("/proxies/{}/toxics/{kind}", self.name);
        let (status, out) = http(&self.api, "DELETE", &path, "").await;
        assert_eq!(status, 204, "{out}");
    }

    /// Enables or disables the proxy: disabled, it closes every connection and
    /// refuses new ones.
    pub async fn enabled(&self, on: bool) {
        let path = format!("/proxies/{}", self.name);
        let body = serde_json::json!({ "enabled": on });
        let (status, out) = http(&self.api, "POST", &path, &body.to_string()).await;
        assert_eq!(status, 200, "{out}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl Drop for ToxiProxy {
    fn drop(&mut self) {
        let (api, path) = (self.api.clone(), format!("/proxies/{}", self.name));
        // Best effort: the proxy's port is the test's own either way.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { http(&api, "DELETE", &path, "").await });
        }
    }
}
