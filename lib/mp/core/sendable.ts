// Which objects may travel inside a message (Connection, Queue, Pool task, Manager call).
// Objects that live in shared memory or own kernel objects (mappings, locks, queues, connections) reach other
// processes by inheritance — fork, or Process args at start — as in Python. Their classes are marked here, and
// every message encoder calls checkSendable() before structured clone, so a mistake is a clear TypeError
// (ERR_MULTIPROC_NOT_SENDABLE) instead of an object that silently stops being shared.

const marked = new Set<{ name: string; prototype: object }>();

/**
 * Marks a class whose instances must never be put inside a message (a Pipe, Queue, Pool task or Manager
 * call): they reach other processes by inheritance or Process args.
 * @param cls the class (subclasses' instances match too)
 */
export function markNotSendable(cls: { name: string; prototype: object }): void {
  marked.add(cls);
}

function markedClass(obj: object): { name: string } | undefined {
  for (const c of marked) if (c.prototype.isPrototypeOf(obj)) return c;
  return undefined;
}

/**
 * Throws ERR_MULTIPROC_NOT_SENDABLE if obj is, or contains (a few levels deep), an instance of a marked class.
 * @param obj the value about to be sent
 * @param what where it goes, for the message (default 'a Pipe or Queue')
 * @param depth internal: the depth reached (leave it out)
 * @param seen internal: the objects visited (leave it out)
 * @throws TypeError ERR_MULTIPROC_NOT_SENDABLE
 */
export function checkSendable(obj: unknown, what = 'a Pipe or Queue', depth = 0, seen = new Set<unknown>()): void {
  if (obj === null || typeof obj !== 'object' || depth > 4 || seen.has(obj) || seen.size > 1000) return;
  seen.add(obj);
  const cls = markedClass(obj);
  if (cls) {
    const e = new TypeError(
      `A ${cls.name} cannot be sent through ${what}: shared objects reach other processes by inheritance (fork, or Process args at start)`,
    );
    throw Object.assign(e, { code: 'ERR_MULTIPROC_NOT_SENDABLE' });
  }
  if (ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer) return;
  const values = obj instanceof Map ? [...obj.keys(), ...obj.values()] : obj instanceof Set ? [...obj] : Object.values(obj);
  for (const v of values) checkSendable(v, what, depth + 1, seen);
}
