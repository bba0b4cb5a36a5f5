import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { cgroupCpuQuota, schedulableCpus } from '../../src/config/schedulable_cpus';

/** A file system of the given files; any other file cannot be read. */
const files =
  (contents: Record<string, string>) =>
  (file: string): string | undefined =>
    contents[file];

test('cgroup v2: cpu.max in the process cgroup sets the quota, rounded up', () => {
  const read = files({
    '/proc/self/cgroup': '0::/kubepods/pod1/ctr\n',
    '/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': '250000 100000\n',
  });
  assert.equal(cgroupCpuQuota(read), 2.5);
  assert.equal(schedulableCpus(read, 64), 3);
});

test('cgroup v2 inside a container namespace: the root cpu.max', () => {
  const read = files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '400000 100000\n' });
  assert.equal(schedulableCpus(read, 64), 4);
});

test('cgroup v2 "max" and a quota above the affinity leave the CPUs as they are', () => {
  assert.equal(
    schedulableCpus(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': 'max 100000\n' }), 8),
    8,
  );
  assert.equal(
    schedulableCpus(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '1600000 100000\n' }), 8),
    8,
  );
});

test('cgroup v1: cfs_quota_us over cfs_period_us of the cpu controller; -1 is no quota', () => {
  const cgroup = '4:memory:/x\n2:cpu,cpuacct:/kubepods/pod2\n0::/\n';
  const limited = files({
    '/proc/self/cgroup': cgroup,
    '/sys/fs/cgroup/cpu/kubepods/pod2/cpu.cfs_quota_us': '150000\n',
    '/sys/fs/cgroup/cpu/kubepods/pod2/cpu.cfs_period_us': '100000\n',
  });
  assert.equal(schedulableCpus(limited, 16), 2);
  const unlimited = files({
    '/proc/self/cgroup': cgroup,
    '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n',
    '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
  });
  assert.equal(cgroupCpuQuota(unlimited), undefined);
  assert.equal(schedulableCpus(unlimited, 16), 16);
});

test('no cgroup files: the available CPUs, and a tiny quota still gives one CPU', () => {
  assert.equal(schedulableCpus(files({}), 6), 6);
  const tiny = files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '10000 100000\n' });
  assert.equal(schedulableCpus(tiny, 6), 1);
});
