//! The fleet view's own model: the Prometheus server, how many agents are up, one row per
//! instance (worst first) and the probes over all instances ("fails on 3 of 12 instances").
//! The counters behind every other panel are already in the store's buckets.

use crate::analysis::status::Status;
use crate::store::Store;

#[derive(Clone, Debug, PartialEq)]
pub struct InstanceRow {
    pub instance: String,
    pub region: Option<String>,
    pub up: bool,
    /// The agent's own status; `None` when it exported none (down, or not an agent).
    pub status: Option<Status>,
    /// Its leading supported hypothesis and score, "H2 58".
    pub top: Option<String>,
    pub rate: f64,
    pub failure_ratio: f64,
    pub probes_failing: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FleetProbeRow {
    pub endpoint: String,
    pub origin: String,
    pub shape: String,
    pub failing: u32,
    pub instances: u32,
    /// The CORS error most instances report, with how many.
    pub reason: Option<(String, u32)>,
}

impl FleetProbeRow {
    /// "fails on 3 of 12 instances", "passes on all 12 instances".
    pub fn spread(&self) -> String {
        let noun = if self.instances == 1 {
            "instance"
        } else {
            "instances"
        };
        match self.failing {
            0 => format!("passes on all {} {noun}", self.instances),
            n if n == self.instances => format!("fails on all {n} {noun}"),
            n => format!("fails on {n} of {} {noun}", self.instances),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct FleetModel {
    /// The server, credentials redacted.
    pub server: String,
    /// "12 agents, 11 up", or the fleet source's state while nothing came yet.
    pub summary: String,
    /// Worst first: status, then failure ratio, then name.
    pub instances: Vec<InstanceRow>,
    pub instances_omitted: usize,
    /// Failing first.
    pub probes: Vec<FleetProbeRow>,
    /// The one instance the panels show, when narrowed (`i`).
    pub instance: Option<String>,
}

impl FleetModel {
    /// The filter after `current`: each instance in name order, then all again.
    pub fn next_instance(&self, current: Option<&str>) -> Option<String> {
        let mut names: Vec<&str> = self.instances.iter().map(|i| i.instance.as_str()).collect();
        names.sort_unstable();
        match current {
            None => names.first().map(|s| (*s).to_string()),
            Some(c) => names
                .iter()
                .position(|n| *n == c)
                .and_then(|at| names.get(at + 1))
                .map(|s| (*s).to_string()),
        }
    }

    /// The agents' addresses, to say where the data only an agent holds can be read.
    pub fn addresses(&self, max: usize) -> Vec<&str> {
        self.instances
            .iter()
            .take(max)
            .map(|i| i.instance.as_str())
            .collect()
    }
}

fn status_of(code: u8) -> Status {
    match code {
        0 => Status::Ok,
        1 => Status::Degraded,
        _ => Status::Page,
    }
}

fn rank(s: Option<Status>) -> u8 {
    match s {
        Some(Status::Page) => 3,
        Some(Status::Degraded) => 2,
        None => 1,
        Some(Status::Ok) => 0,
    }
}

/// Orders of the instances table (the `s` key on the fleet's overview).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InstanceSort {
    /// PAGE, DEGRADED, down, OK; then by failure ratio.
    #[default]
    Worst,
    Rate,
    Region,
    Name,
}

impl InstanceSort {
    pub fn next(self) -> InstanceSort {
        match self {
            InstanceSort::Worst => InstanceSort::Rate,
            InstanceSort::Rate => InstanceSort::Region,
            InstanceSort::Region => InstanceSort::Name,
            InstanceSort::Name => InstanceSort::Worst,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            InstanceSort::Worst => "worst",
            InstanceSort::Rate => "req/s",
            InstanceSort::Region => "region",
            InstanceSort::Name => "name",
        }
    }
}

/// Sorts `rows` by `by`, the instance name breaking ties.
pub fn sort_instances(rows: &mut [InstanceRow], by: InstanceSort) {
    rows.sort_by(|a, b| {
        let name = || a.instance.cmp(&b.instance);
        match by {
            InstanceSort::Worst => rank(b.status)
                .cmp(&rank(a.status))
                .then(a.up.cmp(&b.up))
                .then(b.failure_ratio.total_cmp(&a.failure_ratio))
                .then_with(name),
            InstanceSort::Rate => b.rate.total_cmp(&a.rate).then_with(name),
            InstanceSort::Region => a.region.cmp(&b.region).then_with(name),
            InstanceSort::Name => name(),
        }
    });
}

/// The fleet model when the store is filled from Prometheus.
pub fn model(store: &Store) -> Option<FleetModel> {
    let data = store.fleet()?;
    let mut instances: Vec<InstanceRow> = data
        .instances
        .iter()
        .map(|i| InstanceRow {
            instance: i.instance.clone(),
            region: i.region.clone(),
            up: i.up,
            status: i.status.map(status_of),
            top: i.top.as_ref().map(|(h, s)| format!("{h} {s:.0}")),
            rate: i.rate,
            failure_ratio: i.failure_ratio,
            probes_failing: i.probes_failing,
        })
        .collect();
    sort_instances(&mut instances, InstanceSort::Worst);
    let mut probes: Vec<FleetProbeRow> = data
        .probes
        .iter()
        .map(|p| FleetProbeRow {
            endpoint: p.endpoint.clone(),
            origin: p.origin.clone(),
            shape: p.shape.clone(),
            failing: p.failing,
            instances: p.instances,
            reason: p.reasons.iter().max_by_key(|(_, n)| *n).cloned(),
        })
        .collect();
    probes.sort_by_key(|p| std::cmp::Reverse(p.failing));
    let state = store
        .sources()
        .get(data.source as usize)
        .map(|s| s.state.clone())
        .unwrap_or_default();
    Some(FleetModel {
        server: data.server.clone(),
        summary: {
            let mut s = data.summary();
            if let Some(i) = &data.instance {
                s.push_str(&format!(" · showing {i}"));
            }
            if state.starts_with("error") {
                s.push_str(" (last refresh failed)");
            }
            s
        },
        instance: data.instance.clone(),
        instances,
        instances_omitted: data.instances_omitted,
        probes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_spread_reads_as_a_sentence() {
        let row = |failing, instances| FleetProbeRow {
            endpoint: "/e".into(),
            origin: "o".into(),
            shape: "s".into(),
            failing,
            instances,
            reason: None,
        };
        assert_eq!(row(3, 12).spread(), "fails on 3 of 12 instances");
        assert_eq!(row(2, 2).spread(), "fails on all 2 instances");
        assert_eq!(row(0, 1).spread(), "passes on all 1 instance");
    }

    #[test]
    fn instances_are_worst_first() {
        use crate::sources::fleet::{FleetData, Instance};
        use crate::store::{StoreConfig, TimeMode};
        let mut store = Store::new(StoreConfig::default(), TimeMode::Live);
        let src = store.register_source("prometheus http://p");
        let inst = |name: &str, up, status, failure_ratio| Instance {
            instance: name.into(),
            up,
            status,
            failure_ratio,
            ..Instance::default()
        };
        store.apply_fleet(FleetData {
            source: src,
            server: "http://p".into(),
            step_ms: 60_000,
            instances: vec![
                inst("a", true, Some(0), 0.0),
                inst("b", true, Some(0), 0.5),
                inst("c", false, None, 0.0),
                inst("d", true, Some(2), 0.1),
            ],
            ..FleetData::default()
        });
        let m = model(&store).unwrap();
        let order: Vec<&str> = m.instances.iter().map(|i| i.instance.as_str()).collect();
        assert_eq!(order, ["d", "c", "b", "a"]);
        let mut rows = m.instances.clone();
        sort_instances(&mut rows, InstanceSort::Name);
        let order: Vec<&str> = rows.iter().map(|i| i.instance.as_str()).collect();
        assert_eq!(order, ["a", "b", "c", "d"]);
        let mut filter = None;
        let mut seen = Vec::new();
        loop {
            filter = m.next_instance(filter.as_deref());
            match &filter {
                Some(f) => seen.push(f.clone()),
                None => break,
            }
        }
        assert_eq!(seen, ["a", "b", "c", "d"], "each instance, then all again");
        let mut sort = InstanceSort::Worst;
        for _ in 0..4 {
            sort = sort.next();
        }
        assert_eq!(sort, InstanceSort::Worst);
        assert_eq!(m.summary, "4 agents, 3 up");
        store.set_source_state(src, "error: Prometheus at http://p: connection refused");
        assert_eq!(
            model(&store).unwrap().summary,
            "4 agents, 3 up (last refresh failed)"
        );
    }
}
