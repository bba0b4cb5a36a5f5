/**
 * A loaded chain version: serves the chain's one signature with the checks and messages of a
 * model's Predict (unknown signature, input aliases and dtypes, output_filter), then runs the
 * steps (chain_run.ts). It holds no native resource: its models are looked up per request.
 */
import { failedPrecondition } from '../../errors/serving_error';
import type { NativeOutput } from '../../native/backend_addon';
import type { RunRequest } from '../../servables/inference_servable';
import { nativeInputs, selectOutputs } from '../../servables/model_servable';
import { DEFAULT_SIGNATURE_NAME, type Signature, type SignatureMap } from '../../servables/signature';
import type { LoadedServable } from '../platform';
import type { ChainDefinition } from './chain_definition';
import { type ChainPlan, planChain } from './chain_plan';
import { type ChainRunContext, runChain } from './chain_run';
import { CHAIN_SIGNATURE_NAME } from './chain_signature';

export class ChainServable implements LoadedServable {
  readonly signatures: SignatureMap;
  /** The plan without an output_filter, made once. */
  private readonly fullPlan: ChainPlan;

  constructor(
    private readonly definition: ChainDefinition,
    private readonly signature: Signature,
    private readonly context: ChainRunContext,
  ) {
    this.signatures = new Map([[CHAIN_SIGNATURE_NAME, signature]]);
    this.fullPlan = planChain(definition, [...definition.outputs.keys()]);
  }

  async run(request: RunRequest): Promise<Map<string, NativeOutput>> {
    const signatureName = request.signatureName || DEFAULT_SIGNATURE_NAME;
    if (signatureName !== CHAIN_SIGNATURE_NAME) {
      throw failedPrecondition(`Serving signature key "${signatureName}" not found.`);
    }
    // A chain input's tensor name is its alias, so this checks and passes them as they are.
    const inputs = new Map(nativeInputs(this.signature, request.inputs));
    const [outputs] = selectOutputs(this.signature, request.outputFilter);
    const plan = request.outputFilter.length > 0 ? planChain(this.definition, outputs) : this.fullPlan;
    return runChain(this.context, plan, inputs, request.encoding, request.timings);
  }

  unload(): void {}
}
