/**
 * Signatures as TF-Serving users know them (SignatureDef): logical input/output aliases
 * mapped to the framework's own tensor names, with dtype and shape. Every platform produces
 * this; GetModelMetadata encodes it back into tensorflow.SignatureDef.
 */
export interface TensorSpec {
  /** The framework's tensor name (TensorInfo.name): "serving_default_x:0", or a forward() arg. */
  name: string;
  /** tensorflow.DataType number; DT_INVALID (0) where the model does not say. */
  dtype: number;
  /** Dimension sizes, -1 where unknown; null for unknown rank. */
  shape: number[] | null;
}

export interface Signature {
  methodName: string;
  inputs: Map<string, TensorSpec>;
  outputs: Map<string, TensorSpec>;
}

export type SignatureMap = Map<string, Signature>;

/** The signature a request gets when it names none. */
export const DEFAULT_SIGNATURE_NAME = 'serving_default';
export const PREDICT_METHOD_NAME = 'tensorflow/serving/predict';
export const CLASSIFY_METHOD_NAME = 'tensorflow/serving/classify';
export const REGRESS_METHOD_NAME = 'tensorflow/serving/regress';
