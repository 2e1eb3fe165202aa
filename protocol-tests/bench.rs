//! `rill bench` against a real broker: the counts it reports match what the broker holds.

use std::process::Command;

use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::*;

use crate::common::{Client, Rill};
use crate::ops::{name, uniq};

/// Runs `rill bench <args> --json` and returns its JSON report.
fn bench(rill: &Rill, args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_rill"))
        .arg("bench")
        .args(args)
        .args(["--bootstrap", &rill.addr, "--json"])
        .output()
        .expect("run rill bench");
    assert!(
        out.status.success(),
        "rill bench {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
}

fn end_offsets(c: &mut Client, topic: &str, partitions: i32) -> Vec<i64> {
    let req = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(name(topic))
            .with_partitions(
                (0..partitions)
                    .map(|p| {
                        ListOffsetsPartition::default()
                            .with_partition_index(p)
                            .with_timestamp(-1)
                    })
                    .collect(),
            )]);
    let resp = c.send(7, &req);
    resp.topics[0]
        .partitions
        .iter()
        .map(|p| {
            assert_eq!(p.error_code, 0);
            p.offset
        })
        .collect()
}

#[test]
fn bench_produce_consume_and_e2e_counts_match_the_log() {
    let rill = Rill::start(&[]);
    let b = uniq("b");
    let b = b.as_str();
    // 3200 records = 50 batches of 64, spread over 2 connections and 3 partitions.
    let p = bench(
        &rill,
        &[
            "produce",
            "--topic",
            b,
            "--partitions",
            "3",
            "--connections",
            "2",
            "--depth",
            "4",
            "--records",
            "3200",
            "--record-size",
            "100",
        ],
    );
    assert_eq!(p["records"], 3200, "{p}");
    assert_eq!(p["errors"], 0);
    assert_eq!(
        p["latency"]["samples"], 50,
        "one ack latency per request: {p}"
    );
    let mut c = rill.client();
    let ends = end_offsets(&mut c, b, 3);
    assert_eq!(ends.iter().sum::<i64>(), 3200, "{ends:?}");

    // acks=0 with gzip: nothing answers the produces, the report still counts them.
    let p0 = bench(
        &rill,
        &[
            "produce",
            "--topic",
            b,
            "--acks",
            "0",
            "--compression",
            "gzip",
            "--records",
            "640",
            "--record-size",
            "100",
        ],
    );
    assert_eq!(p0["records"], 640, "{p0}");
    assert_eq!(end_offsets(&mut c, b, 3).iter().sum::<i64>(), 3840);

    let r = bench(&rill, &["consume", "--topic", b, "--connections", "2"]);
    assert_eq!(r["records"], 3840, "{r}");
    assert_eq!(r["partitions"], 3);

    // e2e at a fixed rate, compressed and not: every produced record is read back.
    for codec in ["none", "lz4"] {
        let e = bench(
            &rill,
            &[
                "e2e",
                "--topic",
                b,
                "--compression",
                codec,
                "--records",
                "640",
                "--rate",
                "20000",
                "--record-size",
                "64",
            ],
        );
        assert_eq!(e["produced_records"], 640, "{e}");
        assert_eq!(e["records"], 640, "{e}");
        assert_eq!(e["latency"]["samples"], 640, "{e}");
    }
    assert_eq!(end_offsets(&mut c, b, 3).iter().sum::<i64>(), 5120);
}
