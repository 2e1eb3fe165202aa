//! Dev-environment start-up costs: an in-process `rill::testing::TestBroker` from start to
//! ready and to stopped-and-deleted, and with a topic created. `cargo bench --bench dev_env`.
//! (`docker run` to the first answered request: scripts/container-bench.sh.)

use criterion::{criterion_group, criterion_main, Criterion};
use rill::testing::TestBroker;

fn test_broker(c: &mut Criterion) {
    let mut g = c.benchmark_group("test_broker");
    g.sample_size(20);
    g.bench_function("start_and_drop", |x| {
        x.iter(|| {
            let b = TestBroker::start_blocking().expect("start");
            let port = b.addr().port();
            drop(b);
            port
        })
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    g.bench_function("start_create_topic_3_drop", |x| {
        x.iter(|| {
            rt.block_on(async {
                let b = TestBroker::start().await.expect("start");
                b.create_topic("t", 3).await.expect("create");
                b.partitions("t")
            })
        })
    });
    g.finish();
}

criterion_group!(benches, test_broker);
criterion_main!(benches);
