/**
 * The explicit list of built-in plugins. Adding a plugin: create its folder, add it here, and give it a
 * place in order.ts.
 */
import type { PluginDefinition } from './types.js';
import requestTermination from './request-termination/plugin.js';
import responseHeaders from './response-headers/plugin.js';
import keyAuth from './key-auth/plugin.js';
import basicAuth from './basic-auth/plugin.js';
import hmacAuth from './hmac-auth/plugin.js';
import mtlsAuth from './mtls-auth/plugin.js';
import acl from './acl/plugin.js';
import jwt from './jwt/plugin.js';
import oauth2Introspection from './oauth2-introspection/plugin.js';
import rateLimiting from './rate-limiting/plugin.js';
import concurrencyLimit from './concurrency-limit/plugin.js';
import loadShedding from './load-shedding/plugin.js';
import requestSizeLimiting from './request-size-limiting/plugin.js';
import circuitBreaker from './circuit-breaker/plugin.js';
import proxyCache from './proxy-cache/plugin.js';
import requestValidator from './request-validator/plugin.js';
import trafficSplit from './traffic-split/plugin.js';
import mirror from './mirror/plugin.js';
import requestTransformer from './request-transformer/plugin.js';
import responseTransformer from './response-transformer/plugin.js';
import cors from './cors/plugin.js';
import ipRestriction from './ip-restriction/plugin.js';
import botDetection from './bot-detection/plugin.js';
import redirect from './redirect/plugin.js';
import httpsRedirect from './https-redirect/plugin.js';
import compression from './compression/plugin.js';

const BUILT_IN: PluginDefinition[] = [requestTermination, responseHeaders, keyAuth, jwt, oauth2Introspection, rateLimiting, concurrencyLimit, basicAuth, hmacAuth, mtlsAuth, acl, loadShedding, requestSizeLimiting, circuitBreaker, proxyCache, requestValidator, trafficSplit, mirror, requestTransformer, responseTransformer, cors, ipRestriction, botDetection, redirect, httpsRedirect, compression];

export const PLUGINS: ReadonlyMap<string, PluginDefinition> = new Map(BUILT_IN.map((p) => [p.name, p]));
