export { startIotAgent, type RunningIotAgent, type IotAgentDeps } from './agent';
export { iotAgentConfigFromEnv, type IotAgentConfig } from './config';
export * from './codecs';
export { ModelCatalog, type SmartDataModel } from './mapping/smartDataModels';
export { measuresToEntity, type EntityFragment } from './mapping/measuresToEntity';
export { deviceProfile, type DeviceProfile } from './mapping/deviceProfile';
export { InProcessEntitySink, type EntitySink, type InProcessUpsert, type UpsertOutcome } from './northbound/entitySink';
export { Metrics } from './metrics';
export type * from './provisioning/model';
