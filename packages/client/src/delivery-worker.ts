/**
 * The delivery thread's entry point (a `worker_threads` Worker started by the client): the
 * {@link DeliveryHost} on the ring it was given, talking to the agent's thread over its port.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { DeliveryHost, type HostConfig, type ToHost } from './delivery-host.js';
import { SharedRing } from './ring.js';

const { buffer, config, port } = workerData as { buffer: SharedArrayBuffer; config: HostConfig; port: MessagePort };
const host = new DeliveryHost(new SharedRing(buffer), config, (message) => port.postMessage(message));
// The port's listener keeps this thread alive; the agent's side unrefs the worker, so this
// thread never keeps the agent's process alive.
port.on('message', (message: ToHost) => void host.handle(message));
void host.run();
