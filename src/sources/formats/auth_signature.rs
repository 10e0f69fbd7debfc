//! Token-validation failure signatures: Microsoft.IdentityModel `IDXnnnnn` codes and the stable
//! phrases of other stacks (jsonwebtoken, go-oidc, Envoy jwt_authn, Kong, Spring, jjwt...).
//!
//! Matching is on codes and short phrases, never whole lines: the same failure is worded
//! differently across library versions, values are replaced by `[PII is hidden...]`, and
//! messages spread over several lines of an exception block.

use memchr::memmem;

use crate::sources::event::AuthClass;

/// Microsoft.IdentityModel codes. Codes are unambiguous, so they win over phrases.
const CODES: &[(&str, AuthClass)] = &[
    ("idx10223", AuthClass::Expired),
    ("idx10222", AuthClass::NotYetValid),
    ("idx10214", AuthClass::Audience),
    ("idx10215", AuthClass::Audience),
    ("idx10231", AuthClass::Audience),
    ("idx10208", AuthClass::Audience),
    ("idx10205", AuthClass::Issuer),
    ("idx10212", AuthClass::Issuer),
    ("idx10211", AuthClass::Issuer),
    ("idx10204", AuthClass::Issuer),
    ("idx10503", AuthClass::KeyNotFound),
    ("idx10517", AuthClass::KeyNotFound),
    ("idx10501", AuthClass::KeyNotFound),
    ("idx10500", AuthClass::KeyNotFound),
    ("idx10511", AuthClass::BadSignature),
    ("idx10504", AuthClass::BadSignature),
    ("idx14100", AuthClass::MalformedOrMissing),
    ("idx14101", AuthClass::MalformedOrMissing),
    ("idx14102", AuthClass::MalformedOrMissing),
    ("idx12709", AuthClass::MalformedOrMissing),
    ("idx12741", AuthClass::MalformedOrMissing),
    ("idx12723", AuthClass::MalformedOrMissing),
    ("idx21323", AuthClass::NonceState),
    ("idx21349", AuthClass::NonceState),
    ("idx21321", AuthClass::NonceState),
    ("idx21331", AuthClass::NonceState),
    ("idx21329", AuthClass::NonceState),
];

/// Stable phrases, lowercase. Envoy's `RESPONSE_CODE_DETAILS` spell them with underscores
/// (`Jwt_is_expired`); callers turn `_` into spaces before matching.
const PHRASES: &[(&str, AuthClass)] = &[
    // Expired
    ("jwt expired", AuthClass::Expired),
    ("jwt is expired", AuthClass::Expired),
    ("the token expired at", AuthClass::Expired),
    ("token is expired", AuthClass::Expired),
    ("expired jwt", AuthClass::Expired),
    ("token expired", AuthClass::Expired),
    ("tokenexpiredexception", AuthClass::Expired),
    ("securitytokenexpiredexception", AuthClass::Expired),
    ("lifetime validation failed", AuthClass::Expired),
    ("expiredjwtexception", AuthClass::Expired),
    // Not yet valid
    ("jwt not active", AuthClass::NotYetValid),
    ("jwt not yet valid", AuthClass::NotYetValid),
    ("jwt used before", AuthClass::NotYetValid),
    ("token is not valid yet", AuthClass::NotYetValid),
    ("token used before issued", AuthClass::NotYetValid),
    ("securitytokennotyetvalidexception", AuthClass::NotYetValid),
    // Audience
    ("jwt audience invalid", AuthClass::Audience),
    ("the audience '", AuthClass::Audience),
    ("oidc: expected audience", AuthClass::Audience),
    ("audiences in jwt are not allowed", AuthClass::Audience),
    ("audience validation failed", AuthClass::Audience),
    ("invalid audience", AuthClass::Audience),
    ("securitytokeninvalidaudienceexception", AuthClass::Audience),
    // Issuer
    ("jwt issuer invalid", AuthClass::Issuer),
    ("the issuer '", AuthClass::Issuer),
    ("id token issued by a different provider", AuthClass::Issuer),
    ("jwt issuer is not configured", AuthClass::Issuer),
    ("issuer validation failed", AuthClass::Issuer),
    ("invalid issuer", AuthClass::Issuer),
    ("securitytokeninvalidissuerexception", AuthClass::Issuer),
    // Signing key
    ("the signature key was not found", AuthClass::KeyNotFound),
    ("jwks doesn't have key to match kid", AuthClass::KeyNotFound),
    ("signing key not found", AuthClass::KeyNotFound),
    ("unable to find a signing key", AuthClass::KeyNotFound),
    (
        "securitytokensignaturekeynotfoundexception",
        AuthClass::KeyNotFound,
    ),
    // Signature
    ("invalid signature", AuthClass::BadSignature),
    ("the signature is invalid", AuthClass::BadSignature),
    ("signature is invalid", AuthClass::BadSignature),
    ("jwt verification fails", AuthClass::BadSignature),
    ("signature verification failed", AuthClass::BadSignature),
    (
        "securitytokeninvalidsignatureexception",
        AuthClass::BadSignature,
    ),
    // Missing or malformed
    ("jwt malformed", AuthClass::MalformedOrMissing),
    ("jwt is missing", AuthClass::MalformedOrMissing),
    (
        "no authorization token was found",
        AuthClass::MalformedOrMissing,
    ),
    ("jwt must be provided", AuthClass::MalformedOrMissing),
    ("jwt is not in the form of", AuthClass::MalformedOrMissing),
    ("token is malformed", AuthClass::MalformedOrMissing),
    ("malformed jwt", AuthClass::MalformedOrMissing),
    (
        "securitytokenmalformedexception",
        AuthClass::MalformedOrMissing,
    ),
    // Lost nonce / state cookie
    ("correlation failed", AuthClass::NonceState),
    ("oauth state was missing or invalid", AuthClass::NonceState),
    ("invalid nonce", AuthClass::NonceState),
    ("nonce cookie", AuthClass::NonceState),
];

/// Words that say "this failed" without saying why.
const GENERIC_FAILURE: &[&str] = &[
    "fail",
    "unauthorized",
    "unauthorised",
    "forbidden",
    "denied",
    "invalid",
    "rejected",
    "exception",
    "error",
];

/// Classifies an auth-log message. `None` means it is not a failure (a successful validation,
/// an informational line). Known signatures map to their class; failure words, or a 401/403 in
/// the text, without a known signature give [`AuthClass::Other`].
pub fn classify_auth_message(msg: &str) -> Option<AuthClass> {
    classify_auth_message_with_status(msg, None)
}

/// Like [`classify_auth_message`], with the HTTP status the log gives separately (an auth
/// event answered 401/403 is a failure even when its message is uninformative).
pub fn classify_auth_message_with_status(msg: &str, status: Option<u16>) -> Option<AuthClass> {
    let lower = msg.to_ascii_lowercase();
    let hay = lower.as_bytes();
    if let Some(c) = earliest(hay, CODES) {
        return Some(c);
    }
    if let Some(c) = earliest(hay, PHRASES) {
        return Some(c);
    }
    let failed_status = matches!(status, Some(s) if s == 401 || s == 403)
        || matches!(super::common::status_in_text(hay), Some(401 | 403));
    if failed_status
        || GENERIC_FAILURE
            .iter()
            .any(|w| memmem::find(hay, w.as_bytes()).is_some())
    {
        return Some(AuthClass::Other);
    }
    None
}

/// The class of the signature that appears first: the outer message of a wrapped exception
/// names the failure the request actually hit.
fn earliest(hay: &[u8], table: &[(&str, AuthClass)]) -> Option<AuthClass> {
    let mut best: Option<(usize, AuthClass)> = None;
    for (needle, class) in table {
        if let Some(pos) = memmem::find(hay, needle.as_bytes())
            && best.is_none_or(|(p, _)| pos < p)
        {
            best = Some((pos, *class));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use AuthClass::*;

    #[test]
    fn signatures_table() {
        let cases: &[(&str, Option<AuthClass>)] = &[
            (
                "IDX10223: Lifetime validation failed. The token is expired. ValidTo: '04/04/2026 10:31:02', Current time: '04/04/2026 11:02:19'.",
                Some(Expired),
            ),
            (
                "IDX10223: Lifetime validation failed. The token is expired. ValidTo (UTC): '[PII of type 'System.DateTime' is hidden. For more details, see https://aka.ms/IdentityModel/PII.]', Current time (UTC): '[PII of type 'System.DateTime' is hidden.]'.",
                Some(Expired),
            ),
            (
                "Microsoft.IdentityModel.Tokens.SecurityTokenExpiredException: IDX10223: Lifetime validation failed.",
                Some(Expired),
            ),
            ("TokenExpiredError: jwt expired", Some(Expired)),
            ("Jwt is expired", Some(Expired)),
            ("Jwt expired at 2026-04-04T10:31:02Z", Some(Expired)),
            (
                "Bearer error=\"invalid_token\", error_description=\"The token expired at '04/04/2026 10:31:02'\"",
                Some(Expired),
            ),
            (
                "JWT expired at 2026-04-04T10:31:02Z. Current time: 2026-04-04T11:00:00Z, a difference of 1738000 milliseconds.",
                Some(Expired),
            ),
            (
                "oidc: token is expired (Token Expiry: 2026-04-04 10:31:02 +0000 UTC)",
                Some(Expired),
            ),
            (
                "An error occurred while attempting to decode the Jwt: Expired JWT",
                Some(Expired),
            ),
            ("token expired", Some(Expired)),
            (
                "IDX10222: Lifetime validation failed. The token is not yet valid. ValidFrom: '...'",
                Some(NotYetValid),
            ),
            ("NotBeforeError: jwt not active", Some(NotYetValid)),
            ("Jwt not yet valid", Some(NotYetValid)),
            ("Jwt used before 2026-04-04T10:31:02Z", Some(NotYetValid)),
            (
                "IDX10214: Audience validation failed. Audiences: 'api://default'. Did not match: validationParameters.ValidAudience: 'api://orders' or validationParameters.ValidAudiences: 'null'.",
                Some(Audience),
            ),
            (
                "IDX10231: Audience validation failed. Delegate returned false",
                Some(Audience),
            ),
            (
                "JsonWebTokenError: jwt audience invalid. expected: api://orders",
                Some(Audience),
            ),
            (
                "The audience 'https://contoso.azurewebsites.net' is invalid",
                Some(Audience),
            ),
            (
                "oidc: expected audience \"orders\" got [\"web\"]",
                Some(Audience),
            ),
            ("Audiences in Jwt are not allowed", Some(Audience)),
            (
                "IDX10205: Issuer validation failed. Issuer: 'https://sts.windows.net/x/'. Did not match: validationParameters.ValidIssuer",
                Some(Issuer),
            ),
            (
                "jwt issuer invalid. expected: https://login.example",
                Some(Issuer),
            ),
            (
                "The issuer 'https://sts.windows.net/abc/' is invalid",
                Some(Issuer),
            ),
            (
                "oidc: id token issued by a different provider, expected \"a\" got \"b\"",
                Some(Issuer),
            ),
            (
                "IDX10503: Signature validation failed. Token does not have a kid. Keys tried: '[PII is hidden by default. Set the 'ShowPII' flag]'.",
                Some(KeyNotFound),
            ),
            (
                "IDX10501: Signature validation failed. Unable to match key: kid: 'abc'",
                Some(KeyNotFound),
            ),
            (
                "IDX10517: Signature validation failed. The token's kid is missing.",
                Some(KeyNotFound),
            ),
            (
                "Bearer error=\"invalid_token\", error_description=\"The signature key was not found\"",
                Some(KeyNotFound),
            ),
            (
                "Jwks doesn't have key to match kid or alg from Jwt",
                Some(KeyNotFound),
            ),
            (
                "IDX10511: Signature validation failed. Keys tried: 'x'. kid: 'y'.",
                Some(BadSignature),
            ),
            ("JsonWebTokenError: invalid signature", Some(BadSignature)),
            (
                "Bearer error=\"invalid_token\", error_description=\"The signature is invalid\"",
                Some(BadSignature),
            ),
            (
                "IDX14100: JWT is not well formed, there are no dots (.).",
                Some(MalformedOrMissing),
            ),
            (
                "IDX12709: CanReadToken() returned false. JWT is not well formed.",
                Some(MalformedOrMissing),
            ),
            (
                "IDX12741: JWT: '[PII is hidden]' must have three segments (JWS) or five segments (JWE).",
                Some(MalformedOrMissing),
            ),
            ("JsonWebTokenError: jwt malformed", Some(MalformedOrMissing)),
            ("Jwt is missing", Some(MalformedOrMissing)),
            (
                "UnauthorizedError: No authorization token was found",
                Some(MalformedOrMissing),
            ),
            (
                "IDX21323: RequireNonce is 'True'. OpenIdConnectProtocolValidationContext.Nonce was null",
                Some(NonceState),
            ),
            ("IDX21349: RequireNonce is 'True'", Some(NonceState)),
            (
                "IDX21321: The 'nonce' found in the jwt token did not match the expected nonce",
                Some(NonceState),
            ),
            (
                "IDX21331: Unable to validate the 'state', context.State is null",
                Some(NonceState),
            ),
            ("Exception: Correlation failed.", Some(NonceState)),
            (
                "Authorization failed. These requirements were not met",
                Some(Other),
            ),
            ("Request returned 401 Unauthorized", Some(Other)),
            ("status 403", Some(Other)),
            ("Token validated successfully for subject 1234", None),
            (
                "IDX10242: Security token: '[PII is hidden]' has a valid signature.",
                None,
            ),
            ("Successfully validated the token.", None),
            ("", None),
        ];
        for (msg, want) in cases {
            assert_eq!(classify_auth_message(msg), *want, "{msg}");
        }
    }

    #[test]
    fn first_signature_wins_and_status_counts() {
        // The outer message names the failure even when the inner exception mentions another.
        let msg = "IDX10503: Signature validation failed. Exceptions caught: IDX10223: Lifetime validation failed.";
        assert_eq!(classify_auth_message(msg), Some(KeyNotFound));
        assert_eq!(
            classify_auth_message_with_status("challenge", Some(401)),
            Some(Other)
        );
        assert_eq!(classify_auth_message_with_status("ok", Some(200)), None);
    }

    #[test]
    fn case_and_spacing_tolerant() {
        assert_eq!(classify_auth_message("JWT IS EXPIRED"), Some(Expired));
        assert_eq!(classify_auth_message("idx10223"), Some(Expired));
    }
}
