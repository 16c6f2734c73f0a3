/**
 * The broker's configuration, read from the environment (the contract in
 * the README). Everything has a default that runs on one machine with no
 * other service.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { envInt } from '@civitas/core';
import { DEFAULT_NOTIFIER_CONFIG, NotifierConfig } from '@civitas/notifier';

export interface BrokerConfig {
  port: number;
  host: string;
  /** postgres://... selects the server store; unset selects the embedded one. */
  databaseUrl?: string;
  /** Server store: the schema that holds Civitas' tables (default: the connection's search path). */
  databaseSchema?: string;
  dataDir: string;
  /** Largest request body accepted, in bytes (413 above). */
  maxBodyBytes: number;
  /** Deepest JSON nesting accepted in a request body. */
  maxBodyDepth: number;
  /** Longest query string accepted, in characters. */
  maxQueryLength: number;
  defaultLimit: number;
  maxLimit: number;
  /** The core @context URL the broker emits. */
  coreContextUrl: string;
  /** 503 (up to V1.8) or 504 (V1.9.1) for an unreachable remote @context. */
  contextUnavailableStatus: number;
  /** Public base URL used in links to stored @contexts; derived from the request when unset. */
  publicUrl?: string;
  /** Record attribute history for the temporal API. */
  history: boolean;
  /** Most entities kept in memory for retrieval by id (undefined: the store's default); 0 keeps none. */
  entityCache?: number;
  /** Days of history kept (by the time an instance counts at); 0 keeps it all. */
  historyRetentionDays: number;
  /** How often retention runs. */
  historyPruneMs: number;
  /** How often expired entities and attributes (4.22) are deleted. */
  expirySweepMs: number;
  /** How often every subscription made at Context Sources is checked against the registrations (expired ones, missed retries). */
  forwardCheckMs: number;
  /** Most instances of one attribute in a temporal response; more are paged with 206 and Content-Range (6.3.10). */
  temporalMaxInstances: number;
  /** This broker's id as a Context Source (5.15.1); tenants' aliases derive from it. */
  contextSourceId: string;
  /** Send the entities that already match when a subscription is created (not in the specification; off by default). */
  initialNotification: boolean;
  notifier: Partial<NotifierConfig>;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): BrokerConfig {
  return {
    port: envInt(env.CIVITAS_PORT, 1026),
    host: env.CIVITAS_HOST || '0.0.0.0',
    databaseUrl: env.DATABASE_URL || undefined,
    databaseSchema: env.CIVITAS_DB_SCHEMA || undefined,
    dataDir: env.CIVITAS_DATA_DIR || './data',
    maxBodyBytes: envInt(env.CIVITAS_MAX_BODY_BYTES, 2 * 1024 * 1024),
    maxBodyDepth: envInt(env.CIVITAS_MAX_BODY_DEPTH, 32),
    maxQueryLength: envInt(env.CIVITAS_MAX_QUERY_LENGTH, 8192),
    defaultLimit: envInt(env.CIVITAS_DEFAULT_LIMIT, 20),
    maxLimit: envInt(env.CIVITAS_MAX_LIMIT, 1000),
    coreContextUrl: env.CIVITAS_CORE_CONTEXT || 'https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld',
    contextUnavailableStatus: envInt(env.CIVITAS_CONTEXT_UNAVAILABLE_STATUS, 504),
    publicUrl: env.CIVITAS_PUBLIC_URL || undefined,
    initialNotification: env.CIVITAS_INITIAL_NOTIFICATION === 'true',
    contextSourceId: env.CIVITAS_CONTEXT_SOURCE_ID || `urn:ngsi-ld:ContextSource:civitas-${hostname()}`,
    history: env.CIVITAS_HISTORY !== 'off',
    entityCache: env.CIVITAS_ENTITY_CACHE ? envInt(env.CIVITAS_ENTITY_CACHE, 0) : undefined,
    historyRetentionDays: envInt(env.CIVITAS_HISTORY_RETENTION_DAYS, 0),
    historyPruneMs: envInt(env.CIVITAS_HISTORY_PRUNE_MS, 3_600_000),
    expirySweepMs: envInt(env.CIVITAS_EXPIRY_SWEEP_MS, 1_000),
    forwardCheckMs: envInt(env.CIVITAS_FORWARD_CHECK_MS, 600_000),
    temporalMaxInstances: Math.max(1, envInt(env.CIVITAS_TEMPORAL_MAX_INSTANCES, 1000)),
    notifier: {
      timeoutMs: envInt(env.CIVITAS_NOTIFY_TIMEOUT_MS, DEFAULT_NOTIFIER_CONFIG.timeoutMs),
      leaseMs: envInt(env.CIVITAS_NOTIFY_LEASE_MS, DEFAULT_NOTIFIER_CONFIG.leaseMs),
      retryBaseMs: envInt(env.CIVITAS_NOTIFY_RETRY_MS, DEFAULT_NOTIFIER_CONFIG.retryBaseMs),
      retryMaxMs: envInt(env.CIVITAS_NOTIFY_RETRY_MAX_MS, DEFAULT_NOTIFIER_CONFIG.retryMaxMs),
      maxAgeMs: envInt(env.CIVITAS_NOTIFY_MAX_AGE_MS, DEFAULT_NOTIFIER_CONFIG.maxAgeMs),
      pollMs: envInt(env.CIVITAS_NOTIFY_POLL_MS, DEFAULT_NOTIFIER_CONFIG.pollMs),
      trustedCa: notificationAuthorities(env),
    },
  };
}

/**
 * The PEM of the authorities trusted for notification endpoints besides
 * Node.js's bundled ones: CIVITAS_NOTIFY_CA_FILE's, and NODE_EXTRA_CA_CERTS',
 * which Node.js leaves out of a connection once it is given a list of its
 * own. Without CIVITAS_NOTIFY_CA_FILE, the TLS default (extra ones included).
 */
function notificationAuthorities(env: NodeJS.ProcessEnv): string | undefined {
  if (!env.CIVITAS_NOTIFY_CA_FILE) return undefined;
  const pems = [readFileSync(env.CIVITAS_NOTIFY_CA_FILE, 'utf8')];
  if (env.NODE_EXTRA_CA_CERTS) {
    try {
      pems.push(readFileSync(env.NODE_EXTRA_CA_CERTS, 'utf8'));
    } catch (e) {
      // Node.js warns of an unreadable file at start-up and goes on without it; so do notifications.
      console.warn(`NODE_EXTRA_CA_CERTS not used for notification endpoints: ${(e as Error).message}`);
    }
  }
  return pems.join('\n');
}
