//! kafka-console-producer.sh: one record per stdin line, with Kafka's line reader
//! properties (`parse.key`, `key.separator`, `parse.headers`, `null.marker`, …) and the
//! producer settings that matter here (acks, compression, linger, batch size).

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::records::Compression;

use super::args::{flag, maybe_value, unsupported, value, Opt, Parsed, Takes};
use super::{props, Connect, ToolError};
use crate::admin::produce::{produce_lines, SendOptions};
use crate::admin::AdminError;
use crate::client::records::Outgoing;

const SPECS: &[Opt] = &[
    value("bootstrap-server"),
    value("broker-list"),
    value("topic"),
    value("property"),
    value("reader-property"),
    value("reader-config"),
    value("producer-property"),
    value("command-property"),
    value("producer.config"),
    value("command-config"),
    maybe_value("compression-codec"),
    value("request-required-acks"),
    flag("sync"),
    value("batch-size"),
    value("timeout"),
    value("message-send-max-retries"),
    value("retry-backoff-ms"),
    value("request-timeout-ms"),
    value("metadata-expiry-ms"),
    value("max-block-ms"),
    value("max-memory-bytes"),
    value("max-partition-memory-bytes"),
    value("socket-buffer-size"),
    value("line-reader"),
    flag("help"),
    flag("version"),
    unsupported("zookeeper", Takes::Value, "use --bootstrap-server"),
];

/// Producer settings rill acts on, and those it can accept and ignore.
const HONOURED: &[&str] = &[
    "bootstrap.servers",
    "acks",
    "compression.type",
    "linger.ms",
    "batch.size",
    "request.timeout.ms",
    "client.id",
    "security.protocol",
];
const HARMLESS: &[&str] = &[
    "retries",
    "retry.backoff.ms",
    "retry.backoff.max.ms",
    "delivery.timeout.ms",
    "max.block.ms",
    "buffer.memory",
    "metadata.max.age.ms",
    "send.buffer.bytes",
    "receive.buffer.bytes",
    "max.request.size",
    "max.in.flight.requests.per.connection",
    "key.serializer",
    "value.serializer",
    "enable.idempotence",
    "partitioner.ignore.keys",
    "compression.gzip.level",
    "compression.lz4.level",
    "compression.zstd.level",
];

/// Kafka's LineMessageReader settings.
#[derive(Debug, Clone)]
pub struct LineFormat {
    pub parse_key: bool,
    pub key_separator: String,
    pub parse_headers: bool,
    pub headers_delimiter: String,
    pub headers_separator: String,
    pub headers_key_separator: String,
    pub ignore_error: bool,
    pub null_marker: Option<String>,
}

impl LineFormat {
    pub fn from_props(p: &BTreeMap<String, String>) -> Result<LineFormat, ToolError> {
        let yes = |k: &str| {
            p.get(k)
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        };
        let text = |k: &str, d: &str| p.get(k).cloned().unwrap_or_else(|| d.to_string());
        let f = LineFormat {
            parse_key: yes("parse.key"),
            key_separator: text("key.separator", "\t"),
            parse_headers: yes("parse.headers"),
            headers_delimiter: text("headers.delimiter", "\t"),
            headers_separator: text("headers.separator", ","),
            headers_key_separator: text("headers.key.separator", ":"),
            ignore_error: yes("ignore.error"),
            null_marker: p.get("null.marker").cloned(),
        };
        let distinct = [
            (
                "headers.delimiter",
                &f.headers_delimiter,
                "headers.separator",
                &f.headers_separator,
            ),
            (
                "headers.delimiter",
                &f.headers_delimiter,
                "headers.key.separator",
                &f.headers_key_separator,
            ),
            (
                "headers.separator",
                &f.headers_separator,
                "headers.key.separator",
                &f.headers_key_separator,
            ),
        ];
        for (a, x, b, y) in distinct {
            if x == y {
                return Err(ToolError::Invalid(format!("{a} and {b} may not be equal")));
            }
        }
        if let Some(m) = &f.null_marker {
            for (name, v) in [
                ("key.separator", &f.key_separator),
                ("headers.separator", &f.headers_separator),
                ("headers.delimiter", &f.headers_delimiter),
                ("headers.key.separator", &f.headers_key_separator),
            ] {
                if v == m {
                    return Err(ToolError::Invalid(format!(
                        "null.marker and {name} may not be equal"
                    )));
                }
            }
        }
        if f.key_separator.is_empty() || f.headers_delimiter.is_empty() {
            return Err(ToolError::Invalid(
                "key.separator and headers.delimiter may not be empty".into(),
            ));
        }
        Ok(f)
    }

    fn nullable(&self, s: &str) -> Option<Bytes> {
        match &self.null_marker {
            Some(m) if m == s => None,
            _ => Some(Bytes::copy_from_slice(s.as_bytes())),
        }
    }

    /// One line as Kafka's reader reads it: `[headers<delim>][key<sep>]value`.
    pub fn record(&self, line: &str, line_no: u64, timestamp: i64) -> Result<Outgoing, ToolError> {
        let mut rest = line;
        let mut headers = Vec::new();
        if self.parse_headers {
            match rest.find(&self.headers_delimiter) {
                Some(i) => {
                    let h = &rest[..i];
                    rest = &rest[i + self.headers_delimiter.len()..];
                    if self.null_marker.as_deref() != Some(h) {
                        headers = self.headers(h, line_no)?;
                    }
                }
                None if self.ignore_error => {}
                None => {
                    return Err(ToolError::Failed(format!(
                        "No headers delimiter found on line number {line_no}: '{line}'"
                    )))
                }
            }
        }
        let mut key = None;
        if self.parse_key {
            match rest.find(&self.key_separator) {
                Some(i) => {
                    key = self.nullable(&rest[..i]);
                    rest = &rest[i + self.key_separator.len()..];
                }
                None if self.ignore_error => {}
                None => {
                    return Err(ToolError::Failed(format!(
                        "No key separator found on line number {line_no}: '{line}'"
                    )))
                }
            }
        }
        Ok(Outgoing {
            key,
            value: self.nullable(rest),
            headers,
            timestamp,
        })
    }

    fn headers(&self, h: &str, line_no: u64) -> Result<Vec<(String, Option<Bytes>)>, ToolError> {
        let mut out = Vec::new();
        for pair in h.split(self.headers_separator.as_str()) {
            match pair.find(&self.headers_key_separator) {
                Some(i) => {
                    let k = &pair[..i];
                    if self.null_marker.as_deref() == Some(k) {
                        return Err(ToolError::Failed(format!(
                            "header keys may not be the null marker '{k}' (line {line_no})"
                        )));
                    }
                    out.push((
                        k.to_string(),
                        self.nullable(&pair[i + self.headers_key_separator.len()..]),
                    ));
                }
                None if self.ignore_error => out.push((pair.to_string(), None)),
                None => {
                    return Err(ToolError::Failed(format!(
                        "No header key separator found in pair '{pair}' on line number {line_no}"
                    )))
                }
            }
        }
        Ok(out)
    }
}

fn codec(name: &str) -> Result<Compression, ToolError> {
    match name.trim().to_ascii_lowercase().as_str() {
        "none" | "uncompressed" => Ok(Compression::None),
        "gzip" => Ok(Compression::Gzip),
        "snappy" => Ok(Compression::Snappy),
        "lz4" => Ok(Compression::Lz4),
        "zstd" => Ok(Compression::Zstd),
        other => Err(ToolError::Usage(format!(
            "compression codec '{other}' is not one of none, gzip, snappy, lz4, zstd"
        ))),
    }
}

fn acks(v: &str) -> Result<i16, ToolError> {
    match v.trim() {
        "all" | "-1" => Ok(-1),
        "0" => Ok(0),
        "1" => Ok(1),
        other => Err(ToolError::Usage(format!(
            "acks must be all, -1, 0 or 1, not '{other}'"
        ))),
    }
}

/// Producer properties: the config file, then `--producer-property` over it.
fn producer_props(p: &Parsed) -> Result<BTreeMap<String, String>, ToolError> {
    let mut out = BTreeMap::new();
    for file in ["producer.config", "command-config"] {
        if let Some(f) = p.value(file) {
            out.extend(props::load(f)?);
        }
    }
    out.extend(p.key_values("producer-property")?);
    out.extend(p.key_values("command-property")?);
    Ok(out)
}

pub fn run(argv: &[String]) -> Result<(), ToolError> {
    let Some(p) = super::parse_or_help(
        "kafka-console-producer.sh",
        "read lines from standard input and send them as records",
        SPECS,
        argv,
    )?
    else {
        return Ok(());
    };
    let topic = p
        .value("topic")
        .ok_or_else(|| ToolError::Usage("Missing required argument \"[topic]\"".into()))?
        .to_string();
    if let Some(r) = p.value("line-reader") {
        if !r.ends_with("LineMessageReader") {
            return Err(ToolError::Usage(format!(
                "--line-reader {r} is not supported (only Kafka's default line reader is built in)"
            )));
        }
    }
    let mut reader_props = BTreeMap::new();
    if let Some(f) = p.value("reader-config") {
        reader_props.extend(props::load(f)?);
    }
    reader_props.extend(p.key_values("property")?);
    reader_props.extend(p.key_values("reader-property")?);
    let format = LineFormat::from_props(&reader_props)?;

    let prod = producer_props(&p)?;
    for k in prod.keys() {
        if !HONOURED.contains(&k.as_str())
            && !HARMLESS.contains(&k.as_str())
            && !k.starts_with("ssl.")
            && !k.starts_with("sasl.")
        {
            eprintln!("WARN rill's kafka-console-producer ignores the producer setting '{k}'");
        }
    }
    if prod
        .get("enable.idempotence")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    {
        eprintln!("WARN rill's kafka-console-producer does not produce idempotently; enable.idempotence is ignored");
    }
    // The flag wins over the properties, as in Kafka's tool.
    let acks = match p.value("request-required-acks") {
        Some(v) => acks(v)?,
        None => prod.get("acks").map_or(Ok(-1), |v| acks(v))?,
    };
    let compression = if p.has("compression-codec") {
        codec(p.value("compression-codec").unwrap_or("gzip"))?
    } else {
        prod.get("compression.type")
            .map_or(Ok(Compression::None), |v| codec(v))?
    };
    let linger_ms = match p.number::<u64>("timeout")? {
        Some(t) => t,
        None => prod
            .get("linger.ms")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(1000),
    };
    let batch_bytes = match p.number::<usize>("max-partition-memory-bytes")? {
        Some(b) => b,
        None => prod
            .get("batch.size")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(16 * 1024),
    };
    let timeout = p.number::<u64>("request-timeout-ms")?.or_else(|| {
        prod.get("request.timeout.ms")
            .and_then(|v| v.trim().parse().ok())
    });
    let bootstrap = p
        .value("bootstrap-server")
        .or_else(|| p.value("broker-list"));
    if bootstrap.is_none() && !prod.contains_key("bootstrap.servers") {
        return Err(ToolError::Usage(
            "--bootstrap-server must be specified".into(),
        ));
    }
    let conn = Connect::new(bootstrap, &prod, timeout)?;
    let mut cluster = conn.cluster()?;
    let info = cluster.topic(&topic)?;
    let sync = p.has("sync");
    let opts = SendOptions {
        acks,
        compression,
        partition: None,
        batch_records: if sync { 1 } else { 10_000 },
        batch_bytes: if sync { 1 } else { batch_bytes.max(1) },
        linger: Duration::from_millis(if sync { 0 } else { linger_ms }),
        progress_total: None,
    };
    produce_lines(
        cluster,
        info,
        Box::new(std::io::stdin()),
        &opts,
        |line, no| {
            let text = String::from_utf8_lossy(line);
            format
                .record(&text, no, crate::log::now_ms())
                .map_err(|e| AdminError::Failed(e.to_string()))
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(kv: &[(&str, &str)]) -> LineFormat {
        LineFormat::from_props(
            &kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn plain_lines_are_values() {
        let r = fmt(&[]).record("a\tb", 1, 5).unwrap();
        assert_eq!(r.key, None);
        assert_eq!(r.value.as_deref(), Some(&b"a\tb"[..]));
        assert_eq!(r.timestamp, 5);
    }

    #[test]
    fn keys_headers_and_null_markers() {
        let f = fmt(&[("parse.key", "true"), ("key.separator", ":")]);
        let r = f.record("k:v:w", 1, 0).unwrap();
        assert_eq!(r.key.as_deref(), Some(&b"k"[..]));
        assert_eq!(r.value.as_deref(), Some(&b"v:w"[..]));
        let e = f.record("novalue", 3, 0).unwrap_err().to_string();
        assert!(e.contains("line number 3"), "{e}");

        let f = fmt(&[
            ("parse.key", "true"),
            ("parse.headers", "true"),
            ("null.marker", "NULL"),
        ]);
        let r = f.record("h1:v1,h2:NULL\tNULL\tval", 1, 0).unwrap();
        assert_eq!(r.key, None);
        assert_eq!(r.value.as_deref(), Some(&b"val"[..]));
        assert_eq!(
            r.headers,
            vec![
                ("h1".to_string(), Some(Bytes::from_static(b"v1"))),
                ("h2".to_string(), None)
            ]
        );
        let r = f.record("NULL\tk\tNULL", 1, 0).unwrap();
        assert!(r.headers.is_empty());
        assert_eq!(r.value, None);

        let f = fmt(&[("parse.key", "true"), ("ignore.error", "true")]);
        let r = f.record("no separator", 1, 0).unwrap();
        assert_eq!(r.key, None);
        assert_eq!(r.value.as_deref(), Some(&b"no separator"[..]));
    }

    #[test]
    fn settings() {
        assert!(LineFormat::from_props(
            &[("null.marker".to_string(), "\t".to_string())]
                .into_iter()
                .collect()
        )
        .is_err());
        assert_eq!(acks("all").unwrap(), -1);
        assert!(acks("2").is_err());
        assert_eq!(codec("ZSTD").unwrap(), Compression::Zstd);
        assert!(codec("brotli").is_err());
    }
}
