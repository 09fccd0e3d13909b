//! Outputs stay inside the project: the git work tree that holds the registry, or the
//! registry's own directory when it is in none. A registry anyone in a repository can
//! edit must not make `sqlpact generate` write elsewhere on the machine.

use std::path::{Component, Path, PathBuf};

use super::{Located, Registry};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::source::Span;

/// The project that holds the registry directory `dir`, canonical (symbolic links
/// resolved): the nearest ancestor with a `.git` entry (a directory, or a file in a
/// linked work tree), else `dir` itself; and whether it is a git work tree.
pub fn project_root(dir: &Path) -> std::io::Result<(PathBuf, bool)> {
    let dir = dir.canonicalize()?;
    Ok(
        match dir
            .ancestors()
            .find(|d| d.join(".git").symlink_metadata().is_ok())
        {
            Some(root) => (root.to_path_buf(), true),
            None => (dir, false),
        },
    )
}

/// Where `rel` (a path from the registry file) leads from the canonical directory
/// `from`, each existing step's symbolic links resolved, so that `..` after a link
/// climbs from where the link points. `None`: a step is a link to nothing.
fn resolve(from: &Path, rel: &Path) -> Option<PathBuf> {
    let mut cur = from.to_path_buf();
    for c in rel.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                cur.pop();
            }
            Component::Normal(n) => {
                cur.push(n);
                match cur.canonicalize() {
                    Ok(real) => cur = real,
                    // A link to nowhere: writing through it would create its target.
                    Err(_) if cur.symlink_metadata().is_ok() => return None,
                    Err(_) => {}
                }
            }
            Component::RootDir | Component::Prefix(_) => cur = PathBuf::from(c.as_os_str()),
        }
    }
    Some(cur)
}

/// Every directory the registry writes to (`outputs.go.out`, `outputs.rust.out`,
/// `wire.out`) must resolve inside [`project_root`]; absolute paths are refused.
pub fn check_outputs(reg: &Registry, diags: &mut Diagnostics) {
    let c = &reg.config;
    let mut outs: Vec<(&str, &Located<String>)> = Vec::new();
    if let Some(o) = &c.outputs {
        if let Some(g) = &o.go {
            outs.push(("outputs.go.out", &g.out));
        }
        if let Some(r) = &o.rust {
            outs.push(("outputs.rust.out", &r.out));
        }
    }
    if let Some(out) = c.wire.as_ref().and_then(|w| w.out.as_ref()) {
        outs.push(("wire.out", out));
    }
    if outs.is_empty() {
        return;
    }
    let dir = if reg.root.as_os_str().is_empty() {
        Path::new(".")
    } else {
        reg.root.as_path()
    };
    let (Ok(from), Ok((root, in_git))) = (dir.canonicalize(), project_root(dir)) else {
        return; // the registry was read from here: not reachable in practice
    };
    for (key, out) in outs {
        let at = out.offset.map(|(o, len)| Span::new(reg.file, o..o + len));
        let value = out.value.as_str();
        let refuse = |msg: String, help: String| {
            Diagnostic::error(Code::OutputOutside, msg)
                .at_opt(at.clone())
                .help(help)
        };
        let project = if in_git {
            format!("the git work tree `{}`", root.display())
        } else {
            format!(
                "`{}`, the registry's directory (it is in no git work tree)",
                root.display()
            )
        };
        if Path::new(value).has_root() {
            diags.push(refuse(
                format!("`{key}: {value}` is an absolute path; outputs are written inside the project"),
                "write it relative to sqlpact.yaml, e.g. `gen/go`; the project is the git work tree that holds sqlpact.yaml, or its directory outside git".into(),
            ));
            continue;
        }
        match resolve(&from, Path::new(value)) {
            None => diags.push(refuse(
                format!("`{key}: {value}` passes through a symbolic link to a missing target"),
                "point the output at a real directory inside the project, or remove the link".into(),
            )),
            Some(p) if !p.starts_with(&root) => diags.push(refuse(
                format!(
                    "`{key}: {value}` resolves to `{}`, outside the project, {project}",
                    p.display()
                ),
                "choose a directory inside the project; a symbolic link that leads out of it is refused too".into(),
            )),
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_dot_climbs_from_where_a_link_points() {
        let t = tempfile::tempdir().unwrap();
        let base = t.path().canonicalize().unwrap();
        std::fs::create_dir_all(base.join("a/b")).unwrap();
        std::fs::create_dir_all(base.join("c")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(base.join("a/b"), base.join("c/link")).unwrap();
        let from = base.join("c");
        assert_eq!(resolve(&from, Path::new("link/..")), Some(base.join("a")));
        assert_eq!(
            resolve(&from, Path::new("new/../x")),
            Some(base.join("c/x"))
        );
        assert_eq!(
            resolve(&from, Path::new("../a/./b")),
            Some(base.join("a/b"))
        );
        #[cfg(unix)]
        std::os::unix::fs::symlink(base.join("gone"), base.join("c/dangling")).unwrap();
        assert_eq!(resolve(&from, Path::new("dangling/gen")), None);
    }

    #[test]
    fn the_project_is_the_work_tree_else_the_registry_directory() {
        let t = tempfile::tempdir().unwrap();
        let base = t.path().canonicalize().unwrap();
        std::fs::create_dir_all(base.join("repo/.git")).unwrap();
        std::fs::create_dir_all(base.join("repo/db/contracts")).unwrap();
        std::fs::create_dir_all(base.join("loose")).unwrap();
        assert_eq!(
            project_root(&base.join("repo/db/contracts")).unwrap(),
            (base.join("repo"), true)
        );
        // A registry at the top of its work tree is in git all the same.
        assert_eq!(
            project_root(&base.join("repo")).unwrap(),
            (base.join("repo"), true)
        );
        assert_eq!(
            project_root(&base.join("loose")).unwrap(),
            (base.join("loose"), false)
        );
    }
}
