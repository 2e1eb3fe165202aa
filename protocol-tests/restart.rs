//! Durability across kill -9 and recovery of a torn segment tail.

use std::fs;
use std::path::{Path, PathBuf};

use kafka_protocol::records::Compression;

use crate::common::{batch, decode_records, Need, Rill};
use crate::ops::{create_topic, fetch, produce};

fn read_all(rill: &Rill, topic: &str, id: uuid::Uuid) -> Vec<(i64, i64)> {
    let mut c = rill.client();
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let pd = fetch(&mut c, 12, topic, id, 0, offset);
        assert_eq!(pd.error_code, 0);
        let recs = decode_records(pd.records.unwrap());
        if recs.is_empty() {
            return out;
        }
        offset = recs.last().unwrap().offset + 1;
        out.extend(recs.iter().map(|r| (r.offset, r.timestamp)));
    }
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "log") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn acknowledged_records_survive_kill_9_in_every_fsync_mode() {
    needs!(Need::Restart);
    for mode in ["never", "interval:60000", "always"] {
        let data = tempfile::tempdir().unwrap();
        let mut rill = Rill::start_on(data.path(), &["--fsync", mode]);
        let mut c = rill.client();
        let id = create_topic(&mut c, "durable", 1, &[("segment.bytes", "4096")]);
        for i in 0..40 {
            let codec = [Compression::None, Compression::Snappy][i % 2];
            let p = produce(&mut c, 9, "durable", id, 0, batch(5, i as i64 * 5, codec));
            assert_eq!((p.error_code, p.base_offset), (0, i as i64 * 5), "{mode}");
        }
        let before = read_all(&rill, "durable", id);
        assert_eq!(before.len(), 200);
        rill.kill9();
        let rill = Rill::start_on(data.path(), &["--fsync", mode]);
        assert_eq!(read_all(&rill, "durable", id), before, "{mode}");
        // Offsets continue where they left off.
        let mut c = rill.client();
        let p = produce(&mut c, 9, "durable", id, 0, batch(1, 0, Compression::None));
        assert_eq!(p.base_offset, 200);
    }
}

#[test]
fn torn_tail_is_truncated_on_restart() {
    needs!(Need::Restart);
    let data = tempfile::tempdir().unwrap();
    let mut rill = Rill::start_on(data.path(), &[]);
    let mut c = rill.client();
    let id = create_topic(&mut c, "torn", 1, &[]);
    for i in 0..10 {
        produce(&mut c, 9, "torn", id, 0, batch(3, i, Compression::Gzip));
    }
    let before = read_all(&rill, "torn", id);
    rill.kill9();
    let seg = segments(data.path()).pop().expect("a segment");
    let mut bytes = fs::read(&seg).unwrap();
    let extra = batch(4, 0, Compression::None);
    bytes.extend_from_slice(&extra[..extra.len() - 7]); // a half-written batch
    fs::write(&seg, &bytes).unwrap();
    let rill = Rill::start_on(data.path(), &[]);
    assert_eq!(read_all(&rill, "torn", id), before);
    let mut c = rill.client();
    let p = produce(&mut c, 9, "torn", id, 0, batch(1, 0, Compression::None));
    assert_eq!(p.base_offset, 30);
}

#[test]
fn clean_shutdown_exits_zero_and_keeps_data() {
    needs!(Need::Restart);
    let data = tempfile::tempdir().unwrap();
    let mut rill = Rill::start_on(data.path(), &[]);
    let mut c = rill.client();
    let id = create_topic(&mut c, "clean", 1, &[]);
    produce(&mut c, 9, "clean", id, 0, batch(3, 0, Compression::Lz4));
    drop(c);
    assert_eq!(rill.stop(), Some(0), "{}", rill.log());
    let rill = Rill::start_on(data.path(), &[]);
    assert_eq!(read_all(&rill, "clean", id).len(), 3);
}

#[test]
fn ephemeral_data_dir_is_removed_on_exit() {
    needs!(Need::Restart, Need::BrokerLog);
    let mut rill = Rill::start(&[]);
    let log = rill.log();
    let dir = log
        .split("data_dir=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .expect("data_dir in log")
        .to_string();
    assert!(Path::new(&dir).exists());
    assert_eq!(rill.stop(), Some(0));
    assert!(!Path::new(&dir).exists(), "{dir} left behind");
}
