//! The JSON API over real HTTP: an in-process broker, the HTTP listener on 127.0.0.1:0,
//! and HTTP/1.1 requests written on a TCP socket.

use std::sync::Arc;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::broker::{Broker, BrokerConfig};
use crate::http::HttpState;
use crate::log::batch;
use crate::meta::CommittedOffset;

struct Api {
    addr: std::net::SocketAddr,
    broker: Arc<Broker>,
    stop: tokio::sync::watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

impl Api {
    async fn start() -> Api {
        Api::start_with(|_| {}).await
    }

    async fn start_with(configure: impl FnOnce(&mut BrokerConfig)) -> Api {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = BrokerConfig::in_process(dir.path().to_path_buf());
        configure(&mut config);
        let broker = Broker::open(config).expect("open");
        let state = Arc::new(HttpState::default());
        state.set_broker(broker.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(crate::http::serve(listener, state, rx, None));
        Api {
            addr,
            broker,
            stop,
            _dir: dir,
        }
    }

    /// One request; (status, JSON body).
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call_as(None, method, path, body).await
    }

    /// One request with HTTP Basic credentials `user:password`.
    async fn call_as(
        &self,
        login: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        use base64::Engine;
        let mut s = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connect");
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let auth = login
            .map(|l| {
                let b64 = base64::engine::general_purpose::STANDARD.encode(l);
                format!("authorization: Basic {b64}\r\n")
            })
            .unwrap_or_default();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n{auth}content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.expect("write");
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).await.expect("read");
        let text = String::from_utf8(resp).expect("utf-8");
        let (head, body) = text.split_once("\r\n\r\n").expect("header end");
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        assert!(
            head.to_lowercase()
                .contains("content-type: application/json"),
            "{head}"
        );
        // Without chunked encoding (axum sets content-length for JSON bodies).
        (status, serde_json::from_str(body).expect("JSON body"))
    }

    async fn get(&self, path: &str) -> Value {
        let (status, v) = self.call("GET", path, None).await;
        assert_eq!(status, 200, "{path}: {v}");
        v
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_and_topic_admin() {
    let api = Api::start().await;
    let c = api.get("/api/cluster").await;
    assert_eq!(c["broker_id"], 1);
    assert_eq!(c["cluster_id"], api.broker.cluster_id.as_str());
    assert_eq!(c["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(c["listeners"][0]["security_protocol"], "PLAINTEXT");

    for (name, n) in [("orders", 3), ("payments", 1), ("orders-dlq", 2)] {
        let (status, t) = api
            .call(
                "POST",
                "/api/topics",
                Some(json!({"name": name, "partitions": n, "configs": {"retention.ms": "60000"}})),
            )
            .await;
        assert_eq!(status, 201, "{t}");
        assert_eq!(t["partitions"], n);
    }
    assert_eq!(
        api.broker.topic("orders").map(|t| t.partition_count()),
        Some(3)
    );

    let page = api.get("/api/topics?search=ORD&limit=1&offset=1").await;
    assert_eq!(page["total"], 2);
    assert_eq!(page["topics"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["topics"][0]["name"], "orders-dlq");

    let t = api.get("/api/topics/orders").await;
    assert_eq!(t["partitions"].as_array().map(Vec::len), Some(3));
    assert_eq!(t["partitions"][2]["end_offset"], 0);
    let retention = t["configs"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == "retention.ms"))
        .cloned()
        .expect("retention.ms");
    assert_eq!(retention["value"], "60000");
    assert_eq!(retention["source"], "DYNAMIC_TOPIC_CONFIG");

    let (status, e) = api
        .call("POST", "/api/topics", Some(json!({"name": "orders"})))
        .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (409, Some("TOPIC_ALREADY_EXISTS"))
    );
    let (status, e) = api
        .call("POST", "/api/topics", Some(json!({"name": "no/slash"})))
        .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (400, Some("INVALID_TOPIC_EXCEPTION"))
    );
    let (status, e) = api
        .call(
            "POST",
            "/api/topics",
            Some(json!({"name": "x", "configs": {"retention.ms": "soon"}})),
        )
        .await;
    assert_eq!((status, e["code"].as_str()), (400, Some("INVALID_CONFIG")));
    let (status, e) = api
        .call("POST", "/api/topics", Some(json!({"partitions": 1})))
        .await;
    assert_eq!((status, e["code"].as_str()), (400, Some("INVALID_REQUEST")));

    let (status, _) = api.call("DELETE", "/api/topics/payments", None).await;
    assert_eq!(status, 200);
    assert!(api.broker.topic("payments").is_none());
    let (status, e) = api.call("DELETE", "/api/topics/payments", None).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (404, Some("UNKNOWN_TOPIC_OR_PARTITION"))
    );
    let (status, _) = api.call("GET", "/api/nothing", None).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_produced_and_decoded() {
    let api = Api::start().await;
    api.broker
        .create_topic("events", 2, -1, Default::default(), false)
        .expect("create");
    let (status, r) = api
        .call(
            "POST",
            "/api/topics/events/messages",
            Some(json!({"partition": 1, "key": "k1", "value": "{\"a\":1}",
                        "headers": [{"key": "trace", "value": "t-1"}, {"key": "nil", "value": null}]})),
        )
        .await;
    assert_eq!(status, 201, "{r}");
    assert_eq!(
        (r["partition"].as_i64(), r["offset"].as_i64()),
        (Some(1), Some(0))
    );

    // A gzip batch of two records, one with a binary value, then a zstd one.
    let topic = api.broker.topic("events").expect("topic");
    let plain = batch::keyed_batch(
        &[(Some(b"bin"), Some(&[0xff, 0x00, 0x41])), (None, None)],
        5_000,
    );
    for codec in [1u8, 4] {
        let packed = batch::recompress(&plain, codec, None).expect("compress");
        api.broker
            .produce(&topic, 1, Some(&packed), -1, None)
            .await
            .expect("produce");
    }

    let m = api
        .get("/api/topics/events/messages?partition=1&offset=0&limit=10")
        .await;
    let msgs = m["messages"].as_array().cloned().unwrap_or_default();
    assert_eq!(msgs.len(), 5, "{m}");
    assert_eq!(m["end_offset"], 5);
    assert_eq!(m["next_offset"], 5);
    assert_eq!(msgs[0]["key"]["text"], "k1");
    assert_eq!(msgs[0]["value"]["text"], "{\"a\":1}");
    assert_eq!(msgs[0]["headers"][0]["key"], "trace");
    assert_eq!(msgs[0]["headers"][0]["value"]["text"], "t-1");
    assert_eq!(msgs[0]["headers"][1]["value"], Value::Null);
    assert_eq!(msgs[1]["offset"], 1);
    assert_eq!(msgs[1]["timestamp"], 5_000);
    assert_eq!(msgs[1]["value"]["base64"], "/wBB");
    assert!(msgs[1]["value"].get("text").is_none(), "not UTF-8: no text");
    assert_eq!(msgs[2]["key"], Value::Null);
    assert_eq!(msgs[2]["value"], Value::Null);
    assert_eq!(msgs[3]["offset"], 3);

    // Seek into the middle of a compressed batch, and by timestamp.
    let m = api
        .get("/api/topics/events/messages?partition=1&offset=2&limit=2")
        .await;
    let offsets: Vec<i64> = m["messages"]
        .as_array()
        .map(|v| v.iter().filter_map(|r| r["offset"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(offsets, vec![2, 3]);
    assert_eq!(m["next_offset"], 4);
    for ts in [5_000, 6_000] {
        let b = batch::recompress(&batch::simple_batch(2, ts, 1), 2, None).expect("snappy");
        api.broker
            .produce(&topic, 0, Some(&b), -1, None)
            .await
            .expect("produce");
    }
    let m = api
        .get("/api/topics/events/messages?partition=0&timestamp=5500")
        .await;
    assert_eq!(m["from_offset"], 2);
    assert_eq!(m["messages"][0]["timestamp"], 6_000);
    // No offset or timestamp: the newest records.
    let m = api
        .get("/api/topics/events/messages?partition=1&limit=1")
        .await;
    assert_eq!(m["messages"][0]["offset"], 4);

    let (status, e) = api
        .call("GET", "/api/topics/events/messages?partition=7", None)
        .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (404, Some("UNKNOWN_TOPIC_OR_PARTITION"))
    );
    // A keyed message without a partition goes where Kafka's default partitioner puts it.
    let (_, r) = api
        .call(
            "POST",
            "/api/topics/events/messages",
            Some(json!({"key": "k", "value": "v"})),
        )
        .await;
    assert_eq!(
        r["partition"].as_i64(),
        Some(crate::broker::produce::key_partition(b"k", 2) as i64)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_in_and_out_rates() {
    use crate::broker::fetch::{FetchSpec, PartitionSpec, TopicRef};
    let api = Api::start().await;
    let topic = api
        .broker
        .create_topic("rated", 1, -1, Default::default(), false)
        .expect("create");
    let first = api.get("/api/topics").await;
    assert_eq!(first["topics"][0]["in_records_per_sec"], Value::Null);
    let started = std::time::Instant::now();
    let b = batch::simple_batch(100, 1_000, 10);
    api.broker
        .produce(&topic, 0, Some(&b), -1, None)
        .await
        .expect("produce");
    let spec = FetchSpec {
        topics: vec![(
            TopicRef::Name("rated".into()),
            vec![PartitionSpec {
                partition: 0,
                offset: 0,
                max_bytes: 1 << 20,
                current_leader_epoch: -1,
            }],
        )],
        max_wait: std::time::Duration::ZERO,
        min_bytes: 1,
        max_bytes: 1 << 20,
        isolation: crate::log::Isolation::ReadUncommitted,
    };
    for _ in 0..2 {
        api.broker.fetch(&spec).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let t = api.get("/api/topics").await["topics"][0].clone();
    // 100 records in and 200 out, over the time since the first look (1.1 s or more).
    let secs = started.elapsed().as_secs_f64();
    let rin = t["in_records_per_sec"].as_f64().expect("in rate");
    let rout = t["out_records_per_sec"].as_f64().expect("out rate");
    assert!(rin <= 100.0 / 1.1 && rin >= 100.0 / (secs + 0.5), "{t}");
    assert!((rout - 2.0 * rin).abs() < 1e-6, "{t}");
    assert!(t["in_bytes_per_sec"].as_f64() > Some(0.0), "{t}");
    assert!(t["out_bytes_per_sec"].as_f64() > Some(0.0), "{t}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_lag_and_offset_reset() {
    let api = Api::start().await;
    let topic = api
        .broker
        .create_topic("t", 2, -1, Default::default(), false)
        .expect("create");
    for p in 0..2 {
        let b = batch::simple_batch(10, 1_000 * (p + 1) as i64, 3);
        api.broker
            .produce(&topic, p, Some(&b), -1, None)
            .await
            .expect("produce");
    }
    let commit = |offset| CommittedOffset {
        offset,
        leader_epoch: -1,
        metadata: None,
        commit_timestamp: 0,
        expire_timestamp: None,
    };
    api.broker
        .commit_offsets(
            "g",
            &[("t".into(), 0, commit(4)), ("t".into(), 1, commit(10))],
        )
        .expect("commit");

    let groups = api.get("/api/groups").await;
    assert_eq!(groups["total"], 1);
    assert_eq!(groups["groups"][0]["group_id"], "g");
    assert_eq!(groups["groups"][0]["state"], "Empty");
    assert_eq!(groups["groups"][0]["total_lag"], 6);

    let g = api.get("/api/groups/g").await;
    assert_eq!(g["total_lag"], 6);
    assert_eq!(g["offsets"][0]["committed_offset"], 4);
    assert_eq!(g["offsets"][0]["end_offset"], 10);
    assert_eq!(g["offsets"][0]["lag"], 6);
    assert_eq!(g["offsets"][1]["lag"], 0);

    let (status, r) = api
        .call(
            "POST",
            "/api/groups/g/offsets",
            Some(json!({"strategy": "earliest"})),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(api.get("/api/groups/g").await["total_lag"], 20);

    let (status, r) = api
        .call(
            "POST",
            "/api/groups/g/offsets",
            Some(json!({"strategy": "timestamp", "timestamp": 2_005, "topic": "t", "partitions": [1]})),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(
        r["offsets"],
        json!([{"topic": "t", "partition": 1, "offset": 5}])
    );
    let (status, r) = api
        .call(
            "POST",
            "/api/groups/g/offsets",
            Some(json!({"strategy": "offset", "offset": 7, "topic": "t", "partitions": [0], "dry_run": true})),
        )
        .await;
    assert_eq!((status, r["offsets"][0]["offset"].as_i64()), (200, Some(7)));
    let g = api.get("/api/groups/g").await;
    assert_eq!(
        g["offsets"][0]["committed_offset"], 0,
        "dry run changes nothing"
    );
    assert_eq!(g["offsets"][1]["committed_offset"], 5);

    let (status, e) = api
        .call(
            "POST",
            "/api/groups/g/offsets",
            Some(json!({"strategy": "sideways"})),
        )
        .await;
    assert_eq!((status, e["code"].as_str()), (400, Some("INVALID_REQUEST")));
    let (status, e) = api.call("GET", "/api/groups/nobody", None).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (404, Some("GROUP_ID_NOT_FOUND"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secured_console_needs_a_user_and_shows_what_acls_allow() {
    use crate::acl::{AclCreation, Operation, PatternType, Permission, ResourceType};
    let api = Api::start_with(|c| {
        c.acl_authorizer = true;
        c.super_users = vec!["User:admin".into()];
    })
    .await;
    api.broker
        .seed_users(&[
            ("alice".into(), "alice-pw".into()),
            ("admin".into(), "admin-pw".into()),
        ])
        .expect("users");
    for t in ["visible", "hidden"] {
        api.broker
            .create_topic(t, 1, -1, Default::default(), false)
            .expect("create");
    }
    let allow = |rt, name: &str, op| AclCreation {
        resource_type: Ok(rt),
        resource_name: name.into(),
        pattern_type: Ok(PatternType::Literal),
        principal: "User:alice".into(),
        host: "*".into(),
        operation: Ok(op),
        permission: Ok(Permission::Allow),
    };
    let made = api.broker.create_acls(vec![
        allow(ResourceType::Topic, "visible", Operation::Read),
        allow(ResourceType::Group, "alice-group", Operation::Read),
    ]);
    assert!(made.iter().all(Result::is_ok), "{made:?}");
    let commit = CommittedOffset {
        offset: 0,
        leader_epoch: -1,
        metadata: None,
        commit_timestamp: 0,
        expire_timestamp: None,
    };
    for g in ["alice-group", "other-group"] {
        api.broker
            .commit_offsets(g, &[("visible".into(), 0, commit.clone())])
            .expect("commit");
    }

    // No or bad credentials: 401 with a Basic challenge, for the API and the page.
    let (status, e) = api.call("GET", "/api/topics", None).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (401, Some("SASL_AUTHENTICATION_FAILED"))
    );
    let (status, _) = api
        .call_as(Some("alice:wrong"), "GET", "/api/topics", None)
        .await;
    assert_eq!(status, 401);

    // alice sees (READ implies DESCRIBE) only her topic and group.
    let alice = Some("alice:alice-pw");
    let (status, t) = api.call_as(alice, "GET", "/api/topics", None).await;
    assert_eq!(status, 200, "{t}");
    let names: Vec<&str> = t["topics"]
        .as_array()
        .map(|a| a.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, vec!["visible"]);
    let (_, g) = api.call_as(alice, "GET", "/api/groups", None).await;
    assert_eq!(g["total"], 1, "{g}");
    assert_eq!(g["groups"][0]["group_id"], "alice-group");
    let (_, c) = api.call_as(alice, "GET", "/api/cluster", None).await;
    assert_eq!(
        (c["principal"].as_str(), c["topics"].as_i64()),
        (Some("User:alice"), Some(1))
    );
    let (status, e) = api.call_as(alice, "GET", "/api/topics/hidden", None).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (403, Some("TOPIC_AUTHORIZATION_FAILED"))
    );
    let (status, _) = api
        .call_as(alice, "GET", "/api/topics/visible/messages", None)
        .await;
    assert_eq!(status, 200);
    let (status, e) = api
        .call_as(
            alice,
            "POST",
            "/api/topics/visible/messages",
            Some(json!({"value": "x"})),
        )
        .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (403, Some("TOPIC_AUTHORIZATION_FAILED"))
    );
    let (status, _) = api
        .call_as(alice, "POST", "/api/topics", Some(json!({"name": "mine"})))
        .await;
    assert_eq!(status, 403);
    let (status, e) = api
        .call_as(alice, "GET", "/api/groups/other-group", None)
        .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (403, Some("GROUP_AUTHORIZATION_FAILED"))
    );

    // The super user sees and may do everything.
    let admin = Some("admin:admin-pw");
    let (_, t) = api.call_as(admin, "GET", "/api/topics", None).await;
    assert_eq!(t["total"], 2);
    let (status, _) = api
        .call_as(admin, "POST", "/api/topics", Some(json!({"name": "mine"})))
        .await;
    assert_eq!(status, 201);
}
