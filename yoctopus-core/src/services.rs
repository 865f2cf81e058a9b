//! What handlers and listeners reach beside their own connection: shared state (the builder's
//! and what plugins provide), the connection register, delivery and the error hook.
//!
//! It is passed beside each call rather than reached through the connection, the way axum passes
//! its state beside the request, so a connection never holds the application.

use std::any::{Any, TypeId};
use std::sync::Arc;

use crate::connections::Connections;
use crate::delivery::{Delivery, LocalDelivery};
use crate::fault::{ErrorEvent, ErrorHook};
use crate::register::Register;

/// Shared state by type.
pub(crate) type StateMap = Box<[(TypeId, Arc<dyn Any + Send + Sync>)]>;

/// The application's services.
pub(crate) struct Services {
    state: StateMap,
    on_error: Option<ErrorHook>,
    register: Arc<Register>,
    connections: Connections,
}

impl Services {
    pub(crate) fn new(state: StateMap, on_error: Option<ErrorHook>) -> Self {
        let register = Arc::new(Register::default());
        let delivery: Arc<dyn Delivery> = Arc::new(LocalDelivery::new(Arc::clone(&register)));
        Self {
            state,
            on_error,
            connections: Connections::new(delivery, Arc::clone(&register)),
            register,
        }
    }

    /// The register handle plugins use.
    pub(crate) fn connections(&self) -> &Connections {
        &self.connections
    }

    pub(crate) fn state<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let (_, state) = self
            .state
            .iter()
            .find(|(type_id, _)| *type_id == TypeId::of::<T>())?;
        Arc::clone(state).downcast::<T>().ok()
    }

    pub(crate) fn has_state(&self, type_id: TypeId) -> bool {
        self.state.iter().any(|(known, _)| *known == type_id)
    }

    pub(crate) fn register(&self) -> &Register {
        &self.register
    }

    pub(crate) fn report_error(&self, event: &ErrorEvent) {
        if let Some(hook) = &self.on_error {
            hook(event);
        }
    }
}
