//! The observer adapters write every event where the application's logs go.

#![cfg(feature = "tracing")]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlpact_runtime::{BreakerState, Class, Event, Observer, Role, TracingObserver};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_tracing_observer_writes_every_event_with_its_fields_and_level() {
    let buf = Buffer::default();
    let sink = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_max_level(tracing::Level::DEBUG)
        .without_time()
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let o = TracingObserver;
        o.on_event(&Event::Retry {
            statement: "GetAccount",
            host: "db1:5432",
            class: Class::Connection,
            attempt: 1,
            delay: Duration::from_millis(40),
        });
        o.on_event(&Event::Failed {
            statement: "Transfer",
            class: Class::Connection,
            attempts: 1,
            ambiguous: true,
            budget_exhausted: false,
        });
        o.on_event(&Event::Breaker {
            host: "db1:5432",
            state: BreakerState::HalfOpen,
        });
        o.on_event(&Event::Role {
            host: "db2:5432",
            role: Role::Primary,
        });
        o.on_event(&Event::ConnectionClosed {
            host: "db1:5432",
            reason: "expired",
        });
    });
    let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            " WARN sqlpact: retry statement=\"GetAccount\" host=\"db1:5432\" class=\"connection\" attempt=1 delay_ms=40",
            " WARN sqlpact: failed statement=\"Transfer\" class=\"connection\" attempts=1 ambiguous=true budget_exhausted=false",
            " WARN sqlpact: breaker host=\"db1:5432\" state=HalfOpen",
            " INFO sqlpact: role host=\"db2:5432\" role=\"primary\"",
            "DEBUG sqlpact: connection closed host=\"db1:5432\" reason=\"expired\"",
        ]
    );
}
