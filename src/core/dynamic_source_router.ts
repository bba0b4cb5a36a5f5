import type { Log } from './log';
import type { AspiredVersionsCallback, Source } from './source';
import type { Target } from './target';

/**
 * Sends each servable's aspired versions to one of several outputs, chosen by servable name:
 * how one file-system source feeds one adapter per platform (TF-Serving's DynamicSourceRouter).
 * Routes map servable name -> route key (the platform name); each key has one output Source.
 * A servable with no route is dropped with an error log (the composition root validates the
 * config first). Moving a servable to another route at run time is not supported: the
 * composition root must reject a model that changes platform, as TF-Serving does.
 */
export class DynamicSourceRouter<T> implements Target<T> {
  private readonly outputs = new Map<string, RouterOutput<T>>();
  private routes: ReadonlyMap<string, string>;

  constructor(
    routes: ReadonlyMap<string, string>,
    private readonly log: Log,
  ) {
    this.routes = new Map(routes);
  }

  /** The Source that emits the servables routed to `routeKey`. */
  output(routeKey: string): Source<T> {
    let output = this.outputs.get(routeKey);
    if (!output) {
      output = new RouterOutput<T>();
      this.outputs.set(routeKey, output);
    }
    return output;
  }

  /** Replaces every route; later emissions follow the new ones. */
  updateRoutes(routes: ReadonlyMap<string, string>): void {
    this.routes = new Map(routes);
  }

  getAspiredVersionsCallback(): AspiredVersionsCallback<T> {
    return (servableName, versions) => {
      const routeKey = this.routes.get(servableName);
      if (routeKey === undefined) {
        this.log('ERROR', `No route for servable ${servableName}; dropping its aspired versions`);
        return;
      }
      (this.output(routeKey) as RouterOutput<T>).emit(servableName, versions);
    };
  }
}

/** One output port; keeps the latest set per servable until its callback is set. */
class RouterOutput<T> implements Source<T> {
  private callback?: AspiredVersionsCallback<T>;
  private readonly waiting = new Map<string, Parameters<AspiredVersionsCallback<T>>[1]>();

  setAspiredVersionsCallback(callback: AspiredVersionsCallback<T>): void {
    if (this.callback) throw new Error('DynamicSourceRouter: output callback is already set');
    this.callback = callback;
    for (const [name, versions] of this.waiting) callback(name, versions);
    this.waiting.clear();
  }

  emit(...[name, versions]: Parameters<AspiredVersionsCallback<T>>): void {
    if (this.callback) this.callback(name, versions);
    else this.waiting.set(name, versions);
  }
}
