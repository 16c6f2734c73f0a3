/**
 * Why a message or a measure was dropped. Every drop is logged with its
 * reason and counted under it (the metrics endpoint shows the counters).
 */
export type DropReason =
  | 'invalid_payload'
  | 'payload_too_large'
  | 'unknown_apikey'
  | 'unknown_device'
  | 'invalid_value'
  | 'expression_failed'
  | 'schema_violation'
  | 'no_attributes'
  | 'buffer_overflow'
  /** Still waiting for the broker when the agent stopped. */
  | 'shutdown'
  | 'rejected_by_broker'
  | 'unknown_command'
  | 'internal_error';

/** A message that cannot become an entity update, with the reason it is dropped under. */
export class DropError extends Error {
  constructor(
    readonly reason: DropReason,
    message: string,
  ) {
    super(message);
    this.name = 'DropError';
  }
}
