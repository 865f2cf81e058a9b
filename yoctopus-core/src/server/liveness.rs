//! Liveness: one task pings every connection each interval and drops those that stop answering.
//!
//! A single task walking the register costs one timer for the whole server instead of one per
//! connection; a connection's only liveness state is a counter of unanswered pings.

use std::sync::Arc;

use tokio::time::MissedTickBehavior;

use super::Network;
use crate::transport::Outbound;

pub(crate) async fn ping_forever(network: Arc<Network>) {
    let limits = network.config().clone();
    let mut ticks = tokio::time::interval(limits.ping_interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        for connection in network.app().services().register().snapshot() {
            let unanswered_before = connection.ping_sent() - 1;
            if unanswered_before >= limits.max_lost_pings {
                tracing::debug!(connection = %connection.id(), "dropping a connection that stopped answering pings");
                connection.terminate();
            } else {
                // A full queue means the client is not reading; the ping counts as lost.
                let _ = connection.outbound().try_send(Outbound::Ping);
            }
        }
    }
}
