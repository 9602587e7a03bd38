// The Manager's public face: the Manager and its proxies (lib/index.ts re-exports these).
export { type ConnectOptions, DEFAULT_MANAGER_MESSAGE_BYTES, Manager, type ManagerOptions, type ManagerStats } from './manager.js';
export {
  BaseProxy,
  type DictKey,
  DictProxy,
  ListProxy,
  LockProxy,
  NamespaceProxy,
  type ProxyData,
  type ProxyKind,
  QueueProxy,
  rebuildProxy,
  type Timeout,
  ValueProxy,
} from './proxies.js';
