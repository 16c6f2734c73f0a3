export * from './activeContext';
export { ContextResolver, type ContextResolverOptions } from './contextResolver';
export { coreContextDocument, isCoreContextUrl, DEFAULT_CORE_CONTEXT } from './coreContexts';
export { parseContextLink, formatContextLink, CONTEXT_REL } from './link';
export { TermContext } from './termContext';
