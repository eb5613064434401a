/**
 * Plugin execution order within each phase, in one place, with the reason for each position
 * (Kong spreads magic priority numbers over every handler; here the whole order reads top to bottom).
 * A plugin missing from this list cannot be registered (index.ts checks it at start).
 */
export const PLUGIN_ORDER: readonly { name: string; why: string }[] = [
  { name: 'load-shedding', why: 'the cheapest refusal: reads one flag and one counter, so an overloaded node spends nothing on requests it cannot serve (before request-termination and auth, which cost more)' },
  // Traffic policy (issue 6): cheap refusals by address and User-Agent first, then CORS before anything that
  // may answer, so even a refusal or a maintenance answer carries CORS headers the page can read.
  { name: 'ip-restriction', why: 'a binary search over precompiled address ranges: refuses unwanted clients before any other work (after load-shedding, which is cheaper still)' },
  { name: 'bot-detection', why: 'two precompiled regex tests on the User-Agent: a refusal that needs no credentials, before CORS and auth' },
  { name: 'cors', why: 'preflights carry no credentials, so they are answered before request-termination, redirect and auth; its response phase then adds CORS headers to every answer, refusals included, so the page can read them' },
  { name: 'request-termination', why: 'answers without touching anything else; runs before auth so a maintenance window needs no credentials' },
  { name: 'https-redirect', why: 'sends plain-HTTP clients to HTTPS before anything else answers or reads credentials (which should not travel in clear); after cors so a refused preflight still reads; its response phase only adds HSTS' },
  { name: 'redirect', why: 'answers with a redirect without touching anything else; before auth, since a moved URL needs no credentials to learn where it went' },
  { name: 'request-size-limiting', why: 'a Content-Length comparison needing no credentials; before auth so an oversized body is refused before any verification (hmac-auth may buffer the body)' },
  // Authentication (issue 3): cheapest first, so in `any` mode a request with an API key never pays for a
  // scrypt or HMAC verification; all before acl, which needs the consumer they set.
  { name: 'mtls-auth', why: 'the client certificate was checked once per connection (cached): one WeakMap lookup per request, the cheapest auth of all, so first' },
  { name: 'key-auth', why: 'one HMAC + one map lookup; the cheapest credential, tried first in any-of mode' },
  { name: 'hmac-auth', why: 'HMAC over a few headers; may buffer the body only on routes that validate it' },
  { name: 'basic-auth', why: 'scrypt verification is slow by design (cached per snapshot), so it runs after the cheap ones' },
  { name: 'jwt', why: 'a signature check (≈10 µs HS256, more for RSA/EC; cached per token) and sometimes a JWKS fetch; after the shared-secret schemes, before acl which reads ctx.locals.jwt_claims' },
  { name: 'oauth2-introspection', why: 'may cost a network round trip to the authorization server (cached); last of the auth plugins so cheaper ones can authenticate first' },
  { name: 'acl', why: 'authorization: needs the consumer (and jwt claims) set by every auth plugin above' },
  { name: 'concurrency-limit', why: 'after auth and acl (keys by consumer/credential; unauthorised requests never take a slot), before rate-limiting so a request refused for concurrency does not use rate budget' },
  { name: 'rate-limiting', why: 'after auth and acl: keys by the consumer/credential/JWT claims they set, and requests refused by auth do not use anyone\'s budget' },
  { name: 'request-validator', why: 'after auth and the limits: parsing and schema checks (and reading the body) are not spent on requests that will be refused anyway; before any transformer, so it sees the request as the client sent it' },
  { name: 'request-transformer', why: 'after auth, acl and the limits: templates read the consumer and the token claims they set, and no edit (or body buffering) is spent on a refused request; after request-validator, which checks the request as the client sent it; before traffic-split and the upstream phase, which act on the edited request' },
  { name: 'traffic-split', why: 'access phase, last: chooses the service once authentication (consumer stickiness) and every refusal are done, and before the upstream phase so proxy-cache and circuit-breaker act on the chosen service' },
  { name: 'proxy-cache', why: 'upstream phase, so after every access plugin: a stored answer is only given to a client that auth and acl let through, and a hit still takes a concurrency slot and counts against the rate budget (the cache saves upstream work, not quota); before circuit-breaker so a hit is served while the breaker is open and is not counted as an upstream outcome' },
  { name: 'circuit-breaker', why: 'upstream phase: only hands the upstream exchange to the breaker, which acts when the request is sent, so every access check has passed by then' },
  { name: 'mirror', why: 'upstream phase, after proxy-cache and circuit-breaker: a request answered from the cache never reaches an upstream and is not copied; it only observes (a tap and the log phase), so its place changes nothing for the others' },
  { name: 'response-transformer', why: 'response phase, next to response-headers and before it, so a static header policy set there has the last word; its JSON body filter is added here, after any filter added in the access/upstream phases' },
  { name: 'compression', why: 'response phase, after response-transformer so its body filter is added later and compresses the transformed body (filters run in the order added); after the upstream-phase plugins (proxy-cache stores the uncompressed body); before response-headers so configured headers keep the last word' },
  { name: 'response-headers', why: 'only adds headers to the response; order-independent, last so it can override upstream headers' },
];

export const PLUGIN_RANK: ReadonlyMap<string, number> = new Map(PLUGIN_ORDER.map((p, i) => [p.name, i]));
