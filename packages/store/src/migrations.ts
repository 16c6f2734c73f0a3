/**
 * Versioned schema changes, applied in order at start-up under an advisory
 * lock so that several broker processes can start on one database at once.
 * A migration is never edited once released: add a new one.
 */
import type { SqlDriver } from './driver';

/**
 * The scalars of first-level attribute instances, from entities `e`: the
 * content itself when it is a number or a string (`whole`), and the number
 * and string elements when it is an array. Shared by the migration that
 * creates the table and by every write.
 */
export const INSERT_VALUES = `INSERT INTO entity_values (tenant, entity_id, attr, num, txt, whole, rel)
  SELECT e.tenant, e.id, a.key, x.num, x.txt, x.whole, coalesce(i ->> 'type' IN ('Relationship', 'ListRelationship'), false)`;
export const VALUE_SOURCE = `CROSS JOIN LATERAL jsonb_each(e.attrs) AS a
  CROSS JOIN LATERAL jsonb_array_elements(a.value) AS i
  CROSS JOIN LATERAL (SELECT coalesce(i -> 'value', i -> 'object', i -> 'vocab', i -> 'valueList', i -> 'objectList', i -> 'json') AS c) AS content
  CROSS JOIN LATERAL (
    SELECT true AS whole, content.c AS s
    UNION ALL
    SELECT false, el FROM jsonb_array_elements(CASE WHEN jsonb_typeof(content.c) = 'array' THEN content.c ELSE '[]'::jsonb END) AS el
  ) AS scalar
  CROSS JOIN LATERAL (
    SELECT CASE WHEN jsonb_typeof(scalar.s) = 'number' THEN (scalar.s #>> '{}')::double precision END AS num,
           CASE WHEN jsonb_typeof(scalar.s) = 'string' THEN scalar.s #>> '{}' END AS txt,
           scalar.whole AS whole
  ) AS x
  WHERE jsonb_typeof(scalar.s) IN ('number', 'string')`;

/** Each migration: DDL statements separated by semicolons, or a list of statements (for bodies that hold semicolons). */
const MIGRATIONS: Array<string | string[]> = [
  // 1: tenants and entities. Entity timestamps are columns (queries filter
  // on them); attribute timestamps live in the attrs document.
  `
  CREATE TABLE tenants (
    name text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
  );
  INSERT INTO tenants (name) VALUES ('');
  CREATE TABLE entities (
    tenant text NOT NULL REFERENCES tenants (name),
    id text NOT NULL,
    types text[] NOT NULL,
    scope text[],
    created_at timestamptz NOT NULL,
    modified_at timestamptz NOT NULL,
    attrs jsonb NOT NULL,
    PRIMARY KEY (tenant, id)
  );
  CREATE INDEX entities_types ON entities USING gin (types);
  CREATE INDEX entities_attrs ON entities USING gin (attrs);
  CREATE INDEX entities_id_prefix ON entities (tenant, id text_pattern_ops);
  `,
  // 2: every GeoProperty instance as a PostGIS geometry, for indexed geo-queries.
  `
  CREATE TABLE entity_geo (
    tenant text NOT NULL,
    entity_id text NOT NULL,
    attr text NOT NULL,
    geom geometry(Geometry, 4326) NOT NULL,
    FOREIGN KEY (tenant, entity_id) REFERENCES entities (tenant, id) ON DELETE CASCADE
  );
  CREATE INDEX entity_geo_entity ON entity_geo (tenant, entity_id);
  CREATE INDEX entity_geo_geom ON entity_geo USING gist (geom);
  CREATE INDEX entity_geo_geog ON entity_geo USING gist ((geom::geography));
  INSERT INTO entity_geo (tenant, entity_id, attr, geom)
    SELECT e.tenant, e.id, a.key, ST_SetSRID(ST_GeomFromGeoJSON(i ->> 'value'), 4326)
    FROM entities e CROSS JOIN LATERAL jsonb_each(e.attrs) AS a CROSS JOIN LATERAL jsonb_array_elements(a.value) AS i
    WHERE i ->> 'type' = 'GeoProperty'
  `,
  // 3: scalar attribute values (numbers and strings of first-level attributes and of their arrays),
  // for index-bound comparisons in q; the JSON document stays the source of truth.
  `
  CREATE TABLE entity_values (
    tenant text NOT NULL,
    entity_id text NOT NULL,
    attr text NOT NULL,
    num double precision,
    txt text,
    whole boolean NOT NULL,
    rel boolean NOT NULL,
    FOREIGN KEY (tenant, entity_id) REFERENCES entities (tenant, id) ON DELETE CASCADE
  );
  CREATE INDEX entity_values_entity ON entity_values (tenant, entity_id);
  CREATE INDEX entity_values_num ON entity_values (tenant, attr, num) WHERE num IS NOT NULL;
  CREATE INDEX entity_values_txt ON entity_values (tenant, attr, txt) WHERE txt IS NOT NULL;
  ${INSERT_VALUES} FROM entities e ${VALUE_SOURCE}
  `,
  // 4: subscriptions, the change outbox, and the notifications waiting for delivery.
  // A change row is written in the transaction of the entity change it records;
  // the notifier turns it into deliveries and deletes it in one transaction.
  `
  CREATE TABLE subscriptions (
    tenant text NOT NULL REFERENCES tenants (name),
    id text NOT NULL,
    definition jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    times_sent bigint NOT NULL DEFAULT 0,
    times_failed bigint NOT NULL DEFAULT 0,
    last_notification timestamptz,
    last_success timestamptz,
    last_failure timestamptz,
    delivery_status text,
    throttled_until timestamptz,
    next_periodic timestamptz,
    PRIMARY KEY (tenant, id)
  );
  CREATE INDEX subscriptions_periodic ON subscriptions (next_periodic) WHERE next_periodic IS NOT NULL;
  CREATE TABLE subscription_revision (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    revision bigint NOT NULL
  );
  INSERT INTO subscription_revision VALUES (true, 0);
  CREATE TABLE outbox (
    seq bigserial PRIMARY KEY,
    tenant text NOT NULL,
    entity_id text NOT NULL,
    before jsonb,
    after jsonb,
    changed_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE TABLE deliveries (
    id bigserial PRIMARY KEY,
    tenant text NOT NULL,
    subscription_id text NOT NULL,
    notification jsonb NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    owner text,
    locked_until timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant, subscription_id) REFERENCES subscriptions (tenant, id) ON DELETE CASCADE
  );
  CREATE INDEX deliveries_due ON deliveries (locked_until);
  CREATE INDEX deliveries_subscription ON deliveries (tenant, subscription_id);
  CREATE INDEX deliveries_owner ON deliveries (owner)
  `,
  // 5: attribute history (the temporal API): every attribute instance as written, appended in the
  // transaction of the write. The entity's types are kept with it, since the entity may change or go.
  `
  CREATE TABLE attribute_history (
    instance_id bigserial PRIMARY KEY,
    tenant text NOT NULL,
    entity_id text NOT NULL,
    entity_types text[] NOT NULL,
    attr text NOT NULL,
    dataset_id text,
    observed_at timestamptz,
    created_at timestamptz NOT NULL,
    modified_at timestamptz NOT NULL,
    instance jsonb NOT NULL
  );
  CREATE INDEX attribute_history_modified ON attribute_history (tenant, entity_id, attr, modified_at);
  CREATE INDEX attribute_history_latest ON attribute_history (tenant, entity_id, modified_at);
  CREATE INDEX attribute_history_observed ON attribute_history (tenant, entity_id, attr, (coalesce(observed_at, modified_at)));
  CREATE INDEX attribute_history_types ON attribute_history USING gin (entity_types)
  `,
  // 6: the IoT agent's provisioning data (config groups and devices, FIWARE-keyed) and the commands
  // waiting for devices that poll for them.
  `
  CREATE TABLE iot_config_groups (
    service text NOT NULL,
    subservice text NOT NULL,
    resource text NOT NULL,
    apikey text NOT NULL,
    body jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (service, subservice, resource, apikey)
  );
  CREATE INDEX iot_config_groups_apikey ON iot_config_groups (apikey);
  CREATE TABLE iot_devices (
    service text NOT NULL,
    subservice text NOT NULL,
    device_id text NOT NULL,
    apikey text,
    entity_name text NOT NULL,
    body jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (service, subservice, device_id)
  );
  CREATE INDEX iot_devices_device ON iot_devices (device_id);
  CREATE INDEX iot_devices_entity ON iot_devices (service, entity_name);
  CREATE TABLE iot_commands (
    id bigserial PRIMARY KEY,
    service text NOT NULL,
    subservice text NOT NULL,
    device_id text NOT NULL,
    name text NOT NULL,
    value jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE INDEX iot_commands_device ON iot_commands (service, subservice, device_id)
  `,
  // 7: deletions in the attribute history: an instance that records when an attribute instance (or
  // the whole entity) was deleted carries deleted_at; every other instance leaves it NULL. And a BRIN
  // index on the time retention prunes by: history is appended roughly in time order, so a few pages
  // of summaries lead each pruning batch to the oldest rows, at almost no cost to writers.
  `
  ALTER TABLE attribute_history ADD COLUMN deleted_at timestamptz;
  CREATE INDEX attribute_history_deleted ON attribute_history (tenant, entity_id, attr, deleted_at) WHERE deleted_at IS NOT NULL;
  CREATE INDEX attribute_history_age ON attribute_history USING brin ((coalesce(observed_at, modified_at)))
  `,
  // 8: context source registrations, as parsed (body) and as a document of attributes (attrs) that
  // csf and geo-queries are judged on in SQL.
  `
  CREATE TABLE csource_registrations (
    tenant text NOT NULL,
    id text NOT NULL,
    body jsonb NOT NULL,
    attrs jsonb NOT NULL,
    expires_at timestamptz,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, id)
  )
  `,
  // 9: transient entities and attributes (4.22): when the entity expires, and when its first
  // attribute instance does, so that the sweep finds what is due through small partial indexes.
  `
  ALTER TABLE entities ADD COLUMN expires_at timestamptz;
  ALTER TABLE entities ADD COLUMN attrs_expire_at timestamptz;
  CREATE INDEX entities_expires ON entities (expires_at) WHERE expires_at IS NOT NULL;
  CREATE INDEX entities_attrs_expire ON entities (attrs_expire_at) WHERE attrs_expire_at IS NOT NULL
  `,
  // 10: subscriptions to context source registrations (5.11), with their delivery status.
  `
  CREATE TABLE csource_subscriptions (
    tenant text NOT NULL,
    id text NOT NULL,
    body jsonb NOT NULL,
    delivery jsonb NOT NULL DEFAULT '{"timesSent": 0, "timesFailed": 0}',
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant, id)
  )
  `,
  // 11: the names of each entity's attributes, for queries on attribute existence (attrs, q on a name alone), in place of the
  // GIN index on the whole attrs document: that index took every key and value of every instance on every write (a quarter
  // of an entity update), while the names change only when attributes come or go, and are rewritten only then.
  `
  CREATE TABLE entity_attrs (
    tenant text NOT NULL,
    entity_id text NOT NULL,
    attr text NOT NULL,
    PRIMARY KEY (tenant, attr, entity_id),
    FOREIGN KEY (tenant, entity_id) REFERENCES entities (tenant, id) ON DELETE CASCADE
  );
  CREATE INDEX entity_attrs_entity ON entity_attrs (tenant, entity_id);
  INSERT INTO entity_attrs (tenant, entity_id, attr) SELECT e.tenant, e.id, k FROM entities e CROSS JOIN LATERAL jsonb_object_keys(e.attrs) AS k;
  DROP INDEX entities_attrs
  `,
  // 12: a version on each entity row, which a write checks instead of locking what it read (see writeStatement), and the
  // function by which a write that finds a row changed since it was read fails whole, to be tried again.
  [
    'ALTER TABLE entities ADD COLUMN version bigint NOT NULL DEFAULT 0',
    `CREATE FUNCTION civitas_write_conflict() RETURNS boolean LANGUAGE plpgsql AS
      'BEGIN RAISE EXCEPTION ''an entity changed since it was read'' USING ERRCODE = ''40001''; END'`,
  ],
  // 13: outbox changes leased to the process that wrote them, whose notifier routes them at once (see ChangeFeed).
  `
  ALTER TABLE outbox ADD COLUMN owner text;
  ALTER TABLE outbox ADD COLUMN locked_until timestamptz
  `,
  // 14: room in each page of entities for the next version of its rows. An update that changes no indexed column (a measure,
  // most attribute updates) then stays on its page and touches no index (a HOT update): about 7% of a one-attribute write.
  // Pages written from now on keep the room.
  'ALTER TABLE entities SET (fillfactor = 70)',
  // 15: the time indexes of the history end with the instance id, the tie-break every read orders by: lastN and pages read
  // one end of an index range whatever the planner estimates. Without it, a planner that believed an attribute had few
  // instances read all of them and sorted (lastN=100 of 100,000 instances: 300 ms instead of 7).
  `
  CREATE INDEX attribute_history_observed_at ON attribute_history (tenant, entity_id, attr, (coalesce(observed_at, modified_at)), instance_id);
  DROP INDEX attribute_history_observed;
  CREATE INDEX attribute_history_modified_at ON attribute_history (tenant, entity_id, attr, modified_at, instance_id);
  DROP INDEX attribute_history_modified
  `,
  // 16: the side tables without foreign keys to entities. The write statement, the only one that deletes entities, removes
  // their side rows itself; the foreign keys' check on every side row written (a trigger running a query) had doubled the
  // cost of writing value rows, one per measure of an IoT device.
  `
  ALTER TABLE entity_values DROP CONSTRAINT entity_values_tenant_entity_id_fkey;
  ALTER TABLE entity_geo DROP CONSTRAINT entity_geo_tenant_entity_id_fkey;
  ALTER TABLE entity_attrs DROP CONSTRAINT entity_attrs_tenant_entity_id_fkey
  `,
  // 17: one time index per entity for modifiedAt, in place of one per attribute beside the entity's own. Every history row
  // went into three indexes keyed by entity (the observedAt and modifiedAt ones of its attribute, the entity's newest); each
  // entity's range of each is a page written at every measure, and those pages outgrow the buffer cache long before the
  // table does. A query by modifiedAt walks the entity's index in time order and skips its other attributes' instances:
  // lastN reads N times the entity's attribute count at most.
  `
  CREATE INDEX attribute_history_entity_modified ON attribute_history (tenant, entity_id, modified_at, instance_id);
  DROP INDEX attribute_history_latest;
  DROP INDEX attribute_history_modified_at
  `,
  // 18: each life of an entity row numbers its versions from a base of its own, a multiple of 2^20 taken from a sequence,
  // where every row used to start at 0. A version then names one state of one life: a process that kept an entity with its
  // version (see EntityCache) and writes from it cannot meet the same number on an entity deleted and created again meanwhile.
  'CREATE SEQUENCE entity_lives',
  // 19: subscriptions made at Context Sources on behalf of this broker's own (5.8.1.4); the token names one in the
  // notification endpoint the source was given; in_step says whether the source answered the last change.
  `
  CREATE TABLE subscription_forwards (
    tenant text NOT NULL,
    subscription_id text NOT NULL,
    registration_id text NOT NULL,
    remote_url text NOT NULL,
    remote_tenant text,
    token text NOT NULL UNIQUE,
    -- The source holds the subscription as it is here: false from before it is made or updated until it answered.
    in_step boolean NOT NULL DEFAULT false,
    PRIMARY KEY (tenant, subscription_id, registration_id)
  );
  CREATE INDEX subscription_forwards_by_registration ON subscription_forwards (tenant, registration_id)
  `,
  // 20: the entities with history of each type, in place of the GIN index on every history row's types. Each row written
  // went into that index (a third of a history row's cost on the write path, which writes one per attribute instance);
  // a type is now noted once per entity, when the entity is created or takes a new type, and a temporal query by type
  // reads the history of the entities noted for it. Filled from the history there is and from the current entities
  // (one written while history was off may have history from its next write on). A superset: the rows of an entity whose
  // history was deleted or pruned stay, and find no instance.
  `
  CREATE TABLE history_types (
    tenant text NOT NULL,
    type text NOT NULL,
    entity_id text NOT NULL,
    PRIMARY KEY (tenant, type, entity_id)
  );
  INSERT INTO history_types (tenant, type, entity_id)
    SELECT tenant, unnest(entity_types), entity_id FROM attribute_history
    UNION SELECT tenant, unnest(types), id FROM entities;
  DROP INDEX attribute_history_types
  `,
];

/** The advisory lock key, an arbitrary constant shared by every Civitas process. */
const LOCK_KEY = 726_584_391;

/** Applies the migrations not applied yet, up to `upTo` (all of them unless a test stops at an earlier schema). */
export async function migrate(driver: SqlDriver, upTo = MIGRATIONS.length): Promise<void> {
  await driver.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    // Always in public: a broker confined to its own schema must not own the database-wide extension.
    await tx.query('CREATE EXTENSION IF NOT EXISTS postgis SCHEMA public');
    await tx.query('CREATE TABLE IF NOT EXISTS civitas_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const rows = await tx.query<{ version: number }>('SELECT coalesce(max(version), 0) AS version FROM civitas_migrations');
    for (let v = Number(rows[0].version) + 1; v <= upTo; v++) {
      const migration = MIGRATIONS[v - 1];
      for (const statement of Array.isArray(migration) ? migration : splitStatements(migration)) await tx.query(statement);
      await tx.query('INSERT INTO civitas_migrations (version) VALUES ($1)', [v]);
    }
  });
}

/** Prepared statements take one command each; migrations are plain DDL without semicolons in literals. */
function splitStatements(sql: string): string[] {
  return sql.split(';').map((s) => s.trim()).filter((s) => s.length > 0);
}
