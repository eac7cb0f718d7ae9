//! What may reach a terminal: the one escaping of text that came from outside
//! (domain names, Nova metadata, URIs, paths, patterns, the agent's answers), used
//! by the tables, `top`, the JSON and text printed on a terminal, and every error
//! and log line written to one, and the agent's error answers that quote a request. Pure.
//!
//! Escaped: every control character (C0, DEL, and the 8-bit C1 codes U+0080..U+009F
//! that terminals obey as CSI, OSC, ...) and the bidirectional formatting characters
//! (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069) that reorder what
//! follows them on screen. Text shows them as `\x9b` (`\u202e` past U+00FF), JSON as
//! `\u009b`, which keeps it the same JSON. A backslash is left as it is.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not reach a terminal raw.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every unsafe character, the newline and the tab included, written as
/// `\x9b` or `\u202e`: one cell of a table, one line of a message.
pub fn printable(text: &str) -> String {
    escape_text(text, |_| true).into_owned()
}

/// [`printable`], keeping the newlines: text of several lines.
pub fn text_safe(text: &str) -> String {
    escape_text(text, |c| c != '\n').into_owned()
}

/// JSON text with every unsafe character other than the newline written as a `\u`
/// escape: serde_json leaves DEL, the C1 codes and the bidi controls raw inside
/// strings. The result is still the same JSON (outside strings, JSON has no place for
/// such characters at all).
pub fn json_safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if c != '\n' && is_unsafe(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Text with the unsafe characters for which `escape` holds written as `\x9b` or
/// `\u202e`; borrowed when there are none.
pub fn escape_text(text: &str, escape: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unsafe(c) && escape(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if !(is_unsafe(c) && escape(c)) {
            out.push(c);
        } else if (c as u32) <= 0xff {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const HOSTILE: &str = "a\u{9b}2J\u{9d}0;t\u{7}\u{7f}b\u{1b}]0;x\u{202e}c\u{2066}\u{200f}";

    #[test]
    fn text_shows_each_control_and_bidi_character_as_an_escape() {
        assert_eq!(
            printable(HOSTILE),
            "a\\x9b2J\\x9d0;t\\x07\\x7fb\\x1b]0;x\\u202ec\\u2066\\u200f"
        );
        assert_eq!(printable("tab\there\nnext"), "tab\\x09here\\x0anext");
        assert_eq!(text_safe("a\u{1b}[31m\nb\u{9b}"), "a\\x1b[31m\nb\\x9b");
        assert_eq!(printable("plain, é, 日本, \\x9b"), "plain, é, 日本, \\x9b");
        assert!(!printable(HOSTILE).chars().any(is_unsafe));
        assert!(is_unsafe('\u{80}') && is_unsafe('\u{9f}') && is_unsafe('\u{61c}'));
        assert!(!is_unsafe('\u{a0}') && !is_unsafe('\u{2028}') && !is_unsafe('é'));
    }

    #[test]
    fn json_stays_the_same_json() {
        let line = serde_json::to_string_pretty(&json!({"name": HOSTILE})).unwrap();
        let safe = json_safe(&line);
        assert!(!safe.chars().any(|c| c != '\n' && is_unsafe(c)), "{safe}");
        assert!(
            safe.contains("a\\u009b2J\\u009d0;t\\u0007\\u007fb"),
            "{safe}"
        );
        let back: Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["name"], HOSTILE);
        assert!(matches!(json_safe("{\"a\":\"b\"}"), Cow::Borrowed(_)));
    }
}
