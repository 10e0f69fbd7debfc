//! Chromium's names for why it refused a response (`network::mojom::CorsError`, without the
//! `k`), for each verdict code and stage, so that a metric or an alert reads as the browser's
//! own DevTools and net-export logs do.

use super::Stage;
use super::codes::*;

/// Verdict code → (name when the preflight failed, name when the actual response failed).
/// `None` on a side means the code cannot fail there.
const TABLE: &[(&str, Option<&str>, Option<&str>)] = &[
    (
        PREFLIGHT_REDIRECT,
        Some("PreflightDisallowedRedirect"),
        None,
    ),
    (
        ACAO_MISSING,
        Some("PreflightMissingAllowOriginHeader"),
        Some("MissingAllowOriginHeader"),
    ),
    (ACTUAL_ACAO_MISSING, None, Some("MissingAllowOriginHeader")),
    (
        ACAO_MULTIPLE,
        Some("PreflightMultipleAllowOriginValues"),
        Some("MultipleAllowOriginValues"),
    ),
    (
        ACAO_INVALID,
        Some("PreflightInvalidAllowOriginValue"),
        Some("InvalidAllowOriginValue"),
    ),
    (
        ACAO_WILDCARD_CREDENTIALS,
        Some("PreflightWildcardOriginNotAllowed"),
        Some("WildcardOriginNotAllowed"),
    ),
    (
        ACAO_MISMATCH,
        Some("PreflightAllowOriginMismatch"),
        Some("AllowOriginMismatch"),
    ),
    (
        ACAC_NOT_TRUE,
        Some("PreflightInvalidAllowCredentials"),
        Some("InvalidAllowCredentials"),
    ),
    (PREFLIGHT_NOT_OK, Some("PreflightInvalidStatus"), None),
    (
        ALLOW_METHODS_UNPARSABLE,
        Some("InvalidAllowMethodsPreflightResponse"),
        None,
    ),
    (
        ALLOW_HEADERS_UNPARSABLE,
        Some("InvalidAllowHeadersPreflightResponse"),
        None,
    ),
    (
        METHOD_NOT_ALLOWED,
        Some("MethodDisallowedByPreflightResponse"),
        None,
    ),
    (
        HEADER_NOT_ALLOWED,
        Some("HeaderDisallowedByPreflightResponse"),
        None,
    ),
];

/// Codes that are not a CORS error at all: nothing failed, nothing was judged, or the
/// connection failed before any response (Chromium reports a `net::ERR_*` then).
pub const NOT_CORS_ERRORS: &[&str] = &[OK, NOT_JUDGED, NETWORK_ERROR];

/// Chromium's `CorsError` name for a verdict code at the stage it failed; `None` for
/// [`NOT_CORS_ERRORS`]. A code seen at a stage it cannot fail at takes the other stage's name.
pub fn cors_error(code: &str, stage: Stage) -> Option<&'static str> {
    let (_, preflight, actual) = TABLE.iter().find(|(c, _, _)| *c == code)?;
    match stage {
        Stage::Preflight => preflight.or(*actual),
        _ => actual.or(*preflight),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failing_code_has_a_chromium_name_at_each_stage() {
        for code in CODES {
            for stage in [Stage::Preflight, Stage::Actual] {
                let name = cors_error(code, stage);
                if NOT_CORS_ERRORS.contains(code) {
                    assert_eq!(name, None, "{code}");
                } else {
                    let name = name.unwrap_or_else(|| panic!("{code} at {stage:?} has no name"));
                    assert!(
                        name.chars().all(|c| c.is_ascii_alphabetic())
                            && name.starts_with(|c: char| c.is_ascii_uppercase()),
                        "{name}"
                    );
                }
            }
        }
        assert_eq!(TABLE.len() + NOT_CORS_ERRORS.len(), CODES.len());
    }

    #[test]
    fn the_stage_picks_the_preflight_or_the_actual_name() {
        assert_eq!(
            cors_error(ACAO_MISSING, Stage::Preflight),
            Some("PreflightMissingAllowOriginHeader")
        );
        assert_eq!(
            cors_error(ACAO_MULTIPLE, Stage::Actual),
            Some("MultipleAllowOriginValues")
        );
        assert_eq!(
            cors_error(PREFLIGHT_NOT_OK, Stage::Preflight),
            Some("PreflightInvalidStatus")
        );
        assert_eq!(
            cors_error(ACAO_MISMATCH, Stage::Actual),
            Some("AllowOriginMismatch")
        );
    }
}
