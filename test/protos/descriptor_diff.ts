/**
 * Compares proto/'s definitions, as protobufjs loads them, with the official descriptors
 * dump_descriptors.py prints: shared by wire_compat.test.ts (TF-Serving) and
 * inference_wire_compat.test.ts (the Open Inference Protocol).
 */
import * as protobuf from 'protobufjs';
import type { OfficialDescriptors, OfficialField } from './official_protos';

export const strip = (fullName: string) => fullName.replace(/^\./, '');

function* definitions(namespace: protobuf.NamespaceBase): Generator<protobuf.ReflectionObject> {
  for (const nested of namespace.nestedArray) {
    yield nested;
    if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) yield* definitions(nested);
  }
}

/** The messages, enums and services of `root` whose full name (without the leading dot) `keep` accepts. */
export function definitionsOf(root: protobuf.Root, keep: (fullName: string) => boolean) {
  const kept = [...definitions(root)].filter((d) => keep(strip(d.fullName)));
  return {
    types: kept.filter((d): d is protobuf.Type => d instanceof protobuf.Type),
    enums: kept.filter((d): d is protobuf.Enum => d instanceof protobuf.Enum),
    services: kept.filter((d): d is protobuf.Service => d instanceof protobuf.Service),
  };
}

function valueTypeOf(field: protobuf.Field): { type: string; typeName: string | null } {
  const resolved = field.resolve().resolvedType;
  if (resolved instanceof protobuf.Type) return { type: 'message', typeName: strip(resolved.fullName) };
  if (resolved instanceof protobuf.Enum) return { type: 'enum', typeName: strip(resolved.fullName) };
  return { type: field.type, typeName: null };
}

function realOneof(field: protobuf.Field): string | null {
  const oneof = field.partOf;
  if (oneof === null || (oneof.fieldsArray.length === 1 && oneof.name === `_${field.name}`)) return null;
  return oneof.name;
}

/**
 * Problems of one of our fields against its official counterpart; [] when they agree. With
 * `envelopes` (envelope name -> the official message it stands for) the field is an envelope's:
 * it may carry an official message as its bytes, or as the envelope standing for it.
 */
export function fieldProblems(
  where: string,
  ours: protobuf.Field,
  theirs: OfficialField,
  envelopes?: Record<string, string>,
): string[] {
  const problems: string[] = [];
  const expect = (what: string, got: unknown, want: unknown) => {
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      problems.push(
        `${where}.${ours.name} (${ours.id}): ${what} is ${JSON.stringify(got)}, official ${JSON.stringify(want)}`,
      );
    }
  };
  expect('name', ours.name, theirs.name);
  expect('oneof', realOneof(ours), theirs.oneof);
  if (ours instanceof protobuf.MapField) {
    expect('kind', 'map', theirs.map === null ? 'not a map' : 'map');
    if (theirs.map === null) return problems;
    expect('map key type', ours.keyType, theirs.map.keyType);
    const value = valueTypeOf(ours);
    // An envelope carries a TensorProto map value as bytes: both are length-delimited field 2.
    if (envelopes && value.type === 'bytes' && theirs.map.value.type === 'message') return problems;
    expect('map value type', value, theirs.map.value);
    return problems;
  }
  expect('kind', theirs.map === null ? 'field' : 'map', 'field');
  const value = valueTypeOf(ours);
  if (envelopes && theirs.type === 'message') {
    const standsFor = value.typeName === null ? null : (envelopes[value.typeName] ?? value.typeName);
    if (value.type === 'bytes' || standsFor === theirs.typeName) {
      expect('repeated', ours.repeated, theirs.repeated);
      return problems;
    }
  }
  expect('type', value, { type: theirs.type, typeName: theirs.typeName });
  expect('repeated', ours.repeated, theirs.repeated);
  if (ours.repeated && theirs.packed) expect('packed', ours.packed, theirs.packed);
  return problems;
}

/** Problems of every field of every message in `types`; [] when all agree. */
export function messageProblems(types: protobuf.Type[], descriptors: OfficialDescriptors): string[] {
  return types.flatMap((type) => {
    const name = strip(type.fullName);
    const theirs = new Map(descriptors.messages[name].fields.map((f) => [f.number, f]));
    return type.fieldsArray.flatMap((field) => {
      const official = theirs.get(field.id);
      if (official === undefined) return [`${name}.${field.name} (${field.id}): no official field has this number`];
      return fieldProblems(name, field, official);
    });
  });
}

/** The official field numbers each message leaves out, by message (only messages that leave some out). */
export function omittedFields(types: protobuf.Type[], descriptors: OfficialDescriptors): Record<string, number[]> {
  const omitted: Record<string, number[]> = {};
  for (const type of types) {
    const name = strip(type.fullName);
    const numbers = descriptors.messages[name].fields
      .map((f) => f.number)
      .filter((number) => type.fieldsById[number] === undefined)
      .sort((a, b) => a - b);
    if (numbers.length > 0) omitted[name] = numbers;
  }
  return omitted;
}

/**
 * Problems of each RPC `service` declares against the official one (request and response types,
 * streaming on either side), and the official RPCs it leaves out.
 */
export function methodProblems(
  service: protobuf.Service,
  descriptors: OfficialDescriptors,
): { problems: string[]; missing: string[] } {
  const name = strip(service.fullName);
  const theirs = descriptors.services[name].methods;
  const problems: string[] = [];
  for (const method of service.methodsArray) {
    const want = theirs[method.name];
    const got = {
      input: strip(method.resolvedRequestType!.fullName),
      output: strip(method.resolvedResponseType!.fullName),
      clientStreaming: method.requestStream === true,
      serverStreaming: method.responseStream === true,
    };
    if (want === undefined) {
      problems.push(`${name}.${method.name}: no such official RPC`);
    } else if (JSON.stringify(got) !== JSON.stringify(want)) {
      problems.push(`${name}.${method.name}: ${JSON.stringify(got)}, official ${JSON.stringify(want)}`);
    }
  }
  return { problems, missing: Object.keys(theirs).filter((method) => !service.methods[method]) };
}
