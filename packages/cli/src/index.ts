export * from './commands/gates.js';
