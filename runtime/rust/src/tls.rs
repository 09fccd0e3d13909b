//! TLS with libpq's `sslmode` semantics, on rustls.
//!
//! tokio-postgres knows `sslmode` `disable`, `prefer` and `require` and verifies
//! nothing itself; the connector decides. [`split`] takes libpq's TLS parameters
//! (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`) out of a connection string, and
//! [`TlsOptions::connector`] builds the rustls connector that does what the mode says:
//!
//! | `sslmode` | encrypted | certificate checked |
//! |---|---|---|
//! | `disable` | never | no |
//! | `allow`, `prefer` (default) | when the server offers it | no |
//! | `require` | always | only when `sslrootcert` is given (then as `verify-ca`) |
//! | `verify-ca` | always | chain to `sslrootcert` |
//! | `verify-full` | always | chain to `sslrootcert`, and the host name |
//!
//! `sslcert` and `sslkey` (PEM files) present a client certificate.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::SslMode as PgSslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslmode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    /// Taken as `prefer`: tokio-postgres has no plain-first mode.
    Allow,
    #[default]
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(s: &str) -> Result<Self, String> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                "unknown sslmode `{other}`: use disable, allow, prefer, require, verify-ca or verify-full"
            ))
            }
        })
    }

    /// The mode tokio-postgres negotiates with.
    pub fn negotiation(self) -> PgSslMode {
        match self {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Allow | SslMode::Prefer => PgSslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => PgSslMode::Require,
        }
    }
}

/// A host's TLS settings, from its connection string.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsOptions {
    pub mode: SslMode,
    /// PEM file of the certificate authorities trusted to sign the server's certificate.
    pub root_cert: Option<PathBuf>,
    /// PEM files of the client certificate (with its chain) and its private key.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

const KEYS: [&str; 4] = ["sslmode", "sslrootcert", "sslcert", "sslkey"];

/// Splits libpq's TLS parameters off `conn` (a URL or `key=value` words): the rest,
/// with the `sslmode` tokio-postgres negotiates, and the options.
pub fn split(conn: &str) -> Result<(String, TlsOptions), String> {
    let mut found: Vec<(&'static str, String)> = Vec::new();
    let is_url = conn.starts_with("postgres://") || conn.starts_with("postgresql://");
    let rest = if is_url {
        let (base, query) = conn.split_once('?').unwrap_or((conn, ""));
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match KEYS.iter().find(|key| **key == decode(k)) {
                Some(key) => found.push((key, decode(v))),
                None => kept.push(pair),
            }
        }
        if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        }
    } else {
        let mut kept = Vec::new();
        for (k, v, text) in words(conn)? {
            match KEYS.iter().find(|key| **key == k) {
                Some(key) => found.push((key, v)),
                None => kept.push(text),
            }
        }
        kept.join(" ")
    };
    let mut o = TlsOptions::default();
    for (k, v) in found {
        match k {
            "sslmode" => o.mode = SslMode::parse(&v)?,
            "sslrootcert" => o.root_cert = Some(PathBuf::from(v)),
            "sslcert" => o.cert = Some(PathBuf::from(v)),
            _ => o.key = Some(PathBuf::from(v)),
        }
    }
    let mode = match o.mode.negotiation() {
        PgSslMode::Disable => "disable",
        PgSslMode::Require => "require",
        _ => "prefer",
    };
    let rest = if is_url {
        let sep = if rest.contains('?') { '&' } else { '?' };
        format!("{rest}{sep}sslmode={mode}")
    } else {
        format!("{rest} sslmode={mode}")
    };
    Ok((rest, o))
}

/// `%XX` escapes of a URL part decoded (a malformed escape stays as written).
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).and_then(|c| hex(*c)),
            b.get(i + 2).and_then(|c| hex(*c)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

const MISQUOTED_PASSWORD: &str =
    "the `password` value in the connection string holds a space: quote it, as in `password='...'`";

/// The keywords libpq knows: a word after a password that is none of them is taken to
/// be the rest of a password with a space in it.
const LIBPQ_KEYS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "channel_binding",
    "connect_timeout",
    "client_encoding",
    "options",
    "application_name",
    "fallback_application_name",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "keepalives_retries",
    "tcp_user_timeout",
    "replication",
    "gssencmode",
    "sslmode",
    "sslnegotiation",
    "sslcompression",
    "sslcert",
    "sslkey",
    "sslpassword",
    "sslcertmode",
    "sslrootcert",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "requirepeer",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "krbsrvname",
    "gsslib",
    "gssdelegation",
    "service",
    "target_session_attrs",
    "load_balance_hosts",
];

/// The `key = value` words of a libpq keyword string: key, unquoted value, and the
/// word's text as written.
fn words(conn: &str) -> Result<Vec<(String, String, &str)>, String> {
    let b = conn.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let skip_ws = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    loop {
        i = skip_ws(i);
        if i >= b.len() {
            return Ok(out);
        }
        let start = i;
        while i < b.len() && b[i] != b'=' && !b[i].is_ascii_whitespace() {
            i += 1;
        }
        let key = conn[start..i].to_owned();
        i = skip_ws(i);
        let after_password = out.last().is_some_and(|(k, _, _)| k == "password");
        if b.get(i) != Some(&b'=') {
            // After a password, the word is likely the rest of it: never echo it.
            if after_password {
                return Err(MISQUOTED_PASSWORD.to_owned());
            }
            return Err(format!(
                "`{key}` in the connection string has no `=` and value"
            ));
        }
        if after_password && !LIBPQ_KEYS.contains(&key.as_str()) {
            return Err(MISQUOTED_PASSWORD.to_owned());
        }
        i = skip_ws(i + 1);
        let mut value = Vec::new();
        let quoted = b.get(i) == Some(&b'\'');
        if quoted {
            i += 1;
        }
        loop {
            match b.get(i) {
                None if quoted => {
                    return Err(format!(
                        "the value of `{key}` in the connection string has no closing quote"
                    ))
                }
                None => break,
                Some(b'\'') if quoted => {
                    i += 1;
                    break;
                }
                Some(c) if !quoted && c.is_ascii_whitespace() => break,
                Some(b'\\') if i + 1 < b.len() => {
                    value.push(b[i + 1]);
                    i += 2;
                }
                Some(c) => {
                    value.push(*c);
                    i += 1;
                }
            }
        }
        out.push((
            key,
            String::from_utf8_lossy(&value).into_owned(),
            &conn[start..i],
        ));
    }
}

impl TlsOptions {
    /// The options a parsed configuration implies: its `sslmode`, no files.
    pub fn of_config(cfg: &tokio_postgres::Config) -> Self {
        TlsOptions {
            mode: match cfg.get_ssl_mode() {
                PgSslMode::Disable => SslMode::Disable,
                PgSslMode::Require => SslMode::Require,
                _ => SslMode::Prefer,
            },
            ..TlsOptions::default()
        }
    }

    /// The connector these options call for; `None` for `disable`.
    pub fn connector(&self) -> Result<Option<Connector>, String> {
        if self.mode == SslMode::Disable {
            return Ok(None);
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier: Arc<dyn ServerCertVerifier> = match (self.mode, &self.root_cert) {
            (SslMode::VerifyCa | SslMode::VerifyFull, None) => {
                return Err(format!(
                    "sslmode={} needs the certificate authority to check the server against: add sslrootcert=<PEM file>",
                    if self.mode == SslMode::VerifyCa { "verify-ca" } else { "verify-full" }
                ))
            }
            (SslMode::Disable | SslMode::Allow | SslMode::Prefer, _) | (SslMode::Require, None) => {
                Arc::new(Unchecked(provider.clone()))
            }
            (_, Some(root)) => {
                let mut roots = RootCertStore::empty();
                for cert in read_certs(root, "sslrootcert")? {
                    roots
                        .add(cert)
                        .map_err(|e| format!("sslrootcert `{}`: {e}", root.display()))?;
                }
                let webpki = WebPkiServerVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider.clone(),
                )
                .build()
                .map_err(|e| format!("sslrootcert `{}`: {e}", root.display()))?;
                if self.mode == SslMode::VerifyFull {
                    webpki
                } else {
                    Arc::new(ChainOnly(webpki))
                }
            }
        };
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let config = match (&self.cert, &self.key) {
            (None, None) => builder.with_no_client_auth(),
            (Some(cert), Some(key)) => {
                let chain = read_certs(cert, "sslcert")?;
                let key = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| format!("sslkey `{}`: no private key read: {e}", key.display()))?;
                builder.with_client_auth_cert(chain, key).map_err(|e| {
                    format!("sslcert and sslkey do not make a client certificate: {e}")
                })?
            }
            (Some(_), None) => {
                return Err(
                    "sslcert is given without sslkey: name the certificate's private key file too"
                        .into(),
                )
            }
            (None, Some(_)) => {
                return Err(
                    "sslkey is given without sslcert: name the client certificate file too".into(),
                )
            }
        };
        Ok(Some(Connector(MakeRustlsConnect::new(config))))
    }
}

/// tokio-postgres-rustls' connector, which also takes a connection without a host
/// name (a Unix socket, where the server offers no TLS and `prefer` goes on plain).
#[derive(Clone)]
pub struct Connector(MakeRustlsConnect);

impl<S> tokio_postgres::tls::MakeTlsConnect<S> for Connector
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    type Stream = <MakeRustlsConnect as tokio_postgres::tls::MakeTlsConnect<S>>::Stream;
    type TlsConnect = <MakeRustlsConnect as tokio_postgres::tls::MakeTlsConnect<S>>::TlsConnect;
    type Error = <MakeRustlsConnect as tokio_postgres::tls::MakeTlsConnect<S>>::Error;

    fn make_tls_connect(&mut self, hostname: &str) -> Result<Self::TlsConnect, Self::Error> {
        let name = if hostname.is_empty() {
            "localhost"
        } else {
            hostname
        };
        tokio_postgres::tls::MakeTlsConnect::<S>::make_tls_connect(&mut self.0, name)
    }
}

fn read_certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{what} `{}`: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "{what} `{}` holds no PEM certificate",
            path.display()
        ));
    }
    Ok(certs)
}

/// `verify-ca`: the chain must lead to a trusted authority; the name is not checked.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The name is checked last, after the chain: a name error means the chain held.
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `prefer` and `require` without a root certificate: encrypted, the certificate taken
/// as it comes (libpq's behaviour); the handshake's signatures are still checked.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_come_off_urls_and_keyword_strings() {
        let (rest, o) = split(
            "postgresql://app@db:5432/app?application_name=x&sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem",
        )
        .unwrap();
        assert_eq!(
            rest,
            "postgresql://app@db:5432/app?application_name=x&sslmode=require"
        );
        assert_eq!(o.mode, SslMode::VerifyFull);
        assert_eq!(o.root_cert.as_deref(), Some(Path::new("/etc/ca.pem")));
        let (rest, o) = split(
            "host=db user=app sslmode = 'verify-ca' sslcert=/c.pem sslkey='/my key.pem' password='a b\\'c'",
        )
        .unwrap();
        assert_eq!(rest, "host=db user=app password='a b\\'c' sslmode=require");
        assert_eq!(o.mode, SslMode::VerifyCa);
        assert_eq!(o.key.as_deref(), Some(Path::new("/my key.pem")));
        let (rest, o) = split("postgres://db/app").unwrap();
        assert_eq!(rest, "postgres://db/app?sslmode=prefer");
        assert_eq!(o, TlsOptions::default());
        let (rest, _) = split("postgres://db/app?sslmode=disable").unwrap();
        assert_eq!(rest, "postgres://db/app?sslmode=disable");
        assert!(split("host=db sslmode=verify")
            .unwrap_err()
            .contains("unknown sslmode `verify`"));
        assert!(split("host=db password='x")
            .unwrap_err()
            .contains("closing quote"));
    }

    #[test]
    fn a_password_with_an_unquoted_space_is_refused_without_being_shown() {
        for conn in [
            "host=db password=Pl4nted s3cret user=app",
            "host=db password=Pl4nted s3cret=x user=app",
            "host=db password=Pl4nted s3cret",
        ] {
            let err = split(conn).unwrap_err();
            assert!(err.contains("quote it"), "{conn}: {err}");
            assert!(!err.contains("s3cret"), "{conn}: {err}");
        }
        // A known keyword after the password is the next setting, as libpq reads it.
        let (rest, _) = split("host=db password=x port=5433").unwrap();
        assert_eq!(rest, "host=db password=x port=5433 sslmode=prefer");
    }

    #[test]
    fn verifying_modes_need_their_files() {
        let o = |mode| TlsOptions {
            mode,
            ..TlsOptions::default()
        };
        let err = o(SslMode::VerifyFull).connector().err().unwrap();
        assert!(err.contains("add sslrootcert="), "{err}");
        assert!(o(SslMode::Disable).connector().unwrap().is_none());
        assert!(o(SslMode::Require).connector().unwrap().is_some());
        let missing = TlsOptions {
            mode: SslMode::VerifyCa,
            root_cert: Some("/nonexistent/ca.pem".into()),
            ..TlsOptions::default()
        };
        let err = missing.connector().err().unwrap();
        assert!(err.contains("sslrootcert `/nonexistent/ca.pem`"), "{err}");
        let half = TlsOptions {
            cert: Some("/c.pem".into()),
            ..TlsOptions::default()
        };
        assert!(half.connector().err().unwrap().contains("without sslkey"));
    }
}
