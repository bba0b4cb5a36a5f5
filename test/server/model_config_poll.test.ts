/**
 * bin/duoserve with --model_config_file_poll_wait_seconds: the config file re-read and
 * reloaded while a TensorFlow and a PyTorch model serve; labels moved by editing the file; a
 * broken file or a refused config logged while the running config goes on; and
 * HandleReloadConfigRequest through the real server, replaced by the file on its next poll
 * (as TF-Serving does). Models added and removed by reload are covered in lifecycle_e2e.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  EXAMPLE_MODELS,
  ModelDirs,
  modelConfigText,
  rpcError,
  serverConfigMessage,
  startDuoserve,
  waitForStates,
  waitUntil,
  type ModelConfigObject,
} from './lifecycle_helpers';

it(
  '--model_config_file_poll_wait_seconds: the file is the config, re-read every second',
  { timeout: 120_000 },
  async () => {
    const dirs = new ModelDirs();
    const configFile = path.join(dirs.root, 'models.config');
    const entries = (labels: Record<string, number> = {}): ModelConfigObject[] =>
      EXAMPLE_MODELS.map((model) => {
        const basePath = dirs.basePath(model.platform);
        return {
          name: model.platform,
          base_path: basePath,
          model_platform: model.platform,
          model_version_policy: { all: {} },
          version_labels: labels,
        };
      });
    for (const model of EXAMPLE_MODELS) {
      for (const version of [1, 2]) dirs.addVersion(dirs.basePath(model.platform), model, version);
    }
    dirs.writeFile(configFile, modelConfigText(entries()));
    const server = await startDuoserve(
      [
        `--model_config_file=${configFile}`,
        '--model_config_file_poll_wait_seconds=1',
        '--file_system_poll_wait_seconds=1',
      ],
      'tensorflow',
    ).catch((error) => {
      dirs.cleanUp();
      throw error;
    });
    const { client } = server;
    const servedBy = async (name: string, label: string) =>
      (await client.predict({ name, label }).catch(() => undefined))?.version;
    const allServedBy = async (label: string, version: number) => {
      const versions = await Promise.all(EXAMPLE_MODELS.map((model) => servedBy(model.platform, label)));
      return versions.every((served) => served === version) || versions;
    };
    try {
      for (const model of EXAMPLE_MODELS)
        await waitForStates(client, model.platform, { 1: 'AVAILABLE', 2: 'AVAILABLE' });

      dirs.writeFile(configFile, modelConfigText(entries({ stable: 1, canary: 2 })));
      await waitUntil('canary labels apply', () => allServedBy('canary', 2), 10_000);
      assert.equal(await allServedBy('stable', 1), true);

      dirs.writeFile(configFile, 'model_config_list { config { name: ');
      await waitUntil(
        'the broken file is logged',
        () => server.output().includes('Failed to read ModelServerConfig file'),
        10_000,
      );
      assert.equal(await allServedBy('canary', 2), true, 'the running config stays');

      // A label on a version not there yet: refused on every poll until the version is AVAILABLE.
      dirs.writeFile(configFile, modelConfigText(entries({ stable: 1, canary: 2, next: 3 })));
      await waitUntil(
        'the refused label is logged',
        () => server.output().includes('Request to assign label to version 3 of model'),
        10_000,
      );
      assert.equal(
        (await rpcError(client.predict({ name: 'tensorflow', label: 'next' }))).code,
        grpc.status.INVALID_ARGUMENT,
      );
      for (const model of EXAMPLE_MODELS) dirs.addVersion(dirs.basePath(model.platform), model, 3);
      await waitUntil('the label applies once version 3 is AVAILABLE', () => allServedBy('next', 3), 15_000);

      // HandleReloadConfigRequest through bin/duoserve: a label moved...
      // (not checked by a request: the file's poll may already have moved it back.)
      const reloaded = await client.reload(serverConfigMessage(entries({ stable: 2 })));
      assert.deepEqual(reloaded.status, { error_code: 0, error_message: '' });
      // ... and back with the file's next poll.
      await waitUntil('the file applies again', async () => (await allServedBy('stable', 1)) === true, 15_000);
      assert.equal(await allServedBy('next', 3), true);
    } finally {
      await server.stop();
      dirs.cleanUp();
    }
    // Four changes applied (two edits, the gRPC reload, the file again); the polls between were quiet.
    assert.equal(server.output().split('Adding/updating models.').length - 1, 4, server.output());
  },
);
