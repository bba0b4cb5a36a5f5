/** One version of one servable (a model or a chain): what the lifecycle loads and unloads. */
export interface ServableId {
  readonly name: string;
  readonly version: number;
}

export function servableIdString(id: ServableId): string {
  return `{name: ${id.name} version: ${id.version}}`;
}
