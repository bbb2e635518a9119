// Package auth is the gateway's authorisation server and resource-server
// guard, per SMART Backend Services (OAuth 2.0 client_credentials with
// private_key_jwt client assertions, RFC 7523):
//
//   - Config: the registered clients (role, organisation, allowed scopes,
//     JWKS inline or from a file, optional client-certificate fingerprint)
//     and trusted external issuers (issuer, JWKS URL), read from a JSON file.
//   - Server: POST /auth/token verifies the client assertion against the
//     client's JWKS, refuses a replayed jti (SET NX in Redis until the
//     assertion expires) and issues a short-lived access token signed by a
//     rotating key (Keys, derived per rotation epoch from the deployment
//     key so all gateways on a Redis share them; the previous key stays
//     published until its last token expired) at /auth/jwks;
//     /.well-known/smart-configuration describes the endpoints.
//   - Authenticate turns a request's bearer token (ours or a trusted
//     issuer's, whose JWKS is fetched through package fetch and cached) or
//     a mapped client certificate into a wachtwijzer.Principal and its
//     Grants; verified tokens are cached until they expire.
//   - Scopes: SMART v1 (system/Patient.read, .write, .*) and v2
//     (system/Patient.rs, .cruds) scopes, checked per interaction.
//   - Limiter: per-client fixed-window rate limits in Redis.
//
// Errors are *wachtwijzer.Error of kind Unauthorized (401) or Forbidden
// (403) with an OperationOutcome-ready message; the token endpoint answers
// OAuth error JSON instead.
package auth
