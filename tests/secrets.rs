//! Secrets stay secret: a password in the registry is an error that does not repeat it,
//! and no output of `check` or `verify` shows a password planted in its input.

mod common;

use std::process::{Command, Output};

const PLANTED: &str = "PlantedS3cret";

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sqlpact"));
    c.args(args).env("NO_COLOR", "1").env_remove("DATABASE_URL");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run sqlpact")
}

fn all(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A scratch copy of a fixture registry whose file gains `line`.
fn registry_with(name: &str, line: &str) -> std::path::PathBuf {
    let src = common::root().join("tests/fixtures/analyze/shared_row_types");
    let dir = std::env::temp_dir().join(format!("sqlpact-secrets-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(src.join("queries.sql"), dir.join("queries.sql")).unwrap();
    let schema = common::root().join("tests/fixtures/analyze/schema.sql");
    std::fs::copy(schema, dir.join("schema.sql")).unwrap();
    let yaml = std::fs::read_to_string(src.join("sqlpact.yaml"))
        .unwrap()
        .replace("../schema.sql", "schema.sql");
    std::fs::write(dir.join("sqlpact.yaml"), format!("{yaml}{line}\n")).unwrap();
    dir.join("sqlpact.yaml")
}

#[test]
fn a_password_in_the_registry_is_an_error_that_does_not_repeat_it() {
    for (name, line) in [
        (
            "url",
            format!("# staging: postgres://app:{PLANTED}@db:5432/app"),
        ),
        (
            "keywords",
            format!("# dsn: host=db user=app password={PLANTED}"),
        ),
        ("key", format!("x-database:\n  password: {PLANTED}")),
    ] {
        let cfg = registry_with(name, &line);
        let cfg = cfg.to_str().unwrap();
        for format in ["text", "json", "github"] {
            let out = run(&["-c", cfg, "check", "--format", format], &[]);
            assert_eq!(out.status.code(), Some(1), "{name} {format}: {}", all(&out));
            let text = all(&out);
            assert!(text.contains("E114"), "{name} {format}: {text}");
            assert!(!text.contains(PLANTED), "{name} {format}: {text}");
        }
        // `generate` refuses it the same way, before writing anything.
        let out = run(&["-c", cfg, "generate"], &[]);
        assert!(all(&out).contains("E114") && !all(&out).contains(PLANTED));
        let _ = std::fs::remove_dir_all(std::path::Path::new(cfg).parent().unwrap());
    }
    // The text report shows the line, the password masked, and where it is.
    let cfg = registry_with("shown", &format!("# postgres://app:{PLANTED}@db/app"));
    let out = run(&["-c", cfg.to_str().unwrap(), "check"], &[]);
    let text = all(&out);
    assert!(
        text.contains(&format!(
            "postgres://app:{}@db/app",
            "*".repeat(PLANTED.len())
        )),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(cfg.parent().unwrap());
}

#[test]
fn verify_never_shows_the_password_of_its_url() {
    let cfg = common::root().join("tests/fixtures/analyze/shared_row_types/sqlpact.yaml");
    let cfg = cfg.to_str().unwrap();
    let refused = format!("postgres://app:{PLANTED}@127.0.0.1:1/app");
    let malformed = format!("postgres://app:{PLANTED}@db:notaport/app");
    let keywords = format!("host=127.0.0.1 port=1 user=app password={PLANTED}");
    let unknown = format!("postgres://app:{PLANTED}@no-such-host.invalid/app");
    for url in [&refused, &malformed, &keywords, &unknown] {
        // From the environment.
        let out = run(&["-c", cfg, "verify"], &[("DATABASE_URL", url)]);
        assert_eq!(out.status.code(), Some(2), "{}", all(&out));
        assert!(!all(&out).contains(PLANTED), "{}", all(&out));
        // From a file.
        let file = std::env::temp_dir().join(format!("sqlpact-url-{}", std::process::id()));
        std::fs::write(&file, format!("{url}\n")).unwrap();
        let out = run(
            &[
                "-c",
                cfg,
                "verify",
                "--database-url-file",
                file.to_str().unwrap(),
            ],
            &[],
        );
        assert_eq!(out.status.code(), Some(2), "{}", all(&out));
        assert!(!all(&out).contains(PLANTED), "{}", all(&out));
        let _ = std::fs::remove_file(&file);
        // On the command line, with a warning that it is visible there.
        let out = run(&["-c", cfg, "verify", "--database-url", url], &[]);
        let text = all(&out);
        assert!(!text.contains(PLANTED), "{text}");
        assert!(
            text.contains("the password in --database-url is visible"),
            "{text}"
        );
    }
    let out = run(&["-c", cfg, "verify", "--database-url", &refused], &[]);
    assert!(all(&out).contains("Connection refused"), "{}", all(&out));
    let out = run(&["-c", cfg, "verify"], &[]);
    assert!(all(&out).contains("--database-url-file"), "{}", all(&out));
}
