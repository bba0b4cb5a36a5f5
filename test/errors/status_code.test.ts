import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  grpcStatusOf,
  httpStatusOf,
  StatusCode,
  statusCodeOfGrpc,
  statusCodeOfHttp,
} from '../../src/errors/status_code';

describe('status codes read back from a transport', () => {
  it('gRPC: every status number is its code; one outside the catalog is UNKNOWN', () => {
    for (const code of Object.keys(StatusCode) as Array<keyof typeof StatusCode>) {
      assert.equal(statusCodeOfGrpc(grpcStatusOf(code)), code);
    }
    assert.equal(statusCodeOfGrpc(99), 'UNKNOWN');
  });

  it('HTTP: each status is the first code the catalog maps to it, and maps back to that status', () => {
    assert.equal(statusCodeOfHttp(404), 'NOT_FOUND');
    assert.equal(statusCodeOfHttp(400), 'INVALID_ARGUMENT');
    assert.equal(statusCodeOfHttp(503), 'UNAVAILABLE');
    assert.equal(statusCodeOfHttp(500), 'UNKNOWN');
    assert.equal(statusCodeOfHttp(413), 'UNKNOWN');
    for (const code of Object.keys(StatusCode) as Array<keyof typeof StatusCode>) {
      assert.equal(httpStatusOf(statusCodeOfHttp(httpStatusOf(code))), httpStatusOf(code));
    }
  });
});
