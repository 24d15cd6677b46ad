/** The exported Store conformance suite, unchanged, against the Postgres store on the real local server. */

import { describeStoreConformance } from '../../src/testing/store-conformance.js';
import { testStore, useSharedServer } from './postgres-database.js';

useSharedServer();

describeStoreConformance('postgres', async () => {
  const store = testStore({ maxConnections: 4 });
  await store.open();
  return store;
});
