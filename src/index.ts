// The action's entry for ncc: main.ts stays importable without side effects.
import { run } from './main.js';

await run();
