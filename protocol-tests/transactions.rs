//! Transactions on the raw wire: the classic path (InitProducerId → AddPartitionsToTxn →
//! Produce → AddOffsetsToTxn / TxnOffsetCommit → EndTxn), control batches and the aborted
//! list on a read_committed Fetch, the LSO, fencing, timeouts, admin APIs, bad input and
//! a crash with a transaction open.

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::messages::write_txn_markers_request::{
    WritableTxnMarker, WritableTxnMarkerTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{Compression, RecordBatchDecoder};
use uuid::Uuid;

use crate::common::{encode, record, Client, Need, Rill};
use crate::ops::{create_topic, fetch_req, name, produce, uniq};

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// The transactional id `v` (through `uniq`).
fn tid(v: &str) -> TransactionalId {
    TransactionalId(s(&uniq(v)))
}

/// The group `v` (through `uniq`).
fn gid(v: &str) -> GroupId {
    GroupId(s(&uniq(v)))
}

fn init(c: &mut Client, txn: &str, timeout_ms: i32) -> (i16, i64, i16) {
    let r = c.send(
        4,
        &InitProducerIdRequest::default()
            .with_transactional_id(Some(tid(txn)))
            .with_transaction_timeout_ms(timeout_ms)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1),
    );
    (r.error_code, r.producer_id.0, r.producer_epoch)
}

fn add_partitions(
    c: &mut Client,
    txn: &str,
    pid: i64,
    epoch: i16,
    topic: &str,
    parts: &[i32],
) -> Vec<i16> {
    let r = c.send(
        3,
        &AddPartitionsToTxnRequest::default()
            .with_v3_and_below_transactional_id(tid(txn))
            .with_v3_and_below_producer_id(ProducerId(pid))
            .with_v3_and_below_producer_epoch(epoch)
            .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
                .with_name(name(topic))
                .with_partitions(parts.to_vec())]),
    );
    r.results_by_topic_v3_and_below[0]
        .results_by_partition
        .iter()
        .map(|p| p.partition_error_code)
        .collect()
}

fn end(c: &mut Client, txn: &str, pid: i64, epoch: i16, commit: bool) -> i16 {
    c.send(
        3,
        &EndTxnRequest::default()
            .with_transactional_id(tid(txn))
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_committed(commit),
    )
    .error_code
}

/// A transactional batch of `n` records with values `<tag>-<i>`.
fn txn_batch(n: i64, pid: i64, epoch: i16, seq: i32, tag: &str) -> Bytes {
    let records: Vec<_> = (0..n)
        .map(|i| {
            let mut r = record(i, 1_000 + i);
            r.producer_id = pid;
            r.producer_epoch = epoch;
            r.sequence = seq + i as i32;
            r.transactional = true;
            r.value = Some(Bytes::from(format!("{tag}-{i}")));
            r
        })
        .collect();
    encode(&records, Compression::None)
}

fn fetch_iso(c: &mut Client, topic: &str, offset: i64, isolation: i8) -> PartitionData {
    let req = fetch_req(topic, Uuid::nil(), 11, 0, offset, 0, 0).with_isolation_level(isolation);
    c.send(11, &req).responses[0].partitions[0].clone()
}

/// (value, control) of every record in a fetched record set, plus the control batches'
/// (producer id, key bytes).
/// (offset, value) of data records; (producer id, key) of control records.
type Fetched = (Vec<(i64, String)>, Vec<(i64, Vec<u8>)>);

fn records_of(pd: &PartitionData) -> Fetched {
    let mut data = Vec::new();
    let mut control = Vec::new();
    let mut bytes = pd.records.clone().unwrap_or_default();
    for set in RecordBatchDecoder::decode_all(&mut bytes).expect("decode") {
        for r in set.records {
            if r.control {
                control.push((r.producer_id, r.key.map(|k| k.to_vec()).unwrap_or_default()));
            } else {
                let v = r.value.map(|v| String::from_utf8_lossy(&v).into_owned());
                data.push((r.offset, v.unwrap_or_default()));
            }
        }
    }
    (data, control)
}

fn list_offsets_latest(c: &mut Client, topic: &str, isolation: i8) -> i64 {
    let r = c.send(
        5,
        &ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_isolation_level(isolation)
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(name(topic))
                .with_partitions(vec![ListOffsetsPartition::default()
                    .with_partition_index(0)
                    .with_timestamp(-1)])]),
    );
    r.topics[0].partitions[0].offset
}

#[test]
fn commit_abort_control_batches_and_read_committed() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    let id = create_topic(&mut c, "tt", 1, &[]);
    let (err, pid, e) = init(&mut c, "tx", 60_000);
    assert_eq!(err, 0);
    // A transactional batch before AddPartitionsToTxn is refused.
    assert_eq!(
        produce(&mut c, 9, "tt", id, 0, txn_batch(1, pid, e, 0, "x")).error_code,
        48
    );
    // Transaction 1: 3 records, committed.
    assert_eq!(add_partitions(&mut c, "tx", pid, e, "tt", &[0]), vec![0]);
    let p = produce(&mut c, 9, "tt", id, 0, txn_batch(3, pid, e, 0, "c"));
    assert_eq!((p.error_code, p.base_offset), (0, 0));
    // Open: read_committed sees nothing yet, the LSO is the transaction's first offset.
    let rc = fetch_iso(&mut c, "tt", 0, 1);
    assert_eq!((rc.high_watermark, rc.last_stable_offset), (3, 0));
    assert!(records_of(&rc).0.is_empty());
    assert_eq!(list_offsets_latest(&mut c, "tt", 1), 0);
    assert_eq!(list_offsets_latest(&mut c, "tt", 0), 3);
    // A non-transactional write from the same producer inside its transaction.
    let mut plain = txn_batch(1, pid, e, 3, "p").to_vec();
    plain[21..23].copy_from_slice(&0i16.to_be_bytes()); // attributes: not transactional
    let crc = crc32c::crc32c(&plain[21..]);
    plain[17..21].copy_from_slice(&crc.to_be_bytes());
    assert_eq!(
        produce(&mut c, 9, "tt", id, 0, Bytes::from(plain)).error_code,
        48
    );
    assert_eq!(end(&mut c, "tx", pid, e, true), 0);
    // Transaction 2: 2 records, aborted.
    assert_eq!(add_partitions(&mut c, "tx", pid, e, "tt", &[0]), vec![0]);
    let p = produce(&mut c, 9, "tt", id, 0, txn_batch(2, pid, e, 3, "a"));
    assert_eq!((p.error_code, p.base_offset), (0, 4)); // offset 3 is the commit marker
    assert_eq!(end(&mut c, "tx", pid, e, false), 0);
    // Retried EndTxn is answered the same; the opposite outcome is refused.
    assert_eq!(end(&mut c, "tx", pid, e, false), 0);
    assert_eq!(end(&mut c, "tx", pid, e, true), 48);
    let rc = fetch_iso(&mut c, "tt", 0, 1);
    assert_eq!((rc.high_watermark, rc.last_stable_offset), (7, 7));
    let (data, control) = records_of(&rc);
    // The aborted records are in the bytes; the aborted list tells clients to drop them.
    let aborted = rc
        .aborted_transactions
        .clone()
        .expect("aborted list under read_committed");
    assert_eq!(aborted.len(), 1);
    assert_eq!(
        (aborted[0].producer_id.0, aborted[0].first_offset),
        (pid, 4)
    );
    assert_eq!(
        data,
        vec![
            (0, "c-0".into()),
            (1, "c-1".into()),
            (2, "c-2".into()),
            (4, "a-0".into()),
            (5, "a-1".into())
        ]
    );
    // Control records: key = version 0, type (1 commit, 0 abort).
    assert_eq!(
        control,
        vec![(pid, vec![0, 0, 0, 1]), (pid, vec![0, 0, 0, 0])]
    );
    // read_uncommitted gets no aborted list.
    let ru = fetch_iso(&mut c, "tt", 0, 0);
    assert!(ru.aborted_transactions.is_none());
    assert_eq!(ru.last_stable_offset, 7);
    // A fetch from the abort marker still lists its transaction; one past it, nothing.
    let marker = fetch_iso(&mut c, "tt", 6, 1);
    assert_eq!(marker.aborted_transactions.map(|a| a.len()), Some(1));
    let after = fetch_iso(&mut c, "tt", 7, 1);
    assert_eq!(after.aborted_transactions.map(|a| a.len()), Some(0));
    // The producers' view.
    let tx = c.send(
        0,
        &DescribeTransactionsRequest::default()
            .with_transactional_ids(vec![tid("tx"), tid("nope")]),
    );
    assert_eq!(
        tx.transaction_states[0].transaction_state.as_str(),
        "CompleteAbort"
    );
    assert_eq!(tx.transaction_states[0].producer_id.0, pid);
    assert_eq!(
        tx.transaction_states[1].error_code, 105,
        "TRANSACTIONAL_ID_NOT_FOUND"
    );
}

#[test]
fn fencing_timeouts_and_bad_input() {
    needs!(Need::Flags("--transaction-abort-timed-out-interval-ms 100"));
    let rill = Rill::start(&["--transaction-abort-timed-out-interval-ms", "100"]);
    let mut c = rill.client();
    let id = create_topic(&mut c, "tf", 2, &[]);
    assert_eq!(
        init(&mut c, "tx", 900_001).0,
        50,
        "INVALID_TRANSACTION_TIMEOUT"
    );
    assert_eq!(init(&mut c, "tx", 0).0, 50);
    assert_eq!(init(&mut c, "", 1000).0, 42, "INVALID_REQUEST");
    // EndTxn for an unknown transactional id, then for an empty transaction.
    assert_eq!(
        end(&mut c, "nope", 1, 0, true),
        49,
        "INVALID_PRODUCER_ID_MAPPING"
    );
    let (_, pid, e) = init(&mut c, "tx", 60_000);
    assert_eq!(end(&mut c, "tx", pid, e, true), 48, "INVALID_TXN_STATE");
    assert_eq!(end(&mut c, "tx", pid + 1, e, true), 49);
    // Unknown partitions: nothing is added.
    assert_eq!(
        add_partitions(&mut c, "tx", pid, e, "tf", &[0, 9]),
        vec![55, 3]
    );
    assert_eq!(add_partitions(&mut c, "tx", pid, e, "tf", &[0]), vec![0]);
    assert_eq!(
        produce(&mut c, 9, "tf", id, 0, txn_batch(2, pid, e, 0, "z")).error_code,
        0
    );
    // A new producer with the same id fences the zombie and aborts its transaction.
    let (err, pid2, e2) = init(&mut c, "tx", 60_000);
    assert_eq!((err, pid2), (0, pid));
    assert!(e2 > e);
    assert_eq!(
        add_partitions(&mut c, "tx", pid, e, "tf", &[1]),
        vec![90],
        "PRODUCER_FENCED"
    );
    assert_eq!(end(&mut c, "tx", pid, e, true), 90);
    assert_eq!(
        produce(&mut c, 9, "tf", id, 0, txn_batch(1, pid, e, 2, "z")).error_code,
        47,
        "INVALID_PRODUCER_EPOCH"
    );
    let rc = fetch_iso(&mut c, "tf", 0, 1);
    assert_eq!(rc.last_stable_offset, rc.high_watermark);
    assert_eq!(rc.aborted_transactions.map(|a| a.len()), Some(1));
    // A transaction past its timeout is aborted by the sweep and its producer fenced.
    let (_, pid3, e3) = init(&mut c, "short", 500);
    assert_eq!(
        add_partitions(&mut c, "short", pid3, e3, "tf", &[1]),
        vec![0]
    );
    let p = produce(&mut c, 9, "tf", id, 1, txn_batch(1, pid3, e3, 0, "s"));
    assert_eq!(p.error_code, 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pd = fetch_iso_p(&mut c, "tf", 1);
        if pd.last_stable_offset == pd.high_watermark {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "timed-out transaction never aborted"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(end(&mut c, "short", pid3, e3, true), 90);
    let listed = c.send(
        1,
        &ListTransactionsRequest::default()
            .with_state_filters(vec![s("CompleteAbort"), s("Empty"), s("Bogus")])
            .with_duration_filter(-1),
    );
    let mut ids: Vec<_> = listed
        .transaction_states
        .iter()
        .map(|t| t.transactional_id.to_string())
        .collect();
    ids.sort();
    assert_eq!(ids, vec!["short", "tx"]);
    assert_eq!(listed.unknown_state_filters, vec![s("Bogus")]);
    let pattern = c.send(
        2,
        &ListTransactionsRequest::default()
            .with_duration_filter(-1)
            .with_transactional_id_pattern(Some(s("sh.*"))),
    );
    assert_eq!(pattern.transaction_states.len(), 1);
    let bad = c.send(
        2,
        &ListTransactionsRequest::default()
            .with_duration_filter(-1)
            .with_transactional_id_pattern(Some(s("("))),
    );
    assert_eq!(bad.error_code, 128, "INVALID_REGULAR_EXPRESSION");
    // Markers: unknown partitions are refused; a stale epoch is refused.
    let marker = |pid: i64, epoch: i16, topic: &str, p: i32| {
        WriteTxnMarkersRequest::default().with_markers(vec![WritableTxnMarker::default()
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_transaction_result(false)
            .with_coordinator_epoch(0)
            .with_topics(vec![WritableTxnMarkerTopic::default()
                .with_name(name(topic))
                .with_partition_indexes(vec![p])])])
    };
    let r = c.send(1, &marker(pid, e2, "nope", 0));
    assert_eq!(r.markers[0].topics[0].partitions[0].error_code, 3);
    let r = c.send(1, &marker(pid, e, "tf", 0));
    assert_eq!(r.markers[0].topics[0].partitions[0].error_code, 47);
    // A marker for a producer the partition never saw is written (as Kafka does) and
    // changes nothing for readers.
    let before = fetch_iso(&mut c, "tf", 0, 1);
    let r = c.send(1, &marker(424_242, 0, "tf", 0));
    assert_eq!(r.markers[0].topics[0].partitions[0].error_code, 0);
    let after = fetch_iso(&mut c, "tf", 0, 1);
    assert_eq!(after.high_watermark, before.high_watermark + 1);
    assert_eq!(after.last_stable_offset, after.high_watermark);
    assert_eq!(
        after.aborted_transactions.map(|a| a.len()),
        before.aborted_transactions.map(|a| a.len())
    );
    // Everyone else is still served.
    assert_eq!(fetch_iso(&mut c, "tf", 0, 0).error_code, 0);
}

fn fetch_iso_p(c: &mut Client, topic: &str, partition: i32) -> PartitionData {
    let req = fetch_req(topic, Uuid::nil(), 11, partition, 0, 0, 0).with_isolation_level(1);
    c.send(11, &req).responses[0].partitions[0].clone()
}

#[test]
fn transactional_offsets_reach_the_group_only_on_commit() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    let id = create_topic(&mut c, "to", 1, &[]);
    let (_, pid, e) = init(&mut c, "tx", 60_000);
    // A real group member, for KIP-447's checks.
    let join = JoinGroupRequest::default()
        .with_group_id(gid("g"))
        .with_session_timeout_ms(30_000)
        .with_rebalance_timeout_ms(30_000)
        .with_member_id(s(""))
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(s("range"))
            .with_metadata(Bytes::from_static(&[0; 10]))]);
    let j = c.send(3, &join);
    assert_eq!(j.error_code, 0);
    let (member, generation) = (j.member_id.to_string(), j.generation_id);
    let commit_req = |member: &str, generation: i32, offset: i64| {
        TxnOffsetCommitRequest::default()
            .with_transactional_id(tid("tx"))
            .with_group_id(gid("g"))
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(e)
            .with_generation_id(generation)
            .with_member_id(s(member))
            .with_topics(vec![TxnOffsetCommitRequestTopic::default()
                .with_name(name("to"))
                .with_partitions(vec![TxnOffsetCommitRequestPartition::default()
                    .with_partition_index(0)
                    .with_committed_offset(offset)
                    .with_committed_metadata(Some(s("m")))])])
    };
    let code_of = |r: &TxnOffsetCommitResponse| r.topics[0].partitions[0].error_code;
    // Before AddOffsetsToTxn the group is not part of the transaction.
    assert_eq!(add_partitions(&mut c, "tx", pid, e, "to", &[0]), vec![0]);
    assert_eq!(code_of(&c.send(3, &commit_req(&member, generation, 5))), 48);
    let ao = c.send(
        3,
        &AddOffsetsToTxnRequest::default()
            .with_transactional_id(tid("tx"))
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(e)
            .with_group_id(gid("g")),
    );
    assert_eq!(ao.error_code, 0);
    // A non-member and a stale generation are refused (KIP-447).
    assert_eq!(
        code_of(&c.send(3, &commit_req("stranger", generation, 5))),
        25
    );
    assert_eq!(
        code_of(&c.send(3, &commit_req(&member, generation + 1, 5))),
        22
    );
    assert_eq!(code_of(&c.send(3, &commit_req(&member, generation, 5))), 0);
    assert_eq!(
        produce(&mut c, 9, "to", id, 0, txn_batch(1, pid, e, 0, "o")).error_code,
        0
    );
    let fetch_offsets = |c: &mut Client, stable: bool| {
        let r = c.send(
            7,
            &OffsetFetchRequest::default()
                .with_group_id(gid("g"))
                .with_require_stable(stable)
                .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                    .with_name(name("to"))
                    .with_partition_indexes(vec![0])])),
        );
        let p = &r.topics[0].partitions[0];
        (p.error_code, p.committed_offset)
    };
    // Pending: require_stable gets UNSTABLE_OFFSET_COMMIT; otherwise nothing is committed.
    assert_eq!(fetch_offsets(&mut c, true), (88, -1));
    assert_eq!(fetch_offsets(&mut c, false), (0, -1));
    assert_eq!(end(&mut c, "tx", pid, e, true), 0);
    assert_eq!(fetch_offsets(&mut c, true), (0, 5));
    // An aborted transaction's offsets are dropped.
    assert_eq!(add_partitions(&mut c, "tx", pid, e, "to", &[0]), vec![0]);
    let ao = c.send(
        3,
        &AddOffsetsToTxnRequest::default()
            .with_transactional_id(tid("tx"))
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(e)
            .with_group_id(gid("g")),
    );
    assert_eq!(ao.error_code, 0);
    assert_eq!(code_of(&c.send(3, &commit_req(&member, generation, 9))), 0);
    assert_eq!(end(&mut c, "tx", pid, e, false), 0);
    assert_eq!(fetch_offsets(&mut c, true), (0, 5));
}

#[test]
fn open_transaction_survives_kill_9_and_is_aborted_by_its_timeout() {
    needs!(
        Need::Restart,
        Need::Flags("--transaction-abort-timed-out-interval-ms 100")
    );
    let data = tempfile::tempdir().unwrap();
    let args = ["--transaction-abort-timed-out-interval-ms", "100"];
    let mut rill = Rill::start_on(data.path(), &args);
    let mut c = rill.client();
    let id = create_topic(&mut c, "tk", 1, &[]);
    let (_, pid, e) = init(&mut c, "tx", 2_000);
    assert_eq!(add_partitions(&mut c, "tx", pid, e, "tk", &[0]), vec![0]);
    assert_eq!(
        produce(&mut c, 9, "tk", id, 0, txn_batch(2, pid, e, 0, "k")).error_code,
        0
    );
    drop(c);
    rill.kill9();
    let started = Instant::now();
    let rill = Rill::start_on(data.path(), &args);
    let mut c = rill.client();
    let pd = fetch_iso(&mut c, "tk", 0, 1);
    if pd.last_stable_offset == 0 {
        assert!(
            records_of(&pd).0.is_empty(),
            "open data visible after restart"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let pd = fetch_iso(&mut c, "tk", 0, 1);
        if pd.last_stable_offset == pd.high_watermark {
            assert!(records_of(&pd).0.iter().all(|(o, _)| *o < 2));
            assert_eq!(pd.aborted_transactions.map(|a| a.len()), Some(1));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "LSO never moved after the restart"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("restart to LSO advance: {:?}", started.elapsed());
    let tx = c.send(
        0,
        &DescribeTransactionsRequest::default().with_transactional_ids(vec![tid("tx")]),
    );
    assert_eq!(
        tx.transaction_states[0].transaction_state.as_str(),
        "CompleteAbort"
    );
}

fn produce_txn(c: &mut Client, v: i16, txn: &str, topic: &str, records: Bytes) -> (i16, i64) {
    let req = crate::ops::produce_req(topic, Uuid::nil(), 0, records, -1)
        .with_transactional_id(Some(tid(txn)));
    let r = c.send(v, &req);
    let p = &r.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

fn end_v5(c: &mut Client, txn: &str, pid: i64, epoch: i16, commit: bool) -> (i16, i64, i16) {
    let r = c.send(
        5,
        &EndTxnRequest::default()
            .with_transactional_id(tid(txn))
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_committed(commit),
    );
    (r.error_code, r.producer_id.0, r.producer_epoch)
}

fn finalized_transaction_version(c: &mut Client) -> Option<i16> {
    let r = c.send(3, &ApiVersionsRequest::default());
    assert!(r
        .supported_features
        .iter()
        .any(|f| f.name.as_str() == "transaction.version" && f.max_version == 2));
    r.finalized_features
        .iter()
        .find(|f| f.name.as_str() == "transaction.version")
        .map(|f| f.max_version_level)
}

#[test]
fn transactions_v2_implicit_adds_and_an_epoch_bump_per_transaction() {
    let rill = Rill::start(&[]);
    let mut c = rill.client();
    assert_eq!(finalized_transaction_version(&mut c), Some(2));
    create_topic(&mut c, "v2", 1, &[]);
    let (_, pid, e) = init(&mut c, "tx", 60_000);
    // Produce v12 adds the partition itself (no AddPartitionsToTxn).
    assert_eq!(
        produce_txn(&mut c, 12, "tx", "v2", txn_batch(2, pid, e, 0, "one")),
        (0, 0)
    );
    // TxnOffsetCommit v5 adds the group itself (no AddOffsetsToTxn).
    let commit = TxnOffsetCommitRequest::default()
        .with_transactional_id(tid("tx"))
        .with_group_id(gid("g2"))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(e)
        .with_generation_id(-1)
        .with_member_id(s(""))
        .with_topics(vec![TxnOffsetCommitRequestTopic::default()
            .with_name(name("v2"))
            .with_partitions(vec![TxnOffsetCommitRequestPartition::default()
                .with_partition_index(0)
                .with_committed_offset(11)])]);
    let r = c.send(5, &commit);
    assert_eq!(r.topics[0].partitions[0].error_code, 0);
    // EndTxn v5 bumps the epoch and says so; the marker carries the new epoch.
    assert_eq!(end_v5(&mut c, "tx", pid, e, true), (0, pid, e + 1));
    let pd = fetch_iso(&mut c, "v2", 0, 1);
    assert_eq!((pd.last_stable_offset, pd.high_watermark), (3, 3));
    let mut bytes = pd.records.clone().unwrap();
    let sets = RecordBatchDecoder::decode_all(&mut bytes).unwrap();
    let marker = sets.last().unwrap().records.last().unwrap().clone();
    assert!(marker.control);
    assert_eq!((marker.producer_id, marker.producer_epoch), (pid, e + 1));
    let offsets = c.send(
        7,
        &OffsetFetchRequest::default()
            .with_group_id(gid("g2"))
            .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                .with_name(name("v2"))
                .with_partition_indexes(vec![0])])),
    );
    assert_eq!(offsets.topics[0].partitions[0].committed_offset, 11);
    // A retry of that EndTxn (old epoch) gets the same answer; the old epoch cannot write.
    assert_eq!(end_v5(&mut c, "tx", pid, e, true), (0, pid, e + 1));
    assert_eq!(
        produce_txn(&mut c, 12, "tx", "v2", txn_batch(1, pid, e, 2, "stale")).0,
        47,
        "INVALID_PRODUCER_EPOCH"
    );
    // The next transaction runs on the new epoch, sequences from 0; an abort with nothing
    // written is allowed under V2 and bumps again.
    let e1 = e + 1;
    assert_eq!(
        produce_txn(&mut c, 12, "tx", "v2", txn_batch(1, pid, e1, 0, "two")),
        (0, 3)
    );
    assert_eq!(end_v5(&mut c, "tx", pid, e1, false), (0, pid, e1 + 1));
    assert_eq!(end_v5(&mut c, "tx", pid, e1 + 1, false), (0, pid, e1 + 2));
    let pd = fetch_iso(&mut c, "v2", 0, 1);
    assert_eq!(pd.last_stable_offset, pd.high_watermark);
    assert_eq!(pd.aborted_transactions.map(|a| a.len()), Some(1));
    // Classic clients on the same broker: Produce v11 does not add partitions.
    let (_, p2, e2) = init(&mut c, "classic", 60_000);
    assert_eq!(
        produce_txn(&mut c, 11, "classic", "v2", txn_batch(1, p2, e2, 0, "c")).0,
        48
    );
}

#[test]
fn transaction_version_1_keeps_every_client_on_the_classic_path() {
    needs!(Need::Flags("--transaction-version 1"));
    let rill = Rill::start(&["--transaction-version", "1"]);
    let mut c = rill.client();
    assert_eq!(finalized_transaction_version(&mut c), Some(1));
    create_topic(&mut c, "v1", 1, &[]);
    let (_, pid, e) = init(&mut c, "tx", 60_000);
    assert_eq!(
        produce_txn(&mut c, 12, "tx", "v1", txn_batch(1, pid, e, 0, "x")).0,
        48
    );
    assert_eq!(add_partitions(&mut c, "tx", pid, e, "v1", &[0]), vec![0]);
    assert_eq!(
        produce_txn(&mut c, 12, "tx", "v1", txn_batch(1, pid, e, 0, "x")),
        (0, 0)
    );
    assert_eq!(end_v5(&mut c, "tx", pid, e, true), (0, pid, e));
}
