import type { Check } from '../schema.js';
import type { ObjectMeta } from '../types.js';

/** One row of the kind table: everything the API knows about a resource kind. */
export interface KindDef {
  kind: string;
  /** Lower-case names the CLI accepts (singular, plural, short forms). */
  aliases: string[];
  spec: Check<Record<string, unknown>>;
  /** Cross-field rules on the checked spec; throw ValidationError. */
  rules?(spec: Record<string, unknown>, name: string): void;
  /** Fill defaults into the checked spec (mutates and returns it). */
  defaults?(spec: Record<string, unknown>, name: string): Record<string, unknown>;
  /** Rules between the stored and the new version (immutable fields). */
  update?(stored: Record<string, unknown>, next: Record<string, unknown>): void;
  /** Checks on metadata that carries settings (annotations), with the checked spec. */
  metadata?(meta: ObjectMeta, spec: Record<string, unknown>): void;
  /** Extra check on the name beyond the generic one. */
  name?(name: string): void;
  /** A status the kind carries: checked by this schema, or kept as given when `true`. */
  status?: Check<Record<string, unknown>> | true;
  /** metadata.namespace is allowed (default "default"), as for Calico's namespaced kinds. */
  namespaced?: boolean;
}
