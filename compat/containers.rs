//! Container tests: the `rill:dev` image (scripts/image.sh) started for real, through the
//! Testcontainers module (`rill::containers`) and through `docker run`, and used with an
//! off-the-shelf client (kcat). Host network and 127.0.0.1 only.
//!
//!   scripts/image.sh && cargo test --release --features testcontainers --test containers
//!
//! Needs a Docker engine and the image; scripts/test.sh starts dockerd and builds it.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use rill::containers::{Rill, READY_LINE};

const IMAGE: &str = "rill:dev";

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    out
}

fn docker(args: &[&str]) -> Output {
    run(Command::new("docker").args(args))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// kcat producing `key:value` lines to `topic`.
fn kcat_produce(bootstrap: &str, topic: &str, lines: &[&str]) {
    let mut child = Command::new("kcat")
        .args(["-b", bootstrap, "-t", topic, "-P", "-K:"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kcat (scripts/test.sh installs it)");
    let mut stdin = child.stdin.take().expect("stdin");
    for l in lines {
        writeln!(stdin, "{l}").expect("write to kcat");
    }
    drop(stdin);
    let out = child.wait_with_output().expect("kcat");
    assert!(out.status.success(), "kcat -P: {}", text(&out.stderr));
}

/// kcat reading `topic` from the beginning to its end, as `key:value` lines.
fn kcat_consume(bootstrap: &str, topic: &str) -> Vec<String> {
    let out = run(Command::new("kcat").args([
        "-b",
        bootstrap,
        "-t",
        topic,
        "-C",
        "-e",
        "-o",
        "beginning",
        "-q",
        "-f",
        "%k:%s\n",
    ]));
    assert!(out.status.success(), "kcat -C: {}", text(&out.stderr));
    text(&out.stdout).lines().map(str::to_string).collect()
}

/// kcat's metadata of one topic: its partition count.
fn kcat_partitions(bootstrap: &str, topic: &str) -> usize {
    let out = run(Command::new("kcat").args(["-b", bootstrap, "-L", "-t", topic]));
    assert!(out.status.success(), "kcat -L: {}", text(&out.stderr));
    let listing = text(&out.stdout);
    listing
        .lines()
        .filter(|l| l.trim_start().starts_with("partition "))
        .count()
}

/// The host port a `docker run` container says it listens on (its ready line).
fn wait_ready_line(container: &str, timeout: Duration) -> String {
    let start = Instant::now();
    loop {
        let out = docker(&["logs", container]);
        if let Some(addr) = text(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix(READY_LINE))
        {
            return addr.trim().to_string();
        }
        assert!(
            start.elapsed() < timeout,
            "no ready line from {container}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Removes a `docker run` container when the test ends, passed or not.
struct Removed(String);
impl Drop for Removed {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", &self.0]);
    }
}

fn unique(name: &str) -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("rill-test-{name}-{}-{n}", std::process::id())
}

#[test]
fn the_image_is_small_non_root_shell_free_and_has_a_volume() {
    let out = docker(&["image", "inspect", IMAGE]);
    assert!(
        out.status.success(),
        "no {IMAGE} (run scripts/image.sh): {}",
        text(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("inspect JSON");
    let img = &v[0];
    let size = img["Size"].as_u64().expect("Size");
    assert!(size <= 20 * 1024 * 1024, "image is {size} bytes");
    let config = &img["Config"];
    assert_eq!(config["User"], "65532:65532", "non-root");
    assert_eq!(config["Entrypoint"], serde_json::json!(["/rill", "serve"]));
    assert!(config["Volumes"].get("/var/lib/rill").is_some(), "{config}");
    // The health check runs the binary itself: the image has no shell.
    assert_eq!(
        config["Healthcheck"]["Test"],
        serde_json::json!(["CMD", "/rill", "health"])
    );
    // One layer per COPY and nothing else: no base image underneath.
    let layers = img["RootFS"]["Layers"].as_array().expect("layers").len();
    assert_eq!(layers, 3, "{}", img["RootFS"]);
}

#[tokio::test]
async fn testcontainers_module_serves_kcat() {
    let rill = Rill::default()
        .with_default_partitions(2)
        .start()
        .await
        .expect("start the rill container");
    let bootstrap = rill.bootstrap().to_string();
    assert!(bootstrap.starts_with("127.0.0.1:"), "{bootstrap}");
    let lines = ["k1:hello", "k2:from", "k3:kcat"];
    kcat_produce(&bootstrap, "tc-topic", &lines);
    let mut got = kcat_consume(&bootstrap, "tc-topic");
    got.sort();
    assert_eq!(got, lines);
    assert_eq!(
        kcat_partitions(&bootstrap, "tc-topic"),
        2,
        "auto-created with the module's partitions"
    );
}

#[tokio::test]
async fn the_container_becomes_healthy() {
    let rill = Rill::default().start().await.expect("start");
    let id = rill.container().id().to_string();
    let start = Instant::now();
    let status = loop {
        let out = docker(&["inspect", "--format", "{{.State.Health.Status}}", &id]);
        let status = text(&out.stdout).trim().to_string();
        if status != "starting" || start.elapsed() > Duration::from_secs(30) {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(status, "healthy");
}

#[test]
fn kafka_compose_env_names_configure_the_container() {
    // A port for both KAFKA_LISTENERS and KAFKA_ADVERTISED_LISTENERS, as a compose file
    // gives them: free now, taken by the container below.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let name = unique("compose");
    let _rm = Removed(name.clone());
    let listeners = format!(
        "PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{}",
        port + 1
    );
    let advertised = format!("PLAINTEXT://127.0.0.1:{port}");
    let out = docker(&[
        "run",
        "-d",
        "--name",
        &name,
        "--network",
        "host",
        "-e",
        "KAFKA_NODE_ID=1",
        "-e",
        "KAFKA_PROCESS_ROLES=broker,controller",
        "-e",
        &format!("KAFKA_LISTENERS={listeners}"),
        "-e",
        &format!("KAFKA_ADVERTISED_LISTENERS={advertised}"),
        "-e",
        "KAFKA_CONTROLLER_LISTENER_NAMES=CONTROLLER",
        "-e",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "-e",
        &format!("KAFKA_CONTROLLER_QUORUM_VOTERS=1@127.0.0.1:{}", port + 1),
        "-e",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR=1",
        "-e",
        "KAFKA_NUM_PARTITIONS=3",
        "-e",
        "KAFKA_AUTO_CREATE_TOPICS_ENABLE=true",
        "-e",
        "KAFKA_LOG_RETENTION_HOURS=2",
        IMAGE,
        "--ephemeral",
    ]);
    assert!(out.status.success(), "docker run: {}", text(&out.stderr));
    let bootstrap = wait_ready_line(&name, Duration::from_secs(10));
    assert_eq!(bootstrap, format!("127.0.0.1:{port}"));
    kcat_produce(&bootstrap, "compose-topic", &["a:1", "b:2"]);
    assert_eq!(kcat_partitions(&bootstrap, "compose-topic"), 3);
    let logs = text(&docker(&["logs", &name]).stderr);
    assert!(
        logs.contains("log.retention.hours"),
        "the broker config from KAFKA_LOG_RETENTION_HOURS is reported: {logs}"
    );
}

#[test]
fn a_broken_env_is_one_line_and_a_non_zero_exit() {
    let out = docker(&[
        "run",
        "--rm",
        "--network",
        "host",
        "-e",
        "KAFKA_LISTENERS=PLAINTEXT:/127.0.0.1:9",
        IMAGE,
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("rill: KAFKA_LISTENERS="), "{err}");
    assert!(text(&out.stdout).is_empty());
}

#[test]
fn the_data_volume_outlives_the_container() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The image runs as 65532; the volume's directory must be writable by it.
    let chown = run(Command::new("chown").args(["65532:65532", &dir.path().display().to_string()]));
    assert!(chown.status.success(), "{}", text(&chown.stderr));
    let start = |name: &str, dir: &Path| {
        let out = docker(&[
            "run",
            "-d",
            "--name",
            name,
            "--network",
            "host",
            "-v",
            &format!("{}:/var/lib/rill", dir.display()),
            IMAGE,
            "--listen",
            "127.0.0.1:0",
        ]);
        assert!(out.status.success(), "docker run: {}", text(&out.stderr));
        wait_ready_line(name, Duration::from_secs(10))
    };
    let first = unique("vol1");
    let rm1 = Removed(first.clone());
    let bootstrap = start(&first, dir.path());
    kcat_produce(&bootstrap, "kept", &["x:1", "y:2", "z:3"]);
    // A clean stop (SIGTERM) seals the logs.
    let stop = docker(&["stop", "-t", "10", &first]);
    assert!(stop.status.success(), "{}", text(&stop.stderr));
    drop(rm1);
    let second = unique("vol2");
    let _rm2 = Removed(second.clone());
    let bootstrap = start(&second, dir.path());
    assert_eq!(kcat_consume(&bootstrap, "kept"), ["x:1", "y:2", "z:3"]);
    let _ = docker(&["stop", "-t", "10", &second]);
    // Files the container wrote belong to 65532; give them back so the temp dir can go.
    let _ = run(Command::new("chown").args(["-R", "0:0", &dir.path().display().to_string()]));
}

#[test]
fn the_dockerfile_runtime_stage_matches_the_offline_one() {
    let root = env!("CARGO_MANIFEST_DIR");
    let settings = |path: &str| -> Vec<String> {
        let text = std::fs::read_to_string(Path::new(root).join(path)).expect(path);
        let last_stage = text.rsplit("FROM scratch").next().unwrap_or("").to_string();
        last_stage
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("COPY"))
            .map(str::to_string)
            .collect()
    };
    let offline = settings("scripts/image/Dockerfile");
    assert!(
        offline.iter().any(|l| l.starts_with("ENTRYPOINT")),
        "{offline:?}"
    );
    assert_eq!(settings("Dockerfile"), offline);
}
