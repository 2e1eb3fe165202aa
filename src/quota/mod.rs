//! Client quotas, as Kafka keeps and enforces them (no wire types here):
//!
//! - the quota store: entities (`user`, `client-id`, each a name or the default; or `ip`)
//!   with values for `producer_byte_rate`, `consumer_byte_rate`, `request_percentage`,
//!   `controller_mutation_rate`, `connection_creation_rate`, validated as Kafka validates
//!   AlterClientQuotas and matched as DescribeClientQuotas filters;
//! - which quota applies to a (user, client-id): the most specific entity that sets the
//!   key, in Kafka's order (`/users/u/clients/c`, `/users/u/clients/<default>`,
//!   `/users/u`, `/users/<default>/clients/c`, `/users/<default>/clients/<default>`,
//!   `/users/<default>`, `/clients/c`, `/clients/<default>`);
//! - the throttle: each applied quota has a rate measured over 11 one-second samples
//!   (Kafka's `quota.window.num` and `quota.window.size.seconds`), shared by every client
//!   the quota's entity covers; a client over its quota is throttled for
//!   `(rate - quota) / quota × window` — the time after which the window's rate is back
//!   at the quota.
//! - `request_percentage` (KIP-124): the time a client's requests keep the broker busy,
//!   in percent of one thread per second, measured and throttled like the byte rates;
//!   its throttle is capped at one sample window, as Kafka caps it;
//! - `controller_mutation_rate` (KIP-599): partitions created, added or deleted per
//!   second, through a token bucket ([`TokenBucket`]) whose burst is the quota times the
//!   window less one sample; strict (the mutation refused with THROTTLING_QUOTA_EXCEEDED)
//!   for new request versions, permissive (done, then throttled) for old ones.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Kafka's `quota.window.num` default.
pub const SAMPLES: usize = 11;
/// Kafka's `quota.window.size.seconds` default, in ms.
pub const SAMPLE_MS: i64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EntityType {
    User,
    ClientId,
    Ip,
}

impl EntityType {
    pub fn name(self) -> &'static str {
        match self {
            EntityType::User => "user",
            EntityType::ClientId => "client-id",
            EntityType::Ip => "ip",
        }
    }

    pub fn parse(s: &str) -> Option<EntityType> {
        [EntityType::User, EntityType::ClientId, EntityType::Ip]
            .into_iter()
            .find(|t| t.name() == s)
    }
}

/// A quota entity: each type with a name, or `None` for that type's default.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Entity(pub BTreeMap<EntityType, Option<String>>);

impl Entity {
    pub fn new(parts: impl IntoIterator<Item = (EntityType, Option<String>)>) -> Entity {
        Entity(parts.into_iter().collect())
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(t, n)| format!("{}={}", t.name(), n.as_deref().unwrap_or("<default>")))
            .collect();
        f.write_str(&parts.join(","))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum QuotaKey {
    ProducerByteRate,
    ConsumerByteRate,
    RequestPercentage,
    ControllerMutationRate,
    ConnectionCreationRate,
}

impl QuotaKey {
    pub const ALL: [QuotaKey; 5] = [
        QuotaKey::ProducerByteRate,
        QuotaKey::ConsumerByteRate,
        QuotaKey::RequestPercentage,
        QuotaKey::ControllerMutationRate,
        QuotaKey::ConnectionCreationRate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            QuotaKey::ProducerByteRate => "producer_byte_rate",
            QuotaKey::ConsumerByteRate => "consumer_byte_rate",
            QuotaKey::RequestPercentage => "request_percentage",
            QuotaKey::ControllerMutationRate => "controller_mutation_rate",
            QuotaKey::ConnectionCreationRate => "connection_creation_rate",
        }
    }

    pub fn parse(s: &str) -> Option<QuotaKey> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }

    /// Kafka's config type: LONG keys take whole numbers only.
    fn whole(self) -> bool {
        matches!(
            self,
            QuotaKey::ProducerByteRate
                | QuotaKey::ConsumerByteRate
                | QuotaKey::ConnectionCreationRate
        )
    }

    /// Whether the key belongs to client (user/client-id) or ip entities.
    fn for_ip(self) -> bool {
        self == QuotaKey::ConnectionCreationRate
    }
}

#[derive(Debug, Error, PartialEq)]
pub enum QuotaError {
    #[error("invalid quota entity: {0}")]
    BadEntity(String),
    #[error("{0}")]
    BadValue(String),
    #[error("{0}")]
    BadFilter(String),
}

/// One AlterClientQuotas op: set `key` to `value`, or remove it.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaOp {
    pub key: String,
    pub value: f64,
    pub remove: bool,
}

/// How a DescribeClientQuotas component matches an entity type's name.
#[derive(Debug, Clone, PartialEq)]
pub enum NameMatch {
    Exact(String),
    Default,
    Any,
}

/// Checks an entity as Kafka does: known types, at most one each, `ip` alone and a valid
/// address (or the default).
pub fn validate_entity(parts: &[(String, Option<String>)]) -> Result<Entity, QuotaError> {
    let mut out = BTreeMap::new();
    for (t, name) in parts {
        let ty = EntityType::parse(t)
            .ok_or_else(|| QuotaError::BadEntity(format!("unknown entity type {t:?}")))?;
        if out.insert(ty, name.clone()).is_some() {
            return Err(QuotaError::BadEntity(format!(
                "duplicate entity type {t:?}"
            )));
        }
    }
    if out.is_empty() {
        return Err(QuotaError::BadEntity("no entity type given".into()));
    }
    if let Some(ip) = out.get(&EntityType::Ip) {
        if out.len() > 1 {
            return Err(QuotaError::BadEntity(
                "ip quotas cannot be combined with user or client-id".into(),
            ));
        }
        if let Some(ip) = ip {
            if ip.parse::<std::net::IpAddr>().is_err() {
                return Err(QuotaError::BadEntity(format!(
                    "{ip:?} is not an IP address"
                )));
            }
        }
    }
    Ok(Entity(out))
}

/// An entity and its quota values, as the store holds them.
pub type QuotaEntry<'a> = (&'a Entity, &'a BTreeMap<QuotaKey, f64>);

/// Every quota set, by entity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QuotaStore {
    entries: BTreeMap<Entity, BTreeMap<QuotaKey, f64>>,
}

impl QuotaStore {
    pub fn from_entries(
        entries: impl IntoIterator<Item = (Entity, BTreeMap<QuotaKey, f64>)>,
    ) -> Self {
        QuotaStore {
            entries: entries.into_iter().filter(|(_, v)| !v.is_empty()).collect(),
        }
    }

    /// The values `ops` would leave for `entity` (validated; nothing changes yet).
    pub fn altered(
        &self,
        entity: &Entity,
        ops: &[QuotaOp],
    ) -> Result<BTreeMap<QuotaKey, f64>, QuotaError> {
        let ip = entity.0.contains_key(&EntityType::Ip);
        let mut values = self.entries.get(entity).cloned().unwrap_or_default();
        let mut seen = Vec::new();
        for op in ops {
            let key = QuotaKey::parse(&op.key).ok_or_else(|| {
                QuotaError::BadValue(format!("{:?} is not a valid quota key", op.key))
            })?;
            if seen.contains(&key) {
                return Err(QuotaError::BadValue(format!(
                    "duplicate quota key {:?}",
                    op.key
                )));
            }
            seen.push(key);
            if key.for_ip() != ip {
                return Err(QuotaError::BadValue(format!(
                    "{} does not apply to entity {entity}",
                    key.name()
                )));
            }
            if op.remove {
                values.remove(&key);
                continue;
            }
            if !op.value.is_finite() || op.value <= 0.0 {
                return Err(QuotaError::BadValue(format!(
                    "{} must be positive, not {}",
                    key.name(),
                    op.value
                )));
            }
            if key.whole() && op.value.fract() != 0.0 {
                return Err(QuotaError::BadValue(format!(
                    "{} must be a whole number, not {}",
                    key.name(),
                    op.value
                )));
            }
            values.insert(key, op.value);
        }
        Ok(values)
    }

    /// Stores the values `altered` returned.
    pub fn set(&mut self, entity: Entity, values: BTreeMap<QuotaKey, f64>) {
        if values.is_empty() {
            self.entries.remove(&entity);
        } else {
            self.entries.insert(entity, values);
        }
    }

    /// DescribeClientQuotas: entities matching every component (and, when `strict`, no
    /// other type), with their values.
    pub fn describe(
        &self,
        components: &[(String, NameMatch)],
        strict: bool,
    ) -> Result<Vec<QuotaEntry<'_>>, QuotaError> {
        let mut filter: Vec<(EntityType, &NameMatch)> = Vec::new();
        for (t, m) in components {
            let ty = EntityType::parse(t)
                .ok_or_else(|| QuotaError::BadFilter(format!("unknown entity type {t:?}")))?;
            if filter.iter().any(|(f, _)| *f == ty) {
                return Err(QuotaError::BadFilter(format!(
                    "duplicate filter component for entity type {t:?}"
                )));
            }
            filter.push((ty, m));
        }
        if filter.iter().any(|(t, _)| *t == EntityType::Ip) && filter.len() > 1 {
            return Err(QuotaError::BadFilter(
                "ip cannot be combined with user or client-id".into(),
            ));
        }
        Ok(self
            .entries
            .iter()
            .filter(|(e, _)| {
                filter.iter().all(|(t, m)| match (e.0.get(t), m) {
                    (None, _) => false,
                    (Some(_), NameMatch::Any) => true,
                    (Some(None), NameMatch::Default) => true,
                    (Some(Some(n)), NameMatch::Exact(want)) => n == want,
                    _ => false,
                }) && (!strict || e.0.len() == filter.len())
            })
            .collect())
    }

    /// The quota for `key` that applies to a client, and the sensor it is measured by: the
    /// most specific entity setting it, in Kafka's order. The sensor is named by the
    /// actual user and/or client id at the matched level (so `/users/<default>` gives
    /// every user a rate of their own).
    pub fn limit(&self, key: QuotaKey, user: &str, client_id: &str) -> Option<(f64, Sensor)> {
        use EntityType::{ClientId, User};
        let u = || Some(user.to_string());
        let c = || Some(client_id.to_string());
        let levels: [(Entity, Sensor); 8] = [
            (
                Entity::new([(User, u()), (ClientId, c())]),
                Sensor::both(user, client_id),
            ),
            (
                Entity::new([(User, u()), (ClientId, None)]),
                Sensor::both(user, client_id),
            ),
            (Entity::new([(User, u())]), Sensor::user(user)),
            (
                Entity::new([(User, None), (ClientId, c())]),
                Sensor::both(user, client_id),
            ),
            (
                Entity::new([(User, None), (ClientId, None)]),
                Sensor::both(user, client_id),
            ),
            (Entity::new([(User, None)]), Sensor::user(user)),
            (Entity::new([(ClientId, c())]), Sensor::client(client_id)),
            (Entity::new([(ClientId, None)]), Sensor::client(client_id)),
        ];
        levels.into_iter().find_map(|(entity, sensor)| {
            self.entries
                .get(&entity)
                .and_then(|v| v.get(&key))
                .map(|q| (*q, sensor))
        })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> impl Iterator<Item = (&Entity, &BTreeMap<QuotaKey, f64>)> {
        self.entries.iter()
    }
}

/// Whose usage a rate measures (Kafka's quota metric tags): the user and/or client id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sensor {
    pub user: String,
    pub client_id: String,
}

impl Sensor {
    fn both(user: &str, client_id: &str) -> Sensor {
        Sensor {
            user: user.into(),
            client_id: client_id.into(),
        }
    }
    fn user(user: &str) -> Sensor {
        Sensor::both(user, "")
    }
    fn client(client_id: &str) -> Sensor {
        Sensor::both("", client_id)
    }
}

/// A rate over [`SAMPLES`] samples of [`SAMPLE_MS`] (Kafka's `Rate` over a `SampledStat`).
#[derive(Debug, Clone, Default)]
pub struct Rate {
    /// (sample start ms, total) of the live samples, oldest first.
    samples: Vec<(i64, f64)>,
}

impl Rate {
    fn expire(&mut self, now: i64) {
        let horizon = now - SAMPLES as i64 * SAMPLE_MS;
        self.samples
            .retain(|(start, _)| *start + SAMPLE_MS > horizon);
    }

    pub fn record(&mut self, value: f64, now: i64) {
        self.expire(now);
        match self.samples.last_mut() {
            Some((start, total)) if now < *start + SAMPLE_MS => *total += value,
            _ => self.samples.push((now, value)),
        }
        if self.samples.len() > SAMPLES {
            self.samples.remove(0);
        }
    }

    /// The window the rate is over, in ms: from the oldest live sample to now, but at
    /// least `SAMPLES - 1` whole samples (so a first burst is spread, as in Kafka).
    pub fn window_ms(&self, now: i64) -> i64 {
        let oldest = self.samples.first().map_or(now, |(s, _)| *s);
        let elapsed = (now - oldest).max(0);
        let full = elapsed / SAMPLE_MS;
        let min_full = SAMPLES as i64 - 1;
        if full < min_full {
            elapsed + (min_full - full) * SAMPLE_MS
        } else {
            elapsed
        }
    }

    /// Per second.
    pub fn measure(&mut self, now: i64) -> f64 {
        self.expire(now);
        let total: f64 = self.samples.iter().map(|(_, t)| t).sum();
        total * 1000.0 / self.window_ms(now) as f64
    }
}

/// How long a client over `quota` (per second) with `rate` waits: Kafka's
/// `(rate - quota) / quota × window`.
pub fn throttle_ms(rate: f64, quota: f64, window_ms: i64) -> u64 {
    if rate <= quota || quota <= 0.0 {
        return 0;
    }
    ((rate - quota) / quota * window_ms as f64).round() as u64
}

/// Kafka's `TokenBucket` stat for `controller_mutation_rate`: credits refill at the
/// quota per second up to a burst of `quota × (SAMPLES − 1)` seconds; a mutation spends
/// one credit per partition and may leave the bucket in debt; while in debt, mutations are
/// refused (strict) or throttled (permissive) until it refills to zero.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    tokens: f64,
    last_ms: i64,
}

impl TokenBucket {
    fn burst(quota: f64) -> f64 {
        quota * ((SAMPLES as i64 - 1) * SAMPLE_MS) as f64 / 1000.0
    }

    /// A full bucket.
    pub fn new(quota: f64, now: i64) -> TokenBucket {
        TokenBucket {
            tokens: Self::burst(quota),
            last_ms: now,
        }
    }

    fn refill(&mut self, quota: f64, now: i64) {
        let elapsed = (now - self.last_ms).max(0) as f64 / 1000.0;
        self.tokens = (self.tokens + quota * elapsed).min(Self::burst(quota));
        self.last_ms = self.last_ms.max(now);
    }

    /// The time until the bucket is out of debt (0 when it is not in debt).
    fn debt_ms(&self, quota: f64) -> u64 {
        if self.tokens >= 0.0 || quota <= 0.0 {
            return 0;
        }
        (-self.tokens / quota * 1000.0).ceil() as u64
    }

    /// Strict: refused with the throttle time while in debt; else the credits are spent.
    pub fn try_spend(&mut self, quota: f64, permits: f64, now: i64) -> Result<(), u64> {
        self.refill(quota, now);
        match self.debt_ms(quota) {
            0 => {
                self.tokens -= permits;
                Ok(())
            }
            ms => Err(ms),
        }
    }

    /// Permissive: the credits are spent; the throttle time if that left the bucket in debt.
    pub fn spend(&mut self, quota: f64, permits: f64, now: i64) -> u64 {
        self.refill(quota, now);
        self.tokens -= permits;
        self.debt_ms(quota)
    }
}

/// Whether a controller mutation over the quota is refused or only throttled (Kafka:
/// strict for CreateTopics v6+, CreatePartitions v3+, DeleteTopics v5+).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutation {
    Strict,
    Permissive,
}

/// The live rates, one per (quota key, sensor), and the controller-mutation buckets.
#[derive(Debug, Default)]
pub struct Throttles {
    rates: Mutex<HashMap<(QuotaKey, Sensor), Rate>>,
    buckets: Mutex<HashMap<Sensor, TokenBucket>>,
}

impl Throttles {
    /// Records `value` against the sensor and returns the throttle time (0 when within
    /// the quota). The value counts even when it puts the client over its quota.
    pub fn record(&self, key: QuotaKey, quota: f64, sensor: Sensor, value: f64, now: i64) -> u64 {
        let mut rates = self.rates.lock().unwrap_or_else(|p| p.into_inner());
        let rate = rates.entry((key, sensor)).or_default();
        rate.record(value, now);
        let measured = rate.measure(now);
        throttle_ms(measured, quota, rate.window_ms(now))
    }

    /// Records `permits` partition mutations against the sensor's bucket: `Err(throttle)`
    /// when a strict mutation is refused; `Ok(throttle)` when done (a permissive one may
    /// leave a throttle time).
    pub fn mutate(
        &self,
        quota: f64,
        sensor: Sensor,
        permits: f64,
        mode: Mutation,
        now: i64,
    ) -> Result<u64, u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets
            .entry(sensor)
            .or_insert_with(|| TokenBucket::new(quota, now));
        match mode {
            Mutation::Strict => bucket.try_spend(quota, permits, now).map(|()| 0),
            Mutation::Permissive => Ok(bucket.spend(quota, permits, now)),
        }
    }

    /// Takes back a recorded value (a throttled Fetch sends nothing, so it is not counted).
    pub fn unrecord(&self, key: QuotaKey, sensor: Sensor, value: f64, now: i64) {
        let mut rates = self.rates.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(rate) = rates.get_mut(&(key, sensor)) {
            rate.record(-value, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EntityType::{ClientId, User};

    fn op(key: &str, value: f64) -> QuotaOp {
        QuotaOp {
            key: key.into(),
            value,
            remove: false,
        }
    }

    fn set(store: &mut QuotaStore, entity: Entity, key: &str, value: f64) {
        let v = store.altered(&entity, &[op(key, value)]).expect("valid");
        store.set(entity, v);
    }

    #[test]
    fn validation_follows_kafka() {
        let parts = |v: &[(&str, Option<&str>)]| -> Vec<(String, Option<String>)> {
            v.iter()
                .map(|(t, n)| (t.to_string(), n.map(str::to_string)))
                .collect()
        };
        assert!(validate_entity(&parts(&[("user", Some("a")), ("client-id", None)])).is_ok());
        assert!(validate_entity(&parts(&[("ip", Some("10.0.0.1"))])).is_ok());
        assert!(validate_entity(&parts(&[("ip", Some("nope"))])).is_err());
        assert!(validate_entity(&parts(&[("ip", None), ("user", None)])).is_err());
        assert!(validate_entity(&parts(&[("user", None), ("user", Some("x"))])).is_err());
        assert!(validate_entity(&parts(&[("group", Some("g"))])).is_err());
        assert!(validate_entity(&[]).is_err());
        let store = QuotaStore::default();
        let user = Entity::new([(User, Some("a".into()))]);
        assert!(store
            .altered(&user, &[op("producer_byte_rate", 1024.0)])
            .is_ok());
        assert!(store
            .altered(&user, &[op("request_percentage", 12.5)])
            .is_ok());
        for bad in [
            op("producer_byte_rate", 10.5),
            op("producer_byte_rate", 0.0),
            op("consumer_byte_rate", -1.0),
            op("connection_creation_rate", 5.0),
            op("no_such_quota", 1.0),
        ] {
            assert!(
                store.altered(&user, std::slice::from_ref(&bad)).is_err(),
                "{bad:?}"
            );
        }
        let ip = Entity::new([(EntityType::Ip, None)]);
        assert!(store
            .altered(&ip, &[op("connection_creation_rate", 5.0)])
            .is_ok());
        assert!(store
            .altered(&ip, &[op("producer_byte_rate", 5.0)])
            .is_err());
    }

    #[test]
    fn the_most_specific_entity_wins_per_key() {
        let mut s = QuotaStore::default();
        set(
            &mut s,
            Entity::new([(ClientId, None)]),
            "producer_byte_rate",
            1.0,
        );
        set(
            &mut s,
            Entity::new([(User, None)]),
            "producer_byte_rate",
            2.0,
        );
        set(
            &mut s,
            Entity::new([(User, Some("alice".into()))]),
            "producer_byte_rate",
            3.0,
        );
        set(
            &mut s,
            Entity::new([(User, Some("alice".into())), (ClientId, Some("app".into()))]),
            "consumer_byte_rate",
            4.0,
        );
        let p = QuotaKey::ProducerByteRate;
        assert_eq!(s.limit(p, "alice", "app").map(|l| l.0), Some(3.0));
        let (q, sensor) = s.limit(p, "bob", "app").expect("user default");
        assert_eq!(
            (q, sensor.user.as_str(), sensor.client_id.as_str()),
            (2.0, "bob", "")
        );
        assert_eq!(
            s.limit(QuotaKey::ConsumerByteRate, "alice", "app")
                .map(|l| l.0),
            Some(4.0)
        );
        assert_eq!(s.limit(QuotaKey::ConsumerByteRate, "alice", "other"), None);
        s.set(Entity::new([(User, None)]), BTreeMap::new());
        s.set(Entity::new([(User, Some("alice".into()))]), BTreeMap::new());
        let (q, sensor) = s.limit(p, "bob", "app").expect("client default");
        assert_eq!(
            (q, sensor.user.as_str(), sensor.client_id.as_str()),
            (1.0, "", "app")
        );
    }

    #[test]
    fn describe_filters_match_as_kafka() {
        let mut s = QuotaStore::default();
        set(
            &mut s,
            Entity::new([(User, Some("alice".into()))]),
            "producer_byte_rate",
            1.0,
        );
        set(
            &mut s,
            Entity::new([(User, None)]),
            "producer_byte_rate",
            2.0,
        );
        set(
            &mut s,
            Entity::new([(User, Some("alice".into())), (ClientId, Some("app".into()))]),
            "producer_byte_rate",
            3.0,
        );
        let n = |c: &[(&str, NameMatch)], strict| {
            let c: Vec<(String, NameMatch)> =
                c.iter().map(|(t, m)| (t.to_string(), m.clone())).collect();
            s.describe(&c, strict).expect("valid").len()
        };
        assert_eq!(n(&[("user", NameMatch::Exact("alice".into()))], false), 2);
        assert_eq!(n(&[("user", NameMatch::Exact("alice".into()))], true), 1);
        assert_eq!(n(&[("user", NameMatch::Default)], false), 1);
        assert_eq!(n(&[("user", NameMatch::Any)], true), 2);
        assert_eq!(n(&[("client-id", NameMatch::Any)], false), 1);
        assert_eq!(n(&[], false), 3);
        assert_eq!(n(&[], true), 0);
        assert!(s
            .describe(
                &[
                    ("user".into(), NameMatch::Any),
                    ("user".into(), NameMatch::Any)
                ],
                false
            )
            .is_err());
    }

    #[test]
    fn the_mutation_bucket_refuses_while_in_debt() {
        // 2 partitions/s: a burst of 20 credits.
        let mut b = TokenBucket::new(2.0, 0);
        assert_eq!(b.try_spend(2.0, 15.0, 0), Ok(()));
        // 5 left: spent into debt (-5), which the next mutation pays for.
        assert_eq!(b.try_spend(2.0, 10.0, 0), Ok(()));
        assert_eq!(b.try_spend(2.0, 1.0, 0), Err(2500));
        // 1 s later the debt is 3 credits: 1.5 s.
        assert_eq!(b.try_spend(2.0, 1.0, 1000), Err(1500));
        assert_eq!(b.try_spend(2.0, 1.0, 2500), Ok(()));
        // Permissive: always done, throttled by the debt it leaves.
        let mut p = TokenBucket::new(1.0, 0);
        assert_eq!(p.spend(1.0, 10.0, 0), 0);
        assert_eq!(p.spend(1.0, 3.0, 0), 3000);
        // Refills stop at the burst.
        let mut full = TokenBucket::new(1.0, 0);
        assert_eq!(full.spend(1.0, 11.0, 1_000_000), 1000);
        let t = Throttles::default();
        let s = Sensor::client("c");
        assert_eq!(t.mutate(1.0, s.clone(), 12.0, Mutation::Strict, 0), Ok(0));
        assert_eq!(
            t.mutate(1.0, s.clone(), 1.0, Mutation::Strict, 0),
            Err(2000)
        );
        assert_eq!(t.mutate(1.0, s, 1.0, Mutation::Permissive, 0), Ok(3000));
    }

    #[test]
    fn throttle_is_the_time_until_the_rate_is_back_at_the_quota() {
        let t = Throttles::default();
        let sensor = Sensor::user("alice");
        let k = QuotaKey::ProducerByteRate;
        // A first burst is spread over the 10 s minimum window: 10 000 bytes at 1000/s is
        // exactly at the quota.
        assert_eq!(t.record(k, 1000.0, sensor.clone(), 10_000.0, 0), 0);
        // 10 000 more: 2000/s over 10 s, throttle (2000 - 1000) / 1000 × 10 s.
        assert_eq!(t.record(k, 1000.0, sensor.clone(), 10_000.0, 0), 10_000);
        // Taken back (a throttled fetch), the rate is within the quota again.
        t.unrecord(k, sensor.clone(), 10_000.0, 0);
        assert_eq!(t.record(k, 1000.0, sensor.clone(), 0.0, 0), 0);
        // Old samples expire: 11 s later the window holds nothing.
        let mut r = Rate::default();
        r.record(5_000.0, 0);
        assert_eq!(r.measure(0), 500.0);
        assert_eq!(r.measure(12_000), 0.0);
        assert_eq!(throttle_ms(1500.0, 1000.0, 11_000), 5_500);
        assert_eq!(throttle_ms(900.0, 1000.0, 11_000), 0);
    }
}
