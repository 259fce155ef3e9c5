/**
 * The allocation kernel's input and output. Power is in whole watts held as JS safe integers:
 * integer arithmetic is exact below 2^53 W (9 PW), and the kernel must place 10,000 sessions in
 * milliseconds, which decimal.js cannot do. The edges convert (`toWholeWatts`), rounding every
 * limit down and every minimum up, so an integer answer is always a valid decimal answer; the site
 * aggregate checks the result again with decimal.js before recording it.
 */

export const TIERS = ['urgent', 'high', 'normal', 'low'] as const;
export type Tier = (typeof TIERS)[number];

export type AllocationNode = {
  id: string;
  /** null for the root (the site's grid connection); every other node's parent must be listed. */
  parentId: string | null;
  /** Effective limits at `at` (static, dynamic headroom and congestion rules already applied), >= 0. */
  importW: number;
  exportW: number;
};

export type AllocationSession = {
  id: string;
  /** The node (a connector) the session draws through. */
  nodeId: string;
  tier: Tier;
  /** Charging bounds (session and charger intersected): the setpoint is 0 or in [minW, maxW]; 0 < minW <= maxW. */
  minW: number;
  maxW: number;
  /** False once the energy need is met: setpoint 0 with status 'done' (it may still discharge). */
  wantsCharge: boolean;
  /** Average power still needed to meet the departure energy, 0..maxW: served least-laxity first. */
  requiredW: number;
  /** Seconds to departure minus seconds still needed at maxW; smaller is more urgent. */
  laxityS: number;
  /** Present only when the session may discharge now (consent, bidirectional charger, SoC above its reserve, time left). */
  discharge: { minW: number; maxW: number } | null;
  /** Rotation bookkeeping from the site: powered since (turn start) or waiting since, epoch ms. */
  rotation: { state: 'powered' | 'waiting'; since: number };
};

export type DischargeTarget = {
  nodeId: string;
  /** Power the EVs below the node should feed back, W. */
  targetW: number;
  /** A grid operator's request holds every non-urgent session below the node that is not discharging; a price signal does not. */
  holdOthers: boolean;
  /** Shown as the reason of what it causes, e.g. 'request:dso-42' or 'price'. */
  source: string;
};

export type AllocationRequest = {
  /** Epoch ms: the moment the allocation is for. */
  at: number;
  nodes: AllocationNode[];
  sessions: AllocationSession[];
  /** A turn lasts this long while others wait (priority rotation). */
  rotationIntervalMs: number;
  /** A session below urgent that has waited this long is served as one tier higher, up to 'high'. */
  promoteAfterMs: number;
  discharge: DischargeTarget[];
};

export type SessionStatus = 'charging' | 'discharging' | 'on_hold' | 'done';

export type SessionAllocation = {
  sessionId: string;
  /** Positive charges, negative discharges, 0 when on hold or done. */
  powerW: number;
  status: SessionStatus;
  /** The tier it was served as (after promotion for waiting). */
  effectiveTier: Tier;
  /** Why, in a word or two: 'capacity:<nodeId>', 'rotation', 'discharge:<source>', 'energy_delivered', … ; null when charging at max. */
  reason: string | null;
};

export type AllocationResult = {
  at: number;
  /** One entry per input session, in input order. */
  sessions: SessionAllocation[];
  /** Net flow through every node (sum of setpoints below it), W. */
  nodeFlowW: Map<string, number>;
};
