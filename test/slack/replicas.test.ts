import { startHarness, type Harness } from '../helpers/harness';
import { KeyFactory } from '../helpers/sshKeygen';
import { replicaScenarios } from '../helpers/replicaScenarios';

/** Two app instances on one Redis, as two replicas behind a load balancer. */
const keys = new KeyFactory();
let harness: Harness;

beforeEach(async () => {
  harness = await startHarness({ replicas: 2 });
});
afterEach(() => harness.stop());
afterAll(() => keys.cleanup());

replicaScenarios(() => harness, keys);
