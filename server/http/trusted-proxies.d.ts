/**
 * TRUST_PROXY, read: the addresses (or CIDR ranges) of the reverse proxies
 * whose X-Forwarded-* headers are believed, or false for none. A request's
 * address is then the rightmost X-Forwarded-For entry that a trusted proxy
 * added; whatever the client itself wrote in front of it is ignored.
 *
 * Refused, because each would let any client choose its own address (and
 * so get around the per-address sign-in limit): `true`, a range covering
 * every address, and a hop count (Fastify 5 no longer honours one: it cannot
 * tell whether the last hop is the proxy or a client that connected directly).
 * Throws with a sentence saying what to set instead.
 */
export declare function parseTrustedProxies(value: string | undefined): string[] | false;
