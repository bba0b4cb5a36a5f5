/**
 * The model lifecycle as TF-Serving users know it, end to end with the real frameworks: a
 * ServerCore and the gRPC API in this process, model versions appearing and disappearing on
 * disk, config reloads over HandleReloadConfigRequest, answers checked with a TF-Serving
 * client's requests. Every scenario runs for a TensorFlow and a PyTorch model.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { aspiredVersionPolicyNamed } from '../../src/server/server_core';
import {
  EXAMPLE_MODELS,
  EXPECTED_Y,
  ModelDirs,
  rpcError,
  serverConfigMessage,
  startInProcess,
  waitForStates,
  type ModelConfigObject,
} from './lifecycle_helpers';

const TEST_TIMEOUT_MS = 90_000;

for (const model of EXAMPLE_MODELS) {
  describe(`model lifecycle end to end: ${model.platform} (${model.example})`, { timeout: TEST_TIMEOUT_MS }, () => {
    let dirs: ModelDirs;
    beforeEach(() => {
      dirs = new ModelDirs();
    });
    afterEach(() => dirs.cleanUp());

    const entry = (name: string, basePath: string, extra: Partial<ModelConfigObject> = {}): ModelConfigObject => ({
      name,
      base_path: basePath,
      model_platform: model.platform,
      ...extra,
    });
    const withVersions = (name: string, versions: number[]) => {
      const basePath = dirs.basePath(name);
      for (const version of versions) dirs.addVersion(basePath, model, version);
      return basePath;
    };

    it('latest policy: a new version replaces the old one, and removing it brings the old one back', async () => {
      const base = withVersions('m', [1]);
      const server = await startInProcess([entry('m', base)]);
      const { client } = server;
      try {
        assert.deepEqual(await client.predict({ name: 'm' }), { version: 1, y: EXPECTED_Y });
        dirs.addVersion(base, model, 2);
        await waitForStates(client, 'm', { 2: 'AVAILABLE', 1: 'END' });
        assert.deepEqual(await client.predict({ name: 'm' }), { version: 2, y: EXPECTED_Y });

        dirs.removeVersion(base, 2);
        await waitForStates(client, 'm', { 1: 'AVAILABLE', 2: 'END' });
        assert.equal((await client.predict({ name: 'm' })).version, 1);
        const gone = await rpcError(client.predict({ name: 'm', version: 2 }));
        assert.equal(gone.code, grpc.status.NOT_FOUND);
        assert.equal(gone.details, 'Servable not found for request: Specific(m, 2)');
      } finally {
        await server.close();
      }
    });

    it('specific and all policies, and the version policy switched by config reload', async () => {
      const base = withVersions('m', [1, 2, 3]);
      const server = await startInProcess([
        entry('m', base, { model_version_policy: { specific: { versions: [1, 3] } } }),
      ]);
      const { client } = server;
      try {
        await waitForStates(client, 'm', { 1: 'AVAILABLE', 3: 'AVAILABLE' });
        assert.deepEqual(await client.states('m'), { 1: 'AVAILABLE', 3: 'AVAILABLE' });
        const notAspired = await rpcError(client.status({ name: 'm', version: 2 }));
        assert.equal(notAspired.code, grpc.status.NOT_FOUND);
        assert.equal(notAspired.details, 'Could not find version 2 of model m');
        assert.equal((await client.predict({ name: 'm' })).version, 3);
        assert.equal((await client.predict({ name: 'm', version: 1 })).version, 1);

        await client.reload(serverConfigMessage([entry('m', base, { model_version_policy: { all: {} } })]));
        await waitForStates(client, 'm', { 1: 'AVAILABLE', 2: 'AVAILABLE', 3: 'AVAILABLE' });
        assert.equal((await client.predict({ name: 'm', version: 2 })).version, 2);

        await client.reload(
          serverConfigMessage([entry('m', base, { model_version_policy: { latest: { num_versions: 2 } } })]),
        );
        await waitForStates(client, 'm', { 1: 'END', 2: 'AVAILABLE', 3: 'AVAILABLE' });
        assert.equal((await rpcError(client.predict({ name: 'm', version: 1 }))).code, grpc.status.NOT_FOUND);
      } finally {
        await server.close();
      }
    });

    it('version labels set and moved by HandleReloadConfigRequest; a label on an unavailable version is refused', async () => {
      const base = withVersions('m', [1, 2]);
      const all = { model_version_policy: { all: {} } };
      const server = await startInProcess([entry('m', base, all)]);
      const { client } = server;
      try {
        await waitForStates(client, 'm', { 1: 'AVAILABLE', 2: 'AVAILABLE' });
        const response = await client.reload(
          serverConfigMessage([entry('m', base, { ...all, version_labels: { stable: 1, canary: 2 } })]),
        );
        assert.deepEqual(response.status, { error_code: 0, error_message: '' });
        assert.equal((await client.predict({ name: 'm', label: 'stable' })).version, 1);
        assert.equal((await client.predict({ name: 'm', label: 'canary' })).version, 2);
        // As TF-Serving, GetModelStatus reads only the version: a label lists every version.
        assert.deepEqual(
          (await client.status({ name: 'm', label: 'canary' })).map(({ version, state }) => [version, state]),
          [
            [2, 'AVAILABLE'],
            [1, 'AVAILABLE'],
          ],
        );

        await client.reload(serverConfigMessage([entry('m', base, { ...all, version_labels: { stable: 2 } })]));
        assert.equal((await client.predict({ name: 'm', label: 'stable' })).version, 2);
        const dropped = await rpcError(client.predict({ name: 'm', label: 'canary' }));
        assert.equal(dropped.code, grpc.status.INVALID_ARGUMENT);
        assert.equal(dropped.details, 'Unrecognized servable version label: canary');

        const refused = await rpcError(
          client.reload(serverConfigMessage([entry('m', base, { ...all, version_labels: { stable: 1, next: 3 } })])),
        );
        assert.equal(refused.code, grpc.status.FAILED_PRECONDITION);
        assert.equal(
          refused.details,
          'Request to assign label to version 3 of model m, which is not currently available for inference',
        );
        assert.equal((await client.predict({ name: 'm', label: 'stable' })).version, 2, 'the old labels stay');
      } finally {
        await server.close();
      }
    });

    it('--allow_version_labels_for_unavailable_models: a new label may wait for its version; a moved one may not', async () => {
      const base = withVersions('m', [1]);
      const labelled = (labels: Record<string, number>) => [entry('m', base, { version_labels: labels })];
      await assert.rejects(startInProcess(labelled({ canary: 2 })), {
        code: 'FAILED_PRECONDITION',
        message: 'Request to assign label to version 2 of model m, which is not currently available for inference',
      });
      const server = await startInProcess(labelled({ canary: 2 }), { allowVersionLabelsForUnavailableModels: true });
      const { client } = server;
      try {
        const waiting = await client.status({ name: 'm', label: 'canary' });
        assert.deepEqual(
          waiting.map(({ version }) => version),
          [1],
          'the label waits for version 2; status lists what exists',
        );
        assert.equal((await rpcError(client.predict({ name: 'm', label: 'canary' }))).code, grpc.status.NOT_FOUND);

        const moved = await rpcError(client.reload(serverConfigMessage(labelled({ canary: 3 }))));
        assert.equal(moved.code, grpc.status.FAILED_PRECONDITION);
        await client.reload(serverConfigMessage(labelled({ canary: 2, next: 4 })));

        dirs.addVersion(base, model, 2);
        await waitForStates(client, 'm', { 2: 'AVAILABLE' });
        assert.equal((await client.predict({ name: 'm', label: 'canary' })).version, 2);
      } finally {
        await server.close();
      }
    });

    for (const policy of ['availability_preserving', 'resource_preserving'] as const) {
      it(`${policy}: the order of load and unload during a version change`, async () => {
        const base = withVersions('m', [1]);
        const server = await startInProcess([entry('m', base)], {
          aspiredVersionPolicy: aspiredVersionPolicyNamed(policy),
        });
        const events: string[] = [];
        server.core.manager.monitor.subscribe(({ id, state }) => events.push(`${state} ${id.version}`));
        try {
          dirs.addVersion(base, model, 2);
          await waitForStates(server.client, 'm', { 2: 'AVAILABLE', 1: 'END' });
          const at = (event: string) => {
            assert.ok(events.includes(event), `${event} in ${events.join(', ')}`);
            return events.indexOf(event);
          };
          if (policy === 'availability_preserving') {
            assert.ok(at('AVAILABLE 2') < at('UNLOADING 1'), `new version first: ${events.join(', ')}`);
          } else {
            assert.ok(at('END 1') < at('LOADING 2'), `old version unloaded first: ${events.join(', ')}`);
          }
          assert.equal((await server.client.predict({ name: 'm' })).version, 2);
        } finally {
          await server.close();
        }
      });
    }

    it('a corrupt version: its error in GetModelStatus, after its retries; the serving version stays', async () => {
      const base = withVersions('m', [1]);
      const server = await startInProcess([entry('m', base)], {
        maxNumLoadRetries: 1,
        loadRetryIntervalMicros: 50_000,
      });
      const { client } = server;
      try {
        dirs.addCorruptVersion(base, model, 2);
        await waitForStates(client, 'm', { 2: 'END' });
        const [corrupt, serving] = await client.status({ name: 'm' });
        assert.equal(corrupt.version, 2);
        assert.notEqual(corrupt.errorCode, 0);
        assert.ok(corrupt.errorMessage.length > 0);
        assert.deepEqual(serving, { version: 1, state: 'AVAILABLE', errorCode: 0, errorMessage: '' });
        assert.ok(server.lines.some((line) => line.includes('{name: m version: 2} failed (attempt 1 of 2)')));
        assert.deepEqual(await client.predict({ name: 'm' }), { version: 1, y: EXPECTED_Y });

        dirs.addVersion(base, model, 3);
        await waitForStates(client, 'm', { 3: 'AVAILABLE', 1: 'END' });
        assert.equal((await client.predict({ name: 'm' })).version, 3);
      } finally {
        await server.close();
      }
    });

    it('an old export without a model file: attempted once settled, its error in GetModelStatus; fixed, it loads', async () => {
      const base = withVersions('m', [1]);
      // Polling every 0.2 s: the directory is attempted after 1 s unchanged (the settle floor).
      const server = await startInProcess([entry('m', base)], { maxNumLoadRetries: 2, loadRetryIntervalMicros: 1000 });
      const { client } = server;
      try {
        dirs.addOldExportVersion(base, 2);
        await waitForStates(client, 'm', { 2: 'END' });
        const [bad, serving] = await client.status({ name: 'm' });
        const versionDir = path.join(base, '2');
        assert.deepEqual([bad.version, bad.state, bad.errorCode], [2, 'END', grpc.status.NOT_FOUND]);
        assert.ok(bad.errorMessage.includes(versionDir), bad.errorMessage);
        assert.ok(bad.errorMessage.includes(model.missingModelError), bad.errorMessage);
        assert.deepEqual(serving, { version: 1, state: 'AVAILABLE', errorCode: 0, errorMessage: '' });
        assert.deepEqual(await client.predict({ name: 'm' }), { version: 1, y: EXPECTED_Y });
        const attempts = server.lines.filter((line) => line.includes('{name: m version: 2} failed (attempt '));
        assert.deepEqual(
          attempts.map((line) => /attempt \d of \d/.exec(line)?.[0]),
          ['attempt 1 of 3', 'attempt 2 of 3'],
          'one attempt and --max_num_load_retries=2 retries, each logged',
        );

        // Fixed in place (the model copied into the same directory): loaded again.
        dirs.copyIntoVersion(base, model, 2);
        await waitForStates(client, 'm', { 2: 'AVAILABLE', 1: 'END' });
        assert.deepEqual(await client.predict({ name: 'm' }), { version: 2, y: EXPECTED_Y });
      } finally {
        await server.close();
      }
    });

    it('an invalid new config is refused and the running one keeps serving', async () => {
      const base = withVersions('m', [1]);
      const server = await startInProcess([entry('m', base)]);
      const { client, core } = server;
      const before = core.config;
      const otherPlatform = model.platform === 'tensorflow' ? 'pytorch' : 'tensorflow';
      const refusals: Array<[unknown, grpc.status, string]> = [
        [
          serverConfigMessage([{ ...entry('m', base), model_platform: otherPlatform }]),
          grpc.status.INVALID_ARGUMENT,
          `Illegal to change a model's platform. For model m platform was ${model.platform} and new platform ` +
            `requested is ${otherPlatform}`,
        ],
        [
          serverConfigMessage([entry('m', base), { ...entry('x', base), model_platform: 'onnx' }]),
          grpc.status.INVALID_ARGUMENT,
          'Model x requests unsupported platform onnx',
        ],
        [
          serverConfigMessage([entry('m', 'relative/m')]),
          grpc.status.INVALID_ARGUMENT,
          'Expected model m to have an absolute path or URI; got base_path()=relative/m',
        ],
        [
          serverConfigMessage([entry('m', base), entry('m', base)]),
          grpc.status.INVALID_ARGUMENT,
          'Illegal to list model m multiple times in config list',
        ],
        [
          {},
          grpc.status.INVALID_ARGUMENT,
          'ServerModelConfig type not supported by HandleReloadConfigRequest. Only ModelConfigList is currently supported',
        ],
      ];
      try {
        for (const [config, code, details] of refusals) {
          const error = await rpcError(client.reload(config));
          assert.deepEqual({ code: error.code, details: error.details }, { code, details });
          assert.deepEqual(core.config, before);
          assert.deepEqual(await client.predict({ name: 'm' }), { version: 1, y: EXPECTED_Y });
        }
      } finally {
        await server.close();
      }
    });

    it('models added and removed by HandleReloadConfigRequest', async () => {
      const m = withVersions('m', [1]);
      const n = withVersions('n', [1]);
      const server = await startInProcess([entry('m', m)]);
      const { client } = server;
      try {
        const added = await client.reload(serverConfigMessage([entry('m', m), entry('n', n)]), ['a_metric']);
        assert.deepEqual(added, {
          status: { error_code: 0, error_message: '' },
          metric: [{ name: 'a_metric', int64_value_increase: 0 }],
        });
        // The reload answers once the new model is AVAILABLE.
        assert.deepEqual(await client.predict({ name: 'n' }), { version: 1, y: EXPECTED_Y });

        await client.reload(serverConfigMessage([entry('m', m)]));
        await waitForStates(client, 'n', { 1: 'END' });
        assert.equal((await rpcError(client.predict({ name: 'n' }))).code, grpc.status.NOT_FOUND);
        assert.equal((await client.predict({ name: 'm' })).version, 1);

        const bad = dirs.basePath('bad');
        dirs.addCorruptVersion(bad, model, 1);
        const failed = await rpcError(client.reload(serverConfigMessage([entry('m', m), entry('bad', bad)])));
        assert.equal(failed.code, grpc.status.UNKNOWN);
        // TF-Serving's words: {<id> due to error: <status>} per model, each followed by ", ".
        assert.match(
          failed.details,
          /^1 model\(s\) did not become available: \{\{\{name: bad version: 1\} due to error: \w+: .+\}, \}$/,
        );

        // Added again: the reload waits for its new load, not its old END.
        await client.reload(serverConfigMessage([entry('m', m), entry('n', n)]));
        assert.equal((await client.predict({ name: 'n' })).version, 1);
      } finally {
        await server.close();
      }
    });
  });
}
