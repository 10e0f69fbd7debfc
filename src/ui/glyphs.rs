//! Symbols with an ASCII fallback for terminals or fonts without box drawing and block
//! elements.

use ratatui::symbols::border;

#[derive(Clone, Copy, Debug)]
pub struct Glyphs {
    /// The ASCII set: marks drawn from the legend take their ASCII form.
    pub ascii: bool,
    pub border: border::Set<'static>,
    /// Bar heights from empty to full, for one-line sparklines.
    pub ramp: &'static [char],
    pub selected: &'static str,
    pub ok: &'static str,
    pub degraded: &'static str,
    pub page: &'static str,
    pub critical: &'static str,
    pub sep: &'static str,
    pub ellipsis: &'static str,
    /// Marks the columns of a 401/403 burst under the auth chart.
    pub burst: char,
}

const ASCII_BORDER: border::Set<'static> = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

pub const UNICODE: Glyphs = Glyphs {
    ascii: false,
    border: border::PLAIN,
    ramp: &[' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'],
    selected: "▶",
    ok: "✔",
    degraded: "▲",
    page: "✖",
    critical: "!",
    sep: "│",
    ellipsis: "…",
    burst: '▲',
};

pub const ASCII: Glyphs = Glyphs {
    ascii: true,
    border: ASCII_BORDER,
    ramp: &[' ', '.', ':', '-', '=', '+', '*', '#', '%', '@'],
    selected: ">",
    ok: "[ok]",
    degraded: "[!]",
    page: "[X]",
    critical: "!",
    sep: "|",
    ellipsis: "~",
    burst: '^',
};

pub fn glyphs(ascii: bool) -> &'static Glyphs {
    if ascii { &ASCII } else { &UNICODE }
}

/// The ramp symbol for `value` on a scale up to `max`: zero stays blank, anything above zero
/// gets at least the lowest mark so rare failures never vanish.
pub fn bar(g: &Glyphs, value: u64, max: u64) -> char {
    if value == 0 || max == 0 {
        return g.ramp[0];
    }
    let top = g.ramp.len() - 1;
    let level = ((value as u128 * top as u128).div_ceil(max as u128) as usize).clamp(1, top);
    g.ramp[level]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_never_hide_non_zero() {
        assert_eq!(bar(&ASCII, 0, 100), ' ');
        assert_eq!(bar(&ASCII, 1, 1_000_000), '.');
        assert_eq!(bar(&ASCII, 100, 100), '@');
        assert_eq!(bar(&UNICODE, 50, 100), '▄');
    }
}
