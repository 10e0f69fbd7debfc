//! Themes: one named style per UI element, loaded from TOML.
//!
//! Colours are ANSI names (`red`, `lightred`, `darkgray`...) so a theme looks right over any
//! SSH session, or `#rrggbb` for terminals with true colour. Five themes are built in; a path
//! loads a user file. Unknown element or attribute names are errors that name the file, the
//! line and the key, so a typo never silently falls back to a default.

use std::path::Path;
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ThemeError {
    #[error("{file}:{line}: unknown key `{key}` ({message})")]
    UnknownKey {
        file: String,
        line: usize,
        key: String,
        message: String,
    },
    #[error(
        "{file}:{line}: `{key}`: `{value}` is not a colour (use an ANSI name such as `lightred`, or `#rrggbb`)"
    )]
    BadColour {
        file: String,
        line: usize,
        key: String,
        value: String,
    },
    #[error("{file}:{line}: {message}")]
    Syntax {
        file: String,
        line: usize,
        message: String,
    },
    #[error("cannot read theme file {file}: {message}")]
    Io { file: String, message: String },
    #[error("unknown theme `{0}`: not a built-in theme ({builtins}) and no such file", builtins = BUILTIN_NAMES.join(", "))]
    UnknownTheme(String),
}

/// One element's style as written in a theme file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    fg: Option<Spanned<String>>,
    bg: Option<Spanned<String>>,
    bold: Option<bool>,
    dim: Option<bool>,
    italic: Option<bool>,
    underlined: Option<bool>,
    reversed: Option<bool>,
}

macro_rules! elements {
    ($($name:ident => $doc:literal),* $(,)?) => {
        /// A resolved theme: one style per UI element.
        #[derive(Clone, Debug, PartialEq)]
        pub struct Theme {
            pub name: String,
            $(#[doc = $doc] pub $name: Style,)*
        }

        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct ThemeFile {
            $(#[serde(default)] $name: Option<StyleSpec>,)*
        }

        /// Every element name with what it styles (for `--list-theme-elements` and docs).
        pub const ELEMENTS: &[(&str, &str)] = &[$((stringify!($name), $doc)),*];

        impl ThemeFile {
            fn resolve(self, name: &str, file: &str, src: &str) -> Result<Theme, ThemeError> {
                Ok(Theme {
                    name: name.to_string(),
                    $($name: style_of(self.$name, stringify!($name), file, src)?,)*
                })
            }

            fn missing(&self) -> Vec<&'static str> {
                let mut out = Vec::new();
                $(if self.$name.is_none() { out.push(stringify!($name)); })*
                out
            }
        }

        impl Theme {
            /// Every element with no style at all.
            pub fn plain(name: &str) -> Theme {
                Theme { name: name.to_string(), $($name: Style::default(),)* }
            }

            /// All element styles by name, in declaration order.
            pub fn styles(&self) -> Vec<(&'static str, Style)> {
                vec![$((stringify!($name), self.$name)),*]
            }
        }
    };
}

elements! {
    text => "ordinary text",
    muted => "secondary text: units, hints, empty cells",
    border => "panel borders",
    title => "panel titles",
    tab_active => "the selected view's tab",
    tab_inactive => "other tabs",
    status_ok => "the OK status badge",
    status_degraded => "the DEGRADED status badge",
    status_page => "the PAGE status badge",
    mode => "the LIVE / REPLAY / DEMO badge",
    frozen => "the FROZEN badge",
    table_header => "table column headers",
    row_selected => "the selected table row",
    verdict_allowed => "an ALLOWED probe verdict",
    verdict_blocked => "a BLOCKED probe verdict",
    good => "figures that meet their objective",
    bad => "figures that miss their objective",
    warning => "warnings, doubled headers, parse errors",
    critical => "the critical-route marker",
    derived => "origins derived from the Referer",
    series_2xx => "2xx in status series",
    series_3xx => "3xx in status series",
    series_401 => "401 in status series",
    series_403 => "403 in status series",
    series_404 => "404/405 in status series",
    series_5xx => "5xx in status series",
    series_other => "other statuses in status series",
    series_auth => "auth failure classes in series",
    axis => "time axis labels",
    log_source => "source labels in the live log",
    filter => "the log filter prompt",
    help_key => "keys in the help overlay and footer",
    help_text => "descriptions in the help overlay and footer",
    alert_page => "the header's PAGE alert: loud, reversed and bold in every theme",
    triage_supported => "a SUPPORTED hypothesis on the triage board",
    triage_weakened => "a weakened hypothesis, and weakening signals",
    triage_none => "a hypothesis with no evidence",
    score_bar => "the filled part of a hypothesis score bar",
    disagreement => "where the logs and the probes disagree",
    next_check => "the command that settles a hypothesis",
}

const DEFAULT_TOML: &str = include_str!("../../themes/default.toml");
const LIGHT_TOML: &str = include_str!("../../themes/light.toml");
const HIGH_CONTRAST_TOML: &str = include_str!("../../themes/high-contrast.toml");
const COLORBLIND_TOML: &str = include_str!("../../themes/colorblind.toml");
const MONOCHROME_TOML: &str = include_str!("../../themes/monochrome.toml");

pub const BUILTIN_NAMES: [&str; 5] = [
    "default",
    "light",
    "high-contrast",
    "colorblind",
    "monochrome",
];

/// The TOML text of a built-in theme.
pub fn builtin_source(name: &str) -> Option<&'static str> {
    Some(match name {
        "default" => DEFAULT_TOML,
        "light" => LIGHT_TOML,
        "high-contrast" => HIGH_CONTRAST_TOML,
        "colorblind" => COLORBLIND_TOML,
        "monochrome" => MONOCHROME_TOML,
        _ => return None,
    })
}

fn line_of(src: &str, offset: usize) -> usize {
    src.as_bytes()[..offset.min(src.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn colour(
    spec: Option<Spanned<String>>,
    key: &str,
    file: &str,
    src: &str,
) -> Result<Option<Color>, ThemeError> {
    let Some(spec) = spec else { return Ok(None) };
    let span = spec.span();
    let value = spec.into_inner();
    // `Color::from_str` also accepts bare numbers as indexed colours; themes are meant to be
    // readable, so only names and hex are taken.
    let parsed = if value.trim().chars().all(|c| c.is_ascii_digit()) {
        None
    } else {
        Color::from_str(&value).ok()
    };
    match parsed {
        Some(c) => Ok(Some(c)),
        None => Err(ThemeError::BadColour {
            file: file.to_string(),
            line: line_of(src, span.start),
            key: key.to_string(),
            value,
        }),
    }
}

fn style_of(
    spec: Option<StyleSpec>,
    key: &str,
    file: &str,
    src: &str,
) -> Result<Style, ThemeError> {
    let Some(spec) = spec else {
        return Ok(Style::default());
    };
    let mut style = Style::default();
    if let Some(c) = colour(spec.fg, key, file, src)? {
        style = style.fg(c);
    }
    if let Some(c) = colour(spec.bg, key, file, src)? {
        style = style.bg(c);
    }
    for (on, m) in [
        (spec.bold, Modifier::BOLD),
        (spec.dim, Modifier::DIM),
        (spec.italic, Modifier::ITALIC),
        (spec.underlined, Modifier::UNDERLINED),
        (spec.reversed, Modifier::REVERSED),
    ] {
        if on == Some(true) {
            style = style.add_modifier(m);
        }
    }
    Ok(style)
}

fn parse_file(src: &str, file: &str) -> Result<ThemeFile, ThemeError> {
    toml::from_str::<ThemeFile>(src).map_err(|e| {
        let line = e.span().map_or(1, |s| line_of(src, s.start));
        let message = e.message().trim().to_string();
        match message.strip_prefix("unknown field `") {
            Some(rest) => ThemeError::UnknownKey {
                file: file.to_string(),
                line,
                key: rest.split('`').next().unwrap_or_default().to_string(),
                message,
            },
            None => ThemeError::Syntax {
                file: file.to_string(),
                line,
                message,
            },
        }
    })
}

impl Theme {
    /// Parses a theme from TOML text. `file` names the source in errors. Elements left out
    /// get the terminal's plain style.
    pub fn from_toml(src: &str, name: &str, file: &str) -> Result<Theme, ThemeError> {
        parse_file(src, file)?.resolve(name, file, src)
    }

    /// Elements a theme file does not set (built-in themes set all of them).
    pub fn missing_elements(src: &str, file: &str) -> Result<Vec<&'static str>, ThemeError> {
        Ok(parse_file(src, file)?.missing())
    }

    /// A built-in theme by name.
    pub fn builtin(name: &str) -> Result<Theme, ThemeError> {
        let src = builtin_source(name).ok_or_else(|| ThemeError::UnknownTheme(name.into()))?;
        Theme::from_toml(src, name, &format!("themes/{name}.toml"))
    }

    /// The default theme; falls back to plain styles if the embedded file were ever broken
    /// (a test keeps it parsing).
    pub fn default_theme() -> Theme {
        Theme::builtin("default").unwrap_or_else(|_| Theme::plain("default"))
    }

    /// Loads `spec`: a built-in name, else a path to a TOML file. `no_color` (the `NO_COLOR`
    /// convention) forces the monochrome theme whatever was asked.
    pub fn load(spec: &str, no_color: bool) -> Result<Theme, ThemeError> {
        if no_color {
            return Theme::builtin("monochrome");
        }
        if builtin_source(spec).is_some() {
            return Theme::builtin(spec);
        }
        let path = Path::new(spec);
        if !path.exists() {
            return Err(ThemeError::UnknownTheme(spec.to_string()));
        }
        let src = crate::model::text::read_small_file(path, crate::model::text::MAX_SMALL_FILE)
            .map_err(|e| ThemeError::Io {
                file: spec.to_string(),
                message: e.to_string(),
            })?;
        let name = path
            .file_stem()
            .map_or_else(|| spec.to_string(), |s| s.to_string_lossy().into_owned());
        Theme::from_toml(&src, &name, spec)
    }

    /// [`Theme::load`] with `NO_COLOR` taken from the environment: what `--theme` does.
    pub fn resolve(spec: &str) -> Result<Theme, ThemeError> {
        Theme::load(spec, Theme::no_color_env())
    }

    /// True when the environment asks for no colour (`NO_COLOR` set and non-empty).
    pub fn no_color_env() -> bool {
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
    }

    /// Style of a status-class series by index (`StatusClass as usize`).
    pub fn series(&self, class: usize) -> Style {
        match class {
            0 => self.series_2xx,
            1 => self.series_3xx,
            2 => self.series_401,
            3 => self.series_403,
            4 => self.series_404,
            5 => self.series_5xx,
            _ => self.series_other,
        }
    }
}

impl Default for Theme {
    fn default() -> Self {
        Theme::default_theme()
    }
}

/// The element names with what each styles, one per line, for a `--list-theme-elements` style
/// command (the caller prints it).
pub fn describe_elements() -> String {
    let width = ELEMENTS.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    ELEMENTS
        .iter()
        .map(|(name, what)| format!("{name:<width$}  {what}\n"))
        .collect()
}
