export { startStack, type Stack } from './stack.ts';
