//! This node's connection to NATS, as delivery needs it: every send fails fast while NATS is
//! away, and the outage is told in the log with the window in which messages may have been
//! missed.
//!
//! The client (async-nats) reconnects by itself, forever, with a capped backoff, and then
//! subscribes again to everything this node listens to. What it would otherwise do while
//! disconnected is buffer publishes and, once its buffer is full, make publishers wait: a push
//! sent during an outage would either arrive late, after pushes sent since, or hang its caller.
//! So nothing is handed to the client unless it is connected, and every hand-over is bounded in
//! time: the caller gets [`DeliveryError::Unavailable`] instead.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use async_nats::client::RequestErrorKind;
use bytes::Bytes;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::delivery::DeliveryError;

/// How long connecting may take at start.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest wait between two reconnection attempts.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(2);

/// A connection to NATS.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    client: async_nats::Client,
    url: Arc<str>,
    /// How long one hand-over to the client, or one request, may take.
    send_timeout: Duration,
    outage: Arc<Outage>,
}

/// Whether NATS is away, since when, and who wants to hear when it is back.
#[derive(Debug, Default)]
pub(crate) struct Outage {
    since: Mutex<Option<(Instant, SystemTime)>>,
    /// Woken when the connection is back after an outage.
    pub(crate) back: Notify,
}

impl Outage {
    fn on_event(&self, event: &async_nats::Event, url: &str) {
        match event {
            async_nats::Event::Disconnected => {
                let mut since = self.since.lock().unwrap_or_else(PoisonError::into_inner);
                if since.is_none() {
                    *since = Some((Instant::now(), SystemTime::now()));
                    tracing::warn!(
                        url,
                        "lost the connection to NATS: until it is back, pushes, multicasts and register queries that need other servers fail with `delivery is unavailable`; reconnecting"
                    );
                }
            }
            async_nats::Event::Connected => {
                let outage = self
                    .since
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take();
                if let Some((began, began_at)) = outage {
                    tracing::warn!(
                        url,
                        outage_ms = began.elapsed().as_millis() as u64,
                        from = %humane(began_at),
                        to = %humane(SystemTime::now()),
                        "reconnected to NATS and subscribed again: pushes and queries other servers sent to this one within that window may have been missed, and this server's own failed with an error to their callers"
                    );
                    self.back.notify_one();
                }
            }
            async_nats::Event::SlowConsumer(subscription) => {
                tracing::warn!(
                    subscription,
                    "NATS messages for this server were dropped: it is not keeping up with the cluster's traffic"
                );
            }
            other => tracing::debug!(event = %other, "NATS event"),
        }
    }
}

/// Seconds since the Unix epoch, with milliseconds: a time any log reader can compare.
fn humane(at: SystemTime) -> String {
    let since_epoch = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{}.{:03} s since 1970",
        since_epoch.as_secs(),
        since_epoch.subsec_millis()
    )
}

/// Why a request to one node got no answer.
#[derive(Debug)]
pub(crate) enum NoAnswer {
    /// Nobody listens on the subject: the node is not there.
    NoResponders,
    /// Something failed or took too long; the text says what.
    Unavailable(DeliveryError),
}

impl Link {
    /// Connects to `url`, waiting at most a few seconds.
    pub(crate) async fn connect(
        url: &str,
        name: String,
        send_timeout: Duration,
    ) -> Result<Self, String> {
        let outage = Arc::new(Outage::default());
        let heard = Arc::clone(&outage);
        let url: Arc<str> = Arc::from(url);
        let event_url = Arc::clone(&url);
        let client = async_nats::ConnectOptions::new()
            .name(name)
            .no_echo()
            .connection_timeout(CONNECT_TIMEOUT)
            .request_timeout(Some(send_timeout))
            .max_reconnects(None)
            .reconnect_delay_callback(reconnect_delay)
            .event_callback(move |event| {
                let heard = Arc::clone(&heard);
                let url = Arc::clone(&event_url);
                async move { heard.on_event(&event, &url) }
            })
            .connect(&*url)
            .await
            .map_err(|error| error.to_string())?;
        Ok(Self {
            client,
            url,
            send_timeout,
            outage,
        })
    }

    pub(crate) fn client(&self) -> &async_nats::Client {
        &self.client
    }

    pub(crate) fn outage(&self) -> &Outage {
        &self.outage
    }

    /// `Ok` when connected; else the error every caller gets while NATS is away.
    pub(crate) fn ready(&self) -> Result<(), DeliveryError> {
        match self.client.connection_state() {
            async_nats::connection::State::Connected => Ok(()),
            _ => Err(DeliveryError::Unavailable(format!(
                "not connected to NATS at {} (reconnecting)",
                self.url
            ))),
        }
    }

    /// The largest message the NATS server takes.
    pub(crate) fn max_payload(&self) -> usize {
        self.client.server_info().max_payload
    }

    /// Publishes `payload` to `subject` (answers, if any, to `reply`).
    pub(crate) async fn publish(
        &self,
        subject: String,
        reply: Option<String>,
        payload: Bytes,
    ) -> Result<(), DeliveryError> {
        self.ready()?;
        let max = self.max_payload();
        if payload.len() > max {
            return Err(DeliveryError::Unavailable(format!(
                "a message of {} bytes is larger than the NATS server takes ({max})",
                payload.len()
            )));
        }
        let sent = match reply {
            Some(reply) => {
                tokio::time::timeout(
                    self.send_timeout,
                    self.client.publish_with_reply(subject, reply, payload),
                )
                .await
            }
            None => {
                tokio::time::timeout(self.send_timeout, self.client.publish(subject, payload)).await
            }
        };
        match sent {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(DeliveryError::Unavailable(format!(
                "NATS refused the message: {error}"
            ))),
            Err(_) => Err(DeliveryError::Unavailable(format!(
                "NATS did not take the message within {:?}",
                self.send_timeout
            ))),
        }
    }

    /// Sends a request to `subject` and waits for its one answer, at most the send timeout.
    pub(crate) async fn request(
        &self,
        subject: String,
        payload: Bytes,
    ) -> Result<async_nats::Message, NoAnswer> {
        self.ready().map_err(NoAnswer::Unavailable)?;
        let max = self.max_payload();
        if payload.len() > max {
            return Err(NoAnswer::Unavailable(DeliveryError::Unavailable(format!(
                "a message of {} bytes is larger than the NATS server takes ({max})",
                payload.len()
            ))));
        }
        // The client's own timeout covers the answer; this one also covers handing it over.
        let answered = tokio::time::timeout(
            self.send_timeout + Duration::from_millis(100),
            self.client.request(subject.clone(), payload),
        )
        .await;
        match answered {
            Ok(Ok(message)) => Ok(message),
            Ok(Err(error)) if error.kind() == RequestErrorKind::NoResponders => {
                Err(NoAnswer::NoResponders)
            }
            Ok(Err(error)) if error.kind() == RequestErrorKind::TimedOut => {
                Err(NoAnswer::Unavailable(DeliveryError::Unavailable(format!(
                    "no answer on {subject} within {:?}",
                    self.send_timeout
                ))))
            }
            Ok(Err(error)) => Err(NoAnswer::Unavailable(DeliveryError::Unavailable(format!(
                "the request on {subject} failed: {error}"
            )))),
            Err(_) => Err(NoAnswer::Unavailable(DeliveryError::Unavailable(format!(
                "no answer on {subject} within {:?}",
                self.send_timeout
            )))),
        }
    }

    /// Sends what was handed over and waits until the server has it, at most the send timeout.
    pub(crate) async fn flush(&self) -> Result<(), DeliveryError> {
        match tokio::time::timeout(self.send_timeout, self.client.flush()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(DeliveryError::Unavailable(error.to_string())),
            Err(_) => Err(DeliveryError::Unavailable(format!(
                "NATS did not confirm within {:?}",
                self.send_timeout
            ))),
        }
    }
}

/// The wait before reconnection attempt `attempts` (counted from 1): 50 ms doubling to 2 s, so
/// a NATS server back after a restart is found within about two seconds.
fn reconnect_delay(attempts: usize) -> Duration {
    let exponent = attempts.saturating_sub(1).min(8) as u32;
    Duration::from_millis(50u64 << exponent).min(MAX_RECONNECT_DELAY)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::reconnect_delay;

    #[test]
    fn reconnect_delays_double_up_to_two_seconds() {
        let delays: Vec<Duration> = (1..=8).map(reconnect_delay).collect();
        assert_eq!(delays[0], Duration::from_millis(50));
        assert_eq!(delays[1], Duration::from_millis(100));
        assert!(delays.windows(2).all(|pair| pair[0] <= pair[1]));
        assert_eq!(reconnect_delay(100), Duration::from_secs(2));
    }
}
