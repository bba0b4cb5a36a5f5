/**
 * deploy/ against bin/duoserve itself: every manifest parses (the Kubernetes ones rendered as
 * `kubectl apply -k deploy/kubernetes` would, resources plus configMapGenerator); every flag a
 * container passes is one bin/duoserve accepts and acts on; the ports, probes, scrape
 * annotations and grace period agree with those flags; the image's entry command is README's
 * serve command; and a bin/duoserve started with the manifests' own arguments and config files
 * answers 200 on every probe and scrape path and exports every metric the Grafana dashboard
 * reads. Only the paths the pod mounts (config files, models) and the ports are mapped to this
 * machine's.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { FLAGS_BY_NAME } from '../../src/config/flag_list';
import { parseFlags, type ParsedFlags } from '../../src/config/flags';
import { parseModelServerConfigText } from '../../src/config/model_server_config';
import { prometheusPathOf } from '../../src/monitoring/monitoring_config';
import { freePort, REPO_ROOT, startDuoserve, waitUntil, type DuoserveProcess } from '../server/lifecycle_helpers';

const DEPLOY = path.join(REPO_ROOT, 'deploy');
const KUBERNETES = path.join(DEPLOY, 'kubernetes');
const EXAMPLES = path.join(REPO_ROOT, 'var', 'models', 'examples');

// Manifests are untyped YAML: reads go through these two helpers, and assertions say what is missing.
type Manifest = Record<string, any>;

function yamlDocuments(file: string): Manifest[] {
  const documents = parseAllDocuments(fs.readFileSync(file, 'utf8'));
  return documents.map((document) => {
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0].message}`);
    return document.toJS() as Manifest;
  });
}

/** What `kubectl apply -k` applies: the listed resources and the generated ConfigMaps. */
function renderKustomization(dir: string): Manifest[] {
  const [kustomization] = yamlDocuments(path.join(dir, 'kustomization.yaml'));
  const resources = (kustomization.resources as string[]).flatMap((file) => yamlDocuments(path.join(dir, file)));
  const configMaps = ((kustomization.configMapGenerator ?? []) as Manifest[]).map((generator) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: generator.name },
    data: Object.fromEntries(
      (generator.files as string[]).map((file) => [path.basename(file), fs.readFileSync(path.join(dir, file), 'utf8')]),
    ),
  }));
  return [...resources, ...configMaps];
}

function only(manifests: Manifest[], kind: string): Manifest {
  const found = manifests.filter((manifest) => manifest.kind === kind);
  assert.equal(found.length, 1, `one ${kind} expected, found ${found.length}`);
  return found[0];
}

/** The Dockerfile's final-stage instructions that the tests read (JSON-form ENTRYPOINT and CMD). */
function dockerfile() {
  const lines = fs
    .readFileSync(path.join(DEPLOY, 'Dockerfile'), 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
  const finalStage = lines.slice(lines.map((line) => /^FROM\s/i.test(line)).lastIndexOf(true));
  const instruction = (name: string) =>
    finalStage
      .filter((line) => line.toUpperCase().startsWith(`${name} `))
      .map((line) => line.slice(name.length).trim());
  const last = (name: string) => instruction(name).at(-1) ?? assert.fail(`no ${name} in the final stage`);
  const copies = new Map(
    instruction('COPY')
      .filter((line) => !line.startsWith('--from'))
      .map((line) => line.split(/\s+/).reverse() as [string, string]),
  );
  return {
    entrypoint: JSON.parse(last('ENTRYPOINT')) as string[],
    cmd: JSON.parse(last('CMD')) as string[],
    expose: instruction('EXPOSE').flatMap((line) => line.split(/\s+/).map(Number)),
    workdir: last('WORKDIR'),
    /** Image path -> the repository file copied there. */
    copies,
  };
}

/** The value a command line gives `--name` (the last one wins, as in the parser). */
function flagValue(args: readonly string[], name: string): string | undefined {
  const prefix = `--${name}=`;
  return args
    .filter((arg) => arg.startsWith(prefix))
    .at(-1)
    ?.slice(prefix.length);
}

/** bin/duoserve's own parser over `args`; a flag it does not know, or does not act on, fails. */
function checkFlags(where: string, args: readonly string[]): ParsedFlags {
  let parsed: ParsedFlags;
  try {
    parsed = parseFlags(args);
  } catch (error) {
    throw new Error(`${where}: bin/duoserve refuses the arguments: ${(error as Error).message.split('\n')[0]}`, {
      cause: error,
    });
  }
  for (const arg of args) {
    const name = /^--([^=]+)/.exec(arg)?.[1];
    if (name !== undefined && FLAGS_BY_NAME.get(name)?.supported === false) {
      throw new Error(`${where}: --${name} is a flag bin/duoserve accepts but does not act on`);
    }
  }
  return parsed;
}

/** The pod's SIGKILL comes after terminationGracePeriodSeconds, counted from preStop's start. */
function checkGracePeriod(podSpec: Manifest, container: Manifest): void {
  const graceFlag = 'duoserve_shutdown_grace_period_seconds';
  const drain = flagValue(container.args, graceFlag);
  if (drain === undefined) throw new Error(`--${graceFlag} is not passed explicitly`);
  const preStop: string[] = container.lifecycle?.preStop?.exec?.command ?? [];
  const preStopSeconds = preStop[0] === 'sleep' ? Number(preStop[1]) : 0;
  const period = podSpec.terminationGracePeriodSeconds;
  if (!(period > Number(drain) + preStopSeconds)) {
    throw new Error(
      `terminationGracePeriodSeconds ${period} does not cover preStop's ${preStopSeconds} s and the ${drain} s drain`,
    );
  }
}

const rendered = renderKustomization(KUBERNETES);
const deployment = only(rendered, 'Deployment');
const podSpec: Manifest = deployment.spec.template.spec;
const container: Manifest = podSpec.containers[0];
const configMap = only(rendered, 'ConfigMap');
const [servingRuntime] = yamlDocuments(path.join(DEPLOY, 'kserve', 'servingruntime.yaml'));
const kserveContainer: Manifest = servingRuntime.spec.containers[0];
/** KServe fills in {{.Name}} with the InferenceService's name. */
const KSERVE_MODEL = 'half_plus_two';
const kserveArgs: string[] = kserveContainer.args.map((arg: string) => arg.replaceAll('{{.Name}}', KSERVE_MODEL));
const image = dockerfile();
const dashboard = JSON.parse(fs.readFileSync(path.join(DEPLOY, 'grafana', 'duoserve.json'), 'utf8'));

const volumeOf = (mountPath: string): Manifest => {
  const mount = container.volumeMounts.find((m: Manifest) => m.mountPath === mountPath) ?? assert.fail(mountPath);
  return podSpec.volumes.find((volume: Manifest) => volume.name === mount.name);
};
/** A flag's file, read from the ConfigMap mounted at its directory. */
const configFileOf = (flag: string): { mountPath: string; key: string; text: string } => {
  const file = flagValue(container.args, flag) ?? assert.fail(`the Deployment passes no --${flag}`);
  const mountPath = path.dirname(file);
  assert.equal(volumeOf(mountPath).configMap?.name, configMap.metadata.name, `--${flag}'s directory`);
  const key = path.basename(file);
  return { mountPath, key, text: configMap.data[key] ?? assert.fail(`${configMap.metadata.name} has no ${key}`) };
};
const monitoringPath = (text: string): string => {
  const file = path.join(os.tmpdir(), `duoserve-deploy-monitoring-${process.pid}.config`);
  fs.writeFileSync(file, text);
  try {
    return prometheusPathOf(file) ?? assert.fail('the monitoring config does not enable Prometheus');
  } finally {
    fs.rmSync(file);
  }
};

/**
 * The metric names the dashboard's queries select: every `name{...}` selector, and every
 * TF-Serving or duoserve name even where it stands without braces.
 */
function dashboardMetrics(): Set<string> {
  const queries: string[] = [
    ...dashboard.panels.flatMap((panel: Manifest) => (panel.targets ?? []).map((target: Manifest) => target.expr)),
    ...dashboard.templating.list
      .filter((variable: Manifest) => variable.query?.query)
      .map((v: Manifest) => v.query.query),
  ];
  const names = new Set<string>();
  for (const query of queries) {
    const found = [...query.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*(?=\{)|:tensorflow:[A-Za-z0-9_:]+|\bduoserve_\w+/g)].map(
      (match) => match[0],
    );
    assert.ok(found.length > 0, `no metric selector in ${query}`);
    for (const name of found) names.add(name);
  }
  return names;
}

describe('deploy/: manifests, image and dashboard', () => {
  it('parses every manifest, and the kustomization lists every Kubernetes manifest', () => {
    const listed = new Set(yamlDocuments(path.join(KUBERNETES, 'kustomization.yaml'))[0].resources as string[]);
    for (const file of fs.readdirSync(KUBERNETES).filter((name) => name.endsWith('.yaml'))) {
      assert.ok(yamlDocuments(path.join(KUBERNETES, file)).length > 0, file);
      if (file !== 'kustomization.yaml') assert.ok(listed.has(file), `${file} is not in kustomization.yaml`);
    }
    assert.deepEqual(rendered.map((manifest) => manifest.kind).sort(), [
      'ConfigMap',
      'Deployment',
      'HorizontalPodAutoscaler',
      'PersistentVolumeClaim',
      'Service',
    ]);
    assert.equal(servingRuntime.kind, 'ServingRuntime');
    assert.ok(dashboard.panels.length > 0);
  });

  it('passes only flags bin/duoserve accepts and acts on, in every container and the image', () => {
    checkFlags('Deployment', container.args);
    checkFlags('ServingRuntime', kserveArgs);
    checkFlags('Dockerfile', image.cmd);
    // The check itself: a misspelt flag and a flag duoserve only warns about both fail it.
    assert.throws(() => checkFlags('Deployment', [...container.args, '--model_config_flie=x']), /refuses/);
    assert.throws(() => checkFlags('Deployment', [...container.args, '--rest_api_num_threads=8']), /does not act on/);
  });

  it("runs the image entry command in every container, and it is README's serve command", () => {
    assert.match(image.entrypoint[0], /\/bin\/duoserve$/);
    assert.equal(container.command, undefined, 'the Deployment runs the image ENTRYPOINT');
    assert.deepEqual(kserveContainer.command, image.entrypoint);
    const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8').split('\n');
    const serve = ['bin/duoserve', ...image.cmd].join(' ');
    assert.ok(readme.includes(serve), `README.md has no line \`${serve}\``);
    assert.equal(image.workdir, '/models', 'CMD names models.config relative to /models');
  });

  it('agrees on ports: flags, container ports, Service, probes, scrape annotations, EXPOSE', () => {
    const grpcPort = Number(flagValue(container.args, 'port'));
    const restPort = Number(flagValue(container.args, 'rest_api_port'));
    const ports: Record<string, number> = Object.fromEntries(
      container.ports.map((port: Manifest) => [port.name, port.containerPort]),
    );
    assert.deepEqual({ ...ports }, { grpc: grpcPort, http: restPort });
    const service = only(rendered, 'Service');
    assert.deepEqual(
      service.spec.ports.map((port: Manifest) => [port.port, ports[port.targetPort]]),
      [
        [8500, grpcPort],
        [8501, restPort],
      ],
    );
    const podLabels = deployment.spec.template.metadata.labels;
    for (const [key, value] of Object.entries(service.spec.selector)) assert.equal(podLabels[key], value);
    for (const [key, value] of Object.entries(deployment.spec.selector.matchLabels))
      assert.equal(podLabels[key], value);
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      assert.equal(ports[container[probe].httpGet.port], restPort, probe);
    }
    const annotations = deployment.spec.template.metadata.annotations;
    assert.equal(annotations['prometheus.io/scrape'], 'true');
    assert.equal(Number(annotations['prometheus.io/port']), restPort);
    assert.equal(annotations['prometheus.io/path'], monitoringPath(configFileOf('monitoring_config_file').text));
    const hpa = only(rendered, 'HorizontalPodAutoscaler');
    assert.equal(hpa.apiVersion, 'autoscaling/v2');
    assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'duoserve' });
    assert.ok(container.resources.requests.cpu && container.resources.requests.memory, 'resource requests');

    assert.deepEqual(image.expose, [
      Number(flagValue(image.cmd, 'port')),
      Number(flagValue(image.cmd, 'rest_api_port')),
    ]);
    assert.deepEqual(image.expose, [8500, 8501]);

    const kserveRest = Number(flagValue(kserveArgs, 'rest_api_port'));
    assert.equal(Number(servingRuntime.spec.annotations['prometheus.kserve.io/port']), kserveRest);
    assert.equal(kserveContainer.readinessProbe.httpGet.port, kserveRest);
    assert.deepEqual(
      kserveContainer.ports.map((port: Manifest) => port.containerPort),
      [kserveRest],
    );
    const kserveMonitoring = image.copies.get(flagValue(kserveArgs, 'monitoring_config_file')!);
    assert.ok(kserveMonitoring, "the ServingRuntime's --monitoring_config_file is a file the image holds");
    assert.equal(
      servingRuntime.spec.annotations['prometheus.kserve.io/path'],
      monitoringPath(fs.readFileSync(path.join(REPO_ROOT, kserveMonitoring), 'utf8')),
    );
    const formats = servingRuntime.spec.supportedModelFormats.map((format: Manifest) => format.name);
    assert.deepEqual([...new Set(formats)], ['tensorflow', 'pytorch']);
  });

  it('gives the pod a termination grace period longer than preStop and the drain', () => {
    checkGracePeriod(podSpec, container);
    // The check itself: a period that covers the drain but not preStop too fails it.
    const drain = Number(flagValue(container.args, 'duoserve_shutdown_grace_period_seconds'));
    assert.throws(
      () => checkGracePeriod({ ...podSpec, terminationGracePeriodSeconds: drain }, container),
      /does not cover/,
    );
  });
});

describe('deploy/ on a running bin/duoserve', { timeout: 180_000 }, () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'duoserve-deploy-'));
  const servers: DuoserveProcess[] = [];
  after(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** The container's arguments on this machine: `mounts` (pod path -> local path), free ports, 127.0.0.1 only. */
  async function start(args: readonly string[], mounts: Record<string, string>, readyModel: string) {
    const restPort = await freePort();
    const local = args
      .filter((arg) => !arg.startsWith('--port='))
      .map((arg) => (arg.startsWith('--rest_api_port=') ? `--rest_api_port=${restPort}` : arg))
      .map((arg) => Object.entries(mounts).reduce((text, [pod, here]) => text.replace(`=${pod}`, `=${here}`), arg));
    const server = await startDuoserve(
      [...local, '--duoserve_rest_listen_address=127.0.0.1', '--duoserve_grpc_listen_address=127.0.0.1'],
      readyModel,
    );
    servers.push(server);
    const rest = `http://127.0.0.1:${restPort}`;
    await waitUntil('the REST port answers /readyz', async () => (await fetch(`${rest}/readyz`).catch(() => null))?.ok);
    return rest;
  }
  const status = async (url: string) => (await fetch(url)).status;
  const predict = async (rest: string, model: string) => {
    const reply = await fetch(`${rest}/v1/models/${model}:predict`, {
      method: 'POST',
      body: JSON.stringify({ instances: [1.0, 2.0, 5.0] }),
    });
    assert.deepEqual(await reply.json(), { predictions: [2.5, 3.0, 4.5] }, model);
  };

  let deploymentRest: string;
  let models: string[];
  before(async () => {
    // The ConfigMap's files as the pod sees them, and the models volume holding the examples it names.
    const modelsConfig = configFileOf('model_config_file');
    const monitoring = configFileOf('monitoring_config_file');
    const modelsMount: string =
      container.volumeMounts.find((mount: Manifest) => volumeOf(mount.mountPath).persistentVolumeClaim)?.mountPath ??
      assert.fail('no models volume');
    assert.equal(volumeOf(modelsMount).persistentVolumeClaim.readOnly, true, 'models come from a read-only volume');
    const configDir = path.join(root, 'config');
    const modelsDir = path.join(root, 'models');
    fs.mkdirSync(configDir);
    fs.writeFileSync(
      path.join(configDir, modelsConfig.key),
      modelsConfig.text.replaceAll(`"${modelsMount}/`, `"${modelsDir}/`),
    );
    fs.writeFileSync(path.join(configDir, monitoring.key), monitoring.text);
    const config = parseModelServerConfigText(modelsConfig.text, modelsConfig.key);
    models = config.models.map((model) => model.name);
    for (const model of config.models) {
      assert.ok(model.basePath.startsWith(`${modelsMount}/`), `${model.name} is on the models volume`);
      const example = path.basename(model.basePath);
      fs.cpSync(path.join(EXAMPLES, example), path.join(modelsDir, example), { recursive: true });
    }
    // Batching's figures exist only with --enable_batching, which the dashboard's Batching row names.
    deploymentRest = await start(
      [...container.args, '--enable_batching'],
      { [modelsConfig.mountPath]: configDir, [modelsMount]: modelsDir },
      models[0],
    );
  });

  it("answers 200 on the Deployment's probe and scrape paths", async () => {
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      assert.equal(await status(`${deploymentRest}${container[probe].httpGet.path}`), 200, probe);
    }
    const scrape = deployment.spec.template.metadata.annotations['prometheus.io/path'];
    assert.equal(await status(`${deploymentRest}${scrape}`), 200);
  });

  it('exports every metric the Grafana dashboard reads, once each model has answered a request', async () => {
    for (const model of models) await predict(deploymentRest, model);
    const scrape = deployment.spec.template.metadata.annotations['prometheus.io/path'];
    const page = await (await fetch(`${deploymentRest}${scrape}`)).text();
    const lines = page.split('\n');
    const series = new Set(
      lines.filter((line) => line !== '' && !line.startsWith('#')).map((line) => /^[^{ ]+/.exec(line)![0]),
    );
    // A counter of rare events (requests shed) has no series until the first one: its TYPE line
    // still shows the server exports that name.
    const declared = new Set(lines.filter((line) => line.startsWith('# TYPE ')).map((line) => line.split(' ')[2]));
    const missing = [...dashboardMetrics()].filter((name) => !series.has(name) && !declared.has(name));
    assert.deepEqual(missing, [], 'dashboard metrics the page neither declares nor has a series of');
  });

  it("serves the KServe runtime's model from /mnt/models, with its probe and scrape paths", async () => {
    const basePath = flagValue(kserveArgs, 'model_base_path')!;
    const modelDir = path.join(root, 'kserve-model');
    fs.cpSync(path.join(EXAMPLES, KSERVE_MODEL), modelDir, { recursive: true });
    const monitoringFile = flagValue(kserveArgs, 'monitoring_config_file')!;
    const rest = await start(
      kserveArgs,
      { [basePath]: modelDir, [monitoringFile]: path.join(REPO_ROOT, image.copies.get(monitoringFile)!) },
      KSERVE_MODEL,
    );
    assert.equal(await status(`${rest}${kserveContainer.readinessProbe.httpGet.path}`), 200);
    assert.equal(await status(`${rest}${servingRuntime.spec.annotations['prometheus.kserve.io/path']}`), 200);
    await predict(rest, KSERVE_MODEL);
    // protocolVersions claims v2 too: the Open Inference Protocol answers on the same REST port.
    assert.ok(servingRuntime.spec.protocolVersions.includes('v2'));
    assert.equal(await status(`${rest}/v2/models/${KSERVE_MODEL}/ready`), 200);
    const infer = await fetch(`${rest}/v2/models/${KSERVE_MODEL}/infer`, {
      method: 'POST',
      body: JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [3], data: [1, 2, 5] }] }),
    });
    assert.deepEqual(((await infer.json()) as { outputs: Array<{ data: number[] }> }).outputs[0].data, [2.5, 3, 4.5]);
  });
});
