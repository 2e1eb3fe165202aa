//! A view of a whole cluster from a bootstrap address: the brokers Metadata lists, one
//! negotiated connection per broker opened when first needed, partition leaders and
//! group coordinators. Requests about a partition go to its leader and requests about a
//! group to its coordinator, so the CLI works against multi-broker clusters too.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    FindCoordinatorRequest, MetadataRequest, MetadataResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::{check, ClientError, Conn};

/// One partition as Metadata describes it.
#[derive(Debug, Clone)]
pub struct PartitionInfo {
    pub index: i32,
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

/// One topic as Metadata describes it, partitions in index order.
#[derive(Debug, Clone)]
pub struct TopicInfo {
    pub name: String,
    pub id: String,
    pub internal: bool,
    pub partitions: Vec<PartitionInfo>,
}

/// A Metadata request for these topics (`None`: all), never creating topics.
pub fn metadata_request(topics: Option<&[&str]>, version: i16) -> MetadataRequest {
    let req = MetadataRequest::default().with_topics(topics.map(|ts| {
        ts.iter()
            .map(|t| {
                MetadataRequestTopic::default()
                    .with_name(Some(TopicName(StrBytes::from_string(t.to_string()))))
            })
            .collect()
    }));
    // The field exists from v4; before it the broker's setting decides.
    if version >= 4 {
        req.with_allow_auto_topic_creation(false)
    } else {
        req
    }
}

pub struct Cluster {
    bootstrap: Conn,
    timeout: Duration,
    /// Node id → "host:port", from the last Metadata answer.
    pub brokers: BTreeMap<i32, String>,
    conns: HashMap<i32, Conn>,
    coordinators: HashMap<String, i32>,
}

impl Cluster {
    /// Connects to the first answering address of a comma-separated bootstrap list.
    pub fn connect(bootstrap: &str, timeout: Duration) -> Result<Cluster, ClientError> {
        let mut last = None;
        for addr in bootstrap
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            match Conn::connect(addr, timeout) {
                Ok(conn) => {
                    return Ok(Cluster {
                        bootstrap: conn,
                        timeout,
                        brokers: BTreeMap::new(),
                        conns: HashMap::new(),
                        coordinators: HashMap::new(),
                    })
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| ClientError::NoBroker(bootstrap.to_string())))
    }

    /// The bootstrap connection (any broker can answer Metadata, admin requests, …).
    pub fn any(&mut self) -> &mut Conn {
        &mut self.bootstrap
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Metadata for these topics (`None`: all); remembers the brokers it lists.
    pub fn metadata(&mut self, topics: Option<&[&str]>) -> Result<MetadataResponse, ClientError> {
        let v = self.bootstrap.version::<MetadataRequest>()?;
        let resp = self.bootstrap.call_at(v, &metadata_request(topics, v))?;
        self.brokers = resp
            .brokers
            .iter()
            .map(|b| (b.node_id.0, format!("{}:{}", b.host, b.port)))
            .collect();
        Ok(resp)
    }

    /// One topic, or `UNKNOWN_TOPIC_OR_PARTITION`.
    pub fn topic(&mut self, name: &str) -> Result<TopicInfo, ClientError> {
        let resp = self.metadata(Some(&[name]))?;
        let t = resp.topics.first().ok_or_else(|| ClientError::Decode {
            api: "Metadata",
            msg: format!("topic {name} is missing from the response"),
        })?;
        check(|| format!("topic {name}"), t.error_code, None)?;
        Ok(topic_info(t))
    }

    /// A connection to broker `id`, opened (and negotiated) on first use.
    pub fn broker(&mut self, id: i32) -> Result<&mut Conn, ClientError> {
        if !self.conns.contains_key(&id) {
            if !self.brokers.contains_key(&id) {
                self.metadata(Some(&[]))?;
            }
            let addr = self.brokers.get(&id).cloned().ok_or_else(|| {
                ClientError::Other(format!("broker {id} is not in the cluster's metadata"))
            })?;
            let conn = Conn::connect(&addr, self.timeout)?;
            self.conns.insert(id, conn);
        }
        self.conns
            .get_mut(&id)
            .ok_or_else(|| ClientError::Other(format!("no connection to broker {id}")))
    }

    /// Forgets the connection to broker `id` (after an error on it).
    pub fn drop_broker(&mut self, id: i32) {
        self.conns.remove(&id);
    }

    /// The coordinator of `group` (FindCoordinator, retried while it is loading).
    pub fn coordinator(&mut self, group: &str) -> Result<&mut Conn, ClientError> {
        let id = match self.coordinators.get(group) {
            Some(id) => *id,
            None => {
                let id = self.find_coordinator(group)?;
                self.coordinators.insert(group.to_string(), id);
                id
            }
        };
        self.broker(id)
    }

    /// The coordinator of `group`: its node id and "host:port".
    pub fn coordinator_node(&mut self, group: &str) -> Result<(i32, String), ClientError> {
        let addr = self.coordinator(group)?.addr.clone();
        let id = self.coordinators.get(group).copied().unwrap_or(-1);
        Ok((id, addr))
    }

    pub fn forget_coordinator(&mut self, group: &str) {
        if let Some(id) = self.coordinators.remove(group) {
            self.conns.remove(&id);
        }
    }

    fn find_coordinator(&mut self, group: &str) -> Result<i32, ClientError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            let v = self.bootstrap.version::<FindCoordinatorRequest>()?;
            let key = StrBytes::from_string(group.to_string());
            let req = if v >= 4 {
                FindCoordinatorRequest::default().with_coordinator_keys(vec![key])
            } else {
                FindCoordinatorRequest::default().with_key(key)
            };
            let resp = self.bootstrap.call_at(v, &req)?;
            let (code, msg, node, host, port) = match resp.coordinators.first() {
                Some(c) if v >= 4 => (
                    c.error_code,
                    c.error_message.clone(),
                    c.node_id.0,
                    c.host.clone(),
                    c.port,
                ),
                _ => (
                    resp.error_code,
                    resp.error_message.clone(),
                    resp.node_id.0,
                    resp.host.clone(),
                    resp.port,
                ),
            };
            // COORDINATOR_NOT_AVAILABLE / COORDINATOR_LOAD_IN_PROGRESS: retry.
            if (code == 15 || code == 14) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
            check(
                || format!("coordinator of group {group}"),
                code,
                msg.as_deref(),
            )?;
            self.brokers.insert(node, format!("{host}:{port}"));
            return Ok(node);
        }
    }
}

pub fn topic_info(
    t: &kafka_protocol::messages::metadata_response::MetadataResponseTopic,
) -> TopicInfo {
    let mut partitions: Vec<PartitionInfo> = t
        .partitions
        .iter()
        .map(|p| PartitionInfo {
            index: p.partition_index,
            leader: p.leader_id.0,
            replicas: p.replica_nodes.iter().map(|b| b.0).collect(),
            isr: p.isr_nodes.iter().map(|b| b.0).collect(),
        })
        .collect();
    partitions.sort_by_key(|p| p.index);
    TopicInfo {
        name: t.name.as_ref().map(|n| n.to_string()).unwrap_or_default(),
        id: t.topic_id.to_string(),
        internal: t.is_internal,
        partitions,
    }
}
