// Package smart holds the JSON Web Token, JSON Web Key and SMART Backend
// Services pieces of Wachtwijzer, on the standard library's crypto only:
//
//   - Sign and Verify compact JWS tokens with RS256 or ES256 (and nothing
//     else: "none", HMAC algorithms and unknown ones are refused before a key
//     is looked at, so a public key can never be used as an HMAC secret);
//     Verify checks the signature against a KeySet by kid, then exp, nbf and
//     iat with a leeway on an injectable clock, the issuer and the audience.
//   - JWK and JWKS: RSA and P-256 public keys to and from JSON (RFC 7517/7518),
//     RFC 7638 thumbprints as key ids; ParsePrivateKeyPEM reads PKCS #8,
//     PKCS #1 and SEC 1 keys.
//   - ClientCredentials: a SMART Backend Services client (client_credentials
//     grant with a private_key_jwt client assertion, RFC 7523) whose access
//     token is cached until shortly before it expires.
//
// The pull adapter authenticates to hospital FHIR servers with
// ClientCredentials; the gateway's own authorisation server (token endpoint,
// JWKS publication, token validation) reuses Sign, Verify, JWK and KeySet.
package smart
