/**
 * What the admin plane needs from the process environment and the injection tokens of the non-class
 * dependencies it is handed (store, runtime, env, logger, plugin registry).
 */
import type { PluginDefinition } from '../plugins/types.js';

export interface AdminEnv {
  /** Static bearer token with the admin role (GATEHOUSE_ADMIN_TOKEN). */
  adminToken?: string;
  /** First admin's user name and password, used only when the store has no admin users. */
  adminUser?: string;
  adminPassword?: string;
  /** HMAC secret of issued JWTs; random per process when unset. */
  jwtSecret?: string;
  /** DB-less mode: every config write answers 405. */
  readOnly: boolean;
}

export interface AdminLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export type PluginRegistry = ReadonlyMap<string, PluginDefinition>;

/** Resolved auth settings: the JWT secret is fixed once, whether configured or generated. */
export interface AuthSettings {
  jwtSecret: string;
  jwtSecretGenerated: boolean;
  /** Lifetime of issued tokens in seconds. */
  tokenTtlSeconds: number;
  /** Name the passport strategy is registered under; unique per app because passport's registry is global. */
  strategyName: string;
}

export const ADMIN_STORE = Symbol('ADMIN_STORE');
export const ADMIN_RUNTIME = Symbol('ADMIN_RUNTIME');
export const ADMIN_ENV = Symbol('ADMIN_ENV');
export const ADMIN_LOGGER = Symbol('ADMIN_LOGGER');
export const ADMIN_PLUGINS = Symbol('ADMIN_PLUGINS');
export const AUTH_SETTINGS = Symbol('AUTH_SETTINGS');
