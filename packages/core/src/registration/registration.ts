/**
 * Context Source Registrations (5.2.9): what a registered Context Source can
 * provide. Entity types and attribute names are kept expanded; the other
 * members as given.
 */
import type { Geometry } from '../model/geojson';

export const REGISTRATION_MODES = ['inclusive', 'exclusive', 'redirect', 'auxiliary'] as const;
export type RegistrationMode = (typeof REGISTRATION_MODES)[number];

/** 5.2.8: entities by type, and optionally id (taking precedence) or idPattern. */
export interface EntityInfo {
  /** Expanded type IRIs (an entity of several types lists them all). */
  types: string[];
  id?: string;
  idPattern?: string;
}

/** 5.2.10: at least one of its members. */
export interface RegistrationInfo {
  entities?: EntityInfo[];
  /** Expanded attribute IRIs. */
  propertyNames?: string[];
  relationshipNames?: string[];
}

/** 5.2.11: startAt mandatory, endAt after it. */
export interface TimeInterval {
  startAt: string;
  endAt?: string;
}

/** 5.2.34. */
export interface RegistrationManagement {
  localOnly?: boolean;
  cacheDuration?: string;
  timeout?: number;
  cooldown?: number;
}

/** The GeoJSON members a geo-query of a registration query may test (location by default). */
export const REGISTRATION_GEO_MEMBERS = ['location', 'observationSpace', 'operationSpace'] as const;
export type RegistrationGeoMember = (typeof REGISTRATION_GEO_MEMBERS)[number];

export interface Registration {
  id: string;
  endpoint: string;
  information: RegistrationInfo[];
  mode: RegistrationMode;
  /** Operation names and groups (4.20); undefined means federationOps. */
  operations?: string[];
  registrationName?: string;
  description?: string;
  contextSourceInfo?: Array<{ key: string; value: string }>;
  contextSourceAlias?: string;
  tenant?: string;
  datasetId?: string[];
  scope?: string[];
  expiresAt?: string;
  refreshRate?: string;
  observationInterval?: TimeInterval;
  managementInterval?: TimeInterval;
  management?: RegistrationManagement;
  location?: Geometry;
  observationSpace?: Geometry;
  operationSpace?: Geometry;
  /** Context Source Properties (any other member), by expanded name, as given. */
  properties?: Record<string, unknown>;
  /** The @context the registration was created with, to render it as it was written when asked. */
  context?: unknown;
  createdAt: string;
  modifiedAt: string;
}

/** The named operations and operation groups of 4.20. */
export const OPERATIONS: ReadonlySet<string> = new Set([
  'federationOps', 'updateOps', 'retrieveOps', 'redirectionOps', 'associationOps',
  'createEntity', 'updateEntity', 'appendAttrs', 'updateAttrs', 'deleteAttrs', 'deleteEntity', 'mergeEntity', 'replaceEntity', 'replaceAttrs', 'purgeEntity',
  'createBatch', 'upsertBatch', 'updateBatch', 'deleteBatch', 'mergeBatch', 'queryBatch',
  'upsertTemporal', 'appendAttrsTemporal', 'deleteAttrsTemporal', 'updateAttrInstanceTemporal', 'deleteAttrInstanceTemporal', 'deleteTemporal',
  'retrieveEntity', 'queryEntity', 'retrieveTemporal', 'queryTemporal',
  'retrieveEntityTypes', 'retrieveEntityTypeDetails', 'retrieveEntityTypeInfo', 'retrieveAttrTypes', 'retrieveAttrTypeDetails', 'retrieveAttrTypeInfo',
  'createSubscription', 'updateSubscription', 'retrieveSubscription', 'querySubscription', 'deleteSubscription',
  'createEntityMapQueryEntity', 'createEntityMapQueryTemporal', 'retrieveEntityMap', 'updateEntityMap', 'deleteEntityMap', 'retrieveContextSourceIdentity',
]);

/** What an auxiliary registration may offer (5.9.2.4): reading only. */
export const AUXILIARY_OPERATIONS: ReadonlySet<string> = new Set(['retrieveOps', 'retrieveEntity', 'queryEntity']);
