/**
 * The HTTP southbound on FIWARE's paths: UltraLight on `/iot/d`
 * (`POST` with the payload as body, or `GET` with it in `d`), JSON on
 * `/iot/json`, JSON command results on `/iot/json/commands`; `k` is the API
 * key, `i` the device id, `t` an optional observation time, and `getCmd=1`
 * asks for the commands waiting for the device, which the answer carries.
 */
import express, { Request, Response } from 'express';
import type { DropError, DropReason } from '../dropReasons';
import { parseTimestamp } from '../codecs';
import type { Ingest } from './ingest';
import type { PendingCommands } from '../commands/commandDispatcher';
import type { Metrics } from '../metrics';
import type { Log } from '../northbound/batchingWriter';

const STATUS: Partial<Record<DropReason, number>> = {
  unknown_apikey: 404,
  unknown_device: 404,
  payload_too_large: 413,
  internal_error: 500,
};

function fail(res: Response, error: DropError): void {
  res.status(STATUS[error.reason] ?? 400).json({ name: error.reason.toUpperCase(), message: error.message });
}

export function httpSouthbound(ingest: Ingest, pending: PendingCommands, metrics: Metrics, log: Log, maxPayloadBytes: number): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // Bodies are read raw: the codec parses them, and a malformed one is a dropped message, not a framework error.
  // Bodies up to a few times the limit reach the ingest, which refuses and counts them; larger ones stop here.
  app.use(express.raw({ type: () => true, limit: maxPayloadBytes * 4 }));

  const receive = (codec: 'ul' | 'json', resource: string, kind: 'attrs' | 'cmdexe') => async (req: Request, res: Response) => {
    const apikey = req.query.k;
    const deviceId = req.query.i;
    if (typeof apikey !== 'string' || typeof deviceId !== 'string' || apikey === '' || deviceId === '') {
      res.status(400).json({ name: 'MANDATORY_PARAMS_NOT_FOUND_HTTP', message: 'Mandatory parameters not found: k (API key) and i (device id)' });
      return;
    }
    let observedAt: string | undefined;
    if (typeof req.query.t === 'string') {
      observedAt = parseTimestamp(req.query.t);
      if (!observedAt) {
        res.status(400).json({ name: 'BAD_TIMESTAMP', message: `t must be an ISO 8601 date-time, got ${JSON.stringify(req.query.t)}` });
        return;
      }
    }
    const payload = req.method === 'GET' ? Buffer.from(typeof req.query.d === 'string' ? req.query.d : '') : Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    // An UltraLight body of `device@command|result` answers a command.
    const isResult = kind === 'cmdexe' || (codec === 'ul' && /^[^|#]*[^\\]@/.test(payload.toString('utf8', 0, 256)));
    const outcome = await ingest.handle({ apikey, deviceId, codec, resource, kind: isResult ? 'cmdexe' : 'attrs', payload, observedAt, transport: 'HTTP' });
    if (outcome instanceof Error) return fail(res, outcome);
    if (req.query.getCmd === '1') {
      const commands = await pending.take(outcome);
      if (codec === 'json') res.status(200).json(Object.fromEntries(commands.map((c) => [c.name, c.value])));
      else res.status(200).type('text/plain').send(commands.map((c) => c.payload).join('#'));
      return;
    }
    res.status(200).end();
  };

  const wrap = (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: (e: unknown) => void) => {
    fn(req, res).catch(next);
  };
  app.get('/iot/d', wrap(receive('ul', '/iot/d', 'attrs')));
  app.post('/iot/d', wrap(receive('ul', '/iot/d', 'attrs')));
  app.post('/iot/json', wrap(receive('json', '/iot/json', 'attrs')));
  app.post('/iot/json/commands', wrap(receive('json', '/iot/json', 'cmdexe')));
  app.use((err: { type?: string; message?: string }, _req: Request, res: Response, _next: (e: unknown) => void) => {
    if (err.type === 'entity.too.large') {
      metrics.drop('payload_too_large');
      log.error(`HTTP message dropped [payload_too_large]: the body is over ${maxPayloadBytes * 4} bytes`);
      res.status(413).json({ name: 'PAYLOAD_TOO_LARGE', message: `The body is over the limit of ${maxPayloadBytes} bytes` });
    } else res.status(500).json({ name: 'SERVER_ERROR', message: err.message ?? 'internal error' });
  });
  return app;
}
