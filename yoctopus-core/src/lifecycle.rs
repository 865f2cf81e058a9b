//! Lifecycle events: the listener tables of a server and the running of listeners.
//!
//! Tables are built once, when the server starts, in plugin registration order, so an event with
//! no listener costs one emptiness check. Listeners of one event run one after another, each
//! seeing what the one before returned; a listener's error or panic is logged and reported to the
//! error hook, and never closes the connection or skips the listeners after it.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::Context;

use futures_util::FutureExt;
use tracing::Instrument;

use crate::connection::{Connection, UpgradeRequest};
use crate::extract::{Call, Event, RequestData, UpgradeCall};
use crate::fault::{panic_message, ErrorEvent};
use crate::listener::{InitialSettings, Refusal, Step};
use crate::plugin::{
    BoxFuture, Handler, ListenerDef, ListenerEvent, PluginDef, SettingListenerDef, UpgradeCheckDef,
};
use crate::protocol::{Meta, Outcome};
use crate::services::Services;
use crate::settings::{AnySettings, SettingsRegistry};

/// Every listener of a server, by event.
#[derive(Default)]
pub(crate) struct Lifecycle {
    opened: Vec<&'static ListenerDef>,
    closed: Vec<&'static ListenerDef>,
    request_received: Vec<&'static ListenerDef>,
    response_prepared: Vec<&'static ListenerDef>,
    response_sent: Vec<&'static ListenerDef>,
    connection_changed: Vec<&'static ListenerDef>,
    /// Per settings slot, the listeners of its settings.
    settings: Vec<Vec<&'static SettingListenerDef>>,
    upgrade_checks: Vec<&'static UpgradeCheckDef>,
    /// Whether a request listener reads or replaces `data`, settled once at start.
    request_data_seen: bool,
    /// Whether a response listener reads or replaces `data`.
    response_data_seen: bool,
    /// Whether a request or response listener reads `meta`.
    meta_seen: bool,
}

impl Lifecycle {
    pub(crate) fn new(plugins: &[&'static PluginDef], registry: &SettingsRegistry) -> Self {
        let mut lifecycle = Self {
            settings: vec![Vec::new(); registry.len()],
            ..Self::default()
        };
        for plugin in plugins {
            for listener in plugin.listeners {
                let table = match listener.event {
                    ListenerEvent::ConnectionOpened => &mut lifecycle.opened,
                    ListenerEvent::ConnectionClosed => &mut lifecycle.closed,
                    ListenerEvent::RequestReceived => &mut lifecycle.request_received,
                    ListenerEvent::ResponsePrepared => &mut lifecycle.response_prepared,
                    ListenerEvent::ResponseSent => &mut lifecycle.response_sent,
                    ListenerEvent::ConnectionChanged => &mut lifecycle.connection_changed,
                };
                table.push(listener);
            }
            for listener in plugin.setting_listeners {
                // The server refuses to start when a listened plugin is missing, so the slot is
                // found; an unknown one is skipped rather than trusted.
                if let Some(index) = registry.index_of(listener.settings.type_id()) {
                    lifecycle.settings[index].push(listener);
                }
            }
            lifecycle.upgrade_checks.extend(plugin.upgrade_checks);
        }
        let sees_data = |listener: &&ListenerDef| listener.reads_data || listener.transforms;
        lifecycle.request_data_seen = lifecycle.request_received.iter().any(sees_data);
        lifecycle.response_data_seen = lifecycle.response_prepared.iter().any(sees_data);
        lifecycle.meta_seen = lifecycle
            .request_received
            .iter()
            .chain(&lifecycle.response_prepared)
            .any(|listener| listener.reads_meta);
        lifecycle
    }

    /// Whether requests go through listeners before or after their handler.
    pub(crate) fn wraps_requests(&self) -> bool {
        !self.request_received.is_empty() || !self.response_prepared.is_empty()
    }

    /// Whether a request listener reads or replaces `data`: requests are then not read straight
    /// into their types with the envelope.
    pub(crate) fn request_data_seen(&self) -> bool {
        self.request_data_seen
    }

    /// Whether a request or response listener reads the request's `meta`.
    pub(crate) fn meta_seen(&self) -> bool {
        self.meta_seen
    }

    pub(crate) fn hears_responses_sent(&self) -> bool {
        !self.response_sent.is_empty()
    }

    /// Whether a `connection_opened` listener reads the upgrade request.
    pub(crate) fn opened_reads_upgrade(&self) -> bool {
        self.opened.iter().any(|listener| listener.reads_upgrade)
    }

    pub(crate) fn checks_upgrades(&self) -> bool {
        !self.upgrade_checks.is_empty()
    }

    /// Runs the upgrade checks in order; the first refusal ends them. The settings of every
    /// admitting check are returned, to become the connection's first settings.
    pub(crate) async fn check_upgrade(
        &self,
        call: &UpgradeCall,
        services: &Services,
    ) -> Result<Vec<InitialSettings>, Refusal> {
        let mut initial = Vec::new();
        for check in &self.upgrade_checks {
            let verdict = match std::panic::catch_unwind(AssertUnwindSafe(|| (check.run)(call))) {
                Ok(work) => AssertUnwindSafe(work).catch_unwind().await,
                Err(panic) => Err(panic),
            };
            match verdict {
                Ok(Ok(Some(settings))) => initial.push(settings),
                Ok(Ok(None)) => {}
                Ok(Err(refusal)) => {
                    tracing::debug!(check = check.name, %refusal, "upgrade refused");
                    return Err(refusal);
                }
                Err(panic) => {
                    report_panic(services, None, check.name, &*panic);
                    return Err(Refusal::new(500, "internal error"));
                }
            }
        }
        Ok(initial)
    }

    /// Runs the `connection_opened` listeners; those that ask see the whole upgrade request.
    pub(crate) async fn connection_opened(
        &self,
        connection: &Connection,
        services: &Arc<Services>,
        upgrade: UpgradeRequest,
    ) {
        for listener in &self.opened {
            let mut call = Call::new(connection.clone(), Arc::clone(services), null_data());
            if listener.reads_upgrade {
                call = call.with_upgrade(upgrade.clone());
            }
            run_listener(listener, &mut call).await;
        }
    }

    pub(crate) async fn connection_closed(
        &self,
        connection: &Connection,
        services: &Arc<Services>,
        code: u16,
    ) {
        for listener in &self.closed {
            let mut call = Call::new(connection.clone(), Arc::clone(services), null_data())
                .with_event(Event::Closed(code));
            run_listener(listener, &mut call).await;
        }
    }

    /// Runs a request through the `request_received` listeners, its handler and the
    /// `response_prepared` listeners.
    pub(crate) async fn around_request(
        self: Arc<Self>,
        mut call: Call,
        handler: Handler,
        meta: Option<Meta>,
    ) -> Outcome {
        for listener in &self.request_received {
            match run_listener(listener, &mut call).await {
                Step::Replace(data) => call.set_data(RequestData::Value(Box::new(data))),
                Step::Reject(error) => return Outcome::Error(error),
                Step::Pass | Step::Failed(_) => {}
            }
        }
        if self.response_prepared.is_empty() {
            return handler(call).await;
        }
        let mut response = Call::new(
            call.connection().clone(),
            Arc::clone(call.services()),
            null_data(),
        )
        .with_meta(meta);
        let outcome = handler(call).await;
        let Outcome::Data(bytes) = outcome else {
            return outcome;
        };
        if self.response_data_seen {
            let parsed = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
            response.set_data(RequestData::Value(Box::new(parsed)));
        }
        let mut replaced = false;
        for listener in &self.response_prepared {
            if let Step::Replace(data) = run_listener(listener, &mut response).await {
                response.set_data(RequestData::Value(Box::new(data)));
                replaced = true;
            }
        }
        if replaced {
            Outcome::data(response.data_value())
        } else {
            Outcome::Data(bytes)
        }
    }

    /// Runs the `response_sent` listeners, in the connection's task while they do not wait.
    pub(crate) fn response_sent(
        self: &Arc<Self>,
        connection: &Connection,
        services: &Arc<Services>,
        meta: Meta,
    ) {
        let lifecycle = Arc::clone(self);
        let call =
            Call::new(connection.clone(), Arc::clone(services), null_data()).with_meta(Some(meta));
        run_soon(Box::pin(async move {
            let mut call = call;
            for listener in &lifecycle.response_sent {
                run_listener(listener, &mut call).await;
            }
        }));
    }

    /// Runs the listeners of slot `index`'s settings whose setting changed, then the
    /// `connection_changed` listeners if anything changed at all.
    pub(crate) fn settings_changed(
        &self,
        connection: &Connection,
        services: &Arc<Services>,
        plugin: &'static str,
        index: usize,
        old: &Arc<dyn AnySettings>,
        new: &Arc<dyn AnySettings>,
    ) {
        let call = || Call::new(connection.clone(), Arc::clone(services), null_data());
        for listener in self.settings.get(index).into_iter().flatten() {
            let mut call = call();
            let started = std::panic::catch_unwind(AssertUnwindSafe(|| {
                (listener.run)(&mut call, old.as_any(), new.as_any())
            }));
            match started {
                Ok(Some(work)) => run_soon(guard(services, connection, listener.name, work)),
                Ok(None) => {}
                Err(panic) => report_panic(services, Some(connection), listener.name, &*panic),
            }
        }
        if self.connection_changed.is_empty() || old.to_json() == new.to_json() {
            return;
        }
        for listener in &self.connection_changed {
            let mut call = call().with_event(Event::Changed(plugin));
            match std::panic::catch_unwind(AssertUnwindSafe(|| (listener.run)(&mut call))) {
                Ok(work) => run_soon(guard(services, connection, listener.name, work)),
                Err(panic) => report_panic(services, Some(connection), listener.name, &*panic),
            }
        }
    }
}

fn null_data() -> RequestData {
    RequestData::Text(serde_json::value::RawValue::NULL.to_owned())
}

/// Runs one listener to its end: extraction, the function, and the step it asks for. A panic or
/// an error is reported and counts as passing.
async fn run_listener(listener: &ListenerDef, call: &mut Call) -> Step {
    let started = std::panic::catch_unwind(AssertUnwindSafe(|| (listener.run)(call)));
    let finished = match started {
        Ok(work) => AssertUnwindSafe(work).catch_unwind().await,
        Err(panic) => Err(panic),
    };
    match finished {
        Ok(step) => report_failure(call.services(), call.connection(), listener.name, step),
        Err(panic) => {
            report_panic(
                call.services(),
                Some(call.connection()),
                listener.name,
                &*panic,
            );
            Step::Pass
        }
    }
}

/// A listener's work, with its panic or error reported.
fn guard(
    services: &Arc<Services>,
    connection: &Connection,
    name: &'static str,
    work: BoxFuture<Step>,
) -> BoxFuture<()> {
    let services = Arc::clone(services);
    let connection = connection.clone();
    Box::pin(async move {
        match AssertUnwindSafe(work).catch_unwind().await {
            Ok(step) => {
                report_failure(&services, &connection, name, step);
            }
            Err(panic) => report_panic(&services, Some(&connection), name, &*panic),
        }
    })
}

fn report_failure(
    services: &Services,
    connection: &Connection,
    name: &'static str,
    step: Step,
) -> Step {
    if let Step::Failed(message) = &step {
        tracing::warn!(listener = name, error = %message, "a listener failed");
        services.report_error(&ErrorEvent::ListenerFailed {
            connection: Some(connection.id()),
            listener: name,
            message: message.clone(),
        });
    }
    step
}

fn report_panic(
    services: &Services,
    connection: Option<&Connection>,
    name: &'static str,
    panic: &(dyn std::any::Any + Send),
) {
    let message = panic_message(panic);
    tracing::error!(listener = name, panic = message, "a listener panicked");
    services.report_error(&ErrorEvent::ListenerPanicked {
        connection: connection.map(Connection::id),
        listener: name,
        message: message.to_owned(),
    });
}

/// Polls `work` once here; if it has to wait, it finishes in a task of its own. Work that does
/// not wait (most listeners) thus runs in order, before the caller goes on.
fn run_soon(mut work: BoxFuture<()>) {
    let mut context = Context::from_waker(futures_util::task::noop_waker_ref());
    if work.as_mut().poll(&mut context).is_pending() {
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(work.in_current_span());
            }
            Err(_) => tracing::warn!(
                "a listener had to wait outside the server's runtime and was dropped; change settings from within the runtime"
            ),
        }
    }
}
