/**
 * The agent's counters, shown on the metrics endpoint in the Prometheus text
 * format: what came in, what was written, and every drop by reason.
 */
import type { DropReason } from './dropReasons';

export class Metrics {
  messagesReceived = 0;
  measuresReceived = 0;
  entitiesWritten = 0;
  writeRequests = 0;
  writeRetries = 0;
  commandsSent = 0;
  commandResults = 0;
  readonly dropped = new Map<DropReason, number>();
  /** Updates waiting to be written, read when the metrics are shown. */
  buffered: () => number = () => 0;

  drop(reason: DropReason, count = 1): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + count);
  }

  droppedTotal(): number {
    let n = 0;
    for (const v of this.dropped.values()) n += v;
    return n;
  }

  toPrometheus(): string {
    const lines = [
      counter('civitas_iota_messages_received_total', 'Device messages received', this.messagesReceived),
      counter('civitas_iota_measures_received_total', 'Measure groups decoded', this.measuresReceived),
      counter('civitas_iota_entities_written_total', 'Entity updates the broker accepted', this.entitiesWritten),
      counter('civitas_iota_write_requests_total', 'Batch upserts sent to the broker', this.writeRequests),
      counter('civitas_iota_write_retries_total', 'Batch upserts sent again after a failure', this.writeRetries),
      counter('civitas_iota_commands_sent_total', 'Commands sent to devices', this.commandsSent),
      counter('civitas_iota_command_results_total', 'Command results received from devices', this.commandResults),
      '# HELP civitas_iota_dropped_total Messages or updates dropped, by reason',
      '# TYPE civitas_iota_dropped_total counter',
      ...[...this.dropped].map(([reason, n]) => `civitas_iota_dropped_total{reason="${reason}"} ${n}`),
      '# HELP civitas_iota_buffered_updates Entity updates waiting to be written',
      '# TYPE civitas_iota_buffered_updates gauge',
      `civitas_iota_buffered_updates ${this.buffered()}`,
    ];
    return `${lines.join('\n')}\n`;
  }
}

const counter = (name: string, help: string, value: number) => `# HELP ${name} ${help}\n# TYPE ${name} counter\n${name} ${value}`;
