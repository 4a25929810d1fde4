// npm oidc-provider (OpenID Certified), started by e2e/tests/oidc_provider.rs on loopback as an
// independent OpenID Connect server. Dev interactions: any login and password, then consent.
// Every access token it issues is appended to $TOKENS_FILE, so the test can check, after
// logout, that the provider itself refuses the revoked token. Logging out at its
// /session/end sends a Back-Channel Logout token (with the session's sid) to Portero.
//
// With $JWT_CLIENT_JWKS and $STRICT_CLIENT_JWKS (the public keys of Portero's client_key_file
// for two clients), three stricter clients are registered beside it, each for a provider id of
// Portero's: `par` (the secret, every request pushed first, RFC 9126), `jwt` (private_key_jwt,
// RFC 7523, no PAR) and `strict` (private_key_jwt, pushed, DPoP-bound tokens, RFC 9449). DPoP
// proofs must carry this server's nonces. Their access tokens live $ACCESS_TOKEN_TTL seconds and
// come with refresh tokens; what happens to them is appended to $EVENTS_FILE, one line each.
import { appendFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const {
  OP_PORT, PUBLIC_ORIGIN, CLIENT_ID, CLIENT_SECRET, TOKENS_FILE,
  JWT_CLIENT_JWKS, STRICT_CLIENT_JWKS, EVENTS_FILE, ACCESS_TOKEN_TTL,
} = process.env;
const issuer = `http://127.0.0.1:${OP_PORT}`;

const strictClients = JWT_CLIENT_JWKS && STRICT_CLIENT_JWKS ? [
  {
    client_id: 'portero-par',
    client_secret: CLIENT_SECRET,
    token_endpoint_auth_method: 'client_secret_basic',
    require_pushed_authorization_requests: true,
  },
  {
    client_id: 'portero-jwt',
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: JSON.parse(JWT_CLIENT_JWKS),
  },
  {
    client_id: 'portero-strict',
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: JSON.parse(STRICT_CLIENT_JWKS),
    require_pushed_authorization_requests: true,
    dpop_bound_access_tokens: true,
  },
].map((client) => ({
  ...client,
  // `portero-par` is Portero's provider `par`, and so on.
  redirect_uris: [`${PUBLIC_ORIGIN}/callback/${client.client_id.replace('portero-', '')}`],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
})) : [];
const strictIds = new Set(strictClients.map((c) => c.client_id));

const provider = new Provider(issuer, {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    redirect_uris: [`${PUBLIC_ORIGIN}/callback/op`],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    backchannel_logout_uri: `${PUBLIC_ORIGIN}/api/backchannel-logout/op`,
    backchannel_logout_session_required: true,
  }, ...strictClients],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    revocation: { enabled: true },
    backchannelLogout: { enabled: true },
    pushedAuthorizationRequests: { enabled: true },
    // Nonces from this server on every proof (RFC 9449 §8, §9).
    dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
  },
  // The stricter clients' tokens expire soon, so a test sees a refresh, and come with a refresh
  // token without asking for offline_access.
  ttl: {
    AccessToken: (ctx, token, client) => (
      strictIds.has(token.clientId || client?.clientId) ? Number(ACCESS_TOKEN_TTL || 3600) : 3600),
  },
  issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token')
    && (strictIds.has(client.clientId) || code.scopes.has('offline_access')),
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  // Anyone may log in; a login starting with `unverified-` has an address the provider has
  // not verified (`email_verified: false`), as a person who typed someone else's would.
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return { sub, name: `Conformance ${sub}`, preferred_username: sub,
                 email: `${sub}@conformance.test`,
                 email_verified: !sub.startsWith('unverified-') };
      },
    };
  },
  cookies: { keys: ['portero-e2e-only'] },
  // oidc-provider refuses to call loopback addresses (SSRF protection); here Portero is on
  // 127.0.0.1 by design, so the back-channel POST goes out without that dispatcher.
  fetch(url, options) {
    const { dispatcher, ...rest } = options;
    return fetch(url, rest);
  },
});
const event = (line) => EVENTS_FILE && appendFileSync(EVENTS_FILE, `${line}\n`);
provider.on('backchannel.error', (ctx, err) => console.error(`back-channel logout failed: ${err}`));
provider.on('access_token.saved', (token) => {
  appendFileSync(TOKENS_FILE, `${token.jti}\n`);
  event(`access_token ${token.clientId} ${token.jkt ? 'dpop' : 'bearer'}`);
});
provider.on('grant.success', (ctx) => event(`grant ${ctx.oidc.client.clientId} ${ctx.oidc.params.grant_type}`));
provider.on('pushed_authorization_request.success', (ctx, client) => event(`pushed ${client.clientId}`));
provider.on('access_token.destroyed', (token) => event(`revoked access_token ${token.clientId}`));
provider.on('refresh_token.destroyed', (token) => event(`revoked refresh_token ${token.clientId}`));
// Revoking a refresh token revokes its whole grant, the access tokens with it. (A logout at
// /session/end revokes grants too, with no client to name: a listener that throws would break
// that page.)
provider.on('grant.revoked', (ctx) => event(`revoked grant ${ctx.oidc.client?.clientId}`));
provider.on('grant.error', (ctx, err) => console.error(`grant failed: ${err} ${err.error_description || ''}`));
provider.listen(Number(OP_PORT), '127.0.0.1', () => console.log(`oidc-provider on ${issuer}`));
