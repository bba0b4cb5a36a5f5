/**
 * Which version a request wants: a specific version, a version label, or neither, which
 * means the latest (highest-numbered) AVAILABLE version.
 */
export interface ServableRequest {
  readonly name: string;
  readonly version?: number;
  readonly label?: string;
}
