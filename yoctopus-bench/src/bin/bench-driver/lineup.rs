//! The servers measured: the raw baseline every ratio is taken against, Yoctopus, and a second
//! copy of the baseline whose ratio to the first is the A/A control, the noise floor.

/// One server in the lineup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Server {
    /// Its name in the tables.
    pub(crate) label: &'static str,
    /// Its program, in the binaries' directory.
    pub(crate) binary: &'static str,
    pub(crate) role: Role,
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
}

/// Baseline, Yoctopus, and the A/A control.
pub(crate) fn standard() -> Vec<Server> {
    vec![
        Server {
            label: "baseline",
            binary: "bench-baseline",
            role: Role::Baseline,
        },
        Server {
            label: "yoctopus",
            binary: "bench-yoctopus",
            role: Role::Candidate,
        },
        Server {
            label: "baseline A/A",
            binary: "bench-baseline",
            role: Role::Control,
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
