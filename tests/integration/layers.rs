//! The source tree is the data flow: each top-level module of `src/` imports only from the
//! layers before it, and no two modules depend on each other, directly or around a loop.
//!
//! The check reads the code itself: every `crate::` and `super::` path (in `use` lines, with
//! their `{…}` groups, and written inline) is resolved to the module file it lands in. A
//! module may use its own ancestors and descendants (a parent is the facade of its children);
//! between any other two modules, edges are lifted to the children of their closest common
//! ancestor, so `ui::draw → ui::views` and `sources::formats::w3c → sources::live` both count
//! as edges between siblings, and a loop among siblings is a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers in flow order; modules in one layer may not use each other.
const LAYERS: &[&[&str]] = &[
    &["model"],
    &["cors"],
    &["sources"],
    &["store"],
    &["analysis"],
    &["ui"],
    &["alerting", "headless", "demo"],
    &["app"],
];

type ModPath = Vec<String>;

fn rank(top: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&top))
}

fn module_files(src: &Path) -> BTreeMap<ModPath, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("src is readable") {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(src, &mut files);
    let mut modules = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(src).unwrap();
        let mut parts: ModPath = rel
            .with_extension("")
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        if parts.last().is_some_and(|p| p == "mod") {
            parts.pop();
        }
        if parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
            continue;
        }
        modules.insert(parts, file);
    }
    modules
}

/// The code of a file without its comments (doc links name paths that are not imports).
fn code_of(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Expands the path tree that starts at `s` (just after `crate::` or `super::`) into paths:
/// `a::{b, c::{d, self}}` gives `a::b`, `a::c::d` and `a::c`.
fn expand(s: &str) -> Vec<ModPath> {
    fn ident(s: &[u8], i: &mut usize) -> Option<String> {
        let start = *i;
        while *i < s.len() && (s[*i].is_ascii_alphanumeric() || s[*i] == b'_') {
            *i += 1;
        }
        (*i > start).then(|| String::from_utf8_lossy(&s[start..*i]).into_owned())
    }
    fn skip_ws(s: &[u8], i: &mut usize) {
        while *i < s.len() && s[*i].is_ascii_whitespace() {
            *i += 1;
        }
    }
    fn tree(s: &[u8], i: &mut usize, prefix: &ModPath, out: &mut Vec<ModPath>) {
        let mut path = prefix.clone();
        loop {
            skip_ws(s, i);
            if s.get(*i) == Some(&b'{') {
                *i += 1;
                loop {
                    skip_ws(s, i);
                    match s.get(*i) {
                        Some(b'}') => {
                            *i += 1;
                            return;
                        }
                        Some(b',') => *i += 1,
                        None => return,
                        _ => {
                            let before = *i;
                            tree(s, i, &path, out);
                            if *i == before {
                                *i += 1;
                            }
                        }
                    }
                }
            }
            match ident(s, i) {
                Some(seg) if seg == "self" => {}
                Some(seg) => path.push(seg),
                None => break,
            }
            if s[*i..].starts_with(b"::") {
                *i += 2;
            } else {
                break;
            }
        }
        // `x as y`: the alias names nothing in the tree.
        skip_ws(s, i);
        if s[*i..].starts_with(b"as ") {
            *i += 3;
            skip_ws(s, i);
            ident(s, i);
        }
        out.push(path);
    }
    let mut out = Vec::new();
    let mut i = 0;
    tree(s.as_bytes(), &mut i, &Vec::new(), &mut out);
    out
}

/// The module a path lands in: the longest prefix of it that is a module file.
fn resolve(
    base: &ModPath,
    path: &ModPath,
    modules: &BTreeMap<ModPath, PathBuf>,
) -> Option<ModPath> {
    let mut full = base.clone();
    let mut best = None;
    for seg in path {
        full.push(seg.clone());
        if modules.contains_key(&full) {
            best = Some(full.clone());
        } else {
            break;
        }
    }
    best
}

/// Every module each module uses (ancestors and descendants left out).
fn edges(src: &Path) -> BTreeMap<ModPath, BTreeSet<ModPath>> {
    let modules = module_files(src);
    let mut graph: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
    for (module, file) in &modules {
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        // `super` inside the file's own `mod tests { … }` is the file's module.
        let tests_start = code.find("mod tests {").unwrap_or(usize::MAX);
        let targets = graph.entry(module.clone()).or_default();
        for (pos, _) in code.match_indices("::") {
            let head_start = code[..pos]
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(0, |i| i + 1);
            let head = &code[head_start..pos];
            // Only the first segment of a path: `crate::a::b` is one path, not three.
            if code[..head_start].ends_with("::") {
                continue;
            }
            let base: ModPath = match head {
                "crate" => Vec::new(),
                "super" => {
                    // In `a/b.rs` super is `a`; in `a/b/mod.rs` (module `a::b`) super is `a`
                    // too; in the file's test module super is the file's module.
                    let mut m = module.clone();
                    if pos < tests_start {
                        m.pop();
                    }
                    m
                }
                _ => continue,
            };
            for path in expand(&code[pos + 2..]) {
                let Some(target) = resolve(&base, &path, &modules) else {
                    continue;
                };
                let related = target.starts_with(module) || module.starts_with(&target);
                if !related {
                    targets.insert(target);
                }
            }
        }
    }
    graph
}

fn name(m: &ModPath) -> String {
    m.join("::")
}

/// Lifts an edge to the children of the closest common ancestor of its two ends.
fn lift(from: &ModPath, to: &ModPath) -> (ModPath, ModPath) {
    let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
    (from[..=common].to_vec(), to[..=common].to_vec())
}

fn layer_violations(graph: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Vec<String> {
    let mut out = Vec::new();
    for (from, targets) in graph {
        let Some(from_rank) = rank(&from[0]) else {
            out.push(format!("{} is in no layer", from[0]));
            continue;
        };
        for to in targets {
            let Some(to_rank) = rank(&to[0]) else {
                continue;
            };
            if to_rank > from_rank || (to_rank == from_rank && to[0] != from[0]) {
                out.push(format!(
                    "{} uses {}: {} comes after {} in the flow",
                    name(from),
                    name(to),
                    to[0],
                    from[0]
                ));
            }
        }
    }
    out
}

/// Strongly connected components with more than one member, over the lifted edges.
fn cycles(graph: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Vec<Vec<String>> {
    let mut lifted: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
    for (from, targets) in graph {
        for to in targets {
            let (a, b) = lift(from, to);
            lifted.entry(b.clone()).or_default();
            lifted.entry(a).or_default().insert(b);
        }
    }
    // Reachability is enough at this size: two nodes share a cycle when each reaches the other.
    let nodes: Vec<&ModPath> = lifted.keys().collect();
    let reach = |start: &ModPath| {
        let mut seen: BTreeSet<ModPath> = BTreeSet::new();
        let mut todo = vec![start.clone()];
        while let Some(n) = todo.pop() {
            for next in lifted.get(&n).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&ModPath, BTreeSet<ModPath>> =
        nodes.iter().map(|n| (*n, reach(n))).collect();
    let mut done: BTreeSet<ModPath> = BTreeSet::new();
    let mut out = Vec::new();
    for n in &nodes {
        if done.contains(*n) || !reaches[n].contains(*n) {
            continue;
        }
        let members: Vec<&ModPath> = nodes
            .iter()
            .copied()
            .filter(|m| reaches[n].contains(*m) && reaches[m].contains(*n))
            .collect();
        for m in &members {
            done.insert((*m).clone());
        }
        out.push(members.into_iter().map(name).collect());
    }
    out
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn each_layer_uses_only_the_layers_before_it_and_no_module_cycles() {
    let graph = edges(&src_dir());
    assert!(graph.len() > 50, "only {} modules found", graph.len());
    for layer in LAYERS.iter().flat_map(|l| l.iter()) {
        assert!(
            graph.keys().any(|m| m[0] == *layer),
            "layer {layer} has no module"
        );
    }
    let violations = layer_violations(&graph);
    let loops = cycles(&graph);
    assert!(
        violations.is_empty() && loops.is_empty(),
        "against the layer order:\n  {}\ncycles:\n  {}",
        violations.join("\n  "),
        loops
            .iter()
            .map(|c| c.join(" ↔ "))
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}

/// The checker itself, on a small tree holding each kind of fault it must see.
#[test]
fn the_check_finds_reach_backs_and_cycles() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        ("model/mod.rs", "pub mod time;\n"),
        (
            "model/time.rs",
            "// crate::ui::x in a comment is no import\n",
        ),
        ("cors/mod.rs", "use crate::sources::event::Hypothesis;\n"),
        ("sources/mod.rs", "pub mod event;\n"),
        (
            "sources/event.rs",
            "use crate::{model::time::{self, X}, cors::Verdict as V};\n",
        ),
        ("ui/mod.rs", "pub mod draw; pub mod views;\n"),
        (
            "ui/draw.rs",
            "fn f() { crate::ui::views::overview(); super::views::x(); }\n",
        ),
        (
            "ui/views.rs",
            "use super::draw::helper;\nmod tests { use super::*; use super::inner; }\n",
        ),
    ];
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let graph = edges(dir.path());
    let m = |s: &str| s.split("::").map(String::from).collect::<ModPath>();
    assert_eq!(
        graph[&m("sources::event")],
        [m("cors"), m("model::time")].into_iter().collect()
    );
    assert!(graph[&m("model::time")].is_empty());
    assert_eq!(
        layer_violations(&graph),
        vec!["cors uses sources::event: sources comes after cors in the flow".to_string()]
    );
    let loops = cycles(&graph);
    assert!(
        loops.contains(&vec!["cors".to_string(), "sources".to_string()]),
        "{loops:?}"
    );
    assert!(
        loops.contains(&vec!["ui::draw".to_string(), "ui::views".to_string()]),
        "{loops:?}"
    );
}

/// A file past about 700 lines says at its top why it is one file.
#[test]
fn long_files_say_why_they_are_one_file() {
    let mut unexplained = Vec::new();
    for (module, file) in module_files(&src_dir()) {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines = text.lines().count();
        let docs: String = text
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .collect::<Vec<_>>()
            .join(" ");
        if lines > 700 && !docs.to_lowercase().contains("past the usual 700 lines") {
            unexplained.push(format!("{} ({lines} lines)", name(&module)));
        }
    }
    assert!(
        unexplained.is_empty(),
        "long files without a reason: {unexplained:?}"
    );
}
