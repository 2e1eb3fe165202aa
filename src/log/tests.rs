use super::batch::{simple_batch, validate_produce};
use super::*;

fn cfg() -> LogConfig {
    LogConfig {
        segment_bytes: 4096,
        index_interval_bytes: 256,
        segment_index_bytes: 4096,
        ..LogConfig::default()
    }
}

fn append_n(log: &PartitionLog, batches: i32, per_batch: i32, ts: i64) {
    for i in 0..batches {
        let mut b = simple_batch(per_batch, ts + (i * per_batch) as i64, 20);
        let h = validate_produce(&b, 1 << 20).unwrap();
        log.append(&mut b, &h, false).unwrap();
    }
}

fn read_all(log: &PartitionLog) -> Vec<(i64, i64)> {
    let (start, end) = log.offsets();
    let mut out = Vec::new();
    let mut off = start;
    while off < end {
        let r = log
            .read(off, 1 << 20, true, Isolation::ReadUncommitted)
            .unwrap();
        let mut at = 0;
        while at < r.records.len() {
            let h = BatchHeader::parse(&r.records[at..]).unwrap();
            let b = &r.records[at..at + h.total_len()];
            out.extend(batch::record_timestamps(b).unwrap());
            off = h.last_offset() + 1;
            at += h.total_len();
        }
    }
    out
}

#[test]
fn append_read_roll_and_reopen_clean() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), cfg(), true).unwrap();
    append_n(&log, 100, 3, 1000);
    assert_eq!(log.offsets(), (0, 300));
    let segs = fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().unwrap() == "log")
        .count();
    assert!(segs > 3, "expected several segments, got {segs}");
    let all = read_all(&log);
    assert_eq!(all.len(), 300);
    assert!(all
        .iter()
        .enumerate()
        .all(|(i, &(o, t))| o == i as i64 && t == 1000 + i as i64));
    // a read from the middle of a batch returns that whole batch
    let r = log.read(151, 1, true, Isolation::ReadUncommitted).unwrap();
    assert_eq!(BatchHeader::parse(&r.records).unwrap().base_offset, 150);
    // not min_one and too small: nothing
    assert!(log
        .read(151, 1, false, Isolation::ReadUncommitted)
        .unwrap()
        .records
        .is_empty());
    log.close().unwrap();
    drop(log);
    let log = PartitionLog::open(dir.path(), cfg(), true).unwrap();
    assert_eq!(log.offsets(), (0, 300));
    assert_eq!(read_all(&log), all);
    assert_eq!(
        log.offset_for_timestamp(1000 + 157).unwrap(),
        Some((157, 1157))
    );
    assert_eq!(log.max_timestamp_offset().unwrap(), Some((299, 1299)));
}

#[test]
fn timestamps_lookup() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), cfg(), true).unwrap();
    append_n(&log, 50, 2, 10_000);
    assert_eq!(log.offset_for_timestamp(0).unwrap(), Some((0, 10_000)));
    assert_eq!(
        log.offset_for_timestamp(10_033).unwrap(),
        Some((33, 10_033))
    );
    assert_eq!(log.offset_for_timestamp(10_100).unwrap(), None);
    assert!(matches!(
        log.read(101, 10, true, Isolation::ReadUncommitted),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    assert!(log
        .read(100, 10, true, Isolation::ReadUncommitted)
        .unwrap()
        .records
        .is_empty());
}

#[test]
fn unclean_reopen_truncates_torn_tail_and_rebuilds_index() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), cfg(), true).unwrap();
    append_n(&log, 10, 2, 0);
    let expected = read_all(&log);
    drop(log); // no close: like a crash (indexes are not trimmed)
    let mut segs: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().unwrap() == "log")
        .collect();
    segs.sort();
    let active = segs.last().unwrap();
    let mut bytes = fs::read(active).unwrap();
    let torn = simple_batch(3, 0, 20);
    bytes.extend_from_slice(&torn[..torn.len() / 2]); // a half-written batch
    fs::write(active, &bytes).unwrap();
    let log = PartitionLog::open(dir.path(), cfg(), false).unwrap();
    assert_eq!(log.offsets(), (0, 20));
    assert_eq!(read_all(&log), expected);
    append_n(&log, 1, 1, 0);
    assert_eq!(log.offsets(), (0, 21));
}

#[test]
fn corrupt_index_is_rebuilt_even_after_clean_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), cfg(), true).unwrap();
    append_n(&log, 60, 2, 0);
    let expected = read_all(&log);
    log.close().unwrap();
    drop(log);
    for e in fs::read_dir(dir.path()).unwrap() {
        let p = e.unwrap().path();
        if p.extension().unwrap() == "index" {
            fs::write(&p, [0xffu8; 24]).unwrap();
        }
    }
    let log = PartitionLog::open(dir.path(), cfg(), true).unwrap();
    assert_eq!(read_all(&log), expected);
}
