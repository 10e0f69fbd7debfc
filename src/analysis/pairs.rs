//! Route × origin pairs beyond their table: the grid of origins against routes, the blocked
//! probes that name why the browser refuses a pair, and the refusals added to each route's
//! failures.

use rustc_hash::FxHashMap;

use super::overview::{Overview, RouteHealth, sort_routes};
use super::series::OriginTable;
use super::{ProbeRow, TimeRange, url_path};

/// Origins against routes: every pair's failures on one grid, to see at a glance whether one
/// origin fails everywhere (its CORS entry) or every origin fails on one route (the route).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct OriginMatrix {
    /// Most failures first; `true` when the origin came from the Referer only.
    pub origins: Vec<(String, bool)>,
    /// Most failures first.
    pub routes: Vec<String>,
    /// `cells[origin][route]`: (failed, requests), `None` where that origin never called it.
    pub cells: Vec<Vec<Option<(u64, u64)>>>,
    /// Origins and routes beyond the grid.
    pub origins_left_out: usize,
    pub routes_left_out: usize,
}

impl OriginTable {
    /// The table as a grid of at most `max_origins` × `max_routes`, the most failing first.
    pub fn matrix(&self, max_origins: usize, max_routes: usize) -> OriginMatrix {
        // (name, failed, requests, derived everywhere)
        fn rank(v: &mut [(String, u64, u64, bool)]) {
            v.sort_by(|a, b| {
                b.1.cmp(&a.1)
                    .then(b.2.cmp(&a.2))
                    .then_with(|| a.0.cmp(&b.0))
            });
        }
        let mut origins: Vec<(String, u64, u64, bool)> = Vec::new();
        let mut routes: Vec<(String, u64, u64, bool)> = Vec::new();
        let mut index: [FxHashMap<&str, usize>; 2] = Default::default();
        for c in &self.cells {
            for (k, (list, name)) in [(&mut origins, &c.origin), (&mut routes, &c.route)]
                .into_iter()
                .enumerate()
            {
                match index[k].get(name.as_str()) {
                    Some(&i) => {
                        let e = &mut list[i];
                        e.1 += c.failed;
                        e.2 += c.requests;
                        e.3 &= c.derived;
                    }
                    None => {
                        index[k].insert(name.as_str(), list.len());
                        list.push((name.clone(), c.failed, c.requests, c.derived));
                    }
                }
            }
        }
        rank(&mut origins);
        rank(&mut routes);
        let origins_left_out = origins.len().saturating_sub(max_origins);
        let routes_left_out = routes.len().saturating_sub(max_routes);
        origins.truncate(max_origins);
        routes.truncate(max_routes);
        let by_pair: FxHashMap<(&str, &str), (u64, u64)> = self
            .cells
            .iter()
            .map(|c| {
                (
                    (c.origin.as_str(), c.route.as_str()),
                    (c.failed, c.requests),
                )
            })
            .collect();
        let cells = origins
            .iter()
            .map(|o| {
                routes
                    .iter()
                    .map(|r| by_pair.get(&(o.0.as_str(), r.0.as_str())).copied())
                    .collect()
            })
            .collect();
        OriginMatrix {
            origins: origins.into_iter().map(|o| (o.0, o.3)).collect(),
            routes: routes.into_iter().map(|r| r.0).collect(),
            cells,
            origins_left_out,
            routes_left_out,
        }
    }
}

/// Marks every cell with the code of a blocked probe of the same route from the same origin
/// (the probe names why browsers refuse what the log shows as fine).
pub fn note_probes(tables: &mut [OriginTable], probes: &[ProbeRow]) {
    for cell in tables.iter_mut().flat_map(|t| t.cells.iter_mut()) {
        cell.probe_code = probes
            .iter()
            .find(|p| {
                !p.allowed
                    && p.transport.is_none()
                    && p.origin == cell.origin
                    && crate::store::route::template(url_path(&p.url)) == cell.route
            })
            .map(|p| p.code.clone());
    }
}

/// Counts what the browser refused among each route's cross-origin failures, from the origin
/// tables of the same ranges (they pair preflights with their requests), so the route table
/// and the origins view agree. The tables keep the most failing pairs, so nothing refused is
/// left out of the count.
pub fn add_refusals(o: &mut Overview, tables: &[OriginTable; 3]) {
    let apply = |routes: &mut [RouteHealth], t: &OriginTable| {
        for r in routes.iter_mut() {
            let refused: u64 = t
                .cells
                .iter()
                .filter(|c| c.route == r.route)
                .map(|c| c.refused.total())
                .sum();
            r.cross_origin_refused = refused;
            r.cross_origin_failed += refused;
        }
        sort_routes(routes);
    };
    // The status window is the 15-minute range.
    apply(&mut o.routes, &tables[TimeRange::M15.index()]);
    for (h, t) in o.by_range.iter_mut().zip(tables) {
        apply(&mut h.routes, t);
    }
}
