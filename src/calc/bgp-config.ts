// The effective BGP settings for one node: the global `default` BGPConfiguration, the
// per-node `node.<name>` override, and Calico's defaults underneath.
import { DEFAULTS, type BGPConfiguration, type BGPConfigurationSpec, type BGPPassword, type LogSeverity, type Node, type SecretKeyRef } from '../api/types.js';

export interface EffectiveBgpConfig {
  asNumber: number;
  meshEnabled: boolean;
  listenPort: number;
  bindMode: 'None' | 'NodeIP';
  logSeverity: LogSeverity;
  meshPassword?: SecretKeyRef;
  meshMaxRestartTime: number;
  spec: BGPConfigurationSpec;
}

/** Go duration (`120s`, `2m`, `1m30s`, `500ms`) in seconds. */
export function durationSeconds(text: string | undefined, fallback: number): number {
  if (!text) return fallback;
  const unit: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * unit[m[2]!]!;
  return total;
}

/**
 * Graceful-restart time as whole seconds (Calico rounds: int(math.Round(d.Seconds()))),
 * at most 4095, the largest the OPEN's 12-bit Restart Time carries (RFC 4724 §3).
 */
export function restartSeconds(text: string | undefined): number {
  return Math.min(4095, Math.round(durationSeconds(text, DEFAULTS.maxRestartTime)));
}

/**
 * restartMode LongLivedGracefulRestart: Calico renders `graceful restart time 0; long lived
 * graceful restart yes;` and, only when maxRestartTime is set, `long lived stale time` with
 * it (confd bird.cfg.template, Global_/Node_ peers); unset, BIRD's default of 3600 s holds.
 * At most 16777215, the 24 bits of the LLGR capability (RFC 9494 §3.1).
 */
export const BIRD_LONG_LIVED_STALE_TIME = 3600;
export function longLivedSeconds(text: string | undefined): number {
  return Math.min(0xffffff, Math.round(durationSeconds(text, BIRD_LONG_LIVED_STALE_TIME)));
}

/** Keepalive as whole seconds, 1 to 21845 (a third of the largest hold time); unset or 0: derived from the hold time. */
export function keepaliveSeconds(text: string | undefined): number | undefined {
  const s = Math.round(durationSeconds(text, 0));
  return s > 0 ? Math.min(s, 21845) : undefined;
}

export function effectiveBgpConfig(configs: BGPConfiguration[], nodeName: string): EffectiveBgpConfig {
  const global = configs.find((c) => c.metadata.name === 'default')?.spec ?? {};
  const own = configs.find((c) => c.metadata.name === `node.${nodeName}`)?.spec ?? {};
  const spec = { ...global, ...own };
  return {
    asNumber: global.asNumber ?? DEFAULTS.asNumber,
    meshEnabled: global.nodeToNodeMeshEnabled ?? DEFAULTS.nodeToNodeMeshEnabled,
    listenPort: spec.listenPort ?? DEFAULTS.listenPort,
    bindMode: spec.bindMode ?? 'None',
    logSeverity: logSeverity(spec.logSeverityScreen),
    meshPassword: passwordRef(global.nodeMeshPassword),
    meshMaxRestartTime: restartSeconds(global.nodeMeshMaxRestartTime),
    spec,
  };
}

const SEVERITIES: readonly LogSeverity[] = ['Trace', 'Debug', 'Info', 'Warning', 'Error', 'Fatal'];

/** logSeverityScreen in Calico's spelling; the CRD takes any case, and empty means the default. */
function logSeverity(text: string | undefined): LogSeverity {
  return SEVERITIES.find((s) => s.toLowerCase() === text?.toLowerCase()) ?? DEFAULTS.logSeverityScreen;
}

/** A BGPPassword to read, or none: Calico configures no password without a secretKeyRef. */
export function passwordRef(p: BGPPassword | undefined): SecretKeyRef | undefined {
  return p?.secretKeyRef ? { secretKeyRef: { name: p.secretKeyRef.name ?? '', key: p.secretKeyRef.key } } : undefined;
}

/** A node's own AS, or the cluster default it inherits. */
export function nodeAsNumber(node: Node, configs: BGPConfiguration[]): number {
  return node.spec.bgp?.asNumber ?? effectiveBgpConfig(configs, node.metadata.name).asNumber;
}
