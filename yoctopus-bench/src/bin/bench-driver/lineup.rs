//! The servers measured: the raw baseline every ratio is taken against, Yoctopus, Yoctopus with
//! lifecycle listeners (in the configurations that ask for them), and a second copy of the
//! baseline whose ratio to the first is the A/A control, the noise floor.

use yoctopus_bench::request::Listeners;

/// One server in the lineup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Server {
    /// Its name in the tables.
    pub(crate) label: &'static str,
    /// Its program, in the binaries' directory.
    pub(crate) binary: &'static str,
    pub(crate) role: Role,
    /// The listeners `bench-yoctopus` is started with (`--listeners`); [`Listeners::None`] starts
    /// any server without flags.
    pub(crate) listeners: Listeners,
}

/// What a server's numbers mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The reference: ratios are to it.
    Baseline,
    /// The server the targets are about.
    Candidate,
    /// The baseline again: its ratio shows how far two copies of one server differ.
    Control,
    /// The candidate with listeners: its ratios to the candidate price them. Measured only in the
    /// configurations that ask for it.
    Variant,
}

/// Baseline, Yoctopus, Yoctopus with the no-op and with the transforming listeners, and the A/A
/// control.
pub(crate) fn standard() -> Vec<Server> {
    vec![
        Server {
            label: "baseline",
            binary: "bench-baseline",
            role: Role::Baseline,
            listeners: Listeners::None,
        },
        Server {
            label: "yoctopus",
            binary: "bench-yoctopus",
            role: Role::Candidate,
            listeners: Listeners::None,
        },
        Server {
            label: "yoctopus + no-op",
            binary: "bench-yoctopus",
            role: Role::Variant,
            listeners: Listeners::Noop,
        },
        Server {
            label: "yoctopus + transform",
            binary: "bench-yoctopus",
            role: Role::Variant,
            listeners: Listeners::Transform,
        },
        Server {
            label: "baseline A/A",
            binary: "bench-baseline",
            role: Role::Control,
            listeners: Listeners::None,
        },
    ]
}

/// The order of round `round`: the lineup rotated by the round, so that no server always runs
/// first, right after another, or last.
pub(crate) fn rotated(servers: &[Server], round: usize) -> Vec<Server> {
    let mut order = servers.to_vec();
    if !order.is_empty() {
        let shift = round % order.len();
        order.rotate_left(shift);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::{rotated, standard};

    #[test]
    fn every_server_takes_every_position_over_as_many_rounds() {
        let servers = standard();
        for position in 0..servers.len() {
            let mut seen: Vec<_> = (0..servers.len())
                .map(|round| rotated(&servers, round)[position].label)
                .collect();
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len(), servers.len());
        }
    }
}
