//! Liveness: one task pings every connection each interval and drops those that stop answering.
//!
//! A single task walking the register costs one timer for the whole server instead of one per
//! connection; a connection's only liveness state is a counter of unanswered pings. An idle
//! connection's ping is written by this task itself (through the connection's write gate), so a
//! ping wakes the connection's own task only once, for the pong.

use std::sync::Arc;

use tokio::time::MissedTickBehavior;

use super::Network;

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
                connection.send_ping();
            }
            // Each ping may be a system call: a long walk gives the other tasks their turns.
            tokio::task::coop::consume_budget().await;
        }
    }
}
