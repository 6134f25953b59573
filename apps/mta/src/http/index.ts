/**
 * The daemon's HTTP listener (`kumo.start_http_listener{…}`): KumoMTA's inject API, liveness,
 * Prometheus metrics and the admin endpoints.
 * @packageDocumentation
 */
export { type AuthInfo, TRUSTED_GROUP } from './auth.js';
export { HTTP_ERROR_CODES, type HttpErrorCode } from './errors.js';
export type { InjectResponse } from './inject.js';
export { type InjectRequest, injectRequestSchema } from './inject-request.js';
export {
  BODY_LIMIT_TEXT,
  type HttpListener,
  type HttpListenerDeps,
  startHttpListener,
} from './listener.js';
export { HTTP_LISTENER_DEFAULTS, type HttpListenerParams } from './params.js';
