/**
 * Starting and stopping the IoT agent: the north port (provisioning API,
 * command notifications, metrics, the Smart Data Models' @contexts), the
 * HTTP southbound, the MQTT southbound, and the writer to the broker.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { DeviceRecord, ProvisioningStore } from '@civitas/store';
import type { IotAgentConfig } from './config';
import { Metrics } from './metrics';
import { ModelCatalog } from './mapping/smartDataModels';
import { DeviceRegistry } from './provisioning/registry';
import { provisioningRouter, ProvisioningHooks } from './provisioning/api';
import { errorHandler } from './provisioning/errors';
import { BatchingWriter, Log } from './northbound/batchingWriter';
import { createOrComplete, EntitySink, HttpEntitySink } from './northbound/entitySink';
import { CommandDispatcher } from './commands/commandDispatcher';
import { COMMAND_SUBSCRIPTION_PREFIX, CommandSubscriptions } from './commands/commandSubscriptions';
import { Destination, Ingest } from './southbound/ingest';
import { httpSouthbound } from './southbound/httpSouthbound';
import { LocalMqttBroker, MqttSouthbound } from './southbound/mqttSouthbound';
import { DeviceProfile, entityTypeOf } from './mapping/deviceProfile';
import { provisionedEntity } from './mapping/measuresToEntity';
import type { Device } from './provisioning/model';
import { groupOf } from './provisioning/registry';

export interface RunningIotAgent {
  northPort: number;
  httpPort: number;
  /** The north URL the broker reaches the agent on. */
  providerUrl: string;
  metrics: Metrics;
  writer: BatchingWriter;
  /** The MQTT southbound, when one is configured. */
  mqtt?: MqttSouthbound;
  close(): Promise<void>;
}

export interface IotAgentDeps {
  provisioning: ProvisioningStore;
  log?: Log;
  /** Where measures' entity updates go (default: HTTP batch upserts to `config.brokerUrl`, which provisioning and commands always use). */
  sink?: EntitySink;
  /** The MQTT broker of this process, when devices publish to it: attached to directly rather than through `config.mqttUrl`. */
  localMqtt?: LocalMqttBroker;
}

const consoleLog: Log = { info: (m) => console.log(m), error: (m) => console.error(m) };

async function listen(app: express.Express, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, () => resolve(server));
    server.once('error', reject);
  });
}

export async function startIotAgent(config: IotAgentConfig, deps: IotAgentDeps): Promise<RunningIotAgent> {
  const log = deps.log ?? consoleLog;
  const metrics = new Metrics();
  const models = new ModelCatalog();
  const registry = new DeviceRegistry(deps.provisioning, models, config.registryTtlMs);
  const north = express();
  north.disable('x-powered-by');
  const northServer = await listen(north, config.northPort, config.host);
  const northPort = (northServer.address() as AddressInfo).port;
  const providerUrl = config.providerUrl ?? `http://127.0.0.1:${northPort}`;

  const destination: Destination = {
    tenant: (p) => p.service || undefined,
    contextUrl: (p) => (p.model ? `${providerUrl}/ontologies/smart-data-models/${p.model.name}.jsonld` : undefined),
  };
  const sink = deps.sink ?? new HttpEntitySink(config.brokerUrl);
  const writer = new BatchingWriter(sink, metrics, log, config.writer);
  const subscriptions = new CommandSubscriptions(config.brokerUrl, `${providerUrl}/notify`, log);
  let mqtt: MqttSouthbound | undefined;
  const dispatcher = new CommandDispatcher(registry, writer, destination, () => mqtt, metrics, log);
  const ingest = new Ingest(registry, writer, dispatcher, destination, metrics, log, config.maxPayloadBytes);

  /**
   * Sets up a device's entity and command subscriptions; a failure is logged, not thrown. `known`: the device's
   * profile when the caller has it already (an autoprovisioned device).
   */
  const setUpDevice = async (record: DeviceRecord, known?: DeviceProfile) => {
    try {
      const profile = known ?? (await registry.profileOf(record));
      const entity = provisionedEntity(profile);
      if (entity) await createOrComplete(config.brokerUrl, destination.tenant(profile), destination.contextUrl(profile), entity);
      for (const c of (record.body as unknown as Device).commands ?? []) {
        await subscriptions.ensure(profile.service, destination.contextUrl(profile), { id: profile.entityId, type: profile.entityType }, c.name);
      }
    } catch (e) {
      log.error(`Setting up the entity of device ${record.deviceId} failed: ${(e as Error).message}`);
    }
  };
  const hooks: ProvisioningHooks = {
    devicesProvisioned: async (records) => {
      for (const r of records) await setUpDevice(r);
    },
    groupsProvisioned: async (records) => {
      for (const record of records) {
        const group = groupOf(record);
        const type = entityTypeOf(undefined, group);
        const contextUrl = group.model ? `${providerUrl}/ontologies/smart-data-models/${group.model}.jsonld` : undefined;
        for (const c of group.commands ?? []) {
          await subscriptions.ensure(record.service, contextUrl, { type }, c.name).catch((e) => log.error((e as Error).message));
        }
      }
    },
  };
  registry.onAutoprovisioned = (record, profile) => void setUpDevice(record, profile);

  north.get('/health', (_req, res) => {
    res.json({ status: 'ok', mqtt: mqtt ? (mqtt.connected ? 'connected' : 'disconnected') : 'off', buffered: metrics.buffered(), dropped: metrics.droppedTotal() });
  });
  north.get('/metrics', (_req, res) => {
    res.type('text/plain; version=0.0.4').send(metrics.toPrometheus());
  });
  north.get('/iot/about', (_req, res) => {
    res.json({ libVersion: 'civitas', port: String(northPort), baseRoot: '/', version: '0.1.0' });
  });
  north.get('/ontologies/smart-data-models/:file', (req, res) => {
    const model = models.get(req.params.file.replace(/\.jsonld$/, ''));
    if (!model) res.status(404).json({ name: 'NOT_FOUND', message: `No Smart Data Model ${req.params.file}` });
    else res.type('application/ld+json').send(JSON.stringify(model.context));
  });
  north.use(express.json({ limit: '1mb', type: ['application/json', 'application/ld+json'] }));
  north.post('/notify', (req, res) => {
    // Only notifications of the agent's own command subscriptions send commands.
    const subscriptionId = req.body?.subscriptionId;
    if (typeof subscriptionId !== 'string' || !subscriptionId.startsWith(COMMAND_SUBSCRIPTION_PREFIX)) {
      res.status(400).json({ name: 'BAD_REQUEST', message: 'Not a notification of a command subscription of this agent' });
      return;
    }
    res.status(200).end();
    const service = typeof req.query.service === 'string' ? req.query.service : '';
    for (const entity of (req.body?.data ?? []) as Array<Record<string, unknown>>) {
      for (const [name, attribute] of Object.entries(entity)) {
        if (name === 'id' || name === 'type' || name === '@context') continue;
        const value = (attribute as { value?: unknown })?.value;
        dispatcher.dispatch(service, String(entity.id), name, value).catch((e) => log.error(`Command ${name} for ${entity.id} failed: ${(e as Error).message}`));
      }
    }
  });
  north.use(provisioningRouter(registry, models, hooks));
  north.use(errorHandler(log.error));

  const southServer = await listen(httpSouthbound(ingest, dispatcher, metrics, log, config.maxPayloadBytes), config.httpPort, config.host);
  const httpPort = (southServer.address() as AddressInfo).port;
  if (deps.localMqtt) {
    mqtt = await MqttSouthbound.attach(deps.localMqtt, config.mqttQos, ingest, log);
  } else if (config.mqttUrl) {
    mqtt = await MqttSouthbound.connect(
      { url: config.mqttUrl, username: config.mqttUsername, password: config.mqttPassword, qos: config.mqttQos, sharedGroup: config.mqttSharedGroup },
      ingest,
      log,
    );
  }
  const mqttUrl = deps.localMqtt?.url ?? config.mqttUrl;
  log.info(`IoT agent: provisioning API on port ${northPort}, HTTP southbound on port ${httpPort}${mqttUrl ? `, MQTT on ${mqttUrl}` : ''}, writing to ${sink.destination}`);

  return {
    northPort,
    httpPort,
    providerUrl,
    metrics,
    writer,
    get mqtt() {
      return mqtt;
    },
    close: async () => {
      await mqtt?.close();
      await new Promise((r) => southServer.close(r));
      await writer.close();
      northServer.closeAllConnections?.();
      await new Promise((r) => northServer.close(r));
    },
  };
}
