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
        let b = simple_batch(per_batch, ts + (i * per_batch) as i64, 20);
        let h = validate_produce(&b, 1 << 20).unwrap();
        log.append(&b, &h, false).unwrap();
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
        let records = r.records.to_vec().unwrap();
        let mut at = 0;
        while at < records.len() {
            let h = BatchHeader::parse(&records[at..]).unwrap();
            let b = &records[at..at + h.total_len()];
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
    assert_eq!(
        BatchHeader::parse(&r.records.to_vec().unwrap())
            .unwrap()
            .base_offset,
        150
    );
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

fn segment_bases(dir: &Path) -> Vec<i64> {
    let mut v: Vec<i64> = fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".log").and_then(|s| s.parse().ok())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn delete_records_moves_the_start_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), cfg(), true).unwrap();
    append_n(&log, 100, 3, 1000);
    let before = segment_bases(dir.path());
    assert!(before.len() > 3);
    // Out of range and below-start requests.
    assert!(matches!(
        log.delete_records(301),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    assert_eq!(log.delete_records(0).unwrap(), 0);
    // Mid-segment: the start moves, whole segments below it go.
    let target = before[2] + 1;
    assert_eq!(log.delete_records(target).unwrap(), target);
    assert_eq!(log.offsets(), (target, 300));
    assert_eq!(segment_bases(dir.path())[0], before[2]);
    assert!(matches!(
        log.read(target - 1, 100, true, Isolation::ReadUncommitted),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    // The batch containing the start is still served whole.
    let r = log
        .read(target, 100, true, Isolation::ReadUncommitted)
        .unwrap();
    assert!(
        BatchHeader::parse(&r.records.to_vec().unwrap())
            .unwrap()
            .base_offset
            <= target
    );
    assert_eq!(
        log.offset_for_timestamp(0)
            .unwrap()
            .map(|r| r.0 >= before[2]),
        Some(true)
    );
    drop(log); // unclean
    let log = PartitionLog::open(dir.path(), cfg(), false).unwrap();
    assert_eq!(log.offsets(), (target, 300));
    // -1 means the high watermark: everything goes but the active segment.
    assert_eq!(log.delete_records(-1).unwrap(), 300);
    assert_eq!(segment_bases(dir.path()).len(), 1);
    // The start lies inside the active segment: it must survive a reopen.
    drop(log);
    let log = PartitionLog::open(dir.path(), cfg(), false).unwrap();
    assert_eq!(log.offsets(), (300, 300));
    append_n(&log, 1, 1, 5000);
    assert_eq!(log.offsets(), (300, 301));
    assert_eq!(read_all(&log), vec![(300, 5000)]);
}

#[test]
fn a_crash_between_persisting_the_start_and_deleting_segments_is_finished_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), cfg(), true).unwrap();
    append_n(&log, 100, 3, 1000);
    let before = segment_bases(dir.path());
    log.close().unwrap();
    drop(log);
    write_log_start(dir.path(), before[3]).unwrap();
    let log = PartitionLog::open(dir.path(), cfg(), true).unwrap();
    assert_eq!(log.offsets(), (before[3], 300));
    assert_eq!(segment_bases(dir.path()), before[3..].to_vec());
}

#[test]
fn retention_by_time_and_size_deletes_oldest_segments() {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), cfg(), true).unwrap();
    // Timestamps 1000.. for the first half, 100_000.. for the second.
    append_n(&log, 50, 3, 1000);
    append_n(&log, 50, 3, 100_000);
    let total = log.size_bytes();
    let bases = segment_bases(dir.path());
    // Nothing expired, no limit.
    assert_eq!(
        log.apply_retention(2000, 1_000_000, -1).unwrap().segments,
        0
    );
    // At now=200_000 with retention.ms 150_000 only segments whose newest record is
    // before 50_000 go: those holding the first half.
    let r = log.apply_retention(200_000, 150_000, -1).unwrap();
    assert!(r.segments > 0);
    let (start, end) = log.offsets();
    assert_eq!(start, r.log_start);
    assert!(
        start <= 150,
        "only first-half segments may go: start {start}"
    );
    assert!(read_all(&log)
        .iter()
        .all(|&(o, t)| o >= start && (t >= 100_000 || o < 150)));
    // Size: keep at most a third of the original bytes.
    let r = log
        .apply_retention(200_000, -1, (total / 3) as i64)
        .unwrap();
    assert!(r.segments > 0);
    assert!(log.size_bytes() <= total / 3 + 4096);
    assert_eq!(log.offsets().1, end);
    // Everything expired: the active segment is rolled, then all old ones go.
    let r = log.apply_retention(10_000_000, 1000, -1).unwrap();
    assert!(r.segments > 0);
    assert_eq!(log.offsets(), (300, 300));
    assert_eq!(segment_bases(dir.path()), vec![300]);
    assert!(bases.len() > 3);
    append_n(&log, 1, 2, 7);
    assert_eq!(read_all(&log), vec![(300, 7), (301, 8)]);
}

/// Reads are cut from batch headers and the sparse index without reading the data: the
/// result must be exactly the whole batches a full scan of the log would pick, for every
/// start offset and size limit, and the bytes must be those stored.
#[test]
fn reads_end_at_the_last_whole_batch_within_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_bytes: 64 * 1024,
        index_interval_bytes: 700,
        ..LogConfig::default()
    };
    let log = PartitionLog::open(dir.path(), config, true).unwrap();
    // Batches of varied sizes: (base offset, stored bytes) in order.
    let mut batches: Vec<(i64, Vec<u8>)> = Vec::new();
    for i in 0..120i64 {
        let b = simple_batch(1 + (i % 4) as i32, 1000 + i, 10 + (i as usize * 37) % 900);
        let h = validate_produce(&b, 1 << 20).unwrap();
        let a = log.append(&b, &h, false).unwrap();
        let mut stored = b.clone();
        batch::assign(&mut stored, a.base_offset, None);
        batches.push((a.base_offset, stored));
    }
    let (_, end) = log.offsets();
    for offset in (0..end).step_by(7) {
        for max in [0usize, 61, 500, 1500, 4000, 20_000, 1 << 20] {
            for min_one in [false, true] {
                let r = log
                    .read(offset, max, min_one, Isolation::ReadUncommitted)
                    .unwrap();
                // The expected cut: from the batch holding `offset`, whole batches within
                // `max`, and not past the segment it starts in.
                let first = batches
                    .iter()
                    .rposition(|(base, _)| *base <= offset)
                    .unwrap();
                let mut want = Vec::new();
                for (i, (_, b)) in batches[first..].iter().enumerate() {
                    let fits = want.len() + b.len() <= max || (i == 0 && min_one);
                    if !fits || (i > 0 && starts_segment(dir.path(), batches[first + i].0)) {
                        break;
                    }
                    want.extend_from_slice(b);
                }
                assert!(
                    r.records.to_vec().unwrap() == want,
                    "offset {offset} max {max} min_one {min_one}: got {} bytes, want {}",
                    r.records.len(),
                    want.len()
                );
            }
        }
    }
}

fn starts_segment(dir: &Path, offset: i64) -> bool {
    dir.join(format!("{offset:020}.log")).exists()
}

/// `append_many` gives every batch the result `append` would, one after another, and
/// leaves the same bytes on disk: idempotent producers in and out of sequence, a retry of
/// a batch in the same group, plain batches, and groups that cross segment rolls.
#[test]
fn append_many_matches_appending_one_by_one() {
    let config = LogConfig {
        segment_bytes: 8 * 1024,
        index_interval_bytes: 500,
        ..LogConfig::default()
    };
    let (one_dir, many_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let one = PartitionLog::open(one_dir.path(), config.clone(), true).unwrap();
    let many = PartitionLog::open(many_dir.path(), config, true).unwrap();
    let mut batches = Vec::new();
    let mut seq = [0i32; 3];
    for i in 0..60usize {
        let mut b = simple_batch(1 + (i % 5) as i32, 1000 + i as i64, 50 + (i * 53) % 700);
        let pid = i % 4; // producer 3 is not idempotent
        if pid < 3 {
            let h = BatchHeader::parse(&b).unwrap();
            let mut s = seq[pid];
            if i == 17 {
                s += 5; // out of sequence: refused, and the producer's next is unchanged
            } else {
                seq[pid] += h.record_count;
            }
            batch::set_producer(&mut b, 100 + pid as i64, 0, s, false);
        }
        batches.push(b);
    }
    // A retry of an earlier batch of the same group comes back as a duplicate.
    batches.insert(30, batches[26].clone());
    let parsed: Vec<(Vec<u8>, BatchHeader)> = batches
        .iter()
        .map(|b| (b.clone(), validate_produce(b, 1 << 20).unwrap()))
        .collect();
    let mut want = Vec::new();
    for (b, h) in &parsed {
        want.push(
            one.append(b, h, false)
                .map(|a| (a.base_offset, a.duplicate))
                .map_err(|e| e.to_string()),
        );
    }
    let mut got = Vec::new();
    for chunk in parsed.chunks(7) {
        let items: Vec<(&[u8], BatchHeader)> = chunk.iter().map(|(b, h)| (&b[..], *h)).collect();
        got.extend(many.append_many(&items).into_iter().map(|r| {
            r.map(|a| (a.base_offset, a.duplicate))
                .map_err(|e| e.to_string())
        }));
    }
    assert_eq!(got, want);
    assert!(want.iter().any(|r| r.is_err()) && want.iter().any(|r| matches!(r, Ok((_, true)))));
    assert_eq!(many.offsets(), one.offsets());
    assert_eq!(
        segment_bases(many_dir.path()),
        segment_bases(one_dir.path())
    );
    assert!(segment_bases(many_dir.path()).len() > 2);
    let (_, end) = one.offsets();
    let mut off = 0;
    while off < end {
        let a = one
            .read(off, 1 << 20, true, Isolation::ReadUncommitted)
            .unwrap();
        let b = many
            .read(off, 1 << 20, true, Isolation::ReadUncommitted)
            .unwrap();
        let (a, b) = (a.records.to_vec().unwrap(), b.records.to_vec().unwrap());
        assert!(a == b, "bytes differ from offset {off}");
        let mut at = 0;
        while at < a.len() {
            let h = BatchHeader::parse(&a[at..]).unwrap();
            off = h.last_offset() + 1;
            at += h.total_len();
        }
    }
    // Both reopen to the same state (producer state included: the next batch of producer
    // 0 is in sequence on both).
    drop((one, many));
    for dir in [one_dir.path(), many_dir.path()] {
        let log = PartitionLog::open(dir, LogConfig::default(), false).unwrap();
        let mut b = simple_batch(1, 5000, 10);
        batch::set_producer(&mut b, 100, 0, seq[0], false);
        let h = validate_produce(&b, 1 << 20).unwrap();
        assert!(log.append(&b, &h, false).is_ok());
    }
}

/// Found by fuzzing (fuzz/regressions/segment_recovery/): recovery kept a first batch
/// whose offsets lie below the segment's base (or beyond what its index can address), so
/// the log's end went backwards and appends landed where reads could not find them.
#[test]
fn recovery_drops_batches_outside_the_segment() {
    let dir = tempfile::tempdir().unwrap();
    let stray = |base: i64| {
        let mut b = simple_batch(2, 1_700_000_000_000, 5);
        let head = batch::assigned_header(&b, base, None);
        b[..batch::HEADER_LEN].copy_from_slice(&head);
        b
    };
    // Segment 100 holding a batch at offset 0, and one at i64::MAX - 1 after it.
    let mut bytes = stray(0);
    bytes.extend(stray(i64::MAX - 1));
    std::fs::write(dir.path().join("00000000000000000100.log"), &bytes).unwrap();
    let log = PartitionLog::open(dir.path(), cfg(), false).unwrap();
    assert_eq!(log.offsets(), (100, 100));
    append_n(&log, 1, 2, 1_700_000_000_000);
    assert_eq!(log.offsets(), (100, 102));
    assert_eq!(read_all(&log).len(), 2);

    // A batch whose last offset is past what the segment can address.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("00000000000000000000.log"),
        stray(i64::MAX - 1),
    )
    .unwrap();
    let log = PartitionLog::open(dir.path(), cfg(), false).unwrap();
    assert_eq!(log.offsets(), (0, 0));
}
