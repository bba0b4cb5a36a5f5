/**
 * A Manager over a fixed table of versions, for testing the REST layer's HTTP semantics
 * without the lifecycle. It counts unreleased handles so tests can prove every request
 * releases what it took, and throws if a handle is released twice.
 */
import type { Manager } from '../../../../src/core/manager';
import type { ServableHandle } from '../../../../src/core/servable_handle';
import type { ServableId } from '../../../../src/core/servable_id';
import type { ServableRequest } from '../../../../src/core/servable_request';
import type { ServableState, ServableStateSnapshot } from '../../../../src/core/servable_state';
import { invalidArgument, notFound, ServingError } from '../../../../src/errors/serving_error';
import type { InferenceServable } from '../../../../src/servables/inference_servable';

export interface FakeVersion {
  version: number;
  state?: ServableState;
  error?: ServingError;
  servable?: InferenceServable;
}

export class FakeManager implements Manager {
  /** Handles handed out and not yet released. */
  outstanding = 0;
  private readonly models = new Map<string, FakeVersion[]>();
  private readonly labels = new Map<string, Map<string, number>>();

  addVersion(name: string, version: FakeVersion): this {
    const versions = this.models.get(name) ?? [];
    versions.push({ state: 'AVAILABLE', ...version });
    versions.sort((a, b) => b.version - a.version);
    this.models.set(name, versions);
    return this;
  }

  setLabel(name: string, label: string, version: number): this {
    const labels = this.labels.get(name) ?? new Map<string, number>();
    labels.set(label, version);
    this.labels.set(name, labels);
    return this;
  }

  getServableHandle<T>(request: ServableRequest): ServableHandle<T> {
    const available = (this.models.get(request.name) ?? []).filter((v) => v.state === 'AVAILABLE' && v.servable);
    let chosen: FakeVersion | undefined;
    if (request.version !== undefined) {
      chosen = available.find((v) => v.version === request.version);
      if (!chosen) throw notFound(`Servable not found for request: Specific(${request.name}, ${request.version})`);
    } else if (request.label !== undefined) {
      const version = this.labels.get(request.name)?.get(request.label);
      chosen = available.find((v) => v.version === version);
      if (!chosen) throw notFound(`Unrecognized servable version label: ${request.label}`);
    } else {
      chosen = available[0];
      if (!chosen) throw notFound(`Servable not found for request: Latest(${request.name})`);
    }
    this.outstanding++;
    let released = false;
    return {
      id: { name: request.name, version: chosen.version },
      servable: chosen.servable as T,
      release: () => {
        if (released) throw new Error('handle released twice');
        released = true;
        this.outstanding--;
      },
    };
  }

  resolveVersionLabel(name: string, label: string): number {
    const version = this.labels.get(name)?.get(label);
    if (version === undefined) throw invalidArgument(`Unrecognized servable version label: ${label}`);
    return version;
  }

  listAvailableServableIds(): ServableId[] {
    return [...this.models].flatMap(([name, versions]) =>
      versions.filter((v) => v.state === 'AVAILABLE').map((v) => ({ name, version: v.version })),
    );
  }

  getVersionStates(name: string): ServableStateSnapshot[] {
    return (this.models.get(name) ?? []).map((v) => ({
      id: { name, version: v.version },
      state: v.state ?? 'AVAILABLE',
      ...(v.error ? { error: v.error } : {}),
    }));
  }
}
