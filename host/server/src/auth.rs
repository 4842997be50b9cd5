//! Bearer tokens: each tenant lists the SHA-256 of its tokens; a request's
//! token is hashed and compared in constant time, and a token only ever
//! opens its own tenant.

use sha2::{Digest, Sha256};

/// The hex SHA-256 of a token, as `tenant.toml` stores it.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Parses the hex digests of a tenant's `[api] token_sha256`; a malformed
/// one is an error naming it, so a typo never silently locks a tenant out.
pub(crate) fn parse_digests(tenant: &str, hexes: &[String]) -> Result<Vec<[u8; 32]>, String> {
    hexes
        .iter()
        .map(|h| {
            let bytes = hex::decode(h.trim()).ok().filter(|b| b.len() == 32);
            bytes.map(|b| b.try_into().expect("32 bytes")).ok_or_else(|| {
                format!("tenant `{tenant}`: [api] token_sha256 entry `{h}` is not 64 hex digits (a SHA-256)")
            })
        })
        .collect()
}

/// The token of an `Authorization: Bearer …` header value.
pub(crate) fn bearer(header: Option<&str>) -> Option<&str> {
    let value = header?.trim();
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

/// A presented token's SHA-256, computed once per request.
pub(crate) fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Whether `digest` is one of `digests` (compared without early exit).
pub(crate) fn matches(digest: &[u8; 32], digests: &[[u8; 32]]) -> bool {
    digests.iter().fold(false, |found, d| {
        let difference = d.iter().zip(digest).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        found | (difference == 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_matches_only_its_digest() {
        let digests = parse_digests("t", &[token_digest("secret")]).unwrap();
        assert!(matches(&digest("secret"), &digests));
        assert!(!matches(&digest("secret "), &digests));
        assert!(!matches(&digest("other"), &digests));
    }

    #[test]
    fn bearer_header_forms() {
        assert_eq!(bearer(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer(Some("bearer  abc ")), Some("abc"));
        assert_eq!(bearer(Some("Basic abc")), None);
        assert_eq!(bearer(Some("Bearer ")), None);
        assert_eq!(bearer(None), None);
    }

    #[test]
    fn malformed_digest_is_named() {
        let err = parse_digests("acme", &["xyz".into()]).unwrap_err();
        assert!(err.contains("acme") && err.contains("xyz"), "{err}");
    }
}
