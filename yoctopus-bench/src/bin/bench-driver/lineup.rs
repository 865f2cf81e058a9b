//! The servers measured: the raw baseline every ratio is taken against, Yoctopus, Yoctopus with
//! lifecycle listeners (in the configurations that ask for them), and a second copy of the
//! baseline whose ratio to the first is the A/A control, the noise floor; and, when one was built
//! beside them, Yoctopus's benchmark server as it was at an earlier commit (the reference), whose
//! ratios to Yoctopus show what the changes since cost. In `multicast-10k` the baseline and its
//! control run the hand-written multicast server instead, and a second hand-written way of
//! multicasting (writer tasks) runs beside them as the alternative. In the cluster configurations
//! Yoctopus runs as one server without a cluster (the candidate) and as the nodes of a cluster of
//! one, two and three servers meeting at a private NATS server ([`Role::Cluster`]). In the
//! throughput configurations two more hand-written servers bound what Yoctopus could reach: the
//! baseline's job with its replies batched as Yoctopus batches them ([`Role::Batching`]), and a
//! floor that does no JSON work at all ([`Role::Floor`]).

use std::path::Path;

use yoctopus_bench::request::Listeners;

/// The reference's program: `bench-yoctopus` built at an earlier commit (`run.sh` does it when
/// `BENCH_REFERENCE` is set). The lineup has a reference exactly when this file is in the
/// binaries' directory.
pub(crate) const REFERENCE_BINARY: &str = "bench-yoctopus-reference";

/// The hand-written multicast server: the baseline, its A/A control and the alternative of
/// `multicast-10k`.
pub(crate) const MULTICAST_BASELINE_BINARY: &str = "bench-multicast-baseline";

/// The baseline's job with its replies batched as Yoctopus batches them ([`Role::Batching`]).
pub(crate) const BATCHING_BASELINE_BINARY: &str = "bench-baseline-batched";

/// The server that does no JSON work ([`Role::Floor`]).
pub(crate) const FLOOR_BINARY: &str = "bench-floor";

/// Beside [`REFERENCE_BINARY`]: the commit it was built at, on its first line.
pub(crate) const REFERENCE_REV_FILE: &str = "bench-yoctopus-reference.rev";

/// What the reference is called when [`REFERENCE_REV_FILE`] is missing or empty.
const UNKNOWN_REV: &str = "reference";

/// The longest revision shown in the reference's label.
const MAX_REV_CHARS: usize = 40;

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
    /// The candidate as built at an earlier commit, started the same way: the candidate's ratios
    /// to it are the before/after comparison. Measured in every configuration but the fan-outs
    /// (an old build has no `--fanout`). It is an old build, so it is never given flags
    /// ([`Listeners::None`]).
    Reference,
    /// Another hand-written way of doing the baseline's job, measured only in the configuration
    /// that has one: in `multicast-10k`, the hand-written multicast with a writer task per
    /// connection instead of the baseline's direct writes (see [`crate::config::Workload`]).
    Alternative,
    /// The candidate as `nodes` servers of one cluster, through a private NATS server started
    /// for the measurement (see `cluster.rs`). Measured only in the cluster configurations,
    /// beside the candidate as one server without a cluster. `nodes: 0` is no cluster at all: a
    /// second copy of the candidate, the A/A control of the cluster configurations.
    Cluster { nodes: usize },
    /// The baseline's job, the same hand-written code, with its replies batched as Yoctopus
    /// batches them (`bench-baseline-batched`): the best a careful hand-writer would do, which the
    /// candidate is to reach 0.9x of. Measured in the throughput configurations only.
    Batching,
    /// A server that only reads frames and answers each with a precomputed reply carrying the
    /// request's id and name (`bench-floor`): no JSON work, so the most any server could do under
    /// the load. Measured in the throughput configurations only.
    Floor,
}

/// Baseline, Yoctopus, the reference if there is one, Yoctopus with the no-op and with the
/// transforming listeners, the hand-written alternative, the batching baseline and the floor, the
/// A/A control, and for the cluster configurations Yoctopus's own A/A control and Yoctopus as
/// clusters of one, two and three nodes.
pub(crate) fn standard(reference: Option<Server>) -> Vec<Server> {
    let mut servers = vec![
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
            label: "baseline, writer tasks",
            binary: MULTICAST_BASELINE_BINARY,
            role: Role::Alternative,
            listeners: Listeners::None,
        },
        Server {
            label: "batched baseline",
            binary: BATCHING_BASELINE_BINARY,
            role: Role::Batching,
            listeners: Listeners::None,
        },
        Server {
            label: "floor, no JSON",
            binary: FLOOR_BINARY,
            role: Role::Floor,
            listeners: Listeners::None,
        },
        Server {
            label: "baseline A/A",
            binary: "bench-baseline",
            role: Role::Control,
            listeners: Listeners::None,
        },
        cluster("yoctopus A/A", 0),
        cluster("1-node cluster", 1),
        cluster("2-node cluster", 2),
        cluster("3-node cluster", 3),
    ];
    if let Some(reference) = reference {
        servers.insert(2, reference);
    }
    servers
}

/// Yoctopus as the `nodes` servers of a cluster (0: one server, no cluster).
const fn cluster(label: &'static str, nodes: usize) -> Server {
    Server {
        label,
        binary: "bench-yoctopus",
        role: Role::Cluster { nodes },
        listeners: Listeners::None,
    }
}

/// The reference in `bin_dir`, if [`REFERENCE_BINARY`] is there: labelled `yoctopus @ <rev>`, with
/// the revision read from [`REFERENCE_REV_FILE`].
pub(crate) fn reference(bin_dir: &Path) -> Option<Server> {
    if !bin_dir.join(REFERENCE_BINARY).is_file() {
        return None;
    }
    let rev = std::fs::read_to_string(bin_dir.join(REFERENCE_REV_FILE)).ok();
    let label = reference_label(rev.as_deref());
    Some(Server {
        // One label per run, which the measurements borrow for the rest of it.
        label: Box::leak(label.into_boxed_str()),
        binary: REFERENCE_BINARY,
        role: Role::Reference,
        listeners: Listeners::None,
    })
}

/// `yoctopus @ <rev>` for the first line of `rev_file`, reduced to the printable characters of a
/// revision; `yoctopus @ reference` without one.
fn reference_label(rev_file: Option<&str>) -> String {
    let rev: String = rev_file
        .and_then(|text| text.lines().next())
        .unwrap_or_default()
        .trim()
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(MAX_REV_CHARS)
        .collect();
    format!(
        "yoctopus @ {}",
        if rev.is_empty() { UNKNOWN_REV } else { &rev }
    )
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
    use yoctopus_bench::request::Listeners;

    use super::{reference_label, rotated, standard, Role, Server, REFERENCE_BINARY};

    fn reference() -> Server {
        Server {
            label: "yoctopus @ 3f404bb",
            binary: REFERENCE_BINARY,
            role: Role::Reference,
            listeners: Listeners::None,
        }
    }

    #[test]
    fn every_server_takes_every_position_over_as_many_rounds() {
        for servers in [standard(None), standard(Some(reference()))] {
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

    #[test]
    fn the_reference_joins_the_lineup_only_when_given_and_without_flags() {
        let without = standard(None);
        assert!(without.iter().all(|s| s.role != Role::Reference));
        let with = standard(Some(reference()));
        assert_eq!(with.len(), without.len() + 1);
        let references: Vec<_> = with.iter().filter(|s| s.role == Role::Reference).collect();
        assert_eq!(references.len(), 1);
        assert_eq!(references[0].listeners, Listeners::None);
        assert_eq!(references[0].binary, REFERENCE_BINARY);
        let mut labels: Vec<_> = with.iter().map(|s| s.label).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), with.len(), "labels name the measurements");
    }

    #[test]
    fn the_reference_is_labelled_by_its_revision() {
        assert_eq!(reference_label(Some("3f404bb\n")), "yoctopus @ 3f404bb");
        assert_eq!(
            reference_label(Some("  v0.1.0 \nanything else")),
            "yoctopus @ v0.1.0"
        );
        assert_eq!(reference_label(None), "yoctopus @ reference");
        assert_eq!(reference_label(Some("\n")), "yoctopus @ reference");
        assert_eq!(
            reference_label(Some("a\u{1b}[2Jb")),
            "yoctopus @ a[2Jb",
            "no terminal escapes from the file"
        );
    }
}
