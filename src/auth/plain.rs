//! SASL PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd`. The password is checked
//! against the user's SCRAM credential (see `Credentials::verify_password`), so Rill
//! stores no second form of it.

use super::AuthError;

/// A parsed PLAIN message. Its Debug output leaves the password out.
pub struct PlainMessage {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for PlainMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainMessage")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Parses a PLAIN message. The authorization id must be empty or the user itself (as
/// Kafka requires); the user and the password must not be empty.
pub fn parse(token: &[u8]) -> Result<PlainMessage, AuthError> {
    let text = std::str::from_utf8(token)
        .map_err(|_| AuthError::Malformed("PLAIN message: not UTF-8".into()))?;
    let parts: Vec<&str> = text.split('\0').collect();
    let [authzid, user, password] = parts[..] else {
        return Err(AuthError::Malformed(format!(
            "PLAIN message: expected 3 NUL-separated fields, got {}",
            parts.len()
        )));
    };
    if user.is_empty() {
        return Err(AuthError::Malformed("PLAIN message: no user name".into()));
    }
    if password.is_empty() {
        return Err(AuthError::Malformed("PLAIN message: no password".into()));
    }
    if !authzid.is_empty() && authzid != user {
        return Err(AuthError::AuthzidMismatch {
            user: user.to_string(),
            authzid: authzid.to_string(),
        });
    }
    Ok(PlainMessage {
        user: user.to_string(),
        password: password.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4616_messages() {
        let m = parse(b"\0tim\0tanstaaftanstaaf").expect("valid");
        assert_eq!(
            (m.user.as_str(), m.password.as_str()),
            ("tim", "tanstaaftanstaaf")
        );
        let m = parse(b"Ursel\0Ursel\0pw").expect("authzid = user");
        assert_eq!(m.user, "Ursel");
        assert!(!format!("{m:?}").contains("pw"));
        // Passwords may hold anything but NUL, colons and spaces included.
        assert_eq!(
            parse("\0ü\0a:b c".as_bytes()).expect("utf8").password,
            "a:b c"
        );
    }

    #[test]
    fn bad_messages() {
        assert!(matches!(
            parse(b"Kurt\0Ursel\0pw"),
            Err(AuthError::AuthzidMismatch { .. })
        ));
        for bad in [
            &b"\0user"[..],
            b"\0\0pw",
            b"\0user\0",
            b"a\0b\0c\0d",
            b"",
            b"\0u\0\xff",
        ] {
            assert!(
                matches!(parse(bad), Err(AuthError::Malformed(_))),
                "{bad:?}"
            );
        }
    }
}
