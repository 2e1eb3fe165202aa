use super::*;

fn map(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn entry<'a>(d: &'a [Described], name: &str) -> &'a Described {
    d.iter().find(|e| e.name == name).expect(name)
}

#[test]
fn tables_are_sorted_and_unique() {
    for defs in [defs::TOPIC, defs::BROKER, defs::GROUP] {
        for w in defs.windows(2) {
            assert!(w[0].name < w[1].name, "{} before {}", w[0].name, w[1].name);
        }
    }
}

#[test]
fn defaults_pass_their_own_rules() {
    for defs in [defs::TOPIC, defs::BROKER, defs::GROUP] {
        for d in defs {
            if let (Some(v), true) = (d.default, d.dynamic) {
                if d.ty == ConfigType::List && v.is_empty() {
                    continue;
                }
                defs::check(d, v).unwrap_or_else(|e| panic!("{}: {e}", d.name));
            }
        }
    }
}

#[test]
fn every_topic_synonym_is_a_broker_config() {
    for d in defs::TOPIC {
        for s in defs::topic_synonyms(d.name) {
            let b = defs::find(defs::BROKER, s.name).unwrap_or_else(|| panic!("{}", s.name));
            // Only the first synonym of each is dynamic in Kafka (`log.retention.ms`, not
            // `log.retention.hours`), but for flush.ms's scheduler interval.
            let primary = defs::topic_synonyms(d.name)[0].name == s.name;
            let read_only = !primary || s.name == "log.flush.scheduler.interval.ms";
            assert_eq!(b.dynamic, !read_only, "{}", s.name);
        }
    }
}

#[test]
fn fresh_topic_reports_kafka_defaults() {
    let layers = BrokerLayers::default();
    let d = layers.describe_topic(&BTreeMap::new());
    assert_eq!(d.len(), defs::TOPIC.len());
    let r = entry(&d, "retention.ms");
    assert_eq!(r.value.as_deref(), Some("604800000"));
    assert_eq!(r.source, Source::Default);
    assert_eq!(r.synonyms.len(), 1);
    assert_eq!(r.synonyms[0].name, "log.retention.hours");
    assert_eq!(r.synonyms[0].value.as_deref(), Some("168"));
    assert!(d
        .iter()
        .all(|e| e.source == Source::Default && !e.read_only));
    assert_eq!(entry(&d, "cleanup.policy").value.as_deref(), Some("delete"));
}

#[test]
fn layers_apply_in_kafkas_order() {
    let mut layers = BrokerLayers {
        cluster: map(&[("log.retention.hours", "1")]),
        ..Default::default()
    };
    let d = layers.describe_topic(&BTreeMap::new());
    let r = entry(&d, "retention.ms");
    assert_eq!(r.value.as_deref(), Some("3600000"));
    assert_eq!(r.source, Source::DynamicDefaultBroker);

    layers.per_broker = map(&[("log.retention.ms", "5000")]);
    let d = layers.describe_topic(&map(&[("segment.bytes", "4096")]));
    let r = entry(&d, "retention.ms");
    assert_eq!(r.value.as_deref(), Some("5000"));
    assert_eq!(r.source, Source::DynamicBroker);
    let names: Vec<_> = r.synonyms.iter().map(|s| (s.name, s.source)).collect();
    assert_eq!(
        names,
        vec![
            ("log.retention.ms", Source::DynamicBroker),
            ("log.retention.hours", Source::DynamicDefaultBroker),
            ("log.retention.hours", Source::Default),
        ]
    );
    let s = entry(&d, "segment.bytes");
    assert_eq!(
        (s.value.as_deref(), s.source),
        (Some("4096"), Source::Topic)
    );
    assert_eq!(s.synonyms[0].source, Source::Topic);

    let eff = layers.topic_effective(&BTreeMap::new());
    assert_eq!(eff["retention.ms"], "5000");
    assert_eq!(eff["max.message.bytes"], "1048588");
}

#[test]
fn hours_of_minus_one_mean_forever() {
    let layers = BrokerLayers {
        cluster: map(&[("log.retention.hours", "-1")]),
        ..Default::default()
    };
    assert_eq!(
        layers.topic_effective(&BTreeMap::new())["retention.ms"],
        "-1"
    );
}

#[test]
fn broker_description_marks_static_and_read_only() {
    let layers = BrokerLayers {
        statics: map(&[("node.id", "1"), ("num.partitions", "3")]),
        cluster: map(&[("log.segment.bytes", "2048")]),
        ..Default::default()
    };
    let d = layers.describe_broker(false);
    assert_eq!(d.len(), defs::BROKER.len());
    assert_eq!(d.len(), 289, "every broker config of Kafka 4.0");
    let n = entry(&d, "num.partitions");
    assert_eq!(
        (n.value.as_deref(), n.source, n.read_only),
        (Some("3"), Source::StaticBroker, true)
    );
    let s = entry(&d, "log.segment.bytes");
    assert_eq!(
        (s.value.as_deref(), s.source, s.read_only),
        (Some("2048"), Source::DynamicDefaultBroker, false)
    );
    assert_eq!(entry(&d, "log.retention.ms").value, None);
    let defaults = layers.describe_broker(true);
    assert_eq!(defaults.len(), 1);
    assert_eq!(defaults[0].name, "log.segment.bytes");
}

#[test]
fn validation_names_the_key_and_rule() {
    let layers = BrokerLayers::default();
    let err = |kind, kv: &[(&str, &str)]| match layers.validate(kind, &map(kv)) {
        Err(ConfigError::Invalid(m)) => m,
        other => panic!("{other:?}"),
    };
    assert!(err(Kind::Topic, &[("retention.ms", "soon")]).contains("retention.ms"));
    assert!(err(Kind::Topic, &[("no.such", "1")]).contains("Unknown topic config name: no.such"));
    assert!(err(Kind::Topic, &[("cleanup.policy", "shred")]).contains("shred"));
    assert!(err(Kind::Topic, &[("max.message.bytes", "99999999999")]).contains("INT"));
    assert!(err(
        Kind::Topic,
        &[
            ("min.compaction.lag.ms", "10"),
            ("max.compaction.lag.ms", "5")
        ]
    )
    .contains("conflict"));
    assert!(err(Kind::Broker, &[("node.id", "2")]).contains("dynamically"));
    assert!(err(Kind::Group, &[("consumer.session.timeout.ms", "1000")]).contains("no less than"));
    assert!(layers
        .validate(
            Kind::Topic,
            &map(&[
                ("cleanup.policy", "compact,delete"),
                ("min.cleanable.dirty.ratio", "0.1")
            ])
        )
        .is_ok());
    assert!(layers
        .validate(Kind::Broker, &map(&[("log.retention.ms", "1")]))
        .is_ok());
    // Only the primary synonym is dynamic in Kafka.
    assert!(err(Kind::Broker, &[("log.retention.hours", "1")]).contains("dynamically"));
    assert!(layers
        .validate(
            Kind::Group,
            &map(&[("consumer.session.timeout.ms", "50000")])
        )
        .is_ok());
}

#[test]
fn incremental_ops_follow_kafka() {
    let cur = map(&[("retention.ms", "1000")]);
    let default_of = |d: &ConfigDef| d.default.map(String::from);
    let ops = vec![
        ("retention.ms".to_string(), Op::Delete),
        ("cleanup.policy".to_string(), Op::Append("compact".into())),
        ("segment.ms".to_string(), Op::Set("100".into())),
    ];
    let out = apply_ops(Kind::Topic, &cur, &ops, default_of).unwrap();
    assert_eq!(
        out,
        map(&[("cleanup.policy", "delete,compact"), ("segment.ms", "100")])
    );
    let out = apply_ops(
        Kind::Topic,
        &out,
        &[("cleanup.policy".into(), Op::Subtract("delete".into()))],
        default_of,
    )
    .unwrap();
    assert_eq!(out["cleanup.policy"], "compact");
    assert!(matches!(
        apply_ops(Kind::Topic, &cur, &[("retention.ms".into(), Op::Append("1".into()))], default_of),
        Err(ConfigError::Invalid(m)) if m.contains("append")
    ));
    assert!(matches!(
        apply_ops(
            Kind::Topic,
            &cur,
            &[("a".into(), Op::Delete), ("a".into(), Op::Delete)],
            default_of
        ),
        Err(ConfigError::InvalidRequest(_))
    ));
}

#[test]
fn group_configs_default_to_the_brokers() {
    let layers = BrokerLayers {
        statics: map(&[("group.consumer.session.timeout.ms", "10000")]),
        ..Default::default()
    };
    let d = layers.describe_group(&map(&[("consumer.heartbeat.interval.ms", "6000")]));
    let s = entry(&d, "consumer.session.timeout.ms");
    assert_eq!(
        (s.value.as_deref(), s.source),
        (Some("10000"), Source::Default)
    );
    let h = entry(&d, "consumer.heartbeat.interval.ms");
    assert_eq!(
        (h.value.as_deref(), h.source),
        (Some("6000"), Source::Group)
    );
    // The configured session timeout widens the allowed range.
    assert!(layers
        .validate(
            Kind::Group,
            &map(&[("consumer.session.timeout.ms", "10000")])
        )
        .is_ok());
}

#[test]
fn passwords_are_sensitive_and_dynamic_extras_are_accepted() {
    let layers = BrokerLayers {
        per_broker: map(&[("ssl.keystore.password", "secret")]),
        ..Default::default()
    };
    let d = layers.describe_broker(false);
    let p = entry(&d, "ssl.keystore.password");
    assert!(p.sensitive);
    assert_eq!(p.source, Source::DynamicBroker);
    assert!(layers
        .validate(
            Kind::Broker,
            &map(&[("sasl.kerberos.min.time.before.relogin", "58000")])
        )
        .is_ok());
    assert_eq!(layers.broker_number("log.cleaner.backoff.ms"), Some(15000));
}
