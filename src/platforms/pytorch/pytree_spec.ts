/**
 * torch.utils._pytree's TreeSpec as JSON (treespec_dumps, protocol 1): how an AOTInductor
 * package records the structure its flat list of tensors came from (in_spec: (args, kwargs))
 * and goes back to (out_spec). Written by torch, read here without torch:
 *   [1, {"type": "builtins.tuple" | "builtins.dict" | ... | null (a leaf),
 *        "context": "<JSON text: dict keys, or null>", "children_spec": [ ...nodes ]}]
 */
import { invalidArgument } from '../../errors/serving_error';
import { parseModelFileJson } from './model_file_json';

/** One step from a node to a child: a mapping key, or a position in any other container. */
export type PathStep = { key: string } | { index: number };

/** Mapping types whose context lists their keys (in children order). */
const MAPPING_TYPES = new Set([
  'builtins.dict',
  'collections.OrderedDict',
  'collections.defaultdict',
  'torch.fx.immutable_collections.immutable_dict',
]);

interface RawNode {
  type: string | null;
  context: string | null;
  children_spec: RawNode[];
}

export class TreeSpec {
  constructor(
    readonly type: string | null,
    /** Present for mapping types: the child keys, in order. */
    readonly keys: string[] | null,
    readonly children: TreeSpec[],
  ) {}

  get isLeaf(): boolean {
    return this.type === null;
  }

  /** The path to every leaf, in flattening order (the order of the package's tensors). */
  leafPaths(): PathStep[][] {
    if (this.isLeaf) return [[]];
    return this.children.flatMap((child, i) => {
      const step: PathStep = this.keys ? { key: this.keys[i] } : { index: i };
      return child.leafPaths().map((path) => [step, ...path]);
    });
  }
}

/** Parses a spec; `what` names it in errors ("in_spec of /m/1/model.pt2"). */
export function parseTreeSpec(text: string, what: string): TreeSpec {
  const json = parseModelFileJson(text, what);
  if (!Array.isArray(json) || json.length !== 2 || json[0] !== 1) {
    throw invalidArgument(`${what} is not a pytree spec of protocol 1 ([1, {...}])`);
  }
  return readNode(json[1], what);
}

function readNode(value: unknown, what: string): TreeSpec {
  const node = value as RawNode;
  if (typeof node !== 'object' || node === null || !Array.isArray(node.children_spec)) {
    throw invalidArgument(`${what}: a node without children_spec`);
  }
  const children = node.children_spec.map((child) => readNode(child, what));
  const keys = node.type !== null && MAPPING_TYPES.has(node.type) ? mappingKeys(node, children.length, what) : null;
  return new TreeSpec(node.type, keys, children);
}

function mappingKeys(node: RawNode, count: number, what: string): string[] {
  let context: unknown;
  try {
    context = JSON.parse(node.context ?? 'null');
  } catch {
    throw invalidArgument(`${what}: the context of a ${node.type} is not JSON`);
  }
  // defaultdict wraps its keys: {"default_factory_module": ..., "dict_context": [...]}.
  const keys = Array.isArray(context) ? context : (context as { dict_context?: unknown } | null)?.dict_context;
  if (!Array.isArray(keys) || keys.length !== count) {
    throw invalidArgument(`${what}: a ${node.type} whose context does not list its ${count} keys`);
  }
  return keys.map((key) => String(key));
}
