//! `rill consume TOPIC`: prints records as they arrive, from chosen offsets or as a
//! member of a consumer group (classic protocol, committing as it goes).

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{FetchRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Record;

use super::member::{Beat, Member, Tp};
use super::{interrupted_flag, offsets_at, AdminError, Connection};
use crate::client::records::decode_fetched_all;
use crate::client::{check, Cluster, TopicInfo};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The value only.
    Value,
    /// Key, a tab, the value.
    Kv,
    /// One JSON object per record: topic, partition, offset, timestamp, key, value,
    /// headers.
    Json,
}

/// Where to start reading a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    Earliest,
    Latest,
    At(i64),
}

fn parse_start(s: &str) -> Result<Start, String> {
    match s {
        "earliest" => Ok(Start::Earliest),
        "latest" => Ok(Start::Latest),
        n => n
            .parse::<i64>()
            .ok()
            .filter(|o| *o >= 0)
            .map(Start::At)
            .ok_or_else(|| format!("expected an offset, earliest or latest, not {n:?}")),
    }
}

#[derive(Args, Debug)]
pub struct ConsumeArgs {
    pub topic: String,
    /// Start at the earliest offset (default: the latest, only new records), or, with
    /// --group, where the group has no committed offset.
    #[arg(long)]
    pub from_beginning: bool,
    /// Start at this offset, `earliest` or `latest` (of every partition read).
    #[arg(long, value_parser = parse_start, conflicts_with_all = ["from_beginning", "group"])]
    pub offset: Option<Start>,
    /// Read only this partition.
    #[arg(long, short = 'p', conflicts_with = "group")]
    pub partition: Option<i32>,
    /// Exit after this many records.
    #[arg(long, short = 'n')]
    pub num: Option<u64>,
    /// Consume as a member of this consumer group: partitions are shared with the group's
    /// other members, reading starts at the committed offsets, and offsets are committed
    /// as records are printed.
    #[arg(long, short = 'g')]
    pub group: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Value)]
    pub format: Format,
    /// Exit when no record arrives for this long (ms). Default: wait forever.
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    #[command(flatten)]
    pub conn: Connection,
}

/// One record as printed.
pub fn format_record(format: Format, topic: &str, partition: i32, r: &Record) -> String {
    let text =
        |b: &Option<bytes::Bytes>| b.as_ref().map(|b| String::from_utf8_lossy(b).into_owned());
    match format {
        Format::Value => text(&r.value).unwrap_or_else(|| "null".into()),
        Format::Kv => format!(
            "{}\t{}",
            text(&r.key).unwrap_or_else(|| "null".into()),
            text(&r.value).unwrap_or_else(|| "null".into())
        ),
        Format::Json => {
            let headers: serde_json::Map<String, serde_json::Value> = r
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        text(v).map_or(serde_json::Value::Null, Into::into),
                    )
                })
                .collect();
            serde_json::json!({
                "topic": topic,
                "partition": partition,
                "offset": r.offset,
                "timestamp": r.timestamp,
                "key": text(&r.key),
                "value": text(&r.value),
                "headers": headers,
            })
            .to_string()
        }
    }
}

/// Reads some partitions of one topic from positions it keeps, without a group.
pub struct Reader {
    pub topic: TopicInfo,
    /// Next offset to read, per partition.
    pub positions: BTreeMap<i32, i64>,
    /// Where a partition whose position is out of range starts again.
    pub reset_to_earliest: bool,
    /// 0 read_uncommitted, 1 read_committed (only up to the last stable offset, and
    /// records of aborted transactions left out).
    pub isolation_level: i8,
}

/// Leaves out the records of aborted transactions (read_committed), given the aborted
/// transactions a Fetch answer listed for the partition, and the control records.
pub fn drop_aborted(records: Vec<Record>, aborted: &[(i64, i64)]) -> Vec<Record> {
    // (first offset, producer id), in offset order.
    let mut pending: Vec<(i64, i64)> = aborted.to_vec();
    pending.sort();
    let mut next = pending.into_iter().peekable();
    let mut open: std::collections::HashSet<i64> = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        while let Some(&(first, pid)) = next.peek() {
            if first > r.offset {
                break;
            }
            open.insert(pid);
            next.next();
        }
        if r.control {
            // The marker ends the producer's transaction, aborted or committed.
            open.remove(&r.producer_id);
            continue;
        }
        if r.transactional && open.contains(&r.producer_id) {
            continue;
        }
        out.push(r);
    }
    out
}

impl Reader {
    /// After a group member (re)joined: its assigned partitions, each from the group's
    /// committed offset, or where there is none from the earliest (`from_beginning`) or
    /// the latest offset, as a consumer's `auto.offset.reset` does.
    pub fn start_at_committed(
        &mut self,
        cluster: &mut Cluster,
        member: &Member,
        from_beginning: bool,
    ) -> Result<(), AdminError> {
        let committed = member.committed(cluster)?;
        self.positions.clear();
        let mut missing = Vec::new();
        for (t, p) in &member.assignment {
            match committed.get(&(t.clone(), *p)) {
                Some(o) if *o >= 0 => {
                    self.positions.insert(*p, *o);
                }
                _ => missing.push(*p),
            }
        }
        let at = if from_beginning { -2 } else { -1 };
        let fresh = offsets_at(cluster, &self.topic, &missing, at)?;
        self.positions.extend(fresh);
        Ok(())
    }

    pub fn new(topic: TopicInfo, reset_to_earliest: bool) -> Reader {
        Reader {
            topic,
            positions: BTreeMap::new(),
            reset_to_earliest,
            isolation_level: 0,
        }
    }

    /// One Fetch per partition leader; returns the records read (and advances).
    pub fn poll(&mut self, cluster: &mut Cluster) -> Result<Vec<(i32, Record)>, AdminError> {
        let mut by_leader: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
        for p in self.positions.keys() {
            let leader = self
                .topic
                .partitions
                .iter()
                .find(|i| i.index == *p)
                .map_or(-1, |i| i.leader);
            by_leader.entry(leader).or_default().push(*p);
        }
        let mut out = Vec::new();
        let mut out_of_range = Vec::new();
        for (leader, parts) in by_leader {
            if leader < 0 {
                continue;
            }
            let req = FetchRequest::default()
                .with_max_wait_ms(500)
                .with_min_bytes(1)
                .with_max_bytes(16 << 20)
                .with_isolation_level(self.isolation_level)
                .with_topics(vec![FetchTopic::default()
                    .with_topic(TopicName(StrBytes::from_string(self.topic.name.clone())))
                    .with_partitions(
                        parts
                            .iter()
                            .map(|p| {
                                FetchPartition::default()
                                    .with_partition(*p)
                                    .with_fetch_offset(self.positions[p])
                                    .with_partition_max_bytes(1 << 20)
                            })
                            .collect(),
                    )]);
            let resp = cluster.broker(leader)?.call(&req)?;
            check(
                || format!("fetch from {}", self.topic.name),
                resp.error_code,
                None,
            )?;
            for t in resp.responses {
                for p in t.partitions {
                    if p.error_code == 1 {
                        out_of_range.push(p.partition_index);
                        continue;
                    }
                    check(
                        || format!("fetch from {}-{}", self.topic.name, p.partition_index),
                        p.error_code,
                        None,
                    )?;
                    let Some(bytes) = p.records else { continue };
                    let (records, next) = decode_fetched_all(bytes)?;
                    let records = if self.isolation_level == 1 {
                        let aborted: Vec<(i64, i64)> = p
                            .aborted_transactions
                            .iter()
                            .flatten()
                            .map(|a| (a.first_offset, a.producer_id.0))
                            .collect();
                        drop_aborted(records, &aborted)
                    } else {
                        records.into_iter().filter(|r| !r.control).collect()
                    };
                    let Some(pos) = self.positions.get_mut(&p.partition_index) else {
                        continue;
                    };
                    for r in records {
                        if r.offset >= *pos {
                            out.push((p.partition_index, r));
                        }
                    }
                    if let Some(next) = next {
                        *pos = (*pos).max(next);
                    }
                }
            }
        }
        if !out_of_range.is_empty() {
            let at = if self.reset_to_earliest { -2 } else { -1 };
            let fresh = offsets_at(cluster, &self.topic, &out_of_range, at)?;
            self.positions.extend(fresh);
        }
        Ok(out)
    }
}

pub fn run(a: ConsumeArgs) -> Result<(), AdminError> {
    let stop = interrupted_flag();
    let mut cluster = a.conn.cluster()?;
    let topic = cluster.topic(&a.topic)?;
    let all: Vec<i32> = topic.partitions.iter().map(|p| p.index).collect();
    let reset_to_earliest = a.from_beginning || a.offset == Some(Start::Earliest);
    let mut reader = Reader::new(topic, reset_to_earliest);
    let mut member = a
        .group
        .as_ref()
        .map(|g| Member::new(g, vec![a.topic.clone()]));
    if member.is_none() {
        let parts = match a.partition {
            Some(p) if all.contains(&p) => vec![p],
            Some(p) => {
                return Err(AdminError::Failed(format!(
                    "topic {} has no partition {p}",
                    a.topic
                )))
            }
            None => all.clone(),
        };
        let start = a.offset.unwrap_or(if a.from_beginning {
            Start::Earliest
        } else {
            Start::Latest
        });
        reader.positions = match start {
            Start::Earliest => offsets_at(&mut cluster, &reader.topic, &parts, -2)?,
            Start::Latest => offsets_at(&mut cluster, &reader.topic, &parts, -1)?,
            Start::At(o) => parts.iter().map(|p| (*p, o)).collect(),
        };
    }
    let mut out = std::io::stdout().lock();
    let mut count = 0u64;
    let mut joined = false;
    let mut last_record = Instant::now();
    let mut last_commit = Instant::now();
    let mut dirty = false;
    let idle = a.timeout_ms.map(Duration::from_millis);
    let result = (|| -> Result<(), AdminError> {
        loop {
            if stop.load(Ordering::SeqCst) || a.num.is_some_and(|n| count >= n) {
                return Ok(());
            }
            if idle.is_some_and(|t| last_record.elapsed() >= t) {
                return Ok(());
            }
            if let Some(m) = member.as_mut() {
                if !joined {
                    m.join(&mut cluster)?;
                    joined = true;
                    reader.start_at_committed(&mut cluster, m, a.from_beginning)?;
                }
                if let Beat::Rejoin = m.heartbeat(&mut cluster)? {
                    m.commit(&mut cluster, &tps(&a.topic, &reader.positions))?;
                    joined = false;
                    continue;
                }
            }
            if reader.positions.is_empty() {
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
            let records = reader.poll(&mut cluster)?;
            for (p, r) in records {
                if a.num.is_some_and(|n| count >= n) {
                    // Stop exactly after --num records: the rest are not consumed.
                    if let Some(pos) = reader.positions.get_mut(&p) {
                        *pos = (*pos).min(r.offset);
                    }
                    continue;
                }
                let line = format_record(a.format, &a.topic, p, &r);
                if let Err(e) = writeln!(out, "{line}") {
                    if e.kind() == std::io::ErrorKind::BrokenPipe {
                        return Ok(());
                    }
                    return Err(e.into());
                }
                count += 1;
                dirty = true;
                last_record = Instant::now();
            }
            out.flush().or_else(|e| {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    Ok(())
                } else {
                    Err(e)
                }
            })?;
            if let Some(m) = member.as_mut() {
                if dirty && last_commit.elapsed() >= Duration::from_secs(1) {
                    if !m.commit(&mut cluster, &tps(&a.topic, &reader.positions))? {
                        joined = false;
                    }
                    dirty = false;
                    last_commit = Instant::now();
                }
            }
        }
    })();
    // Commit what was printed and leave, even after an error reading.
    let mut finish = Ok(());
    if let Some(m) = member.as_mut() {
        if joined {
            finish = m
                .commit(&mut cluster, &tps(&a.topic, &reader.positions))
                .map(|_| ())
                .and_then(|()| m.leave(&mut cluster));
        }
    }
    result?;
    finish?;
    eprintln!("Processed a total of {count} messages");
    Ok(())
}

fn tps(topic: &str, positions: &BTreeMap<i32, i64>) -> BTreeMap<Tp, i64> {
    positions
        .iter()
        .map(|(p, o)| ((topic.to_string(), *p), *o))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::indexmap::IndexMap;

    #[test]
    fn starts_parse() {
        assert_eq!(parse_start("earliest"), Ok(Start::Earliest));
        assert_eq!(parse_start("latest"), Ok(Start::Latest));
        assert_eq!(parse_start("42"), Ok(Start::At(42)));
        assert!(parse_start("-3").is_err());
        assert!(parse_start("x").is_err());
    }

    fn rec(offset: i64, pid: i64, transactional: bool, control: bool) -> Record {
        Record {
            transactional,
            control,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: pid,
            producer_epoch: 0,
            timestamp_type: kafka_protocol::records::TimestampType::Creation,
            offset,
            sequence: 0,
            timestamp: 0,
            key: None,
            value: None,
            headers: IndexMap::new(),
        }
    }

    #[test]
    fn read_committed_drops_aborted_transactions() {
        // Producer 7 aborts at 0..=2 (marker at 2), producer 8 commits 3..=4 (marker 5),
        // producer 7 writes again at 6 in a transaction that is still open (not aborted).
        let records = vec![
            rec(0, 7, true, false),
            rec(1, 7, true, false),
            rec(2, 7, true, true),
            rec(3, 8, true, false),
            rec(4, 8, true, false),
            rec(5, 8, true, true),
            rec(6, 7, true, false),
            rec(7, -1, false, false),
        ];
        let kept: Vec<i64> = drop_aborted(records, &[(0, 7)])
            .iter()
            .map(|r| r.offset)
            .collect();
        assert_eq!(kept, vec![3, 4, 6, 7]);
    }

    #[test]
    fn formats() {
        let mut headers = IndexMap::new();
        headers.insert(
            StrBytes::from_static_str("h"),
            Some(bytes::Bytes::from_static(b"v")),
        );
        let r = Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: kafka_protocol::records::TimestampType::Creation,
            offset: 7,
            sequence: -1,
            timestamp: 1000,
            key: None,
            value: Some(bytes::Bytes::from_static(b"hello")),
            headers,
        };
        assert_eq!(format_record(Format::Value, "t", 0, &r), "hello");
        assert_eq!(format_record(Format::Kv, "t", 0, &r), "null\thello");
        let j: serde_json::Value =
            serde_json::from_str(&format_record(Format::Json, "t", 2, &r)).unwrap();
        assert_eq!(j["partition"], 2);
        assert_eq!(j["offset"], 7);
        assert_eq!(j["key"], serde_json::Value::Null);
        assert_eq!(j["headers"]["h"], "v");
    }
}
