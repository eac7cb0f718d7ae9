//! The glob syntax, case by case, and the bounds of a compiled pattern.

use super::*;

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
    assert!(matches("", ""));
    assert!(!matches("", "a"));
    assert!(matches("a*", "a"));
    assert!(matches("*a*", "bab"));
    assert!(!matches("*a*", "bbb"));
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
    assert!(!matches("[z-a]", "m"), "a reversed range holds nothing");
    assert!(matches("[!z-a]", "m"));
}

#[test]
fn sets_beyond_ascii() {
    assert!(matches("[à-ÿ]x", "éx"));
    assert!(!matches("[à-ÿ]x", "Āx"));
    assert!(matches("[!à-ÿ]x", "Āx"));
    assert!(matches("[é]", "é"));
    assert!(!matches("[é]", "è"));
    assert!(matches("?", "\u{10FFFF}"));
    assert!(matches("[\u{10000}-\u{10FFFF}]", "\u{1F600}"));
    assert!(matches("\u{1F600}*", "\u{1F600}abc"));
    assert!(!matches("\u{1F600}*", "\u{1F601}abc"));
}

#[test]
fn unclosed_sets_and_escapes_are_literal() {
    assert!(matches("a[b", "a[b"));
    assert!(!matches("a[b", "ab"));
    assert!(matches(r"a\*", "a*"));
    assert!(!matches(r"a\*", "ab"));
    assert!(matches(r"\[x]", "[x]"));
    assert!(matches("a\\", "a\\"), "a trailing backslash is itself");
}

#[test]
fn the_length_is_bounded_and_the_longest_patterns_work() {
    let longest = "a".repeat(MAX_PATTERN_BYTES);
    assert!(Glob::compile(&longest).unwrap().matches(&longest));
    assert!(!Glob::compile(&longest).unwrap().matches(&longest[1..]));
    assert_eq!(
        Glob::compile(&"a".repeat(MAX_PATTERN_BYTES + 1)),
        Err(TooLong {
            bytes: MAX_PATTERN_BYTES + 1
        })
    );
    let message = TooLong { bytes: 4096 }.to_string();
    assert!(
        message.contains("4096") && message.contains("256"),
        "{message}"
    );
    // 256 tokens: the last position is bit 256, in the fifth word.
    let questions = "?".repeat(MAX_PATTERN_BYTES);
    let glob = Glob::compile(&questions).unwrap();
    assert!(glob.matches(&"é".repeat(MAX_PATTERN_BYTES)));
    assert!(!glob.matches(&"é".repeat(MAX_PATTERN_BYTES - 1)));
    // Stars and literals alternating, across word boundaries.
    let stars = "*a".repeat(MAX_PATTERN_BYTES / 2);
    let glob = Glob::compile(&stars).unwrap();
    assert!(glob.matches(&"a".repeat(MAX_PATTERN_BYTES / 2)));
    assert!(glob.matches(&"ba".repeat(MAX_PATTERN_BYTES / 2)));
    assert!(!glob.matches(&"a".repeat(MAX_PATTERN_BYTES / 2 - 1)));
}

#[test]
fn a_long_set_is_one_token() {
    let members: String = ('b'..='y').cycle().take(MAX_PATTERN_BYTES - 3).collect();
    let pattern = format!("[{members}]");
    let glob = Glob::compile(&pattern).unwrap();
    assert!(glob.matches("c"));
    assert!(!glob.matches("a"));
    assert!(!glob.matches("cc"));
}
