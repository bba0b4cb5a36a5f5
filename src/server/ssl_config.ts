/**
 * --ssl_config_file (TF-Serving's SSLConfig): the key, certificate chain and client CA that
 * secure the gRPC listeners and, with --duoserve_rest_api_ssl, the REST port. TF-Serving hands
 * the PEM text to gRPC unchecked, and a key that does not fit its certificate shows only when
 * clients fail; here each field is checked at start-up, and a server asked for TLS that cannot
 * serve it refuses to start. The values are secrets: no message quotes them.
 */
import * as crypto from 'node:crypto';
import * as tls from 'node:tls';
import { ConfigError } from '../config/config_error';
import { readTextProtoFile } from '../config/text_proto_file';
import { Protos } from '../protos';

/** An SSLConfig that start-up checked: PEM text, as the file holds it. */
export interface SslConfig {
  serverKey: string;
  serverCert: string;
  /** '' when the file names none. */
  customCa: string;
  /** TF-Serving's GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY: no client without a certificate custom_ca signed. */
  clientVerify: boolean;
}

interface SslConfigMessage {
  server_key?: string;
  server_cert?: string;
  custom_ca?: string;
  client_verify?: boolean;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** Reads and checks `file`; warnings are for what serves but will fail clients (an expired certificate). */
export function readSslConfigFile(file: string, now = new Date()): { config: SslConfig; warnings: string[] } {
  // quoteText: false, so a parse error never shows a piece of a key.
  const message = readTextProtoFile(Protos.SSLConfig, file, { quoteText: false }) as SslConfigMessage;
  const config: SslConfig = {
    serverKey: message.server_key ?? '',
    serverCert: message.server_cert ?? '',
    customCa: message.custom_ca ?? '',
    clientVerify: message.client_verify ?? false,
  };
  const refuse = (why: string) => new ConfigError(`--ssl_config_file ${file}: ${why}`);
  for (const [field, value, required] of [
    ['server_key', config.serverKey, true],
    ['server_cert', config.serverCert, true],
    ['custom_ca', config.customCa, false],
  ] as const) {
    if (value === '' && required) throw refuse(`${field} is empty`);
    if (value !== '' && !value.includes('-----BEGIN ')) {
      throw refuse(`${field} holds no PEM text (the field takes the PEM itself, not a file name)`);
    }
  }
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(config.serverKey);
  } catch {
    throw refuse(
      'server_key is not a PEM private key (an encrypted key is not supported: its passphrase has no field)',
    );
  }
  let certificate: crypto.X509Certificate;
  try {
    certificate = new crypto.X509Certificate(config.serverCert);
  } catch {
    throw refuse('server_cert is not a PEM certificate');
  }
  if (!certificate.checkPrivateKey(key)) {
    throw refuse("server_key does not match server_cert (the certificate's public key is another key's)");
  }
  if (config.clientVerify && config.customCa === '') {
    // TF-Serving starts, and its gRPC, with no CA to check against, refuses every client; grpc-js
    // and Node's HTTPS would check against the public web CAs instead. Neither is what was meant.
    throw refuse('client_verify is true but custom_ca is empty: name the CA that signs the client certificates');
  }
  if (config.customCa !== '') {
    const authorities = config.customCa.match(PEM_CERTIFICATE) ?? [];
    if (authorities.length === 0) throw refuse('custom_ca holds no PEM certificate');
    authorities.forEach((pem, i) => {
      try {
        new crypto.X509Certificate(pem);
      } catch {
        throw refuse(`custom_ca's certificate ${i + 1} of ${authorities.length} does not parse`);
      }
    });
  }
  try {
    // What OpenSSL itself refuses (a key too small, a digest too weak): its reason names no content.
    tls.createSecureContext(secureContextOptions(config));
  } catch (error) {
    throw refuse(`OpenSSL refuses the key or certificates: ${String((error as Error).message).slice(0, 120)}`);
  }
  const warnings =
    Date.parse(certificate.validTo) < now.getTime()
      ? [`--ssl_config_file ${file}: server_cert expired on ${certificate.validTo}: clients will refuse the handshake`]
      : [];
  return { config, warnings };
}

/** Node's TLS options for `config`: the client certificate is required and verified when clientVerify. */
export function secureContextOptions(config: SslConfig): tls.SecureContextOptions & tls.TlsOptions {
  return {
    key: config.serverKey,
    cert: config.serverCert,
    ...(config.customCa !== '' && { ca: config.customCa }),
    requestCert: config.clientVerify,
    rejectUnauthorized: config.clientVerify,
  };
}

/** Said in the start-up lines of a secure port ('' for a plaintext one, whose lines are TF-Serving's). */
export function tlsNote(config: SslConfig | undefined): string {
  if (!config) return '';
  return config.clientVerify ? ' (TLS, client certificates required)' : ' (TLS)';
}
