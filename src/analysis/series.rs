//! Time series and tables over a time range: OPTIONS status trends per route, failures by
//! route × origin, and 401/403 beside auth failure classes.
//!
//! All three ranges are filled in one pass over the longest window, so switching range in the
//! UI needs no new snapshot (a frozen screen can still change range).

use rustc_hash::{FxHashMap, FxHashSet};

use crate::analysis::triage::{FOLLOWUP_LOW_SHARE, FOLLOWUP_MIN_PREFLIGHTS};
use crate::model::time::EpochMs;
use crate::sources::event::{AcaoSeen, AuthClass, Method};
use crate::store::{NO_ORIGIN, Store};

use super::TimeRange;
use super::overview::is_failure;

/// Most columns per series in the model; the UI merges adjacent columns to fit its width.
pub const MAX_COLUMNS: usize = 180;
/// Most route × origin cells kept per table.
pub const MAX_ORIGIN_CELLS: usize = 500;

/// The status classes the trend separates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusClass {
    S2xx,
    S3xx,
    S401,
    S403,
    S404or405,
    S5xx,
    /// 1xx, 400, 429 and other 4xx.
    Other,
}

impl StatusClass {
    pub const COUNT: usize = 7;
    pub const ALL: [StatusClass; StatusClass::COUNT] = [
        StatusClass::S2xx,
        StatusClass::S3xx,
        StatusClass::S401,
        StatusClass::S403,
        StatusClass::S404or405,
        StatusClass::S5xx,
        StatusClass::Other,
    ];

    pub fn of(status: u16) -> StatusClass {
        match status {
            200..=299 => StatusClass::S2xx,
            300..=399 => StatusClass::S3xx,
            401 => StatusClass::S401,
            403 => StatusClass::S403,
            404 | 405 => StatusClass::S404or405,
            500..=599 => StatusClass::S5xx,
            _ => StatusClass::Other,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StatusClass::S2xx => "2xx",
            StatusClass::S3xx => "3xx",
            StatusClass::S401 => "401",
            StatusClass::S403 => "403",
            StatusClass::S404or405 => "404/405",
            StatusClass::S5xx => "5xx",
            StatusClass::Other => "other",
        }
    }
}

/// OPTIONS responses of one route, per column and status class.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct RouteTrend {
    pub route: String,
    pub critical: bool,
    /// Indexed by `StatusClass as usize`.
    pub totals: [u64; StatusClass::COUNT],
    pub columns: Vec<[u32; StatusClass::COUNT]>,
}

impl RouteTrend {
    pub fn total(&self) -> u64 {
        self.totals.iter().sum()
    }
    pub fn non_2xx(&self) -> u64 {
        self.total() - self.totals[StatusClass::S2xx as usize]
    }
}

/// Shared time axis of a range.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Axis {
    /// Start of the first column.
    pub start: EpochMs,
    /// End of the last column.
    pub end: EpochMs,
    /// Width of one column.
    pub column_ms: EpochMs,
    pub columns: usize,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Trend {
    pub axis: Axis,
    /// Routes with OPTIONS traffic in the range, most non-2xx first.
    pub routes: Vec<RouteTrend>,
}

/// Failures of one route × origin pair.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct OriginCell {
    pub route: String,
    pub origin: String,
    /// Every request of this cell had its origin derived from the Referer.
    pub derived: bool,
    pub requests: u64,
    /// Failed for the page: answered 400 or above, OPTIONS outside 2xx, or refused by the
    /// browser ([`Self::refused`]).
    pub failed: u64,
    /// Of `failed`, the answers the server logged as fine that the browser refused.
    pub refused: Refused,
    /// The code of a blocked probe of this route from this origin: why browsers refuse it.
    pub probe_code: Option<String>,
    /// OPTIONS answered 2xx: preflights the server accepted.
    pub preflight_2xx: u64,
    /// Requests other than OPTIONS: what followed the preflights.
    pub actual: u64,
    /// Accepted preflights paired per client (where the log names the client): followed by
    /// their request within the window, or not.
    pub paired_followed: u64,
    pub paired_unfollowed: u64,
    /// The most frequent failing status and method.
    pub dominant: Option<(u16, Method, u64)>,
}

/// Answers the server logged as successful that the browser refused, by why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Refused {
    /// Logged with several `Access-Control-Allow-Origin` values.
    pub acao_doubled: u64,
    /// Logged without `Access-Control-Allow-Origin` although the request named its origin.
    pub acao_missing: u64,
    /// Accepted preflights never followed by their request, where most were not (so the
    /// browser refused them, whatever the log can say about the header).
    pub unfollowed: u64,
}

impl Refused {
    pub fn total(&self) -> u64 {
        self.acao_doubled + self.acao_missing + self.unfollowed
    }

    /// What the browser refused, the largest cause first: `ACAO doubled`, `ACAO missing`,
    /// `not followed`.
    pub fn causes(&self) -> Vec<&'static str> {
        let mut v = [
            (self.acao_doubled, "ACAO doubled"),
            (self.acao_missing, "ACAO missing"),
            (self.unfollowed, "not followed"),
        ];
        v.sort_by_key(|e| std::cmp::Reverse(e.0));
        v.iter().filter(|(n, _)| *n > 0).map(|(_, w)| *w).collect()
    }
}

impl OriginCell {
    /// Why this cell's requests failed, the largest share first: the dominant failing status
    /// (`401 OPTIONS ×30`) and what the browser refused (`refused ×40: ACAO doubled, probe
    /// acao-multiple`); `-` when nothing failed.
    pub fn why(&self) -> String {
        let refused = self.refused.total();
        let mut parts: Vec<(u64, String)> = Vec::new();
        if let Some((s, m, n)) = self.dominant {
            parts.push((n, format!("{s} {m} ×{n}")));
        }
        if refused > 0 {
            let mut causes: Vec<String> = self
                .refused
                .causes()
                .into_iter()
                .map(String::from)
                .collect();
            if let Some(code) = &self.probe_code {
                causes.push(format!("probe {code}"));
            }
            parts.push((
                refused,
                format!("refused ×{refused}: {}", causes.join(", ")),
            ));
        } else if let Some(code) = &self.probe_code {
            parts.push((0, format!("probe {code}")));
        }
        parts.sort_by_key(|p| std::cmp::Reverse(p.0));
        if parts.is_empty() {
            return "-".into();
        }
        parts
            .into_iter()
            .map(|(_, p)| p)
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn failure_rate(&self) -> f64 {
        self.failed as f64 / self.requests.max(1) as f64
    }

    /// Share of server-accepted preflights never followed by their actual request: the
    /// browser refused the answer (origin or header not allowed, doubled ACAO) although every
    /// log line looks healthy. `None` below ten accepted preflights, where a share says little.
    /// Paired per client, origin and route when the log names the client; otherwise counted
    /// per cell, where simple requests that need no preflight can hide part of it.
    pub fn unfollowed_share(&self) -> Option<f64> {
        let paired = self.paired_followed + self.paired_unfollowed;
        if paired >= FOLLOWUP_MIN_PREFLIGHTS {
            // Exact where the log names clients: each preflight was matched with its request.
            return Some(self.paired_unfollowed as f64 / paired as f64);
        }
        (self.preflight_2xx >= FOLLOWUP_MIN_PREFLIGHTS).then(|| {
            1.0 - crate::analysis::followup::followed_share(self.preflight_2xx, self.actual)
        })
    }

    /// Accepted preflights never followed by their request, counted when most were not (as
    /// the triage board judges a refusal); a few stray ones are pages closed in between.
    pub fn unfollowed(&self) -> u64 {
        if self
            .unfollowed_share()
            .is_none_or(|s| s < FOLLOWUP_LOW_SHARE)
        {
            return 0;
        }
        if self.paired_followed + self.paired_unfollowed >= FOLLOWUP_MIN_PREFLIGHTS {
            self.paired_unfollowed
        } else {
            self.preflight_2xx.saturating_sub(self.actual)
        }
    }
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct OriginTable {
    /// Most failures first.
    pub cells: Vec<OriginCell>,
    /// Requests without any origin (same-origin or server to server), not in the table.
    pub without_origin: u64,
    /// Cells left out past [`MAX_ORIGIN_CELLS`].
    pub cells_left_out: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct AuthColumn {
    pub status_401: u32,
    pub status_403: u32,
    /// The part of the 401/403 answered to preflights (auth in front of CORS, H2): not token
    /// expiry, so burst detection leaves it out.
    pub on_options: u32,
    pub classes: [u32; AuthClass::COUNT],
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct AuthTimeline {
    pub axis: Axis,
    pub columns: Vec<AuthColumn>,
    pub total_401: u64,
    pub total_403: u64,
    pub class_totals: [u64; AuthClass::COUNT],
    /// 401 and 403 per method, methods with any first by count.
    pub by_method: Vec<(Method, u64, u64)>,
}

#[derive(Default)]
struct CellAcc {
    requests: u64,
    failed: u64,
    preflight_2xx: u64,
    actual: u64,
    paired: (u64, u64),
    direct: u64,
    statuses: Vec<(u16, Method, u64)>,
    /// 2xx/3xx answers with a directly logged origin, by what their logged ACAO said:
    /// (doubled, missing), preflights and requests apart.
    options_acao: (u64, u64),
    actual_acao: (u64, u64),
}

impl CellAcc {
    /// The refusals, counted once each: a preflight logged with a bad header is also one that
    /// was not followed, so the two are not added.
    fn refused(&self, unfollowed: u64) -> Refused {
        let (od, om) = self.options_acao;
        let (ad, am) = self.actual_acao;
        let logged_preflights = od + om;
        Refused {
            acao_doubled: od + ad,
            acao_missing: om + am,
            unfollowed: unfollowed.saturating_sub(logged_preflights),
        }
    }
}

struct RangeAcc {
    first: usize,
    per_col: usize,
    trend: FxHashMap<u16, RouteTrend>,
    cells: FxHashMap<(u16, u16), CellAcc>,
    without_origin: u64,
    auth: AuthTimeline,
    by_method: [(u64, u64); Method::ALL.len()],
}

pub fn compute(
    store: &Store,
    critical: &FxHashSet<u16>,
) -> ([Trend; 3], [OriginTable; 3], [AuthTimeline; 3]) {
    let w = store.bucket_ms();
    let window: Vec<_> = store.window(TimeRange::H6.span_ms()).collect();
    let n = window.len();
    let mut accs: Vec<RangeAcc> = TimeRange::ALL
        .iter()
        .map(|r| {
            let count = (((r.span_ms() + w - 1) / w) as usize).clamp(1, n.max(1));
            let per_col = count.div_ceil(MAX_COLUMNS);
            let columns = count.div_ceil(per_col);
            let first = n.saturating_sub(count);
            let start = window.get(first).map_or(store.now(), |(s, _)| *s);
            let axis = Axis {
                start,
                end: start + count as EpochMs * w,
                column_ms: per_col as EpochMs * w,
                columns,
            };
            RangeAcc {
                first,
                per_col,
                trend: FxHashMap::default(),
                cells: FxHashMap::default(),
                without_origin: 0,
                auth: AuthTimeline {
                    axis,
                    columns: vec![AuthColumn::default(); columns],
                    ..Default::default()
                },
                by_method: [(0, 0); Method::ALL.len()],
            }
        })
        .collect();

    for (i, (_, bucket)) in window.iter().enumerate() {
        let Some(b) = bucket else { continue };
        for acc in accs.iter_mut().filter(|a| i >= a.first) {
            let col = (i - acc.first) / acc.per_col;
            let columns = acc.auth.axis.columns;
            let ac = &mut acc.auth.columns[col];
            for (c, n) in b.auth.iter().enumerate() {
                ac.classes[c] += n;
                acc.auth.class_totals[c] += *n as u64;
            }
            for (k, &cnt) in &b.http {
                let n = cnt as u64;
                match k.status {
                    401 => {
                        ac.status_401 += cnt;
                        acc.auth.total_401 += n;
                        acc.by_method[k.method as usize].0 += n;
                    }
                    403 => {
                        ac.status_403 += cnt;
                        acc.auth.total_403 += n;
                        acc.by_method[k.method as usize].1 += n;
                    }
                    _ => {}
                }
                if matches!(k.status, 401 | 403) && k.method == Method::Options {
                    ac.on_options += cnt;
                }
                if k.method == Method::Options {
                    let t = acc.trend.entry(k.route).or_insert_with(|| RouteTrend {
                        route: store.route_name(k.route).to_string(),
                        critical: critical.contains(&k.route),
                        columns: vec![[0; StatusClass::COUNT]; columns],
                        ..Default::default()
                    });
                    let class = StatusClass::of(k.status) as usize;
                    t.totals[class] += n;
                    t.columns[col][class] += cnt;
                }
                if k.origin == NO_ORIGIN {
                    acc.without_origin += n;
                    continue;
                }
                let cell = acc.cells.entry((k.route, k.origin)).or_default();
                cell.requests += n;
                if k.method != Method::Options {
                    cell.actual += n;
                } else if (200..300).contains(&k.status) {
                    cell.preflight_2xx += n;
                }
                if !k.origin_derived {
                    cell.direct += n;
                    // Only a request that named its origin is a CORS request for sure; a
                    // Referer also comes with navigations and images.
                    if k.status < 400 && !(k.method == Method::Options && k.status >= 300) {
                        let acao = if k.method == Method::Options {
                            &mut cell.options_acao
                        } else {
                            &mut cell.actual_acao
                        };
                        match k.acao {
                            AcaoSeen::Multiple => acao.0 += n,
                            AcaoSeen::Missing => acao.1 += n,
                            AcaoSeen::NotLogged | AcaoSeen::Single => {}
                        }
                    }
                }
                if is_failure(k) {
                    cell.failed += n;
                    match cell
                        .statuses
                        .iter_mut()
                        .find(|(s, m, _)| *s == k.status && *m == k.method)
                    {
                        Some(e) => e.2 += n,
                        None => cell.statuses.push((k.status, k.method, n)),
                    }
                }
            }
            for (&(route, origin), &(followed, unfollowed)) in &b.followups {
                if let Some(cell) = acc.cells.get_mut(&(route, origin)) {
                    cell.paired.0 += followed as u64;
                    cell.paired.1 += unfollowed as u64;
                }
            }
        }
    }

    let mut trends: Vec<Trend> = Vec::with_capacity(3);
    let mut tables: Vec<OriginTable> = Vec::with_capacity(3);
    let mut auths: Vec<AuthTimeline> = Vec::with_capacity(3);
    for acc in accs {
        let mut routes: Vec<RouteTrend> = acc.trend.into_values().collect();
        routes.sort_by(|a, b| {
            b.non_2xx()
                .cmp(&a.non_2xx())
                .then(b.critical.cmp(&a.critical))
                .then(b.total().cmp(&a.total()))
                .then(a.route.cmp(&b.route))
        });
        trends.push(Trend {
            axis: acc.auth.axis.clone(),
            routes,
        });

        let mut cells: Vec<OriginCell> = acc
            .cells
            .into_iter()
            .map(|((route, origin), c)| {
                let mut cell = OriginCell {
                    route: store.route_name(route).to_string(),
                    origin: store.origin_name(origin).to_string(),
                    derived: c.direct == 0,
                    requests: c.requests,
                    failed: c.failed,
                    refused: Refused::default(),
                    probe_code: None,
                    preflight_2xx: c.preflight_2xx,
                    actual: c.actual,
                    paired_followed: c.paired.0,
                    paired_unfollowed: c.paired.1,
                    dominant: c
                        .statuses
                        .iter()
                        .copied()
                        .max_by(|a, b| a.2.cmp(&b.2).then(b.0.cmp(&a.0))),
                };
                cell.refused = c.refused(cell.unfollowed());
                cell.failed += cell.refused.total();
                cell
            })
            .collect();
        sort_cells(&mut cells, OriginSort::Failures);
        let cells_left_out = cells.len().saturating_sub(MAX_ORIGIN_CELLS);
        cells.truncate(MAX_ORIGIN_CELLS);
        tables.push(OriginTable {
            cells,
            without_origin: acc.without_origin,
            cells_left_out,
        });

        let mut auth = acc.auth;
        let mut by_method: Vec<(Method, u64, u64)> = Method::ALL
            .iter()
            .map(|&m| (m, acc.by_method[m as usize].0, acc.by_method[m as usize].1))
            .filter(|(_, a, b)| a + b > 0)
            .collect();
        by_method.sort_by(|a, b| (b.1 + b.2).cmp(&(a.1 + a.2)).then(a.0.cmp(&b.0)));
        auth.by_method = by_method;
        auths.push(auth);
    }
    (three(trends), three(tables), three(auths))
}

fn three<T: Default>(v: Vec<T>) -> [T; 3] {
    let mut it = v.into_iter();
    [
        it.next().unwrap_or_default(),
        it.next().unwrap_or_default(),
        it.next().unwrap_or_default(),
    ]
}

/// Orders of the origin table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OriginSort {
    #[default]
    Failures,
    Rate,
    Route,
}

impl OriginSort {
    pub fn next(self) -> OriginSort {
        match self {
            OriginSort::Failures => OriginSort::Rate,
            OriginSort::Rate => OriginSort::Route,
            OriginSort::Route => OriginSort::Failures,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            OriginSort::Failures => "failures",
            OriginSort::Rate => "rate",
            OriginSort::Route => "route",
        }
    }
}

pub fn sort_cells(cells: &mut [OriginCell], by: OriginSort) {
    cells.sort_by(|a, b| {
        let names = a.route.cmp(&b.route).then(a.origin.cmp(&b.origin));
        match by {
            OriginSort::Failures => b
                .failed
                .cmp(&a.failed)
                .then(b.failure_rate().total_cmp(&a.failure_rate()))
                .then(names),
            OriginSort::Rate => b
                .failure_rate()
                .total_cmp(&a.failure_rate())
                .then(b.failed.cmp(&a.failed))
                .then(names),
            OriginSort::Route => names,
        }
    });
}

/// Merges adjacent columns so a series fits `width` cells; each output cell sums its inputs.
pub fn fit_columns<const N: usize>(columns: &[[u32; N]], width: usize) -> Vec<[u64; N]> {
    if width == 0 || columns.is_empty() {
        return Vec::new();
    }
    let per = columns.len().div_ceil(width);
    columns
        .chunks(per)
        .map(|chunk| {
            let mut out = [0u64; N];
            for c in chunk {
                for (o, v) in out.iter_mut().zip(c) {
                    *o += *v as u64;
                }
            }
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classes() {
        for (s, c) in [
            (204, StatusClass::S2xx),
            (307, StatusClass::S3xx),
            (401, StatusClass::S401),
            (403, StatusClass::S403),
            (404, StatusClass::S404or405),
            (405, StatusClass::S404or405),
            (502, StatusClass::S5xx),
            (429, StatusClass::Other),
        ] {
            assert_eq!(StatusClass::of(s), c, "{s}");
        }
    }

    #[test]
    fn fitting_merges_adjacent_columns() {
        let cols: Vec<[u32; 1]> = (1..=10).map(|i| [i]).collect();
        assert_eq!(fit_columns(&cols, 5), vec![[3], [7], [11], [15], [19]]);
        assert_eq!(fit_columns(&cols, 4), vec![[6], [15], [24], [10]]);
        assert_eq!(fit_columns(&cols, 20).len(), 10);
        let total: u64 = fit_columns(&cols, 3).iter().map(|c| c[0]).sum();
        assert_eq!(total, 55);
    }
}

#[cfg(test)]
mod follow_up_tests {
    use super::*;

    fn cell(preflight_2xx: u64, actual: u64) -> OriginCell {
        OriginCell {
            route: "/api/orders".into(),
            origin: "https://app.contoso.com".into(),
            derived: false,
            requests: preflight_2xx + actual,
            failed: 0,
            refused: Refused::default(),
            probe_code: None,
            preflight_2xx,
            actual,
            paired_followed: 0,
            paired_unfollowed: 0,
            dominant: None,
        }
    }

    #[test]
    fn unfollowed_share_of_accepted_preflights() {
        // Browsers refused every accepted preflight (doubled ACAO): nothing followed.
        assert_eq!(cell(40, 0).unfollowed_share(), Some(1.0));
        assert_eq!(cell(40, 10).unfollowed_share(), Some(0.75));
        // More requests than preflights (cached preflights, simple requests): all followed.
        assert_eq!(cell(40, 90).unfollowed_share(), Some(0.0));
        // Too few preflights to say anything.
        assert_eq!(cell(9, 0).unfollowed_share(), None);
    }

    #[test]
    fn per_client_pairs_take_precedence_over_counts() {
        // Counts alone say every preflight was followed (other clients' requests, cached
        // preflights); the per-client pairs show a quarter never got their request.
        let mut c = cell(40, 90);
        c.paired_followed = 30;
        c.paired_unfollowed = 10;
        assert_eq!(c.unfollowed_share(), Some(0.25));
        // Too few pairs: the counts decide.
        c.paired_followed = 3;
        c.paired_unfollowed = 1;
        assert_eq!(c.unfollowed_share(), Some(0.0));
    }
}
