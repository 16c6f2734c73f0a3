/** ProvisioningStore on SQL: the same statements on PostgreSQL and on PGlite. */
import { statement, type SqlDriver, type SqlExecutor } from './driver';
import type { ConfigGroupRecord, DeviceRecord, PendingCommand, ProvisioningStore, ServiceScope } from './provisioning';

interface GroupRow {
  service: string;
  subservice: string;
  resource: string;
  apikey: string;
  body: Record<string, unknown> | string;
}

interface DeviceRow {
  service: string;
  subservice: string;
  device_id: string;
  apikey: string | null;
  entity_name: string;
  body: Record<string, unknown> | string;
}

const json = (v: Record<string, unknown> | string): Record<string, unknown> => (typeof v === 'string' ? JSON.parse(v) : v);

const toGroup = (r: GroupRow): ConfigGroupRecord => ({
  service: r.service,
  subservice: r.subservice,
  resource: r.resource,
  apikey: r.apikey,
  body: json(r.body),
});

const toDevice = (r: DeviceRow): DeviceRecord => ({
  service: r.service,
  subservice: r.subservice,
  deviceId: r.device_id,
  apikey: r.apikey ?? undefined,
  entityName: r.entity_name,
  body: json(r.body),
});

/** Thrown inside a transaction to roll back a batch insert that met an existing row. */
class Conflict extends Error {}

/** `AND subservice = $n` for one service path; nothing for all of them. */
function scopeSql(scope: ServiceScope, params: unknown[]): string {
  params.push(scope.service);
  let sql = `service = $${params.length}`;
  if (scope.subservice !== undefined) {
    params.push(scope.subservice);
    sql += ` AND subservice = $${params.length}`;
  }
  return sql;
}

const DEVICE_COLUMNS = 'service, subservice, device_id, apikey, entity_name, body';

// The lookups behind southbound messages (every device, again at each expiry of the agent's cache): kept planned.
const GROUPS_BY_APIKEY = statement('groups_by_apikey', 'SELECT service, subservice, resource, apikey, body FROM iot_config_groups WHERE apikey = $1 ORDER BY created_at');
const FIND_DEVICE = statement(
  'find_device',
  `SELECT ${DEVICE_COLUMNS} FROM iot_devices d WHERE device_id = $2 AND (apikey = $1 OR (apikey IS NULL AND EXISTS (
     SELECT 1 FROM iot_config_groups g WHERE g.apikey = $1 AND g.service = d.service AND g.subservice = d.subservice)))
   ORDER BY (apikey IS NULL), created_at LIMIT 1`,
);

export class SqlProvisioningStore implements ProvisioningStore {
  constructor(private readonly db: SqlDriver) {}

  createGroups(groups: ConfigGroupRecord[]): Promise<boolean> {
    return this.insertAll(groups, (tx, g) =>
      tx.query(
        `INSERT INTO iot_config_groups (service, subservice, resource, apikey, body) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT DO NOTHING RETURNING 1 AS inserted`,
        [g.service, g.subservice, g.resource, g.apikey, JSON.stringify(g.body)],
      ),
    );
  }

  async listGroups(scope: ServiceScope, limit: number, offset: number): Promise<{ count: number; groups: ConfigGroupRecord[] }> {
    const params: unknown[] = [];
    const where = scopeSql(scope, params);
    const [{ count }] = await this.db.query<{ count: string }>(`SELECT count(*)::text AS count FROM iot_config_groups WHERE ${where}`, params);
    const rows = await this.db.query<GroupRow>(
      `SELECT * FROM iot_config_groups WHERE ${where} ORDER BY created_at, resource, apikey LIMIT ${limit} OFFSET ${offset}`,
      params,
    );
    return { count: Number(count), groups: rows.map(toGroup) };
  }

  async groupsByApikey(apikey: string): Promise<ConfigGroupRecord[]> {
    const rows = await this.db.query<GroupRow>(GROUPS_BY_APIKEY, [apikey]);
    return rows.map(toGroup);
  }

  async updateGroup(service: string, subservice: string, resource: string, apikey: string, body: Record<string, unknown>): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE iot_config_groups SET body = $5 WHERE service = $1 AND subservice = $2 AND resource = $3 AND apikey = $4 RETURNING 1 AS updated`,
      [service, subservice, resource, apikey, JSON.stringify(body)],
    );
    return rows.length > 0;
  }

  deleteGroup(service: string, subservice: string, resource: string, apikey: string, withDevices: boolean): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query(
        'DELETE FROM iot_config_groups WHERE service = $1 AND subservice = $2 AND resource = $3 AND apikey = $4 RETURNING 1 AS deleted',
        [service, subservice, resource, apikey],
      );
      if (rows.length > 0 && withDevices) {
        await tx.query(
          `DELETE FROM iot_devices WHERE service = $1 AND subservice = $2 AND (apikey IS NULL OR apikey = $3)`,
          [service, subservice, apikey],
        );
      }
      return rows.length > 0;
    });
  }

  createDevices(devices: DeviceRecord[]): Promise<boolean> {
    return this.insertAll(devices, (tx, d) => this.insertDevice(tx, d));
  }

  async ensureDevice(device: DeviceRecord): Promise<DeviceRecord> {
    await this.insertDevice(this.db, device);
    return (await this.getDevice(device, device.deviceId)) ?? device;
  }

  async listDevices(scope: ServiceScope, limit: number, offset: number): Promise<{ count: number; devices: DeviceRecord[] }> {
    const params: unknown[] = [];
    const where = scopeSql(scope, params);
    const [{ count }] = await this.db.query<{ count: string }>(`SELECT count(*)::text AS count FROM iot_devices WHERE ${where}`, params);
    const rows = await this.db.query<DeviceRow>(
      `SELECT ${DEVICE_COLUMNS} FROM iot_devices WHERE ${where} ORDER BY created_at, device_id LIMIT ${limit} OFFSET ${offset}`,
      params,
    );
    return { count: Number(count), devices: rows.map(toDevice) };
  }

  async getDevice(scope: ServiceScope, deviceId: string): Promise<DeviceRecord | undefined> {
    const params: unknown[] = [];
    const where = scopeSql(scope, params);
    params.push(deviceId);
    const rows = await this.db.query<DeviceRow>(
      `SELECT ${DEVICE_COLUMNS} FROM iot_devices WHERE ${where} AND device_id = $${params.length} ORDER BY created_at LIMIT 1`,
      params,
    );
    return rows[0] && toDevice(rows[0]);
  }

  async findDevice(apikey: string, deviceId: string): Promise<DeviceRecord | undefined> {
    const rows = await this.db.query<DeviceRow>(FIND_DEVICE, [apikey, deviceId]);
    return rows[0] && toDevice(rows[0]);
  }

  async deviceByEntity(service: string, entityName: string): Promise<DeviceRecord | undefined> {
    const rows = await this.db.query<DeviceRow>(
      `SELECT ${DEVICE_COLUMNS} FROM iot_devices WHERE service = $1 AND entity_name = $2 ORDER BY created_at LIMIT 1`,
      [service, entityName],
    );
    return rows[0] && toDevice(rows[0]);
  }

  async updateDevice(device: DeviceRecord): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE iot_devices SET apikey = $4, entity_name = $5, body = $6 WHERE service = $1 AND subservice = $2 AND device_id = $3 RETURNING 1 AS updated`,
      [device.service, device.subservice, device.deviceId, device.apikey ?? null, device.entityName, JSON.stringify(device.body)],
    );
    return rows.length > 0;
  }

  async deleteDevice(service: string, subservice: string, deviceId: string): Promise<boolean> {
    const rows = await this.db.query(
      'DELETE FROM iot_devices WHERE service = $1 AND subservice = $2 AND device_id = $3 RETURNING 1 AS deleted',
      [service, subservice, deviceId],
    );
    return rows.length > 0;
  }

  async queueCommand(service: string, subservice: string, deviceId: string, name: string, value: unknown): Promise<void> {
    await this.db.query(
      'INSERT INTO iot_commands (service, subservice, device_id, name, value) VALUES ($1, $2, $3, $4, $5)',
      [service, subservice, deviceId, name, JSON.stringify(value ?? null)],
    );
  }

  async takeCommands(service: string, subservice: string, deviceId: string): Promise<PendingCommand[]> {
    const rows = await this.db.query<{ id: string; name: string; value: string; created_at: string }>(
      `DELETE FROM iot_commands WHERE service = $1 AND subservice = $2 AND device_id = $3
       RETURNING id::text AS id, name, value::text AS value, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at`,
      [service, subservice, deviceId],
    );
    return rows
      .map((r) => ({ id: r.id, name: r.name, value: JSON.parse(r.value), createdAt: r.created_at }))
      .sort((a, b) => Number(a.id) - Number(b.id));
  }

  private insertDevice(db: SqlExecutor, d: DeviceRecord): Promise<unknown[]> {
    return db.query(
      `INSERT INTO iot_devices (service, subservice, device_id, apikey, entity_name, body) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT DO NOTHING RETURNING 1 AS inserted`,
      [d.service, d.subservice, d.deviceId, d.apikey ?? null, d.entityName, JSON.stringify(d.body)],
    );
  }

  /** Inserts every item in one transaction, or none when one already exists. */
  private async insertAll<T>(items: T[], insert: (tx: SqlExecutor, item: T) => Promise<unknown[]>): Promise<boolean> {
    try {
      await this.db.transaction(async (tx) => {
        for (const item of items) if ((await insert(tx, item)).length === 0) throw new Conflict();
      });
      return true;
    } catch (e) {
      if (e instanceof Conflict) return false;
      throw e;
    }
  }
}
