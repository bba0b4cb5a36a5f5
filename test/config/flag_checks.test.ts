/** checkServerFlags on duoserve's operational flags: values it refuses before anything starts. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../src/config/config_error';
import { checkServerFlags } from '../../src/config/flag_checks';
import { parseFlags } from '../../src/config/flags';

const check = (argv: string[]) => checkServerFlags(parseFlags(['--model_base_path=/m', ...argv]).flags);

function refusal(argv: string[]): string {
  try {
    check(argv);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.message;
  }
  assert.fail(`${argv.join(' ')} was accepted`);
}

describe('checkServerFlags: operations', () => {
  test('the defaults pass: TF-Serving listens on 0.0.0.0 and takes reloads from anyone', () => {
    assert.deepEqual(check([]), []);
    assert.deepEqual(check(['--duoserve_reload_config_rpc=off', '--duoserve_grpc_listen_address=::1']), []);
    assert.deepEqual(check(['--duoserve_reload_config_rpc=socket_only', '--grpc_socket_path=/tmp/s']), []);
  });

  test('refused values name the flag', () => {
    assert.equal(
      refusal(['--duoserve_reload_config_rpc=tcp']),
      '--duoserve_reload_config_rpc must be one of all, socket_only, off; got tcp',
    );
    assert.equal(
      refusal(['--duoserve_reload_config_rpc=socket_only']),
      '--duoserve_reload_config_rpc=socket_only needs --grpc_socket_path (the socket it is served on)',
    );
    assert.equal(
      refusal(['--duoserve_shutdown_grace_period_seconds=-1']),
      '--duoserve_shutdown_grace_period_seconds must be 0 or more; got -1',
    );
    assert.equal(
      refusal(['--duoserve_max_queued_requests_per_model=-1']),
      '--duoserve_max_queued_requests_per_model must be 0 (unbounded) or more; got -1',
    );
    assert.deepEqual(check(['--duoserve_max_queued_requests_per_model=0']), []);
    assert.match(
      refusal(['--duoserve_rest_max_body_bytes=0']),
      /^--duoserve_rest_max_body_bytes must be between 1 and \d+ \(the longest string Node.js holds\); got 0$/,
    );
    assert.match(refusal(['--duoserve_rest_max_body_bytes=4294967296']), /got 4294967296$/);
    assert.deepEqual(check(['--duoserve_rest_max_body_bytes=536870888']), []);
    assert.equal(refusal(['--duoserve_rest_listen_address=']), '--duoserve_rest_listen_address must not be empty');
  });

  test('transport security duoserve cannot give is refused, never ignored', () => {
    assert.match(refusal(['--use_alts_credentials']), /^--use_alts_credentials is set, but duoserve has no ALTS/);
    assert.equal(
      refusal(['--use_alts_credentials', '--ssl_config_file=/etc/ssl.config']),
      'Either use_alts_credentials must be false or ssl_config_file must be empty.',
    );
    assert.equal(
      refusal(['--duoserve_rest_api_ssl']),
      '--duoserve_rest_api_ssl needs --ssl_config_file (the key and certificate it serves)',
    );
    assert.deepEqual(check(['--use_alts_credentials=false', '--ssl_config_file=']), []);
    // The file itself is read (and checked) by readSslConfigFile, before any model loads.
    const rest = ['--ssl_config_file=/etc/ssl.config', '--duoserve_rest_api_ssl'];
    assert.deepEqual(check([...rest, '--rest_api_port=8501']), []);
    assert.deepEqual(check(rest), [
      '--duoserve_rest_api_ssl has no effect: no HTTP/REST API is exported (--rest_api_port)',
    ]);
    // Neither flag warns "ignored": it is not.
    assert.deepEqual(parseFlags(['--ssl_config_file=/x', '--use_alts_credentials']).warnings, []);
  });
});
