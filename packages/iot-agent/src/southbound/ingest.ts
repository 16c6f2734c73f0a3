/**
 * What every southbound transport does with a device message: find the
 * device, decode the payload, map each measure group to an entity update and
 * queue it for the broker; command results go to the command handler. A
 * message that cannot be used is dropped with its reason logged and counted,
 * and the error is returned so that a transport with a reply channel (HTTP)
 * can answer with it.
 */
import { withMembers } from '@civitas/core';
import { Codec, codecNamed, json, PayloadError, ultraLight } from '../codecs';
import { DropError } from '../dropReasons';
import type { DeviceProfile } from '../mapping/deviceProfile';
import { measuresToEntity } from '../mapping/measuresToEntity';
import type { Metrics } from '../metrics';
import type { BatchingWriter, Log } from '../northbound/batchingWriter';
import type { DeviceRegistry } from '../provisioning/registry';

export interface DeviceMessage {
  apikey: string;
  deviceId: string;
  /** The codec the transport's path or topic names, if any. */
  codec?: string;
  /** The FIWARE resource the message came on (HTTP), to choose among groups sharing an API key. */
  resource?: string;
  kind: 'attrs' | 'cmdexe';
  attribute?: string;
  payload: Buffer;
  /** Observation time given outside the payload (HTTP `t`). */
  observedAt?: string;
  transport: 'MQTT' | 'HTTP';
}

export interface CommandResultHandler {
  results(profile: DeviceProfile, results: Array<{ command: string; result: unknown }>): Promise<void>;
  /** The device reported: commands waiting for it can go now. */
  reported(profile: DeviceProfile): Promise<void>;
}

/** Where an entity update is written: the tenant and the @context it is written with. */
export interface Destination {
  tenant(profile: DeviceProfile): string | undefined;
  contextUrl(profile: DeviceProfile): string | undefined;
}

export class Ingest {
  constructor(
    private readonly registry: DeviceRegistry,
    private readonly writer: BatchingWriter,
    private readonly commands: CommandResultHandler,
    private readonly destination: Destination,
    private readonly metrics: Metrics,
    private readonly log: Log,
    private readonly maxPayloadBytes: number,
  ) {}

  /** Handles one message; resolves with the profile of its device, or the DropError it was dropped with. */
  async handle(message: DeviceMessage): Promise<DeviceProfile | DropError> {
    this.metrics.messagesReceived++;
    try {
      if (message.payload.length > this.maxPayloadBytes) {
        throw new DropError('payload_too_large', `Payload of ${message.payload.length} bytes is over the limit of ${this.maxPayloadBytes}`);
      }
      const profile = await this.registry.lookup(message.apikey, message.deviceId, message.resource);
      const codec = this.codecFor(message, profile);
      if (message.kind === 'cmdexe') {
        const results = this.decode(() => codec.decodeCommandResults(message.payload));
        this.metrics.commandResults += results.length;
        await this.commands.results(profile, results);
        return profile;
      }
      const groups = this.decode(() =>
        message.attribute !== undefined ? [codec.decodeSingle(message.attribute, message.payload)] : codec.decodeMeasures(message.payload),
      );
      const receivedAt = new Date().toISOString();
      const entities = groups.map((g) => {
        this.metrics.measuresReceived++;
        return measuresToEntity(profile, withMembers(g, { observedAt: g.observedAt ?? message.observedAt }), receivedAt);
      });
      const tenant = this.destination.tenant(profile);
      const contextUrl = this.destination.contextUrl(profile);
      for (const entity of entities) this.writer.write(tenant, contextUrl, entity);
      if (profile.polling) await this.commands.reported(profile);
      return profile;
    } catch (caught) {
      // Anything else (the provisioning store away, say) still loses this message: it is logged and counted too.
      const e = caught instanceof DropError ? caught : new DropError('internal_error', (caught as Error).stack ?? String(caught));
      this.metrics.drop(e.reason);
      this.log.error(`Message from device "${message.deviceId}" (API key "${message.apikey}", ${message.transport}) dropped [${e.reason}]: ${e.message}`);
      return e;
    }
  }

  private decode<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof PayloadError) throw new DropError('invalid_payload', e.message);
      throw e;
    }
  }

  /** The topic's or path's codec, else the device's protocol, else what the payload looks like. */
  private codecFor(message: DeviceMessage, profile: DeviceProfile): Codec {
    const named = (message.codec && codecNamed(message.codec)) || (profile.protocol && codecNamed(profile.protocol));
    if (named) return named;
    const first = message.payload.toString('utf8', 0, Math.min(message.payload.length, 64)).trimStart()[0];
    return first === '{' || first === '[' ? json : ultraLight;
  }
}
