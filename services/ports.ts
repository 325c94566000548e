/** Port checks before a start, and small network probes used by health checks. */
import { createServer, Socket } from 'node:net';
import type { PortSpec, ServiceName } from './types';

/** Resolves true when nothing listens on 127.0.0.1:port (we can bind it ourselves). */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The variable that moves a port: derived ports (`ETL_S3_PORT+1`) name their base variable. */
export const baseVariable = (spec: PortSpec): string => spec.env.split('+')[0]?.trim() ?? spec.env;

/** Pure: one message per variable for taken ports, naming the ports, the service and the variable. */
export function portConflictMessage(service: ServiceName, taken: PortSpec[]): string {
  const variable = baseVariable(taken[0] as PortSpec);
  const what = taken.map((s) => `${s.port} (${s.role}${s.env === variable ? '' : `, ${s.env}`})`).join(', ');
  const first = taken[0]?.port ?? 0;
  return (
    `${taken.length > 1 ? 'ports' : 'port'} ${what} needed by ${service} ${taken.length > 1 ? 'are' : 'is'} already in use by a process this ETL_HOME did not start. ` +
    `Stop that process, or move ${service} with ${variable}=<port> (e.g. ${variable}=${first + 100} npx etl services up).`
  );
}

export async function portConflicts(service: ServiceName, specs: PortSpec[]): Promise<string[]> {
  const free = await Promise.all(specs.map((s) => isPortFree(s.port)));
  const taken = specs.filter((_, i) => !free[i]);
  const byVariable = new Map<string, PortSpec[]>();
  for (const spec of taken) byVariable.set(baseVariable(spec), [...(byVariable.get(baseVariable(spec)) ?? []), spec]);
  return [...byVariable.values()].map((group) => portConflictMessage(service, group));
}

/** Pure: two services of one config must not share a port. */
export function duplicatePorts(all: Array<{ service: ServiceName; spec: PortSpec }>): string[] {
  const seen = new Map<number, string>();
  const out: string[] = [];
  for (const { service, spec } of all) {
    const here = `${service} ${spec.role} (${spec.env})`;
    const first = seen.get(spec.port);
    if (first) out.push(`port ${spec.port} is configured twice: ${first} and ${here}; change one of them.`);
    else seen.set(spec.port, here);
  }
  return out;
}

export function tcpOpen(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => done(true));
  });
}

export async function httpOk(url: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}
