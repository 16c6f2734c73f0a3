/**
 * RegistrationStore on SQL: the same statements on PostgreSQL and on PGlite.
 * A registration past its expiresAt is gone (5.9.2.4): reads never see it,
 * and queries remove such rows as they pass.
 */
import { DeliveryStatus, Registration, registrationAttributes, Subscription } from '@civitas/core';
import type { SqlDriver } from './driver';
import { compileGeo } from './geoSql';
import { compileQ, SqlParams } from './qSql';
import type { RegistrationFilters, RegistrationStore, SubscriptionForward } from './registrations';

const LIVE = '(expires_at IS NULL OR expires_at > now())';

const parsed = (body: Registration | string): Registration => (typeof body === 'string' ? JSON.parse(body) : body);
const live = (registrations: Registration[]): Registration[] => registrations.filter((r) => !r.expiresAt || Date.parse(r.expiresAt) > Date.now());

const FORWARD_COLUMNS = 'tenant, subscription_id, registration_id, remote_url, remote_tenant, token, in_step';
interface ForwardRow {
  tenant: string;
  subscription_id: string;
  registration_id: string;
  remote_url: string;
  remote_tenant: string | null;
  token: string;
  in_step: boolean;
}
const toForward = (r: ForwardRow): SubscriptionForward => ({
  tenant: r.tenant,
  subscriptionId: r.subscription_id,
  registrationId: r.registration_id,
  remoteUrl: r.remote_url,
  ...(r.remote_tenant !== null ? { remoteTenant: r.remote_tenant } : {}),
  token: r.token,
  inStep: r.in_step,
});

/** How long a tenant's registrations are reused for distributed operations. */
const CACHE_MS = 1_000;

export class SqlRegistrationStore implements RegistrationStore {
  private readonly cache = new Map<string, { at: number; registrations: Promise<Registration[]> }>();

  constructor(private readonly db: SqlDriver) {}

  liveRegistrations(tenant: string): Promise<Registration[]> {
    const cached = this.cache.get(tenant);
    if (!cached || Date.now() - cached.at > CACHE_MS) {
      const registrations = this.db
        .query<{ body: Registration | string }>(`SELECT body FROM csource_registrations WHERE tenant = $1 ORDER BY created_at, id`, [tenant])
        .then((rows) => rows.map((r) => parsed(r.body)));
      registrations.catch(() => this.cache.delete(tenant));
      this.cache.set(tenant, { at: Date.now(), registrations });
      return registrations.then(live);
    }
    return cached.registrations.then(live);
  }

  async createRegistration(tenant: string, r: Registration): Promise<boolean> {
    return this.changing(tenant, () => this.db.transaction(async (tx) => {
      await tx.query('INSERT INTO tenants (name) VALUES ($1) ON CONFLICT DO NOTHING', [tenant]);
      // An expired registration of the same id is gone, so its id is free again.
      await tx.query(`DELETE FROM csource_registrations WHERE tenant = $1 AND id = $2 AND NOT ${LIVE}`, [tenant, r.id]);
      const rows = await tx.query(
        `INSERT INTO csource_registrations (tenant, id, body, attrs, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (tenant, id) DO NOTHING RETURNING 1`,
        [tenant, r.id, JSON.stringify(r), JSON.stringify(registrationAttributes(r)), r.expiresAt ?? null, r.createdAt],
      );
      return rows.length > 0;
    }));
  }

  async getRegistration(tenant: string, id: string): Promise<Registration | undefined> {
    const rows = await this.db.query<{ body: Registration | string }>(`SELECT body FROM csource_registrations WHERE tenant = $1 AND id = $2 AND ${LIVE}`, [tenant, id]);
    return rows[0] ? parsed(rows[0].body) : undefined;
  }

  async queryRegistrations(tenant: string, filters: RegistrationFilters = {}): Promise<Registration[]> {
    await this.db.query(`DELETE FROM csource_registrations WHERE tenant = $1 AND NOT ${LIVE}`, [tenant]);
    const sql = new SqlParams();
    const where = [`tenant = ${sql.add(tenant)}`];
    if (filters.geo) where.push(compileGeo(filters.geo, sql, undefined));
    if (filters.csf) where.push(compileQ(filters.csf.expression, filters.csf.expand, sql, undefined, undefined));
    const rows = await this.db.query<{ body: Registration | string }>(`SELECT body FROM csource_registrations WHERE ${where.join(' AND ')} ORDER BY created_at, id`, sql.values);
    return rows.map((r) => parsed(r.body));
  }

  async updateRegistration(tenant: string, id: string, change: (current: Registration) => Registration): Promise<Registration | undefined> {
    return this.changing(tenant, () => this.db.transaction(async (tx) => {
      const rows = await tx.query<{ body: Registration | string }>(`SELECT body FROM csource_registrations WHERE tenant = $1 AND id = $2 AND ${LIVE} FOR UPDATE`, [tenant, id]);
      if (!rows[0]) return undefined;
      const next = change(parsed(rows[0].body));
      await tx.query('UPDATE csource_registrations SET body = $3, attrs = $4, expires_at = $5 WHERE tenant = $1 AND id = $2', [
        tenant,
        id,
        JSON.stringify(next),
        JSON.stringify(registrationAttributes(next)),
        next.expiresAt ?? null,
      ]);
      return next;
    }));
  }

  async deleteRegistration(tenant: string, id: string): Promise<boolean> {
    const rows = await this.changing(tenant, () => this.db.query(`DELETE FROM csource_registrations WHERE tenant = $1 AND id = $2 AND ${LIVE} RETURNING 1`, [tenant, id]));
    return rows.length > 0;
  }

  /** A write, after which this process reads the tenant's registrations afresh. */
  private async changing<T>(tenant: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } finally {
      this.cache.delete(tenant);
    }
  }

  async createRegistrationSubscription(tenant: string, subscription: Subscription): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      await tx.query('INSERT INTO tenants (name) VALUES ($1) ON CONFLICT DO NOTHING', [tenant]);
      const rows = await tx.query('INSERT INTO csource_subscriptions (tenant, id, body) VALUES ($1, $2, $3) ON CONFLICT (tenant, id) DO NOTHING RETURNING 1', [
        tenant,
        subscription.id,
        JSON.stringify(subscription),
      ]);
      return rows.length > 0;
    });
  }

  async getRegistrationSubscription(tenant: string, id: string): Promise<{ subscription: Subscription; delivery: DeliveryStatus } | undefined> {
    const rows = await this.db.query<SubscriptionRow>('SELECT body, delivery FROM csource_subscriptions WHERE tenant = $1 AND id = $2', [tenant, id]);
    return rows[0] ? subscriptionOf(rows[0]) : undefined;
  }

  async listRegistrationSubscriptions(tenant: string, limit: number, offset: number): Promise<{ items: Array<{ subscription: Subscription; delivery: DeliveryStatus }>; count: number }> {
    const [rows, count] = await Promise.all([
      this.db.query<SubscriptionRow>(`SELECT body, delivery FROM csource_subscriptions WHERE tenant = $1 ORDER BY created_at, id LIMIT ${Number(limit)} OFFSET ${Number(offset)}`, [tenant]),
      this.db.query<{ n: string }>('SELECT count(*) AS n FROM csource_subscriptions WHERE tenant = $1', [tenant]),
    ]);
    return { items: rows.map(subscriptionOf), count: Number(count[0].n) };
  }

  async updateRegistrationSubscription(tenant: string, id: string, change: (current: Subscription) => Subscription): Promise<Subscription | undefined> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<SubscriptionRow>('SELECT body, delivery FROM csource_subscriptions WHERE tenant = $1 AND id = $2 FOR UPDATE', [tenant, id]);
      if (!rows[0]) return undefined;
      const next = change(subscriptionOf(rows[0]).subscription);
      await tx.query('UPDATE csource_subscriptions SET body = $3 WHERE tenant = $1 AND id = $2', [tenant, id, JSON.stringify(next)]);
      return next;
    });
  }

  async deleteRegistrationSubscription(tenant: string, id: string): Promise<boolean> {
    const rows = await this.db.query('DELETE FROM csource_subscriptions WHERE tenant = $1 AND id = $2 RETURNING 1', [tenant, id]);
    return rows.length > 0;
  }

  async recordRegistrationNotification(tenant: string, id: string, ok: boolean, at: string): Promise<void> {
    // One statement, so that concurrent attempts count each other.
    await this.db.query(
      `UPDATE csource_subscriptions SET delivery = delivery || jsonb_build_object(
         'timesSent', (delivery ->> 'timesSent')::int + 1,
         'timesFailed', (delivery ->> 'timesFailed')::int + CASE WHEN $3 THEN 0 ELSE 1 END,
         'lastNotification', $4::text,
         CASE WHEN $3 THEN 'lastSuccess' ELSE 'lastFailure' END, $4::text,
         'status', CASE WHEN $3 THEN 'ok' ELSE 'failed' END)
       WHERE tenant = $1 AND id = $2`,
      [tenant, id, ok, at],
    );
  }

  async forwardsOf(tenant: string, subscriptionId: string): Promise<SubscriptionForward[]> {
    const rows = await this.db.query<ForwardRow>(`SELECT ${FORWARD_COLUMNS} FROM subscription_forwards WHERE tenant = $1 AND subscription_id = $2`, [tenant, subscriptionId]);
    return rows.map(toForward);
  }

  async forwardedSubscriptions(): Promise<Array<{ tenant: string; subscriptionId: string }>> {
    const rows = await this.db.query<{ tenant: string; subscription_id: string }>('SELECT DISTINCT tenant, subscription_id FROM subscription_forwards');
    return rows.map((r) => ({ tenant: r.tenant, subscriptionId: r.subscription_id }));
  }

  async subscriptionsForwardedBy(tenant: string, registrationId: string): Promise<string[]> {
    const rows = await this.db.query<{ subscription_id: string }>('SELECT subscription_id FROM subscription_forwards WHERE tenant = $1 AND registration_id = $2', [tenant, registrationId]);
    return rows.map((r) => r.subscription_id);
  }

  async forwardByToken(token: string): Promise<SubscriptionForward | undefined> {
    const [row] = await this.db.query<ForwardRow>(`SELECT ${FORWARD_COLUMNS} FROM subscription_forwards WHERE token = $1`, [token]);
    return row ? toForward(row) : undefined;
  }

  async claimForward(f: SubscriptionForward): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO subscription_forwards (${FORWARD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, false)
       ON CONFLICT (tenant, subscription_id, registration_id) DO NOTHING RETURNING token`,
      [f.tenant, f.subscriptionId, f.registrationId, f.remoteUrl, f.remoteTenant ?? null, f.token],
    );
    return rows.length === 1;
  }

  async markInStep(f: SubscriptionForward, inStep: boolean): Promise<boolean> {
    const rows = await this.db.query(
      'UPDATE subscription_forwards SET in_step = $4 WHERE tenant = $1 AND subscription_id = $2 AND registration_id = $3 RETURNING token',
      [f.tenant, f.subscriptionId, f.registrationId, inStep],
    );
    return rows.length === 1;
  }

  async dropForward(tenant: string, subscriptionId: string, registrationId: string): Promise<void> {
    await this.db.query('DELETE FROM subscription_forwards WHERE tenant = $1 AND subscription_id = $2 AND registration_id = $3', [tenant, subscriptionId, registrationId]);
  }
}

interface SubscriptionRow {
  body: Subscription | string;
  delivery: DeliveryStatus | string;
}

function subscriptionOf(row: SubscriptionRow): { subscription: Subscription; delivery: DeliveryStatus } {
  return {
    subscription: typeof row.body === 'string' ? JSON.parse(row.body) : row.body,
    delivery: typeof row.delivery === 'string' ? JSON.parse(row.delivery) : row.delivery,
  };
}
