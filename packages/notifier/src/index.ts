export { Notifier, DEFAULT_NOTIFIER_CONFIG, type NotifierConfig, type NotifierDeps, type NotifierStats } from './notifier';
export { WebSocketHub } from './transports/webSocketHub';
export { startEmbeddedMqttBroker, type EmbeddedMqttBroker } from './embeddedMqttBroker';
