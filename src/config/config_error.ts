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

/**
 * A command line that tensorflow_model_server's flag parser refuses (a bad value, --help, an
 * unknown argument): the message is the whole text to print, usage included, where other
 * start-up errors print as "Failed to start server. Error: ...".
 */
export class UsageError extends ConfigError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
