/**
 * The session ConfigProto from --tensorflow_session_config_file and the thread flags, merged as
 * TF-Serving's Server::BuildAndStart merges them, and the file refused in its words.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { ServingError } from '../../../src/errors/serving_error';
import { Protos } from '../../../src/protos';
import {
  encodeSessionConfig,
  mixedPrecisionWarning,
  sessionConfigFromFlags,
  type SessionConfigFlags,
} from '../../../src/platforms/tensorflow/session_config';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'duoserve-session-config-'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

function configFile(text: string): string {
  const file = path.join(scratch, `session-${Math.random().toString(36).slice(2)}.config`);
  fs.writeFileSync(file, text);
  return file;
}

const NO_FLAGS: SessionConfigFlags = {
  configFile: '',
  sessionParallelism: 0,
  intraOpParallelism: 0,
  interOpParallelism: 0,
};

function refusal(flags: Partial<SessionConfigFlags>): ServingError {
  try {
    sessionConfigFromFlags({ ...NO_FLAGS, ...flags });
  } catch (error) {
    assert.ok(error instanceof ServingError, String(error));
    return error;
  }
  assert.fail('expected the flags to be refused');
}

/** What TensorFlow reads: the ConfigProto after a round trip through its bytes. */
const decoded = (flags: Partial<SessionConfigFlags>) =>
  Protos.ConfigProto.toObject(
    Protos.ConfigProto.decode(encodeSessionConfig(sessionConfigFromFlags({ ...NO_FLAGS, ...flags }))),
    {
      longs: String,
      enums: String,
    },
  );

describe('sessionConfigFromFlags', () => {
  const file = configFile(`# a CPU server's session options
    intra_op_parallelism_threads: 7
    inter_op_parallelism_threads: 9
    use_per_session_threads: true
    allow_soft_placement: true
    operation_timeout_in_ms: 2500
    device_count { key: "CPU" value: 1 }
    graph_options { optimizer_options { global_jit_level: ON_1 } }
  `);

  test('the file is read into the ConfigProto, every field kept but the thread counts', () => {
    assert.deepEqual(decoded({ configFile: file }), {
      use_per_session_threads: true,
      allow_soft_placement: true,
      operation_timeout_in_ms: '2500',
      device_count: { CPU: 1 },
      graph_options: { optimizer_options: { global_jit_level: 'ON_1' } },
    });
  });

  test("the thread flags always overwrite the file's thread counts, as TF-Serving's do", () => {
    // --tensorflow_session_parallelism (0 by default) sets both when neither of the other two is set...
    assert.deepEqual(decoded({ configFile: file, sessionParallelism: 3 }), {
      ...decoded({ configFile: file }),
      intra_op_parallelism_threads: 3,
      inter_op_parallelism_threads: 3,
    });
    // ... and either of those sets both, the other one to its own value (0 here).
    const intraOnly = decoded({ configFile: file, sessionParallelism: 3, intraOpParallelism: 2 });
    assert.equal(intraOnly.intra_op_parallelism_threads, 2);
    assert.equal(intraOnly.inter_op_parallelism_threads, undefined);
    const both = decoded({ intraOpParallelism: 2, interOpParallelism: 4 });
    assert.deepEqual(both, { intra_op_parallelism_threads: 2, inter_op_parallelism_threads: 4 });
  });

  test('no file and no flags: an empty ConfigProto (TensorFlow picks)', () => {
    assert.equal(encodeSessionConfig(sessionConfigFromFlags(NO_FLAGS)).length, 0);
  });

  test("all three thread flags at once are refused with TF-Serving's message", () => {
    const error = refusal({ sessionParallelism: 1, intraOpParallelism: 2, interOpParallelism: 3 });
    assert.equal(error.code, 'INVALID_ARGUMENT');
    assert.equal(
      error.message,
      'Either configure server_options.tensorflow_session_parallelism or (server_options.tensorflow_intra_op_parallelism, ' +
        'server_options.tensorflow_inter_op_parallelism) separately. You cannot configure all.',
    );
  });

  test('thread counts that do not fit the int32 fields are refused', () => {
    assert.equal(refusal({ sessionParallelism: 2 ** 31 }).code, 'INVALID_ARGUMENT');
    assert.match(refusal({ intraOpParallelism: 1, interOpParallelism: -1 }).message, /inter_op_parallelism must be/);
  });

  test('a file that does not parse: "Invalid protobuf file", then where and why', () => {
    const bad = configFile('intra_op_parallelism_threads: 2\n  inter_op_threads: 4\n');
    const error = refusal({ configFile: bad });
    assert.equal(error.code, 'INVALID_ARGUMENT');
    assert.equal(
      error.message,
      `Invalid protobuf file: '${bad}': Error parsing text-format tensorflow.ConfigProto: 2:3: ` +
        "unknown field 'inter_op_threads' in tensorflow.ConfigProto",
    );
    const wrongValue = configFile('graph_options { optimizer_options { global_jit_level: ON_3 } }');
    assert.match(refusal({ configFile: wrongValue }).message, /ConfigProto: 1:55: unknown value 'ON_3' of enum/);
  });

  test('--mixed_precision=bfloat16 turns on the oneDNN bfloat16 rewrite, beside what the file sets', () => {
    assert.deepEqual(decoded({ configFile: file, mixedPrecision: 'bfloat16' }).graph_options, {
      optimizer_options: { global_jit_level: 'ON_1' },
      rewrite_options: { auto_mixed_precision_onednn_bfloat16: 'ON' },
    });
    assert.deepEqual(decoded({ mixedPrecision: 'fp16' }), {});
    assert.equal(mixedPrecisionWarning('fp16'), 'fp16 auto mixed precision is not supported. Valid option: bfloat16');
    assert.equal(mixedPrecisionWarning('bfloat16'), undefined);
    assert.equal(mixedPrecisionWarning(''), undefined);
  });

  test("a missing file is NOT_FOUND, as TensorFlow's file system reports it", () => {
    const missing = path.join(scratch, 'nowhere.config');
    const error = refusal({ configFile: missing });
    assert.equal(error.code, 'NOT_FOUND');
    assert.equal(error.message, `${missing}; No such file or directory`);
  });
});
