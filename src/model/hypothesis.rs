//! The ids of the failure hypotheses: the triage board ranks them, the CORS verdict names the
//! one each blocked check points at.

use std::fmt;

/// The failure hypotheses of the triage board (see the README's triage section).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Hypothesis {
    /// CORS not configured or misconfigured.
    H1,
    /// Preflight blocked by authentication.
    H2,
    /// Token expired and refresh fails.
    H3,
    /// Doubled CORS headers (two CORS layers).
    H4,
    /// Custom vs default domain mismatch (audience / issuer).
    H5,
    /// A preflight answered with a redirect.
    PreflightRedirect,
    /// OPTIONS not routed (404 / 405).
    OptionsNotRouted,
    /// Allowed origin varies but `Vary: Origin` is missing.
    MissingVary,
    /// Instances behind a load balancer answer differently.
    InconsistentInstances,
    /// Error responses without CORS headers.
    ErrorWithoutCors,
    /// Signing keys rolled over.
    KeyRollover,
    /// Clock skew between token issuer and validator.
    ClockSkew,
}

impl Hypothesis {
    pub const ALL: [Hypothesis; 12] = [
        Hypothesis::H1,
        Hypothesis::H2,
        Hypothesis::H3,
        Hypothesis::H4,
        Hypothesis::H5,
        Hypothesis::PreflightRedirect,
        Hypothesis::OptionsNotRouted,
        Hypothesis::MissingVary,
        Hypothesis::InconsistentInstances,
        Hypothesis::ErrorWithoutCors,
        Hypothesis::KeyRollover,
        Hypothesis::ClockSkew,
    ];

    /// Short id shown in tables.
    pub fn id(self) -> &'static str {
        match self {
            Hypothesis::H1 => "H1",
            Hypothesis::H2 => "H2",
            Hypothesis::H3 => "H3",
            Hypothesis::H4 => "H4",
            Hypothesis::H5 => "H5",
            Hypothesis::PreflightRedirect => "REDIR",
            Hypothesis::OptionsNotRouted => "NOROUTE",
            Hypothesis::MissingVary => "VARY",
            Hypothesis::InconsistentInstances => "INST",
            Hypothesis::ErrorWithoutCors => "ERRCORS",
            Hypothesis::KeyRollover => "KEYS",
            Hypothesis::ClockSkew => "SKEW",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Hypothesis::H1 => "CORS not configured or misconfigured",
            Hypothesis::H2 => "Preflight blocked by auth",
            Hypothesis::H3 => "Token expired, refresh fails",
            Hypothesis::H4 => "Doubled CORS headers",
            Hypothesis::H5 => "Custom vs default domain mismatch",
            Hypothesis::PreflightRedirect => "Preflight redirected",
            Hypothesis::OptionsNotRouted => "OPTIONS not routed (404/405)",
            Hypothesis::MissingVary => "Missing Vary: Origin",
            Hypothesis::InconsistentInstances => "Instances answer differently",
            Hypothesis::ErrorWithoutCors => "Error responses without CORS headers",
            Hypothesis::KeyRollover => "Signing-key rollover",
            Hypothesis::ClockSkew => "Clock skew",
        }
    }
}

impl fmt::Display for Hypothesis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}
