import type { ActiveContext, ContextSource } from '@civitas/core';
import type { Notifier } from '@civitas/notifier';
import type { Store } from '@civitas/store';
import type { BrokerConfig } from './config';

/** Resolves request @contexts; implemented over core's ContextResolver. */
export interface ContextService {
  resolve(userContext: ContextSource | undefined): Promise<ActiveContext>;
  /** The JSON-LD context URL of a Link header, if it has one. */
  parseLink(header: string | undefined): string | undefined;
  /** A context the broker serves itself (an inline one a response links to). */
  stored(id: string): unknown | undefined;
}

export interface Logger {
  info(message: string): void;
  error(error: unknown): void;
}

/** What the HTTP handlers need; built once at start-up. */
export interface BrokerDeps {
  store: Store;
  notifier: Notifier;
  contexts: ContextService;
  config: BrokerConfig;
  log: Logger;
  /** A path of this broker (`/...`) as a URL others can reach it on: its public URL, else the address it listens on. */
  absoluteUrl: (path: string) => string;
}
