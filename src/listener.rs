//! Listeners in Kafka's syntax: `NAME://host:port`, each with a security protocol (its
//! name, or `--listener-security-protocol-map NAME:PROTOCOL`), and the address each one
//! advertises. Pure parsing: binding the sockets is `cli.rs`'s job.
//!
//! - `--listen PLAINTEXT://127.0.0.1:9092,SASL_PLAINTEXT://127.0.0.1:9093`
//! - a bare `host:port` is a PLAINTEXT listener (Rill's original syntax);
//! - entries with the same name are one listener bound to several addresses (as
//!   `localhost` is 127.0.0.1 and ::1): they share its port and its advertised address;
//! - `--advertise NAME://host:port,…` per listener; a bare `host[:port]` only when there
//!   is one listener.

use std::collections::BTreeMap;
use std::fmt;

use thiserror::Error;

/// How a listener's connections are secured (Kafka's `SecurityProtocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityProtocol {
    Plaintext,
    SaslPlaintext,
    Ssl,
    SaslSsl,
}

impl SecurityProtocol {
    pub const ALL: [SecurityProtocol; 4] = [
        SecurityProtocol::Plaintext,
        SecurityProtocol::SaslPlaintext,
        SecurityProtocol::Ssl,
        SecurityProtocol::SaslSsl,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }

    pub fn parse(s: &str) -> Option<SecurityProtocol> {
        Self::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
    }

    /// Whether connections authenticate with SASL before anything else.
    pub fn is_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }

    /// Whether connections are TLS (then the listener needs `--tls-cert`/`--tls-key`).
    pub fn is_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Error, PartialEq)]
pub enum ListenerError {
    #[error("invalid --listen address {0:?}: expected host:port or NAME://host:port")]
    BadListen(String),
    #[error("invalid listener name {0:?}: letters, digits and _ only")]
    BadName(String),
    #[error("no security protocol for listener {0}: name it PLAINTEXT, SASL_PLAINTEXT, SSL or SASL_SSL, or map it with --listener-security-protocol-map {0}:PROTOCOL")]
    NoProtocol(String),
    #[error("invalid --listener-security-protocol-map entry {0:?}: expected NAME:PROTOCOL with PROTOCOL one of PLAINTEXT, SASL_PLAINTEXT, SSL, SASL_SSL")]
    BadProtocolMap(String),
    #[error("invalid --advertise {0:?}: expected host[:port] or NAME://host[:port],…")]
    BadAdvertise(String),
    #[error("--advertise names listener {0}, which --listen does not open")]
    AdvertiseUnknownListener(String),
    #[error("--advertise {given:?} gives one address for {count} listeners; give NAME://host:port for each")]
    AmbiguousAdvertise { given: String, count: usize },
    #[error(
        "--advertise {0} is not an address clients can connect to; give a real host name or IP"
    )]
    UnroutableAdvertise(String),
    #[error("listener {name} listens on {host} (all interfaces) and needs --advertise {name}://<host:port> so clients know where to connect")]
    NeedAdvertise { name: String, host: String },
    #[error("no listener given")]
    Empty,
}

/// One `--listen` entry: where to bind, under which listener name.
#[derive(Debug, Clone, PartialEq)]
pub struct BindSpec {
    /// The host as written (`localhost`, `127.0.0.1`, `::1`, `0.0.0.0`).
    pub host: String,
    pub port: u16,
}

/// A listener: a name, a security protocol and the addresses it binds.
#[derive(Debug, Clone, PartialEq)]
pub struct ListenerSpec {
    pub name: String,
    pub protocol: SecurityProtocol,
    pub binds: Vec<BindSpec>,
}

/// What a listener tells clients (Metadata, FindCoordinator, DescribeCluster): brokers are
/// described by the listener of the connection that asks, as Kafka does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub name: String,
    pub protocol: SecurityProtocol,
    /// The first bound address, as Kafka writes it in `listeners` (`host:port`).
    pub bound_host: String,
    pub bound_port: u16,
    pub advertised_host: String,
    pub advertised_port: u16,
}

impl Endpoint {
    /// `NAME://host:port` of the advertised address.
    pub fn advertised(&self) -> String {
        format!(
            "{}://{}",
            self.name,
            host_port(&self.advertised_host, self.advertised_port)
        )
    }

    /// `NAME://host:port` of the bound address.
    pub fn bound(&self) -> String {
        format!(
            "{}://{}",
            self.name,
            host_port(&self.bound_host, self.bound_port)
        )
    }
}

/// `host:port`, with brackets around an IPv6 address.
pub fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Splits "host:port" / "[v6]:port" / "host"; None if the port is not a number.
pub fn split_host_port(s: &str) -> Option<(String, Option<u16>)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        return Some((host.to_string(), port));
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => Some((h.to_string(), Some(p.parse().ok()?))),
        Some(_) => Some((s.to_string(), None)), // bare IPv6
        None => Some((s.to_string(), None)),
    }
}

/// Splits `NAME://rest`; None for a bare address.
fn split_name(entry: &str) -> Option<(&str, &str)> {
    entry.split_once("://")
}

fn check_name(name: &str) -> Result<String, ListenerError> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(ListenerError::BadName(name.to_string()));
    }
    // Kafka compares listener names upper-cased.
    Ok(name.to_ascii_uppercase())
}

/// `--listener-security-protocol-map NAME:PROTOCOL,…`: replaces the default map (each
/// protocol's own name), as Kafka's `listener.security.protocol.map` does.
pub fn protocol_map(
    value: Option<&str>,
) -> Result<BTreeMap<String, SecurityProtocol>, ListenerError> {
    let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
        return Ok(SecurityProtocol::ALL
            .into_iter()
            .map(|p| (p.name().to_string(), p))
            .collect());
    };
    let mut map = BTreeMap::new();
    for pair in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || ListenerError::BadProtocolMap(pair.to_string());
        let (name, proto) = pair.split_once(':').ok_or_else(bad)?;
        let name = check_name(name.trim()).map_err(|_| bad())?;
        let proto = SecurityProtocol::parse(proto).ok_or_else(bad)?;
        map.insert(name, proto);
    }
    Ok(map)
}

/// Parses the `--listen` entries into listeners, in order of first appearance.
pub fn parse_listeners(
    entries: &[String],
    map: &BTreeMap<String, SecurityProtocol>,
) -> Result<Vec<ListenerSpec>, ListenerError> {
    let mut out: Vec<ListenerSpec> = Vec::new();
    for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
        let bad = || ListenerError::BadListen(entry.to_string());
        let (name, addr) = match split_name(entry) {
            Some((name, addr)) => (check_name(name)?, addr),
            None => ("PLAINTEXT".to_string(), entry),
        };
        let (host, port) = split_host_port(addr).ok_or_else(bad)?;
        let port = port.ok_or_else(bad)?;
        let protocol = match map.get(&name) {
            Some(p) => *p,
            // A bare address is PLAINTEXT whatever the map says.
            None if split_name(entry).is_none() => SecurityProtocol::Plaintext,
            None => return Err(ListenerError::NoProtocol(name)),
        };
        let bind = BindSpec { host, port };
        match out.iter_mut().find(|l| l.name == name) {
            Some(l) => l.binds.push(bind),
            None => out.push(ListenerSpec {
                name,
                protocol,
                binds: vec![bind],
            }),
        }
    }
    if out.is_empty() {
        return Err(ListenerError::Empty);
    }
    Ok(out)
}

/// The advertised (host, port) of each listener, in the listeners' order. `bound` holds
/// each listener's first bound (host as written, port); `advertise` is `--advertise`.
pub fn advertised(
    listeners: &[ListenerSpec],
    bound: &[(String, u16)],
    advertise: Option<&str>,
) -> Result<Vec<(String, u16)>, ListenerError> {
    let mut given: BTreeMap<String, (String, Option<u16>)> = BTreeMap::new();
    if let Some(a) = advertise.map(str::trim).filter(|a| !a.is_empty()) {
        let bad = || ListenerError::BadAdvertise(a.to_string());
        if a.contains("://") {
            for entry in a.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                let (name, addr) = split_name(entry).ok_or_else(bad)?;
                let name = check_name(name).map_err(|_| bad())?;
                let (h, p) = split_host_port(addr).ok_or_else(bad)?;
                if h.is_empty() {
                    return Err(bad());
                }
                if !listeners.iter().any(|l| l.name == name) {
                    return Err(ListenerError::AdvertiseUnknownListener(name));
                }
                given.insert(name, (h, p));
            }
        } else {
            if listeners.len() > 1 {
                return Err(ListenerError::AmbiguousAdvertise {
                    given: a.to_string(),
                    count: listeners.len(),
                });
            }
            let (h, p) = split_host_port(a).ok_or_else(bad)?;
            if h.is_empty() {
                return Err(bad());
            }
            if let Some(l) = listeners.first() {
                given.insert(l.name.clone(), (h, p));
            }
        }
    }
    let mut out = Vec::with_capacity(listeners.len());
    for (l, (bound_host, bound_port)) in listeners.iter().zip(bound) {
        let (host, port) = match given.get(&l.name) {
            Some((h, p)) => (h.clone(), p.unwrap_or(*bound_port)),
            None => {
                if is_unspecified(bound_host) {
                    return Err(ListenerError::NeedAdvertise {
                        name: l.name.clone(),
                        host: bound_host.clone(),
                    });
                }
                let host = if bound_host.is_empty() {
                    "localhost".to_string()
                } else {
                    bound_host.clone()
                };
                (host, *bound_port)
            }
        };
        if is_unspecified(&host) {
            return Err(ListenerError::UnroutableAdvertise(host));
        }
        out.push((host, port));
    }
    Ok(out)
}

fn is_unspecified(host: &str) -> bool {
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_unspecified())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listen(entries: &[&str]) -> Result<Vec<ListenerSpec>, ListenerError> {
        let v: Vec<String> = entries.iter().map(|s| s.to_string()).collect();
        parse_listeners(&v, &protocol_map(None).expect("default map"))
    }

    #[test]
    fn host_port_parsing() {
        assert_eq!(
            split_host_port("localhost:9092"),
            Some(("localhost".into(), Some(9092)))
        );
        assert_eq!(split_host_port("[::1]:9"), Some(("::1".into(), Some(9))));
        assert_eq!(
            split_host_port("example.com"),
            Some(("example.com".into(), None))
        );
        assert!(split_host_port("h:notaport").is_none());
        assert_eq!(host_port("::1", 9), "[::1]:9");
    }

    #[test]
    fn bare_addresses_are_one_plaintext_listener() {
        let l = listen(&["localhost:9092", "[::1]:9092"]).expect("parses");
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].name, "PLAINTEXT");
        assert_eq!(l[0].protocol, SecurityProtocol::Plaintext);
        assert_eq!(l[0].binds.len(), 2);
    }

    #[test]
    fn kafka_syntax_names_and_protocols() {
        let l = listen(&["PLAINTEXT://127.0.0.1:9092", "sasl_plaintext://127.0.0.1:0"])
            .expect("parses");
        assert_eq!(l.len(), 2);
        assert_eq!(l[1].name, "SASL_PLAINTEXT");
        assert_eq!(l[1].protocol, SecurityProtocol::SaslPlaintext);
        assert_eq!(l[1].binds[0].port, 0);
        // A bare address and PLAINTEXT:// are the same listener.
        let l = listen(&["127.0.0.1:9092", "PLAINTEXT://[::1]:9092"]).expect("parses");
        assert_eq!(l.len(), 1);
    }

    #[test]
    fn custom_names_need_the_map() {
        assert_eq!(
            listen(&["INTERNAL://127.0.0.1:9092"]),
            Err(ListenerError::NoProtocol("INTERNAL".into()))
        );
        let map = protocol_map(Some("INTERNAL:SASL_PLAINTEXT,EXTERNAL:PLAINTEXT")).expect("map");
        let l = parse_listeners(
            &[
                "INTERNAL://:29092".into(),
                "EXTERNAL://127.0.0.1:9092".into(),
            ],
            &map,
        )
        .expect("parses");
        assert_eq!(l[0].protocol, SecurityProtocol::SaslPlaintext);
        assert_eq!(l[1].protocol, SecurityProtocol::Plaintext);
        let l = listen(&["SSL://127.0.0.1:9093", "SASL_SSL://127.0.0.1:9094"]).expect("tls");
        assert!(l[0].protocol.is_tls() && !l[0].protocol.is_sasl());
        assert!(l[1].protocol.is_tls() && l[1].protocol.is_sasl());
        assert!(protocol_map(Some("A:NOPE")).is_err());
        assert!(listen(&["X-Y://h:1"]).is_err());
        assert!(listen(&["PLAINTEXT://h"]).is_err());
        assert_eq!(listen(&[]), Err(ListenerError::Empty));
    }

    #[test]
    fn advertised_addresses_per_listener() {
        let l = listen(&[
            "PLAINTEXT://0.0.0.0:9092",
            "SASL_PLAINTEXT://127.0.0.1:9093",
        ])
        .expect("parses");
        let bound = vec![
            ("0.0.0.0".to_string(), 9092),
            ("127.0.0.1".to_string(), 9093),
        ];
        assert!(matches!(
            advertised(&l, &bound, None),
            Err(ListenerError::NeedAdvertise { .. })
        ));
        assert!(matches!(
            advertised(&l, &bound, Some("broker:9092")),
            Err(ListenerError::AmbiguousAdvertise { .. })
        ));
        assert_eq!(
            advertised(&l, &bound, Some("PLAINTEXT://broker:19092")).expect("ok"),
            vec![("broker".into(), 19092), ("127.0.0.1".into(), 9093)]
        );
        assert_eq!(
            advertised(&l, &bound, Some("PLAINTEXT://broker,SASL_PLAINTEXT://b2:1")).expect("ok"),
            vec![("broker".into(), 9092), ("b2".into(), 1)]
        );
        assert!(matches!(
            advertised(&l, &bound, Some("OTHER://x:1")),
            Err(ListenerError::AdvertiseUnknownListener(_))
        ));
        assert!(matches!(
            advertised(&l, &bound, Some("PLAINTEXT://0.0.0.0:1")),
            Err(ListenerError::UnroutableAdvertise(_))
        ));
        // One listener: the bare form, as before.
        let one = listen(&["localhost:9092"]).expect("parses");
        let b1 = vec![("localhost".to_string(), 9092)];
        assert_eq!(
            advertised(&one, &b1, None).expect("ok"),
            vec![("localhost".into(), 9092)]
        );
        assert_eq!(
            advertised(&one, &b1, Some("broker.example:19092")).expect("ok"),
            vec![("broker.example".into(), 19092)]
        );
        assert_eq!(
            advertised(&one, &b1, Some("broker.example")).expect("ok"),
            vec![("broker.example".into(), 9092)]
        );
    }
}
