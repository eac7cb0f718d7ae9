//! Domain patterns: `collect::filter::glob::Glob` and `Selector::parse` on arbitrary
//! input, checked against a simple reference matcher.
//!
//! The input is a pattern, a 0 byte, then a name (both read as UTF-8 with invalid
//! sequences replaced; no 0 byte: the whole input is the pattern and the name is
//! empty). Checks:
//! - compiling never panics, and refuses exactly the patterns longer than
//!   `MAX_PATTERN_BYTES`;
//! - the compiled pattern matches the name exactly when the reference below does: the
//!   fnmatch reading without flags, written the plain way (tokens decoded as they are
//!   met, a set re-read for every character, backtracking to the last star); it is
//!   slow on purpose, not clever, so its answer is easy to trust;
//! - `Selector::parse` never panics, refuses the same lengths, and gives back the
//!   string it was given.

#![no_main]

use libfuzzer_sys::fuzz_target;
use virtdiag::collect::filter::{Glob, Selector, TooLong, MAX_PATTERN_BYTES};

fuzz_target!(|data: &[u8]| {
    let (pattern, name) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let pattern = String::from_utf8_lossy(pattern);
    let name = String::from_utf8_lossy(name);
    let too_long = pattern.len() > MAX_PATTERN_BYTES;
    match Glob::compile(&pattern) {
        Ok(glob) => {
            assert!(!too_long);
            assert_eq!(
                glob.matches(&name),
                reference::matches(&pattern, &name),
                "pattern {pattern:?} on {name:?}"
            );
        }
        Err(TooLong { bytes }) => assert!(too_long && bytes == pattern.len()),
    }
    match Selector::parse(&pattern) {
        Ok(selector) => {
            assert!(!too_long);
            assert_eq!(selector.text(), pattern);
        }
        Err(_) => assert!(too_long),
    }
});

/// The reference: fnmatch(3) without flags, on characters.
mod reference {
    /// Whether the whole of `text` matches `pattern`.
    pub fn matches(pattern: &str, text: &str) -> bool {
        let (mut p, mut t) = (0, 0);
        // Where the last `*` was and the text position it has swallowed up to.
        let mut backtrack: Option<(usize, usize)> = None;
        while t < text.len() {
            let c = text[t..].chars().next().unwrap_or('\0');
            match token_at(pattern, p) {
                Some((Token::Star, after)) => {
                    backtrack = Some((after, t));
                    p = after;
                    continue;
                }
                Some((token, after)) if token.accepts(c) => {
                    p = after;
                    t += c.len_utf8();
                    continue;
                }
                _ => {}
            }
            match backtrack {
                Some((after_star, swallowed)) => {
                    let skipped = text[swallowed..].chars().next().map_or(1, char::len_utf8);
                    backtrack = Some((after_star, swallowed + skipped));
                    p = after_star;
                    t = swallowed + skipped;
                }
                None => return false,
            }
        }
        while let Some((Token::Star, after)) = token_at(pattern, p) {
            p = after;
        }
        p == pattern.len()
    }

    enum Token<'a> {
        Star,
        AnyOne,
        Set { members: &'a str, negated: bool },
        Literal(char),
    }

    impl Token<'_> {
        fn accepts(&self, c: char) -> bool {
            match self {
                Token::Star | Token::AnyOne => true,
                Token::Literal(l) => *l == c,
                Token::Set { members, negated } => set_contains(members, c) != *negated,
            }
        }
    }

    /// The token at byte `p` and the byte after it; `None` at the end.
    fn token_at(pattern: &str, p: usize) -> Option<(Token<'_>, usize)> {
        let c = pattern[p..].chars().next()?;
        let after = p + c.len_utf8();
        Some(match c {
            '*' => (Token::Star, after),
            '?' => (Token::AnyOne, after),
            '\\' if after < pattern.len() => {
                let escaped = pattern[after..].chars().next().unwrap_or('\\');
                (Token::Literal(escaped), after + escaped.len_utf8())
            }
            '[' => {
                let rest = &pattern[after..];
                let negated = rest.starts_with(['!', '^']);
                let body = usize::from(negated);
                let from = body + usize::from(rest[body..].starts_with(']'));
                match rest[from..].find(']') {
                    Some(close) => (
                        Token::Set {
                            members: &rest[body..from + close],
                            negated,
                        },
                        after + from + close + 1,
                    ),
                    None => (Token::Literal('['), after),
                }
            }
            other => (Token::Literal(other), after),
        })
    }

    /// Whether the set's text holds `c`: `a-z` ranges, other characters themselves.
    fn set_contains(members: &str, c: char) -> bool {
        let chars: Vec<char> = members.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            if i + 2 < chars.len() && chars[i + 1] == '-' {
                if chars[i] <= c && c <= chars[i + 2] {
                    return true;
                }
                i += 3;
            } else {
                if chars[i] == c {
                    return true;
                }
                i += 1;
            }
        }
        false
    }
}
