// npm oidc-provider (OpenID Certified), started by e2e/tests/oidc_provider.rs on loopback as an
// independent OpenID Connect server. Dev interactions: any login and password, then consent.
// Every access token it issues is appended to $TOKENS_FILE, so the test can check, after
// logout, that the provider itself refuses the revoked token. Logging out at its
// /session/end sends a Back-Channel Logout token (with the session's sid) to Portero.
import { appendFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const { OP_PORT, PUBLIC_ORIGIN, CLIENT_ID, CLIENT_SECRET, TOKENS_FILE } = process.env;
const issuer = `http://127.0.0.1:${OP_PORT}`;

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
  }],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    revocation: { enabled: true },
    backchannelLogout: { enabled: true },
  },
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
provider.on('backchannel.error', (ctx, err) => console.error(`back-channel logout failed: ${err}`));
provider.on('access_token.saved', (token) => appendFileSync(TOKENS_FILE, `${token.jti}\n`));
provider.listen(Number(OP_PORT), '127.0.0.1', () => console.log(`oidc-provider on ${issuer}`));
