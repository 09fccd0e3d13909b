//! Where the baseline contract comes from: a directory, a registry file, or a git
//! revision read from the object database (no checkout of the working tree).

use std::path::{Path, PathBuf};

/// A baseline registry on disk, and the directory to remove when done (a git
/// revision's files are written to a private temporary directory).
pub struct Baseline {
    pub registry: PathBuf,
    /// How the baseline was named, for messages.
    pub label: String,
    scratch: Option<PathBuf>,
}

impl Drop for Baseline {
    fn drop(&mut self) {
        if let Some(dir) = self.scratch.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Resolves `against`: an existing directory (its `sqlpact.yaml`), an existing file,
/// or a git revision, optionally `rev:path` with a directory or registry file inside
/// the revision. A bare revision takes the registry at the same place in the
/// repository as `current` (the registry being checked).
pub fn resolve(against: &str, current: &Path) -> Result<Baseline, String> {
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
            scratch: None,
        });
    }
    if p.is_file() {
        return Ok(Baseline {
            registry: p.to_path_buf(),
            label: against.to_owned(),
            scratch: None,
        });
    }
    from_git(against, current)
}

fn from_git(against: &str, current: &Path) -> Result<Baseline, String> {
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
    let (rev, inner) = match against.split_once(':') {
        Some((rev, path)) => (rev, Some(path.trim_matches('/').to_owned())),
        None => (against, None),
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
    let tree = if dir.as_os_str().is_empty() {
        commit_tree
    } else {
        let entry = commit_tree
            .lookup_entry_by_path(&dir)
            .map_err(|e| format!("reading `{rev}`: {e}"))?
            .ok_or_else(|| {
                format!(
                    "`{}` does not exist in revision `{rev}`\n  help: the registry may have moved; name it with `--against {rev}:path/to/dir`",
                    dir.display()
                )
            })?;
        entry
            .object()
            .map_err(|e| format!("reading `{rev}`: {e}"))?
            .peel_to_tree()
            .map_err(|_| format!("`{}` is not a directory in revision `{rev}`", dir.display()))?
    };
    let scratch = std::env::temp_dir().join(format!(
        "sqlpact-baseline-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    let baseline = Baseline {
        registry: scratch.join(&file),
        label: against.to_owned(),
        scratch: Some(scratch.clone()),
    };
    write_tree(&tree, &scratch).map_err(|e| format!("reading `{rev}`: {e}"))?;
    if !baseline.registry.is_file() {
        return Err(format!(
            "revision `{rev}` has no `{}`\n  help: name the registry inside the revision: `--against {rev}:path/to/dir`",
            dir.join(&file).display()
        ));
    }
    Ok(baseline)
}

/// Writes the blobs of `tree` under `to`, recursively (symlinks and submodules are
/// skipped: a registry does not need them).
fn write_tree(tree: &gix::Tree<'_>, to: &Path) -> Result<(), Box<dyn std::error::Error>> {
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
            write_tree(&sub, &to.join(&name))?;
        } else if mode.is_blob() {
            let obj = entry.object()?;
            std::fs::write(to.join(&name), &obj.data)?;
        }
    }
    Ok(())
}
