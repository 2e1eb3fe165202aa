//! Java `.properties` files (`--command-config`, `--producer.config`, …) as Kafka's
//! tools read them, and the client settings rill's tools can honour.

use std::collections::BTreeMap;
use std::path::Path;

use super::ToolError;

/// Parses the text of a properties file: `key=value`, `key: value` or `key value` per
/// line, `#` and `!` comments, a trailing `\` continuing a line, and `\t`, `\n`, `\\`
/// and `\uXXXX` escapes.
pub fn parse(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut logical = String::new();
    for raw in text.lines() {
        let line = raw.trim_start();
        if logical.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!'))
        {
            continue;
        }
        // An odd number of trailing backslashes continues the line.
        let trailing = line.chars().rev().take_while(|c| *c == '\\').count();
        if trailing % 2 == 1 {
            logical.push_str(&line[..line.len() - 1]);
            continue;
        }
        logical.push_str(line);
        let (k, v) = split_entry(&logical);
        out.insert(unescape(&k), unescape(&v));
        logical.clear();
    }
    if !logical.is_empty() {
        let (k, v) = split_entry(&logical);
        out.insert(unescape(&k), unescape(&v));
    }
    out
}

/// Key and raw value of one logical line.
fn split_entry(line: &str) -> (String, String) {
    let mut key = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                key.push('\\');
                if let Some(n) = chars.next() {
                    key.push(n);
                }
            }
            '=' | ':' => break,
            c if c.is_whitespace() => {
                // Whitespace, then optionally one '=' or ':', ends the key.
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('=') | Some(':')) {
                    chars.next();
                }
                break;
            }
            c => key.push(c),
        }
    }
    let rest: String = chars.collect();
    (key, rest.trim_start().to_string())
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => {
                        out.push_str("\\u");
                        out.push_str(&hex);
                    }
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Reads a properties file.
pub fn load(path: &str) -> Result<BTreeMap<String, String>, ToolError> {
    let text = std::fs::read_to_string(Path::new(path))
        .map_err(|e| ToolError::Invalid(format!("cannot read properties file {path}: {e}")))?;
    Ok(parse(&text))
}

/// Refuses security settings: rill's tools speak plaintext only.
pub fn check_plaintext(props: &BTreeMap<String, String>) -> Result<(), ToolError> {
    if let Some(p) = props.get("security.protocol") {
        if !p.trim().eq_ignore_ascii_case("PLAINTEXT") {
            return Err(ToolError::Invalid(format!(
                "security.protocol={p} is not supported: rill's Kafka tools connect in plaintext only"
            )));
        }
    }
    let security: Vec<&str> = props
        .keys()
        .map(String::as_str)
        .filter(|k| k.starts_with("ssl.") || k.starts_with("sasl."))
        .collect();
    if !security.is_empty() {
        return Err(ToolError::Invalid(format!(
            "security settings are not supported (rill's Kafka tools connect in plaintext only): {}",
            security.join(", ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_properties_syntax() {
        let p = parse(
            "# comment\n! also\nbootstrap.servers=localhost:9092\nclient.id : me\nacks all\n\
             linger.ms = 5 \nlong=a\\\n   b\nesc=tab\\there\\u0041\nempty=\n",
        );
        assert_eq!(p["bootstrap.servers"], "localhost:9092");
        assert_eq!(p["client.id"], "me");
        assert_eq!(p["acks"], "all");
        assert_eq!(p["linger.ms"], "5 ");
        assert_eq!(p["long"], "ab");
        assert_eq!(p["esc"], "tab\thereA");
        assert_eq!(p["empty"], "");
        assert_eq!(p.len(), 7);
    }

    #[test]
    fn security_settings_are_refused() {
        let mut p = BTreeMap::new();
        p.insert("security.protocol".to_string(), "PLAINTEXT".to_string());
        assert!(check_plaintext(&p).is_ok());
        p.insert("sasl.mechanism".to_string(), "PLAIN".to_string());
        let e = check_plaintext(&p).unwrap_err().to_string();
        assert!(e.contains("sasl.mechanism"), "{e}");
    }
}
