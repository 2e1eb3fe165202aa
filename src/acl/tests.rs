use std::net::IpAddr;

use super::*;

fn binding(
    rt: ResourceType,
    name: &str,
    pt: PatternType,
    principal: &str,
    host: &str,
    op: Operation,
    perm: Permission,
) -> AclBinding {
    AclBinding {
        resource_type: rt,
        resource_name: name.into(),
        pattern_type: pt,
        principal: principal.into(),
        host: host.into(),
        operation: op,
        permission: perm,
    }
}

fn topic(
    name: &str,
    pt: PatternType,
    principal: &str,
    op: Operation,
    perm: Permission,
) -> AclBinding {
    binding(ResourceType::Topic, name, pt, principal, "*", op, perm)
}

const LOCAL: &str = "127.0.0.1";

fn who(principal: &str) -> Requester<'_> {
    Requester {
        principal,
        host: LOCAL.parse().unwrap(),
    }
}

fn on_topic(op: Operation, name: &str) -> Action<'_> {
    Action {
        operation: op,
        resource_type: ResourceType::Topic,
        name,
    }
}

use Operation::*;
use PatternType::{Literal, Prefixed};
use Permission::{Allow, Deny};

#[test]
fn nothing_matching_is_denied() {
    let set = AclSet::new([topic("other", Literal, "User:alice", Read, Allow)]);
    assert!(!set.allows(&who("User:alice"), &on_topic(Read, "t")));
    assert!(!AclSet::default().allows(&who("User:alice"), &on_topic(Read, "t")));
}

#[test]
fn deny_wins_over_allow() {
    let mut set = AclSet::new([topic("t", Literal, "User:alice", Read, Allow)]);
    assert!(set.allows(&who("User:alice"), &on_topic(Read, "t")));
    // A DENY anywhere that matches wins: on the wildcard, by prefix, for everyone.
    for deny in [
        topic("*", Literal, "User:alice", Read, Deny),
        topic("t", Prefixed, "User:alice", Read, Deny),
        topic("t", Literal, "User:*", All, Deny),
    ] {
        set.insert(deny.clone());
        assert!(
            !set.allows(&who("User:alice"), &on_topic(Read, "t")),
            "{deny}"
        );
        set.remove(&deny);
        assert!(set.allows(&who("User:alice"), &on_topic(Read, "t")));
    }
    // A DENY of another operation does not.
    set.insert(topic("t", Literal, "User:alice", Write, Deny));
    assert!(set.allows(&who("User:alice"), &on_topic(Read, "t")));
    assert!(!set.allows(&who("User:alice"), &on_topic(Write, "t")));
}

#[test]
fn prefixed_patterns_match_names_that_start_with_them() {
    let set = AclSet::new([topic("orders-", Prefixed, "User:alice", Write, Allow)]);
    let alice = who("User:alice");
    assert!(set.allows(&alice, &on_topic(Write, "orders-eu")));
    assert!(set.allows(&alice, &on_topic(Write, "orders-")));
    assert!(!set.allows(&alice, &on_topic(Write, "orders")));
    assert!(!set.allows(&alice, &on_topic(Write, "returns-eu")));
    // A literal binding is not a prefix.
    let lit = AclSet::new([topic("orders-", Literal, "User:alice", Write, Allow)]);
    assert!(!lit.allows(&alice, &on_topic(Write, "orders-eu")));
    // Non-ASCII names are cut on character boundaries only.
    let set = AclSet::new([topic("ü", Prefixed, "User:alice", Write, Allow)]);
    assert!(!set.allows(&alice, &on_topic(Write, "aé")));
    assert!(set.allows(&alice, &on_topic(Write, "üb")));
}

#[test]
fn wildcard_principal_resource_and_host() {
    let set = AclSet::new([
        topic("*", Literal, "User:*", Describe, Allow),
        binding(
            ResourceType::Topic,
            "t",
            Literal,
            "User:bob",
            "10.0.0.1",
            Read,
            Allow,
        ),
        binding(
            ResourceType::Topic,
            "t",
            Literal,
            "User:carol",
            "::1",
            Read,
            Allow,
        ),
    ]);
    assert!(set.allows(&who("User:anyone"), &on_topic(Describe, "whatever")));
    assert!(!set.allows(&who("User:anyone"), &on_topic(Read, "whatever")));
    // Host: only from that address.
    assert!(!set.allows(&who("User:bob"), &on_topic(Read, "t")));
    let from = |p, h: &str| Requester {
        principal: p,
        host: h.parse::<IpAddr>().unwrap(),
    };
    assert!(set.allows(&from("User:bob", "10.0.0.1"), &on_topic(Read, "t")));
    // Java writes ::1 as 0:0:0:0:0:0:0:1; both are the address.
    assert!(set.allows(&from("User:carol", "0:0:0:0:0:0:0:1"), &on_topic(Read, "t")));
    // Kafka matches User:* for every principal, of any type; `*` alone is no wildcard.
    let set = AclSet::new([topic("t", Literal, "User:*", Read, Allow)]);
    assert!(set.allows(&who("Group:x"), &on_topic(Read, "t")));
    let set = AclSet::new([topic("t", Literal, "*", Read, Allow)]);
    assert!(!set.allows(&who("User:x"), &on_topic(Read, "t")));
}

#[test]
fn implied_operations() {
    let alice = who("User:alice");
    for op in [Read, Write, Delete, Alter, All] {
        let set = AclSet::new([topic("t", Literal, "User:alice", op, Allow)]);
        assert!(
            set.allows(&alice, &on_topic(Describe, "t")),
            "{op} implies DESCRIBE"
        );
    }
    for op in [Create, AlterConfigs, DescribeConfigs] {
        let set = AclSet::new([topic("t", Literal, "User:alice", op, Allow)]);
        assert!(
            !set.allows(&alice, &on_topic(Describe, "t")),
            "{op} does not imply DESCRIBE"
        );
    }
    let set = AclSet::new([topic("t", Literal, "User:alice", AlterConfigs, Allow)]);
    assert!(set.allows(&alice, &on_topic(DescribeConfigs, "t")));
    assert!(!set.allows(&alice, &on_topic(Alter, "t")));
    let set = AclSet::new([topic("t", Literal, "User:alice", All, Allow)]);
    for op in [
        Read,
        Write,
        Create,
        Delete,
        Alter,
        AlterConfigs,
        IdempotentWrite,
    ] {
        assert!(set.allows(&alice, &on_topic(op, "t")), "ALL implies {op}");
    }
    // DENY implies nothing: a DENY of READ leaves DESCRIBE to the ALLOW.
    let set = AclSet::new([
        topic("t", Literal, "User:alice", Describe, Allow),
        topic("t", Literal, "User:alice", Read, Deny),
    ]);
    assert!(set.allows(&alice, &on_topic(Describe, "t")));
    // ... while a DENY of ALL denies everything.
    let set = AclSet::new([
        topic("t", Literal, "User:alice", Read, Allow),
        topic("t", Literal, "User:alice", All, Deny),
    ]);
    assert!(!set.allows(&alice, &on_topic(Describe, "t")));
}

#[test]
fn super_users_may_do_anything() {
    let supers = Policy {
        super_users: vec!["User:admin".to_string()],
        allow_if_no_acl: false,
    };
    let set = AclSet::new([topic("t", Literal, "User:*", All, Deny)]);
    assert!(check(&set, &supers, &who("User:admin"), &on_topic(Delete, "t")).is_ok());
    assert!(check(&set, &supers, &who("User:admin"), &on_topic(Delete, "u")).is_ok());
    let denied = check(&set, &supers, &who("User:alice"), &on_topic(Delete, "t")).unwrap_err();
    assert_eq!(denied.resource_type, ResourceType::Topic);
    assert_eq!(
        denied.to_string(),
        "Principal User:alice is not authorized to DELETE TOPIC t"
    );
}

fn everyone_if_no_acl() -> Policy {
    Policy {
        super_users: Vec::new(),
        allow_if_no_acl: true,
    }
}

#[test]
fn verdicts_tell_a_resource_without_bindings_apart() {
    let alice = who("User:alice");
    assert_eq!(
        AclSet::default().decide(&alice, &on_topic(Read, "t")),
        Verdict::NoAcls
    );
    let set = AclSet::new([
        topic("t", Literal, "User:bob", Write, Allow),
        topic("p-", Prefixed, "User:bob", Read, Allow),
        binding(
            ResourceType::Group,
            "*",
            Literal,
            "User:bob",
            "*",
            Read,
            Allow,
        ),
    ]);
    // Bindings for someone else, another operation, a prefix or the wildcard of the
    // resource type all name the resource: no longer "no ACLs".
    assert_eq!(set.decide(&alice, &on_topic(Read, "t")), Verdict::Denied);
    assert_eq!(set.decide(&alice, &on_topic(Read, "p-1")), Verdict::Denied);
    let any_group = Action {
        operation: Read,
        resource_type: ResourceType::Group,
        name: "g",
    };
    assert_eq!(set.decide(&alice, &any_group), Verdict::Denied);
    // A literal that only starts like the name, another name, another type: no ACLs.
    assert_eq!(set.decide(&alice, &on_topic(Read, "tt")), Verdict::NoAcls);
    assert_eq!(set.decide(&alice, &on_topic(Read, "p")), Verdict::NoAcls);
    let txn = Action {
        operation: Write,
        resource_type: ResourceType::TransactionalId,
        name: "t",
    };
    assert_eq!(set.decide(&alice, &txn), Verdict::NoAcls);
    assert_eq!(
        set.decide(&who("User:bob"), &on_topic(Write, "t")),
        Verdict::Allowed
    );
}

#[test]
fn allow_everyone_if_no_acl_found() {
    let alice = who("User:alice");
    let everyone = everyone_if_no_acl();
    let deny_all = Policy::default();
    // librdkafka's 0109/0115/0119: one topic denied to everybody, the rest unguarded.
    let set = AclSet::new([binding(
        ResourceType::Topic,
        "secret",
        Literal,
        "User:*",
        "*",
        All,
        Deny,
    )]);
    assert!(check(&set, &everyone, &alice, &on_topic(Write, "other")).is_ok());
    assert!(check(&set, &deny_all, &alice, &on_topic(Write, "other")).is_err());
    let denied = check(&set, &everyone, &alice, &on_topic(Describe, "secret")).unwrap_err();
    assert_eq!(denied.name, "secret");
    // Once a binding names the resource, only its ALLOWs count: bob's ALLOW makes the
    // topic guarded, and alice is refused.
    let set = AclSet::new([topic("t", Literal, "User:bob", Read, Allow)]);
    assert!(check(&set, &everyone, &who("User:bob"), &on_topic(Read, "t")).is_ok());
    assert!(check(&set, &everyone, &alice, &on_topic(Read, "t")).is_err());
    assert!(check(&set, &everyone, &who("User:bob"), &on_topic(Write, "t")).is_err());
    // Also for bindings reaching it through a prefix or the wildcard.
    let set = AclSet::new([topic("ord", Prefixed, "User:bob", Read, Allow)]);
    assert!(check(&set, &everyone, &alice, &on_topic(Read, "orders")).is_err());
    assert!(check(&set, &everyone, &alice, &on_topic(Read, "returns")).is_ok());
    let set = AclSet::new([topic("*", Literal, "User:bob", Read, Allow)]);
    assert!(check(&set, &everyone, &alice, &on_topic(Read, "returns")).is_err());
}

#[test]
fn by_resource_type_with_allow_everyone() {
    let alice = who("User:alice");
    let everyone = everyone_if_no_acl();
    // No topic bindings: Kafka's probe of the resource named "hardcode" is allowed.
    assert!(check_any(
        &AclSet::default(),
        &everyone,
        &alice,
        Write,
        ResourceType::Topic
    ));
    assert!(!check_any(
        &AclSet::default(),
        &Policy::default(),
        &alice,
        Write,
        ResourceType::Topic
    ));
    // A DENY on one topic leaves "hardcode" unguarded.
    let set = AclSet::new([topic("secret", Literal, "User:*", All, Deny)]);
    assert!(check_any(
        &set,
        &everyone,
        &alice,
        Write,
        ResourceType::Topic
    ));
    // A DENY on every topic guards it.
    let set = AclSet::new([topic("*", Literal, "User:*", Write, Deny)]);
    assert!(!check_any(
        &set,
        &everyone,
        &alice,
        Write,
        ResourceType::Topic
    ));
    // Super users pass whatever the bindings say.
    let admin = Policy {
        super_users: vec!["User:admin".into()],
        allow_if_no_acl: false,
    };
    assert!(check_any(
        &set,
        &admin,
        &who("User:admin"),
        Write,
        ResourceType::Topic
    ));
}

#[test]
fn by_resource_type() {
    let alice = who("User:alice");
    let set = AclSet::new([topic("t", Literal, "User:alice", Write, Allow)]);
    assert!(set.allows_any(&alice, Write, ResourceType::Topic));
    assert!(!set.allows_any(&alice, Read, ResourceType::Topic));
    assert!(!set.allows_any(&who("User:bob"), Write, ResourceType::Topic));
    // Covered by a DENY: the literal itself, a prefix of it, the wildcard.
    for deny in [
        topic("t", Literal, "User:alice", Write, Deny),
        topic("", Prefixed, "User:alice", Write, Deny),
        topic("*", Literal, "User:*", All, Deny),
    ] {
        let mut set = AclSet::new([topic("t", Literal, "User:alice", Write, Allow)]);
        set.insert(deny);
        assert!(!set.allows_any(&alice, Write, ResourceType::Topic));
    }
    let set = AclSet::new([
        topic("a-", Prefixed, "User:alice", All, Allow),
        topic("b", Prefixed, "User:alice", Write, Deny),
    ]);
    assert!(set.allows_any(&alice, Write, ResourceType::Topic));
}

#[test]
fn insert_and_remove_keep_the_index() {
    let a = topic("p-", Prefixed, "User:alice", Read, Allow);
    let mut set = AclSet::default();
    assert!(set.insert(a.clone()));
    assert!(!set.insert(a.clone()), "a second insert is a no-op");
    assert_eq!(set.len(), 1);
    assert!(set.allows(&who("User:alice"), &on_topic(Read, "p-1")));
    assert!(set.remove(&a));
    assert!(!set.remove(&a));
    assert!(set.is_empty());
    assert!(!set.allows(&who("User:alice"), &on_topic(Read, "p-1")));
}

fn filter() -> AclFilter {
    AclFilter::any()
}

#[test]
fn filters_as_kafka_matches_them() {
    let lit = topic("foo", Literal, "User:alice", Read, Allow);
    let wild = topic("*", Literal, "User:alice", Read, Allow);
    let pre = topic("fo", Prefixed, "User:bob", Write, Deny);
    let grp = binding(
        ResourceType::Group,
        "foo",
        Literal,
        "User:alice",
        "*",
        Read,
        Allow,
    );
    let set = AclSet::new([lit.clone(), wild.clone(), pre.clone(), grp.clone()]);
    assert_eq!(set.matching(&filter()).len(), 4);

    let named = |pt: PatternType| AclFilter {
        resource_type: Ok(ResourceType::Topic),
        resource_name: Some("foo".into()),
        pattern_type: Ok(pt),
        ..filter()
    };
    // ANY: exact names of any pattern type; LITERAL: exact literal; MATCH: everything
    // that would apply to topic foo.
    assert_eq!(set.matching(&named(PatternType::Any)), vec![lit.clone()]);
    assert_eq!(set.matching(&named(Literal)), vec![lit.clone()]);
    assert!(set.matching(&named(Prefixed)).is_empty());
    let mut m = set.matching(&named(PatternType::Match));
    m.sort();
    let mut want = vec![lit.clone(), wild.clone(), pre.clone()];
    want.sort();
    assert_eq!(m, want);

    let by_entry = AclFilter {
        principal: Some("User:bob".into()),
        operation: Ok(Write),
        permission: Ok(Deny),
        host: Some("*".into()),
        ..filter()
    };
    assert_eq!(set.matching(&by_entry), vec![pre]);
    let by_type = AclFilter {
        resource_type: Ok(ResourceType::Group),
        ..filter()
    };
    assert_eq!(set.matching(&by_type), vec![grp]);
}

#[test]
fn filters_with_unknown_parts_are_refused() {
    let bad = AclFilter {
        pattern_type: Err(9),
        ..filter()
    };
    assert_eq!(
        bad.validate(),
        Err(AclError::InvalidRequest("Unknown patternFilter.".into()))
    );
    let bad = AclFilter {
        operation: Err(0),
        ..filter()
    };
    assert_eq!(
        bad.validate(),
        Err(AclError::InvalidRequest("Unknown entryFilter.".into()))
    );
    assert!(filter().validate().is_ok());
}

fn creation() -> AclCreation {
    AclCreation {
        resource_type: Ok(ResourceType::Topic),
        resource_name: "t".into(),
        pattern_type: Ok(Literal),
        principal: "User:alice".into(),
        host: "*".into(),
        operation: Ok(Read),
        permission: Ok(Allow),
    }
}

#[test]
fn new_bindings_are_validated_as_kafka_does() {
    let msg = |c: AclCreation| match c.validate() {
        Err(AclError::InvalidRequest(m)) => m,
        Ok(b) => panic!("accepted {b}"),
    };
    assert!(creation().validate().is_ok());
    assert_eq!(
        msg(AclCreation {
            resource_type: Ok(ResourceType::Cluster),
            ..creation()
        }),
        "The only valid name for the CLUSTER resource is kafka-cluster"
    );
    assert!(AclCreation {
        resource_type: Ok(ResourceType::Cluster),
        resource_name: "kafka-cluster".into(),
        ..creation()
    }
    .validate()
    .is_ok());
    assert_eq!(
        msg(AclCreation {
            resource_name: String::new(),
            ..creation()
        }),
        "Invalid empty resource name"
    );
    assert_eq!(
        msg(AclCreation {
            resource_type: Ok(ResourceType::Any),
            ..creation()
        }),
        "Invalid resourceType ANY"
    );
    assert_eq!(
        msg(AclCreation {
            pattern_type: Ok(PatternType::Match),
            ..creation()
        }),
        "Invalid patternType MATCH"
    );
    assert_eq!(
        msg(AclCreation {
            operation: Err(0),
            ..creation()
        }),
        "Invalid operation UNKNOWN"
    );
    assert_eq!(
        msg(AclCreation {
            permission: Ok(Permission::Any),
            ..creation()
        }),
        "Invalid permissionType ANY"
    );
    assert!(msg(AclCreation {
        principal: "alice".into(),
        ..creation()
    })
    .starts_with("Could not parse principal"));
}

#[test]
fn records_round_trip() {
    let b = creation().validate().unwrap();
    assert_eq!(AclBinding::from_record(&b.to_record()), Some(b));
}

#[test]
fn super_users_syntax() {
    assert_eq!(
        parse_super_users("User:admin;User:ops").unwrap(),
        vec!["User:admin", "User:ops"]
    );
    assert_eq!(
        parse_super_users(" admin, ops ,admin").unwrap(),
        vec!["User:admin", "User:ops"]
    );
    assert!(parse_super_users("User:").is_err());
    assert!(parse_super_users("").unwrap().is_empty());
}

#[test]
fn names_parse_as_kafka_writes_them() {
    assert_eq!(
        ResourceType::parse("transactional-id"),
        Some(ResourceType::TransactionalId)
    );
    assert_eq!(Operation::parse("IdempotentWrite"), None);
    assert_eq!(Operation::parse("idempotent_write"), Some(IdempotentWrite));
    assert_eq!(Operation::from_code(12), Some(IdempotentWrite));
    assert_eq!(Permission::from_code(0), None);
}
