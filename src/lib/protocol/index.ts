export * from './api.js';
export * from './codes.js';
export * from './events.js';
export * from './executions.js';
export * from './limits.js';
export * from './messages.js';
export * from './reducer.js';
export * from './stall.js';
