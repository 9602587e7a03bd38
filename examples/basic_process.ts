// basic_process.ts: create and start a basic process, wait for it, read its exit code.
// Run: npx tsx examples/basic_process.ts
//
// In your own project:  import { Process } from 'multiproc';
// (Inside this repository tsconfig.json maps 'multiproc' to lib/, so tsx runs the sources.)
import { Process, posix } from 'multiproc';

function printMessage(message: string): void {
  // This runs in the child: a copy of this program made by fork(), with its own pid.
  console.log(`Process ID: ${posix.getpid()} (parent ${posix.getppid()}) - ${message}`);
}

const p = new Process({ target: printMessage, args: ['Hello from the child process!'] });
p.start(); // fork: the child starts running printMessage
await p.join(); // wait for it to finish (waitpid under the hood)
console.log(`Child ${p.pid} exited with code ${p.exitCode}.`);

// Terminating a process: a long task stopped after a moment.
const longTask = new Process({
  target: async () => {
    console.log('Starting long task...');
    await new Promise((resolve) => setTimeout(resolve, 5000));
    console.log('Task completed.'); // never printed: the parent terminates us first
  },
});
longTask.start();
await new Promise((resolve) => setTimeout(resolve, 500));
longTask.terminate(); // SIGTERM
await longTask.join();
console.log(`Process terminated with exit code ${longTask.exitCode}.`); // -15: killed by signal 15 (SIGTERM)
console.log('Main process finished.');
