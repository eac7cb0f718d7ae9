//! Checks across keys: what no single key's check can see. Three paths name files the
//! agent writes, and each must be its own: the spool, the socket and the Prometheus
//! textfile. The textfile is written by rename over its path, the socket unlinks what
//! is at its path: either at the spool's path would destroy the spool.

use std::path::Path;

use super::keys;
use super::{Config, Problem};

/// Every error, one per clash, naming both keys.
pub fn check(config: &Config) -> Vec<Problem> {
    let mut errors = Vec::new();
    let paths = [
        (keys::key("spool.path"), config.spool.path.as_path()),
        (keys::key("socket.path"), config.socket.path.as_path()),
        (
            keys::key("prometheus.textfile"),
            config.prometheus.textfile.as_path(),
        ),
    ];
    for (i, (key, path)) in paths.iter().enumerate() {
        for (other, other_path) in &paths[i + 1..] {
            if !path.as_os_str().is_empty() && same_file(path, other_path) {
                errors.push(Problem::SamePath {
                    key: key.map_or("?", |k| k.name),
                    path: path.to_path_buf(),
                    other: other.map_or("?", |k| k.name),
                });
            }
        }
    }
    errors
}

/// Whether two paths name the same file: equal component by component (`/a//b` and
/// `/a/./b` are `/a/b`), or the same name in directories that resolve to the same
/// one (a symlinked directory).
fn same_file(a: &Path, b: &Path) -> bool {
    if a == b {
        return true;
    }
    let resolved = |p: &Path| Some((p.parent()?.canonicalize().ok()?, p.file_name()?.to_owned()));
    matches!((resolved(a), resolved(b)), (Some(x), Some(y)) if x == y)
}

#[cfg(test)]
mod tests {
    use crate::config::{parse, Problem};

    #[test]
    fn each_file_the_agent_writes_has_its_own_path() {
        let clash = |text: &str| match parse(text) {
            Ok(_) => None,
            Err(mut e) => match e.problems.pop() {
                Some(Problem::SamePath { key, other, .. }) if e.problems.is_empty() => {
                    Some((key, other))
                }
                other => panic!("{text:?}: {other:?}"),
            },
        };
        let text =
            "[spool]\npath = \"/run/x/v.prom\"\n[prometheus]\ntextfile = \"/run/x//./v.prom\"\n";
        assert_eq!(
            parse(text).unwrap_err().to_string(),
            "spool.path: /run/x/v.prom is also prometheus.textfile; give each its own path"
        );
        assert_eq!(
            clash(
                "[socket]\npath = \"/run/x/v.prom\"\n[prometheus]\ntextfile = \"/run/x/v.prom\"\n"
            ),
            Some(("socket.path", "prometheus.textfile"))
        );
        assert_eq!(
            clash("[socket]\npath = \"/run/x/s\"\n[spool]\npath = \"/run/x/s\"\n"),
            Some(("spool.path", "socket.path"))
        );
        assert_eq!(clash("[prometheus]\ntextfile = \"/run/x/v.prom\"\n"), None);
        assert_eq!(clash(""), None, "the defaults are apart, the textfile off");
    }

    #[test]
    fn a_symlinked_directory_does_not_hide_a_clash() {
        let dir = std::env::temp_dir().join(format!("virtdiag-cross-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("real")).unwrap();
        std::os::unix::fs::symlink(dir.join("real"), dir.join("link")).unwrap();
        let text = format!(
            "[spool]\npath = \"{}\"\n[prometheus]\ntextfile = \"{}\"\n",
            dir.join("real/v.prom").display(),
            dir.join("link/v.prom").display()
        );
        let err = parse(&text).unwrap_err();
        assert!(
            matches!(&err.problems[..], [Problem::SamePath { .. }]),
            "{err:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
