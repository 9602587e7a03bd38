// A program that uses a Pool and never closes it: it must still end (an idle pool holds no watches), and
// its daemon workers must go with it. argv[2]: the start method. Prints { result, pids } as JSON
// (test/pool.test.ts).
import { Pool, type StartMethod } from '../../lib/index.js';

const method = process.argv[2] as StartMethod;
const pool = new Pool({ processes: 2, startMethod: method });
const result = await pool.map({ module: new URL('./pool-tasks.ts', import.meta.url), export: 'square' }, [1, 2, 3]);
console.log(JSON.stringify({ result, pids: pool.pids }));
