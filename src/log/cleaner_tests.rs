use std::fs;
use std::path::Path;

use super::batch::{self, keyed_batch, validate_produce, BatchHeader};
use super::cleaner::CleanerConfig;
use super::*;

fn cfg() -> LogConfig {
    LogConfig {
        segment_bytes: 2048,
        index_interval_bytes: 256,
        segment_index_bytes: 4096,
        ..LogConfig::default()
    }
}

fn cc() -> CleanerConfig {
    CleanerConfig {
        min_dirty_ratio: 0.0,
        min_lag_ms: 0,
        max_lag_ms: i64::MAX,
        delete_retention_ms: i64::MAX,
        map_entries: 1 << 20,
    }
}

/// Appends one batch of (key, value) records stamped `ts`.
fn put(log: &PartitionLog, recs: &[(&str, Option<&str>)], ts: i64) {
    let r: Vec<batch::KeyValue> = recs
        .iter()
        .map(|(k, v)| (Some(k.as_bytes()), v.map(str::as_bytes)))
        .collect();
    let b = keyed_batch(&r, ts);
    let h = validate_produce(&b, 1 << 20).unwrap();
    log.append(&b, &h, false).unwrap();
}

/// Every stored batch from the log start to the end, as fetches return them.
fn stored_batches(log: &PartitionLog) -> Vec<Vec<u8>> {
    let (start, end) = log.offsets();
    let mut out = Vec::new();
    let mut off = start;
    while off < end {
        let r = log
            .read(off, 1 << 20, true, Isolation::ReadUncommitted)
            .unwrap();
        let records = r.records.to_vec().unwrap();
        if records.is_empty() {
            break;
        }
        let mut at = 0;
        while at < records.len() {
            let h = BatchHeader::parse(&records[at..]).unwrap();
            let b = &records[at..at + h.total_len()];
            batch::validate_batch(b).expect("stored batches stay valid");
            out.push(b.to_vec());
            off = h.last_offset() + 1;
            at += h.total_len();
        }
    }
    out
}

/// Every record: (offset, key, value or None for a tombstone); control batches skipped.
fn read_kv(log: &PartitionLog) -> Vec<(i64, String, Option<String>)> {
    let start = log.offsets().0;
    let mut out = Vec::new();
    for b in stored_batches(log) {
        let h = BatchHeader::parse(&b).unwrap();
        if h.is_control() {
            continue;
        }
        let sec = batch::records_section(&b, &h).unwrap();
        for v in batch::parse_records(&sec, h.record_count).unwrap() {
            let o = h.base_offset + v.offset_delta;
            if o >= start {
                let key = String::from_utf8(v.key.unwrap().to_vec()).unwrap();
                let value = (!v.tombstone).then(|| value_of(v.raw));
                out.push((o, key, value));
            }
        }
    }
    out
}

/// The value of a raw record (its last field before the header count).
fn value_of(raw: &[u8]) -> String {
    // length, attributes, ts delta, offset delta, key len, key, value len, value, 0 headers
    let (_, n) = batch::read_varint(raw).unwrap();
    let mut at = n + 1;
    for _ in 0..2 {
        at += batch::read_varint(&raw[at..]).unwrap().1;
    }
    let (kl, n) = batch::read_varint(&raw[at..]).unwrap();
    at += n + kl.max(0) as usize;
    let (vl, n) = batch::read_varint(&raw[at..]).unwrap();
    at += n;
    String::from_utf8(raw[at..at + vl as usize].to_vec()).unwrap()
}

fn segment_count(dir: &Path) -> usize {
    fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".log")
        })
        .count()
}

/// 10 keys written 6 times each over many small segments, then one more segment.
fn fill(log: &PartitionLog) {
    for round in 0..6 {
        for k in 0..10 {
            let v = format!("v{round}-{}", "x".repeat(100));
            put(log, &[(&format!("k{k}"), Some(&v))], 1000 + round);
        }
    }
}

#[test]
fn keeps_the_latest_record_per_key_at_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), cfg(), true).unwrap();
    fill(&log);
    put(&log, &[("pad", Some(&"p".repeat(1900)))], 2000); // seals the last fill segment
    put(&log, &[("k3", Some("last"))], 2000); // lands in the active segment
    let before = read_kv(&log);
    let segs = segment_count(dir.path());
    assert!(segs > 4, "{segs}");
    let stats = log.clean(10_000, &cc()).unwrap().expect("cleaned");
    assert!(stats.records_removed >= 40, "{stats:?}");
    let after = read_kv(&log);
    // Each key once (k3 twice: cleaned part keeps nothing of it, active keeps "last").
    for k in 0..10 {
        let key = format!("k{k}");
        let latest = before.iter().rev().find(|r| r.1 == key).unwrap();
        assert!(after.contains(latest), "{key}: latest {latest:?} kept");
        let n = after.iter().filter(|r| r.1 == key).count();
        // The active segment is not cleaned, nor counted in the map: k3's newest record
        // there leaves the cleaned part's latest k3 in place, as in Kafka.
        assert_eq!(n, if k == 3 { 2 } else { 1 }, "{key}");
    }
    assert_eq!(log.offsets(), (0, 62));
    assert!(segment_count(dir.path()) <= segs);
    // A second pass has nothing dirty.
    assert_eq!(log.clean(10_000, &cc()).unwrap(), None);
    // Survives clean and unclean reopen.
    drop(log);
    let log = PartitionLog::open(dir.path(), cfg(), false).unwrap();
    assert_eq!(read_kv(&log), after);
    assert!(!dir.path().join(".cleaning").exists());
}

#[test]
fn dirty_ratio_and_compaction_lag_gate_cleaning() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), cfg(), true).unwrap();
    fill(&log);
    put(&log, &[("z", Some("z"))], 5000);
    let mut c = cc();
    c.min_lag_ms = 1_000_000; // every segment is too young at now=10_000
    assert_eq!(log.clean(10_000, &c).unwrap(), None);
    c.min_lag_ms = 0;
    assert!(log.clean(10_000, &c).unwrap().is_some());
    // Little new dirt: below a 0.9 ratio nothing happens, unless max lag is exceeded.
    for k in 0..3 {
        put(&log, &[(&format!("k{k}"), Some(&"y".repeat(900)))], 20_000);
    }
    put(&log, &[("z", Some("z"))], 30_000);
    c.min_dirty_ratio = 0.99;
    assert_eq!(log.clean(40_000, &c).unwrap(), None);
    c.max_lag_ms = 5_000;
    assert!(log.clean(40_000, &c).unwrap().is_some());
}

#[test]
fn tombstones_go_after_delete_retention() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), cfg(), true).unwrap();
    fill(&log);
    put(&log, &[("k1", None), ("k2", None)], 3000);
    put(&log, &[("pad", Some(&"p".repeat(1800)))], 3000);
    put(&log, &[("pad2", Some("p"))], 3000);
    let before = read_kv(&log);
    let st = log.clean(10_000, &cc()).unwrap().expect("cleaned");
    let kv = read_kv(&log);
    assert!(
        kv.iter().any(|r| r.1 == "k1" && r.2.is_none()),
        "tombstone kept while young: {st:?}\n{before:?}\n{kv:?}"
    );
    assert!(!kv.iter().any(|r| r.1 == "k1" && r.2.is_some()));
    let mut c = cc();
    c.delete_retention_ms = 1000;
    put(&log, &[("pad3", Some(&"p".repeat(1800)))], 3000);
    put(&log, &[("pad4", Some("p"))], 3000);
    log.clean(10_000, &c).unwrap().expect("cleaned again");
    let kv = read_kv(&log);
    assert!(!kv.iter().any(|r| r.1 == "k1" || r.1 == "k2"), "{kv:?}");
    assert!(kv.iter().any(|r| r.1 == "k5"));
}

#[test]
fn compressed_batches_are_rebuilt_with_their_codec() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), cfg(), true).unwrap();
    for codec in [1u8, 2, 3, 4] {
        let r: Vec<batch::KeyValue> = vec![
            (Some(b"a"), Some(b"old-a")),
            (Some(b"b"), Some(b"keep-b")),
            (Some(b"c"), Some(b"old-c")),
        ];
        let plain = keyed_batch(&r, 100);
        let b = batch::recompress(&plain, codec, None).unwrap();
        let h = validate_produce(&b, 1 << 20).unwrap();
        log.append(&b, &h, false).unwrap();
        put(&log, &[("a", Some("new-a")), ("c", Some("new-c"))], 200);
        put(&log, &[("pad", Some(&"p".repeat(1900)))], 300);
    }
    put(&log, &[("end", Some("e"))], 400);
    log.clean(10_000, &cc()).unwrap().expect("cleaned");
    let kv = read_kv(&log);
    let b: Vec<_> = kv.iter().filter(|r| r.1 == "b").collect();
    assert_eq!(b.len(), 1, "{kv:?}");
    assert_eq!(b[0].2.as_deref(), Some("keep-b"));
    assert_eq!(kv.iter().filter(|r| r.1 == "a").count(), 1);
    assert!(kv
        .iter()
        .all(|r| r.1 != "a" || r.2.as_deref() == Some("new-a")));
}

#[test]
fn aborted_transactions_are_removed_and_markers_kept() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), cfg(), true).unwrap();
    let r: Vec<batch::KeyValue> = vec![(Some(b"t"), Some(b"aborted"))];
    let mut b = keyed_batch(&r, 100);
    batch::set_producer(&mut b, 42, 0, 0, true);
    let h = validate_produce(&b, 1 << 20).unwrap();
    log.append(&b, &h, true).unwrap();
    log.append_marker(42, 0, 0, false).unwrap();
    put(&log, &[("u", Some("plain"))], 100);
    put(&log, &[("pad", Some(&"p".repeat(1900)))], 100);
    put(&log, &[("end", Some("e"))], 100);
    // The marker carries the wall clock: clean as of now.
    log.clean(now_ms() + 1, &cc()).unwrap().expect("cleaned");
    let kv = read_kv(&log);
    assert!(!kv.iter().any(|r| r.1 == "t"), "{kv:?}");
    assert!(kv.iter().any(|r| r.1 == "u"));
    // The abort marker (offset 1) is still there.
    let r = log
        .read(1, 1 << 20, true, Isolation::ReadUncommitted)
        .unwrap();
    let h = BatchHeader::parse(&r.records.to_vec().unwrap()).unwrap();
    assert!(h.is_control() && h.base_offset == 1);
}

#[test]
fn a_full_offset_map_cleans_in_several_passes() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), cfg(), true).unwrap();
    for round in 0..2 {
        for k in 0..30 {
            put(
                &log,
                &[(&format!("k{k}"), Some(&"v".repeat(100)))],
                1000 + round,
            );
        }
    }
    put(&log, &[("z", Some("z"))], 5000);
    let mut c = cc();
    c.map_entries = 15;
    let mut passes = 0;
    while let Some(s) = log.clean(10_000, &c).unwrap() {
        passes += 1;
        assert!(passes < 50);
        if !s.map_full {
            break;
        }
    }
    assert!(passes > 1, "{passes}");
    let kv = read_kv(&log);
    for k in 0..25 {
        assert_eq!(
            kv.iter().filter(|r| r.1 == format!("k{k}")).count(),
            1,
            "k{k}: {kv:?}"
        );
    }
}

#[test]
fn an_interrupted_clean_leaves_old_or_new_segments_never_a_mix() {
    // Reference: the same data cleaned without interruption.
    let a = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(a.path(), cfg(), true).unwrap();
    fill(&log);
    put(&log, &[("z", Some("z"))], 5000);
    let original = read_kv(&log);
    log.clean(10_000, &cc()).unwrap().unwrap();
    let cleaned = read_kv(&log);
    log.close().unwrap();
    drop(log);
    let mut cleaned_first: Vec<_> = fs::read_dir(a.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".log"))
        .collect();
    cleaned_first.sort();

    // Crash before the commit point: a half-written .cleaning directory is dropped.
    let b = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(b.path(), cfg(), true).unwrap();
    fill(&log);
    put(&log, &[("z", Some("z"))], 5000);
    drop(log);
    fs::create_dir(b.path().join(".cleaning")).unwrap();
    fs::write(b.path().join(".cleaning/00000000000000000000.log"), b"junk").unwrap();
    let log = PartitionLog::open(b.path(), cfg(), false).unwrap();
    assert_eq!(read_kv(&log), original);
    assert!(!b.path().join(".cleaning").exists());
    log.close().unwrap();
    drop(log);

    // Crash after the commit point: the swap directory holds the cleaned first group;
    // open deletes the segments it replaces and installs it.
    let swap = b.path().join(".swap-0");
    fs::create_dir(&swap).unwrap();
    fs::copy(
        a.path().join(&cleaned_first[0]),
        swap.join("00000000000000000000.log"),
    )
    .unwrap();
    let log = PartitionLog::open(b.path(), cfg(), false).unwrap();
    assert!(!swap.exists());
    let kv = read_kv(&log);
    // Every key's latest value is there exactly once per offset, nothing duplicated.
    let mut offsets: Vec<i64> = kv.iter().map(|r| r.0).collect();
    offsets.dedup();
    assert_eq!(offsets.len(), kv.len());
    for r in &cleaned {
        assert!(kv.contains(r), "{r:?} missing");
    }
    assert!(kv.iter().all(|r| original.contains(r)));
}

#[test]
fn markers_go_with_their_transactions_data_after_delete_retention() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), cfg(), true).unwrap();
    let txn = |pid: i64, seq: i32, key: &[u8], value: &[u8]| {
        let r: Vec<batch::KeyValue> = vec![(Some(key), Some(value))];
        let mut b = keyed_batch(&r, 100);
        batch::set_producer(&mut b, pid, 0, seq, true);
        let h = validate_produce(&b, 1 << 20).unwrap();
        log.append(&b, &h, true).unwrap();
    };
    // Producer 7: aborted. Producer 8: committed, its key kept. Producer 9: committed,
    // its key superseded later.
    txn(7, 0, b"a", b"aborted");
    log.append_marker(7, 0, 0, false).unwrap();
    txn(8, 0, b"b", b"committed-kept");
    log.append_marker(8, 0, 0, true).unwrap();
    txn(9, 0, b"c", b"committed-old");
    log.append_marker(9, 0, 0, true).unwrap();
    put(&log, &[("c", Some("new-c"))], 100);
    put(&log, &[("pad", Some(&"p".repeat(1900)))], 100);
    put(&log, &[("end", Some("e"))], 100);
    let mut c = cc();
    c.delete_retention_ms = 0;
    log.clean(now_ms() + 1, &c).unwrap().expect("cleaned");
    let markers: Vec<(i64, i64)> = stored_batches(&log)
        .iter()
        .map(|b| BatchHeader::parse(b).unwrap())
        .filter(|h| h.is_control())
        .map(|h| (h.producer_id, h.base_offset))
        .collect();
    assert_eq!(markers, vec![(8, 3)], "only the marker of kept data stays");
    let kv = read_kv(&log);
    assert!(kv
        .iter()
        .any(|r| r.1 == "b" && r.2.as_deref() == Some("committed-kept")));
    assert!(!kv
        .iter()
        .any(|r| r.1 == "a" || r.2.as_deref() == Some("committed-old")));
}
