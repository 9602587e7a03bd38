// The target of the process-creation benchmarks (Process with the spawn start method, child_process.fork):
// a module that does nothing when imported and exports a function that does nothing.
export default function noop(): void {}
