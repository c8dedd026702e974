/** The gate mechanisms of the UR-LSTM paper (Table 1) and the cores they apply to. */
export type Mechanism = '-' | 'C-' | 'O-' | 'OM-' | 'U-' | 'R-' | 'UR-' | 'UM-' | 'OR-';
export const MECHANISMS: readonly Mechanism[] = [
  '-',
  'C-',
  'O-',
  'OM-',
  'U-',
  'R-',
  'UR-',
  'UM-',
  'OR-',
];

export type Core = 'lstm' | 'gru';
export const CORES: readonly Core[] = ['lstm', 'gru'];

/** Mechanisms whose input gate is replaced by a refine gate `r` (same parameter count as the base core). */
export const REFINE_MECHANISMS: readonly Mechanism[] = ['R-', 'UR-', 'OR-'];
/** Mechanisms with ON-LSTM-style master gates `mf`, `mi` of width d/C. */
export const MASTER_MECHANISMS: readonly Mechanism[] = ['OM-', 'UM-'];

export function isMechanism(value: unknown): value is Mechanism {
  return typeof value === 'string' && (MECHANISMS as readonly string[]).includes(value);
}

export function isCore(value: unknown): value is Core {
  return typeof value === 'string' && (CORES as readonly string[]).includes(value);
}

export function hasRefineGate(mechanism: Mechanism): boolean {
  return REFINE_MECHANISMS.includes(mechanism);
}

export function hasMasterGates(mechanism: Mechanism): boolean {
  return MASTER_MECHANISMS.includes(mechanism);
}

/**
 * Reads a mechanism name as users type it: exact ('UR-'), case-insensitive, with the
 * trailing dash optional ('ur', 'UR'), or with the core suffix the paper uses ('UR-LSTM').
 * The standard gate is '-' (also 'standard').
 */
export function parseMechanism(name: string, argName = 'mechanism'): Mechanism {
  if (typeof name === 'string') {
    const upper = name
      .trim()
      .toUpperCase()
      .replace(/-?(LSTM|GRU)$/, '');
    if (upper === '' || upper === '-' || upper === 'STANDARD') return '-';
    const withDash = upper.endsWith('-') ? upper : `${upper}-`;
    if (isMechanism(withDash)) return withDash;
  }
  throw new Error(
    `${argName}: unknown gate mechanism ${JSON.stringify(name)}; expected one of ${MECHANISMS.map((m) => `'${m}'`).join(', ')}`,
  );
}

export function parseCore(name: string, argName = 'core'): Core {
  const lower = typeof name === 'string' ? name.trim().toLowerCase() : name;
  if (isCore(lower)) return lower;
  throw new Error(
    `${argName}: unknown core ${JSON.stringify(name)}; expected one of ${CORES.map((c) => `'${c}'`).join(', ')}`,
  );
}
