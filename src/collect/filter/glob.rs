//! Shell globs as fnmatch(3) reads them, without flags: `*` any run of characters,
//! `?` one character, `[…]` one character of a set (ranges `a-z`, negation with `!`
//! or `^`, a `]` first in the set is a member), `\x` the character `x` itself. A `[`
//! without its closing `]` is an ordinary character. Matching works on characters,
//! not bytes, and allocates nothing: it runs for every domain of every cycle.

/// Whether `text` has a character that makes it a glob rather than a plain name.
pub fn has_metacharacters(text: &str) -> bool {
    text.contains(['*', '?', '['])
}

/// Whether the whole of `text` matches `pattern`.
pub fn matches(pattern: &str, text: &str) -> bool {
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was and the text position it has swallowed up to.
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        let c = next_char(text, t);
        let step = token_at(pattern, p);
        match step {
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
                let next = swallowed + next_char(text, swallowed).len_utf8();
                backtrack = Some((after_star, next));
                p = after_star;
                t = next;
            }
            None => return false,
        }
    }
    // Only stars may be left over.
    while let Some((Token::Star, after)) = token_at(pattern, p) {
        p = after;
    }
    p == pattern.len()
}

/// The character at byte `at` (a valid boundary); ASCII without decoding.
fn next_char(text: &str, at: usize) -> char {
    match text.as_bytes().get(at) {
        Some(&b) if b.is_ascii() => b as char,
        Some(_) => text[at..].chars().next().unwrap_or('\0'),
        None => '\0',
    }
}

enum Token<'a> {
    Star,
    AnyOne,
    /// The set's members between `[` (and its `!` or `^`) and `]`.
    Set {
        members: &'a str,
        negated: bool,
    },
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

/// The token at byte `p` of the pattern and the byte after it; `None` at the end.
fn token_at(pattern: &str, p: usize) -> Option<(Token<'_>, usize)> {
    if p >= pattern.len() {
        return None;
    }
    let c = next_char(pattern, p);
    let after = p + c.len_utf8();
    Some(match c {
        '*' => (Token::Star, after),
        '?' => (Token::AnyOne, after),
        '\\' if after < pattern.len() => {
            let escaped = next_char(pattern, after);
            (Token::Literal(escaped), after + escaped.len_utf8())
        }
        '[' => match set_at(pattern, after) {
            Some((members, negated, end)) => (Token::Set { members, negated }, end),
            None => (Token::Literal('['), after),
        },
        other => (Token::Literal(other), after),
    })
}

/// The set that starts at byte `start` (just after `[`): its members, whether it is
/// negated, and the byte after its `]`; `None` when there is no closing `]`.
fn set_at(pattern: &str, start: usize) -> Option<(&str, bool, usize)> {
    let rest = &pattern[start..];
    let negated = rest.starts_with(['!', '^']);
    let body_start = usize::from(negated);
    // A `]` right after the opening (and its negation) is a member, not the end.
    let search_from = body_start + usize::from(rest[body_start..].starts_with(']'));
    let close = search_from + rest[search_from..].find(']')?;
    Some((&rest[body_start..close], negated, start + close + 1))
}

fn set_contains(members: &str, c: char) -> bool {
    let mut chars = members.chars().peekable();
    while let Some(low) = chars.next() {
        let mut ahead = chars.clone();
        if ahead.next() == Some('-') {
            if let Some(high) = ahead.next() {
                if (low..=high).contains(&c) {
                    return true;
                }
                chars = ahead;
                continue;
            }
        }
        if low == c {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn stars_and_question_marks() {
        assert!(matches("instance-*", "instance-0000002a"));
        assert!(matches("*", ""));
        assert!(matches("a?c", "abc"));
        assert!(!matches("a?c", "ac"));
        assert!(matches("*b*d", "abcbd"));
        assert!(!matches("web", "web-1"));
        assert!(matches("**x", "x"));
        assert!(!matches("*x", "xy"));
        assert!(matches("é?", "éü"), "characters, not bytes");
    }

    #[test]
    fn sets_ranges_and_negation() {
        assert!(matches("web-[0-9]", "web-7"));
        assert!(!matches("web-[0-9]", "web-x"));
        assert!(matches("web-[!0-9]", "web-x"));
        assert!(matches("web-[^0-9]", "web-x"));
        assert!(!matches("web-[!0-9]", "web-3"));
        assert!(matches("[abc]x", "bx"));
        assert!(matches("[a-cx-z]", "y"));
        assert!(!matches("[a-cx-z]", "m"));
        assert!(matches("[]]", "]"), "] first is a member");
        assert!(matches("[!]]", "a"));
        assert!(!matches("[!]]", "]"));
        assert!(matches("[a-]", "-"), "a trailing - is a member");
        assert!(matches("db-[0-9]*", "db-1-primary"));
    }

    #[test]
    fn unclosed_sets_and_escapes_are_literal() {
        assert!(matches("a[b", "a[b"));
        assert!(!matches("a[b", "ab"));
        assert!(matches(r"a\*", "a*"));
        assert!(!matches(r"a\*", "ab"));
        assert!(matches(r"\[x]", "[x]"));
    }
}
