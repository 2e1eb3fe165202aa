//! Differential mode: the same raw requests sent to Rill and to a reference broker, the
//! decoded responses compared field by field after normalization (see compat/README.md,
//! "Differential mode").
//!
//!   cargo test --test differential                           harness tests, Rill vs Rill
//!   RILL_DIFF_BOOTSTRAP=host:port cargo test --test differential -- --nocapture
//!   cargo test --features testcontainers --test differential -- --nocapture
//!                                     (Kafka from the local Docker engine, if present)
//!
//! Without a reference broker `rill_matches_the_reference_broker` skips and prints why.

#[allow(dead_code)]
#[path = "../../protocol-tests/common.rs"]
mod common;
#[allow(dead_code)]
#[path = "../../protocol-tests/ops.rs"]
mod ops;

mod normalize;
mod report;
mod scenarios;
mod session;
mod targets;
mod tree;

use std::time::{SystemTime, UNIX_EPOCH};

use common::Rill;
use report::{differential, Report, Target};
use targets::Reference;

/// Differences accepted for now (reported as `known`, not failures).
const KNOWN: &str = include_str!("known-differences.txt");

fn nonce() -> String {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    format!("{:x}-{}", t, std::process::id())
}

fn target(name: &str, addr: &str) -> Target {
    Target {
        name: name.into(),
        addr: addr.into(),
    }
}

/// Prints the report and keeps it in the target directory.
fn publish(report: &Report, file: &str) {
    let text = report.to_string();
    eprintln!("{text}");
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(file);
    if std::fs::write(&path, &text).is_ok() {
        eprintln!("(written to {})", path.display());
    }
}

#[test]
fn rill_matches_the_reference_broker() {
    let reference = targets::reference();
    let Some(addr) = reference.bootstrap() else {
        if let Reference::Skip(reason) = &reference {
            eprintln!("SKIPPED differential mode: {reason}");
        }
        return;
    };
    let name = match &reference {
        Reference::Broker(_) => "reference",
        _ => "kafka",
    };
    let rill = Rill::start(&[]);
    let report = differential(
        &target(name, addr),
        &target("rill", &rill.addr),
        &scenarios::all(),
        &nonce(),
        KNOWN,
    );
    publish(&report, "differential-report.txt");
    assert!(
        report.differences().is_empty(),
        "{} differences (see the report above; accepted ones go to \
         compat/differential/known-differences.txt)",
        report.differences().len()
    );
}

#[test]
fn rill_against_rill_every_scenario_has_no_differences() {
    let (a, b) = (Rill::start(&[]), Rill::start(&[]));
    let scenarios = scenarios::all();
    let report = differential(
        &target("rill-a", &a.addr),
        &target("rill-b", &b.addr),
        &scenarios,
        &nonce(),
        "",
    );
    publish(&report, "differential-rill-vs-rill.txt");
    assert!(report.findings.is_empty(), "{report}");
    // Every scenario ran its steps, with real answers, and ids were normalized.
    assert!(report.steps >= 70, "{} steps", report.steps);
    assert!(report.leaves >= 1500, "{} fields", report.leaves);
    assert!(report.masked >= 100, "{} normalized", report.masked);
}

#[test]
fn a_configuration_difference_between_two_rills_is_reported_by_its_path() {
    let a = Rill::start(&[]);
    let b = Rill::start(&["--default-partitions", "3"]);
    let scenario: Vec<_> = scenarios::all()
        .into_iter()
        .filter(|s| s.name == "create_topics")
        .collect();
    let report = differential(
        &target("a", &a.addr),
        &target("b", &b.addr),
        &scenario,
        &nonce(),
        "",
    );
    let found: Vec<String> = report
        .findings
        .iter()
        .map(|f| {
            format!(
                "{} / {} / {}: {:?} {:?} {:?}",
                f.scenario, f.step, f.path, f.a, f.b, f.kind
            )
        })
        .collect();
    let prefix = "create_topics / CreateTopics v5 (defaults) / topics[name=\"diff-create-defaults-";
    assert_eq!(found.len(), 1, "{report}");
    assert!(found[0].starts_with(prefix), "{found:?} vs {prefix}");
    assert!(
        found[0].ends_with("\"].num_partitions: Some(\"1\") Some(\"3\") Difference"),
        "{found:?}"
    );
}

#[test]
fn normalized_answers_of_two_brokers_differ_only_in_the_injected_field() {
    // Two answers as two brokers could give them, decoded from the wire.
    use kafka_protocol::messages::metadata_response::{
        MetadataResponsePartition, MetadataResponseTopic,
    };
    use kafka_protocol::messages::{BrokerId, MetadataResponse, TopicName};
    let partition = |leader: i32, epoch: i32| {
        MetadataResponsePartition::default()
            .with_partition_index(0)
            .with_leader_id(BrokerId(leader))
            .with_leader_epoch(epoch)
            .with_replica_nodes(vec![BrokerId(leader)])
            .with_isr_nodes(vec![BrokerId(leader)])
    };
    let topic = |epoch: i32| {
        MetadataResponseTopic::default()
            .with_name(Some(TopicName("t".into())))
            .with_topic_id(uuid::Uuid::new_v4())
            .with_partitions(vec![partition(1, 0), partition(1, epoch)])
    };
    let a = MetadataResponse::default()
        .with_throttle_time_ms(5)
        .with_topics(vec![topic(0)]);
    let b = MetadataResponse::default().with_topics(vec![topic(1)]);
    let ident = normalize::Identity {
        node_ids: vec!["1".into()],
        ..Default::default()
    };
    let mut ta = tree::tree_of(&a);
    let mut tb = tree::tree_of(&b);
    normalize::Normalizer::new(ident.clone()).apply(&mut ta);
    normalize::Normalizer::new(ident).apply(&mut tb);
    let exchange = |tree| session::Exchange {
        label: "Metadata v12".into(),
        api: "Metadata".into(),
        tree,
    };
    let (findings, steps) = report::diff_exchanges("s", &[exchange(ta)], &[exchange(tb)], "");
    assert_eq!(steps, 1);
    let lines: Vec<String> = findings
        .iter()
        .map(|f| format!("{} {:?} {:?} {:?}", f.path, f.a, f.b, f.kind))
        .collect();
    // Partitions are both index 0 here, so they align by position; the injected epoch is
    // the only difference (throttle time and topic ids normalized, broker ids mapped).
    assert_eq!(
        lines,
        ["topics[name=\"t\"].partitions[1].leader_epoch Some(\"0\") Some(\"1\") Difference"]
    );
}

#[test]
fn an_injected_difference_is_reported_at_exactly_its_path() {
    use kafka_protocol::messages::produce_response::{
        PartitionProduceResponse, TopicProduceResponse,
    };
    use kafka_protocol::messages::{ProduceResponse, TopicName};
    let resp = |offset: i64, error: i16| {
        ProduceResponse::default().with_responses(vec![TopicProduceResponse::default()
            .with_name(TopicName("t".into()))
            .with_partition_responses(vec![
                PartitionProduceResponse::default()
                    .with_index(0)
                    .with_base_offset(0),
                PartitionProduceResponse::default()
                    .with_index(1)
                    .with_base_offset(offset)
                    .with_error_code(error)
                    .with_error_message(Some(format!("e{error}").into())),
            ])])
    };
    let same = tree::compare(&tree::tree_of(&resp(5, 0)), &tree::tree_of(&resp(5, 0)));
    assert!(same.is_empty(), "{same:?}");
    let diffs = tree::compare(&tree::tree_of(&resp(5, 0)), &tree::tree_of(&resp(7, 0)));
    assert_eq!(
        diffs,
        [tree::FieldDiff {
            path: "responses[name=\"t\"].partition_responses[index=1].base_offset".into(),
            a: Some("5".into()),
            b: Some("7".into()),
        }]
    );
    // An error code and its message: the code is a difference, the text informative.
    let diffs = tree::compare(&tree::tree_of(&resp(5, 0)), &tree::tree_of(&resp(5, 3)));
    let paths: Vec<(&str, Option<&str>)> = diffs
        .iter()
        .map(|d| (d.path.as_str(), report::informative("Produce", &d.path)))
        .collect();
    assert_eq!(
        paths,
        [
            (
                "responses[name=\"t\"].partition_responses[index=1].error_code",
                None
            ),
            (
                "responses[name=\"t\"].partition_responses[index=1].error_message",
                Some("error message text")
            ),
        ]
    );
}

#[test]
fn keyed_lists_report_missing_and_extra_items_without_shifting() {
    use kafka_protocol::messages::api_versions_response::ApiVersion;
    use kafka_protocol::messages::ApiVersionsResponse;
    let keys = |ks: &[(i16, i16)]| {
        ApiVersionsResponse::default().with_api_keys(
            ks.iter()
                .map(|&(k, max)| ApiVersion::default().with_api_key(k).with_max_version(max))
                .collect(),
        )
    };
    let a = tree::tree_of(&keys(&[(0, 11), (1, 17), (3, 12)]));
    let b = tree::tree_of(&keys(&[(0, 11), (3, 13), (18, 4)]));
    let diffs = tree::compare(&a, &b);
    let got: Vec<(String, Option<String>, Option<String>)> =
        diffs.into_iter().map(|d| (d.path, d.a, d.b)).collect();
    assert_eq!(
        got,
        [
            (
                "api_keys[api_key=1]".into(),
                Some("ApiVersion { api_key: 1, min_version: 0, max_version: 17, unknown_tagged_fields: {} }".into()),
                None
            ),
            ("api_keys[api_key=3].max_version".into(), Some("12".into()), Some("13".into())),
            (
                "api_keys[api_key=18]".into(),
                None,
                Some("ApiVersion { api_key: 18, min_version: 0, max_version: 4, unknown_tagged_fields: {} }".into())
            ),
        ]
    );
    assert_eq!(
        report::informative("ApiVersions", "api_keys[api_key=3].max_version"),
        Some("supported versions and features")
    );
    assert_eq!(report::informative("ApiVersions", "error_code"), None);
}

#[test]
fn normalization_hides_identity_ids_and_clock_only() {
    use kafka_protocol::messages::find_coordinator_response::Coordinator;
    use kafka_protocol::messages::{BrokerId, FindCoordinatorResponse};
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    let coordinator = |node: i32, host: &'static str, port: i32, err: i16| {
        Coordinator::default()
            .with_key("g".into())
            .with_node_id(BrokerId(node))
            .with_host(host.into())
            .with_port(port)
            .with_error_code(err)
    };
    let resp = FindCoordinatorResponse::default()
        .with_throttle_time_ms(120)
        .with_coordinators(vec![
            coordinator(7, "127.0.0.1", 40001, 0),
            // Not this broker's id/host/port: kept.
            coordinator(-1, "", -1, 15),
            coordinator(8, "10.0.0.1", 40002, 0),
        ]);
    let ident = normalize::Identity {
        node_ids: vec!["7".into()],
        hosts: vec!["\"127.0.0.1\"".into()],
        ports: vec!["40001".into()],
    };
    let mut t = tree::tree_of(&resp);
    let mut n = normalize::Normalizer::new(ident);
    n.apply(&mut t);
    assert_eq!(n.masked, 4, "{t}");
    assert_eq!(
        t.to_string(),
        "FindCoordinatorResponse { throttle_time_ms: <throttle>, error_code: 0, \
         error_message: Some(\"\"), node_id: 0, host: \"\", port: 0, coordinators: [\
         Coordinator { key: \"g\", node_id: <broker-id>, host: <host>, port: <port>, \
         error_code: 0, error_message: Some(\"\"), unknown_tagged_fields: {} }, \
         Coordinator { key: \"g\", node_id: -1, host: \"\", port: -1, \
         error_code: 15, error_message: Some(\"\"), unknown_tagged_fields: {} }, \
         Coordinator { key: \"g\", node_id: 8, host: \"10.0.0.1\", port: 40002, \
         error_code: 0, error_message: Some(\"\"), unknown_tagged_fields: {} }], \
         unknown_tagged_fields: {} }"
    );

    // Generated ids are numbered, so "the same id twice" stays comparable; the nil UUID,
    // an empty member id and fixed record timestamps are kept; the clock is hidden.
    use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
    use kafka_protocol::messages::JoinGroupResponse;
    let join = |leader: &'static str, other: &'static str| {
        JoinGroupResponse::default()
            .with_member_id(leader.into())
            .with_leader(leader.into())
            .with_members(vec![
                JoinGroupResponseMember::default().with_member_id(leader.into()),
                JoinGroupResponseMember::default().with_member_id(other.into()),
                JoinGroupResponseMember::default().with_member_id("".into()),
            ])
    };
    let norm = |v: &JoinGroupResponse| {
        let mut t = tree::tree_of(v);
        normalize::Normalizer::new(normalize::Identity::default()).apply(&mut t);
        t
    };
    assert!(tree::compare(&norm(&join("c-1", "c-2")), &norm(&join("x-9", "x-8"))).is_empty());
    let diffs = tree::compare(&norm(&join("c-1", "c-2")), &norm(&join("x-9", "x-9")));
    assert_eq!(diffs.len(), 1, "{diffs:?}");
    assert_eq!(diffs[0].path, "members[1].member_id");
    assert_eq!(
        (diffs[0].a.as_deref(), diffs[0].b.as_deref()),
        (Some("<member-id-2>"), Some("<member-id-1>"))
    );

    use kafka_protocol::messages::list_offsets_response::{
        ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
    };
    use kafka_protocol::messages::ListOffsetsResponse;
    let lo = |ts: i64| {
        ListOffsetsResponse::default().with_topics(vec![ListOffsetsTopicResponse::default()
            .with_name(kafka_protocol::messages::TopicName("t".into()))
            .with_partitions(vec![ListOffsetsPartitionResponse::default()
                .with_timestamp(ts)
                .with_offset(3)])])
    };
    let norm_lo = |v: &ListOffsetsResponse| {
        let mut t = tree::tree_of(v);
        normalize::Normalizer::new(normalize::Identity::default()).apply(&mut t);
        t
    };
    assert!(tree::compare(&norm_lo(&lo(now)), &norm_lo(&lo(now - 5_000))).is_empty());
    let d = tree::compare(&norm_lo(&lo(1_002)), &norm_lo(&lo(1_003)));
    assert_eq!(d.len(), 1);
    assert!(d[0].path.ends_with(".timestamp"), "{d:?}");
    let d = tree::compare(&norm_lo(&lo(-1)), &norm_lo(&lo(now)));
    assert_eq!(
        (d[0].a.as_deref(), d[0].b.as_deref()),
        (Some("-1"), Some("<now>"))
    );
}

#[test]
fn the_debug_parser_reads_nested_values_maps_and_tricky_strings() {
    #[derive(Debug)]
    #[allow(dead_code)]
    struct Inner(i32, &'static str);
    #[derive(Debug)]
    #[allow(dead_code)]
    struct Outer {
        a: Option<Inner>,
        b: Vec<u8>,
        c: std::collections::BTreeMap<String, Option<i32>>,
        d: &'static str,
        e: (),
        f: Option<String>,
    }
    let mut c = std::collections::BTreeMap::new();
    c.insert("x: {".to_string(), Some(1));
    c.insert("y".to_string(), None);
    let v = Outer {
        a: Some(Inner(3, "[(")),
        b: vec![],
        c,
        d: "line\nbreak \"q\" {",
        e: (),
        f: None,
    };
    let t = tree::tree_of(&v);
    assert_eq!(
        t.to_string(),
        r#"Outer { a: Some(Inner(3, "[(")), b: [], c: { "x: {": Some(1), "y": None }, d: "line\nbreak \"q\" {", e: (), f: None }"#
    );
    assert!(matches!(t, tree::Node::Struct(ref n, ref f) if n == "Outer" && f.len() == 6));
}

#[test]
fn scenarios_have_distinct_names() {
    let names: Vec<_> = scenarios::all().iter().map(|s| s.name).collect();
    let mut dedup = names.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(names.len(), dedup.len());
    assert!(report::known(
        "# comment\nmetadata / Metadata v12 / topics[*].topic_authorized_operations\n",
        "metadata",
        "Metadata v12",
        "topics[name=\"x\"].topic_authorized_operations"
    ));
    assert!(!report::known(
        "metadata / * / x",
        "group",
        "Metadata v12",
        "x"
    ));
}

#[cfg(feature = "testcontainers")]
mod docker {
    use crate::common::Rill;
    use crate::targets::{self, kafka, Reference};
    use crate::{differential, nonce, scenarios, target, KNOWN};

    /// The container path end to end, with an image that is here: `rill:dev`
    /// (scripts/image.sh) in the Kafka image's place, configured by the same `KAFKA_*`
    /// variables (rill reads them), waited for by its ready line. Started on the host
    /// network at the advertised 127.0.0.1 port, every scenario compared with a `rill
    /// serve` process: no differences; removed on drop.
    #[test]
    fn a_present_image_is_started_through_testcontainers_and_compared() {
        let container = kafka::start(None, "rill:dev", "rill is ready on ")
            .unwrap_or_else(|why| panic!("needs Docker and rill:dev (scripts/image.sh): {why}"));
        let bootstrap = container.bootstrap.clone();
        assert!(bootstrap.starts_with("127.0.0.1:"), "{bootstrap}");
        let rill = Rill::start(&[]);
        let report = differential(
            &target("container", &bootstrap),
            &target("rill", &rill.addr),
            &scenarios::all(),
            &nonce(),
            KNOWN,
        );
        eprintln!("{report}");
        assert!(report.steps >= 70, "{report}");
        assert!(report.findings.is_empty(), "{report}");
        drop(container);
        assert!(
            std::net::TcpStream::connect(&bootstrap).is_err(),
            "the container still serves {bootstrap} after drop"
        );
    }

    /// DOCKER_HOST pointing at a socket that does not exist: the Kafka side skips with
    /// "no Docker engine".
    #[test]
    fn the_kafka_target_skips_without_a_docker_engine() {
        let dir = tempfile::tempdir().expect("tempdir");
        let host = format!("unix://{}/docker.sock", dir.path().display());
        match targets::from_docker(Some(&host), targets::DEFAULT_KAFKA_IMAGE) {
            Reference::Skip(reason) => {
                eprintln!("skip reason: {reason}");
                assert!(
                    reason.starts_with(&format!("no Docker engine at {host}")),
                    "{reason}"
                );
            }
            _ => panic!("a Kafka target without a Docker engine"),
        }
    }

    /// With the engine running (scripts/test.sh's container step), an image it does not
    /// have: the Kafka side skips with "not present", and nothing is pulled.
    #[test]
    fn the_kafka_target_skips_when_the_image_is_not_in_the_engine() {
        let image = "rill-differential-absent/kafka:0.0.0-never-built";
        match targets::from_docker(None, image) {
            Reference::Skip(reason) => {
                eprintln!("skip reason: {reason}");
                assert!(
                    reason.starts_with(&format!("image {image} is not present")),
                    "needs a running Docker engine (scripts/test.sh starts one): {reason}"
                );
            }
            _ => panic!("{image} exists?"),
        }
    }
}
