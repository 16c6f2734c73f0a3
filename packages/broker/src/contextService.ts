/** The broker's @context resolution: core's ContextResolver, configured from BrokerConfig. */
import { ContextResolver, parseContextLink } from '@civitas/core';
import type { BrokerConfig } from './config';
import type { ContextService } from './deps';

export function createContextService(config: BrokerConfig): ContextService {
  const resolver = new ContextResolver({
    coreContextUrl: config.coreContextUrl,
    // Without a configured public URL the link stays relative and the response completes it from the request's Host.
    servedBaseUrl: () => config.publicUrl ?? '',
    remote: { unavailableStatus: config.contextUnavailableStatus },
  });
  return {
    resolve: (userContext) => resolver.resolve(userContext),
    parseLink: parseContextLink,
    stored: (id) => resolver.getStored(id),
  };
}
