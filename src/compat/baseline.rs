//! Where the baseline contract comes from: a directory, a registry file, or a git
//! revision read from the object database (no checkout of the working tree).

use std::path::{Path, PathBuf};

/// A baseline registry on disk (a git revision's files are written to a private
/// temporary directory, removed when the baseline is dropped).
pub struct Baseline {
    pub registry: PathBuf,
    /// How the baseline was named, for messages.
    pub label: String,
    _scratch: Option<tempfile::TempDir>,
}

/// What a registry reads: the registry itself, SQL, protobuf, the wire lock. Only these are written
/// out of a revision, from its whole tree (a registry may name `../schema.sql`).
const READ_EXTENSIONS: &[&str] = &["yaml", "yml", "sql", "proto", "lock"];

/// Resolves `against`: an existing directory (its `sqlpact.yaml`), an existing file,
/// or a git revision, optionally `rev:path` with a directory or registry file inside
/// the revision. A bare revision takes the registry at the same place in the
/// repository as `current` (the registry being checked).
pub fn resolve(against: &str, current: &Path) -> Result<Baseline, String> {
    Resolver::default().resolve(against, current)
}

/// Resolves several baselines of one repository: a file that is the same in two
/// revisions is written once and linked into the second.
#[derive(Default)]
pub struct Resolver {
    written: std::collections::HashMap<gix::ObjectId, PathBuf>,
}

impl Resolver {
    /// See [`resolve`].
    pub fn resolve(&mut self, against: &str, current: &Path) -> Result<Baseline, String> {
        resolve_with(against, current, &mut self.written)
    }
}

fn resolve_with(
    against: &str,
    current: &Path,
    written: &mut std::collections::HashMap<gix::ObjectId, PathBuf>,
) -> Result<Baseline, String> {
    let p = Path::new(against);
    if p.is_dir() {
        let registry = p.join("sqlpact.yaml");
        if !registry.is_file() {
            return Err(format!(
                "`{against}` is a directory without a sqlpact.yaml\n  help: name the registry file itself, or a directory holding sqlpact.yaml"
            ));
        }
        return Ok(Baseline {
            registry,
            label: against.to_owned(),
            _scratch: None,
        });
    }
    if p.is_file() {
        return Ok(Baseline {
            registry: p.to_path_buf(),
            label: against.to_owned(),
            _scratch: None,
        });
    }
    from_git(against, current, written)
}

fn from_git(
    against: &str,
    current: &Path,
    written: &mut std::collections::HashMap<gix::ObjectId, PathBuf>,
) -> Result<Baseline, String> {
    let start = current
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let repo = gix::discover(start).map_err(|_| {
        format!(
            "`{against}` is neither a file, a directory nor a revision: no git repository here\n  help: pass a directory or a registry file, or run inside the repository"
        )
    })?;
    let workdir = repo
        .workdir()
        .ok_or_else(|| "the git repository has no working tree".to_owned())?
        .to_path_buf();
    // A revision may itself contain `:` (`:/message`, `@{date}`): the whole string
    // first, then `rev:path`.
    let whole_is_commit = repo
        .rev_parse_single(against)
        .ok()
        .and_then(|id| id.object().ok())
        .is_some_and(|o| o.peel_to_commit().is_ok());
    let (rev, inner) = match against.rsplit_once(':') {
        Some((rev, path)) if !whole_is_commit && !rev.is_empty() => {
            (rev, Some(path.trim_matches('/').to_owned()))
        }
        _ => (against, None),
    };
    // Where the registry sits inside the revision's tree.
    let (dir, file) = match inner {
        Some(path) if path.ends_with(".yaml") || path.ends_with(".yml") => {
            let pb = PathBuf::from(&path);
            let file = pb
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| "sqlpact.yaml".into());
            (pb.parent().map(Path::to_path_buf).unwrap_or_default(), file)
        }
        Some(path) => (PathBuf::from(path), "sqlpact.yaml".to_owned()),
        None => {
            let abs = std::fs::canonicalize(current)
                .map_err(|e| format!("cannot read `{}`: {e}", current.display()))?;
            let root = std::fs::canonicalize(&workdir).unwrap_or(workdir.clone());
            let rel = abs.strip_prefix(&root).map_err(|_| {
                format!(
                    "`{}` is outside the git repository at `{}`\n  help: name the registry inside the revision: `--against {rev}:path/to/dir`",
                    current.display(),
                    root.display()
                )
            })?;
            let file = rel
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| "sqlpact.yaml".into());
            (
                rel.parent().map(Path::to_path_buf).unwrap_or_default(),
                file,
            )
        }
    };
    let id = repo.rev_parse_single(rev).map_err(|_| {
        let shallow = repo.is_shallow().unwrap_or(false);
        let mut m = format!("revision `{rev}` not found in the git repository");
        if shallow {
            m.push_str(&format!(
                "\n  help: this is a shallow clone; fetch the baseline first: `git fetch --depth=1 origin {rev}` (or check out with full history, e.g. `fetch-depth: 0` in actions/checkout)"
            ));
        } else {
            m.push_str(&format!(
                "\n  help: fetch it (`git fetch origin {rev}`) or name a branch, tag or commit that exists"
            ));
        }
        m
    })?;
    let commit_tree = id
        .object()
        .and_then(|o| o.peel_to_tree())
        .map_err(|e| format!("revision `{rev}` does not name a tree: {e}"))?;
    let scratch = tempfile::Builder::new()
        .prefix("sqlpact-baseline-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    write_tree(&commit_tree, scratch.path(), written)
        .map_err(|e| format!("reading `{rev}`: {e}"))?;
    let in_tree = dir.join(&file);
    let baseline = Baseline {
        registry: scratch.path().join(&in_tree),
        label: against.to_owned(),
        _scratch: Some(scratch),
    };
    if !baseline.registry.is_file() {
        let what = if baseline.registry.parent().is_some_and(Path::is_dir) {
            format!("revision `{rev}` has no `{}`", in_tree.display())
        } else {
            format!("`{}` does not exist in revision `{rev}`", dir.display())
        };
        return Err(format!(
            "{what}\n  help: the registry may have moved; name it inside the revision: `--against {rev}:path/to/dir`"
        ));
    }
    Ok(baseline)
}
/// How much of a revision is written out, at most: files, bytes, directory levels. A
/// registry needs a few files; these bound what a hostile or enormous tree can cost.
pub const MAX_REVISION_FILES: usize = 50_000;
pub const MAX_REVISION_BYTES: u64 = 512 << 20;
pub const MAX_TREE_DEPTH: usize = 64;

/// What writing a revision has used so far.
#[derive(Default)]
struct Budget {
    files: usize,
    bytes: u64,
}

/// Writes the blobs of `tree` that a registry may read under `to`, recursively
/// (symlinks and submodules are skipped). A blob larger than the loader reads is not
/// read: an empty file of its size stands in, which the loader refuses (`E106`) only if
/// the registry names it.
fn write_tree(
    tree: &gix::Tree<'_>,
    to: &Path,
    written: &mut std::collections::HashMap<gix::ObjectId, PathBuf>,
) -> Result<(), Box<dyn std::error::Error>> {
    write_subtree(tree, to, written, &mut Budget::default(), 0)
}

fn write_subtree(
    tree: &gix::Tree<'_>,
    to: &Path,
    written: &mut std::collections::HashMap<gix::ObjectId, PathBuf>,
    budget: &mut Budget,
    depth: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    if depth > MAX_TREE_DEPTH {
        return Err(format!(
            "directories nest more than {MAX_TREE_DEPTH} deep at `{}`",
            to.display()
        )
        .into());
    }
    std::fs::create_dir_all(to)?;
    for entry in tree.iter() {
        let entry = entry?;
        let name = entry.filename().to_string();
        if name.contains('/') || name == ".." || name == "." {
            continue;
        }
        let mode = entry.mode();
        if mode.is_tree() {
            let sub = entry.object()?.peel_to_tree()?;
            write_subtree(&sub, &to.join(&name), written, budget, depth + 1)?;
        } else if mode.is_blob()
            && Path::new(&name)
                .extension()
                .is_some_and(|e| READ_EXTENSIONS.iter().any(|x| e == *x))
        {
            let path = to.join(&name);
            let id = entry.object_id();
            budget.files += 1;
            if budget.files > MAX_REVISION_FILES {
                return Err(too_much(&format!("{MAX_REVISION_FILES} files")));
            }
            if let Some(earlier) = written.get(&id) {
                if std::fs::hard_link(earlier, &path).is_ok() {
                    continue;
                }
            }
            let size = tree.repo.find_header(id)?.size();
            if size > crate::registry::MAX_SQL_BYTES {
                std::fs::File::create(&path)?.set_len(size)?;
                continue;
            }
            budget.bytes += size;
            if budget.bytes > MAX_REVISION_BYTES {
                return Err(too_much(&format!("{} MiB", MAX_REVISION_BYTES >> 20)));
            }
            let obj = entry.object()?;
            std::fs::write(&path, &obj.data)?;
            written.insert(id, path);
        }
    }
    Ok(())
}

fn too_much(what: &str) -> Box<dyn std::error::Error> {
    format!(
        "its .yaml, .sql, .proto and .lock files come to more than {what}, more than sqlpact writes out of a revision\n  help: check the revision out (`git worktree add ../baseline <rev>`) and compare against its directory: `--against ../baseline/path/to/dir`"
    )
    .into()
}
