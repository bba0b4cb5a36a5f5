import { ServingError } from '../errors/serving_error';

/**
 * A bad flag, config file or ModelServerConfig. It is an INVALID_ARGUMENT ServingError because
 * the same checks answer HandleReloadConfigRequest, where TF-Serving replies INVALID_ARGUMENT.
 * The message is complete as it stands (file:line:column, model name, or usage text).
 */
export class ConfigError extends ServingError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
    this.name = 'ConfigError';
  }
}
