//! Migration directories in the common layouts, put in the order they are applied.
//!
//! | layout        | up files                        | skipped                     |
//! |---------------|---------------------------------|-----------------------------|
//! | numbered      | `0001_init.sql`                 |                             |
//! | golang-migrate, sqlx | `0001_init.up.sql`       | `*.down.sql`                |
//! | refinery      | `V1__init.sql`                  | `U1__init.sql` (undo)       |
//! | goose, dbmate | one file, `-- +goose Up` / `-- migrate:up` section | the down section |

use std::ops::Range;
use std::path::{Path, PathBuf};

/// Orders the `.sql` files of a migration directory by version, dropping down/undo files.
pub fn order(files: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut keyed: Vec<(Option<u128>, String, PathBuf)> = files
        .into_iter()
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_owned();
            if !name.ends_with(".sql") || is_down(&name) {
                return None;
            }
            Some((version_of(&name), name, p))
        })
        .collect();
    // Versioned files first, by number; unversioned ones after, by name.
    keyed.sort_by(|a, b| match (a.0, b.0) {
        (Some(x), Some(y)) => x.cmp(&y).then_with(|| a.1.cmp(&b.1)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.1.cmp(&b.1),
    });
    keyed.into_iter().map(|(_, _, p)| p).collect()
}

fn is_down(name: &str) -> bool {
    name.ends_with(".down.sql")
        || name.ends_with(".undo.sql")
        || (name.starts_with('U')
            && name[1..].starts_with(|c: char| c.is_ascii_digit())
            && name.contains("__"))
}

/// The version number a migration file name starts with (`0003_`, `V3__`, `20240101120000_`).
fn version_of(name: &str) -> Option<u128> {
    let digits_from = if name.starts_with('V') && name.contains("__") {
        1
    } else {
        0
    };
    let digits: String = name[digits_from..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    if digits.is_empty() {
        return None;
    }
    digits.parse().ok()
}

/// The part of a migration file that migrates up: the goose or dbmate up section when the
/// file has one, else the whole file.
pub fn up_section(text: &str) -> Range<usize> {
    let mut start = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim().to_ascii_lowercase();
        let compact: String = t.split_whitespace().collect::<Vec<_>>().join(" ");
        if compact == "-- +goose up" || compact == "-- migrate:up" {
            start = Some(offset + line.len());
        } else if (compact == "-- +goose down" || compact == "-- migrate:down") && start.is_some() {
            return start.unwrap_or(0)..offset;
        }
        offset += line.len();
    }
    start.unwrap_or(0)..text.len()
}

/// Whether a path names a directory of migrations rather than one DDL file.
pub fn is_dir(path: &Path) -> bool {
    path.is_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_number_and_drops_down_files() {
        let files = [
            "10_c.up.sql",
            "2_b.up.sql",
            "2_b.down.sql",
            "1_a.up.sql",
            "README.md",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        let names: Vec<_> = order(files)
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(names, ["1_a.up.sql", "2_b.up.sql", "10_c.up.sql"]);
    }

    #[test]
    fn orders_refinery_versions_and_skips_undo() {
        let files = ["V10__c.sql", "V2__b.sql", "U2__b.sql"]
            .iter()
            .map(PathBuf::from)
            .collect();
        let names: Vec<_> = order(files)
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(names, ["V2__b.sql", "V10__c.sql"]);
    }

    #[test]
    fn goose_up_section_excludes_down() {
        let text = "-- +goose Up\nCREATE TABLE a (id int);\n-- +goose Down\nDROP TABLE a;\n";
        let r = up_section(text);
        assert_eq!(&text[r], "CREATE TABLE a (id int);\n");
    }
}
