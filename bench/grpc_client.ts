/**
 * A grpc-js client whose messages stay raw bytes (identity serializers), so the timed calls
 * cost the transport only: requests are pre-encoded, responses are not decoded.
 */
import * as grpc from '@grpc/grpc-js';
import { Protos } from '../src/protos';

const identity = (buffer: Buffer) => buffer;

export const PREDICT_PATH = '/tensorflow.serving.PredictionService/Predict';
export const GET_MODEL_STATUS_PATH = '/tensorflow.serving.ModelService/GetModelStatus';

const AVAILABLE = 30;

export class RawGrpcClient {
  private readonly client: grpc.Client;

  /**
   * ownConnection: a connection of its own, not shared with other clients of the same target.
   * flowControlWindow: the HTTP/2 receive windows (stream and connection) in bytes; grpc-js's
   * default is 64 KiB.
   */
  constructor(
    readonly target: string,
    { ownConnection = false, flowControlWindow = undefined as number | undefined } = {},
  ) {
    this.client = new grpc.Client(target, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
      ...(ownConnection && { 'grpc.use_local_subchannel_pool': 1 }),
      ...(flowControlWindow !== undefined && { 'grpc-node.flow_control_window': flowControlWindow }),
    });
  }

  /** Timed calls pass no timeout: a deadline costs a timer per call, which bare clients skip. */
  call(path: string, request: Buffer, timeoutMs?: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        path,
        identity,
        identity,
        request,
        new grpc.Metadata(),
        timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs },
        (error, response) => (error ? reject(error) : resolve(response!)),
      );
    });
  }

  /** True when the model has at least one version and every version is AVAILABLE. */
  async modelAvailable(name: string): Promise<boolean> {
    const request = Buffer.from(Protos.GetModelStatusRequest.encode({ model_spec: { name } }).finish());
    const response = Protos.GetModelStatusResponse.decode(
      await this.call(GET_MODEL_STATUS_PATH, request, 2_000),
    ) as unknown as {
      model_version_status: Array<{ state: number }>;
    };
    const states = response.model_version_status;
    return states.length > 0 && states.every((status) => status.state === AVAILABLE);
  }

  close(): void {
    this.client.close();
  }
}
