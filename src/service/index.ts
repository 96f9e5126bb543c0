// The service's public face: the client library, hook hosts, and the service itself (for embedding).
export { ServiceClient, ServiceUnavailableError, type ClientOptions } from './client.js';
export { connectHookHost, xdpSocketAttachPoint, type ConnectedHookHost, type HookHostOptions } from './host-client.js';
export { HookHost, type AttachPointProvider, type HostLink } from './hook-host.js';
export { Service, type ServiceOptions } from './service.js';
export { defaultEndpoint, defaultStateDir, locations, type Locations } from './endpoint.js';
export { verifyInProcess, type VerifyRequest, type VerifyVerdict, type VerifierLimits, type VerifierFailure } from './verifier-process.js';
export {
  PROTOCOL_VERSION, MAX_FRAME, ERROR_CODES, ServiceError, clientOps, hostOps,
  type ErrorCode, type ClientOp, type ClientArgs, type HostOp, type AttachPoint, type ProgramInfo, type MapInfo, type LinkInfo, type PinInfo, type RunResult,
} from './protocol.js';
