//! Theme files: every built-in parses and sets every element; mistakes name file, line, key.

use corstop::ui::Theme;
use corstop::ui::theme::{BUILTIN_NAMES, ELEMENTS, ThemeError, builtin_source};
use ratatui::style::{Color, Modifier};

#[test]
fn builtins_parse_and_set_every_element() {
    for name in BUILTIN_NAMES {
        let src = builtin_source(name).unwrap();
        let theme = Theme::builtin(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(theme.name, name);
        let missing = Theme::missing_elements(src, name).unwrap();
        assert!(missing.is_empty(), "{name} leaves out {missing:?}");
        assert_eq!(theme.styles().len(), ELEMENTS.len());
    }
}

#[test]
fn default_theme_uses_ansi_names_only() {
    let theme = Theme::builtin("default").unwrap();
    for (name, style) in theme.styles() {
        for c in [style.fg, style.bg].into_iter().flatten() {
            assert!(
                !matches!(c, Color::Rgb(..) | Color::Indexed(_)),
                "{name}: {c:?}"
            );
        }
    }
}

#[test]
fn monochrome_carries_meaning_without_colour() {
    let theme = Theme::builtin("monochrome").unwrap();
    for (name, style) in theme.styles() {
        assert_eq!(style.fg, None, "{name}");
        assert_eq!(style.bg, None, "{name}");
    }
    assert!(theme.row_selected.add_modifier.contains(Modifier::REVERSED));
    assert!(theme.status_page.add_modifier.contains(Modifier::REVERSED));
}

#[test]
fn unknown_element_names_file_line_and_key() {
    let src = "text = {}\nstatus_ok = { fg = \"green\" }\n\nstatus_okay = { fg = \"red\" }\n";
    let err = Theme::from_toml(src, "mine", "/tmp/mine.toml").unwrap_err();
    match &err {
        ThemeError::UnknownKey {
            file, line, key, ..
        } => {
            assert_eq!(file, "/tmp/mine.toml");
            assert_eq!(*line, 4);
            assert_eq!(key, "status_okay");
        }
        other => panic!("unexpected {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.starts_with("/tmp/mine.toml:4:"), "{msg}");
    assert!(msg.contains("status_okay"), "{msg}");
}

#[test]
fn unknown_attribute_and_bad_colour_are_located() {
    let src = "text = {}\nborder = { fg = \"gray\", blink = true }\n";
    match Theme::from_toml(src, "t", "t.toml").unwrap_err() {
        ThemeError::UnknownKey { line, key, .. } => {
            assert_eq!((line, key.as_str()), (2, "blink"));
        }
        other => panic!("unexpected {other:?}"),
    }
    let src = "text = {}\n\nborder = { fg = \"purplish\" }\n";
    match Theme::from_toml(src, "t", "t.toml").unwrap_err() {
        ThemeError::BadColour {
            line, key, value, ..
        } => {
            assert_eq!(
                (line, key.as_str(), value.as_str()),
                (3, "border", "purplish")
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn themes_load_by_name_or_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("night.toml");
    std::fs::write(
        &path,
        "verdict_blocked = { fg = \"#ff8800\", bold = true }\n",
    )
    .unwrap();
    let theme = Theme::load(path.to_str().unwrap(), false).unwrap();
    assert_eq!(theme.name, "night");
    assert_eq!(theme.verdict_blocked.fg, Some(Color::Rgb(0xff, 0x88, 0x00)));
    assert_eq!(theme.text.fg, None, "unset elements stay plain");
    assert_eq!(Theme::load("light", false).unwrap().name, "light");
    assert!(matches!(
        Theme::load("nope", false),
        Err(ThemeError::UnknownTheme(_))
    ));
    assert_eq!(
        Theme::load(path.to_str().unwrap(), true).unwrap().name,
        "monochrome"
    );
}

#[test]
fn element_listing_names_every_element() {
    let listing = corstop::ui::theme::describe_elements();
    assert_eq!(listing.lines().count(), ELEMENTS.len());
    assert!(listing.contains("verdict_blocked"));
    assert!(listing.contains("status_page"));
}
