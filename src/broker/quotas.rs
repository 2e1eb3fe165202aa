//! Client quotas on the broker: the store (persisted in the metadata store under
//! `quota:<entity as JSON>` config keys), AlterClientQuotas / DescribeClientQuotas, and
//! the byte-rate throttles of Produce and Fetch (`crate::quota` has the rules).

use std::collections::BTreeMap;

use thiserror::Error;

use super::Broker;
use crate::meta::MetaError;
use crate::quota::{
    Entity, Mutation, NameMatch, QuotaError, QuotaKey, QuotaOp, QuotaStore, Sensor,
};

const PREFIX: &str = "quota:";

#[derive(Debug, Error)]
pub enum QuotaAlterError {
    #[error(transparent)]
    Invalid(#[from] QuotaError),
    #[error(transparent)]
    Meta(#[from] MetaError),
}

/// One entry of a DescribeClientQuotas answer: the entity and its values.
pub type DescribedQuota = (Entity, Vec<(QuotaKey, f64)>);

impl Broker {
    /// Reads the stored quotas (at startup).
    pub(super) fn load_quotas(&self) -> Result<(), MetaError> {
        let mut entries = Vec::new();
        for (key, map) in self.meta.all_configs()? {
            let Some(json) = key.strip_prefix(PREFIX) else {
                continue;
            };
            let corrupt = |reason: String| MetaError::Corrupt {
                key: key.clone(),
                reason,
            };
            let entity: Entity = serde_json::from_str(json).map_err(|e| corrupt(e.to_string()))?;
            let mut values = BTreeMap::new();
            for (k, v) in &map {
                let k = QuotaKey::parse(k).ok_or_else(|| corrupt(format!("quota key {k:?}")))?;
                let v: f64 = v
                    .parse()
                    .map_err(|_| corrupt(format!("quota value {v:?}")))?;
                values.insert(k, v);
            }
            entries.push((entity, values));
        }
        *self.quotas.write().unwrap_or_else(|p| p.into_inner()) = QuotaStore::from_entries(entries);
        Ok(())
    }

    /// AlterClientQuotas for one entity: validated, then (unless `validate_only`) stored
    /// durably and applied.
    pub fn alter_client_quotas(
        &self,
        entity: &Entity,
        ops: &[QuotaOp],
        validate_only: bool,
    ) -> Result<(), QuotaAlterError> {
        let mut store = self.quotas.write().unwrap_or_else(|p| p.into_inner());
        let values = store.altered(entity, ops)?;
        if validate_only {
            return Ok(());
        }
        let key = format!(
            "{PREFIX}{}",
            serde_json::to_string(entity).map_err(|e| MetaError::Corrupt {
                key: entity.to_string(),
                reason: e.to_string(),
            })?
        );
        let stored: BTreeMap<String, String> = values
            .iter()
            .map(|(k, v)| (k.name().to_string(), v.to_string()))
            .collect();
        self.meta.put_configs(&key, &stored)?;
        tracing::info!(entity = %entity, quotas = ?stored, "client quotas altered");
        store.set(entity.clone(), values);
        Ok(())
    }

    /// DescribeClientQuotas.
    pub fn describe_client_quotas(
        &self,
        components: &[(String, NameMatch)],
        strict: bool,
    ) -> Result<Vec<DescribedQuota>, QuotaError> {
        let store = self.quotas.read().unwrap_or_else(|p| p.into_inner());
        Ok(store
            .describe(components, strict)?
            .into_iter()
            .map(|(e, v)| (e.clone(), v.iter().map(|(k, v)| (*k, *v)).collect()))
            .collect())
    }

    /// Records `bytes` against the client's quota for `key` (produce or consume byte
    /// rate); returns the throttle time in ms, 0 without a quota or within it, and the
    /// sensor it was recorded against (to take it back).
    pub fn record_bytes(
        &self,
        key: QuotaKey,
        user: &str,
        client_id: &str,
        bytes: usize,
        now_ms: i64,
    ) -> (u64, Option<Sensor>) {
        self.record_quota(key, user, client_id, bytes as f64, now_ms)
    }

    /// Records `nanos` of a request's handling against the client's `request_percentage`
    /// (percent of one thread's time per second); the throttle time in ms, capped at one
    /// sample window as Kafka caps request throttles.
    pub fn record_request_time(&self, user: &str, client_id: &str, nanos: u64, now_ms: i64) -> u64 {
        let percent = nanos as f64 * 100.0 / 1e9;
        let (ms, _) = self.record_quota(
            QuotaKey::RequestPercentage,
            user,
            client_id,
            percent,
            now_ms,
        );
        ms.min(crate::quota::SAMPLE_MS as u64)
    }

    /// Spends `partitions` of the client's `controller_mutation_rate` (KIP-599):
    /// `Err(throttle_ms)` when a strict mutation is refused, else `Ok(throttle_ms)` (0
    /// without a quota or within it).
    pub fn controller_mutation(
        &self,
        user: &str,
        client_id: &str,
        partitions: u32,
        mode: Mutation,
        now_ms: i64,
    ) -> Result<u64, u64> {
        let limit = {
            let store = self.quotas.read().unwrap_or_else(|p| p.into_inner());
            if store.is_empty() {
                return Ok(0);
            }
            store.limit(QuotaKey::ControllerMutationRate, user, client_id)
        };
        match limit {
            Some((quota, sensor)) => {
                self.throttles
                    .mutate(quota, sensor, f64::from(partitions), mode, now_ms)
            }
            None => Ok(0),
        }
    }

    fn record_quota(
        &self,
        key: QuotaKey,
        user: &str,
        client_id: &str,
        value: f64,
        now_ms: i64,
    ) -> (u64, Option<Sensor>) {
        let limit = {
            let store = self.quotas.read().unwrap_or_else(|p| p.into_inner());
            if store.is_empty() {
                return (0, None);
            }
            store.limit(key, user, client_id)
        };
        match limit {
            Some((quota, sensor)) => {
                let ms = self
                    .throttles
                    .record(key, quota, sensor.clone(), value, now_ms);
                (ms, Some(sensor))
            }
            None => (0, None),
        }
    }

    /// Takes back bytes recorded by [`Broker::record_bytes`] that were not sent.
    pub fn unrecord_bytes(&self, key: QuotaKey, sensor: Sensor, bytes: usize, now_ms: i64) {
        self.throttles.unrecord(key, sensor, bytes as f64, now_ms);
    }
}
