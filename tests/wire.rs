//! Wire versions: the derived `.proto` files and `sqlpact.lock` (snapshots), and the
//! lock's promise under a script of contract edits: no field number ever moves or is
//! given twice.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::sqlpact_in;
use sqlpact::wire::Lock;

#[test]
fn the_examples_wire_snapshot() {
    let reg = common::root().join("contracts/sqlpact.yaml");
    let a = common::clean(&reg);
    let b = a.wire.as_ref().expect("the example declares a wire format");
    assert_eq!(b.model.package, "ledger.wire.v3");
    assert!(
        !b.lock_changed,
        "contracts/sqlpact.lock is out of date: run `sqlpact -c contracts/sqlpact.yaml generate`"
    );
    for (name, text) in &b.protos {
        common::settings().bind(|| {
            insta::assert_snapshot!(format!("wire_example_{}", name.replace('/', "_")), text)
        });
    }
    common::settings().bind(|| insta::assert_snapshot!("wire_example_lock", b.lock));
    // The descriptor set holds the derived file and its imports, with source info.
    let names: Vec<&str> = b.descriptors.file.iter().map(|f| f.name()).collect();
    assert!(names.contains(&"ledger/wire/v3/ledger.proto"), "{names:?}");
    assert!(
        names.contains(&"google/protobuf/timestamp.proto"),
        "{names:?}"
    );
}

const SCHEMA: &str = "CREATE TYPE item_status AS ENUM ('new', 'done');\n\
CREATE TABLE items (\n  id bigint PRIMARY KEY,\n  name text NOT NULL,\n  note text,\n  status item_status NOT NULL,\n  created_at timestamptz NOT NULL DEFAULT now()\n);\n";

/// One state of the contract in the edit script.
struct Step {
    what: &'static str,
    /// The query file.
    sql: &'static str,
    /// Extra registry lines (renames).
    extra: &'static str,
    /// The enum's values.
    enum_values: &'static str,
    /// Message renames made by this step: new name → old name.
    renamed_messages: &'static [(&'static str, &'static str)],
    /// Field renames made by this step: (message, new field, old field).
    renamed_fields: &'static [(&'static str, &'static str, &'static str)],
}

const STEPS: &[Step] = &[
    Step {
        what: "base",
        sql: "-- name: GetItem :one\nSELECT id, name, note, status FROM items WHERE id = @id;\n",
        extra: "",
        enum_values: "'new', 'done'",
        renamed_messages: &[],
        renamed_fields: &[],
    },
    Step {
        what: "rename name to title",
        sql: "-- name: GetItem :one\nSELECT id, name AS title, note, status FROM items WHERE id = @id;\n",
        extra: "renamed_from:\n  GetItem.title: name\n",
        enum_values: "'new', 'done'",
        renamed_messages: &[],
        renamed_fields: &[("GetItemRow", "title", "name")],
    },
    Step {
        what: "reorder",
        sql: "-- name: GetItem :one\nSELECT status, id, name AS title, note FROM items WHERE id = @id;\n",
        extra: "renamed_from:\n  GetItem.title: name\n",
        enum_values: "'new', 'done'",
        renamed_messages: &[],
        renamed_fields: &[],
    },
    Step {
        what: "remove note, add created_at",
        sql: "-- name: GetItem :one\nSELECT status, id, name AS title, created_at FROM items WHERE id = @id;\n",
        extra: "",
        enum_values: "'new', 'done'",
        renamed_messages: &[],
        renamed_fields: &[],
    },
    Step {
        what: "re-add note with the same name",
        sql: "-- name: GetItem :one\nSELECT status, id, name AS title, created_at, note FROM items WHERE id = @id;\n",
        extra: "",
        enum_values: "'new', 'done'",
        renamed_messages: &[],
        renamed_fields: &[],
    },
    Step {
        what: "enum: remove a value, add one, rename one",
        sql: "-- name: GetItem :one\nSELECT status, id, name AS title, created_at, note FROM items WHERE id = @id;\n",
        extra: "renamed_from:\n  item_status.finished: done\n",
        enum_values: "'finished', 'archived'",
        renamed_messages: &[],
        renamed_fields: &[("ItemStatus", "finished", "done")],
    },
    Step {
        what: "rename the query",
        sql: "-- name: FetchItem :one\nSELECT status, id, name AS title, created_at, note FROM items WHERE id = @id;\n",
        extra: "renamed_from:\n  FetchItem: GetItem\n",
        enum_values: "'finished', 'archived'",
        renamed_messages: &[("FetchItemRow", "GetItemRow"), ("FetchItemParams", "GetItemParams")],
        renamed_fields: &[],
    },
    Step {
        what: "remove the query",
        sql: "-- name: CountItems :one\nSELECT count(*) AS n FROM items;\n",
        extra: "",
        enum_values: "'finished', 'archived'",
        renamed_messages: &[],
        renamed_fields: &[],
    },
    Step {
        what: "bring the query back, with one more column",
        sql: "-- name: CountItems :one\nSELECT count(*) AS n FROM items;\n\n-- name: FetchItem :one\nSELECT status, id, name AS title, created_at, note, name FROM items WHERE id = @id;\n",
        extra: "",
        enum_values: "'finished', 'archived'",
        renamed_messages: &[],
        renamed_fields: &[],
    },
];

fn write_step(dir: &Path, s: &Step) {
    std::fs::write(
        dir.join("schema.sql"),
        SCHEMA.replace("'new', 'done'", s.enum_values),
    )
    .unwrap();
    std::fs::write(dir.join("queries.sql"), s.sql).unwrap();
    std::fs::write(
        dir.join("sqlpact.yaml"),
        format!(
            "version: 1\ncontract: {{ name: items, version: 1.0.0 }}\nengine: postgresql\nschema: [schema.sql]\nqueries: [queries.sql]\nwire: {{ version: 1, out: proto }}\n{}",
            s.extra
        ),
    )
    .unwrap();
}

/// Every (message or enum, name) → number in a lock, live ones only.
fn live_numbers(lock: &Lock) -> BTreeMap<(String, String), u32> {
    let mut out = BTreeMap::new();
    for (m, n) in lock.messages.iter().chain(&lock.enums) {
        for (f, num) in &n.fields {
            out.insert((m.clone(), f.clone()), *num);
        }
    }
    out
}

#[test]
fn no_field_number_ever_moves_or_is_given_twice() {
    let dir = tempfile::tempdir().unwrap();
    let mut previous: BTreeMap<(String, String), u32> = BTreeMap::new();
    // (message, number) → the name it was first given, followed through renames.
    let mut ever: BTreeMap<(String, u32), String> = BTreeMap::new();
    for (i, step) in STEPS.iter().enumerate() {
        write_step(dir.path(), step);
        let out = sqlpact_in(&["generate"], Some(dir.path()));
        assert!(
            out.status.success(),
            "step {i} ({}): {}",
            step.what,
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(dir.path().join("sqlpact.lock")).unwrap();
        let lock = Lock::parse(&text).unwrap_or_else(|e| panic!("step {i}: {}", e.0));
        let proto =
            std::fs::read_to_string(dir.path().join("proto/items/wire/v1/items.proto")).unwrap();
        common::settings().bind(|| {
            insta::assert_snapshot!(format!("wire_edits_{i}_proto"), proto, step.what);
            insta::assert_snapshot!(format!("wire_edits_{i}_lock"), text, step.what);
        });

        // Follow this step's renames in the history.
        for (new, old) in step.renamed_messages {
            let moved: Vec<_> = ever
                .iter()
                .filter(|((m, _), _)| m == old)
                .map(|((_, n), f)| (*n, f.clone()))
                .collect();
            for (n, f) in moved {
                ever.remove(&((*old).to_owned(), n));
                ever.insert(((*new).to_owned(), n), f);
            }
            let moved: Vec<_> = previous
                .iter()
                .filter(|((m, _), _)| m == old)
                .map(|((_, f), n)| (f.clone(), *n))
                .collect();
            for (f, n) in moved {
                previous.insert(((*new).to_owned(), f), n);
            }
        }
        for (m, new, old) in step.renamed_fields {
            for ((mm, _), f) in ever.iter_mut() {
                if mm == m && f == old {
                    *f = (*new).to_owned();
                }
            }
            if let Some(n) = previous.remove(&((*m).to_owned(), (*old).to_owned())) {
                previous.insert(((*m).to_owned(), (*new).to_owned()), n);
            }
        }

        let now = live_numbers(&lock);
        for ((m, f), n) in &now {
            if let Some(before) = previous.get(&(m.clone(), f.clone())) {
                assert_eq!(n, before, "step {i} ({}): {m}.{f} moved", step.what);
            }
            match ever.get(&(m.clone(), *n)) {
                Some(first) => assert_eq!(
                    first, f,
                    "step {i} ({}): number {n} of {m} was `{first}` and is now given to `{f}`",
                    step.what
                ),
                None => {
                    ever.insert((m.clone(), *n), f.clone());
                }
            }
        }
        // Every number ever given and not in use now is reserved.
        for ((m, n), f) in &ever {
            let in_use = now.get(&(m.clone(), f.clone())) == Some(n);
            let entry = lock.messages.get(m).or_else(|| lock.enums.get(m));
            let reserved = entry.is_some_and(|e| e.reserved.contains_key(n));
            assert!(
                in_use || reserved,
                "step {i} ({}): {m} number {n} (`{f}`) is neither in use nor reserved",
                step.what
            );
        }
        previous = now;

        // Regenerating changes nothing, and --check agrees.
        let check = sqlpact_in(&["generate", "--check"], Some(dir.path()));
        assert!(check.status.success(), "step {i}: not a fixed point");
    }
}

/// The registry's wire format compiled from its rendered text and built straight from
/// the model ([`sqlpact::wire::Detail`]) are the same descriptors, source info aside.
/// Returns the number of messages compared.
fn built_equals_compiled(registry_file: &Path) -> usize {
    use sqlpact::analyze::{analyze_with, Options};
    use sqlpact::wire::Detail;
    let mut sources = sqlpact::source::SourceMap::default();
    let mut diags = sqlpact::diag::Diagnostics::default();
    let reg = sqlpact::registry::load(registry_file, &mut sources, &mut diags)
        .unwrap_or_else(|| panic!("{} does not load", registry_file.display()));
    let build = |detail| {
        let opts = Options {
            memo: None,
            wire: Some(detail),
        };
        let a = analyze_with(
            &reg,
            &sources,
            &mut sqlpact::diag::Diagnostics::default(),
            &opts,
        );
        a.wire
            .unwrap_or_else(|| panic!("{}: no wire format", registry_file.display()))
    };
    let mut compiled = build(Detail::Full).descriptors;
    for f in &mut compiled.file {
        f.source_code_info = None;
    }
    let built = build(Detail::Descriptors).descriptors;
    let names = |s: &prost_types::FileDescriptorSet| -> Vec<String> {
        s.file.iter().map(|f| f.name().to_owned()).collect()
    };
    assert_eq!(
        names(&built),
        names(&compiled),
        "{}",
        registry_file.display()
    );
    let mut messages = 0;
    for (b, c) in built.file.iter().zip(&compiled.file) {
        for (bm, cm) in b.message_type.iter().zip(&c.message_type) {
            assert_eq!(bm, cm, "{}: {}", registry_file.display(), c.name());
        }
        messages += c.message_type.len();
        assert_eq!(b, c, "{}: {}", registry_file.display(), c.name());
    }
    messages
}

#[test]
fn built_descriptors_equal_compiled_ones() {
    let root = common::root();
    let mut registries = vec![
        root.join("contracts/sqlpact.yaml"),
        root.join("tests/fixtures/generate/kitchen_sink/sqlpact.yaml"),
    ];
    for entry in std::fs::read_dir(root.join("tests/fixtures/compat")).unwrap() {
        let dir = entry.unwrap().path();
        if dir
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("WIR-")
        {
            registries.push(dir.join("old/sqlpact.yaml"));
            registries.push(dir.join("new/sqlpact.yaml"));
        }
    }
    let mut messages = 0;
    for r in &registries {
        messages += built_equals_compiled(r);
    }
    // The edit script: renames, removed fields and values (reserved numbers and names).
    let dir = tempfile::tempdir().unwrap();
    for step in STEPS {
        write_step(dir.path(), step);
        let out = sqlpact_in(&["generate"], Some(dir.path()));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        messages += built_equals_compiled(&dir.path().join("sqlpact.yaml"));
    }
    assert!(messages > 100, "only {messages} messages compared");
}

#[test]
fn check_fails_when_the_lock_would_change() {
    let dir = tempfile::tempdir().unwrap();
    write_step(dir.path(), &STEPS[0]);
    assert!(sqlpact_in(&["generate"], Some(dir.path())).status.success());
    write_step(dir.path(), &STEPS[3]);
    let out = sqlpact_in(&["generate", "--check"], Some(dir.path()));
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("sqlpact.lock"), "{stdout}");
    assert!(stdout.contains("+      created_at: 6"), "{stdout}");
}

#[test]
fn a_hand_written_proto_compiles_with_the_derived_one() {
    let dir = tempfile::tempdir().unwrap();
    write_step(dir.path(), &STEPS[0]);
    std::fs::create_dir(dir.path().join("api")).unwrap();
    std::fs::write(
        dir.path().join("api/events.proto"),
        "syntax = \"proto3\";\npackage items.events;\nimport \"items/wire/v1/items.proto\";\nimport \"google/protobuf/timestamp.proto\";\nmessage ItemSeen {\n  items.wire.v1.GetItemRow item = 1;\n  google.protobuf.Timestamp at = 2;\n}\n",
    )
    .unwrap();
    let cfg = std::fs::read_to_string(dir.path().join("sqlpact.yaml")).unwrap();
    std::fs::write(
        dir.path().join("sqlpact.yaml"),
        cfg.replace("out: proto }", "out: proto, protos: [api/*.proto] }"),
    )
    .unwrap();
    let a = common::clean(&dir.path().join("sqlpact.yaml"));
    let b = a.wire.expect("wire");
    let names: Vec<&str> = b.descriptors.file.iter().map(|f| f.name()).collect();
    assert!(names.contains(&"api/events.proto"), "{names:?}");
    let events = b
        .descriptors
        .file
        .iter()
        .find(|f| f.name() == "api/events.proto")
        .unwrap();
    assert_eq!(
        events.message_type[0].field[0].type_name(),
        ".items.wire.v1.GetItemRow"
    );
}

#[test]
fn an_embed_named_like_a_row_type_is_a_clash_not_a_merge() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("schema.sql"),
        "CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL);\nCREATE TABLE tags (item_id bigint NOT NULL, tag text NOT NULL);\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("queries.sql"),
        "-- name: ListItems :many\nSELECT id, name FROM items;\n\n-- name: ItemTags :many\nSELECT sqlc.embed(items), t.tag FROM items JOIN tags t ON t.item_id = items.id;\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("sqlpact.yaml"),
        "version: 1\ncontract: { name: items, version: 1.0.0 }\nengine: postgresql\nschema: [schema.sql]\nqueries: [queries.sql]\nrow_types:\n  Item: [ListItems]\nwire: { version: 1 }\n",
    )
    .unwrap();
    let out = sqlpact_in(&["check"], Some(dir.path()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("E602"), "{stderr}");
    assert!(
        stderr.contains("`Item` would stand for both the row of `ListItems`"),
        "{stderr}"
    );
    assert!(stderr.contains("table `public.items`"), "{stderr}");
}

/// The cross-language vectors: every message of the example, with canonical samples
/// (NULLs, everyday values with non-ASCII text, extremes), in protobuf JSON and as the
/// bytes a protobuf codec writes for them. The Rust client's tests decode and re-encode
/// the bytes with the generated types and conversions, the Go client's tests with
/// theirs; all of them must write these bytes. `SQLPACT_BLESS=1` rewrites the files.
#[test]
fn wire_vectors_are_current() {
    use prost::Message as _;
    let reg = common::root().join("contracts/sqlpact.yaml");
    let a = common::clean(&reg);
    let b = a.wire.as_ref().expect("the example declares a wire format");
    let pool = prost_reflect::DescriptorPool::from_file_descriptor_set(b.descriptors.clone())
        .expect("the descriptor set is valid");
    let dir = common::root().join("tests/wire-vectors");
    let bless = std::env::var_os("SQLPACT_BLESS").is_some();
    let mut expected = BTreeMap::new();
    for m in sqlpact::wire::samples::samples(&b.model, &a.contract) {
        let desc = pool
            .get_message_by_name(&m.full_name)
            .unwrap_or_else(|| panic!("{} is not in the descriptor set", m.full_name));
        let mut samples = Vec::new();
        for (name, value) in &m.samples {
            let msg = prost_reflect::DynamicMessage::deserialize(desc.clone(), value.clone())
                .unwrap_or_else(|e| panic!("{} {name}: {e}\n{value}", m.name));
            let bytes = msg.encode_to_vec();
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            samples.push(serde_json::json!({"name": name, "json": value, "hex": hex}));
        }
        let file = serde_json::json!({"message": m.full_name, "samples": samples});
        let mut text = serde_json::to_string_pretty(&file).unwrap();
        text.push('\n');
        expected.insert(format!("{}.json", m.name), text);
    }
    assert_eq!(expected.len(), b.model.messages.len());
    if bless {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in &expected {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }
    let mut on_disk = BTreeMap::new();
    for e in std::fs::read_dir(&dir).expect("tests/wire-vectors exists") {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        on_disk.insert(name, std::fs::read_to_string(&p).unwrap());
    }
    let stale: Vec<&String> = expected
        .keys()
        .filter(|k| on_disk.get(*k) != expected.get(*k))
        .chain(on_disk.keys().filter(|k| !expected.contains_key(*k)))
        .collect();
    assert!(
        stale.is_empty(),
        "tests/wire-vectors is out of date ({stale:?}): rerun with SQLPACT_BLESS=1"
    );
}

#[test]
fn wire_queries_selects_what_travels() {
    let dir = tempfile::tempdir().unwrap();
    let src = common::root().join("contracts");
    for sub in ["migrations", "queries"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
        for e in std::fs::read_dir(src.join(sub)).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, dir.path().join(sub).join(p.file_name().unwrap())).unwrap();
        }
    }
    let cfg = std::fs::read_to_string(src.join("sqlpact.yaml")).unwrap();
    let selected = cfg
        .replace(
            "package: ledger,",
            "package: ledger, import_path: example.com/ledger/gen/go/ledger,",
        )
        .replace(
        "wire: { version: 3, min_compatible: 2, out: gen/proto }",
        "wire: { version: 3, min_compatible: 2, out: gen/proto, queries: [\"GetAccount*\", CreateAccount] }",
    );
    assert_ne!(cfg, selected, "the example's wire line moved");
    std::fs::write(dir.path().join("sqlpact.yaml"), &selected).unwrap();
    let a = common::clean(&dir.path().join("sqlpact.yaml"));
    let b = a.wire.expect("wire");
    let travels = |q: &str| q.starts_with("GetAccount") || q == "CreateAccount";
    let mut carried = std::collections::BTreeSet::new();
    for m in &b.model.messages {
        for q in &m.queries {
            assert!(
                travels(q),
                "`{}` carries `{q}`, which is not selected",
                m.name
            );
            carried.insert(q.clone());
        }
    }
    // Every selected query with a row or parameters has its messages.
    let expected: std::collections::BTreeSet<String> = a
        .contract
        .queries
        .iter()
        .filter(|q| travels(&q.name) && !(q.columns.is_empty() && q.params.is_empty()))
        .map(|q| q.name.clone())
        .collect();
    assert!(expected.len() >= 4, "{expected:?}");
    assert_eq!(carried, expected);
    let proto = b.protos.values().next().expect("the derived file");
    assert!(proto.contains("message GetAccountParams {"), "{proto}");
    assert!(
        !proto.contains("message ListCustomerSummariesRow {"),
        "{proto}"
    );

    // The generators follow: conversions only for what has a message.
    let out = sqlpact_in(&["generate"], Some(dir.path()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut generated = String::new();
    for p in walk(&dir.path().join("gen")) {
        if p.extension().is_some_and(|e| e == "rs" || e == "go") {
            generated.push_str(&std::fs::read_to_string(&p).unwrap());
        }
    }
    // The example's generated code converts both rows; with the selection, only the
    // selected query's.
    for lang in ["wire.", "wire::"] {
        assert!(
            generated.contains(&format!("{lang}AccountRow")),
            "{lang}AccountRow"
        );
        assert!(
            !generated.contains(&format!("{lang}ListCustomerSummariesRow")),
            "{lang}ListCustomerSummariesRow"
        );
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
