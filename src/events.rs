//! In-process change notifications, published after a transaction commits.
//!
//! Subscriptions read from here. Every subscriber sees only its own tenant's events: the
//! filter sits in [`EventBus::subscribe`], not in the resolvers.

use futures_util::Stream;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::tenancy::TenantScope;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A user was created or updated.
    User(Uuid),
}

#[derive(Clone, Debug)]
struct Event {
    tenant_id: Uuid,
    change: Change,
}

#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Event>,
}

impl EventBus {
    pub fn new(capacity: usize) -> Self {
        Self {
            sender: broadcast::channel(capacity).0,
        }
    }

    /// Call only after the change has committed.
    pub fn publish(&self, scope: &TenantScope, change: Change) {
        // No subscriber is not an error.
        let _ = self.sender.send(Event {
            tenant_id: scope.tenant_id(),
            change,
        });
    }

    /// The changes of one tenant, from now on.
    pub fn subscribe(&self, scope: &TenantScope) -> impl Stream<Item = Change> + Send + 'static {
        let tenant_id = scope.tenant_id();
        let receiver = self.sender.subscribe();
        futures_util::stream::unfold(receiver, move |mut receiver| async move {
            loop {
                match receiver.recv().await {
                    Ok(event) if event.tenant_id == tenant_id => {
                        return Some((event.change, receiver));
                    }
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "subscriber lagged behind; events skipped");
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
    }
}
