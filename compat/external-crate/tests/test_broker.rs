//! A user's tests with rill::testing::TestBroker, built as a separate crate.

use std::time::Duration;

use rill::client::Cluster;
use rill::testing::{TestBroker, TestBrokerError};

#[tokio::test]
async fn a_test_broker_serves_a_topic_and_cleans_up() {
    let broker = TestBroker::start().await.expect("start");
    broker.create_topic("orders", 3).await.expect("create");
    let bootstrap = broker.bootstrap();
    assert!(bootstrap.starts_with("127.0.0.1:"), "{bootstrap}");

    // A Kafka client sees the topic through Metadata.
    let seen = tokio::task::spawn_blocking(move || {
        let mut cluster = Cluster::connect(&bootstrap, Duration::from_secs(5)).expect("connect");
        cluster.topic("orders").expect("metadata")
    })
    .await
    .expect("join");
    assert_eq!(seen.name, "orders");
    assert_eq!(seen.partitions.len(), 3);

    let dir = broker.data_dir().to_path_buf();
    let addr = broker.addr();
    assert!(dir.exists());
    drop(broker);
    assert!(!dir.exists(), "data deleted on drop");
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "stopped on drop"
    );
}

#[test]
fn a_blocking_test_gets_one_too() {
    let broker = TestBroker::start_blocking().expect("start");
    let mut cluster =
        Cluster::connect(&broker.bootstrap(), Duration::from_secs(5)).expect("connect");
    assert!(cluster.topic("events").is_err(), "no such topic yet");
    // CreateTopics through the client.
    let n = cluster
        .any()
        .ensure_topic("events", Some(2), true)
        .expect("create");
    assert_eq!(n, 2);
    assert_eq!(
        cluster.topic("events").expect("metadata").partitions.len(),
        2
    );
    assert_eq!(broker.partitions("events"), Some(2));
}

#[tokio::test]
async fn a_taken_port_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let err = TestBroker::builder()
        .port(port)
        .start()
        .await
        .expect_err("the port is taken");
    assert!(matches!(err, TestBrokerError::Bind { .. }), "{err:?}");
    assert!(err.to_string().contains(&port.to_string()), "{err}");
}
