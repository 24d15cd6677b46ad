/**
 * The dashboard keeps its own copy of the API's types (it is type-checked for the browser, without
 * Node's types, so it cannot import the server's modules). These checks keep the copies from
 * drifting: what the server sends must be what the dashboard reads.
 */

import { describe, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import type * as Wire from '../src/dashboard/types.js';
import type { ForkOrigin, ReplayReport, RunStatus, Usage } from '../src/index.js';
import type { StatsRow } from '../src/observability/run-stats.js';
import type { runSchema } from '../src/server/schemas.js';

describe("the dashboard's copies of the API's types", () => {
  it('has the same run statuses and usage as the kernel', () => {
    expectTypeOf<Wire.RunStatus>().toEqualTypeOf<RunStatus>();
    expectTypeOf<Wire.Usage>().toEqualTypeOf<Usage>();
  });

  it('reads every run the server sends, with its waits and fork origin', () => {
    type Sent = z.infer<typeof runSchema>;
    expectTypeOf<NonNullable<Sent['waitingFor']>>().toEqualTypeOf<NonNullable<Wire.Run['waitingFor']>>();
    expectTypeOf<ForkOrigin>().toExtend<NonNullable<Sent['forkedFrom']>>();
    expectTypeOf<Wire.ForkOrigin>().toEqualTypeOf<ForkOrigin>();
    expectTypeOf<ReplayReport>().toExtend<Wire.ReplayReport>();
  });

  it('reads every stats row the server computes', () => {
    expectTypeOf<StatsRow>().toExtend<Wire.StatsRow>();
  });
});
