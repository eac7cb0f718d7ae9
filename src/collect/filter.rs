//! Which domains to collect: include/exclude lists of globs on the name, or exact UUIDs.

/// Include and exclude patterns; an empty include list means every domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainFilter {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

impl DomainFilter {
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    pub fn matches(&self, name: &str, uuid: &str) -> bool {
        let hit = |pattern: &String| {
            pattern.eq_ignore_ascii_case(uuid) || glob_match(pattern.as_bytes(), name.as_bytes())
        };
        (self.include.is_empty() || self.include.iter().any(hit)) && !self.exclude.iter().any(hit)
    }
}

/// `*` matches any run of bytes, `?` one byte; everything else matches itself.
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((star, matched)) => {
                    p = star + 1;
                    t = matched + 1;
                    backtrack = Some((star, matched + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match(b"instance-*", b"instance-0000002a"));
        assert!(glob_match(b"*", b""));
        assert!(glob_match(b"a?c", b"abc"));
        assert!(!glob_match(b"a?c", b"ac"));
        assert!(glob_match(b"*b*d", b"abcbd"));
        assert!(!glob_match(b"web", b"web-1"));
    }

    #[test]
    fn include_and_exclude() {
        let filter = DomainFilter {
            include: vec![
                "web-*".into(),
                "6C0C3D8E-3A0F-4B6E-9F4E-2D1F0A9B7C11".into(),
            ],
            exclude: vec!["web-test*".into()],
        };
        assert!(filter.matches("web-1", "x"));
        assert!(!filter.matches("web-test-1", "x"));
        assert!(!filter.matches("db-1", "x"));
        assert!(filter.matches("db-1", "6c0c3d8e-3a0f-4b6e-9f4e-2d1f0a9b7c11"));
        assert!(DomainFilter::default().matches("anything", "x"));
    }
}
