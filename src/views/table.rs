//! The `+----------+-------+` Property | Value table of the legacy dictionary, as Nova's
//! original get_diagnostics (2012) printed it.

use serde_json::{Map, Value};

/// Renders the dictionary sorted by key, as the original command line showed it.
pub fn render(diagnostics: &Map<String, Value>) -> String {
    let rows: Vec<(&str, String)> = diagnostics
        .iter()
        .map(|(k, v)| (k.as_str(), v.to_string()))
        .collect();
    let key_width = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0)
        .max("Property".len());
    let value_width = rows
        .iter()
        .map(|(_, v)| v.chars().count())
        .max()
        .unwrap_or(0)
        .max("Value".len());
    let rule = format!(
        "+-{}-+-{}-+\n",
        "-".repeat(key_width),
        "-".repeat(value_width)
    );
    let mut out = String::with_capacity((rows.len() + 4) * rule.len());
    out.push_str(&rule);
    out.push_str(&format!(
        "| {:<key_width$} | {:<value_width$} |\n",
        "Property", "Value"
    ));
    out.push_str(&rule);
    for (key, value) in &rows {
        out.push_str(&format!("| {key:<key_width$} | {value:<value_width$} |\n"));
    }
    out.push_str(&rule);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_sorted_bordered_table() {
        let mut map = Map::new();
        map.insert("vda_read".into(), 262_144.into());
        map.insert("cpu0_time".into(), 17_300_000_000u64.into());
        map.insert("memory".into(), 524_288.into());
        let expected = "\
+-----------+-------------+
| Property  | Value       |
+-----------+-------------+
| cpu0_time | 17300000000 |
| memory    | 524288      |
| vda_read  | 262144      |
+-----------+-------------+
";
        assert_eq!(render(&map), expected);
    }

    #[test]
    fn an_empty_dictionary_still_has_headers() {
        let out = render(&Map::new());
        assert_eq!(out.lines().count(), 4);
        assert!(out.contains("| Property | Value |"));
    }
}
