//! CreateAcls, DescribeAcls and DeleteAcls raw, every version, with Kafka's filter
//! semantics and validation; and the authorizer (`--authorizer acl`): a super user over
//! SASL, an anonymous PLAINTEXT client refused until a binding allows it.

use bytes::Bytes;
use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use uuid::Uuid;

use crate::common::{batch, Client, Need, Rill};
use crate::ops::{create_topic, fetch, produce};

const TOPIC: i8 = 2;
const GROUP: i8 = 3;
const CLUSTER: i8 = 4;
const ANY: i8 = 1;
const MATCH: i8 = 2;
const LITERAL: i8 = 3;
const PREFIXED: i8 = 4;
const READ: i8 = 3;
const WRITE: i8 = 4;
const DESCRIBE: i8 = 8;
const ALTER: i8 = 7;
const DENY: i8 = 2;
const ALLOW: i8 = 3;

const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
const GROUP_AUTHORIZATION_FAILED: i16 = 30;
const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
const INVALID_REQUEST: i16 = 42;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn creation(rt: i8, name: &str, pt: i8, principal: &str, op: i8, perm: i8) -> AclCreation {
    AclCreation::default()
        .with_resource_type(rt)
        .with_resource_name(s(name))
        .with_resource_pattern_type(pt)
        .with_principal(s(principal))
        .with_host(s("*"))
        .with_operation(op)
        .with_permission_type(perm)
}

fn create(c: &mut Client, v: i16, creations: Vec<AclCreation>) -> Vec<i16> {
    let r = c.send(v, &CreateAclsRequest::default().with_creations(creations));
    r.results.iter().map(|r| r.error_code).collect()
}

/// A describe filter: (resource type, name, pattern type, principal).
fn describe(
    c: &mut Client,
    v: i16,
    rt: i8,
    name: Option<&str>,
    pt: i8,
    principal: Option<&str>,
) -> DescribeAclsResponse {
    c.send(
        v,
        &DescribeAclsRequest::default()
            .with_resource_type_filter(rt)
            .with_resource_name_filter(name.map(s))
            .with_pattern_type_filter(pt)
            .with_principal_filter(principal.map(s))
            .with_host_filter(None)
            .with_operation(ANY)
            .with_permission_type(ANY),
    )
}

/// (resource name, pattern type, principal, operation) of every described binding.
fn listed(r: &DescribeAclsResponse) -> Vec<(String, i8, String, i8)> {
    let mut out: Vec<_> = r
        .resources
        .iter()
        .flat_map(|res| {
            res.acls.iter().map(move |a| {
                (
                    res.resource_name.to_string(),
                    res.pattern_type,
                    a.principal.to_string(),
                    a.operation,
                )
            })
        })
        .collect();
    out.sort();
    out
}

fn delete_filter(rt: i8, name: Option<&str>, pt: i8, principal: Option<&str>) -> DeleteAclsFilter {
    DeleteAclsFilter::default()
        .with_resource_type_filter(rt)
        .with_resource_name_filter(name.map(s))
        .with_pattern_type_filter(pt)
        .with_principal_filter(principal.map(s))
        .with_host_filter(None)
        .with_operation(ANY)
        .with_permission_type(ANY)
}

#[test]
fn acl_apis_every_version_without_an_authorizer() {
    needs!(
        Need::Restart,
        Need::Fresh("lists and deletes every ACL of the cluster")
    );
    // No --authorizer: the APIs store and list (and nothing is enforced).
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    for v in 1..=3i16 {
        let t = format!("t{v}");
        let codes = create(
            &mut c,
            v,
            vec![
                creation(TOPIC, &t, LITERAL, "User:alice", READ, ALLOW),
                creation(TOPIC, &t, LITERAL, "User:alice", READ, ALLOW),
                creation(TOPIC, "t", PREFIXED, "User:bob", WRITE, DENY),
                creation(TOPIC, "*", LITERAL, "User:*", DESCRIBE, ALLOW),
                creation(GROUP, "g", LITERAL, "User:alice", READ, ALLOW),
            ],
        );
        assert_eq!(codes, vec![0; 5], "v{v}");
        // ANY lists everything (a binding created twice is there once).
        let all = describe(&mut c, v, ANY, None, ANY, None);
        assert_eq!(all.error_code, 0);
        assert_eq!(listed(&all).len(), 4, "v{v}: {:?}", listed(&all));
        // MATCH: what applies to topic t<v>: its literal, the wildcard, the prefix.
        let m = describe(&mut c, v, TOPIC, Some(&t), MATCH, None);
        assert_eq!(
            listed(&m),
            vec![
                ("*".into(), LITERAL, "User:*".into(), DESCRIBE),
                ("t".into(), PREFIXED, "User:bob".into(), WRITE),
                (t.clone(), LITERAL, "User:alice".into(), READ),
            ],
            "v{v}"
        );
        // A literal filter names exactly; ANY pattern type too.
        let lit = describe(&mut c, v, TOPIC, Some("t"), ANY, None);
        assert_eq!(
            listed(&lit),
            vec![("t".into(), PREFIXED, "User:bob".into(), WRITE)]
        );
        let by_principal = describe(&mut c, v, ANY, None, ANY, Some("User:alice"));
        assert_eq!(listed(&by_principal).len(), 2);
        // Delete: each filter's matches, reported per filter.
        let r = c.send(
            v,
            &DeleteAclsRequest::default().with_filters(vec![
                delete_filter(ANY, None, ANY, Some("User:alice")),
                delete_filter(TOPIC, Some("t"), PREFIXED, None),
                delete_filter(TOPIC, Some("nothing"), LITERAL, None),
            ]),
        );
        let counts: Vec<_> = r
            .filter_results
            .iter()
            .map(|f| (f.error_code, f.matching_acls.len()))
            .collect();
        assert_eq!(counts, vec![(0, 2), (0, 1), (0, 0)], "v{v}");
        assert_eq!(
            r.filter_results[1].matching_acls[0].principal.as_str(),
            "User:bob"
        );
        let left = describe(&mut c, v, ANY, None, ANY, None);
        assert_eq!(
            listed(&left),
            vec![("*".into(), LITERAL, "User:*".into(), DESCRIBE)]
        );
        let r = c.send(
            v,
            &DeleteAclsRequest::default().with_filters(vec![delete_filter(ANY, None, ANY, None)]),
        );
        assert_eq!(r.filter_results[0].matching_acls.len(), 1);
    }
    // Bindings survive a restart (the metadata store).
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let rill = Rill::start_on(dir.path(), &[]);
        let mut c = rill.client();
        let codes = create(
            &mut c,
            3,
            vec![creation(TOPIC, "kept", LITERAL, "User:a", READ, ALLOW)],
        );
        assert_eq!(codes, vec![0]);
    }
    let rill = Rill::start_on(dir.path(), &[]);
    let mut c = rill.client();
    let all = describe(&mut c, 3, ANY, None, ANY, None);
    assert_eq!(
        listed(&all),
        vec![("kept".into(), LITERAL, "User:a".into(), READ)]
    );
}

#[test]
fn invalid_bindings_and_filters_get_invalid_request() {
    needs!(Need::Fresh("lists and deletes every ACL of the cluster"));
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    let r = c.send(
        3,
        &CreateAclsRequest::default().with_creations(vec![
            creation(CLUSTER, "not-the-cluster", LITERAL, "User:a", ALTER, ALLOW),
            creation(TOPIC, "", LITERAL, "User:a", READ, ALLOW),
            creation(ANY, "t", LITERAL, "User:a", READ, ALLOW),
            creation(TOPIC, "t", MATCH, "User:a", READ, ALLOW),
            creation(TOPIC, "t", LITERAL, "User:a", ANY, ALLOW),
            creation(TOPIC, "t", LITERAL, "User:a", READ, ANY),
            creation(TOPIC, "t", LITERAL, "alice", READ, ALLOW),
            creation(42, "t", LITERAL, "User:a", READ, ALLOW),
            creation(CLUSTER, "kafka-cluster", LITERAL, "User:a", ALTER, ALLOW),
        ]),
    );
    let codes: Vec<_> = r.results.iter().map(|r| r.error_code).collect();
    assert_eq!(codes, [vec![INVALID_REQUEST; 8], vec![0]].concat());
    assert_eq!(
        r.results[0].error_message.as_deref(),
        Some("The only valid name for the CLUSTER resource is kafka-cluster")
    );
    assert_eq!(
        r.results[3].error_message.as_deref(),
        Some("Invalid patternType MATCH")
    );
    // Only the valid one was stored.
    assert_eq!(listed(&describe(&mut c, 3, ANY, None, ANY, None)).len(), 1);
    // A filter with a code Kafka does not know.
    let d = describe(&mut c, 3, 99, None, ANY, None);
    assert_eq!(d.error_code, INVALID_REQUEST);
    let r = c.send(
        3,
        &DeleteAclsRequest::default().with_filters(vec![
            delete_filter(ANY, None, 0, None),
            delete_filter(ANY, None, ANY, None),
        ]),
    );
    assert_eq!(r.filter_results[0].error_code, INVALID_REQUEST);
    assert_eq!(r.filter_results[1].error_code, 0);
    assert_eq!(r.filter_results[1].matching_acls.len(), 1);
}

/// A broker with `--authorizer acl`, a PLAINTEXT listener (User:ANONYMOUS) and a
/// SASL_PLAINTEXT one where `admin` is a super user.
struct Secured {
    rill: Rill,
    _users: tempfile::TempDir,
}

impl Secured {
    fn start() -> Secured {
        let users = tempfile::tempdir().expect("tempdir");
        let file = users.path().join("users");
        std::fs::write(&file, "admin:admin-secret\n").expect("users");
        let rill = Rill::start(&[
            "--listen",
            "SASL_PLAINTEXT://127.0.0.1:0",
            "--users-file",
            file.to_str().expect("utf8 path"),
            "--authorizer",
            "acl",
            "--super-users",
            "User:admin",
        ]);
        Secured {
            rill,
            _users: users,
        }
    }

    fn admin(&self) -> Client {
        let mut c = Client::connect(self.rill.listener("SASL_PLAINTEXT"));
        let hs = c.send(
            1,
            &SaslHandshakeRequest::default().with_mechanism(s("PLAIN")),
        );
        assert_eq!(hs.error_code, 0);
        let auth = c.send(
            2,
            &SaslAuthenticateRequest::default()
                .with_auth_bytes(Bytes::from_static(b"\0admin\0admin-secret")),
        );
        assert_eq!(auth.error_code, 0);
        c
    }
}

fn metadata(c: &mut Client, topics: Option<&[&str]>) -> MetadataResponse {
    use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
    c.send(
        12,
        &MetadataRequest::default()
            .with_topics(topics.map(|ts| {
                ts.iter()
                    .map(|t| MetadataRequestTopic::default().with_name(Some(crate::ops::name(t))))
                    .collect()
            }))
            .with_allow_auto_topic_creation(false),
    )
}

#[test]
fn the_authorizer_denies_until_an_acl_allows() {
    needs!(
        Need::Sasl,
        Need::Flags("--authorizer acl --super-users User:admin")
    );
    let sec = Secured::start();
    let mut admin = sec.admin();
    let id = create_topic(&mut admin, "orders", 1, &[]);
    create_topic(&mut admin, "secret", 1, &[]);
    let mut anon = sec.rill.client();

    // Not a super user: no ACL API, no topic, nothing in Metadata.
    let r = anon.send(
        3,
        &CreateAclsRequest::default().with_creations(vec![creation(
            TOPIC,
            "orders",
            LITERAL,
            "User:ANONYMOUS",
            ALL_OPS,
            ALLOW,
        )]),
    );
    assert_eq!(r.results[0].error_code, CLUSTER_AUTHORIZATION_FAILED);
    assert_eq!(
        describe(&mut anon, 3, ANY, None, ANY, None).error_code,
        CLUSTER_AUTHORIZATION_FAILED
    );
    let one = batch(1, 0, Compression::None);
    assert_eq!(
        produce(&mut anon, 9, "orders", id, 0, one.clone()).error_code,
        TOPIC_AUTHORIZATION_FAILED
    );
    assert_eq!(
        produce(&mut anon, 13, "orders", id, 0, one.clone()).error_code,
        TOPIC_AUTHORIZATION_FAILED
    );
    // An unknown topic one may not write is refused the same way (nothing disclosed).
    assert_eq!(
        produce(&mut anon, 9, "nope", Uuid::nil(), 0, one.clone()).error_code,
        TOPIC_AUTHORIZATION_FAILED
    );
    assert_eq!(
        fetch(&mut anon, 12, "orders", id, 0, 0).error_code,
        TOPIC_AUTHORIZATION_FAILED
    );
    assert!(metadata(&mut anon, None).topics.is_empty());
    let m = metadata(&mut anon, Some(&["orders", "nope"]));
    let codes: Vec<_> = m.topics.iter().map(|t| t.error_code).collect();
    assert_eq!(codes, vec![TOPIC_AUTHORIZATION_FAILED; 2]);

    // The super user needs no ACL.
    assert_eq!(
        produce(&mut admin, 9, "orders", id, 0, one.clone()).error_code,
        0
    );
    assert_eq!(metadata(&mut admin, None).topics.len(), 2);

    // WRITE on orders (prefixed "ord"), READ on it: produce, fetch, describe (implied).
    assert_eq!(
        create(
            &mut admin,
            3,
            vec![
                creation(TOPIC, "ord", PREFIXED, "User:ANONYMOUS", WRITE, ALLOW),
                creation(TOPIC, "orders", LITERAL, "User:*", READ, ALLOW),
            ]
        ),
        vec![0, 0]
    );
    let p = produce(&mut anon, 9, "orders", id, 0, one.clone());
    assert_eq!(p.error_code, 0);
    assert_eq!(p.base_offset, 1);
    assert_eq!(fetch(&mut anon, 12, "orders", id, 0, 0).error_code, 0);
    let all = metadata(&mut anon, None);
    let names: Vec<_> = all
        .topics
        .iter()
        .filter_map(|t| t.name.as_ref().map(|n| n.to_string()))
        .collect();
    assert_eq!(names, vec!["orders"], "secret stays hidden");

    // A DENY wins.
    assert_eq!(
        create(
            &mut admin,
            3,
            vec![creation(
                TOPIC,
                "orders",
                LITERAL,
                "User:ANONYMOUS",
                WRITE,
                DENY
            )]
        ),
        vec![0]
    );
    assert_eq!(
        produce(&mut anon, 9, "orders", id, 0, one.clone()).error_code,
        TOPIC_AUTHORIZATION_FAILED
    );

    // Groups: READ on the group is needed to join or commit.
    let join = anon.send(
        5,
        &JoinGroupRequest::default()
            .with_group_id(GroupId(s("g")))
            .with_session_timeout_ms(10_000)
            .with_rebalance_timeout_ms(10_000)
            .with_protocol_type(s("consumer")),
    );
    assert_eq!(join.error_code, GROUP_AUTHORIZATION_FAILED);
    let fc = anon.send(3, &FindCoordinatorRequest::default().with_key(s("g")));
    assert_eq!(fc.error_code, GROUP_AUTHORIZATION_FAILED);

    // Deleting the bindings takes the permission away again.
    let r = admin.send(
        3,
        &DeleteAclsRequest::default().with_filters(vec![delete_filter(
            TOPIC,
            Some("orders"),
            MATCH,
            None,
        )]),
    );
    assert_eq!(r.filter_results[0].matching_acls.len(), 3);
    assert_eq!(
        fetch(&mut anon, 12, "orders", id, 0, 0).error_code,
        TOPIC_AUTHORIZATION_FAILED
    );
}

const ALL_OPS: i8 = 2;

/// `--allow-everyone-if-no-acl-found true` (how librdkafka's test clusters run): what no
/// binding names is allowed, to ANONYMOUS on PLAINTEXT too (the ACL APIs included, as the
/// cluster has no binding); a topic named by a DENY for everyone is refused, and a topic
/// named by someone else's ALLOW is refused to the rest.
#[test]
fn allow_everyone_if_no_acl_found() {
    needs!(Need::Flags(
        "--authorizer acl --allow-everyone-if-no-acl-found true"
    ));
    let rill = Rill::start(&[
        "--authorizer",
        "acl",
        "--allow-everyone-if-no-acl-found",
        "true",
    ]);
    let mut c = rill.client();
    let open = create_topic(&mut c, "open", 1, &[]);
    let secret = create_topic(&mut c, "secret", 1, &[]);
    let one = batch(1, 0, Compression::None);
    assert_eq!(
        produce(&mut c, 9, "secret", secret, 0, one.clone()).error_code,
        0
    );

    // kafka-acls.sh --add --deny-principal 'User:*' --operation All --deny-host '*' --topic secret
    assert_eq!(
        create(
            &mut c,
            3,
            vec![creation(TOPIC, "secret", LITERAL, "User:*", ALL_OPS, DENY)]
        ),
        vec![0]
    );
    assert_eq!(
        produce(&mut c, 9, "secret", secret, 0, one.clone()).error_code,
        TOPIC_AUTHORIZATION_FAILED
    );
    assert_eq!(
        fetch(&mut c, 12, "secret", secret, 0, 0).error_code,
        TOPIC_AUTHORIZATION_FAILED
    );
    assert_eq!(
        produce(&mut c, 9, "open", open, 0, one.clone()).error_code,
        0
    );
    assert_eq!(fetch(&mut c, 12, "open", open, 0, 0).error_code, 0);
    let names: Vec<_> = metadata(&mut c, None)
        .topics
        .iter()
        .filter_map(|t| t.name.as_ref().map(|n| n.to_string()))
        .collect();
    assert_eq!(names, vec!["open"]);
    // Idempotent producers: Kafka's by-resource-type check passes while no binding
    // names its probe resource.
    let r = c.send(
        4,
        &InitProducerIdRequest::default().with_transactional_id(None),
    );
    assert_eq!(r.error_code, 0);

    // Someone else's ALLOW on "open": it is guarded now, and ANONYMOUS has no ALLOW.
    assert_eq!(
        create(
            &mut c,
            3,
            vec![creation(TOPIC, "open", LITERAL, "User:bob", WRITE, ALLOW)]
        ),
        vec![0]
    );
    assert_eq!(
        produce(&mut c, 9, "open", open, 0, one.clone()).error_code,
        TOPIC_AUTHORIZATION_FAILED
    );

    // Removing every binding opens both again.
    let r = c.send(
        3,
        &DeleteAclsRequest::default().with_filters(vec![delete_filter(ANY, None, ANY, None)]),
    );
    assert_eq!(r.filter_results[0].matching_acls.len(), 2);
    assert_eq!(
        produce(&mut c, 9, "secret", secret, 0, one.clone()).error_code,
        0
    );
    assert_eq!(produce(&mut c, 9, "open", open, 0, one).error_code, 0);
}
