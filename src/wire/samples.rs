//! Canonical sample values of every derived message, in protobuf's JSON form: the
//! inputs of the cross-language wire vectors (`tests/wire-vectors/`).
//!
//! Each message gets three samples, each a valid row (so the generated conversions
//! can carry it both ways without changing a byte):
//! - `nulls`: every NULL-able field absent, every list empty, every other field at its
//!   smallest valid value;
//! - `typical`: every field set to an everyday value, text with non-ASCII characters;
//! - `extremes`: the largest and smallest values each type holds, long text, NULL-able
//!   lists present but empty (which is not NULL).
//!
//! Values are written in the canonical form both clients produce: normalized
//! decimals, lowercase uuids, JSON as serde_json writes it, timestamps in UTC.

use serde_json::{json, Value};

use super::{Label, MessageKind, WireModel};
use crate::model::Contract;

/// The samples of one message.
pub struct MessageSamples {
    /// The message's name in its package (`AccountRow`).
    pub name: String,
    /// The full protobuf name (`ledger.wire.v3.AccountRow`).
    pub full_name: String,
    /// `(sample name, message in protobuf JSON)`.
    pub samples: Vec<(&'static str, Value)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    Nulls,
    Typical,
    Extremes,
}

const VARIANTS: [(&str, Variant); 3] = [
    ("nulls", Variant::Nulls),
    ("typical", Variant::Typical),
    ("extremes", Variant::Extremes),
];

/// Samples of every message of the model, in the model's order.
pub fn samples(model: &WireModel, c: &Contract) -> Vec<MessageSamples> {
    let s = Sampler {
        model,
        domains: super::Domains::of(c),
    };
    model
        .messages
        .iter()
        .map(|m| MessageSamples {
            name: m.name.clone(),
            full_name: format!("{}.{}", model.package, m.name),
            samples: VARIANTS
                .iter()
                .map(|(n, v)| (*n, s.message(&m.name, *v, 0)))
                .collect(),
        })
        .collect()
}

struct Sampler<'a> {
    model: &'a WireModel,
    domains: super::Domains<'a>,
}

impl Sampler<'_> {
    /// The base type of a (possibly domain) PostgreSQL type, without schema or array
    /// suffix: `public.amounts` → `numeric`.
    fn base(&self, pg: &str) -> String {
        let t = self.domains.base(pg);
        let t = t.trim_end_matches("[]");
        t.rsplit('.').next().unwrap_or(t).to_owned()
    }

    fn message(&self, name: &str, v: Variant, depth: usize) -> Value {
        let mut out = serde_json::Map::new();
        let Some(m) = self.model.messages.iter().find(|m| m.name == name) else {
            return Value::Object(out);
        };
        for f in &m.fields {
            let value = match (f.label, &f.list_of) {
                (Label::Optional, Some(elem)) => match v {
                    Variant::Nulls => None,
                    Variant::Typical => Some(json!({
                        "values": [self.element(elem, &f.pg_type, Variant::Typical, depth)]
                    })),
                    Variant::Extremes => Some(json!({ "values": [] })),
                },
                (Label::Optional, None) => match v {
                    Variant::Nulls => None,
                    _ => Some(self.element(&f.ty, &f.pg_type, v, depth)),
                },
                (Label::Plain, _) => Some(self.element(&f.ty, &f.pg_type, v, depth)),
                (Label::Repeated, _) => Some(Value::Array(match v {
                    Variant::Nulls => Vec::new(),
                    Variant::Typical => vec![
                        self.element(&f.ty, &f.pg_type, Variant::Typical, depth),
                        self.element(&f.ty, &f.pg_type, Variant::Nulls, depth),
                    ],
                    Variant::Extremes => vec![
                        self.element(&f.ty, &f.pg_type, Variant::Extremes, depth),
                        self.element(&f.ty, &f.pg_type, Variant::Nulls, depth),
                        self.element(&f.ty, &f.pg_type, Variant::Typical, depth),
                    ],
                })),
            };
            if let Some(value) = value {
                out.insert(f.name.clone(), value);
            }
        }
        Value::Object(out)
    }

    /// One value of protobuf type `ty` carrying PostgreSQL type `pg`.
    fn element(&self, ty: &str, pg: &str, v: Variant, depth: usize) -> Value {
        let pick = |a: Value, b: Value, c: Value| match v {
            Variant::Nulls => a,
            Variant::Typical => b,
            Variant::Extremes => c,
        };
        let base = self.base(pg);
        match ty {
            "bool" => pick(json!(false), json!(true), json!(true)),
            "int32" | "sint32" | "sfixed32" if base == "int2" => {
                pick(json!(0), json!(42), json!(i16::MAX))
            }
            "int32" | "sint32" | "sfixed32" => pick(json!(0), json!(-7), json!(i32::MIN)),
            "int64" | "sint64" | "sfixed64" => pick(
                json!("0"),
                json!("1234567890123"),
                json!(i64::MAX.to_string()),
            ),
            "uint32" | "fixed32" => pick(json!(0), json!(42), json!(u32::MAX)),
            "uint64" | "fixed64" => pick(json!("0"), json!("42"), json!(u64::MAX.to_string())),
            "double" => pick(json!(0.0), json!(2.5), json!(f64::MAX)),
            "float" => pick(json!(0.0), json!(2.5), json!(-1e10)),
            "bytes" if base == "uuid" => pick(
                json!("AAAAAAAAAAAAAAAAAAAAAA=="),
                json!("XwwaTo0rTBqefwEjRWeJqw=="),
                json!("/////////////////////w=="),
            ),
            "bytes" => pick(
                json!(""),
                json!("AAEC/w=="),
                json!(base64(&(0..=255).collect::<Vec<u8>>())),
            ),
            "string" => self.text(&base, v),
            "google.protobuf.Timestamp" => pick(
                json!("1970-01-01T00:00:00Z"),
                json!("2024-02-29T12:34:56.123456Z"),
                json!("9999-12-31T23:59:59.999999999Z"),
            ),
            "google.protobuf.Duration" => {
                pick(json!("0s"), json!("1.500s"), json!("315576000000s"))
            }
            other => {
                if let Some(e) = self.model.enums.iter().find(|e| e.name == other) {
                    let names: Vec<&str> = e.values.iter().map(|v| v.1.as_str()).collect();
                    let at = match v {
                        Variant::Nulls => 0,
                        Variant::Typical => 1.min(names.len().saturating_sub(1)),
                        Variant::Extremes => names.len().saturating_sub(1),
                    };
                    return names.get(at).map_or(json!(0), |n| json!(n));
                }
                if depth < 4
                    && self
                        .model
                        .messages
                        .iter()
                        .any(|m| m.name == other && m.kind != MessageKind::List)
                {
                    return self.message(other, v, depth + 1);
                }
                Value::Object(serde_json::Map::new())
            }
        }
    }

    /// Text carrying a PostgreSQL value: each type in the form its client conversions
    /// read and write.
    fn text(&self, base: &str, v: Variant) -> Value {
        let (a, b, c): (&str, &str, &str) = match base {
            "numeric" => ("0", "1234.5", "-79228162514264337593543950335"),
            "uuid" => (
                "00000000-0000-0000-0000-000000000000",
                "5f0c1a4e-8d2b-4c1a-9e7f-0123456789ab",
                "ffffffff-ffff-ffff-ffff-ffffffffffff",
            ),
            "json" | "jsonb" => (
                "null",
                r#"{"limits":[1,2.5,null],"note":"ünïcode","tier":"gold"}"#,
                "{\"big\":18446744073709551615,\"esc\":\"\\\"q\\\" \\\\ \\u0001 \u{2028}\",\"neg\":-9223372036854775808,\"nested\":[[],{}],\"x\":1e+300}",
            ),
            "date" => ("1970-01-01", "2024-02-29", "9999-12-31"),
            "inet" => ("127.0.0.1", "192.0.2.1", "2001:db8::ff"),
            "cidr" => ("127.0.0.0/8", "192.0.2.0/24", "2001:db8::/32"),
            "macaddr" => ("00:00:00:00:00:00", "08:00:2b:01:02:03", "ff:ff:ff:ff:ff:ff"),
            "time" | "timetz" => ("00:00:00", "01:02:03.5", "23:59:59.999999"),
            "interval" => ("00:00:00", "1 day 02:03:04", "-178000000 years"),
            _ => {
                return match v {
                    Variant::Nulls => json!(""),
                    Variant::Typical => json!("Zoë – 日本語 ✓ 😀"),
                    Variant::Extremes => {
                        json!(format!("{}\u{0}\"\\\u{10FFFF}e\u{301}", "x".repeat(300)))
                    }
                }
            }
        };
        json!(match v {
            Variant::Nulls => a,
            Variant::Typical => b,
            Variant::Extremes => c,
        })
    }
}

fn base64(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &x)| n | (u32::from(x) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(&[0, 1, 2, 255]), "AAEC/w==");
    }
}
