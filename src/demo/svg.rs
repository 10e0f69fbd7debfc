//! Screenshots: a rendered buffer as an SVG of monospace cells with their colours, so the
//! images in the documentation can be regenerated from code.

use std::fmt::Write;

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

use crate::ui::theme::Theme;

const CELL_W: f32 = 9.0;
const CELL_H: f32 = 18.0;
const FONT_SIZE: f32 = 15.0;

/// xterm's default 16-colour palette.
fn ansi(c: Color) -> Option<&'static str> {
    Some(match c {
        Color::Black => "#000000",
        Color::Red => "#cd0000",
        Color::Green => "#00cd00",
        Color::Yellow => "#cdcd00",
        Color::Blue => "#0000ee",
        Color::Magenta => "#cd00cd",
        Color::Cyan => "#00cdcd",
        Color::Gray => "#e5e5e5",
        Color::DarkGray => "#7f7f7f",
        Color::LightRed => "#ff0000",
        Color::LightGreen => "#00ff00",
        Color::LightYellow => "#ffff00",
        Color::LightBlue => "#5c5cff",
        Color::LightMagenta => "#ff00ff",
        Color::LightCyan => "#00ffff",
        Color::White => "#ffffff",
        _ => return None,
    })
}

fn hex(c: Color, default: &str) -> String {
    match c {
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Indexed(i) if i < 16 => {
            const ORDER: [Color; 16] = [
                Color::Black,
                Color::Red,
                Color::Green,
                Color::Yellow,
                Color::Blue,
                Color::Magenta,
                Color::Cyan,
                Color::Gray,
                Color::DarkGray,
                Color::LightRed,
                Color::LightGreen,
                Color::LightYellow,
                Color::LightBlue,
                Color::LightMagenta,
                Color::LightCyan,
                Color::White,
            ];
            ansi(ORDER[i as usize]).unwrap_or(default).to_string()
        }
        other => ansi(other).unwrap_or(default).to_string(),
    }
}

fn escape(s: &str, out: &mut String) {
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
}

/// Renders `buffer` as SVG. The terminal's default colours follow the theme: dark unless the
/// theme is the light one.
pub fn render_svg(buffer: &Buffer, theme: &Theme) -> String {
    let (default_fg, default_bg) = if theme.name == "light" {
        ("#1e1e1e", "#fdfdf6")
    } else {
        ("#d0d0d0", "#1c1c1c")
    };
    let area = buffer.area;
    let width = area.width as f32 * CELL_W;
    let height = area.height as f32 * CELL_H;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="'DejaVu Sans Mono', Menlo, Consolas, monospace" font-size="{FONT_SIZE}">"#
    );
    let _ = write!(
        svg,
        r#"<rect width="100%" height="100%" fill="{default_bg}"/>"#
    );
    for y in 0..area.height {
        let mut x = 0u16;
        while x < area.width {
            let Some(cell) = buffer.cell((area.x + x, area.y + y)) else {
                break;
            };
            let key = (cell.fg, cell.bg, cell.modifier);
            let start = x;
            let mut text = String::new();
            while x < area.width {
                let Some(c) = buffer.cell((area.x + x, area.y + y)) else {
                    break;
                };
                if (c.fg, c.bg, c.modifier) != key {
                    break;
                }
                text.push_str(if c.symbol().is_empty() {
                    " "
                } else {
                    c.symbol()
                });
                x += 1;
            }
            let (fg, bg, m) = key;
            let mut fg = hex(fg, default_fg);
            let mut bg = match bg {
                Color::Reset => None,
                c => Some(hex(c, default_bg)),
            };
            if m.contains(Modifier::REVERSED) {
                let old_fg = fg.clone();
                fg = bg.unwrap_or_else(|| default_bg.to_string());
                bg = Some(old_fg);
            }
            let px = start as f32 * CELL_W;
            let py = y as f32 * CELL_H;
            let run_w = (x - start) as f32 * CELL_W;
            if let Some(bg) = bg {
                let _ = write!(
                    svg,
                    r#"<rect x="{px}" y="{py}" width="{run_w}" height="{CELL_H}" fill="{bg}"/>"#
                );
            }
            if text.trim().is_empty() {
                continue;
            }
            let mut attrs = String::new();
            if m.contains(Modifier::BOLD) {
                attrs.push_str(r#" font-weight="bold""#);
            }
            if m.contains(Modifier::ITALIC) {
                attrs.push_str(r#" font-style="italic""#);
            }
            if m.contains(Modifier::UNDERLINED) {
                attrs.push_str(r#" text-decoration="underline""#);
            }
            if m.contains(Modifier::DIM) {
                attrs.push_str(r#" opacity="0.6""#);
            }
            let _ = write!(
                svg,
                r#"<text x="{px}" y="{}" fill="{fg}" textLength="{run_w}" lengthAdjust="spacingAndGlyphs" xml:space="preserve"{attrs}>"#,
                py + 14.0
            );
            escape(&text, &mut svg);
            svg.push_str("</text>");
        }
    }
    svg.push_str("</svg>\n");
    svg
}
