//! SASL on a SASL_PLAINTEXT listener, raw: the handshake (v0 legacy tokens and v1
//! SaslAuthenticate), PLAIN and SCRAM, what is refused before authentication, and the
//! SCRAM user admin APIs. A PLAINTEXT listener runs beside it.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::alter_user_scram_credentials_request::{
    ScramCredentialDeletion, ScramCredentialUpsertion,
};
use kafka_protocol::messages::describe_user_scram_credentials_request::UserName;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use rill::auth::scram::client as scram_client;
use rill::auth::ScramMechanism;

use crate::common::{Client, Need, Rill};

const SASL_UNSUPPORTED_MECHANISM: i16 = 33;
const ILLEGAL_SASL_STATE: i16 = 34;
const SASL_AUTHENTICATION_FAILED: i16 = 58;
const RESOURCE_NOT_FOUND: i16 = 91;
const DUPLICATE_RESOURCE: i16 = 92;
const UNACCEPTABLE_CREDENTIAL: i16 = 93;

struct Sasl {
    rill: Rill,
    _users: tempfile::TempDir,
}

impl Sasl {
    fn start() -> Sasl {
        let users = tempfile::tempdir().expect("tempdir");
        let file = users.path().join("users");
        std::fs::write(&file, "# test users\nalice:alice-secret\nbob:b:ob pw\n").expect("users");
        let rill = Rill::start(&[
            "--listen",
            "SASL_PLAINTEXT://127.0.0.1:0",
            "--users-file",
            file.to_str().expect("utf8 path"),
        ]);
        Sasl {
            rill,
            _users: users,
        }
    }

    fn sasl_addr(&self) -> &str {
        self.rill.listener("SASL_PLAINTEXT")
    }

    fn connect(&self) -> Client {
        Client::connect(self.sasl_addr())
    }
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn handshake(c: &mut Client, version: i16, mechanism: &str) -> SaslHandshakeResponse {
    c.send(
        version,
        &SaslHandshakeRequest::default().with_mechanism(s(mechanism)),
    )
}

fn authenticate(c: &mut Client, version: i16, token: &[u8]) -> SaslAuthenticateResponse {
    c.send(
        version,
        &SaslAuthenticateRequest::default().with_auth_bytes(Bytes::copy_from_slice(token)),
    )
}

fn plain_login(c: &mut Client, user: &str, password: &str) -> SaslAuthenticateResponse {
    let hs = handshake(c, 1, "PLAIN");
    assert_eq!(hs.error_code, 0);
    authenticate(c, 2, format!("\0{user}\0{password}").as_bytes())
}

/// A whole SCRAM exchange over SaslAuthenticate v1; the second step's response, or the
/// first one's if it failed.
fn scram_login(
    c: &mut Client,
    m: ScramMechanism,
    user: &str,
    password: &str,
) -> SaslAuthenticateResponse {
    assert_eq!(handshake(c, 1, m.name()).error_code, 0);
    let first = scram_client::first(user, "pr0t0c0lt3st5n0nc3");
    let r1 = authenticate(c, 1, first.as_bytes());
    if r1.error_code != 0 {
        return r1;
    }
    let server_first = String::from_utf8(r1.auth_bytes.to_vec()).expect("utf8");
    let (fin, expected) =
        scram_client::finish(m, password, &first, &server_first).expect("server-first parses");
    let r2 = authenticate(c, 1, fin.as_bytes());
    if r2.error_code == 0 {
        assert_eq!(
            r2.auth_bytes.as_ref(),
            expected.as_bytes(),
            "server signature"
        );
    }
    r2
}

fn metadata_port(c: &mut Client) -> i32 {
    let m = c.send(12, &MetadataRequest::default().with_topics(None));
    assert_eq!(m.brokers.len(), 1);
    m.brokers[0].port
}

fn port_of(addr: &str) -> i32 {
    addr.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port")
}

#[test]
fn plain_authenticates_and_each_listener_advertises_itself() {
    needs!(Need::Sasl);
    let t = Sasl::start();
    let mut c = t.connect();
    // ApiVersions is answered before authentication and lists the SASL APIs.
    let v = c.send(3, &ApiVersionsRequest::default());
    assert_eq!(v.error_code, 0);
    for key in [17, 36, 50, 51] {
        assert!(v.api_keys.iter().any(|k| k.api_key == key), "key {key}");
    }
    let hs = handshake(&mut c, 1, "PLAIN");
    assert_eq!(hs.error_code, 0);
    let names: Vec<String> = hs.mechanisms.iter().map(|m| m.to_string()).collect();
    assert_eq!(names, ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]);
    let r = authenticate(&mut c, 2, b"\0bob\0b:ob pw");
    assert_eq!((r.error_code, r.session_lifetime_ms), (0, 0));
    assert!(r.auth_bytes.is_empty());
    // Metadata on the SASL connection names the SASL listener; on the PLAINTEXT one, that.
    assert_eq!(metadata_port(&mut c), port_of(t.sasl_addr()));
    let plain_addr = t.rill.listener("PLAINTEXT").to_string();
    assert_eq!(plain_addr, t.rill.addr, "the ready file's first line");
    let mut p = Client::connect(&plain_addr);
    assert_eq!(metadata_port(&mut p), port_of(&plain_addr));
    // Once authenticated, SASL requests are out of place (as on PLAINTEXT listeners).
    assert_eq!(authenticate(&mut c, 2, b"x").error_code, ILLEGAL_SASL_STATE);
    assert_eq!(handshake(&mut c, 1, "PLAIN").error_code, ILLEGAL_SASL_STATE);
    assert_eq!(handshake(&mut p, 1, "PLAIN").error_code, ILLEGAL_SASL_STATE);
    // The authzid may be the user itself.
    let mut c = t.connect();
    let hs = handshake(&mut c, 1, "PLAIN");
    assert_eq!(hs.error_code, 0);
    assert_eq!(
        authenticate(&mut c, 0, b"alice\0alice\0alice-secret").error_code,
        0
    );
}

#[test]
fn scram_sha_256_and_512_authenticate() {
    needs!(Need::Sasl);
    let t = Sasl::start();
    for m in [ScramMechanism::Sha256, ScramMechanism::Sha512] {
        let mut c = t.connect();
        let r = scram_login(&mut c, m, "alice", "alice-secret");
        assert_eq!(r.error_code, 0, "{m}: {:?}", r.error_message);
        assert_eq!(metadata_port(&mut c), port_of(t.sasl_addr()));
        let mut c = t.connect();
        let r = scram_login(&mut c, m, "alice", "wrong");
        assert_eq!(r.error_code, SASL_AUTHENTICATION_FAILED);
        assert_eq!(
            r.error_message.as_deref(),
            Some(format!(
                "Authentication failed during authentication due to invalid credentials with SASL mechanism {m}"
            ).as_str())
        );
        assert!(c.is_closed_by_peer(), "closed after the failure");
        // An unknown user fails the same way, at the first step.
        let mut c = t.connect();
        let r = scram_login(&mut c, m, "mallory", "x");
        assert_eq!(r.error_code, SASL_AUTHENTICATION_FAILED);
        assert!(c.is_closed_by_peer());
    }
}

#[test]
fn a_request_before_authentication_closes_the_connection() {
    needs!(Need::Sasl, Need::BrokerLog);
    let mut t = Sasl::start();
    let mut c = t.connect();
    c.write_request(12, &MetadataRequest::default().with_topics(None));
    assert!(c.is_closed_by_peer(), "Metadata before authentication");
    // After the handshake, only SaslAuthenticate.
    let mut c = t.connect();
    assert_eq!(handshake(&mut c, 1, "PLAIN").error_code, 0);
    c.write_request(12, &MetadataRequest::default().with_topics(None));
    assert!(c.is_closed_by_peer(), "Metadata before the tokens");
    // SaslAuthenticate without a handshake.
    let mut c = t.connect();
    c.write_request(
        2,
        &SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from_static(b"\0a\0b")),
    );
    assert!(
        c.is_closed_by_peer(),
        "SaslAuthenticate before SaslHandshake"
    );
    // A second ApiVersions.
    let mut c = t.connect();
    assert_eq!(c.send(3, &ApiVersionsRequest::default()).error_code, 0);
    c.write_request(3, &ApiVersionsRequest::default());
    assert!(c.is_closed_by_peer(), "ApiVersions twice");
    assert!(t.rill.is_running());
    assert!(t.rill.log().contains("request before SASL authentication"));
}

#[test]
fn an_unknown_mechanism_gets_the_enabled_list_and_the_connection_closes() {
    needs!(Need::Sasl);
    let t = Sasl::start();
    for mechanism in ["GSSAPI", "plain", "OAUTHBEARER"] {
        let mut c = t.connect();
        let hs = handshake(&mut c, 1, mechanism);
        assert_eq!(hs.error_code, SASL_UNSUPPORTED_MECHANISM, "{mechanism}");
        assert_eq!(hs.mechanisms.len(), 3);
        assert!(c.is_closed_by_peer(), "{mechanism}");
    }
}

#[test]
fn a_wrong_password_is_refused_and_others_are_still_served() {
    needs!(Need::Sasl);
    let mut t = Sasl::start();
    let mut c = t.connect();
    let r = plain_login(&mut c, "alice", "not-it");
    assert_eq!(r.error_code, SASL_AUTHENTICATION_FAILED);
    assert_eq!(
        r.error_message.as_deref(),
        Some("Authentication failed: Invalid username or password")
    );
    assert!(c.is_closed_by_peer());
    let mut c = t.connect();
    let r = plain_login(&mut c, "nobody", "x");
    assert_eq!(
        r.error_message.as_deref(),
        Some("Authentication failed: Invalid username or password"),
        "an unknown user is not told apart"
    );
    let mut c = t.connect();
    assert_eq!(handshake(&mut c, 1, "PLAIN").error_code, 0);
    let r = authenticate(&mut c, 1, b"bob\0alice\0alice-secret");
    assert_eq!(r.error_code, SASL_AUTHENTICATION_FAILED);
    assert_eq!(
        r.error_message.as_deref(),
        Some("Authentication failed: Client requested an authorization id that is different from username")
    );
    // Everyone else carries on.
    let mut c = t.connect();
    assert_eq!(plain_login(&mut c, "alice", "alice-secret").error_code, 0);
    assert_eq!(metadata_port(&mut c), port_of(t.sasl_addr()));
    assert!(t.rill.is_running());
}

/// Writes a bare size-prefixed token (the legacy exchange after SaslHandshake v0).
fn write_token(c: &mut Client, token: &[u8]) {
    let mut b = (token.len() as i32).to_be_bytes().to_vec();
    b.extend_from_slice(token);
    c.stream.write_all(&b).expect("write");
}

fn read_token(c: &mut Client) -> Vec<u8> {
    let mut len = [0u8; 4];
    c.stream.read_exact(&mut len).expect("token length");
    let mut b = vec![0u8; i32::from_be_bytes(len) as usize];
    c.stream.read_exact(&mut b).expect("token");
    b
}

#[test]
fn handshake_v0_exchanges_bare_tokens() {
    needs!(Need::Sasl);
    let t = Sasl::start();
    // PLAIN: one token, an empty answer.
    let mut c = t.connect();
    assert_eq!(handshake(&mut c, 0, "PLAIN").error_code, 0);
    write_token(&mut c, b"\0alice\0alice-secret");
    assert!(read_token(&mut c).is_empty());
    assert_eq!(metadata_port(&mut c), port_of(t.sasl_addr()));
    // SCRAM-SHA-512: two tokens each way.
    let m = ScramMechanism::Sha512;
    let mut c = t.connect();
    assert_eq!(handshake(&mut c, 0, m.name()).error_code, 0);
    let first = scram_client::first("bob", "legacy-n0nce");
    write_token(&mut c, first.as_bytes());
    let server_first = String::from_utf8(read_token(&mut c)).expect("utf8");
    let (fin, expected) =
        scram_client::finish(m, "b:ob pw", &first, &server_first).expect("parses");
    write_token(&mut c, fin.as_bytes());
    assert_eq!(read_token(&mut c), expected.as_bytes());
    assert_eq!(metadata_port(&mut c), port_of(t.sasl_addr()));
    // A wrong password: the legacy exchange has no error message; the connection closes.
    let mut c = t.connect();
    assert_eq!(handshake(&mut c, 0, "PLAIN").error_code, 0);
    write_token(&mut c, b"\0alice\0nope");
    assert!(c.is_closed_by_peer());
}

#[test]
fn a_silent_client_is_closed_after_the_handshake_deadline() {
    needs!(Need::Sasl);
    let t = Sasl::start();
    let mut c = t.connect();
    c.stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let started = Instant::now();
    let mut b = [0u8; 1];
    assert!(matches!(c.stream.read(&mut b), Ok(0) | Err(_)));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(9) && waited < Duration::from_secs(15),
        "{waited:?}"
    );
}

fn upsertion(
    user: &str,
    m: ScramMechanism,
    password: &str,
    iterations: i32,
) -> ScramCredentialUpsertion {
    let salt = b"protocol-test-salt".to_vec();
    let salted = m.salted_password(password.as_bytes(), &salt, iterations.max(1) as u32);
    ScramCredentialUpsertion::default()
        .with_name(s(user))
        .with_mechanism(m.kafka_type())
        .with_iterations(iterations)
        .with_salt(Bytes::from(salt))
        .with_salted_password(Bytes::from(salted))
}

fn deletion(user: &str, mechanism: i8) -> ScramCredentialDeletion {
    ScramCredentialDeletion::default()
        .with_name(s(user))
        .with_mechanism(mechanism)
}

fn alter(
    c: &mut Client,
    deletions: Vec<ScramCredentialDeletion>,
    upsertions: Vec<ScramCredentialUpsertion>,
) -> Vec<(String, i16, Option<String>)> {
    let r = c.send(
        0,
        &AlterUserScramCredentialsRequest::default()
            .with_deletions(deletions)
            .with_upsertions(upsertions),
    );
    let mut out: Vec<_> = r
        .results
        .into_iter()
        .map(|r| {
            (
                r.user.to_string(),
                r.error_code,
                r.error_message.map(|m| m.to_string()),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn scram_users_are_managed_at_run_time() {
    needs!(Need::Sasl);
    let t = Sasl::start();
    let mut admin = t.connect();
    assert_eq!(
        plain_login(&mut admin, "alice", "alice-secret").error_code,
        0
    );
    let sha256 = ScramMechanism::Sha256;
    let sha512 = ScramMechanism::Sha512;

    // Describe all: the users file's two users, both mechanisms, 4096 iterations.
    let d = admin.send(
        0,
        &DescribeUserScramCredentialsRequest::default().with_users(None),
    );
    assert_eq!(d.error_code, 0);
    let mut users: Vec<String> = d.results.iter().map(|r| r.user.to_string()).collect();
    users.sort();
    assert_eq!(users, ["alice", "bob"]);
    for r in &d.results {
        let infos: Vec<(i8, i32)> = r
            .credential_infos
            .iter()
            .map(|i| (i.mechanism, i.iterations))
            .collect();
        assert_eq!(infos, [(1, 4096), (2, 4096)]);
    }
    // Named users: unknown and duplicated ones are errors of their own.
    let name = |n: &str| UserName::default().with_name(s(n));
    let d = admin.send(
        0,
        &DescribeUserScramCredentialsRequest::default().with_users(Some(vec![
            name("bob"),
            name("nobody"),
            name("dup"),
            name("dup"),
        ])),
    );
    let mut got: Vec<(String, i16, Option<String>)> = d
        .results
        .iter()
        .map(|r| {
            (
                r.user.to_string(),
                r.error_code,
                r.error_message.as_ref().map(|m| m.to_string()),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            // As Kafka: a described user's message is left at its default, "".
            ("bob".into(), 0, Some(String::new())),
            (
                "dup".into(),
                DUPLICATE_RESOURCE,
                Some("Cannot describe SCRAM credentials for the same user twice in a single request: dup".into())
            ),
            (
                "nobody".into(),
                RESOURCE_NOT_FOUND,
                Some("Attempt to describe a user credential that does not exist: nobody".into())
            ),
        ]
    );

    // Refusals: iterations out of range, an unknown mechanism, a user twice, deleting
    // what is not there, an empty name.
    let got = alter(
        &mut admin,
        vec![deletion("ghost", 1), deletion("bob", 1)],
        vec![
            upsertion("few", sha256, "pw", 4095),
            upsertion("many", sha512, "pw", 16385),
            upsertion("twice", sha256, "pw", 4096),
            upsertion("twice", sha512, "pw", 4096),
            upsertion("bob", sha512, "pw", 4096),
            upsertion("", sha256, "pw", 4096),
            upsertion("nomech", sha256, "pw", 4096).with_mechanism(0),
        ],
    );
    let codes: Vec<(&str, i16)> = got.iter().map(|(u, c, _)| (u.as_str(), *c)).collect();
    assert_eq!(
        codes,
        vec![
            ("", UNACCEPTABLE_CREDENTIAL),
            ("bob", DUPLICATE_RESOURCE),
            ("few", UNACCEPTABLE_CREDENTIAL),
            ("ghost", RESOURCE_NOT_FOUND),
            ("many", UNACCEPTABLE_CREDENTIAL),
            ("nomech", SASL_UNSUPPORTED_MECHANISM),
            ("twice", DUPLICATE_RESOURCE),
        ]
    );
    assert!(got
        .iter()
        .any(|(_, _, m)| m.as_deref() == Some("Too few iterations")));
    let mut c = t.connect();
    assert_eq!(
        scram_login(&mut c, sha256, "few", "pw").error_code,
        SASL_AUTHENTICATION_FAILED,
        "nothing refused was stored"
    );
    let mut c = t.connect();
    assert_eq!(
        scram_login(&mut c, sha256, "bob", "b:ob pw").error_code,
        0,
        "bob's deletion was refused with its upsertion"
    );

    // A new user, added with a salted password as clients send it, logs in.
    let got = alter(
        &mut admin,
        vec![],
        vec![upsertion("carol", sha512, "c-pw", 8192)],
    );
    assert_eq!(got, vec![("carol".to_string(), 0, None)]);
    let mut c = t.connect();
    assert_eq!(scram_login(&mut c, sha512, "carol", "c-pw").error_code, 0);
    let mut c = t.connect();
    assert_eq!(
        plain_login(&mut c, "carol", "c-pw").error_code,
        0,
        "PLAIN uses it too"
    );
    let mut c = t.connect();
    assert_eq!(
        scram_login(&mut c, sha256, "carol", "c-pw").error_code,
        SASL_AUTHENTICATION_FAILED,
        "no SCRAM-SHA-256 credential"
    );
    let d = admin.send(
        0,
        &DescribeUserScramCredentialsRequest::default().with_users(Some(vec![name("carol")])),
    );
    assert_eq!(d.results[0].credential_infos[0].iterations, 8192);

    // Deleted: refused from then on.
    let got = alter(&mut admin, vec![deletion("carol", 2)], vec![]);
    assert_eq!(got, vec![("carol".to_string(), 0, None)]);
    let mut c = t.connect();
    assert_eq!(
        scram_login(&mut c, sha512, "carol", "c-pw").error_code,
        SASL_AUTHENTICATION_FAILED
    );
    let got = alter(&mut admin, vec![deletion("carol", 2)], vec![]);
    assert_eq!(got[0].1, RESOURCE_NOT_FOUND);
}
