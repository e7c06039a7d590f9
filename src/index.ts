// The action's entry for ncc: main.ts stays importable without side effects.
import * as core from '@actions/core';
import { post, run } from './main.js';

// action.yml runs this file as main and as post; the state tells them apart.
if (core.getState('isPost') === 'true') post();
else {
  core.saveState('isPost', 'true');
  await run();
}
