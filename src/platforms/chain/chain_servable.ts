/**
 * A loaded chain version: serves the chain's one signature, checked by the predictor as a
 * model's Predict is (unknown signature, input aliases, output_filter), then runs the steps
 * (chain_run.ts), each through the predictor again, whose native runs check the dtypes. It
 * holds no native resource: its models are looked up per request; its function steps' worker
 * threads (step_pool.ts) stop when it unloads.
 */
import type { NativeOutput, TensorSource } from '../../native/backend_addon';
import type { CheckedRun } from '../../servables/inference_servable';
import type { Signature, SignatureMap } from '../../servables/signature';
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
    signature: Signature,
    private readonly context: ChainRunContext,
    /** Called once as the version unloads. */
    private readonly onUnload: () => void = () => {},
  ) {
    this.signatures = new Map([[CHAIN_SIGNATURE_NAME, signature]]);
    this.fullPlan = planChain(definition, [...definition.outputs.keys()]);
  }

  async runChecked(run: CheckedRun): Promise<Map<string, NativeOutput>> {
    // A chain input's tensor name is its alias: the inputs pass as they are.
    const inputs = new Map<string, TensorSource>(run.checkedInputs.map(({ alias, source }) => [alias, source]));
    const plan = run.outputFilter.length > 0 ? planChain(this.definition, run.outputAliases) : this.fullPlan;
    return runChain(this.context, plan, inputs, run);
  }

  unload(): void {
    this.context.stepPool?.close();
    this.onUnload();
  }
}
