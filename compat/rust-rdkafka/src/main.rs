//! Driver for compat/test_rust_rdkafka.py: the Rust `rdkafka` crate (bundled librdkafka)
//! against a broker. One subcommand per scenario; every result is a JSON line on stdout,
//! diagnostics go to stderr, a failure exits non-zero.
//!
//! ```text
//! rdkafka-driver produce -b HOST:PORT --topic T --count N --tag TAG [--partition P] [-X key=value]...
//! rdkafka-driver read    -b HOST:PORT --topic T --partitions P --count N [-X key=value]...
//! rdkafka-driver group   -b HOST:PORT --topic T --group G [--on-stop commit|close] [-X key=value]...
//!                        (a line "stop" on stdin ends it)
//! rdkafka-driver admin   -b HOST:PORT create-topic --topic T --partitions P [-c key=value]...
//!                                     describe-configs --topic T
//!                                     create-partitions --topic T --total N
//!                                     delete-topic --topic T
//!                                     alter-configs --topic T [-c key=value]...  (replaces all)
//!                                     delete-records --topic T --partition P --offset O
//!                                     delete-group --group G
//! rdkafka-driver txn     -b HOST:PORT --topic T --plan commit:5,abort:3 [-X key=value]...
//! rdkafka-driver offsets -b HOST:PORT --topic T [--timestamp MS] [--group G]
//! rdkafka-driver ctp     -b HOST:PORT --input I --output O --group G --count N --end commit|abort
//!                        [--consumer.KEY VALUE]... [-X key=value]...
//! ```
//!
//! Only what a scenario is about is configured; everything else stays at the client's
//! defaults (idempotence, acks=all, linger, compression none, ...). `-X` sets any client
//! property, as kcat does.

use std::collections::{BTreeMap, HashMap};
use std::error::Error;
use std::io::BufRead;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::admin::{
    AdminClient, AdminOptions, AlterConfig, NewPartitions, NewTopic, ResourceSpecifier,
    TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{ClientContext, Offset, Timestamp, TopicPartitionList};
use serde_json::{json, Value};

type Res<T> = Result<T, Box<dyn Error>>;

/// `--name value` flags, repeated `-X key=value` client properties and `-c key=value`
/// topic configs, and the positional words.
struct Args {
    flags: HashMap<String, String>,
    props: Vec<(String, String)>,
    configs: Vec<(String, String)>,
    words: Vec<String>,
}

impl Args {
    fn parse(raw: impl Iterator<Item = String>) -> Res<Args> {
        let mut a = Args {
            flags: HashMap::new(),
            props: Vec::new(),
            configs: Vec::new(),
            words: Vec::new(),
        };
        let mut it = raw;
        while let Some(arg) = it.next() {
            let mut value = || it.next().ok_or_else(|| format!("{arg} needs a value"));
            match arg.as_str() {
                "-X" | "-c" => {
                    let kv = value()?;
                    let (k, v) = kv
                        .split_once('=')
                        .ok_or_else(|| format!("{arg} {kv}: expected key=value"))?;
                    let to = if arg == "-X" {
                        &mut a.props
                    } else {
                        &mut a.configs
                    };
                    to.push((k.to_string(), v.to_string()));
                }
                "-b" => {
                    let v = value()?;
                    a.flags.insert("bootstrap".into(), v);
                }
                s if s.starts_with("--") => {
                    let v = value()?;
                    a.flags.insert(s[2..].to_string(), v);
                }
                _ => a.words.push(arg),
            }
        }
        Ok(a)
    }

    fn get(&self, name: &str) -> Res<&str> {
        self.flags
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| format!("missing --{name}").into())
    }

    fn num<T: std::str::FromStr>(&self, name: &str) -> Res<T> {
        self.get(name)?
            .parse()
            .map_err(|_| format!("--{name}: not a number").into())
    }

    /// bootstrap.servers plus the -X properties.
    fn client_config(&self) -> Res<ClientConfig> {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", self.get("bootstrap")?);
        for (k, v) in &self.props {
            c.set(k, v);
            if k == "debug" {
                c.set_log_level(RDKafkaLogLevel::Debug);
            }
        }
        Ok(c)
    }
}

fn emit(v: Value) {
    println!("{v}");
}

fn hex(b: Option<&[u8]>) -> Value {
    match b {
        None => Value::Null,
        Some(b) => Value::String(b.iter().map(|x| format!("{x:02x}")).collect()),
    }
}

fn ts_json(t: Timestamp) -> Value {
    match t {
        Timestamp::NotAvailable => json!(null),
        Timestamp::CreateTime(ms) => json!([1, ms]),
        Timestamp::LogAppendTime(ms) => json!([2, ms]),
    }
}

fn record_json<M: Message>(m: &M) -> Value {
    let headers: Vec<Value> = m
        .headers()
        .map(|hs| {
            hs.iter()
                .map(|h| json!([h.key, hex(h.value)]))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    json!({
        "topic": m.topic(),
        "partition": m.partition(),
        "offset": m.offset(),
        "key": hex(m.key()),
        "value": hex(m.payload()),
        "headers": headers,
        "timestamp": ts_json(m.timestamp()),
    })
}

/// The records `produce` and `txn` send: key, value and two headers derived from a tag
/// and an index (values repeat text, so compression has something to do).
fn sample(tag: &str, i: usize) -> (String, String, OwnedHeaders) {
    let key = format!("key-{tag}-{i}");
    let value =
        format!("value {tag} {i} from rdkafka ") + &"lorem ipsum dolor sit amet ".repeat(i % 7 + 1);
    let idx = i.to_string();
    let headers = OwnedHeaders::new()
        .insert(Header {
            key: "idx",
            value: Some(idx.as_bytes()),
        })
        .insert(Header {
            key: "client",
            value: Some("rust-rdkafka".as_bytes()),
        });
    (key, value, headers)
}

/// Enqueues `count` sample records, then waits for every delivery report; prints one
/// line per delivery (in produce order) and returns the number that failed.
async fn send_all(
    producer: &FutureProducer,
    topic: &str,
    tag: &str,
    count: usize,
    partition: Option<i32>,
) -> Res<usize> {
    let mut pending = Vec::with_capacity(count);
    for i in 0..count {
        let (key, value, headers) = sample(tag, i);
        let mut rec = FutureRecord::to(topic)
            .key(&key)
            .payload(&value)
            .headers(headers);
        if let Some(p) = partition {
            rec = rec.partition(p);
        }
        let fut = producer
            .send_result(rec)
            .map_err(|(e, _)| format!("enqueue {key}: {e}"))?;
        pending.push((key, fut));
    }
    let mut failed = 0;
    for (key, fut) in pending {
        match fut.await? {
            Ok(d) => emit(json!({
                "event": "delivered",
                "key": key,
                "partition": d.partition,
                "offset": d.offset,
                "timestamp": ts_json(d.timestamp),
            })),
            Err((e, _)) => {
                failed += 1;
                emit(json!({"event": "failed", "key": key, "error": e.to_string()}));
            }
        }
    }
    Ok(failed)
}

async fn produce(a: &Args) -> Res<()> {
    let producer: FutureProducer = a.client_config()?.create()?;
    let partition = match a.flags.get("partition") {
        Some(p) => Some(p.parse()?),
        None => None,
    };
    let failed = send_all(
        &producer,
        a.get("topic")?,
        a.get("tag")?,
        a.num("count")?,
        partition,
    )
    .await?;
    if failed > 0 {
        return Err(format!("{failed} deliveries failed").into());
    }
    Ok(())
}

/// Reads `--count` records from the beginning of partitions 0..`--partitions` by explicit
/// assignment, then keeps polling half a second to show any extra (duplicate) record.
async fn read(a: &Args) -> Res<()> {
    let topic = a.get("topic")?;
    let partitions: i32 = a.num("partitions")?;
    let count: usize = a.num("count")?;
    let timeout = Duration::from_secs(a.num("timeout").unwrap_or(30));
    // librdkafka refuses assign() without a group.id (Local: Unknown group), though
    // nothing here joins the group.
    let mut cfg = a.client_config()?;
    if cfg.get("group.id").is_none() {
        cfg.set("group.id", "rdkafka-driver-read");
    }
    let consumer: StreamConsumer = cfg.create()?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)?;
    }
    consumer.assign(&tpl)?;
    let deadline = Instant::now() + timeout;
    let mut got = 0usize;
    let mut extra_until: Option<Instant> = None;
    loop {
        let now = Instant::now();
        let until = extra_until.unwrap_or(deadline);
        if now >= until {
            break;
        }
        match tokio::time::timeout(until - now, consumer.recv()).await {
            Err(_) => break,
            Ok(Err(e)) => return Err(format!("consume: {e}").into()),
            Ok(Ok(m)) => {
                emit(record_json(&m));
                got += 1;
                if got >= count && extra_until.is_none() {
                    extra_until = Some(Instant::now() + Duration::from_millis(500));
                }
            }
        }
    }
    if got < count {
        return Err(format!("read {got} of {count} records in {timeout:?}").into());
    }
    Ok(())
}

/// Client-level lookups on a BaseConsumer: Metadata for `--topic` (brokers, partitions
/// and leaders), each partition's watermarks (ListOffsets), the offsets for
/// `--timestamp` (ListOffsets by time; -1 past the end) and, with `--group`, the group
/// as ListGroups/DescribeGroups report it.
fn offsets(a: &Args) -> Res<()> {
    let topic = a.get("topic")?;
    let timeout = Duration::from_secs(15);
    let mut cfg = a.client_config()?;
    if cfg.get("group.id").is_none() {
        cfg.set("group.id", "rdkafka-driver-offsets");
    }
    let consumer: BaseConsumer = cfg.create()?;
    let md = consumer.fetch_metadata(Some(topic), timeout)?;
    let brokers: Vec<Value> = md
        .brokers()
        .iter()
        .map(|b| json!({"id": b.id(), "host": b.host(), "port": b.port()}))
        .collect();
    let mt = md
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .ok_or("topic missing from metadata")?;
    if let Some(e) = mt.error() {
        return Err(format!("metadata for {topic}: {e:?}").into());
    }
    let mut partitions = BTreeMap::new();
    let mut query = TopicPartitionList::new();
    for p in mt.partitions() {
        let (lo, hi) = consumer.fetch_watermarks(topic, p.id(), timeout)?;
        partitions.insert(
            p.id().to_string(),
            json!({"leader": p.leader(), "low": lo, "high": hi}),
        );
        if let Some(ts) = a.flags.get("timestamp") {
            query.add_partition_offset(topic, p.id(), Offset::Offset(ts.parse()?))?;
        }
    }
    let mut for_time = BTreeMap::new();
    if query.count() > 0 {
        for e in consumer.offsets_for_times(query, timeout)?.elements() {
            if let Some(err) = e.error().err() {
                return Err(format!("offsets_for_times {}: {err}", e.partition()).into());
            }
            let off = match e.offset() {
                Offset::Offset(o) => o,
                other => other.to_raw().unwrap_or(-1),
            };
            for_time.insert(e.partition().to_string(), off);
        }
    }
    let mut groups = Vec::new();
    if let Some(g) = a.flags.get("group") {
        for gi in consumer.fetch_group_list(Some(g), timeout)?.groups() {
            let members: Vec<&str> = gi.members().iter().map(|m| m.client_id()).collect();
            groups.push(json!({
                "name": gi.name(),
                "state": gi.state(),
                "protocol_type": gi.protocol_type(),
                "protocol": gi.protocol(),
                "members": members,
            }));
        }
    }
    emit(json!({
        "orig_broker_id": md.orig_broker_id(),
        "brokers": brokers,
        "partitions": partitions,
        "for_time": for_time,
        "groups": groups,
    }));
    Ok(())
}

/// Prints each assignment change of a group member.
struct GroupContext;

impl ClientContext for GroupContext {
    /// librdkafka's log lines (`-X debug=...`) to stderr; the crate's default sends them
    /// to the `log` facade, which nothing here prints.
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        eprintln!("{level:?} {fac} {log_message}");
    }
}

fn parts(tpl: &TopicPartitionList) -> Vec<i32> {
    let mut v: Vec<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
    v.sort_unstable();
    v
}

impl ConsumerContext for GroupContext {
    fn post_rebalance(&self, _c: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => emit(json!({"event": "assign", "partitions": parts(tpl)})),
            Rebalance::Revoke(tpl) => emit(json!({"event": "revoke", "partitions": parts(tpl)})),
            Rebalance::Error(e) => {
                emit(json!({"event": "rebalance_error", "error": e.to_string()}))
            }
        }
    }
}

/// A StreamConsumer subscribed to `--topic` in `--group`. Prints every record; when a
/// line "stop" arrives on stdin it commits its positions synchronously (not with
/// `--on-stop close`), prints them and closes (leaving the group).
async fn group(a: &Args) -> Res<()> {
    let topic = a.get("topic")?;
    let mut cfg = a.client_config()?;
    cfg.set("group.id", a.get("group")?);
    let consumer: StreamConsumer<GroupContext> = cfg.create_with_context(GroupContext)?;
    consumer.subscribe(&[topic])?;
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            match line {
                Ok(l) if l.trim() == "stop" => break,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        stop2.store(true, Ordering::SeqCst);
    });
    while !stop.load(Ordering::SeqCst) {
        match tokio::time::timeout(Duration::from_millis(100), consumer.recv()).await {
            Err(_) => {}
            Ok(Err(e)) => emit(json!({"event": "error", "error": e.to_string()})),
            Ok(Ok(m)) => emit(record_json(&m)),
        }
    }
    let mut committed = BTreeMap::new();
    let assignment = consumer.assignment()?;
    // `--on-stop close`: no explicit commit; closing commits what auto-commit (the
    // default) has stored.
    let explicit = a.flags.get("on-stop").map(String::as_str) != Some("close");
    if explicit && assignment.count() > 0 {
        consumer.commit_consumer_state(CommitMode::Sync)?;
        let tpl = consumer.committed_offsets(assignment, Duration::from_secs(10))?;
        for e in tpl.elements() {
            let off = match e.offset() {
                Offset::Offset(o) => o,
                other => other.to_raw().unwrap_or(-1),
            };
            committed.insert(e.partition().to_string(), off);
        }
    } else {
        // A TopicPartitionList holds references to librdkafka's partition objects: one
        // still alive when the consumer is dropped hangs rd_kafka_destroy for good.
        drop(assignment);
    }
    emit(json!({"event": "committed", "offsets": committed}));
    drop(consumer);
    emit(json!({"event": "closed"}));
    Ok(())
}

async fn admin(a: &Args) -> Res<()> {
    let client: AdminClient<DefaultClientContext> = a.client_config()?.create()?;
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let op = a.words.first().map(String::as_str).unwrap_or("");
    let topic = if op == "delete-group" {
        ""
    } else {
        a.get("topic")?
    };
    match op {
        "create-topic" => {
            let mut nt = NewTopic::new(topic, a.num("partitions")?, TopicReplication::Fixed(1));
            for (k, v) in &a.configs {
                nt = nt.set(k, v);
            }
            let res = client.create_topics([&nt], &opts).await?;
            for r in res {
                emit(match r {
                    Ok(t) => json!({"op": op, "topic": t, "error": null}),
                    Err((t, e)) => json!({"op": op, "topic": t, "error": format!("{e:?}")}),
                });
            }
        }
        "describe-configs" => {
            let res = client
                .describe_configs([&ResourceSpecifier::Topic(topic)], &opts)
                .await?;
            for r in res {
                emit(match r {
                    Ok(cr) => {
                        let entries: BTreeMap<&str, Value> = cr
                            .entries
                            .iter()
                            .map(|e| {
                                (
                                    e.name.as_str(),
                                    json!({
                                        "value": e.value,
                                        "source": format!("{:?}", e.source),
                                        "is_default": e.is_default,
                                        "is_read_only": e.is_read_only,
                                        "is_sensitive": e.is_sensitive,
                                    }),
                                )
                            })
                            .collect();
                        json!({"op": op, "error": null, "entries": entries})
                    }
                    Err(e) => json!({"op": op, "error": format!("{e:?}")}),
                });
            }
        }
        "create-partitions" => {
            let np = NewPartitions::new(topic, a.num("total")?);
            for r in client.create_partitions([&np], &opts).await? {
                emit(match r {
                    Ok(t) => json!({"op": op, "topic": t, "error": null}),
                    Err((t, e)) => json!({"op": op, "topic": t, "error": format!("{e:?}")}),
                });
            }
        }
        "delete-topic" => {
            for r in client.delete_topics(&[topic], &opts).await? {
                emit(match r {
                    Ok(t) => json!({"op": op, "topic": t, "error": null}),
                    Err((t, e)) => json!({"op": op, "topic": t, "error": format!("{e:?}")}),
                });
            }
        }
        "alter-configs" => {
            let mut ac = AlterConfig::new(ResourceSpecifier::Topic(topic));
            for (k, v) in &a.configs {
                ac = ac.set(k, v);
            }
            for r in client.alter_configs([&ac], &opts).await? {
                emit(match r {
                    Ok(_) => json!({"op": op, "topic": topic, "error": null}),
                    Err((_, e)) => json!({"op": op, "topic": topic, "error": format!("{e:?}")}),
                });
            }
        }
        "delete-records" => {
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(topic, a.num("partition")?, Offset::Offset(a.num("offset")?))?;
            let res = client.delete_records(&tpl, &opts).await?;
            for e in res.elements() {
                let low = match e.offset() {
                    Offset::Offset(o) => o,
                    other => other.to_raw().unwrap_or(-1),
                };
                let error = e.error().err().map(|x| x.to_string());
                emit(json!({"op": op, "partition": e.partition(), "low": low, "error": error}));
            }
        }
        "delete-group" => {
            for r in client.delete_groups(&[a.get("group")?], &opts).await? {
                emit(match r {
                    Ok(g) => json!({"op": op, "group": g, "error": null}),
                    Err((g, e)) => json!({"op": op, "group": g, "error": format!("{e:?}")}),
                });
            }
        }
        _ => return Err(format!("admin: unknown operation {op:?}").into()),
    }
    Ok(())
}

/// A transactional producer (`-X transactional.id=...` from the caller) running a plan
/// like `commit:5,abort:3,commit:4`: one transaction per step, its records sent and
/// delivered, then committed or aborted.
async fn txn(a: &Args) -> Res<()> {
    let topic = a.get("topic")?;
    let producer: FutureProducer = a.client_config()?.create()?;
    let timeout = Duration::from_secs(30);
    producer.init_transactions(timeout)?;
    emit(json!({"event": "init"}));
    for (n, step) in a.get("plan")?.split(',').enumerate() {
        let (end, count) = step
            .split_once(':')
            .ok_or_else(|| format!("plan step {step:?}: expected commit:N or abort:N"))?;
        producer.begin_transaction()?;
        let failed = send_all(
            &producer,
            topic,
            &format!("t{n}-{end}"),
            count.parse()?,
            None,
        )
        .await?;
        if failed > 0 {
            return Err(format!("{failed} deliveries failed in transaction {n}").into());
        }
        match end {
            "commit" => producer.commit_transaction(timeout)?,
            "abort" => producer.abort_transaction(timeout)?,
            _ => return Err(format!("plan step {step:?}: expected commit or abort").into()),
        }
        emit(json!({"event": end, "txn": n}));
    }
    Ok(())
}

/// Consume-transform-produce with exactly-once semantics: a StreamConsumer in `--group`
/// (`enable.auto.commit=false` from the caller, as EOS requires) reads `--count` records
/// of `--input`; one transaction writes each, its value prefixed with "ctp ", to the same
/// partition of `--output`, adds the consumed positions with send_offsets_to_transaction
/// and ends with `--end commit|abort`.
async fn ctp(a: &Args) -> Res<()> {
    let (input, output) = (a.get("input")?, a.get("output")?);
    let count: usize = a.num("count")?;
    let end = a.get("end")?;
    let timeout = Duration::from_secs(30);
    let mut ccfg = a.client_config()?;
    ccfg.set("group.id", a.get("group")?);
    for (k, v) in a
        .flags
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("consumer.")?, v)))
    {
        ccfg.set(k, v);
    }
    ccfg.remove("transactional.id");
    let consumer: StreamConsumer = ccfg.create()?;
    consumer.subscribe(&[input])?;
    let producer: FutureProducer = a.client_config()?.create()?;
    producer.init_transactions(timeout)?;

    let mut consumed = Vec::with_capacity(count);
    let deadline = Instant::now() + timeout;
    while consumed.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        let m = tokio::time::timeout(left, consumer.recv())
            .await
            .map_err(|_| format!("consumed {} of {count} in {timeout:?}", consumed.len()))??;
        emit(json!({"event": "consumed", "partition": m.partition(), "offset": m.offset()}));
        consumed.push(m.detach());
    }

    producer.begin_transaction()?;
    let mut pending = Vec::new();
    let mut next: BTreeMap<i32, i64> = BTreeMap::new();
    for m in &consumed {
        let mut value = b"ctp ".to_vec();
        value.extend_from_slice(m.payload().unwrap_or_default());
        let mut rec = FutureRecord::to(output)
            .payload(&value)
            .partition(m.partition());
        if let Some(k) = m.key() {
            rec = rec.key(k);
        }
        let fut = producer
            .send_result(rec)
            .map_err(|(e, _)| format!("enqueue: {e}"))?;
        pending.push(fut);
        next.insert(m.partition(), m.offset() + 1);
    }
    for fut in pending {
        let d = fut.await?.map_err(|(e, _)| format!("delivery: {e}"))?;
        emit(json!({"event": "delivered", "partition": d.partition, "offset": d.offset}));
    }
    let mut tpl = TopicPartitionList::new();
    for (p, o) in &next {
        tpl.add_partition_offset(input, *p, Offset::Offset(*o))?;
    }
    let cgm = consumer
        .group_metadata()
        .ok_or("no consumer group metadata")?;
    producer.send_offsets_to_transaction(&tpl, &cgm, timeout)?;
    match end {
        "commit" => producer.commit_transaction(timeout)?,
        "abort" => producer.abort_transaction(timeout)?,
        _ => return Err(format!("--end {end:?}: expected commit or abort").into()),
    }
    emit(json!({"event": end, "offsets": next}));
    Ok(())
}

#[tokio::main]
async fn main() {
    let mut raw = std::env::args().skip(1);
    let cmd = raw.next().unwrap_or_default();
    let result = match Args::parse(raw) {
        Err(e) => Err(e),
        Ok(a) => match cmd.as_str() {
            "produce" => produce(&a).await,
            "read" => read(&a).await,
            "group" => group(&a).await,
            "admin" => admin(&a).await,
            "txn" => txn(&a).await,
            "offsets" => offsets(&a),
            "ctp" => ctp(&a).await,
            _ => Err(format!("unknown subcommand {cmd:?}").into()),
        },
    };
    if let Err(e) = result {
        eprintln!("rdkafka-driver {cmd}: {e}");
        std::process::exit(1);
    }
}
