import type { AttributeInstance, GeoQuery, Ordering, QExpression, StoredEntity } from '@civitas/core';
import type { NotificationStore } from './notifications';
import type { ProvisioningStore } from './provisioning';
import type { RegistrationStore } from './registrations';
import type { AggregateRow, AggregationMethod, HistoryDeletion, HistoryFilters, HistoryInstance, HistorySelection, InstanceTake, NewHistoryInstance } from './history';

/** The tenant used when a request names none; it always exists. */
export const DEFAULT_TENANT = '';

/**
 * For each entity that one write changes more than once (a batch naming it
 * several times), the states it passes through before its last one, oldest
 * first; null where it is deleted in between. Each step is recorded as a
 * write of its own would be: its outbox change and its history instances.
 */
export type Intermediates = Map<string, Array<StoredEntity | null>>;

/**
 * What a mutation decided to write. The store applies it in the same
 * transaction that read the entities, with one statement per kind of write
 * whatever the number of entities.
 */
export interface WritePlan<T> {
  /** Entities to insert, only where no entity with that id exists; the ids that already existed are reported in `conflicts`. */
  inserts?: StoredEntity[];
  /** Entities to write whole, replacing any stored version. */
  upserts?: StoredEntity[];
  /** Ids of entities to delete. */
  deletes?: string[];
  /** Entities changed more than once by this write, with the states they pass through on the way. */
  intermediates?: Intermediates;
  /** Handed back to the caller of `mutate`, with the insert conflicts. */
  result: T;
}

export interface MutationOutcome<T> {
  result: T;
  /** Ids of `inserts` that were not written because the entity already existed. */
  conflicts: string[];
}

export interface MutateOptions {
  /** Create the tenant when it does not exist yet (create operations); otherwise an unknown tenant fails with NonexistentTenant. */
  createTenant?: boolean;
  /**
   * When an insert meets an entity created meanwhile by another writer, roll
   * back and plan again against it (upserts), rather than report the conflict.
   */
  retryConflicts?: boolean;
  /** false: the write adds nothing to the attribute history (it records what the history already holds). */
  history?: boolean;
  /** The plan sees expired entities too (the expiry sweep, which deletes them as any delete would). */
  sweep?: boolean;
}

/** Selection for GET /entities; every member narrows the result (AND). */
export interface EntityQuery {
  /** Entity ids (OR). */
  ids?: string[];
  /** POSIX regular expression on the id. */
  idPattern?: string;
  /** Expanded type IRIs as an OR of ANDs ([[A, B], [C]]: both A and B, or C). */
  types?: string[][];
  /** `type=*` (4.17): every type; selects nothing more than no type would, but names the query's target. */
  anyType?: boolean;
  /** Entity selectors of a Query body (5.7.2 via POST); an entity matches when it matches any of them. */
  anyOf?: Array<{ id?: string; idPattern?: string; types?: string[][] }>;
  /** Expanded attribute IRIs; an entity matches when it has any of them. */
  attrs?: string[];
  /** A parsed q expression (4.9) and the expansion of the names it uses (the request's @context). */
  q?: { expression: QExpression; expand: (name: string) => string };
  /** scopeQ (4.19) as an OR of ANDs of regular expressions, each matching some scope of the entity. */
  scopes?: string[][];
  /** A geo-query on one GeoProperty (expanded IRI). */
  geo?: GeoQuery & { propertyIri: string };
  /** orderBy (4.23); the entity id always breaks ties. */
  ordering?: Ordering;
  limit: number;
  offset: number;
  /** Also count every match (ignoring limit / offset). */
  count?: boolean;
}

export interface QueryResult {
  entities: StoredEntity[];
  /** Total number of matches; set when the query asked for a count. */
  count?: number;
}

/** One entity type as discovery reports it (5.7.5, 5.7.6): expanded IRIs. */
export interface TypeSummary {
  type: string;
  attributes: string[];
}

export interface TypeDetails {
  entityCount: number;
  /** Each attribute with the attribute types (Property, Relationship, ...) its instances have. */
  attributes: Array<{ name: string; attributeTypes: string[] }>;
}

/** One attribute as discovery reports it (5.7.8, 5.7.9). */
export interface AttributeSummary {
  name: string;
  /** Entity types having the attribute. */
  typeNames: string[];
}

export interface AttributeDetails extends AttributeSummary {
  /** Number of attribute instances with this name. */
  attributeCount: number;
  attributeTypes: string[];
}

/**
 * The persistence boundary of the broker. One SQL implementation serves both
 * PostgreSQL (pg) and the embedded PGlite; entities are stored expanded.
 */
export interface Store {
  /** Which driver runs underneath, for logs and /health. */
  readonly driver: 'postgres' | 'embedded';
  /** Subscriptions, the change outbox and the delivery queue, in the same database. */
  readonly notifications: NotificationStore;
  /** The IoT agent's config groups, devices and queued commands, in the same database. */
  readonly provisioning: ProvisioningStore;
  /** Context source registrations (5.9, 5.10). */
  readonly registrations: RegistrationStore;

  tenantExists(tenant: string): Promise<boolean>;

  getEntity(tenant: string, id: string): Promise<StoredEntity | undefined>;

  /**
   * Reads the entities with the given ids (those that exist) under a row
   * lock, hands them to `plan`, and applies the returned writes, all in one
   * transaction. `plan` must be synchronous and pure: it may run again if the
   * transaction is retried.
   *
   * Throws NgsiError('NonexistentTenant') for an unknown tenant unless
   * `createTenant` is set.
   */
  mutate<T>(
    tenant: string,
    ids: string[],
    plan: (current: Map<string, StoredEntity>) => WritePlan<T>,
    options?: MutateOptions,
  ): Promise<MutationOutcome<T>>;

  queryEntities(tenant: string, query: EntityQuery): Promise<QueryResult>;

  /** Every entity type in the tenant with the attributes its entities have, ordered by type. */
  listTypes(tenant: string): Promise<TypeSummary[]>;
  typeDetails(tenant: string, type: string): Promise<TypeDetails | undefined>;
  /** Every attribute in the tenant with the entity types having it, ordered by name. */
  listAttributes(tenant: string): Promise<AttributeSummary[]>;
  attributeDetails(tenant: string, name: string): Promise<AttributeDetails | undefined>;

  /** Attribute history (the temporal API): the entities that have some, their instances, aggregations. */
  historyEntities(tenant: string, selection: HistorySelection, limit: number, offset: number, descending?: boolean): Promise<Array<{ id: string; types: string[] }>>;
  historyInstances(tenant: string, selection: HistorySelection, take?: InstanceTake): Promise<HistoryInstance[]>;
  historyEntityCount(tenant: string, selection: HistorySelection): Promise<number>;
  /** Ids (at most cap + 1, in order) of the entities whose instances in the selection satisfy the filters. */
  historyMatchingEntities(tenant: string, selection: HistorySelection, filters: HistoryFilters, cap: number): Promise<string[]>;
  historyAggregates(tenant: string, selection: HistorySelection, methods: AggregationMethod[], periodSeconds?: number): Promise<AggregateRow[]>;
  /**
   * Adds instances to an entity's history (temporal provision), creating the
   * tenant if asked; `types` undefined keeps the types the history has, and
   * fails with ResourceNotFound when it has none. Reports whether the
   * history existed before.
   */
  appendHistory(
    tenant: string,
    entityId: string,
    types: string[] | undefined,
    added: NewHistoryInstance[],
    /** replaceObserved: an added instance replaces one of its attribute and datasetId observed at the same time. */
    options?: MutateOptions & { replaceObserved?: boolean },
  ): Promise<{ existed: boolean }>;
  deleteHistory(tenant: string, entityId: string, deletion: HistoryDeletion): Promise<number>;
  /** Retention: removes the instances of every tenant older than `before`, in small batches; how many went. */
  pruneHistory(before: string): Promise<number>;
  /** Deletes one batch of what has expired (4.22) through the write path; how many entities it handled. */
  expireDue(batch?: number): Promise<number>;
  replaceHistoryInstance(tenant: string, entityId: string, attr: string, instanceId: string, instance: AttributeInstance): Promise<boolean>;

  close(): Promise<void>;
}
