/**
 * The FIWARE MQTT topic layouts: `/{apikey}/{deviceId}/attrs`,
 * `/{apikey}/{deviceId}/attrs/{name}`, `/{apikey}/{deviceId}/cmdexe`, each
 * also with a protocol prefix (`/ul/...`, `/json/...`) and without the
 * leading slash; commands go out on `/{apikey}/{deviceId}/cmd`.
 */
import { CODECS } from '../codecs';

export interface DeviceTopic {
  /** The codec the prefix names, if the topic has one. */
  codec?: string;
  apikey: string;
  deviceId: string;
  kind: 'attrs' | 'cmdexe';
  /** For `.../attrs/{name}`: the one measure's name. */
  attribute?: string;
}

/** What the agent subscribes to. */
export const SUBSCRIBED_TOPICS: string[] = ['', ...CODECS.map((c) => `/${c.name}`)].flatMap((prefix) =>
  [`${prefix}/+/+/attrs`, `${prefix}/+/+/attrs/+`, `${prefix}/+/+/cmdexe`].concat(prefix === '' ? ['+/+/attrs', '+/+/attrs/+', '+/+/cmdexe'] : []),
);

function unprefixed(parts: string[]): Omit<DeviceTopic, 'codec'> | undefined {
  const [apikey, deviceId, kind, attribute] = parts;
  if (!apikey || !deviceId) return undefined;
  if (parts.length === 3 && (kind === 'attrs' || kind === 'cmdexe')) return { apikey, deviceId, kind };
  if (parts.length === 4 && kind === 'attrs' && attribute) return { apikey, deviceId, kind, attribute };
  return undefined;
}

export function parseTopic(topic: string): DeviceTopic | undefined {
  const parts = topic.split('/');
  if (parts[0] === '') parts.shift();
  if (parts.length >= 4 && CODECS.some((c) => c.name === parts[0])) {
    const rest = unprefixed(parts.slice(1));
    if (rest) return { codec: parts[0], ...rest };
  }
  return unprefixed(parts);
}

export const commandTopic = (apikey: string, deviceId: string): string => `/${apikey}/${deviceId}/cmd`;
