/**
 * Commands: a command attribute updated through the NGSI-LD API reaches the
 * agent as a notification and goes to the device: published on MQTT
 * (`/{apikey}/{deviceId}/cmd`), POSTed to the device's HTTP endpoint (whose
 * answer is the result), or queued until a polling device next reports. The
 * entity's `{command}_status` (PENDING, DELIVERED, OK, ERROR) and
 * `{command}_info` (the result) follow it.
 */
import { codecNamed, json, ultraLight, type Codec } from '../codecs';
import { DropError } from '../dropReasons';
import type { DeviceProfile } from '../mapping/deviceProfile';
import type { Metrics } from '../metrics';
import type { BatchingWriter, Log } from '../northbound/batchingWriter';
import type { DeviceRegistry } from '../provisioning/registry';
import type { CommandResultHandler, Destination } from '../southbound/ingest';
import { commandTopic } from '../southbound/topics';

export type CommandStatus = 'PENDING' | 'DELIVERED' | 'OK' | 'ERROR';

export interface OutgoingCommand {
  name: string;
  value: unknown;
  /** The command as the device's codec writes it. */
  payload: string;
}

export interface PendingCommands {
  /** Takes the commands queued for the device (now DELIVERED). */
  take(profile: DeviceProfile): Promise<OutgoingCommand[]>;
}

export interface CommandPublisher {
  publish(topic: string, payload: string): Promise<void>;
}

const codecOf = (profile: DeviceProfile): Codec => (profile.protocol && codecNamed(profile.protocol)) || ultraLight;

export class CommandDispatcher implements CommandResultHandler, PendingCommands {
  constructor(
    private readonly registry: DeviceRegistry,
    private readonly writer: BatchingWriter,
    private readonly destination: Destination,
    private readonly mqtt: () => CommandPublisher | undefined,
    private readonly metrics: Metrics,
    private readonly log: Log,
    private readonly httpTimeoutMs = 10_000,
  ) {}

  /** A command attribute of `entityId` (in `service`) was set to `value`. */
  async dispatch(service: string, entityId: string, command: string, value: unknown): Promise<void> {
    const record = await this.registry.store.deviceByEntity(service, entityId);
    if (!record) {
      this.metrics.drop('unknown_device');
      this.log.error(`Command ${command} for ${entityId} dropped [unknown_device]: no device writes that entity`);
      return;
    }
    const profile = await this.registry.profileOf(record);
    if (!profile.commands.some((c) => c.name === command)) {
      this.metrics.drop('unknown_command');
      this.log.error(`Command ${command} for ${entityId} dropped [unknown_command]: the device has no such command`);
      return;
    }
    const payload = codecOf(profile).encodeCommand(profile.deviceId, command, value);
    if (profile.polling) {
      await this.registry.store.queueCommand(profile.service, profile.subservice, profile.deviceId, command, value);
      this.setStatus(profile, command, 'PENDING');
      return;
    }
    if (profile.endpoint) return this.sendHttp(profile, command, payload);
    const mqtt = this.mqtt();
    if (!mqtt) {
      this.setStatus(profile, command, 'ERROR', 'No MQTT connection to send the command on');
      return;
    }
    try {
      await mqtt.publish(commandTopic(profile.apikey, profile.deviceId), payload);
      this.metrics.commandsSent++;
      this.setStatus(profile, command, 'PENDING');
    } catch (e) {
      this.setStatus(profile, command, 'ERROR', `Publishing the command failed: ${(e as Error).message}`);
    }
  }

  async results(profile: DeviceProfile, results: Array<{ command: string; result: unknown }>): Promise<void> {
    for (const { command, result } of results) {
      if (!profile.commands.some((c) => c.name === command)) {
        throw new DropError('unknown_command', `Result for command "${command}", which device ${profile.deviceId} does not have`);
      }
      this.setStatus(profile, command, 'OK', result);
    }
  }

  async reported(profile: DeviceProfile): Promise<void> {
    if (profile.transport === 'HTTP') return; // HTTP devices collect theirs with getCmd=1
    const mqtt = this.mqtt();
    if (!mqtt) return;
    for (const c of await this.take(profile)) {
      await mqtt.publish(commandTopic(profile.apikey, profile.deviceId), c.payload);
    }
  }

  async take(profile: DeviceProfile): Promise<OutgoingCommand[]> {
    const queued = await this.registry.store.takeCommands(profile.service, profile.subservice, profile.deviceId);
    const codec = codecOf(profile);
    return queued.map((c) => {
      this.metrics.commandsSent++;
      this.setStatus(profile, c.name, 'DELIVERED');
      return { name: c.name, value: c.value, payload: codec.encodeCommand(profile.deviceId, c.name, c.value) };
    });
  }

  private async sendHttp(profile: DeviceProfile, command: string, payload: string): Promise<void> {
    const codec = codecOf(profile);
    try {
      const res = await fetch(profile.endpoint!, {
        method: 'POST',
        headers: { 'Content-Type': codec === json ? 'application/json' : 'text/plain' },
        body: payload,
        signal: AbortSignal.timeout(this.httpTimeoutMs),
      });
      const text = await res.text();
      this.metrics.commandsSent++;
      if (!res.ok) {
        this.setStatus(profile, command, 'ERROR', `The device answered ${res.status}: ${text.slice(0, 200)}`);
        return;
      }
      const results = text.trim() === '' ? [] : codec.decodeCommandResults(Buffer.from(text));
      const mine = results.find((r) => r.command === command);
      this.setStatus(profile, command, 'OK', mine ? mine.result : text);
    } catch (e) {
      this.setStatus(profile, command, 'ERROR', `Sending the command to ${profile.endpoint} failed: ${(e as Error).message}`);
    }
  }

  private setStatus(profile: DeviceProfile, command: string, status: CommandStatus, info?: unknown): void {
    const entity: Record<string, unknown> & { id: string; type: string } = {
      id: profile.entityId,
      type: profile.entityType,
      [`${command}_status`]: { type: 'Property', value: status },
    };
    if (info !== undefined) entity[`${command}_info`] = { type: 'Property', value: info ?? '' };
    this.writer.write(this.destination.tenant(profile), this.destination.contextUrl(profile), entity);
  }
}
