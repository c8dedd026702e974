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

/**
 * How a mechanism forms its effective gates (LAYOUT.md "Gate mechanisms"); the native kernels
 * (packages/kernels/csrc/layout.h `GateFamily`) and the ONNX builder switch on the same split.
 */
export type GateFamily =
  | 'plain' // σ forget, standard input
  | 'ordered' // cumax forget and input
  | 'refine' // refine gate r on σ(a_f)
  | 'orderedRefine' // refine gate r on cumax(a_f)
  | 'cumaxMaster' // ON-LSTM master gates (cumax), d/C wide
  | 'sigmoidMaster'; // master gates as sigmoids, d/C wide

/** How the gate biases start (LAYOUT.md "Initialisation"). */
export type GateInit =
  | 'standard' // b_f = 1
  | 'zero' // all gate biases 0
  | 'chrono' // b_f = log U[1, Tmax - 1], b_i = -b_f
  | 'uniform' // UGI: b_f = σ⁻¹(U[1/d, 1 - 1/d]), tied gate = -b_f
  | 'uniformMaster'; // b_f = 1, masters UGI over the m = d/C master units

/** The paper's Table 1 as data: one row per mechanism. */
export const MECHANISM_TABLE: Readonly<Record<Mechanism, { family: GateFamily; init: GateInit }>> =
  {
    '-': { family: 'plain', init: 'standard' },
    'C-': { family: 'plain', init: 'chrono' },
    'O-': { family: 'ordered', init: 'zero' },
    'OM-': { family: 'cumaxMaster', init: 'standard' },
    'U-': { family: 'plain', init: 'uniform' },
    'R-': { family: 'refine', init: 'standard' },
    'UR-': { family: 'refine', init: 'uniform' },
    'UM-': { family: 'sigmoidMaster', init: 'uniformMaster' },
    'OR-': { family: 'orderedRefine', init: 'zero' },
  };

export function gateFamily(mechanism: Mechanism): GateFamily {
  return MECHANISM_TABLE[mechanism].family;
}

export function isMechanism(value: unknown): value is Mechanism {
  return typeof value === 'string' && (MECHANISMS as readonly string[]).includes(value);
}

export function isCore(value: unknown): value is Core {
  return typeof value === 'string' && (CORES as readonly string[]).includes(value);
}

export function hasRefineGate(mechanism: Mechanism): boolean {
  const family = gateFamily(mechanism);
  return family === 'refine' || family === 'orderedRefine';
}

export function hasMasterGates(mechanism: Mechanism): boolean {
  const family = gateFamily(mechanism);
  return family === 'cumaxMaster' || family === 'sigmoidMaster';
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
