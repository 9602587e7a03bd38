// A program that uses a Pool and never closes it: it must still end (an idle pool holds no watches), and
// its daemon workers must go with it. Prints { result, pids } as JSON (test/pool.test.ts).
import { Pool } from '../../lib/index.js';

const pool = new Pool({ processes: 2, startMethod: 'fork' });
const result = await pool.map((x: number) => x * x, [1, 2, 3]);
console.log(JSON.stringify({ result, pids: pool.pids }));
