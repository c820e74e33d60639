//! Metrics per definition: instances per state, time spent in each state (median and 95th
//! percentile), SLA breaches.

use std::collections::BTreeMap;

use chrono::Utc;
use sea_orm::{ColumnTrait, DatabaseConnection, QueryFilter, QueryOrder};

use entity::process::{instance, step};

use super::engine::{ACTIVE, CANCELLED, COMPLETED};
use crate::auth::Principal;
use crate::error::AppResult;
use crate::modules::Module;
use crate::permissions::Access;

#[derive(Debug, Default, PartialEq)]
pub struct StateMetrics {
    pub state: String,
    /// Active instances in this state now.
    pub active: u64,
    /// Stays observed (finished ones, and the ongoing stays of active instances).
    pub stays: u64,
    pub median_seconds: f64,
    pub p95_seconds: f64,
}

#[derive(Debug, Default, PartialEq)]
pub struct Metrics {
    pub instances: u64,
    pub active: u64,
    pub completed: u64,
    pub cancelled: u64,
    pub sla_breaches: u64,
    pub states: Vec<StateMetrics>,
}

/// The value below which `share` of the sorted samples fall (nearest rank).
fn percentile(sorted: &[f64], share: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (share * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub async fn for_definition(
    db: &DatabaseConnection,
    actor: &Principal,
    key: &str,
) -> AppResult<Metrics> {
    actor.require(Module::Processes, Access::Read)?;
    let scope = actor.scope();
    let instances = scope
        .select::<instance::Entity>()
        .filter(instance::Column::DefinitionKey.eq(key))
        .all(db)
        .await?;
    let steps = scope
        .select::<step::Entity>()
        .filter(step::Column::InstanceId.is_in(instances.iter().map(|i| i.id)))
        .order_by_asc(step::Column::InstanceId)
        .order_by_asc(step::Column::At)
        .order_by_asc(step::Column::Id)
        .all(db)
        .await?;
    let now = Utc::now();
    let mut stays: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for instance in &instances {
        let own: Vec<&step::Model> = steps
            .iter()
            .filter(|s| s.instance_id == instance.id)
            .collect();
        for (i, entered) in own.iter().enumerate() {
            let left = match own.get(i + 1) {
                Some(next) => next.at,
                None if instance.status == ACTIVE => now,
                None => continue,
            };
            // A step that stays in its state (an SLA mark, a cancellation) does not end the stay.
            if own
                .get(i + 1)
                .is_some_and(|next| next.to_state == entered.to_state)
            {
                continue;
            }
            let seconds = (left - entered.at).num_milliseconds() as f64 / 1000.0;
            stays
                .entry(entered.to_state.clone())
                .or_default()
                .push(seconds);
        }
    }
    let count = |status: &str| instances.iter().filter(|i| i.status == status).count() as u64;
    let states = stays
        .into_iter()
        .map(|(state, mut samples)| {
            samples.sort_by(|a, b| a.total_cmp(b));
            StateMetrics {
                active: instances
                    .iter()
                    .filter(|i| i.status == ACTIVE && i.state == state)
                    .count() as u64,
                stays: samples.len() as u64,
                median_seconds: percentile(&samples, 0.5),
                p95_seconds: percentile(&samples, 0.95),
                state,
            }
        })
        .collect();
    Ok(Metrics {
        instances: instances.len() as u64,
        active: count(ACTIVE),
        completed: count(COMPLETED),
        cancelled: count(CANCELLED),
        sla_breaches: instances.iter().filter(|i| i.sla_breached).count() as u64,
        states,
    })
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let samples: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&samples, 0.5), 10.0);
        assert_eq!(percentile(&samples, 0.95), 19.0);
        assert_eq!(percentile(&[7.0], 0.95), 7.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }
}
