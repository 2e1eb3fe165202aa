//! `--users-file`: one `user:password` per line; `#` starts a comment line; blank lines
//! are skipped. The password is everything after the first `:` (it may contain `:` and
//! spaces; only the line break is removed).

use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum UsersFileError {
    #[error("line {line}: {why}")]
    Line { line: usize, why: String },
}

/// Parses the file's text into (user, password) pairs, in file order.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, UsersFileError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let bad = |why: &str| UsersFileError::Line {
            line: i + 1,
            why: why.to_string(),
        };
        let (user, password) = line
            .split_once(':')
            .ok_or_else(|| bad("expected user:password"))?;
        let user = user.trim();
        if user.is_empty() {
            return Err(bad("empty user name"));
        }
        if password.is_empty() {
            return Err(bad("empty password"));
        }
        if out.iter().any(|(u, _)| u == user) {
            return Err(bad(&format!("user {user:?} is listed twice")));
        }
        out.push((user.to_string(), password.to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_comments_and_blank_lines() {
        let text = "# admins\nalice:alice-secret\n\n  # indented comment\nbob:pa:ss word\r\n";
        assert_eq!(
            parse(text).expect("parses"),
            vec![
                ("alice".to_string(), "alice-secret".to_string()),
                ("bob".to_string(), "pa:ss word".to_string())
            ]
        );
        assert_eq!(parse("").expect("empty"), vec![]);
    }

    #[test]
    fn bad_lines_name_their_number() {
        assert_eq!(
            parse("a:b\nnocolon\n"),
            Err(UsersFileError::Line {
                line: 2,
                why: "expected user:password".into()
            })
        );
        assert!(parse(":pw").is_err());
        assert!(parse("user:").is_err());
        let dup = parse("a:1\na:2").expect_err("duplicate");
        assert!(dup.to_string().contains("twice"), "{dup}");
    }
}
