// Every suite of `multiproc bench`, in run order. A suite whose API is missing from this build says so in
// available() (it is then listed as "not available", never faked).
import type { Suite } from './core.js';
import { poolSuite, queueSuite, valueSuite } from './suite-api.js';
import { channelsSuite, syncSuite } from './suite-latency.js';
import { nodeSuite } from './suite-node.js';
import { bandwidthSuite, contentionSuite, creationSuite, throughputSuite } from './suite-process.js';
import { pythonSuite } from './suite-python.js';

export const SUITES: Suite[] = [
  channelsSuite,
  syncSuite,
  queueSuite,
  contentionSuite,
  valueSuite,
  creationSuite,
  throughputSuite,
  bandwidthSuite,
  poolSuite,
  nodeSuite,
  pythonSuite,
];
