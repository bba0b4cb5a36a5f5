/**
 * Where the lifecycle writes its log lines. The composition root passes the server's logger;
 * tests pass a recorder or `silentLog`.
 */
export type LogSeverity = 'INFO' | 'WARNING' | 'ERROR';
/** `fields`: what the line is about (model, version, ...), beside the message in JSON lines. */
export type Log = (severity: LogSeverity, message: string, fields?: Readonly<Record<string, unknown>>) => void;

/** text: severity first, as TF-Serving's glog lines start; json: one object a line, for log collectors. */
export type LogFormat = 'text' | 'json';

let format: LogFormat = 'text';

/** --duoserve_log_format: how consoleLog writes from now on. */
export function setLogFormat(next: LogFormat): void {
  format = next;
}

/** One line per message on stderr, in the format set by setLogFormat. */
export const consoleLog: Log = (severity, message, fields) => {
  const time = new Date().toISOString();
  if (format === 'json') {
    // The three keys come first and a field cannot replace them.
    const line = Object.assign({ time, severity, message }, fields, { time, severity, message });
    process.stderr.write(`${JSON.stringify(line)}\n`);
    return;
  }
  const extra = fields ? ` ${JSON.stringify(fields)}` : '';
  process.stderr.write(`${severity[0]} ${time} ${message}${extra}\n`);
};

export const silentLog: Log = () => {};
