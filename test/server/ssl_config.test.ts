/**
 * readSslConfigFile on certificates openssl makes for the run: a good SSLConfig is read as it
 * stands, and each bad one is refused with a message that names the field and quotes no PEM.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { ConfigError } from '../../src/config/config_error';
import { ServingError } from '../../src/errors/serving_error';
import { readSslConfigFile, tlsNote } from '../../src/server/ssl_config';
import { REPO_ROOT } from './lifecycle_helpers';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'duoserve-tls-'));
const pem = (name: string) => fs.readFileSync(path.join(dir, name), 'utf8');

/** A text-format string literal: PEM's newlines escaped, as the file must hold them. */
const quoted = (text: string) => JSON.stringify(text);

let files = 0;
function configFile(text: string): string {
  const file = path.join(dir, `ssl${files++}.config`);
  fs.writeFileSync(file, text);
  return file;
}

function sslConfig(fields: { key?: string; cert?: string; ca?: string; verify?: boolean }): string {
  return configFile(
    [
      fields.key !== undefined && `server_key: ${quoted(fields.key)}`,
      fields.cert !== undefined && `server_cert: ${quoted(fields.cert)}`,
      fields.ca !== undefined && `custom_ca: ${quoted(fields.ca)}`,
      fields.verify !== undefined && `client_verify: ${fields.verify}`,
    ]
      .filter(Boolean)
      .join('\n'),
  );
}

/** The refusal's message, checked to be a ConfigError that quotes no PEM. */
function refusal(file: string): string {
  try {
    readSslConfigFile(file);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    assert.doesNotMatch(error.message, /BEGIN|END|MII/);
    assert.ok(error.message.length < 300, error.message);
    return error.message;
  }
  assert.fail(`${file} was accepted`);
}

describe('readSslConfigFile', () => {
  before(() => execFileSync('bash', [path.join(REPO_ROOT, 'test', 'fixtures', 'make_tls_certificates.sh'), dir]));

  test('reads the PEM text of each field, as TF-Serving does', () => {
    const file = sslConfig({ key: pem('server.key'), cert: pem('server.pem'), ca: pem('ca.pem'), verify: true });
    const { config, warnings } = readSslConfigFile(file);
    assert.deepEqual(config, {
      serverKey: pem('server.key'),
      serverCert: pem('server.pem'),
      customCa: pem('ca.pem'),
      clientVerify: true,
    });
    assert.deepEqual(warnings, []);
    assert.equal(tlsNote(config), ' (TLS, client certificates required)');
    const plain = readSslConfigFile(sslConfig({ key: pem('server.key'), cert: pem('server.pem') })).config;
    assert.deepEqual(
      [plain.customCa, plain.clientVerify, tlsNote(plain), tlsNote(undefined)],
      ['', false, ' (TLS)', ''],
    );
  });

  test('a CA bundle of several certificates is taken whole', () => {
    const ca = pem('ca.pem') + pem('other_ca.pem');
    const file = sslConfig({ key: pem('server.key'), cert: pem('server.pem'), ca, verify: true });
    assert.equal(readSslConfigFile(file).config.customCa, ca);
  });

  test('a file that cannot be read is NOT_FOUND, in TensorFlow I/O words', () => {
    const missing = path.join(dir, 'missing.config');
    assert.throws(
      () => readSslConfigFile(missing),
      (error) =>
        error instanceof ServingError &&
        error.code === 'NOT_FOUND' &&
        error.message === `${missing}; No such file or directory`,
    );
  });

  test('PEM with raw line breaks does not parse (as in TF-Serving), and the error quotes none of it', () => {
    const message = refusal(configFile(`server_key: "${pem('server.key')}"\n`));
    assert.match(
      message,
      /^Invalid protobuf file: '.*': Error parsing text-format tensorflow.serving.SSLConfig: 1:13: /,
    );
  });

  test('each bad field is refused by name', () => {
    const key = pem('server.key');
    const cert = pem('server.pem');
    const cases: Array<[Parameters<typeof sslConfig>[0], RegExp]> = [
      [{ cert }, /: server_key is empty$/],
      [
        { key: '/etc/ssl/server.key', cert },
        /: server_key holds no PEM text \(the field takes the PEM itself, not a file name\)$/,
      ],
      [{ key: cert, cert }, /: server_key is not a PEM private key/],
      [{ key }, /: server_cert is empty$/],
      [{ key, cert: 'server.pem' }, /: server_cert holds no PEM text/],
      [{ key, cert: key }, /: server_cert is not a PEM certificate$/],
      [{ key: pem('client.key'), cert }, /: server_key does not match server_cert/],
      [{ key, cert, verify: true }, /: client_verify is true but custom_ca is empty/],
      [{ key, cert, ca: 'ca.pem' }, /: custom_ca holds no PEM text/],
      [{ key, cert, ca: key }, /: custom_ca holds no PEM certificate$/],
      [
        { key, cert, ca: pem('ca.pem') + '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' },
        /: custom_ca's certificate 2 of 2 does not parse$/,
      ],
    ];
    for (const [fields, expected] of cases) {
      const file = sslConfig(fields);
      const message = refusal(file);
      assert.ok(message.startsWith(`--ssl_config_file ${file}: `), message);
      assert.match(message, expected);
    }
  });

  test('an expired server certificate is served, with a warning', () => {
    const file = sslConfig({ key: pem('server.key'), cert: pem('server.pem') });
    const { warnings } = readSslConfigFile(file, new Date(Date.now() + 3 * 86_400_000));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /: server_cert expired on .* GMT: clients will refuse the handshake$/);
  });
});
