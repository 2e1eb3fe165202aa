//! The server side of SCRAM-SHA-256/512 (RFC 5802, RFC 7677) as Kafka speaks it: a pure
//! state machine — the server nonce and the credential lookup are passed in.
//!
//! Accepted: gs2 header `n,,` or `n,a=<the user>,` (no channel binding, as Kafka);
//! refused: `y`/`p=` channel-binding flags, the reserved `m=` attribute, any extension
//! (`tokenauth` included: Rill has no delegation tokens), a client-final message whose
//! channel binding is not the gs2 header or whose nonce is not the server's, a proof
//! that does not verify.

use base64::Engine;

use super::credentials::{ct_eq, ScramCredential, ScramMechanism, MIN_ITERATIONS};
use super::AuthError;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Where the exchange is.
#[derive(Debug)]
enum State {
    ClientFirst,
    ClientFinal(Box<Pending>),
    Done,
}

#[derive(Debug)]
struct Pending {
    user: String,
    gs2_header: String,
    client_first_bare: String,
    server_first: String,
    /// The client's part of the nonce.
    client_nonce: String,
    /// The whole nonce: client's + server's.
    nonce: String,
    credential: ScramCredential,
}

#[derive(Debug)]
pub struct ScramServer {
    mechanism: ScramMechanism,
    state: State,
}

/// A parsed client-first message.
#[derive(Debug, PartialEq)]
pub struct ClientFirst {
    pub gs2_header: String,
    pub authzid: Option<String>,
    pub user: String,
    pub nonce: String,
    pub bare: String,
}

fn malformed(what: &str) -> AuthError {
    AuthError::Malformed(format!("SCRAM {what}"))
}

/// `=2C` → `,`, `=3D` → `=`; any other `=` is invalid (RFC 5802 §5.1).
fn unescape_saslname(s: &str) -> Result<String, AuthError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        let esc = rest.get(i..i + 3);
        match esc {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return Err(malformed("user name escape")),
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    if out.is_empty() {
        return Err(malformed("empty user name"));
    }
    Ok(out)
}

fn printable_nonce(n: &str) -> bool {
    !n.is_empty() && n.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b',')
}

fn refuse_extension(attr: &str) -> AuthError {
    let key = attr.split('=').next().unwrap_or_default();
    if key == "tokenauth" {
        AuthError::Unsupported("delegation-token authentication (tokenauth)".into())
    } else {
        AuthError::Unsupported(format!("SCRAM extension {key:?}"))
    }
}

/// Parses `gs2-header client-first-message-bare`.
pub fn parse_client_first(msg: &[u8]) -> Result<ClientFirst, AuthError> {
    let msg = std::str::from_utf8(msg).map_err(|_| malformed("client-first: not UTF-8"))?;
    // gs2-header = gs2-cbind-flag "," [ authzid ] ","
    let (flag, rest) = msg
        .split_once(',')
        .ok_or_else(|| malformed("client-first"))?;
    match flag {
        "n" => {}
        "y" => {
            return Err(AuthError::Unsupported(
                "channel binding flag y (use n: no channel binding)".into(),
            ))
        }
        f if f.starts_with("p=") => {
            return Err(AuthError::Unsupported(format!(
                "channel binding {f} (use n: no channel binding)"
            )))
        }
        _ => return Err(malformed("gs2 channel-binding flag")),
    }
    let (authz, bare) = rest
        .split_once(',')
        .ok_or_else(|| malformed("gs2 header"))?;
    let authzid = match authz {
        "" => None,
        a => match a.strip_prefix("a=") {
            Some(name) => Some(unescape_saslname(name)?),
            None => return Err(malformed("gs2 authzid")),
        },
    };
    let gs2_header = format!("{flag},{authz},");
    let mut attrs = bare.split(',');
    let first = attrs.next().unwrap_or_default();
    if first.starts_with("m=") {
        return Err(AuthError::Unsupported(
            "the reserved SCRAM attribute m".into(),
        ));
    }
    let user = first
        .strip_prefix("n=")
        .ok_or_else(|| malformed("client-first: no user name"))?;
    let user = unescape_saslname(user)?;
    let nonce = attrs
        .next()
        .and_then(|a| a.strip_prefix("r="))
        .ok_or_else(|| malformed("client-first: no nonce"))?;
    if !printable_nonce(nonce) {
        return Err(malformed("client-first nonce"));
    }
    if let Some(ext) = attrs.next() {
        return Err(refuse_extension(ext));
    }
    Ok(ClientFirst {
        gs2_header,
        authzid,
        user,
        nonce: nonce.to_string(),
        bare: bare.to_string(),
    })
}

/// A parsed client-final message.
#[derive(Debug, PartialEq)]
struct ClientFinal<'a> {
    channel_binding: Vec<u8>,
    nonce: &'a str,
    proof: Vec<u8>,
    without_proof: &'a str,
}

fn parse_client_final(msg: &[u8]) -> Result<ClientFinal<'_>, AuthError> {
    let msg = std::str::from_utf8(msg).map_err(|_| malformed("client-final: not UTF-8"))?;
    let (without_proof, proof) = msg
        .rsplit_once(",p=")
        .ok_or_else(|| malformed("client-final: no proof"))?;
    let mut attrs = without_proof.split(',');
    let cb = attrs
        .next()
        .and_then(|a| a.strip_prefix("c="))
        .ok_or_else(|| malformed("client-final: no channel binding"))?;
    let nonce = attrs
        .next()
        .and_then(|a| a.strip_prefix("r="))
        .ok_or_else(|| malformed("client-final: no nonce"))?;
    if let Some(ext) = attrs.next() {
        return Err(refuse_extension(ext));
    }
    Ok(ClientFinal {
        channel_binding: B64
            .decode(cb)
            .map_err(|_| malformed("client-final channel binding"))?,
        nonce,
        proof: B64
            .decode(proof)
            .map_err(|_| malformed("client-final proof"))?,
        without_proof,
    })
}

impl ScramServer {
    pub fn new(mechanism: ScramMechanism) -> ScramServer {
        ScramServer {
            mechanism,
            state: State::ClientFirst,
        }
    }

    pub fn mechanism(&self) -> ScramMechanism {
        self.mechanism
    }

    /// True until the client-first message has been handled.
    pub fn awaits_client_first(&self) -> bool {
        matches!(self.state, State::ClientFirst)
    }

    /// The client-first message: looks the user up and answers server-first.
    /// `server_nonce` must be fresh random printable characters (no `,`).
    pub fn client_first(
        &mut self,
        msg: &[u8],
        server_nonce: &str,
        lookup: impl FnOnce(&str) -> Option<ScramCredential>,
    ) -> Result<Vec<u8>, AuthError> {
        if !matches!(self.state, State::ClientFirst) {
            return Err(AuthError::OutOfOrder);
        }
        self.state = State::Done; // until this message is accepted
        let first = parse_client_first(msg)?;
        let credential =
            lookup(&first.user).ok_or_else(|| AuthError::UnknownUser(first.user.clone()))?;
        if let Some(authzid) = &first.authzid {
            if *authzid != first.user {
                return Err(AuthError::AuthzidMismatch {
                    user: first.user,
                    authzid: authzid.clone(),
                });
            }
        }
        if (credential.iterations as i64) < MIN_ITERATIONS as i64 {
            return Err(AuthError::Unsupported(format!(
                "stored credential of {} has {} iterations, fewer than {MIN_ITERATIONS}",
                first.user, credential.iterations
            )));
        }
        let nonce = format!("{}{server_nonce}", first.nonce);
        let server_first = format!(
            "r={nonce},s={},i={}",
            B64.encode(&credential.salt),
            credential.iterations
        );
        let out = server_first.clone().into_bytes();
        self.state = State::ClientFinal(Box::new(Pending {
            user: first.user,
            gs2_header: first.gs2_header,
            client_first_bare: first.bare,
            server_first,
            client_nonce: first.nonce,
            nonce,
            credential,
        }));
        Ok(out)
    }

    /// The client-final message: verifies the proof; on success, the server-final
    /// message and the authenticated user.
    pub fn client_final(&mut self, msg: &[u8]) -> Result<(Vec<u8>, String), AuthError> {
        let State::ClientFinal(p) = std::mem::replace(&mut self.state, State::Done) else {
            return Err(AuthError::OutOfOrder);
        };
        let fin = parse_client_final(msg)?;
        if fin.channel_binding != p.gs2_header.as_bytes() {
            return Err(AuthError::Unsupported(
                "channel binding data that is not the gs2 header".into(),
            ));
        }
        // RFC 5802: the client repeats the server's nonce. librdkafka before 2.6.1 (so
        // Debian's kcat) sends its own nonce once more in front of it; Kafka 3.8.1–3.9
        // accepted that, Kafka 4 does not (which locks those clients out of SCRAM). Rill
        // accepts exactly these two forms: both carry the whole server nonce, so the
        // final message is still bound to this exchange.
        let doubled = fin
            .nonce
            .strip_prefix(p.client_nonce.as_str())
            .is_some_and(|rest| rest == p.nonce);
        if fin.nonce != p.nonce && !doubled {
            return Err(AuthError::NonceMismatch);
        }
        let m = self.mechanism;
        let auth_message = format!(
            "{},{},{}",
            p.client_first_bare, p.server_first, fin.without_proof
        );
        let client_signature = m.hmac(&p.credential.stored_key, auth_message.as_bytes());
        if fin.proof.len() != client_signature.len() {
            return Err(AuthError::BadPassword(p.user));
        }
        let client_key: Vec<u8> = fin
            .proof
            .iter()
            .zip(&client_signature)
            .map(|(a, b)| a ^ b)
            .collect();
        if !ct_eq(&m.hash(&client_key), &p.credential.stored_key) {
            return Err(AuthError::BadPassword(p.user));
        }
        let server_signature = m.hmac(&p.credential.server_key, auth_message.as_bytes());
        let server_final = format!("v={}", B64.encode(server_signature));
        Ok((server_final.into_bytes(), p.user))
    }
}

/// A fresh server nonce: 24 random bytes, base64 (printable, no `,`).
pub fn server_nonce() -> Result<String, getrandom::Error> {
    Ok(B64.encode(super::credentials::random_bytes(24)?))
}

/// The client side of one exchange, for tests (ours and the protocol tests'): returns
/// (client-first, a closure from server-first to client-final and the expected
/// server-final).
#[doc(hidden)]
pub mod client {
    use super::*;

    pub fn first(user: &str, nonce: &str) -> String {
        let user = user.replace('=', "=3D").replace(',', "=2C");
        format!("n,,n={user},r={nonce}")
    }

    /// (client-final, expected server-final) for `server_first` answering `first(..)`.
    pub fn finish(
        mechanism: ScramMechanism,
        password: &str,
        client_first: &str,
        server_first: &str,
    ) -> Option<(String, String)> {
        finish_with_nonce(mechanism, password, client_first, server_first, None)
    }

    /// [`finish`], sending `nonce` in client-final instead of the server's.
    pub fn finish_with_nonce(
        mechanism: ScramMechanism,
        password: &str,
        client_first: &str,
        server_first: &str,
        nonce_sent: Option<&str>,
    ) -> Option<(String, String)> {
        let mut nonce = None;
        let mut salt = None;
        let mut iterations = None;
        for attr in server_first.split(',') {
            if let Some(v) = attr.strip_prefix("r=") {
                nonce = Some(v);
            } else if let Some(v) = attr.strip_prefix("s=") {
                salt = B64.decode(v).ok();
            } else if let Some(v) = attr.strip_prefix("i=") {
                iterations = v.parse::<u32>().ok();
            }
        }
        let (nonce, salt, iterations) = (nonce?, salt?, iterations?);
        let salted = mechanism.salted_password(password.as_bytes(), &salt, iterations);
        let client_key = mechanism.client_key(&salted);
        let stored_key = mechanism.hash(&client_key);
        let bare = client_first.strip_prefix("n,,")?;
        let without_proof = format!("c=biws,r={}", nonce_sent.unwrap_or(nonce));
        let auth = format!("{bare},{server_first},{without_proof}");
        let sig = mechanism.hmac(&stored_key, auth.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(&sig).map(|(a, b)| a ^ b).collect();
        let server_key = mechanism.hmac(&salted, b"Server Key");
        let server_sig = mechanism.hmac(&server_key, auth.as_bytes());
        Some((
            format!("{without_proof},p={}", B64.encode(proof)),
            format!("v={}", B64.encode(server_sig)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc7677_credential() -> ScramCredential {
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").expect("b64");
        ScramCredential::from_password(ScramMechanism::Sha256, "pencil", &salt, 4096)
    }

    #[test]
    fn rfc7677_scram_sha_256_exchange() {
        // RFC 7677 §3, byte for byte.
        let mut s = ScramServer::new(ScramMechanism::Sha256);
        let server_first = s
            .client_first(
                b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
                "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
                |u| (u == "user").then(rfc7677_credential),
            )
            .expect("client-first accepted");
        assert_eq!(
            String::from_utf8(server_first).expect("utf8"),
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        );
        let (server_final, user) = s
            .client_final(
                b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            )
            .expect("proof verifies");
        assert_eq!(user, "user");
        assert_eq!(
            String::from_utf8(server_final).expect("utf8"),
            "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
        assert_eq!(s.client_final(b"again"), Err(AuthError::OutOfOrder));
    }

    fn round_trip(
        m: ScramMechanism,
        stored_pw: &str,
        client_pw: &str,
    ) -> Result<String, AuthError> {
        let cred = ScramCredential::new(m, stored_pw, 4096).expect("random");
        let mut s = ScramServer::new(m);
        let first = client::first("alice,=x", "clientnonce123");
        let server_first =
            s.client_first(first.as_bytes(), &server_nonce().expect("rng"), |u| {
                (u == "alice,=x").then(|| cred.clone())
            })?;
        let server_first = String::from_utf8(server_first).expect("utf8");
        let (fin, expected) =
            client::finish(m, client_pw, &first, &server_first).expect("client computes");
        let (server_final, user) = s.client_final(fin.as_bytes())?;
        assert_eq!(String::from_utf8(server_final).expect("utf8"), expected);
        Ok(user)
    }

    #[test]
    fn sha512_round_trip_and_wrong_password() {
        assert_eq!(
            round_trip(ScramMechanism::Sha512, "s3cret", "s3cret"),
            Ok("alice,=x".to_string())
        );
        assert_eq!(
            round_trip(ScramMechanism::Sha512, "s3cret", "wrong"),
            Err(AuthError::BadPassword("alice,=x".into()))
        );
        assert_eq!(
            round_trip(ScramMechanism::Sha256, "pw", "pw"),
            Ok("alice,=x".to_string())
        );
    }

    fn first_err(msg: &str) -> AuthError {
        let mut s = ScramServer::new(ScramMechanism::Sha256);
        s.client_first(msg.as_bytes(), "srv", |_| Some(rfc7677_credential()))
            .expect_err(msg)
    }

    #[test]
    fn client_first_refusals() {
        assert!(matches!(
            first_err("y,,n=user,r=abc"),
            AuthError::Unsupported(_)
        ));
        assert!(matches!(
            first_err("p=tls-unique,,n=user,r=abc"),
            AuthError::Unsupported(_)
        ));
        assert!(matches!(
            first_err("n,,m=x,n=user,r=abc"),
            AuthError::Unsupported(_)
        ));
        let token = first_err("n,,n=user,r=abc,tokenauth=true");
        assert!(token.to_string().contains("tokenauth"), "{token}");
        assert!(matches!(
            first_err("n,,n=user,r=abc,foo=bar"),
            AuthError::Unsupported(_)
        ));
        assert!(matches!(first_err("n,,n=user"), AuthError::Malformed(_)));
        assert!(matches!(
            first_err("n,,n=us=er,r=abc"),
            AuthError::Malformed(_)
        ));
        assert!(matches!(first_err("n,,n=,r=abc"), AuthError::Malformed(_)));
        assert!(matches!(first_err("n,,n=user,r="), AuthError::Malformed(_)));
        assert!(matches!(first_err("x"), AuthError::Malformed(_)));
        assert!(matches!(
            first_err("n,b=x,n=user,r=a"),
            AuthError::Malformed(_)
        ));
        assert!(matches!(
            first_err("n,a=other,n=user,r=abc"),
            AuthError::AuthzidMismatch { .. }
        ));
        let mut s = ScramServer::new(ScramMechanism::Sha256);
        assert_eq!(
            s.client_first(b"n,,n=nobody,r=abc", "srv", |_| None),
            Err(AuthError::UnknownUser("nobody".into()))
        );
        // The authzid may name the user itself.
        let mut s = ScramServer::new(ScramMechanism::Sha256);
        assert!(s
            .client_first(b"n,a=user,n=user,r=abc", "srv", |_| Some(
                rfc7677_credential()
            ))
            .is_ok());
    }

    #[test]
    fn the_nonce_of_librdkafka_before_2_6_1_is_accepted() {
        // librdkafka < 2.6.1 sends client nonce + the whole server-first nonce (and signs
        // that), as kcat 1.7 on Debian does.
        let m = ScramMechanism::Sha256;
        let cred = ScramCredential::new(m, "pw", 4096).expect("random");
        let mut s = ScramServer::new(m);
        let first = client::first("u", "cn0nce");
        let server_first = s
            .client_first(first.as_bytes(), "srv", |_| Some(cred.clone()))
            .expect("first");
        let server_first = String::from_utf8(server_first).expect("utf8");
        let doubled = "cn0ncecn0ncesrv";
        let (fin, _) = client::finish_with_nonce(m, "pw", &first, &server_first, Some(doubled))
            .expect("client");
        let (_, user) = s.client_final(fin.as_bytes()).expect("accepted");
        assert_eq!(user, "u");
    }

    #[test]
    fn client_final_refusals() {
        let start = || {
            let mut s = ScramServer::new(ScramMechanism::Sha256);
            s.client_first(
                b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
                "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
                |_| Some(rfc7677_credential()),
            )
            .expect("first");
            s
        };
        let good_proof = "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
        let nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        // The nonce must be the server's, whole.
        let msg = format!("c=biws,r=rOprNGfwEbeRWgbNEkqO,{good_proof}");
        assert_eq!(
            start().client_final(msg.as_bytes()),
            Err(AuthError::NonceMismatch)
        );
        // Nor the client's nonce twice over.
        let msg = format!("c=biws,r=rOprNGfwEbeRWgbNEkqOrOprNGfwEbeRWgbNEkqO,{good_proof}");
        assert_eq!(
            start().client_final(msg.as_bytes()),
            Err(AuthError::NonceMismatch)
        );
        // Channel binding must repeat the gs2 header ("n,," = biws).
        let msg = format!("c=eSws,r={nonce},{good_proof}");
        assert!(matches!(
            start().client_final(msg.as_bytes()),
            Err(AuthError::Unsupported(_))
        ));
        let msg = format!("c=biws,r={nonce},x=1,{good_proof}");
        assert!(matches!(
            start().client_final(msg.as_bytes()),
            Err(AuthError::Unsupported(_))
        ));
        let msg = format!("c=biws,r={nonce},p=AAAA");
        assert!(matches!(
            start().client_final(msg.as_bytes()),
            Err(AuthError::BadPassword(_))
        ));
        let msg = format!("c=biws,r={nonce}");
        assert!(matches!(
            start().client_final(msg.as_bytes()),
            Err(AuthError::Malformed(_))
        ));
        let msg = format!("c=biws,r={nonce},p=!!");
        assert!(matches!(
            start().client_final(msg.as_bytes()),
            Err(AuthError::Malformed(_))
        ));
        // Out of order: a final before a first.
        let mut s = ScramServer::new(ScramMechanism::Sha256);
        assert_eq!(s.client_final(b"c=biws"), Err(AuthError::OutOfOrder));
    }

    #[test]
    fn server_nonces_are_printable_and_fresh() {
        let a = server_nonce().expect("rng");
        let b = server_nonce().expect("rng");
        assert_ne!(a, b);
        assert!(printable_nonce(&a));
    }
}
