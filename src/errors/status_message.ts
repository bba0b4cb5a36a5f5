/**
 * The size bound on every status message a client receives (a gRPC status's details, a REST
 * {"error": ...}). A message can quote request input of any size (a model name, a shape with
 * thousands of dims); gRPC carries it percent-encoded in the grpc-message trailer, and clients
 * refuse trailers past their metadata limit (8 KiB in gRPC C-core, which the stock Python client
 * uses), so the client would see RESOURCE_EXHAUSTED instead of the real status. 2 KiB of UTF-8
 * stays under that limit even when every byte needs percent-encoding (3 bytes each).
 */
export const MAX_STATUS_MESSAGE_BYTES = 2048;

/** `message`, or its start marked as cut with the full size, within MAX_STATUS_MESSAGE_BYTES. */
export function boundedStatusMessage(message: string): string {
  const bytes = Buffer.byteLength(message, 'utf8');
  if (bytes <= MAX_STATUS_MESSAGE_BYTES) return message;
  const marker = `... [message cut: ${bytes} bytes in all]`;
  const head = Buffer.from(message, 'utf8').subarray(0, MAX_STATUS_MESSAGE_BYTES - marker.length);
  // A character cut in the middle decodes as U+FFFD (3 bytes): drop it, and the bound holds.
  return head.toString('utf8').replace(/\uFFFD$/, '') + marker;
}
