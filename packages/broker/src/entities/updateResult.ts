/** 204 when every attribute was written, 207 with the UpdateResult otherwise (5.6.2, 5.6.3). */
import type { ServerResponse } from 'node:http';
import type { UpdateResult } from '@civitas/core';
import { sendJson, sendNoContent } from '../http/respond';

export function sendUpdateResult(res: ServerResponse, result: UpdateResult): void {
  if (result.notUpdated.length === 0) {
    sendNoContent(res);
    return;
  }
  sendJson(res, 207, result);
}
