/**
 * Where the lifecycle writes its log lines. The composition root passes the server's logger;
 * tests pass a recorder or `silentLog`.
 */
export type LogSeverity = 'INFO' | 'WARNING' | 'ERROR';
export type Log = (severity: LogSeverity, message: string) => void;

/** One line per message on stderr, severity first (as TF-Serving's glog lines start). */
export const consoleLog: Log = (severity, message) => {
  process.stderr.write(`${severity[0]} ${new Date().toISOString()} ${message}\n`);
};

export const silentLog: Log = () => {};
