/**
 * The tensorflow.ConfigProto a SavedModel's session is created with, and its bytes for the
 * addon (TF_SetConfig takes it serialized).
 *
 * From the command line (TF-Serving's Server::BuildAndStart, when --platform_config_file is empty):
 * --tensorflow_session_config_file is read first; its thread counts are then always overwritten:
 * by --tensorflow_intra_op_parallelism and --tensorflow_inter_op_parallelism (both, even one
 * left at 0) when either is positive, otherwise both by --tensorflow_session_parallelism (0:
 * TensorFlow picks). Setting all three is refused. A --platform_config_file brings its own
 * session_config instead, untouched by these flags.
 */
import type * as protobuf from 'protobufjs';
import type { PlainMessage } from '../../config/text_format';
import { readTextProtoFile } from '../../config/text_proto_file';
import { invalidArgument } from '../../errors/serving_error';
import { Protos } from '../../protos';

/** A ConfigProto as the plain object protobufjs' fromObject takes (text_format's output). */
export type SessionConfig = PlainMessage;

export interface SessionConfigFlags {
  /** --tensorflow_session_config_file; '' for none. */
  configFile: string;
  /** --mixed_precision (see withMixedPrecision); '' for none. */
  mixedPrecision?: string;
  sessionParallelism: number;
  intraOpParallelism: number;
  interOpParallelism: number;
}

const ALL_THREAD_FLAGS_ERROR =
  'Either configure server_options.tensorflow_session_parallelism or ' +
  '(server_options.tensorflow_intra_op_parallelism, server_options.tensorflow_inter_op_parallelism) ' +
  'separately. You cannot configure all.';

/** TF-Serving's session config from its flags; INVALID_ARGUMENT as BuildAndStart refuses them. */
export function sessionConfigFromFlags(flags: SessionConfigFlags): SessionConfig {
  const { sessionParallelism, intraOpParallelism, interOpParallelism } = flags;
  if (intraOpParallelism > 0 && interOpParallelism > 0 && sessionParallelism > 0) {
    throw invalidArgument(ALL_THREAD_FLAGS_ERROR);
  }
  const config =
    flags.configFile === '' ? {} : sessionConfigOf(readTextProtoFile(Protos.ConfigProto, flags.configFile));
  const separately = intraOpParallelism > 0 || interOpParallelism > 0;
  const intra = separately ? intraOpParallelism : sessionParallelism;
  const inter = separately ? interOpParallelism : sessionParallelism;
  const threads = {
    ...config,
    intra_op_parallelism_threads: threadCount(separately ? 'intra_op_parallelism' : 'session_parallelism', intra),
    inter_op_parallelism_threads: threadCount(separately ? 'inter_op_parallelism' : 'session_parallelism', inter),
  };
  return withMixedPrecision(threads, flags.mixedPrecision ?? '');
}

/** The one mixed precision mode TF-Serving knows; it warns about any other and ignores it. */
export const MIXED_PRECISION_BFLOAT16 = 'bfloat16';
const REWRITER_TOGGLE_ON = 1;

/**
 * SessionBundleConfig.mixed_precision as TF-Serving's SavedModelBundleFactory applies it:
 * "bfloat16" turns on Grappler's oneDNN bfloat16 auto mixed precision rewrite (which TensorFlow
 * applies where the CPU supports bfloat16); anything else leaves the config as it is.
 */
export function withMixedPrecision(config: SessionConfig, mode: string): SessionConfig {
  if (mode !== MIXED_PRECISION_BFLOAT16) return config;
  const graphOptions = (config.graph_options ?? {}) as PlainMessage;
  const rewriteOptions = (graphOptions.rewrite_options ?? {}) as PlainMessage;
  return {
    ...config,
    graph_options: {
      ...graphOptions,
      rewrite_options: { ...rewriteOptions, auto_mixed_precision_onednn_bfloat16: REWRITER_TOGGLE_ON },
    },
  };
}

/** TF-Serving's warning for a mode it does not know; undefined for '' and "bfloat16". */
export function mixedPrecisionWarning(mode: string): string | undefined {
  if (mode === '' || mode === MIXED_PRECISION_BFLOAT16) return undefined;
  return `${mode} auto mixed precision is not supported. Valid option: ${MIXED_PRECISION_BFLOAT16}`;
}

/** A decoded ConfigProto as the plain object the rest of this module handles. */
function sessionConfigOf(message: protobuf.Message): SessionConfig {
  return Protos.ConfigProto.toObject(message, { longs: String });
}

/** The flags are int64 and the ConfigProto fields int32: refuse what C++ would truncate. */
function threadCount(flag: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) {
    throw invalidArgument(`--tensorflow_${flag} must be a non-negative 32-bit integer, got ${value}`);
  }
  return value;
}

/** The serialized ConfigProto; empty for the default config. */
export function encodeSessionConfig(config: SessionConfig): Uint8Array {
  return Protos.ConfigProto.encode(Protos.ConfigProto.fromObject(config)).finish();
}
