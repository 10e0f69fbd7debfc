//! Key bindings: a `[keys]` table in the configuration maps each action to a list of keys
//! (`quit = ["q", "ctrl-c"]`). Keys are written as an optional chain of modifiers
//! (`ctrl-`, `alt-`, `shift-`) and a key: one character, or a name such as `tab`, `enter`,
//! `esc`, `down`, `pgdn`, `f5`. A key bound to two actions is an error naming both.

use std::fmt;
use std::str::FromStr;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::{Deserialize, Deserializer};

/// One key with its modifiers, normalised so that what a terminal reports and what a user
/// writes compare equal: a character carries its own case (`G`, not `shift-g`), Shift-Tab is
/// `BackTab`, and Control turns letters to lower case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyCombo {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

/// Why a key or a set of bindings was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("empty key name")]
    Empty,
    #[error("unknown key `{0}` (a single character, or one of: {names})", names = NAMED.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "))]
    UnknownKey(String),
    #[error("unknown modifier `{0}` in `{1}` (ctrl, alt or shift)")]
    UnknownModifier(String, String),
    #[error("key `{key}` is bound to both `{first}` and `{second}`")]
    Duplicate {
        key: String,
        first: &'static str,
        second: &'static str,
    },
    #[error("`quit` needs at least one key")]
    NoQuit,
}

/// Named keys, as written in the configuration and shown in the help.
const NAMED: &[(&str, KeyCode)] = &[
    ("tab", KeyCode::Tab),
    ("backtab", KeyCode::BackTab),
    ("enter", KeyCode::Enter),
    ("esc", KeyCode::Esc),
    ("space", KeyCode::Char(' ')),
    ("backspace", KeyCode::Backspace),
    ("delete", KeyCode::Delete),
    ("insert", KeyCode::Insert),
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
    ("pgup", KeyCode::PageUp),
    ("pgdn", KeyCode::PageDown),
];

/// Other spellings accepted on input.
const ALIASES: &[(&str, KeyCode)] = &[
    ("return", KeyCode::Enter),
    ("escape", KeyCode::Esc),
    ("pageup", KeyCode::PageUp),
    ("pagedown", KeyCode::PageDown),
    ("del", KeyCode::Delete),
];

impl KeyCombo {
    pub fn new(code: KeyCode, modifiers: KeyModifiers) -> KeyCombo {
        let mut modifiers =
            modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let mut code = code;
        match code {
            KeyCode::Char(c) => {
                // The character already says whether Shift was held.
                modifiers.remove(KeyModifiers::SHIFT);
                if modifiers.contains(KeyModifiers::CONTROL) {
                    code = KeyCode::Char(c.to_ascii_lowercase());
                }
            }
            KeyCode::BackTab => modifiers.remove(KeyModifiers::SHIFT),
            KeyCode::Tab if modifiers.contains(KeyModifiers::SHIFT) => {
                code = KeyCode::BackTab;
                modifiers.remove(KeyModifiers::SHIFT);
            }
            _ => {}
        }
        KeyCombo { code, modifiers }
    }

    pub fn plain(code: KeyCode) -> KeyCombo {
        KeyCombo::new(code, KeyModifiers::NONE)
    }

    pub fn of_event(ev: &KeyEvent) -> KeyCombo {
        KeyCombo::new(ev.code, ev.modifiers)
    }
}

impl FromStr for KeyCombo {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<KeyCombo, KeyError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(KeyError::Empty);
        }
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = s;
        // `-` alone, or a trailing `-` after a modifier (`ctrl--`), is the minus key.
        while let Some((head, tail)) = rest.split_once('-') {
            if head.is_empty() || tail.is_empty() {
                break;
            }
            match head.to_ascii_lowercase().as_str() {
                "ctrl" | "control" | "c" => modifiers |= KeyModifiers::CONTROL,
                "alt" | "meta" | "m" | "a" => modifiers |= KeyModifiers::ALT,
                "shift" | "s" => modifiers |= KeyModifiers::SHIFT,
                _ => return Err(KeyError::UnknownModifier(head.to_string(), s.to_string())),
            }
            rest = tail;
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => {
                if modifiers.contains(KeyModifiers::SHIFT) && c.is_ascii_alphabetic() {
                    modifiers.remove(KeyModifiers::SHIFT);
                    KeyCode::Char(c.to_ascii_uppercase())
                } else {
                    KeyCode::Char(c)
                }
            }
            _ => {
                let lower = rest.to_ascii_lowercase();
                let named = NAMED
                    .iter()
                    .chain(ALIASES)
                    .find(|(n, _)| *n == lower)
                    .map(|(_, c)| *c);
                match named {
                    Some(c) => c,
                    None => match lower.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
                        Some(n @ 1..=24) => KeyCode::F(n),
                        _ => return Err(KeyError::UnknownKey(s.to_string())),
                    },
                }
            }
        };
        Ok(KeyCombo::new(code, modifiers))
    }
}

/// Shown as the help writes keys (`Ctrl-C`, `Enter`, `PgDn`, `G`); parsing ignores case in
/// names and modifiers, so what is shown can be written back into the file.
impl fmt::Display for KeyCombo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            f.write_str("Ctrl-")?;
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            f.write_str("Alt-")?;
        }
        if self.modifiers.contains(KeyModifiers::SHIFT) {
            f.write_str("Shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            // Ctrl chords read as they are usually written, `Ctrl-C`.
            KeyCode::Char(c) if self.modifiers.contains(KeyModifiers::CONTROL) => {
                write!(f, "{}", c.to_ascii_uppercase())
            }
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::BackTab => f.write_str("Shift-Tab"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::F(n) => write!(f, "F{n}"),
            code => match NAMED.iter().find(|(_, c)| *c == code) {
                Some((name, _)) => {
                    let mut chars = name.chars();
                    if let Some(first) = chars.next() {
                        write!(f, "{}", first.to_ascii_uppercase())?;
                    }
                    f.write_str(chars.as_str())
                }
                None => write!(f, "{code:?}"),
            },
        }
    }
}

impl<'de> Deserialize<'de> for KeyCombo {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<KeyCombo, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Everything a key can do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyAction {
    Quit,
    Help,
    NextView,
    PreviousView,
    Overview,
    Trend,
    Origins,
    Auth,
    Probes,
    Triage,
    Log,
    Down,
    Up,
    PageDown,
    PageUp,
    First,
    Last,
    Select,
    Back,
    Freeze,
    TimeRange,
    ProbeNow,
    Instance,
    Sort,
    Filter,
    Pause,
    ScrollLeft,
    ScrollRight,
}

macro_rules! bindings {
    ($($field:ident, $name:literal, $action:ident, [$($key:literal),*];)*) => {
        /// The `[keys]` table: for each action, the keys that trigger it. Actions left out
        /// keep their default keys; an empty list unbinds an action.
        #[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
        pub struct KeyBindings {
            $(pub $field: Vec<KeyCombo>,)*
        }

        impl Default for KeyBindings {
            fn default() -> KeyBindings {
                KeyBindings {
                    $($field: vec![$(parse_builtin($key)),*],)*
                }
            }
        }

        impl KeyBindings {
            /// Every action with its configuration name and keys, in help order.
            pub fn entries(&self) -> [(KeyAction, &'static str, &[KeyCombo]); ACTION_COUNT] {
                [$((KeyAction::$action, $name, self.$field.as_slice()),)*]
            }
        }

        const ACTION_COUNT: usize = [$($name),*].len();
    };
}

bindings! {
    quit, "quit", Quit, ["q", "ctrl-c"];
    help, "help", Help, ["?"];
    next_view, "next-view", NextView, ["tab"];
    previous_view, "previous-view", PreviousView, ["shift-tab"];
    overview, "overview", Overview, ["1"];
    trend, "trend", Trend, ["2"];
    origins, "origins", Origins, ["3"];
    auth, "auth", Auth, ["4"];
    probes, "probes", Probes, ["5"];
    triage, "triage", Triage, ["6"];
    log, "log", Log, ["7"];
    down, "down", Down, ["j", "down"];
    up, "up", Up, ["k", "up"];
    page_down, "page-down", PageDown, ["pgdn"];
    page_up, "page-up", PageUp, ["pgup"];
    first, "first", First, ["g", "home"];
    last, "last", Last, ["G", "end"];
    select, "select", Select, ["enter"];
    back, "back", Back, ["esc"];
    freeze, "freeze", Freeze, ["f"];
    time_range, "time-range", TimeRange, ["t"];
    probe_now, "probe-now", ProbeNow, ["r"];
    instance, "instance", Instance, ["i"];
    sort, "sort", Sort, ["s"];
    filter, "filter", Filter, ["/"];
    pause, "pause", Pause, ["p"];
    scroll_left, "scroll-left", ScrollLeft, ["left"];
    scroll_right, "scroll-right", ScrollRight, ["right"];
}

/// The built-in defaults are literals checked by the tests; a typo there falls back to a key
/// nobody can press rather than panicking.
fn parse_builtin(s: &str) -> KeyCombo {
    s.parse().unwrap_or(KeyCombo::plain(KeyCode::Null))
}

impl KeyBindings {
    /// Rejects a key bound to two actions (naming the key and both actions) and a `quit`
    /// without any key.
    pub fn validate(&self) -> Result<(), KeyError> {
        if self.quit.is_empty() {
            return Err(KeyError::NoQuit);
        }
        let mut seen: Vec<(KeyCombo, &'static str)> = Vec::new();
        for (_, name, keys) in self.entries() {
            for key in keys {
                if let Some((_, first)) = seen.iter().find(|(k, _)| k == key) {
                    return Err(KeyError::Duplicate {
                        key: key.to_string(),
                        first,
                        second: name,
                    });
                }
                seen.push((*key, name));
            }
        }
        Ok(())
    }

    /// The action bound to a key press, if any.
    pub fn action(&self, ev: &KeyEvent) -> Option<KeyAction> {
        let combo = KeyCombo::of_event(ev);
        self.entries()
            .into_iter()
            .find(|(_, _, keys)| keys.contains(&combo))
            .map(|(action, _, _)| action)
    }

    /// The keys of `action`.
    pub fn keys(&self, action: KeyAction) -> &[KeyCombo] {
        self.entries()
            .into_iter()
            .find(|(a, _, _)| *a == action)
            .map_or(&[], |(_, _, keys)| keys)
    }

    /// The keys of `action` as shown in the help (`j, down`); `-` when unbound.
    pub fn describe(&self, action: KeyAction) -> String {
        let keys = self.keys(action);
        if keys.is_empty() {
            return "-".into();
        }
        keys.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The first key of `action`, for the footer hints; `None` when unbound.
    pub fn first(&self, action: KeyAction) -> Option<String> {
        self.keys(action).first().map(ToString::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, m)
    }

    #[test]
    fn parses_and_prints() {
        let cases: &[(&str, KeyCode, KeyModifiers, &str)] = &[
            ("q", KeyCode::Char('q'), KeyModifiers::NONE, "q"),
            (
                "ctrl-c",
                KeyCode::Char('c'),
                KeyModifiers::CONTROL,
                "Ctrl-C",
            ),
            (
                "Ctrl-C",
                KeyCode::Char('c'),
                KeyModifiers::CONTROL,
                "Ctrl-C",
            ),
            ("G", KeyCode::Char('G'), KeyModifiers::NONE, "G"),
            ("shift-g", KeyCode::Char('G'), KeyModifiers::NONE, "G"),
            ("tab", KeyCode::Tab, KeyModifiers::NONE, "Tab"),
            (
                "shift-tab",
                KeyCode::BackTab,
                KeyModifiers::NONE,
                "Shift-Tab",
            ),
            ("PageDown", KeyCode::PageDown, KeyModifiers::NONE, "PgDn"),
            ("alt-x", KeyCode::Char('x'), KeyModifiers::ALT, "Alt-x"),
            (
                "shift-down",
                KeyCode::Down,
                KeyModifiers::SHIFT,
                "Shift-Down",
            ),
            ("-", KeyCode::Char('-'), KeyModifiers::NONE, "-"),
            (
                "ctrl--",
                KeyCode::Char('-'),
                KeyModifiers::CONTROL,
                "Ctrl--",
            ),
            ("space", KeyCode::Char(' '), KeyModifiers::NONE, "Space"),
            ("f5", KeyCode::F(5), KeyModifiers::NONE, "F5"),
            ("/", KeyCode::Char('/'), KeyModifiers::NONE, "/"),
        ];
        for (text, code, m, shown) in cases {
            let k: KeyCombo = text.parse().unwrap();
            assert_eq!(k, KeyCombo::new(*code, *m), "{text}");
            assert_eq!(k.to_string(), *shown, "{text}");
            assert_eq!(shown.parse::<KeyCombo>().unwrap(), k, "{shown} round trip");
        }
        for bad in ["", "hyper-x", "nokey", "f99", "ctrl-"] {
            assert!(bad.parse::<KeyCombo>().is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_are_valid_and_complete() {
        let b = KeyBindings::default();
        b.validate().unwrap();
        for (_, name, keys) in b.entries() {
            assert!(!keys.is_empty(), "{name} unbound by default");
            assert!(
                keys.iter().all(|k| k.code != KeyCode::Null),
                "{name} has an unparsable default"
            );
        }
    }

    #[test]
    fn events_map_to_actions() {
        let b = KeyBindings::default();
        let cases = [
            (
                key(KeyCode::Char('q'), KeyModifiers::NONE),
                Some(KeyAction::Quit),
            ),
            (
                key(KeyCode::Char('c'), KeyModifiers::CONTROL),
                Some(KeyAction::Quit),
            ),
            (
                key(
                    KeyCode::Char('C'),
                    KeyModifiers::CONTROL | KeyModifiers::SHIFT,
                ),
                Some(KeyAction::Quit),
            ),
            (
                key(KeyCode::Char('G'), KeyModifiers::SHIFT),
                Some(KeyAction::Last),
            ),
            (
                key(KeyCode::BackTab, KeyModifiers::SHIFT),
                Some(KeyAction::PreviousView),
            ),
            (
                key(KeyCode::Down, KeyModifiers::NONE),
                Some(KeyAction::Down),
            ),
            (key(KeyCode::Char('x'), KeyModifiers::NONE), None),
            (key(KeyCode::Char('q'), KeyModifiers::ALT), None),
        ];
        for (ev, want) in cases {
            assert_eq!(b.action(&ev), want, "{ev:?}");
        }
    }

    #[test]
    fn table_overrides_and_duplicates() {
        let b: KeyBindings = toml::from_str(
            r#"
            quit = ["x", "ctrl-q"]
            down = ["j", "down", "ctrl-n"]
            "#,
        )
        .unwrap();
        b.validate().unwrap();
        assert_eq!(b.describe(KeyAction::Quit), "x, Ctrl-Q");
        assert_eq!(b.help, KeyBindings::default().help);
        assert_eq!(
            b.action(&key(KeyCode::Char('n'), KeyModifiers::CONTROL)),
            Some(KeyAction::Down)
        );
        assert_eq!(b.action(&key(KeyCode::Char('q'), KeyModifiers::NONE)), None);

        let dup: KeyBindings = toml::from_str(r#"freeze = ["q"]"#).unwrap();
        let err = dup.validate().unwrap_err();
        assert_eq!(
            err,
            KeyError::Duplicate {
                key: "q".into(),
                first: "quit",
                second: "freeze"
            }
        );
        assert_eq!(
            err.to_string(),
            "key `q` is bound to both `quit` and `freeze`"
        );

        let none: KeyBindings = toml::from_str("quit = []").unwrap();
        assert_eq!(none.validate(), Err(KeyError::NoQuit));

        let unknown = toml::from_str::<KeyBindings>(r#"jump = ["x"]"#).unwrap_err();
        assert!(unknown.to_string().contains("jump"), "{unknown}");
        let bad_key = toml::from_str::<KeyBindings>(r#"help = ["hyper-h"]"#).unwrap_err();
        assert!(bad_key.to_string().contains("hyper"), "{bad_key}");
    }
}
