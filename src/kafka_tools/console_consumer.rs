//! kafka-console-consumer.sh: prints a topic's records with Kafka's default formatter
//! (`print.key`, `print.timestamp`, `print.partition`, `print.offset`, `print.headers`,
//! separators, `null.literal`) and "Processed a total of N messages" on stderr.
//!
//! Without `--group` it reads every partition directly (Kafka's tool joins a throwaway
//! group for that; the records printed are the same); with `--group` it is a member of
//! that group (classic protocol), starting at its committed offsets and committing.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use kafka_protocol::records::{Record, TimestampType};

use super::args::{flag, unsupported, value, Opt, Parsed, Takes};
use super::{props, Connect, ToolError};
use crate::admin::consume::Reader;
use crate::admin::member::{Beat, Member, Tp};
use crate::admin::{interrupted_flag, offsets_at};

const SPECS: &[Opt] = &[
    value("bootstrap-server"),
    value("topic"),
    value("partition"),
    value("offset"),
    flag("from-beginning"),
    value("max-messages"),
    value("timeout-ms"),
    value("group"),
    value("property"),
    value("formatter-property"),
    value("formatter-config"),
    value("formatter"),
    value("consumer-property"),
    value("command-property"),
    value("consumer.config"),
    value("command-config"),
    value("isolation-level"),
    flag("skip-message-on-error"),
    value("key-deserializer"),
    value("value-deserializer"),
    flag("help"),
    flag("version"),
    unsupported(
        "include",
        Takes::Value,
        "reading several topics by pattern is not supported",
    ),
    unsupported(
        "whitelist",
        Takes::Value,
        "reading several topics by pattern is not supported",
    ),
    unsupported(
        "enable-systest-events",
        Takes::Nothing,
        "Kafka's system-test events are not written",
    ),
    unsupported("zookeeper", Takes::Value, "use --bootstrap-server"),
];

/// Kafka's DefaultMessageFormatter settings.
#[derive(Debug, Clone)]
pub struct Formatter {
    pub print_timestamp: bool,
    pub print_key: bool,
    pub print_value: bool,
    pub print_partition: bool,
    pub print_offset: bool,
    pub print_headers: bool,
    pub key_separator: Vec<u8>,
    pub line_separator: Vec<u8>,
    pub headers_separator: Vec<u8>,
    pub null_literal: Vec<u8>,
}

impl Formatter {
    pub fn from_props(p: &BTreeMap<String, String>) -> Formatter {
        let yes = |k: &str, d: bool| {
            p.get(k)
                .map_or(d, |v| v.trim().eq_ignore_ascii_case("true"))
        };
        let bytes = |k: &str, d: &str| p.get(k).map_or(d, String::as_str).as_bytes().to_vec();
        Formatter {
            print_timestamp: yes("print.timestamp", false),
            print_key: yes("print.key", false),
            print_value: yes("print.value", true),
            print_partition: yes("print.partition", false),
            print_offset: yes("print.offset", false),
            print_headers: yes("print.headers", false),
            key_separator: bytes("key.separator", "\t"),
            line_separator: bytes("line.separator", "\n"),
            headers_separator: bytes("headers.separator", ","),
            null_literal: bytes("null.literal", "null"),
        }
    }

    /// One record as Kafka's default formatter writes it: the chosen fields, each
    /// followed by the key separator when more follow; the value ends with the line
    /// separator.
    pub fn format(&self, partition: i32, r: &Record) -> Vec<u8> {
        let mut fields: Vec<Vec<u8>> = Vec::new();
        if self.print_timestamp {
            fields.push(
                match r.timestamp_type {
                    TimestampType::Creation => format!("CreateTime:{}", r.timestamp),
                    TimestampType::LogAppend => format!("LogAppendTime:{}", r.timestamp),
                }
                .into_bytes(),
            );
        }
        if self.print_partition {
            fields.push(format!("Partition:{partition}").into_bytes());
        }
        if self.print_offset {
            fields.push(format!("Offset:{}", r.offset).into_bytes());
        }
        if self.print_headers {
            if r.headers.is_empty() {
                fields.push(b"NO_HEADERS".to_vec());
            } else {
                let mut h = Vec::new();
                for (i, (k, v)) in r.headers.iter().enumerate() {
                    if i > 0 {
                        h.extend_from_slice(&self.headers_separator);
                    }
                    h.extend_from_slice(k.as_bytes());
                    h.push(b':');
                    h.extend_from_slice(v.as_deref().unwrap_or(&self.null_literal));
                }
                fields.push(h);
            }
        }
        if self.print_key {
            fields.push(r.key.as_deref().unwrap_or(&self.null_literal).to_vec());
        }
        let mut out = Vec::new();
        let n = fields.len();
        for (i, f) in fields.into_iter().enumerate() {
            out.extend_from_slice(&f);
            if i + 1 < n || self.print_value {
                out.extend_from_slice(&self.key_separator);
            } else {
                out.extend_from_slice(&self.line_separator);
            }
        }
        if self.print_value {
            out.extend_from_slice(r.value.as_deref().unwrap_or(&self.null_literal));
            out.extend_from_slice(&self.line_separator);
        }
        out
    }
}

/// Consumer settings rill acts on, and those it accepts and ignores.
const HONOURED: &[&str] = &[
    "bootstrap.servers",
    "group.id",
    "auto.offset.reset",
    "isolation.level",
    "request.timeout.ms",
    "default.api.timeout.ms",
    "security.protocol",
];
const HARMLESS: &[&str] = &[
    "client.id",
    "enable.auto.commit",
    "auto.commit.interval.ms",
    "max.poll.records",
    "max.poll.interval.ms",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "fetch.min.bytes",
    "fetch.max.bytes",
    "fetch.max.wait.ms",
    "max.partition.fetch.bytes",
    "key.deserializer",
    "value.deserializer",
    "partition.assignment.strategy",
    "metadata.max.age.ms",
    "retry.backoff.ms",
    "receive.buffer.bytes",
    "send.buffer.bytes",
    "check.crcs",
    "client.rack",
    "allow.auto.create.topics",
    "exclude.internal.topics",
];

fn check_deserializer(p: &Parsed, flag: &str) -> Result<(), ToolError> {
    match p.value(flag) {
        Some(d) if !(d.ends_with("StringDeserializer") || d.ends_with("ByteArrayDeserializer")) => {
            Err(ToolError::Usage(format!(
                "--{flag} {d} is not supported (records are printed as their bytes, as StringDeserializer would)"
            )))
        }
        _ => Ok(()),
    }
}

pub fn run(argv: &[String]) -> Result<(), ToolError> {
    let Some(p) = super::parse_or_help(
        "kafka-console-consumer.sh",
        "print a topic's records on standard output",
        SPECS,
        argv,
    )?
    else {
        return Ok(());
    };
    let topic = p
        .value("topic")
        .ok_or_else(|| ToolError::Usage("Exactly one of --include/--topic is required.".into()))?
        .to_string();
    if let Some(f) = p.value("formatter") {
        if !f.ends_with("DefaultMessageFormatter") {
            return Err(ToolError::Usage(format!(
                "--formatter {f} is not supported (only Kafka's default formatter is built in)"
            )));
        }
    }
    check_deserializer(&p, "key-deserializer")?;
    check_deserializer(&p, "value-deserializer")?;
    let partition = p.number::<i32>("partition")?;
    if p.has("offset") && partition.is_none() {
        return Err(ToolError::Usage(
            "The partition is required when offset is specified.".into(),
        ));
    }
    if partition.is_some() && p.has("from-beginning") && p.has("offset") {
        return Err(ToolError::Usage(
            "Options from-beginning and offset cannot be specified together.".into(),
        ));
    }
    let start = match p.value("offset") {
        None => None,
        Some(o) => Some(match o.to_ascii_lowercase().as_str() {
            "earliest" => -2,
            "latest" => -1,
            n => n.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(|| {
                ToolError::Usage(format!(
                    "The provided offset value '{o}' is incorrect. Valid values are 'earliest', 'latest', or a non-negative long."
                ))
            })?,
        }),
    };

    let mut fmt_props = BTreeMap::new();
    if let Some(f) = p.value("formatter-config") {
        fmt_props.extend(props::load(f)?);
    }
    fmt_props.extend(p.key_values("property")?);
    fmt_props.extend(p.key_values("formatter-property")?);
    let formatter = Formatter::from_props(&fmt_props);

    let mut cons = BTreeMap::new();
    for file in ["consumer.config", "command-config"] {
        if let Some(f) = p.value(file) {
            cons.extend(props::load(f)?);
        }
    }
    cons.extend(p.key_values("consumer-property")?);
    cons.extend(p.key_values("command-property")?);
    for k in cons.keys() {
        if !HONOURED.contains(&k.as_str())
            && !HARMLESS.contains(&k.as_str())
            && !k.starts_with("ssl.")
            && !k.starts_with("sasl.")
        {
            eprintln!("WARN rill's kafka-console-consumer ignores the consumer setting '{k}'");
        }
    }
    let mut groups: Vec<&str> = p.value("group").into_iter().collect();
    if let Some(g) = cons.get("group.id") {
        groups.push(g);
    }
    groups.dedup();
    if groups.len() > 1 {
        return Err(ToolError::Usage(format!(
            "The group ids given in different places do not match: {}",
            groups
                .iter()
                .map(|g| format!("'{g}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let group = groups.first().map(|g| g.to_string());
    if group.is_some() && partition.is_some() {
        return Err(ToolError::Usage(
            "Options group and partition cannot be specified together.".into(),
        ));
    }
    let reset_earliest = match cons.get("auto.offset.reset").map(|v| v.trim()) {
        Some("earliest") => true,
        Some("latest") | None => {
            if p.has("from-beginning") && cons.contains_key("auto.offset.reset") {
                return Err(ToolError::Usage(
                    "--from-beginning conflicts with auto.offset.reset=latest".into(),
                ));
            }
            p.has("from-beginning")
        }
        Some(other) => {
            return Err(ToolError::Usage(format!(
                "auto.offset.reset={other} is not supported (earliest or latest)"
            )))
        }
    };
    let isolation = match p
        .value("isolation-level")
        .or(cons.get("isolation.level").map(String::as_str))
        .unwrap_or("read_uncommitted")
    {
        "read_uncommitted" => 0,
        "read_committed" => 1,
        other => {
            return Err(ToolError::Usage(format!(
                "isolation level '{other}' is not read_committed or read_uncommitted"
            )))
        }
    };
    let max = p.number::<i64>("max-messages")?.filter(|m| *m >= 0);
    let idle = p
        .number::<i64>("timeout-ms")?
        .filter(|t| *t >= 0)
        .map(|t| Duration::from_millis(t as u64));
    if p.value("bootstrap-server").is_none() {
        return Err(ToolError::Usage(
            "--bootstrap-server must be specified".into(),
        ));
    }
    let conn = Connect::new(p.value("bootstrap-server"), &cons, None)?;

    let mut count = 0i64;
    let result = consume(Consume {
        conn: &conn,
        topic: &topic,
        partition,
        start,
        group: group.as_deref(),
        reset_earliest,
        isolation,
        max,
        idle,
        formatter: &formatter,
        count: &mut count,
    });
    eprintln!("Processed a total of {count} messages");
    result
}

struct Consume<'a> {
    conn: &'a Connect,
    topic: &'a str,
    partition: Option<i32>,
    /// ListOffsets timestamp (-2 earliest, -1 latest) or an offset, for `--partition`.
    start: Option<i64>,
    group: Option<&'a str>,
    reset_earliest: bool,
    isolation: i8,
    max: Option<i64>,
    idle: Option<Duration>,
    formatter: &'a Formatter,
    count: &'a mut i64,
}

fn consume(c: Consume) -> Result<(), ToolError> {
    let stop = interrupted_flag();
    let mut cluster = c.conn.cluster()?;
    let info = cluster.topic(c.topic)?;
    let all: Vec<i32> = info.partitions.iter().map(|x| x.index).collect();
    let mut reader = Reader::new(info, c.reset_earliest);
    reader.isolation_level = c.isolation;
    let mut member = c.group.map(|g| Member::new(g, vec![c.topic.to_string()]));
    if member.is_none() {
        let parts = match c.partition {
            Some(x) if all.contains(&x) => vec![x],
            Some(x) => {
                return Err(ToolError::Failed(format!(
                    "topic {} has no partition {x}",
                    c.topic
                )))
            }
            None => all.clone(),
        };
        let at = match (c.partition, c.start) {
            (Some(_), Some(o)) if o >= 0 => None,
            (Some(_), Some(t)) => Some(t),
            _ if c.reset_earliest => Some(-2),
            _ => Some(-1),
        };
        reader.positions = match at {
            Some(t) => offsets_at(&mut cluster, &reader.topic, &parts, t)?,
            None => parts.iter().map(|x| (*x, c.start.unwrap_or(0))).collect(),
        };
    }
    let mut out = std::io::stdout().lock();
    let mut joined = false;
    let mut last_record = Instant::now();
    let mut last_commit = Instant::now();
    let tps = |positions: &BTreeMap<i32, i64>| -> BTreeMap<Tp, i64> {
        positions
            .iter()
            .map(|(x, o)| ((c.topic.to_string(), *x), *o))
            .collect()
    };
    let result = (|| -> Result<(), ToolError> {
        loop {
            if stop.load(Ordering::SeqCst) || c.max.is_some_and(|m| *c.count >= m) {
                return Ok(());
            }
            if c.idle.is_some_and(|t| last_record.elapsed() >= t) {
                return Ok(());
            }
            if let Some(m) = member.as_mut() {
                if !joined {
                    m.join(&mut cluster)?;
                    joined = true;
                    reader.start_at_committed(&mut cluster, m, c.reset_earliest)?;
                }
                if let Beat::Rejoin = m.heartbeat(&mut cluster)? {
                    m.commit(&mut cluster, &tps(&reader.positions))?;
                    joined = false;
                    continue;
                }
            }
            if reader.positions.is_empty() {
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
            for (x, r) in reader.poll(&mut cluster)? {
                if c.max.is_some_and(|m| *c.count >= m) {
                    // Stop right after --max-messages: the rest stay unconsumed.
                    if let Some(pos) = reader.positions.get_mut(&x) {
                        *pos = (*pos).min(r.offset);
                    }
                    continue;
                }
                if let Err(e) = out.write_all(&c.formatter.format(x, &r)) {
                    if e.kind() == std::io::ErrorKind::BrokenPipe {
                        eprintln!("Unable to write to standard out, closing consumer.");
                        return Ok(());
                    }
                    return Err(e.into());
                }
                *c.count += 1;
                last_record = Instant::now();
            }
            if let Err(e) = out.flush() {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    return Ok(());
                }
                return Err(e.into());
            }
            if let Some(m) = member.as_mut() {
                if last_commit.elapsed() >= Duration::from_secs(1) {
                    if !m.commit(&mut cluster, &tps(&reader.positions))? {
                        joined = false;
                    }
                    last_commit = Instant::now();
                }
            }
        }
    })();
    let mut finish = Ok(());
    if let Some(m) = member.as_mut() {
        if joined {
            finish = m
                .commit(&mut cluster, &tps(&reader.positions))
                .map(|_| ())
                .and_then(|()| m.leave(&mut cluster));
        }
    }
    result?;
    finish?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use kafka_protocol::indexmap::IndexMap;
    use kafka_protocol::protocol::StrBytes;

    fn record(
        key: Option<&'static [u8]>,
        headers: &[(&'static str, Option<&'static [u8]>)],
    ) -> Record {
        let mut h = IndexMap::new();
        for (k, v) in headers {
            h.insert(StrBytes::from_static_str(k), v.map(Bytes::from_static));
        }
        Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: 42,
            sequence: -1,
            timestamp: 1700000000000,
            key: key.map(Bytes::from_static),
            value: Some(Bytes::from_static(b"hello")),
            headers: h,
        }
    }

    fn fmt(kv: &[(&str, &str)]) -> Formatter {
        Formatter::from_props(
            &kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn default_prints_the_value() {
        assert_eq!(fmt(&[]).format(0, &record(None, &[])), b"hello\n");
    }

    #[test]
    fn every_field_in_kafkas_order() {
        let f = fmt(&[
            ("print.timestamp", "true"),
            ("print.partition", "true"),
            ("print.offset", "true"),
            ("print.headers", "true"),
            ("print.key", "true"),
        ]);
        let r = record(Some(b"k"), &[("a", Some(b"1")), ("b", None)]);
        assert_eq!(
            String::from_utf8(f.format(3, &r)).unwrap(),
            "CreateTime:1700000000000\tPartition:3\tOffset:42\ta:1,b:null\tk\thello\n"
        );
        let f = fmt(&[("print.key", "true"), ("key.separator", " => ")]);
        assert_eq!(
            String::from_utf8(f.format(0, &record(None, &[]))).unwrap(),
            "null => hello\n"
        );
        let f = fmt(&[("print.headers", "true")]);
        assert_eq!(
            String::from_utf8(f.format(0, &record(None, &[]))).unwrap(),
            "NO_HEADERS\thello\n"
        );
        // Without the value, the last field ends the line.
        let f = fmt(&[("print.key", "true"), ("print.value", "false")]);
        assert_eq!(
            String::from_utf8(f.format(0, &record(Some(b"k"), &[]))).unwrap(),
            "k\n"
        );
    }
}
