// Runs every end-to-end case (scripts/test-e2e.sh); E2E_ONLY=regex picks cases by name.
// Environment: BASE_URL, OUT_DIR (screenshots), USER_DATA_DIR (profile prefix), CHROMIUM,
// DATA_DIR (../shared/data), GLOW_E2E_MODEL (a model path under the root instead of the default).
import { runCases } from './lib.mjs';
import * as main from './page.test.mjs';
import * as defects from './defects.test.mjs';
import * as align from './align.test.mjs';
import * as flow from './flow.test.mjs';

await runCases(async () => {
  await main.closeAll();
  await defects.closeAll();
  await align.closeAll();
  await flow.closeAll();
});
