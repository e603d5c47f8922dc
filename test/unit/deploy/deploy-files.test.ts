// The deploy files as an operator would use them: the DaemonSet validated offline against
// the Kubernetes API schemas (kubernetes-models validates each object), the Secret the
// agent reads laid out exactly as the kubelet writes that mount, a pinned image, probes on
// the ports the agent serves, requests, a supported Node LTS base, and a .dockerignore
// that keeps host build output out of `COPY . .`.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { readSecret } from '../../../src/agent/secrets.js';
import { ENV_TABLE } from '../../../src/agent/env-table.js';
import { HOST_OBJECT } from '../../../src/dataplane/bpf/host-program.js';
import { ROOT } from '../../helpers/paths.js';
import { daemonSetSecretMount, kubeletSecretMount } from '../../helpers/kubelet-secret.js';

const text = (f: string) => readFileSync(join(ROOT, f), 'utf8');
const docs = parseAllDocuments(text('deploy/daemonset.yaml')).map((d) => d.toJS());
const ds = docs.find((d) => d.kind === 'DaemonSet');
const pod = ds.spec.template.spec;
const container = pod.containers[0];
const tmp = mkdtempSync(join(tmpdir(), 'tabby-deploy-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('deploy/daemonset.yaml is a valid apps/v1 DaemonSet (kubernetes-models)', () => {
  assert.equal(docs.length, 1);
  new DaemonSet(ds).validate();
  // The validator is real: a broken copy fails.
  const broken = structuredClone(ds);
  broken.spec.template.spec.containers[0].ports[0].containerPort = 'metrics';
  assert.throws(() => new DaemonSet(broken).validate(), /containerPort must be integer/);
});

test('a BGP password is read from the exact layout the DaemonSet mounts', () => {
  const secretsDir = ENV_TABLE.find((s) => s.flag === 'secrets-dir')!.default;
  const root = join(tmp, 'rootfs');
  kubeletSecretMount(root, daemonSetSecretMount('tabby-bgp-passwords'), { 'peer-rack1': 'S3cret-from-k8s\n' });
  // BGPPeer password: {secretKeyRef: {name: tabby-bgp-passwords, key: peer-rack1}}
  assert.equal(readSecret(join(root, secretsDir), { secretKeyRef: { name: 'tabby-bgp-passwords', key: 'peer-rack1' } }), 'S3cret-from-k8s');
  assert.throws(() => readSecret(join(root, secretsDir), { secretKeyRef: { name: 'tabby-bgp-passwords', key: 'missing' } }), /cannot read .*tabby-bgp-passwords\/missing/);
});

test('etcd client certificates: the variables point into the mounted Secret', () => {
  const env = Object.fromEntries(container.env.filter((e: { value?: string }) => e.value !== undefined).map((e: { name: string; value: string }) => [e.name, e.value]));
  assert.match(env.ETCD_ENDPOINTS, /^https:\/\//);
  const certs = container.volumeMounts.find((m: { name: string }) => pod.volumes.find((v: { name: string; secret?: { secretName: string } }) => v.name === m.name)?.secret?.secretName === 'tabby-etcd-certs');
  for (const v of ['ETCD_CA_CERT_FILE', 'ETCD_CERT_FILE', 'ETCD_KEY_FILE']) assert.ok(env[v].startsWith(`${certs.mountPath}/`), v);
  const known = new Set(ENV_TABLE.flatMap((s) => s.env));
  for (const e of container.env) assert.ok(known.has(e.name), `${e.name} is a variable the agent reads`);
});

test('pinned image, probes on the agent ports, requests, metrics port', () => {
  const pkg = JSON.parse(text('package.json')) as { version: string };
  assert.equal(container.image, `tabby/node:${pkg.version}`, 'pinned to the release, not :latest');
  const port = (flag: string) => Number(ENV_TABLE.find((s) => s.flag === flag)!.default);
  for (const p of ['startupProbe', 'livenessProbe']) assert.equal(container[p].httpGet.path, '/liveness');
  assert.equal(container.readinessProbe.httpGet.path, '/readiness');
  for (const p of ['startupProbe', 'livenessProbe', 'readinessProbe']) assert.equal(container[p].httpGet.port, port('health-port'), p);
  assert.ok(container.startupProbe.periodSeconds * container.startupProbe.failureThreshold >= 30);
  assert.ok(container.resources.requests.cpu && container.resources.requests.memory);
  assert.equal(container.ports.find((p: { name: string }) => p.name === 'metrics').containerPort, port('metrics-port'));
});

test('Dockerfile on a supported Node LTS; .dockerignore keeps host builds and .git out', () => {
  const froms = [...text('Dockerfile').matchAll(/^FROM node:(\d+)-/gm)].map((m) => Number(m[1]));
  assert.ok(froms.length >= 2);
  // Node release schedule: 20 left support on 2026-04-30; 22 is maintained to 2027-04-30, 24 to 2028-04-30.
  for (const major of froms) assert.ok(major >= 22 && major % 2 === 0, `node:${major} is a supported LTS line`);
  const ignored = new Set(text('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')));
  for (const p of ['.git', 'node_modules', 'dist', 'addon/build', 'bpf/build']) assert.ok(ignored.has(p), p);
});

test('the runtime image gets every eBPF object the agent loads, and the CLI bundle', () => {
  const runtime = text('Dockerfile').split(/^FROM /m).at(-1)!;
  const dir = join(ROOT, 'src', 'dataplane', 'bpf');
  const names = readdirSync(dir).filter((f) => f.endsWith('.ts')).flatMap((f) =>
    [...readFileSync(join(dir, f), 'utf8').matchAll(/bpfObjectPath\((?:'([a-z_]+)'|(HOST_OBJECT))\)/g)].map((m) => m[1] ?? HOST_OBJECT));
  assert.deepEqual([...new Set(names)].sort(), ['csum_probe', 'host']);
  for (const n of names) assert.match(runtime, new RegExp(`COPY --from=build .*/bpf/build/${n}\\.bpf\\.o`), `${n}.bpf.o in the image`);
  assert.match(runtime, /COPY --from=build \/src\/dist\/bundle /, 'dist/bundle in the image');
  assert.match(text('Dockerfile'), /node scripts\/bundle\.mjs/, 'the build stage writes the bundle');
});

test('docs/configuration.md and README document every variable and flag of node run', () => {
  for (const doc of ['docs/configuration.md', 'README.md']) {
    const md = text(doc);
    for (const s of ENV_TABLE) {
      for (const v of s.env) assert.ok(md.includes(`\`${v}\``), `${doc} names ${v}`);
      if (s.flag) assert.ok(md.includes(`\`--${s.flag}\``), `${doc} names --${s.flag}`);
    }
  }
  assert.doesNotMatch(text('README.md'), /\.\.\/shared|\]\(\.\.\//, 'README links only into the repository');
  for (const [, link] of text('README.md').matchAll(/\]\(([^)#]+)[^)]*\)/g)) if (!/^https?:/.test(link!)) assert.ok(readFileSync(join(ROOT, link!)), link);
});
