//! JSON indented for a person, in the order the agent wrote the keys (`kind` first,
//! the identity next: the record's own order, docs/record.md), not alphabetical as
//! a parsed `serde_json::Value` would print them. It re-indents the text of a line
//! without parsing it into a map, so the program-wide `preserve_order` feature of
//! serde_json (an ordered map in every `Value`, on the agent's hot path too) is not
//! needed. The output has the layout of `serde_json::to_string_pretty`.

use super::json_safe;

/// `line` (one JSON document) indented by two spaces per level, with a final
/// newline; control characters escaped ([`json_safe`]).
pub fn render(line: &str) -> String {
    let mut out = String::with_capacity(line.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = line.trim().chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                while chars.next_if(|c| c.is_whitespace()).is_some() {}
                if let Some(close) = chars.next_if(|&n| n == '}' || n == ']') {
                    out.push(close);
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    let mut text = json_safe(&out).into_owned();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::render;
    use serde_json::Value;

    #[test]
    fn keeps_the_key_order_and_serde_json_s_layout() {
        let line = r#"{"kind":"domain","schema":1,"domain":{"name":"a,b:{c}","uuid":"u"},"disks":[],"nova":{},"cpu":{"vcpus":[{"id":0},{"id":1}]},"x":"q\"}"}"#;
        let text = render(line);
        assert!(text.starts_with("{\n  \"kind\": \"domain\",\n  \"schema\": 1,\n  \"domain\""));
        let parsed: Value = serde_json::from_str(&text).unwrap();
        let original: Value = serde_json::from_str(line).unwrap();
        assert_eq!(parsed, original, "the same document");
        // serde_json's own pretty text differs only in the order of the keys.
        let preserved: serde_json::Map<String, Value> = serde_json::from_str(line).unwrap();
        assert_eq!(
            text.len(),
            serde_json::to_string_pretty(&preserved).unwrap().len() + 1
        );
        assert!(text.contains("\"disks\": [],\n  \"nova\": {},"), "{text}");
        assert!(
            text.contains("\"name\": \"a,b:{c}\""),
            "strings untouched: {text}"
        );
    }

    #[test]
    fn control_characters_are_escaped() {
        let text = render("{\"name\":\"a\u{9b}b\u{7f}\"}");
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text}");
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["name"], "a\u{9b}b\u{7f}");
    }
}
